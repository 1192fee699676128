#if canImport(Glibc)
import Glibc
#endif

// Low-level reading of /proc files: open/read/close into one reusable
// buffer, no Foundation, no per-file allocation. Everything here is internal.

/// `PF_KTHREAD` from the kernel's `include/linux/sched.h` (field 9 of stat).
let kernelThreadFlag: UInt32 = 0x0020_0000

/// The fields of `/proc/<pid>/stat` the scanner keeps.
struct StatFields {
    var pid: Int32 = 0
    var state: UInt8 = 0
    var ppid: Int32 = 0
    var processGroup: Int32 = 0
    var flags: UInt32 = 0
    var startTime: UInt64 = 0
    /// Byte range of comm inside the buffer that was parsed.
    var commStart = 0
    var commEnd = 0
}

/// Parses one `/proc/<pid>/stat` line:
/// `pid (comm) state ppid pgrp session tty tpgid flags … starttime(22) …`.
/// comm may hold spaces and parentheses (a program may call itself
/// `a) b (c`), so comm ends at the *last* `)` of the line; the kernel
/// writes nothing after comm that could hold one.
func parseStat(_ bytes: UnsafeRawBufferPointer) -> StatFields? {
    let n = bytes.count
    var fields = StatFields()
    // pid
    var i = 0
    var pid: Int64 = 0
    while i < n, bytes[i] >= 0x30, bytes[i] <= 0x39 {
        pid = pid * 10 + Int64(bytes[i] - 0x30)
        if pid > Int64(Int32.max) { return nil }
        i += 1
    }
    guard i > 0, i + 1 < n, bytes[i] == 0x20, bytes[i + 1] == 0x28 /* ( */ else { return nil }
    fields.pid = Int32(pid)
    fields.commStart = i + 2
    // the last ')'
    var close = n - 1
    while close >= fields.commStart, bytes[close] != 0x29 /* ) */ { close -= 1 }
    guard close >= fields.commStart else { return nil }
    fields.commEnd = close
    i = close + 1
    // i is at " S ppid ..."; field 3 is the state.
    guard i + 2 < n, bytes[i] == 0x20 else { return nil }
    fields.state = bytes[i + 1]
    i += 2
    // Fields 4... as unsigned decimal numbers or skipped tokens.
    var field = 3
    while field < 22 {
        // skip one space
        guard i < n, bytes[i] == 0x20 else { return nil }
        i += 1
        field += 1
        let start = i
        var negative = false
        if i < n, bytes[i] == 0x2D /* - */ { negative = true; i += 1 }
        var value: UInt64 = 0
        while i < n, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            let (m, o1) = value.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(bytes[i] - 0x30))
            guard !o1, !o2 else { return nil }
            value = s
            i += 1
        }
        guard i > start + (negative ? 1 : 0) else { return nil }
        switch field {
        case 4: fields.ppid = negative ? 0 : Int32(truncatingIfNeeded: value)
        case 5: fields.processGroup = negative ? 0 : Int32(truncatingIfNeeded: value)
        case 9: fields.flags = UInt32(truncatingIfNeeded: value)
        case 22: fields.startTime = value
        default: break
        }
    }
    return fields
}

/// One growable read buffer, reused for every file of a scan.
final class ProcFileBuffer {
    private(set) var storage: UnsafeMutableRawBufferPointer

    init(capacity: Int = 4096) {
        storage = .allocate(byteCount: capacity, alignment: 16)
    }

    deinit { storage.deallocate() }

    /// Reads the file `path` (relative to `directory`, an fd from `open`, or
    /// `AT_FDCWD`) to its end. Returns the byte count, or -1 with `errno`
    /// set when it cannot be opened or read. `owner` receives the file's
    /// owner when asked for (fstat on the open descriptor: no second lookup).
    func read(at directory: Int32, _ path: UnsafePointer<CChar>, owner: UnsafeMutablePointer<UInt32>? = nil) -> Int {
        let fd = openat(directory, path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return -1 }
        defer { close(fd) }
        if let owner {
            var st = stat()
            if fstat(fd, &st) == 0 { owner.pointee = st.st_uid }
        }
        var total = 0
        while true {
            if total == storage.count { grow() }
            let n = Glibc.read(fd, storage.baseAddress! + total, storage.count - total)
            if n < 0 {
                if errno == EINTR { continue }
                return -1
            }
            if n == 0 { break }
            total += n
            // procfs hands over a whole record per read when the buffer is
            // large enough: a short read is the end, which saves the second
            // read() per file that would only return 0.
            if total < storage.count { break }
        }
        return total
    }

    var bytes: UnsafeMutableRawBufferPointer { storage }

    private func grow() {
        let bigger = UnsafeMutableRawBufferPointer.allocate(byteCount: storage.count * 2, alignment: 16)
        bigger.copyMemory(from: UnsafeRawBufferPointer(storage))
        storage.deallocate()
        storage = bigger
    }
}

/// A small path buffer on the stack: `<pid>/<file>` NUL-terminated.
@inline(__always)
func withProcPath<T>(_ pid: Int32, _ file: StaticString, absolute: Bool = false,
                     _ body: (UnsafePointer<CChar>) -> T) -> T {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 64) { buf in
        var i = 0
        if absolute {
            for c in "/proc/".utf8 { buf[i] = CChar(bitPattern: c); i += 1 }
        }
        i += writeDecimal(UInt32(bitPattern: pid), into: buf.baseAddress! + i)
        buf[i] = 0x2F; i += 1
        file.withUTF8Buffer { f in
            for c in f { buf[i] = CChar(bitPattern: c); i += 1 }
        }
        buf[i] = 0
        return body(buf.baseAddress!)
    }
}

/// Writes `value` in decimal; returns the number of digits.
@inline(__always)
func writeDecimal(_ value: UInt32, into out: UnsafeMutablePointer<CChar>) -> Int {
    var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    var v = value
    var count = 0
    withUnsafeMutableBytes(of: &digits) { d in
        repeat {
            d[count] = UInt8(v % 10) + 0x30
            v /= 10
            count += 1
        } while v > 0
        for k in 0..<count { out[k] = CChar(bitPattern: d[count - 1 - k]) }
    }
    return count
}

/// The stat fields of one process, read directly (no scan).
func readStat(pid: Int32) -> StatFields? {
    guard pid > 0 else { return nil }
    let buffer = ProcFileBuffer(capacity: 1024)
    let n = withProcPath(pid, "stat", absolute: true) { buffer.read(at: AT_FDCWD, $0) }
    guard n > 0 else { return nil }
    return parseStat(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<n]))
}

/// The first number of the `Uid:` line of `/proc/<pid>/status`: the real uid.
func readRealUid(pid: Int32) -> UInt32? { readUids(pid: pid)?.real }

/// The real and effective uid of `/proc/<pid>/status`'s `Uid:` line (real,
/// effective, saved, filesystem), nil when it cannot be read.
func readUids(pid: Int32) -> (real: UInt32, effective: UInt32)? {
    let buffer = ProcFileBuffer(capacity: 2048)
    let n = withProcPath(pid, "status", absolute: true) { buffer.read(at: AT_FDCWD, $0) }
    guard n > 0 else { return nil }
    let b = UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<n])
    let key: [UInt8] = Array("\nUid:".utf8)
    var i = 0
    outer: while i + key.count <= n {
        for k in 0..<key.count where b[i + k] != key[k] { i += 1; continue outer }
        var j = i + key.count
        var values: [UInt32] = []
        while values.count < 2 {
            while j < n, b[j] == 0x20 || b[j] == 0x09 { j += 1 }
            var value: UInt64 = 0
            let start = j
            while j < n, b[j] >= 0x30, b[j] <= 0x39, value <= UInt64(UInt32.max) {
                value = value * 10 + UInt64(b[j] - 0x30); j += 1
            }
            guard j > start, value <= UInt64(UInt32.max) else { return nil }
            values.append(UInt32(value))
        }
        return (values[0], values[1])
    }
    return nil
}

/// `readlink /proc/<pid>/exe`, nil when it cannot be read.
func readExe(pid: Int32) -> String? {
    withUnsafeTemporaryAllocation(of: CChar.self, capacity: 4097) { buf in
        let n = withProcPath(pid, "exe", absolute: true) { readlink($0, buf.baseAddress!, 4096) }
        guard n > 0 else { return nil }
        return String(decoding: UnsafeRawBufferPointer(start: buf.baseAddress!, count: n), as: UTF8.self)
    }
}
