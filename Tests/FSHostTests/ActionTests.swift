import CDB
import Foundation
import TestSupport
import XCTest

/// `fshost <type> <action> <resource>` end to end: real plugins loaded by the
/// real executable, attributes from a real CDB file.
final class ActionTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
    }

    override func tearDown() {
        // Leave nothing running: the fixture's helper processes carry the sandbox path.
        _ = try? sandbox.fshost("exec2", "-s", "KILL", "-t", sandbox.root.path)
        sandbox = nil
    }

    func define(_ type: String, _ resource: String, _ attributes: [String: String]) throws {
        try sandbox.store(type, resource, attributes)
    }

    // MARK: The template type, every action

    func testTemplateAnswersEveryAction() throws {
        try define("template", "t1", [:])
        for action in ["validate", "start", "start", "monitor", "restart", "stop", "stop"] {
            let r = try sandbox.fshost("template", action, "t1")
            XCTAssertEqual(r.status, 0, "\(action): \(r)")
        }
        // The template's own exclusive says "not running here".
        XCTAssertEqual(try sandbox.fshost("template", "exclusive", "t1").status, 1)
    }

    /// Every line of an action is greppable as key=value (issue 14 item 5):
    /// `type= resource= action= level=` first, then `msg=` and the message, or
    /// on the final line `status= ms=` and the reason last; secrets stay redacted.
    func testEveryLogLineIsKeyValueWithTheReasonLast() throws {
        try define("testfixture", "kv", ["port": "80", "fail_probes": "100", "retries": "1", "retry_interval": "100ms",
                                         "fail_reason": "disk full = bad"])
        let monitor = try sandbox.fshost("testfixture", "monitor", "kv")
        XCTAssertEqual(monitor.status, 3, monitor.description)
        let lines = monitor.stderr.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, monitor.stderr)
        for line in lines {
            XCTAssertTrue(line.hasPrefix("fshost: type=testfixture resource=kv action=monitor level=1 "), line)
        }
        XCTAssertTrue(lines[0].contains(" msg=probe 1 failed (HA_CMD_FAILED: disk full = bad)"), lines[0])
        let last = lines[1]
        let ms = try XCTUnwrap(last.range(of: " status=HA_CMD_FAILED ms=")).upperBound
        XCTAssertNotNil(Int(last[ms...].prefix { $0.isNumber }), last)
        XCTAssertTrue(last.hasSuffix(" reason=disk full = bad"), last)

        // An action without a level says level=-; a secret is still (secret).
        try define("testfixture", "leak", ["port": "80", "password": "s3cret-kv", "leak_secret": "true"])
        let start = try sandbox.fshost("testfixture", "start", "leak")
        XCTAssertEqual(start.status, 3, start.description)
        XCTAssertFalse(start.stderr.contains("s3cret-kv"), start.stderr)
        let startLines = start.stderr.split(separator: "\n")
        XCTAssertTrue(startLines.contains { $0.hasPrefix("fshost: type=testfixture resource=leak action=start level=- msg=") }, start.stderr)
        XCTAssertTrue(startLines.contains { $0.hasPrefix("fshost: type=testfixture resource=leak action=start level=- status=HA_CMD_FAILED ms=")
                                            && $0.contains(" reason=password (secret) was refused") }, start.stderr)
    }

    func testLogLineNamesTypeResourceActionLevelAndOutcome() throws {
        try define("template", "t1", [:])
        let r = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertTrue(r.stderr.contains("fshost: type=template resource=t1 action=monitor level=0 status=HA_SUCCESS ms="), r.stderr)
    }

    func testJSONOutput() throws {
        try define("template", "t1", [:])
        let r = try sandbox.fshost("template", "monitor", "t1", "--json")
        let object = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        XCTAssertEqual(object?["status"] as? String, "HA_SUCCESS")
        XCTAssertEqual(object?["code"] as? Int, 0)
        XCTAssertEqual(object?["level"] as? Int, 0)
        XCTAssertEqual(object?["resource"] as? String, "t1")
    }

    // MARK: Bad command lines

    func testUnknownTypeIsNotSupported() throws {
        let r = try sandbox.fshost("nosuchtype", "monitor", "x")
        XCTAssertEqual(r.status, 5, r.description)
        XCTAssertTrue(r.stderr.contains("nosuchtype"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)")
    }

    func testUnknownActionIsInvalid() throws {
        try define("template", "t1", [:])
        let r = try sandbox.fshost("template", "frobnicate", "t1")
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("unknown action 'frobnicate'"), r.stderr)
    }

    /// A command line refused before any action runs still logs one
    /// key=value line: the fields the words give (`-` where absent), then
    /// status= ms= reason=. A monitor that fails before its configured level
    /// is known names the command line's level, `-` without one.
    func testRefusedCommandLinesLogKeyValueLines() throws {
        try define("template", "t1", [:])
        let cases: [([String], String)] = [
            (["template", "bogus", "t1"],
             "fshost: type=template resource=t1 action=bogus level=- status=HA_INVAL_ARGS ms=0 reason=unknown action 'bogus'"),
            (["template", "monitor", "a b"],
             "fshost: type=template resource=\"a b\" action=monitor level=- status=HA_INVAL_ARGS ms=0 reason=invalid resource name"),
            (["template", "monitor"],
             "fshost: type=template resource=- action=monitor level=- status=HA_INVAL_ARGS ms=0 reason=usage:"),
            (["template", "monitor", "nosuch", "--level", "9"],
             "fshost: type=template resource=nosuch action=monitor level=9 status=HA_NOCFGINFO ms="),
            (["template", "monitor", "nosuch"],
             "fshost: type=template resource=nosuch action=monitor level=- status=HA_NOCFGINFO ms="),
        ]
        for (words, expected) in cases {
            let r = try sandbox.fshost(words)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "\(words): \(r.stderr)")
            XCTAssertTrue(r.stderr.hasPrefix(expected), "\(words): \(r.stderr)")
        }
    }

    func testUnknownResourceHasNoConfiguration() throws {
        try define("template", "t1", [:])
        let r = try sandbox.fshost("template", "monitor", "nosuch")
        XCTAssertEqual(r.status, 6)
        XCTAssertTrue(r.stderr.contains("'nosuch'"), r.stderr)
    }

    func testMissingArguments() throws {
        XCTAssertEqual(try sandbox.fshost("template", "monitor").status, 2)
        XCTAssertEqual(try sandbox.fshost("template").status, 2)
        XCTAssertEqual(try sandbox.fshost().status, 2)
    }

    func testBadOptionValues() throws {
        try define("template", "t1", [:])
        XCTAssertEqual(try sandbox.fshost("template", "monitor", "t1", "--timeout", "soon").status, 2)
        XCTAssertEqual(try sandbox.fshost("template", "monitor", "t1", "--level").status, 2)
        let r = try sandbox.fshost("template", "monitor", "t1", "--level", "7")
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("level 7"), r.stderr)
        XCTAssertEqual(try sandbox.fshost("template", "monitor", "../etc").status, 2)
    }

    func testHelpDocumentsEveryStatus() throws {
        let r = try sandbox.fshost("--help")
        XCTAssertEqual(r.status, 0)
        for name in ["HA_SUCCESS", "HA_NOT_RUNNING", "HA_INVAL_ARGS", "HA_CMD_FAILED", "HA_RUNNING",
                     "HA_NOTSUPPORTED", "HA_NOCFGINFO", "HA_PLUGIN_REFUSED", "HA_TIMEDOUT"] {
            XCTAssertTrue(r.stdout.contains(name), name)
        }
    }

    // MARK: Attributes checked against the schema before any action

    func testMissingRequiredAttribute() throws {
        try define("testfixture", "f1", ["label": "x"])
        let r = try sandbox.fshost("testfixture", "start", "f1")
        XCTAssertEqual(r.status, 6, r.description)
        XCTAssertTrue(r.stderr.contains("'port'"), r.stderr)
    }

    func testWrongTypeAndUnknownKey() throws {
        try define("testfixture", "f1", ["port": "80", "enabled": "perhaps"])
        var r = try sandbox.fshost("testfixture", "monitor", "f1")
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("'enabled'"), r.stderr)
        try define("testfixture", "f2", ["port": "80", "colour": "blue"])
        r = try sandbox.fshost("testfixture", "monitor", "f2")
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("'colour'"), r.stderr)
    }

    func testStatusOfAPluginRefusingTheAttributesIsKept() throws {
        try define("testfixture", "f1", ["port": "80", "label": "refuse"])
        let r = try sandbox.fshost("testfixture", "monitor", "f1")
        XCTAssertEqual(r.status, 2, r.description)
        XCTAssertTrue(r.stderr.contains("refused by the plugin itself"), r.stderr)
    }

    func testDefaultsReachThePluginInCanonicalForm() throws {
        // The fixture declares hang's default as "0ms"; a plugin may write "2s".
        let schema = AttributeSchema(pluginSpecs: [AttributeSpec(name: "wait", kind: .duration, defaultValue: "2s")])
        XCTAssertEqual(try schema.resolve([:]).get()["wait"], "2000ms")
    }

    // MARK: Monitor: levels, retries, exclusive fallback

    func testMonitorLevelsAndExclusiveFromLowestLevel() throws {
        let marker = sandbox.path("marker")
        try define("testfixture", "f1", ["port": "80", "marker": marker])
        XCTAssertEqual(try sandbox.fshost("testfixture", "monitor", "f1").status, 1, "stopped: not running")
        XCTAssertEqual(try sandbox.fshost("testfixture", "exclusive", "f1").status, 1)
        XCTAssertEqual(try sandbox.fshost("testfixture", "start", "f1").status, 0)
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker))
        XCTAssertEqual(try sandbox.fshost("testfixture", "monitor", "f1").status, 0)
        XCTAssertEqual(try sandbox.fshost("testfixture", "exclusive", "f1").status, 4, "running here")
        XCTAssertEqual(try sandbox.fshost("testfixture", "stop", "f1").status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    func testRetriesLetOneTransientFailurePass() throws {
        try define("testfixture", "flaky", ["port": "80", "fail_probes": "1", "retries": "1", "retry_interval": "100ms"])
        let r = try sandbox.fshost("testfixture", "monitor", "flaky", "--level", "2")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertTrue(r.stderr.contains("probe 1 failed"), r.stderr)
    }

    func testPersistentFailureFailsAfterEveryRetry() throws {
        try define("testfixture", "broken", ["port": "80", "fail_probes": "100", "retries": "2", "retry_interval": "100ms"])
        let r = try sandbox.fshost("testfixture", "monitor", "broken", "--level", "2")
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertTrue(r.stderr.contains("flaky probe 3 of 100"), "three probes made: \(r.stderr)")
    }

    /// A configuration answer (HA_INVAL_ARGS, HA_NOTSUPPORTED, HA_NOCFGINFO)
    /// says what no retry changes: it is the monitor's answer at once.
    func testAConfigurationAnswerIsNotRetried() throws {
        for (status, name) in [(2, "HA_INVAL_ARGS"), (5, "HA_NOTSUPPORTED"), (6, "HA_NOCFGINFO")] {
            try define("testfixture", "conf\(status)", ["port": "80", "fail_probes": "100", "fail_status": String(status),
                                                        "retries": "3", "retry_interval": "500ms"])
            let r = try sandbox.fshost("testfixture", "monitor", "conf\(status)", "--level", "2")
            XCTAssertEqual(r.status, Int32(status), r.description)
            XCTAssertTrue(r.stderr.contains(name) && r.stderr.contains("flaky probe 1 of 100"), r.stderr)
            XCTAssertFalse(r.stderr.contains("retrying"), "\(name) is not retried: \(r.stderr)")
            XCTAssertLessThan(r.milliseconds, 450, r.description)
        }
    }

    func testWithoutRetriesOneFailureFails() throws {
        try define("testfixture", "once", ["port": "80", "fail_probes": "1", "retries": "0"])
        XCTAssertEqual(try sandbox.fshost("testfixture", "monitor", "once", "--level", "2").status, 3)
    }

    // MARK: Timeouts and the lock

    func testHungActionEndsAtItsTimeoutAndReleasesTheLock() throws {
        try define("testfixture", "hung", ["port": "80", "hang": "31234ms", "monitor_timeout": "1s"])
        let r = try sandbox.fshost("testfixture", "monitor", "hung")
        XCTAssertEqual(r.status, 8, r.description)
        XCTAssertLessThan(r.milliseconds, 5000, "ends at its deadline, not after 30 s")
        XCTAssertTrue(r.stderr.contains("did not finish within 1000 ms"), r.stderr)
        // The `sleep` the action spawned was killed with its process group.
        XCTAssertEqual(try sandbox.fshost("exec2", "-s", "0", "-t", "sleep 31.234").status, 1, "no sleep left behind")
        // The lock was released: the next action on the resource runs at once.
        let next = try sandbox.fshost("testfixture", "validate", "hung")
        XCTAssertEqual(next.status, 0, next.description)
        XCTAssertLessThan(next.milliseconds, 1000)
    }

    func testPluginHungInItsOwnCodeIsAbandonedAtTheDeadline() throws {
        try define("testfixture", "stuck", ["port": "80", "hang": "30s", "hang_in_process": "true"])
        let r = try sandbox.fshost("testfixture", "start", "stuck", "--timeout", "1s")
        XCTAssertEqual(r.status, 8, r.description)
        XCTAssertLessThan(r.milliseconds, 5000)
        XCTAssertTrue(r.stderr.contains("in the plugin"), r.stderr)
        let next = try sandbox.fshost("testfixture", "validate", "stuck")
        XCTAssertEqual(next.status, 0, "lock released: \(next)")
    }

    func testCommandLineTimeoutOverridesTheResource() throws {
        try define("testfixture", "hung", ["port": "80", "hang": "30s"])
        let r = try sandbox.fshost("testfixture", "monitor", "hung", "--timeout", "300ms")
        XCTAssertEqual(r.status, 8)
        XCTAssertLessThan(r.milliseconds, 3000)
    }

    func testActionsOnOneResourceAreSerialised() throws {
        try define("testfixture", "busy", ["port": "80", "hang": "3s"])
        nonisolated(unsafe) let sandbox = self.sandbox!
        let first = Thread { _ = try? sandbox.fshost("testfixture", "start", "busy", "--timeout", "10s") }
        first.start()
        Thread.sleep(forTimeInterval: 0.7)
        // The second action waits for the lock until its own deadline.
        let second = try sandbox.fshost("testfixture", "validate", "busy", "--timeout", "500ms")
        XCTAssertEqual(second.status, 8, second.description)
        XCTAssertTrue(second.stderr.contains("waiting for the resource lock"), second.stderr)
        Thread.sleep(forTimeInterval: 3)
    }

    // MARK: Declared processes, enforced by the host

    func testHostStopsDeclaredProcessesThePluginLeftBehind() throws {
        let tag = "4\(Int.random(in: 100000...999999))"
        try define("testfixture", "proc", ["port": "80", "command": "[\"sleep\",\"\(tag)\"]", "process_name": "sleep"])
        var r = try sandbox.fshost("testfixture", "start", "proc")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertEqual(try sandbox.fshost("exec2", "-s", "0", "-t", tag).status, 0, "the declared process runs")
        // The fixture's stop does not touch the process: the host must.
        r = try sandbox.fshost("testfixture", "stop", "proc")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertTrue(r.stderr.contains("TERM"), "escalation is reported: \(r.stderr)")
        XCTAssertEqual(try sandbox.fshost("exec2", "-s", "0", "-t", tag).status, 1, "the process is gone")
    }

    func testMonitorSuccessWithDeclaredProcessMissingIsAFailure() throws {
        let tag = "5\(Int.random(in: 100000...999999))"
        try define("testfixture", "proc", ["port": "80", "command": "[\"sleep\",\"\(tag)\"]", "process_name": "sleep"])
        let started = try sandbox.fshost("testfixture", "start", "proc")
        XCTAssertEqual(started.status, 0, started.description)
        let healthy = try sandbox.fshost("testfixture", "monitor", "proc")
        XCTAssertEqual(healthy.status, 0, healthy.description)
        XCTAssertEqual(try sandbox.fshost("exec2", "-s", "KILL", "-t", tag).status, 0)
        Thread.sleep(forTimeInterval: 0.2)
        let r = try sandbox.fshost("testfixture", "monitor", "proc")
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertTrue(r.stderr.contains("declared process sleep"), r.stderr)
    }

    // MARK: The CDB

    func testCorruptCDBIsAClearError() throws {
        try "this is not a database\n".write(toFile: sandbox.cdb, atomically: true, encoding: .utf8)
        let r = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertEqual(r.status, 6, r.description)
        XCTAssertTrue(r.stderr.contains(sandbox.cdb), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
    }

    func testMissingCDBIsAClearError() throws {
        let r = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertEqual(r.status, 6, r.description)
        XCTAssertTrue(r.stderr.contains(sandbox.cdb), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.cdb), "a read never creates the CDB")
    }
}
