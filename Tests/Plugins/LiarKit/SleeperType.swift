// A small honest resource for `fshost verify`'s tests, and the four lies a
// plugin can tell about it. The resource is a `sleep TOKEN` process (TOKEN a
// number like 3600.4711, unique per test: the declared process's argument)
// that "answers" once its marker file exists. Each test plugin (Sleeper,
// LiarMonitor, LiarStop, LiarStart, LiarExclusive) is this type with one
// `lie`, so verify must name that lie and no other.
import FSKit
#if canImport(Glibc)
import Glibc
#endif

/// What a plugin built on ``SleeperType`` lies about (none: honest).
public enum Lie: Sendable {
    case none
    /// monitor answers success, whatever runs.
    case monitorAlwaysSucceeds
    /// stop removes the marker and leaves the process running.
    case stopLeavesProcess
    /// start returns once the process runs; the marker comes 1.5 s later.
    case startReturnsEarly
    /// exclusive answers not running, whatever runs.
    case exclusiveNeverRunning
    /// No process: the marker is the state; stop answers success and keeps
    /// it (monitor and exclusive honest about the marker).
    case stopKeepsState
    /// start also detaches `sleep TOKEN` with the SDK's ``Detach`` (the
    /// launch mark) and declares no process; the marker is the state; stop
    /// removes the marker and leaves the process.
    case stopLeavesUndeclaredProcess

    /// The marker alone is the state (no declared process).
    var markerOnly: Bool { self == .stopKeepsState || self == .stopLeavesUndeclaredProcess }
}

/// The attributes every sleeper type has.
public enum SleeperAttributes {
    public static let token = Attribute.string("token", nonBlank: true,
        "the sleep duration in seconds, unique per resource (e.g. 3600.4711): the declared process's argument").required
    public static let marker = Attribute.path("marker", "the file whose existence is the resource answering").required
}

public protocol SleeperType: ResourceType, ExclusiveCheck {
    static var lie: Lie { get }
    /// How long every probe waits first (a slow monitor).
    static var probeDelay: Duration { get }
    var resource: Resource { get }
    init(checked resource: Resource)
}

extension SleeperType {
    public static var probeDelay: Duration { .zero }
    public static var attributes: [Attribute] { [SleeperAttributes.token, SleeperAttributes.marker] }
    public static var levels: [MonitorLevel] {
        [MonitorLevel(1, "process", checks: "the sleep TOKEN process runs", cost: "one /proc scan"),
         MonitorLevel(2, "answers", checks: "the marker file exists", cost: "one stat")]
    }
    public static var defaults: ActionDefaults {
        ActionDefaults(timeouts: [.start: .seconds(5), .stop: .seconds(5), .monitor: .seconds(5)],
                       level: 2, retries: 0, retryInterval: .milliseconds(100))
    }

    public init(resource: Resource) throws(ConfigurationError) { self.init(checked: resource) }

    var token: String { resource[SleeperAttributes.token] }
    var marker: String { resource[SleeperAttributes.marker] }
    var pattern: ProcessPattern { ProcessPattern(name: "sleep", argument: token) }
    var runs: Bool {
        if Self.lie.markerOnly { return answers }
        resource.processes.refresh()
        return resource.processes.exists(pattern)
    }
    var answers: Bool { access(marker, F_OK) == 0 }

    public var processes: [ProcessPattern] { Self.lie.markerOnly ? [] : [pattern] }

    public func start() -> Outcome {
        if runs && answers { return .success }
        if Self.lie == .stopLeavesUndeclaredProcess {
            let pidFile = PidFile(marker + ".pid")
            let mark = LaunchMark.entry(type: resource.typeName, resource: resource.name, pidFile: pidFile.path)
            if case .failure(let error) = Detach().start(["sleep", token], pidFile: pidFile, mark: mark) {
                return .failed("sleep \(token): \(error)")
            }
        }
        if !runs && !Self.lie.markerOnly {
            let started = resource.run(["setsid", "-f", "sleep", token], timeout: .seconds(2))
            guard started.succeeded else { return .failed("sleep \(started.summary)") }
            guard resource.waitUntil(within: .seconds(2), { runs }) else { return .failed("sleep \(token) did not appear") }
        }
        if Self.lie == .startReturnsEarly {
            // The marker comes later, from a process of its own (argv: no shell interpolation).
            _ = resource.run(["setsid", "-f", "sh", "-c", "sleep 1.5; exec touch \"$1\"", "sh", marker], timeout: .seconds(2))
            return .success
        }
        let touched = resource.run(["touch", marker], timeout: .seconds(2))
        return touched.succeeded ? .success : .failed("touch \(marker) \(touched.summary)")
    }

    public func stop() -> Outcome {
        if Self.lie == .stopKeepsState { return .success }
        unlink(marker)
        if Self.lie == .stopLeavesProcess || Self.lie == .stopLeavesUndeclaredProcess { return .success }
        resource.processes.signal(pattern, SIGTERM)
        return resource.waitUntil(within: .seconds(3), { !runs }) ? .success : .failed("sleep \(token) still runs after TERM")
    }

    public func probe(level: UInt32) -> Outcome {
        if Self.probeDelay > .zero {
            let ms = Self.probeDelay.components.seconds * 1000 + Self.probeDelay.components.attoseconds / 1_000_000_000_000_000
            usleep(useconds_t(ms * 1000))
        }
        if Self.lie == .monitorAlwaysSucceeds { return .success }
        guard runs else { return .notRunning("no sleep \(token)") }
        if level >= 2 && !answers { return .failed("sleep \(token) runs but \(marker) is missing: not answering") }
        return .success
    }

    public func exclusive() -> Outcome {
        if Self.lie == .exclusiveNeverRunning { return .notRunning() }
        return runs ? .running("sleep \(token) runs") : .notRunning()
    }
}
