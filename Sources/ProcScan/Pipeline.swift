#if canImport(Glibc)
import Glibc
#endif

/// The other commands of this process's own shell pipeline.
///
/// In `fshost exec2 -s 0 -t X | grep X` the `grep X` has X in its command
/// line and would be found (and with `-s TERM`, killed) by the very check it
/// filters. The rule: a process is in this pipeline when it is in this
/// process's session and
/// - it holds the other end of a pipe this process holds, on any
///   descriptor (it reads what we write, or writes what we read): stdout
///   (`exec2 … | grep X`), stderr (`exec2 … 2>&1 >/dev/null | grep X`),
///   stdin (`grep X f | exec2 …`), or any other (`grep X <(exec2 …)`,
///   bash's process substitution, where grep reads `/dev/fd/63`), or
/// - it is connected the same way to one that is (`… | cat | grep X`).
///
/// Why the session and not the process group: a shell puts the commands
/// of one pipeline in one process group, but with job control (an
/// interactive bash) a process substitution runs in the shell's group and
/// its reader in the job's own (measured: `grep X <(…)` under `bash -i`),
/// both in the shell's session. A daemon has its own session (setsid), so
/// it is never in a caller's pipeline.
///
/// Not in the pipeline:
/// - a process that holds the *same* end (a daemon a script started in
///   the background, whose output goes where the script's goes): it writes
///   in the same direction; it is what a check looks for;
/// - this process's ancestors (the calling shell holds pipes of its own
///   caller): they never link the pipeline to other processes.
///
/// Pipes are compared by device and inode (`stat` of `/proc/PID/fd/N`), the
/// end by the access mode in `/proc/PID/fdinfo/N`. Reading another user's
/// descriptors needs root or the same user; a process whose descriptors
/// cannot be read is not counted in the pipeline.
public enum Pipeline {
    /// The pids of this process's pipeline, without this process; empty when
    /// it holds no pipe. Reads `/proc` once, and the descriptors of each
    /// process of this session: call it only when a candidate is in this
    /// session (``inSession(_:)``).
    public static func members() -> Set<Int32> {
        let me = getpid()
        let mine = ends(of: me)
        guard !mine.isEmpty else { return [] }
        var ancestors: Set<Int32> = []
        var up = getppid()
        while up > 1, ancestors.insert(up).inserted { up = parent(of: up) }
        let session = getsid(0)
        let others = sessionMembers(session).filter { $0 != me && !ancestors.contains($0) }.map { (pid: $0, ends: ends(of: $0)) }
        var reads = Set(mine.filter(\.reads).map(\.pipe))
        var writes = Set(mine.filter(\.writes).map(\.pipe))
        var result: Set<Int32> = []
        var changed = true
        while changed {
            changed = false
            for p in others where !result.contains(p.pid) {
                let connected = p.ends.contains { ($0.reads && writes.contains($0.pipe)) || ($0.writes && reads.contains($0.pipe)) }
                guard connected else { continue }
                result.insert(p.pid)
                for end in p.ends {
                    if end.reads { reads.insert(end.pipe) }
                    if end.writes { writes.insert(end.pipe) }
                }
                changed = true
            }
        }
        return result
    }

    /// Whether `pid` is in this process's session: only such a process
    /// can be in its pipeline (one `getsid`).
    ///
    /// A session whose leader is outside this PID namespace reads as 0
    /// (getsid(2)): a CI runner or container started with `unshare --pid`
    /// and no `setsid`. Such a session still counts as this session, so a
    /// 0 is compared like any other id; only -1 (an error) never matches.
    public static func inSession(_ pid: Int32) -> Bool {
        let mine = getsid(0)
        return mine >= 0 && getsid(pid) == mine
    }

    /// A pipe's identity: device (pipefs) and inode.
    struct PipeID: Hashable {
        let device: UInt64
        let inode: UInt64
    }

    /// One descriptor on a pipe, and which way it goes.
    struct End {
        let pipe: PipeID
        let reads: Bool
        let writes: Bool
    }

    /// The pipe descriptors of `pid` (`/proc/PID/fd`, `/proc/PID/fdinfo`).
    static func ends(of pid: Int32) -> [End] {
        guard let directory = opendir("/proc/\(pid)/fd") else { return [] }
        defer { closedir(directory) }
        var found: [End] = []
        while let item = readdir(directory) {
            let name = withUnsafeBytes(of: item.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let first = name.utf8.first, first >= 0x30, first <= 0x39 else { continue }
            var st = stat()
            guard stat("/proc/\(pid)/fd/\(name)", &st) == 0, st.st_mode & S_IFMT == S_IFIFO else { continue }
            guard let mode = accessMode(pid: pid, fd: name) else { continue }
            found.append(End(pipe: PipeID(device: UInt64(st.st_dev), inode: UInt64(st.st_ino)),
                             reads: mode != O_WRONLY, writes: mode != O_RDONLY))
        }
        return found
    }

    /// `flags:` of `/proc/PID/fdinfo/FD` (octal) & O_ACCMODE.
    private static func accessMode(pid: Int32, fd: String) -> Int32? {
        let fdinfo = open("/proc/\(pid)/fdinfo/\(fd)", O_RDONLY | O_CLOEXEC)
        guard fdinfo >= 0 else { return nil }
        defer { close(fdinfo) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 512) { buffer -> Int32? in
            let n = read(fdinfo, buffer.baseAddress!, buffer.count)
            guard n > 0 else { return nil }
            let text = String(decoding: UnsafeBufferPointer(rebasing: buffer[0..<n]), as: UTF8.self)
            for line in text.split(separator: "\n") where line.hasPrefix("flags:") {
                let digits = line.dropFirst("flags:".count).drop { $0 == " " || $0 == "\t" }
                guard let flags = Int32(digits, radix: 8) else { return nil }
                return flags & O_ACCMODE
            }
            return nil
        }
    }

    /// The pids in `/proc` whose session is `session` (one `getsid` each).
    private static func sessionMembers(_ session: pid_t) -> [Int32] {
        guard session >= 0, let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var pids: [Int32] = []
        while let item = readdir(directory) {
            let pid: Int32? = withUnsafeBytes(of: item.pointee.d_name) { raw in
                var value: Int64 = 0
                for byte in raw {
                    if byte == 0 { break }
                    guard byte >= 0x30, byte <= 0x39, value < Int64(Int32.max) else { return nil }
                    value = value * 10 + Int64(byte - 0x30)
                }
                return value > 0 && value <= Int64(Int32.max) ? Int32(value) : nil
            }
            if let pid, getsid(pid) == session { pids.append(pid) }
        }
        return pids
    }

    /// The parent of `pid` (field 4 of its stat), 0 when unreadable.
    private static func parent(of pid: Int32) -> Int32 {
        ProcessEntry(pid: pid)?.ppid ?? 0
    }
}
