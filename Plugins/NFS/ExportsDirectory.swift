// The directory Ganesha's config includes with `%dir`: one file per export.
// This resource owns exactly one file in it, `fshost-nfs-<resource>.conf`,
// and never writes anything else there — not even a temporary file:
// Ganesha reads *every* file of a `%dir` on reload (dot files included,
// measured), so a half-written file in it would be read by a reload that
// another resource's start triggers. The file is written beside the
// directory and renamed into it, so a reload sees the old file or the new
// one, never a part.
import FSKit
#if canImport(Glibc)
import Glibc
#endif

struct ExportsDirectory {
    let path: String
    let resourceName: String

    /// This resource's file in the directory.
    var filePath: String { path + "/" + ExportsDirectory.fileName(resourceName) }
    static func fileName(_ resource: String) -> String { "fshost-nfs-\(resource).conf" }

    /// Where the new file is written before the rename: the directory's
    /// parent (the same file system, outside the `%dir`).
    var temporaryPath: String {
        let parent = path.lastIndex(of: "/").map { String(path[..<$0]) } ?? ""
        return (parent.isEmpty ? "" : parent) + "/.fshost-nfs-\(resourceName).tmp"
    }

    /// Why the directory cannot hold exports safely: missing, not a
    /// directory, writable by group or others, or owned by another user
    /// (anyone who can write it can export any directory). nil when fit.
    var problem: String? {
        if let why = FileCheck.problem(path, .kind(.directory), .modeWithin(0o755)) { return why }
        if case .success(let info) = FileCheck.info(path), info.owner != 0, info.owner != geteuid() {
            return "is owned by uid \(info.owner), not root"
        }
        return nil
    }

    // MARK: This resource's file

    /// What the file holds now.
    enum Current: Equatable { case absent, text(String), unreadable(String) }

    func current() -> Current {
        switch SmallFile.read(filePath, limit: 65536) {
        case .success(let bytes): return .text(String(decoding: bytes, as: UTF8.self))
        case .failure(.absent): return .absent
        case .failure(let why): return .unreadable(why.description)
        }
    }

    /// Writes `text` as this resource's file, atomically (see the file's
    /// comment); nil on success, else why (nothing is left behind).
    func place(_ text: String) -> String? {
        let temp = temporaryPath
        unlink(temp)
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "cannot create \(temp): \(String(cString: strerror(errno)))" }
        var bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let why = String(cString: strerror(errno))
                close(fd); unlink(temp)
                return "cannot write \(temp): \(why)"
            }
            written += n
        }
        bytes.removeAll()
        if fchmod(fd, 0o644) != 0 || fsync(fd) != 0 {
            let why = String(cString: strerror(errno))
            close(fd); unlink(temp)
            return "cannot write \(temp): \(why)"
        }
        close(fd)
        if rename(temp, filePath) != 0 {
            let why = String(cString: strerror(errno))
            unlink(temp)
            return "cannot rename \(temp) to \(filePath): \(why)"
        }
        syncDirectory()
        return nil
    }

    /// Removes this resource's file; nil when it is gone (or was never there).
    func remove() -> String? {
        if unlink(filePath) != 0 && errno != ENOENT { return "cannot remove \(filePath): \(String(cString: strerror(errno)))" }
        syncDirectory()
        return nil
    }

    private func syncDirectory() {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if fd >= 0 { fsync(fd); close(fd) }
    }

    // MARK: The other exports

    /// The regular files of the directory other than this resource's.
    func otherFiles() -> [String] {
        guard let dir = opendir(path) else { return [] }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(cString: $0.bindMemory(to: CChar.self).baseAddress!) }
            if name == "." || name == ".." || name == ExportsDirectory.fileName(resourceName) { continue }
            names.append(path + "/" + name)
        }
        return names.sorted()
    }

    /// Takes the directory's lock (flock on the directory) for the
    /// check-then-place of a start, so two starts cannot both find an
    /// export id free; waits at most `limit`. nil when it could not.
    func lock(within limit: Duration) -> Int32? {
        let fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        let deadline = ProbeDeadline(after: limit)
        while flock(fd, LOCK_EX | LOCK_NB) != 0 {
            if deadline.hasPassed { close(fd); return nil }
            usleep(10_000)
        }
        return fd
    }
}

/// The `Export_Id`, `Pseudo` and `Path` values (and `%dir` directives) written in
/// a Ganesha config file: a tokenizer for its syntax (comments, quoted
/// strings, `=`, `;`, braces), enough to find `KEY = VALUE` statements at
/// any depth. The server's full grammar is Ganesha's business.
struct GaneshaConfigScan {
    var exportIDs: [Int] = []
    var pseudoPaths: [String] = []
    /// `Path` values: the exported directories.
    var paths: [String] = []
    var directories: [String] = []

    init(_ bytes: [UInt8]) {
        let tokens = GaneshaConfigScan.tokens(bytes)
        var i = 0
        while i < tokens.count {
            let key = tokens[i].lowercased()
            if key == "%dir" || key == "%include", i + 1 < tokens.count {
                if key == "%dir" { directories.append(tokens[i + 1]) }
                i += 2
                continue
            }
            if i + 2 < tokens.count, tokens[i + 1] == "=" {
                if key == "export_id", let n = Int(tokens[i + 2]) { exportIDs.append(n) }
                if key == "pseudo" { pseudoPaths.append(tokens[i + 2]) }
                if key == "path" { paths.append(tokens[i + 2]) }
            }
            i += 1
        }
    }

    static func tokens(_ bytes: [UInt8]) -> [String] {
        var out: [String] = []
        var token: [UInt8] = []
        func flush() { if !token.isEmpty { out.append(String(decoding: token, as: UTF8.self)); token.removeAll() } }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "#"):
                flush()
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                flush()
                i += 1
                while i < bytes.count && bytes[i] != c { token.append(bytes[i]); i += 1 }
                out.append(String(decoding: token, as: UTF8.self))
                token.removeAll()
            case 0x20, 0x09, 0x0A, 0x0D:
                flush()
            case UInt8(ascii: "="), UInt8(ascii: ";"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","):
                flush()
                out.append(String(decoding: [c], as: UTF8.self))
            default:
                token.append(c)
            }
            i += 1
        }
        flush()
        return out
    }
}
