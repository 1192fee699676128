#if canImport(Glibc)
import Glibc
#endif

/// The processes of one server: its master and the workers it forked.
///
/// A daemonised nginx master calls `setsid()`, so its pid is the process
/// group of every worker it forks, and stays so when the master dies: a
/// master killed with SIGKILL leaves its workers running, still holding
/// the listening socket (a restart would fail with "address in use"). The
/// stop path finds them by that group id. The kernel never hands out a pid
/// still used as a process group, and each member must also carry the
/// server's process name and have started no earlier than the master, so
/// an unrelated group that later got the same number is left alone.
///
/// This reads `/proc/<pid>/stat` of every process: the stop path only,
/// never a monitoring level.
struct ServerGroup {
    let leader: Int32
    let name: String
    /// The master's start time (clock ticks since boot), when known.
    let leaderStart: UInt64?

    struct Member: Equatable {
        let pid: Int32
        let startTime: UInt64
    }

    /// Members now running (zombies left out). None when the leader's pid
    /// now names a live process that is not the master (another start
    /// time, or any live process when the start time is unknown): that
    /// group belongs to whoever holds the pid now.
    func members() -> [Member] {
        guard leader > 1 else { return [] }
        if let now = StatLine(pid: leader), now.state != UInt8(ascii: "Z"), now.state != UInt8(ascii: "X") {
            guard let leaderStart, now.startTime == leaderStart else { return [] }
        }
        guard let dir = opendir("/proc") else { return [] }
        defer { closedir(dir) }
        var found: [Member] = []
        while let entry = readdir(dir) {
            let text = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard let pid = Int32(text), pid > 1, pid != getpid() else { continue }
            guard let stat = StatLine(pid: pid), stat.processGroup == leader, stat.comm == name,
                  stat.state != UInt8(ascii: "Z"), stat.state != UInt8(ascii: "X") else { continue }
            if let leaderStart, stat.startTime < leaderStart { continue }
            found.append(Member(pid: pid, startTime: stat.startTime))
        }
        return found
    }

    /// Signals every member still running with its start time; returns how many.
    @discardableResult
    func signal(_ signal: Int32, _ members: [Member]) -> Int {
        var sent = 0
        for m in members where StatLine(pid: m.pid)?.startTime == m.startTime {
            if kill(m.pid, signal) == 0 { sent += 1 }
        }
        return sent
    }
}

/// The fields of `/proc/<pid>/stat` the plugin uses.
struct StatLine {
    let comm: String
    let state: UInt8
    let processGroup: Int32
    let startTime: UInt64

    init?(pid: Int32) {
        guard let bytes = readFile("/proc/\(pid)/stat", limit: 4096),
              let open = bytes.firstIndex(of: UInt8(ascii: "(")),
              let close = bytes.lastIndex(of: UInt8(ascii: ")")), close > open else { return nil }
        comm = String(decoding: bytes[(open + 1)..<close], as: UTF8.self)
        // After ") ": state(3) ppid(4) pgrp(5) … starttime(22).
        let fields = bytes[(close + 1)...].split(separator: 0x20)
        guard fields.count >= 20, let s = fields[fields.startIndex].first,
              let pgrp = Int32(String(decoding: fields[fields.startIndex + 2], as: UTF8.self)),
              let start = UInt64(String(decoding: fields[fields.startIndex + 19], as: UTF8.self)) else { return nil }
        state = s
        processGroup = pgrp
        startTime = start
    }
}
