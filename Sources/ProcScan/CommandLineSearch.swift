#if canImport(Glibc)
import Glibc
#endif

/// `ha_exec2 -t TEXT` over every process, reading only what a match needs.
///
/// The question is "whose command line contains TEXT"
/// (``ProcessEntry/commandLineContains(_:)``), so the scan reads
/// `/proc/PID/cmdline` of each process — one `openat`, one `read`, one
/// `close` into one reused buffer, nothing allocated per process — and
/// searches it in place. Only a process that matches (a *candidate*) is read
/// whole (`stat` for its state, group and start time, then its command line
/// again, as ``ProcessEntry``). A process with an empty command line (a
/// kernel thread, a zombie, one exiting) has its `stat` read for comm and
/// state. Zombies and the scanning process are never reported.
///
/// This is the cost floor of the question: a C program that reads every
/// cmdline once (Tests/Bench/cmdline_scan.c) does the same system calls.
/// `ProcessTable` reads stat *and* cmdline of every process, twice the calls,
/// because it answers every question.
public enum CommandLineSearch {
    /// Calls `body` with each process whose command line contains `needle`
    /// (bytes, case-sensitive), in `/proc`'s order (ascending pids), until
    /// `body` returns false. An empty needle matches nothing.
    public static func forEachMatch(_ needle: [UInt8], _ body: (ProcessEntry) -> Bool) {
        forEachMatch(needle, procRoot: "/proc", excluding: getpid(), body)
    }

    /// The same under `procRoot` (tests use fake ones), leaving out `excluding`.
    static func forEachMatch(_ needle: [UInt8], procRoot: String, excluding selfPid: Int32,
                             _ body: (ProcessEntry) -> Bool) {
        guard !needle.isEmpty, let dir = opendir(procRoot) else { return }
        defer { closedir(dir) }
        let dfd = dirfd(dir)
        let buffer = ProcFileBuffer(capacity: 16384)
        let path = UnsafeMutablePointer<CChar>.allocate(capacity: 32)
        defer { path.deallocate() }
        var skipped = 0
        needle.withUnsafeBufferPointer { n in
            while let ent = readdir(dir) {
                // "<digits>/cmdline": the name is checked and copied in one pass.
                var pid: Int64 = 0
                var length = 0
                let isProcess: Bool = withUnsafeBytes(of: &ent.pointee.d_name) { raw in
                    while length < raw.count, raw[length] != 0 {
                        let c = raw[length]
                        guard c >= 0x30, c <= 0x39, length < 10 else { return false }
                        pid = pid * 10 + Int64(c - 0x30)
                        path[length] = CChar(bitPattern: c)
                        length += 1
                    }
                    return length > 0 && pid > 0 && pid <= Int64(Int32.max)
                }
                guard isProcess, Int32(pid) != selfPid else { continue }
                for (k, c) in commandLineSuffix.enumerated() { path[length + k] = c }
                let count = buffer.read(at: dfd, path)
                guard count >= 0 else { continue }   // gone, or not readable: not a match
                var end = count
                let bytes = buffer.bytes
                while end > 0 && bytes[end - 1] == 0 { end -= 1 }
                let candidate: Bool
                if end > 0 {
                    let line = UnsafeBufferPointer(start: bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), count: end)
                    candidate = bytesContain(line, n, nulAsSpace: true)
                } else {
                    // No command line: comm from stat decides (kernel threads).
                    for (k, c) in statSuffix.enumerated() { path[length + k] = c }
                    let m = buffer.read(at: dfd, path)
                    guard m > 0, let f = parseStat(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<m])),
                          !isDeadState(f.state) else { continue }
                    let comm = UnsafeBufferPointer(
                        start: buffer.bytes.baseAddress!.assumingMemoryBound(to: UInt8.self) + f.commStart,
                        count: f.commEnd - f.commStart)
                    candidate = bytesContain(comm, n)
                }
                guard candidate else { continue }
                // A candidate: read it whole, and ask again of what was read.
                guard let entry = ProcessTable.read(pid: Int32(pid), in: dfd, buffer: buffer, skipped: &skipped),
                      entry.commandLineContains(needle) else { continue }
                if !body(entry) { return }
            }
        }
    }
}

/// "/cmdline" and "/stat" with their NUL, appended to a pid's digits.
private let commandLineSuffix: [CChar] = Array("/cmdline".utf8CString)
private let statSuffix: [CChar] = Array("/stat".utf8CString)

/// Zombie (`Z`) or dead (`X`, `x`): state letters of a process that is gone.
@inline(__always)
func isDeadState(_ state: UInt8) -> Bool {
    state == 0x5A /* Z */ || state == 0x58 /* X */ || state == 0x78 /* x */
}
