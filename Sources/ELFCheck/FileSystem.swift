// Small POSIX helpers for the checks: no Foundation on the action path.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A check that failed, with its one-line reason (internal plumbing).
struct CheckFailure: Error {
    let reason: String
    init(_ reason: String) { self.reason = reason }
}

/// The message of the current `errno`.
func errnoString(_ code: Int32 = errno) -> String {
    guard let message = strerror(code) else { return "errno \(code)" }
    return String(cString: message)
}

/// `realpath(3)`; nil (with errno set) when the path does not resolve.
func realPath(_ path: String) -> String? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return String(cString: resolved)
}

/// The directory part of a path as `dirname(1)` prints it (no file system access).
func parentDirectory(of path: String) -> String {
    var bytes = Array(path.utf8)
    while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
    guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
    var end = slash
    while end > 0, bytes[end - 1] == UInt8(ascii: "/") { end -= 1 }
    return end == 0 ? "/" : String(decoding: bytes[..<end], as: UTF8.self)
}

/// Whether the resolved path `path` lies strictly inside the resolved directory `directory`.
func isInside(_ path: String, directory: String) -> Bool {
    if directory == "/" { return path.utf8.count > 1 && path.utf8.first == UInt8(ascii: "/") }
    return path.utf8.count > directory.utf8.count + 1 && path.hasPrefix(directory + "/")
}

/// `0755`-style text of the permission bits.
func octalMode(_ mode: mode_t) -> String {
    let text = String(mode & 0o7777, radix: 8)
    return String(repeating: "0", count: max(0, 4 - text.utf8.count)) + text
}

/// Why `mode` lets others than the owner write, or nil when it does not.
func writableByOthers(_ mode: mode_t) -> String? {
    switch (mode & 0o020 != 0, mode & 0o002 != 0) {
    case (true, true): return "group- and world-writable (mode \(octalMode(mode)))"
    case (true, false): return "group-writable (mode \(octalMode(mode)))"
    case (false, true): return "world-writable (mode \(octalMode(mode)))"
    case (false, false): return nil
    }
}

/// What kind of file `mode` describes, for messages.
func fileKind(_ mode: mode_t) -> String {
    switch mode & mode_t(S_IFMT) {
    case mode_t(S_IFREG): return "a regular file"
    case mode_t(S_IFDIR): return "a directory"
    case mode_t(S_IFLNK): return "a symbolic link"
    case mode_t(S_IFIFO): return "a FIFO"
    case mode_t(S_IFSOCK): return "a socket"
    case mode_t(S_IFCHR): return "a character device"
    case mode_t(S_IFBLK): return "a block device"
    default: return "an unknown kind of file"
    }
}

/// The whole of a small file (at most `limit` bytes), or nil if it cannot be read.
func readSmallFile(_ path: String, limit: Int = 1 << 20) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var content: [UInt8] = []
    var chunk = [UInt8](repeating: 0, count: 4096)
    while content.count < limit {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 {
            if errno == EINTR { continue }
            return nil
        }
        if n == 0 { break }
        content += chunk[..<n]
    }
    return content
}

/// `pread` of up to `count` bytes at `offset` (fewer at the end of the file).
func readBytes(_ fd: Int32, count: Int, at offset: Int = 0) -> [UInt8] {
    var buffer = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
        let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + got, count - got, off_t(offset + got)) }
        if n < 0, errno == EINTR { continue }
        if n <= 0 { break }
        got += n
    }
    return Array(buffer[..<got])
}

/// Replaces every occurrence of `token` in `text` (byte-wise; no Foundation).
func replacing(_ token: String, in text: String, with replacement: String) -> String {
    let t = Array(token.utf8), s = Array(text.utf8)
    guard !t.isEmpty, s.count >= t.count else { return text }
    var out: [UInt8] = [], i = 0
    out.reserveCapacity(s.count)
    while i < s.count {
        if i + t.count <= s.count, s[i..<(i + t.count)].elementsEqual(t) {
            out += replacement.utf8
            i += t.count
        } else {
            out.append(s[i])
            i += 1
        }
    }
    return String(decoding: out, as: UTF8.self)
}
