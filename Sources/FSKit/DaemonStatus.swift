/// Where a daemon stands on this node: the one definition of "running"
/// that monitor's process level, exclusive, start and stop all answer from
/// (``Daemon/status()``).
public enum DaemonStatus: Sendable, Equatable {
    /// Nothing of it runs: no pidfile, one that names no pid (empty,
    /// garbage), or one that names a live process that is not this master
    /// (another server's pidfile, a reused pid: never this resource's to
    /// remove), while no master of this configuration runs.
    case stopped(String)
    /// The pidfile's pid is the master: it matches the master's pattern and,
    /// when its identity was remembered at start, has that start time.
    case running(ProcessIdentity)
    /// The pidfile names a process that is gone — or, for a private
    /// pidfile (``Daemon/privatePidFile``), a live process that is not the
    /// master (its pid reused since): it crashed. `leftovers` are processes of its group
    /// that still run (a daemon's workers outlive their master and keep its
    /// listening socket).
    case crashed(pid: Int32, String, leftovers: [ProcessIdentity])
    /// A master of this configuration runs, but the pidfile does not name
    /// it (missing, empty, garbage, or naming another live process):
    /// running, and broken. Stop ends it by its pattern and skips the
    /// ladder's commands (they act on the pidfile's pid).
    case withoutPidFile(String)
    /// The pidfile cannot be read (a directory, EACCES, EIO): nobody can tell.
    case unknown(String)

    /// Something of this daemon runs on this node: what exclusive answers,
    /// and what forbids a second start.
    public var somethingRuns: Bool {
        switch self {
        case .running, .withoutPidFile: return true
        case .crashed(_, _, let leftovers): return !leftovers.isEmpty
        case .stopped, .unknown: return false
        }
    }

    /// Monitor's process level: success only for a master that runs as its
    /// pidfile says; a clean stop is HA_NOT_RUNNING; everything else fails.
    public var monitorOutcome: Outcome {
        switch self {
        case .running: return .success
        case .stopped(let why): return .notRunning(why)
        case .crashed(_, let why, _): return .failed("master process gone (crashed?): " + why)
        case .withoutPidFile(let why), .unknown(let why): return .failed(why)
        }
    }

    /// Exclusive: HA_RUNNING when ``somethingRuns``; HA_NOT_RUNNING when
    /// nothing does; a failure when the pidfile cannot be read (never a
    /// guess that would let a second node start it).
    public var exclusiveOutcome: Outcome {
        switch self {
        case .running(let id): return .running("master pid \(id.pid) runs")
        case .withoutPidFile(let why): return .running(why)
        case .crashed(let pid, let why, let leftovers) where !leftovers.isEmpty:
            return .running("master pid \(pid) is gone (\(why)) but its process(es) "
                            + leftovers.map { String($0.pid) }.joined(separator: ",") + " still run")
        case .crashed(_, let why, _): return .notRunning(why + "; nothing of it runs")
        case .stopped(let why): return .notRunning(why)
        case .unknown(let why): return .failed(why)
        }
    }
}
