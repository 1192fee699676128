// A resource type for the host's own tests: a typed schema with every kind
// of constraint, probes that fail on demand, an action that hangs, a helper
// process it spawns. Built under Tests/, so its record is marked test-only:
// `fshost list` and `make install` leave it out.
import EchoCall
import FSKit
#if canImport(Glibc)
import Glibc
#endif

struct TestFixture: ResourceType {
    static let summary = "Test-only type: hangs, fails and spawns on demand"

    enum Mode: String, CaseIterable, Sendable { case fast, slow }

    static let port = Attribute.port("port", "a required typed value").required
    static let label = Attribute.string("label", default: "fixture", "free text")
    static let enabled = Attribute.boolean("enabled", default: true, "a boolean")
    static let hang = Attribute.duration("hang", default: .zero, "every action sleeps this long")
    static let hangInProcess = Attribute.boolean("hang_in_process", default: false,
        "sleep in the plugin itself (the host must abandon it) instead of in a spawned `sleep`")
    static let failProbes = Attribute.integer("fail_probes", default: 0, in: 0...100,
                                              "monitor fails this many probes before it succeeds")
    static let failStatus = Attribute.integer("fail_status", default: 3, in: 2...6,
                                              "the status a failing level-2 probe answers (3: HA_CMD_FAILED; 2, 5, 6: configuration answers)")
    static let command = Attribute.command("command", "run by start, if set (its process is the declared process)")
    static let processName = Attribute.string("process_name", "declared process name (with command)")
    static let marker = Attribute.path("marker", "file start creates and stop removes: the resource's state")
    static let mode = Attribute.choice("mode", default: Mode.fast, "a choice among an enumeration's values")
    static let address = Attribute.ipAddress("address", default: "127.0.0.1", "a numeric IP address")
    static let runAs = Attribute.user("run_as", "a user that must exist at validate")
    static let interval = Attribute.positiveDuration("interval", default: .seconds(1), maximum: .seconds(3600),
                                                     "a positive duration of at most an hour")
    static let password = Attribute.secret("password", "a secret: never printed by the host")
    static let leakSecret = Attribute.boolean("leak_secret", default: false,
        "start logs the password and gives it as its reason (the host must redact both)")
    static let fault = Attribute.string("fault",
        "exit0, abort, crash, fatal, stdout, fork, orphan, freeze, chdir or netns: what every action does first (Faults.swift)")
    static let failReason = Attribute.string("fail_reason", "monitor fails with this reason")
    static let failReasonRepeat = Attribute.integer("fail_reason_repeat", default: 1, in: 1...100_000_000,
                                                    "the reason is fail_reason this many times over")
    static let echo = Attribute.string("echo", "start asks the companion testfixture-echo to echo this (twice) and gives its answer as the reason")

    static let attributes: [Attribute] = [port, label, enabled, hang, hangInProcess, failProbes, failStatus, command, processName,
                                          marker, mode, address, runAs, interval, password, leakSecret,
                                          fault, failReason, failReasonRepeat, echo]
    static let levels = [
        MonitorLevel(1, "marker", checks: "the marker file exists", cost: "one stat"),
        MonitorLevel(2, "flaky", checks: "fails fail_probes times, then succeeds", cost: "state read"),
    ]
    static let defaults = ActionDefaults(
        timeouts: [.start: .seconds(5), .stop: .seconds(5), .monitor: .seconds(5)],
        level: 1, retries: 0, retryInterval: .milliseconds(100))

    let resource: Resource
    let hang: Duration
    let hangInProcess: Bool
    let failProbes: Int
    let failStatus: Int
    let command: [String]?
    let processName: String?
    let marker: String?
    let fault: Fault?
    let failReason: String?
    let password: Secret?
    let leakSecret: Bool
    let echo: String?

    init(resource: Resource) throws(ConfigurationError) {
        self.resource = resource
        if resource[Self.label] == "refuse" {
            throw ConfigurationError(.invalid("label 'refuse' is refused by the plugin itself"))
        }
        hang = resource[Self.hang]
        hangInProcess = resource[Self.hangInProcess]
        failProbes = resource[Self.failProbes]
        failStatus = resource[Self.failStatus]
        command = resource[Self.command]
        processName = resource[Self.processName]
        marker = resource[Self.marker]
        password = resource[Self.password]
        leakSecret = resource[Self.leakSecret]
        fault = resource[Self.fault].flatMap(Fault.init(rawValue:))
        failReason = resource[Self.failReason].map { String(repeating: $0, count: resource[Self.failReasonRepeat]) }
        echo = resource[Self.echo]
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
        if leakSecret, let password {
            // A careless plugin: the host must not let the value through.
            resource.log.error("connecting with password \(password.revealed)")
            return .failed("password \(password.revealed) was refused")
        }
        if let echo {
            // The typed companion call, made twice: the companion is loaded once.
            guard let call = resource.companion(EchoCall.self) else { return .failed("no echo companion (see the log)") }
            let answers = [call(EchoCall.Request(text: echo, times: 2)), call(EchoCall.Request(text: echo, times: 1))]
            return Outcome(.success, "companion answered \(answers)")
        }
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
                let reason = "flaky probe \(failed + 1) of \(failProbes) fails"
                return Outcome(Status(rawValue: Int32(failStatus)) ?? .commandFailed, reason)
            }
            return .success
        }
    }

    private func touch(_ path: String) { _ = resource.run(["touch", path]) }
}
