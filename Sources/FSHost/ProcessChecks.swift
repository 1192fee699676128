import FSPluginABI
import ProcScan
#if canImport(Glibc)
import Glibc
#endif

/// The host's enforcement of what a plugin declares about its processes
/// (DESIGN §7): present after start, gone after stop (escalating TERM →
/// KILL), present whenever monitor reports success.
enum ProcessChecks {
    /// A declared process, copied out of the plugin.
    struct Declared: CustomStringConvertible {
        let name: String
        let argument: String?
        var pattern: ProcessPattern { ProcessPattern(name: name, argument: argument.map { .contains($0) }) }
        var description: String { argument.map { "\(name) (argument \($0))" } ?? name }
    }

    static func pattern(_ name: UnsafePointer<CChar>?, _ argument: UnsafePointer<CChar>?) -> ProcessPattern {
        ProcessPattern(name: name.map { String(cString: $0) },
                       argument: argument.map { .contains(String(cString: $0)) })
    }

    /// The processes the plugin declares for this resource.
    static func declared(by plugin: LoadedPlugin, instance: UnsafeMutableRawPointer) -> [Declared] {
        guard let processes = plugin.descriptor.pointee.processes else { return [] }
        let count = Int(processes(instance, nil, 0))
        guard count > 0 else { return [] }
        var patterns = [fshost_process_pattern](repeating: fshost_process_pattern(), count: count)
        let filled = Int(processes(instance, &patterns, UInt32(count)))
        return patterns.prefix(min(filled, count)).compactMap { p in
            p.name.map { Declared(name: String(cString: $0), argument: p.argument.map { String(cString: $0) }) }
        }
    }

    /// Declared processes with no match in a fresh snapshot.
    static func missing(_ declared: [Declared]) -> [Declared] {
        guard !declared.isEmpty else { return [] }
        ProcessTable.refreshShared()
        return declared.filter { ProcessTable.shared.matching($0.pattern).isEmpty }
    }

    /// Waits (polling the scanner) until every declared process exists or
    /// the deadline passes; returns those still missing.
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
        ProcessTable.refreshShared()
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
