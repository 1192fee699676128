import FSPluginABI
import HAVocabulary
import PluginLoading
import ProcScan
#if canImport(Glibc)
import Glibc
#endif

/// The host's enforcement of what a plugin declares about its processes:
/// present after start, gone after stop (escalating TERM → KILL), present
/// whenever monitor reports success. Matching follows ProcScan's one set of
/// rules (``ProcessPattern``; the argument as a whole word), and only a
/// process ``ProcessOwnerRule`` admits counts: root or the host's uid runs
/// it, or it is the declared program from a trusted file — another user's
/// look-alike is never the resource, nor signalled by stop.
///
/// A declared process may carry a pid hint (pid and start time, from the
/// plugin's pidfile): "is it there" then reads that one process
/// (`/proc/PID/stat` and `cmdline`) and scans `/proc` only when the hint
/// fails, so a monitor costs the same on a node with 5,000 unrelated
/// processes as on a quiet one. "None remain" (after stop) always scans:
/// the hint says where the process was, not that no other one exists.
enum ProcessChecks {
    /// A declared process, copied out of the plugin.
    struct Declared: CustomStringConvertible {
        let name: String
        let argument: String?
        /// The pid hint (0: none) and its start time (0: unknown).
        var pid: Int32 = 0
        var startTime: UInt64 = 0
        /// The real uid the process must run as (nil: any the owner rule admits).
        var owner: UInt32?
        var pattern: ProcessPattern {
            var p = ProcessPattern.declared(name: name, argument: argument)
            p.uid = owner
            return p
        }
        var description: String {
            (argument.map { "\(name) (argument \($0))" } ?? name) + (owner.map { " as uid \($0)" } ?? "")
        }

        /// The hinted process runs and matches; a hint with its start time
        /// (the identity the plugin recorded when it started the process)
        /// holds while that very process runs, whatever its name now
        /// (``RecordedProcess``: a wrapper that `exec`s the server).
        var hintHolds: Bool {
            if startTime != 0, RecordedProcess.runs(pid: pid, startTime: startTime, owner: owner) { return true }
            return pid > 0 && pattern.matches(pid: pid, startTime: startTime == 0 ? nil : startTime)
        }
    }

    /// The pattern of the host services' `name`/`argument` (NULL or empty: any).
    static func pattern(_ name: UnsafePointer<CChar>?, _ argument: UnsafePointer<CChar>?, owner: Int64 = -1) -> ProcessPattern {
        var p = ProcessPattern.declared(name: name.map { String(cString: $0) }, argument: argument.map { String(cString: $0) })
        if owner >= 0 && owner <= Int64(UInt32.max) { p.uid = UInt32(owner) }
        return p
    }

    /// Most declared processes read from a plugin (a bound on its answer).
    static let maximumDeclared = 256

    /// The processes the plugin declares for this resource, read with the
    /// plugin's stride; the hint only when that stride covers it.
    static func declared(by plugin: LoadedPlugin, instance: UnsafeMutableRawPointer) -> [Declared] {
        guard let processes = plugin.descriptor.pointee.processes,
              let stride = ProcessPatternLayout.stride(of: plugin.descriptor) else { return [] }
        let count = min(Int(processes(instance, nil, 0)), maximumDeclared)
        guard count > 0 else { return [] }
        let raw = UnsafeMutableRawPointer.allocate(byteCount: count * stride, alignment: 16)
        defer { raw.deallocate() }
        raw.initializeMemory(as: UInt8.self, repeating: 0, count: count * stride)
        let filled = min(Int(processes(instance, raw.assumingMemoryBound(to: fshost_process_pattern.self), UInt32(count))),
                         count)
        let nameAt = MemoryLayout<fshost_process_pattern>.offset(of: \fshost_process_pattern.name)!
        let argumentAt = MemoryLayout<fshost_process_pattern>.offset(of: \fshost_process_pattern.argument)!
        let pidAt = MemoryLayout<fshost_process_pattern>.offset(of: \fshost_process_pattern.pid)!
        let startAt = MemoryLayout<fshost_process_pattern>.offset(of: \fshost_process_pattern.start_time)!
        let hasHint = stride >= startAt + MemoryLayout<UInt64>.size
        let ownerAt = MemoryLayout<fshost_process_pattern>.offset(of: \fshost_process_pattern.has_owner)!
        let uidAt = MemoryLayout<fshost_process_pattern>.offset(of: \fshost_process_pattern.owner)!
        let hasOwner = stride >= uidAt + MemoryLayout<UInt32>.size
        return (0..<max(0, filled)).compactMap { i in
            let element = raw + i * stride
            guard let name = element.load(fromByteOffset: nameAt, as: UnsafePointer<CChar>?.self) else { return nil }
            let argument = element.load(fromByteOffset: argumentAt, as: UnsafePointer<CChar>?.self)
            var d = Declared(name: String(cString: name), argument: argument.map { String(cString: $0) })
            if hasHint {
                d.pid = max(0, element.load(fromByteOffset: pidAt, as: Int32.self))
                d.startTime = element.load(fromByteOffset: startAt, as: UInt64.self)
            }
            if hasOwner && element.load(fromByteOffset: ownerAt, as: UInt32.self) == 1 {
                d.owner = element.load(fromByteOffset: uidAt, as: UInt32.self)
            }
            return d
        }
    }

    /// Declared processes that do not run: a hint that holds answers
    /// without a scan; the rest are looked up in a fresh snapshot.
    static func missing(_ declared: [Declared]) -> [Declared] {
        let unconfirmed = declared.filter { !$0.hintHolds }
        guard !unconfirmed.isEmpty else { return [] }
        ProcessTable.refreshShared()
        return unconfirmed.filter { ProcessTable.shared.matching($0.pattern).isEmpty }
    }

    /// Waits (polling) until every declared process exists or the deadline
    /// passes; returns those still missing.
    static func waitUntilPresent(_ declared: [Declared], deadline: Deadline) -> [Declared] {
        var missing = missing(declared)
        while !missing.isEmpty && deadline.millisecondsLeft > 50 {
            sleepMilliseconds(50)
            missing = Self.missing(declared)
        }
        return missing
    }

    /// Makes sure no declared process remains after a stop: TERM, then KILL
    /// when TERM was not enough, within the deadline. Returns what it had to
    /// do (for the log) and what still runs.
    static func ensureGone(_ declared: [Declared], deadline: Deadline) -> (escalation: String?, remaining: [Declared]) {
        guard !declared.isEmpty else { return (nil, []) }
        func survivors() -> [ProcessEntry] {
            ProcessTable.refreshShared()
            return declared.flatMap { ProcessTable.shared.matching($0.pattern) }
        }
        var left = survivors()
        guard !left.isEmpty else { return (nil, []) }
        var steps: [String] = []
        // TERM first, and give it half of what is left (at most 10 s).
        _ = sendSignal(SIGTERM, to: left)
        steps.append("TERM to \(left.count) process(es) \(left.map { String($0.pid) }.joined(separator: ","))")
        left = waitUntilGone(survivors, until: Deadline(after: min(10_000, max(100, deadline.millisecondsLeft / 2))))
        if !left.isEmpty {
            _ = sendSignal(SIGKILL, to: left)
            steps.append("KILL to \(left.count) process(es) \(left.map { String($0.pid) }.joined(separator: ","))")
            left = waitUntilGone(survivors, until: Deadline(after: max(200, min(2_000, deadline.millisecondsLeft))))
        }
        let remaining = left.isEmpty ? [] : declared.filter { !ProcessTable.shared.matching($0.pattern).isEmpty }
        return (steps.joined(separator: ", then "), remaining)
    }

    /// Polls `survivors` until it is empty or `until` passes; returns the last answer.
    private static func waitUntilGone(_ survivors: () -> [ProcessEntry], until: Deadline) -> [ProcessEntry] {
        var left = survivors()
        while !left.isEmpty && !until.hasPassed {
            sleepMilliseconds(25)
            left = survivors()
        }
        return left
    }
}
