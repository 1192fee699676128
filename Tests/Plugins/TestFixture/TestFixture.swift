// A resource type for the host's own tests: a typed schema, probes that
// fail on demand, an action that hangs, a helper process it spawns.
// Not installed.
import FSKit
#if canImport(Glibc)
import Glibc
#endif

struct TestFixture: ResourceType {
    static let name = "testfixture"
    static let summary = "Test-only type: hangs, fails and spawns on demand"
    static let attributes = [
        Attribute("port", .port, required: true, "a required typed value"),
        Attribute("label", .string, default: "fixture", "free text"),
        Attribute("enabled", .boolean, default: "true", "a boolean"),
        Attribute("hang", .duration, default: "0ms", "every action sleeps this long"),
        Attribute("hang_in_process", .boolean, default: "false",
                  "sleep in the plugin itself (the host must abandon it) instead of in a spawned `sleep`"),
        Attribute("fail_probes", .integer, default: "0", "monitor fails this many probes before it succeeds"),
        Attribute("command", .argv, "run by start, if set (its process is the declared process)"),
        Attribute("process_name", .string, "declared process name (with command)"),
        Attribute("marker", .path, "file start creates and stop removes: the resource's state"),
        Attribute("fault", .string, "exit0, abort, crash, fatal, stdout, fork, orphan or freeze: what every action does first (Faults.swift)"),
        Attribute("fail_reason", .string, "monitor fails with this reason"),
        Attribute("fail_reason_repeat", .integer, default: "1", "the reason is fail_reason this many times over"),
    ]
    static let levels = [
        MonitorLevel(1, "marker", checks: "the marker file exists", cost: "one stat"),
        MonitorLevel(2, "flaky", checks: "fails fail_probes times, then succeeds", cost: "state read"),
    ]
    static let defaults = ActionDefaults(
        timeouts: [.start: .seconds(5), .stop: .seconds(5), .monitor: .seconds(5)],
        level: 1, retries: 0, retryInterval: .milliseconds(50))

    let resource: Resource
    let hang: Duration
    let hangInProcess: Bool
    let failProbes: Int
    let command: [String]?
    let processName: String?
    let marker: String?
    let fault: Fault?
    let failReason: String?

    init(resource: Resource) throws(ConfigurationError) {
        self.resource = resource
        if resource.string("label") == "refuse" {
            throw ConfigurationError(.invalid("label 'refuse' is refused by the plugin itself"))
        }
        hang = resource.duration("hang") ?? .zero
        hangInProcess = resource.boolean("hang_in_process") ?? false
        failProbes = resource.integer("fail_probes") ?? 0
        command = resource.command("command")
        processName = resource.string("process_name")
        marker = resource.string("marker")
        fault = resource.string("fault").flatMap(Fault.init(rawValue:))
        failReason = resource.string("fail_reason").map {
            String(repeating: $0, count: max(1, resource.integer("fail_reason_repeat") ?? 1))
        }
    }

    var processes: [ProcessPattern] {
        guard let processName else { return [] }
        return [ProcessPattern(name: processName, argument: command?.dropFirst().first)]
    }

    /// Sleeps in a child process (which the host kills at the deadline), or
    /// in the plugin itself (which the host must abandon).
    func stall() {
        fault?.happen()
        if hang > .zero && hangInProcess {
            sleep(UInt32(hang.components.seconds))
        } else if hang > .zero {
            _ = resource.run(["sleep", String(Double(hang.components.seconds) + Double(hang.components.attoseconds) / 1e18)],
                             timeout: .seconds(3600))
        }
    }

    func start() -> Outcome {
        stall()
        if let command {
            let started = resource.run(["setsid", "-f"] + command, timeout: .seconds(5))
            guard started.succeeded else { return .failed("command \(started.summary)") }
        }
        if let marker { resource.state["marker"] = marker; touch(marker) }
        return .success
    }

    func stop() -> Outcome {
        stall()
        if let marker { _ = resource.run(["rm", "-f", marker]) }
        return .success
    }

    func probe(level: UInt32) -> Outcome {
        stall()
        if let failReason { return .failed(failReason) }
        switch level {
        case 1:
            guard let marker else { return .success }
            return resource.run(["test", "-e", marker]).succeeded ? .success : .notRunning("no marker \(marker)")
        default:
            let failed = Int(resource.state["failed"] ?? "0") ?? 0
            if failed < failProbes {
                resource.state["failed"] = String(failed + 1)
                return .failed("flaky probe \(failed + 1) of \(failProbes) fails")
            }
            return .success
        }
    }

    private func touch(_ path: String) { _ = resource.run(["touch", path]) }
}

@_cdecl("fshost_plugin_entry")
public func fshostPluginEntry() -> PluginEntry { PluginEntry(exporting: TestFixture.self) }
