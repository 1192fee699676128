import FSPluginABI
#if canImport(Glibc)
import Glibc
#endif

/// The host's process questions: one matcher (the host's), one place that
/// reads /proc and sends signals. A plugin reads no /proc and calls no
/// `kill(2)` of its own: the rules of what "this is my server" means must
/// not differ between the plugin and the host's own checks.
///
/// Pattern queries (``count(_:)``, ``signal(_:_:)``) scan /proc once per
/// snapshot; pid queries (``matches(_:_:)``, ``alive(pid:startTime:)``,
/// ``signal(_:_:)-(ProcessIdentity,_)``) read one process directly.
public struct Processes {
    let host: UnsafePointer<fshost_host>

    /// The host offers the pid services (fshost_host appended
    /// process_matches, group_members and signal_process): every host of
    /// this SDK's version does; checked because the ABI says to.
    var hasPidServices: Bool {
        Int(host.pointee.struct_size) >= MemoryLayout<fshost_host>.offset(of: \fshost_host.signal_process)!
            + MemoryLayout<UnsafeRawPointer>.size
    }

    // MARK: By pattern (a /proc scan)

    /// The host offers the owner services (process_matches_owned,
    /// process_find). Without them a pattern with an ``ProcessPattern/owner``
    /// matches nothing: an owner is a security rule, never dropped.
    var hasOwnerServices: Bool {
        Int(host.pointee.struct_size) >= MemoryLayout<fshost_host>.offset(of: \fshost_host.process_find)!
            + MemoryLayout<UnsafeRawPointer>.size
    }

    /// The pids matching `pattern` (its owner included) in the snapshot.
    func find(_ pattern: ProcessPattern, owner: UInt32) -> [Int32] { find(pattern, owner: Int64(owner)) }

    /// The pids matching `pattern`'s name and argument, of `owner` (-1: any) in the snapshot.
    func find(_ pattern: ProcessPattern, owner: Int64) -> [Int32] {
        guard hasOwnerServices, let call = host.pointee.process_find else { return [] }
        var pids = [Int32](repeating: 0, count: 16)
        var count = call(host.pointee.context, pattern.name, pattern.argument, owner, &pids, UInt32(pids.count))
        if count > Int32(pids.count) {
            pids = [Int32](repeating: 0, count: Int(count) + 16)
            count = call(host.pointee.context, pattern.name, pattern.argument, owner, &pids, UInt32(pids.count))
        }
        return count <= 0 ? [] : Array(pids.prefix(min(Int(count), pids.count)))
    }

    /// How many processes match (name, argument and, when set, owner).
    public func count(_ pattern: ProcessPattern) -> Int {
        if let owner = pattern.owner { return find(pattern, owner: owner).count }
        return Int(host.pointee.process_count(host.pointee.context, pattern.name, pattern.argument))
    }
    /// At least one process matches.
    public func exists(_ pattern: ProcessPattern) -> Bool { count(pattern) > 0 }
    /// Signals every match; returns how many were signalled.
    @discardableResult
    public func signal(_ pattern: ProcessPattern, _ signal: Int32) -> Int {
        if let owner = pattern.owner {
            // Each match by its identity, so a pid reused in between is not signalled.
            return find(pattern, owner: owner).compactMap(identity(pid:))
                .filter { matches($0, pattern) && self.signal($0, signal) == .sent }.count
        }
        return Int(host.pointee.process_signal(host.pointee.context, pattern.name, pattern.argument, signal))
    }
    /// Take a new snapshot on the next pattern query (after starting or stopping).
    public func refresh() { host.pointee.process_refresh(host.pointee.context) }

    // MARK: One process, directly

    /// `process` runs (not a zombie), started at its start time (0: any),
    /// and matches `pattern`'s name and argument by the host's rules. One
    /// process's /proc files are read; nothing is scanned.
    public func matches(_ process: ProcessIdentity, _ pattern: ProcessPattern) -> Bool {
        if let owner = pattern.owner {
            guard hasOwnerServices, let call = host.pointee.process_matches_owned else { return false }
            return call(host.pointee.context, process.pid, process.startTime, pattern.name, pattern.argument,
                        Int64(owner)) == 1
        }
        guard hasPidServices, let call = host.pointee.process_matches else { return false }
        return call(host.pointee.context, process.pid, process.startTime, pattern.name, pattern.argument) == 1
    }

    /// `pid` runs and (when given) started at `startTime`.
    public func alive(pid: Int32, startTime: UInt64? = nil) -> Bool {
        host.pointee.process_alive(host.pointee.context, pid, startTime ?? 0) != 0
    }

    /// Start time of `pid` (clock ticks since boot), nil when it does not run.
    public func startTime(pid: Int32) -> UInt64? {
        let t = host.pointee.process_start_time(host.pointee.context, pid)
        return t == 0 ? nil : t
    }

    /// The identity of `pid` now, nil when it does not run.
    public func identity(pid: Int32) -> ProcessIdentity? {
        startTime(pid: pid).map { ProcessIdentity(pid: pid, startTime: $0) }
    }

    /// What ``signal(_:_:)-(ProcessIdentity,_)`` did.
    public enum SignalResult: Sendable, Equatable {
        case sent
        /// The process is gone, or its pid now names another process: nothing was sent.
        case gone
        case failed
    }

    /// Sends `signal` to `process` only while its pid still names the
    /// process that started at its start time (the host uses a pidfd where
    /// the kernel has one, so the pid cannot be reused in between).
    @discardableResult
    public func signal(_ process: ProcessIdentity, _ signal: Int32) -> SignalResult {
        guard hasPidServices, let call = host.pointee.signal_process else { return .failed }
        switch call(host.pointee.context, process.pid, process.startTime, signal) {
        case 0: return .sent
        case 1: return .gone
        default: return .failed
        }
    }

    /// What `pid` is, for a reason: `comm 'python3.11', command line
    /// '/usr/bin/python3.11 /srv/server.py'` (escaped, one line, cut); nil
    /// when it does not run or the host is older than the service.
    public func describe(pid: Int32) -> String? {
        guard Int(host.pointee.struct_size) >= MemoryLayout<fshost_host>.offset(of: \fshost_host.process_describe)!
                + MemoryLayout<UnsafeRawPointer>.size,
              let call = host.pointee.process_describe else { return nil }
        var buffer = [CChar](repeating: 0, count: 256)
        guard call(host.pointee.context, pid, &buffer, UInt32(buffer.count)) >= 0 else { return nil }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether `process` is stopped by a signal (SIGSTOP, SIGTSTP: state
    /// `T` in `/proc/PID/stat`, proc(5)): it can neither serve nor obey a
    /// reload until SIGCONT. nil when it does not run or the host is older
    /// than `fshost_host.process_state`.
    public func isStopped(_ process: ProcessIdentity) -> Bool? {
        guard Int(host.pointee.struct_size) >= MemoryLayout<fshost_host>.offset(of: \fshost_host.process_state)!
                + MemoryLayout<UnsafeRawPointer>.size,
              let call = host.pointee.process_state else { return nil }
        let state = call(host.pointee.context, process.pid, process.startTime)
        return state < 0 ? nil : state == 0x54 /* T */
    }

    /// Members of process group `group` now running, named `name` (nil:
    /// any) and started no earlier than `since` (0: any), with their start
    /// times: what a daemon's master leaves behind when it dies (its workers
    /// keep its group and the listening socket). Nil when the host cannot tell.
    public func groupMembers(_ group: Int32, named name: String?, since: UInt64) -> [ProcessIdentity]? {
        guard hasPidServices, let call = host.pointee.group_members, group > 1 else { return nil }
        var pids = [Int32](repeating: 0, count: 64)
        var count = call(host.pointee.context, group, name, since, &pids, UInt32(pids.count))
        if count > Int32(pids.count) {
            pids = [Int32](repeating: 0, count: Int(count) + 16)
            count = call(host.pointee.context, group, name, since, &pids, UInt32(pids.count))
        }
        guard count >= 0 else { return nil }
        return pids.prefix(min(Int(count), pids.count)).compactMap { identity(pid: $0) }
    }
}
