#if canImport(Glibc)
import Glibc
#endif

/// The processes below one process (its children, theirs, …) by their
/// parent links in `/proc`, whatever their session or process group: what
/// a process started, including what left its group with `setsid` and so
/// escapes a signal to the group. Costs one `/proc/PID/stat` read per
/// process on the node: for stop, not for monitor.
///
/// A descendant whose parent exited before the walk was re-parented (to a
/// subreaper or init) and is no longer found: nothing in `/proc` links it
/// to the process any more.
public enum Descendants {
    /// Every live descendant of `root`, with its start time (clock ticks
    /// since boot, as ``ProcessIdentity``), parents before children.
    public static func of(_ root: Int32) -> [ProcessIdentity] {
        var children: [Int32: [ProcessIdentity]] = [:]
        for pid in processIDs() {
            guard let (parent, start) = parentAndStart(pid) else { continue }
            children[parent, default: []].append(ProcessIdentity(pid: pid, startTime: start))
        }
        var found: [ProcessIdentity] = []
        var queue = [root]
        while !queue.isEmpty {
            let next = queue.removeFirst()
            for child in children[next] ?? [] where child.pid != root {
                found.append(child)
                queue.append(child.pid)
            }
        }
        return found
    }

    /// The pids `/proc` lists now (its all-digit entries).
    static func processIDs() -> [Int32] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var pids: [Int32] = []
        while let entry = readdir(directory) {
            let pid = withUnsafeBytes(of: entry.pointee.d_name) { raw -> Int32? in
                var value: Int32 = 0
                for byte in raw {
                    if byte == 0 { break }
                    guard byte >= 0x30 && byte <= 0x39, value < 100_000_000 else { return nil }
                    value = value * 10 + Int32(byte - 0x30)
                }
                return value > 0 ? value : nil
            }
            if let pid { pids.append(pid) }
        }
        return pids
    }

    /// Fields 4 (ppid) and 22 (starttime) of `/proc/PID/stat`; nil for a
    /// zombie or a process gone. The command name (field 2) may hold spaces
    /// and parentheses: the fields are counted after its last `)`.
    static func parentAndStart(_ pid: Int32) -> (Int32, UInt64)? {
        let fd = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 1024)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0, let close = buffer[..<n].lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = buffer[(close + 1)..<n].split(separator: UInt8(ascii: " "))
        // fields[0] is field 3 (state), so field k is fields[k - 3].
        guard fields.count > 19, fields[0].first != UInt8(ascii: "Z"),
              let parent = Int32(String(decoding: fields[1], as: UTF8.self)),
              let start = UInt64(String(decoding: fields[19], as: UTF8.self)) else { return nil }
        return (parent, start)
    }
}
