/// A resource type whose resource is one ``Daemon``: start, stop, restart,
/// exclusive and the declared processes come from it; the type writes its
/// attributes, `init` (building `daemon`), `validate` and its probes.
///
/// ```swift
/// struct Postgres: DaemonType {
///     static let readinessLevel: UInt32 = 2      // start returns when level 2 passes
///     let daemon: Daemon
///     func probe(level: UInt32) -> Outcome {
///         level == 1 ? daemon.probe() : UnixSocketProbe.connect(…)…
///     }
/// }
/// ```
public protocol DaemonType: ExclusiveCheck, CustomRestart {
    var daemon: Daemon { get }
    /// The monitoring level `start` waits for: it returns success only once
    /// every level up to this one passes.
    static var readinessLevel: UInt32 { get }
}

extension DaemonType {
    /// The master, with the pidfile's pid as the host's hint (``Daemon/processes``).
    public var processes: [ProcessPattern] { daemon.processes }

    /// ``Daemon/start(ready:)``, ready once every level up to ``readinessLevel`` passes.
    public func start() -> Outcome { daemon.start { check(upTo: Self.readinessLevel) } }

    /// ``Daemon/stop()``: the stop ladder, then leftovers; a stopped daemon succeeds.
    public func stop() -> Outcome { daemon.stop() }

    /// ``Daemon/exclusive()``: `.running` while anything of it runs here.
    public func exclusive() -> Outcome { daemon.exclusive() }

    /// Validate first (a configuration the server would refuse must not
    /// take a working server down), then stop, then start.
    public func restart() -> Outcome {
        let valid = validate()
        guard valid.isSuccess else {
            return Outcome(valid.status, "restart refused before stopping anything: " + (valid.reason ?? "validate failed"))
        }
        let stopped = stop()
        guard stopped.isSuccess else { return Outcome(stopped.status, "restart: stop failed: " + (stopped.reason ?? "")) }
        return start()
    }
}

extension ResourceType {
    /// Runs the probes of every declared level up to `level`, shallowest
    /// first, as monitor does; the first that is not a success is the answer.
    public func check(upTo level: UInt32) -> Outcome {
        runLevels(of: self, upTo: level, declared: Self.levels)
    }
}
