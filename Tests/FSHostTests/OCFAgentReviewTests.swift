import Foundation
import TestSupport
import XCTest

/// What a reviewer found running the agent as Pacemaker does (issue 13's
/// review): a recurring monitor that trusted exclusive, stops and tracing
/// that made Pacemaker fence a node.
extension OCFAgentTests {
    /// The test-only type from the build, run as `fshost ocf testfixture`.
    func fixture(_ action: String, _ env: [String: String]) throws -> HostSandbox.Result {
        sandbox.extraEnvironment["FSHOST_PLUGIN_PATH"] = HostSandbox.products.path
        let fshost = HostSandbox.products.appendingPathComponent("fshost").path
        return try sandbox.run("/usr/bin/env", env.map { "\($0)=\($1)" } + [fshost, "ocf", "testfixture", action])
    }

    /// A resource that runs here (exclusive: running) but was not started by
    /// this node and is broken at its level: the probe (interval 0) answers
    /// 0 (it runs), a recurring monitor (interval > 0) runs the level of
    /// OCF_CHECK_LEVEL and answers 1.
    func testRecurringMonitorChecksItsLevelWithoutAStartMark() throws {
        let marker = sandbox.path("marker")
        XCTAssertTrue(FileManager.default.createFile(atPath: marker, contents: nil))
        var env = ["OCF_RESOURCE_INSTANCE": "fx", "OCF_RESKEY_port": "80", "OCF_RESKEY_marker": marker,
                   "OCF_RESKEY_fail_probes": "100", "OCF_CHECK_LEVEL": "10", "OCF_RESKEY_CRM_meta_interval": "0"]
        var r = try fixture("monitor", env)
        XCTAssertEqual(r.status, 0, "probe: it runs here; \(r.stderr)")
        XCTAssertFalse(r.stderr.contains("action=monitor level=2"), r.stderr)
        env["OCF_RESKEY_CRM_meta_interval"] = "10000"
        r = try fixture("monitor", env)
        XCTAssertEqual(r.status, 1, "recurring: broken at level 2; \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("action=monitor level=2 status=HA_CMD_FAILED"), r.stderr)
        // Not running here at all: 7 for both.
        try FileManager.default.removeItem(atPath: marker)
        XCTAssertEqual(try fixture("monitor", env).status, 7)
    }

    /// resource-agents' rule for stop: a configuration that cannot be
    /// resolved (a missing required parameter, the type not installed) is
    /// 0 when the instance was never started on this node, else the error.
    func testStopWithAnUnresolvableConfigurationIsSuccessWhenNeverStarted() throws {
        let marker = sandbox.path("marker")
        var env = ["OCF_RESOURCE_INSTANCE": "fx", "OCF_RESKEY_marker": marker]
        var r = try fixture("stop", env)
        XCTAssertEqual(r.status, 0, "never started, port missing: nothing to stop; \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("never started on this node"), r.stderr)
        env["OCF_RESKEY_port"] = "80"
        XCTAssertEqual(try fixture("start", env).status, 0)
        env["OCF_RESKEY_port"] = nil
        r = try fixture("stop", env)
        XCTAssertEqual(r.status, 6, "started here: the error stands; \(r.stderr)")
        env["OCF_RESKEY_port"] = "80"
        XCTAssertEqual(try fixture("stop", env).status, 0)
        let fshost = HostSandbox.products.appendingPathComponent("fshost").path
        sandbox.extraEnvironment["OCF_RESOURCE_INSTANCE"] = "gone1"
        r = try sandbox.run(fshost, ["ocf", "nosuchtype", "stop"])
        XCTAssertEqual(r.status, 0, "type not installed, never started: \(r.description)")
        r = try sandbox.run(fshost, ["ocf", "nosuchtype", "start"])
        XCTAssertEqual(r.status, 5, r.description)
    }

    /// ocf-shellfuncs' own keys (trace_ra, trace_file, trace_dir) and
    /// Pacemaker's CRM_meta_* are never a type's attributes.
    func testTraceAndMetaKeysAreIgnored() throws {
        let env = ["OCF_RESOURCE_INSTANCE": "tr1", "OCF_RESKEY_trace_ra": "1", "OCF_RESKEY_trace_file": "/tmp/x",
                   "OCF_RESKEY_trace_dir": "/tmp", "OCF_RESKEY_CRM_meta_notify": "false"]
        for action in ["validate-all", "start", "monitor", "stop"] {
            let r = try ocf("template", action, env)
            XCTAssertEqual(r.status, 0, "\(action): \(r.stderr)")
        }
    }

    /// A worker that freezes (SIGSTOP: only the supervisor can end it): the
    /// final answer still comes before OCF_RESKEY_CRM_meta_timeout, the
    /// action's deadline being the caller's less margin and grace.
    func testFrozenWorkerAnswersBeforeTheCallersTimeout() throws {
        let env = ["OCF_RESOURCE_INSTANCE": "frz", "OCF_RESKEY_port": "80", "OCF_RESKEY_fault": "freeze",
                   "OCF_RESKEY_CRM_meta_timeout": "5000"]
        let r = try fixture("start", env)
        XCTAssertEqual(r.status, 1, r.description)
        XCTAssertLessThan(r.milliseconds, 5000, r.description)
        XCTAssertGreaterThan(r.milliseconds, 3000, "the action had its 3563 ms; \(r.description)")
    }

    /// A secret's value put in the wrong attribute (the password as the
    /// port): the schema's message names the attribute, never the value.
    func testSecretValueInAnotherAttributeIsRedacted() throws {
        let value = "Sup3rS3cretValue"
        var env = ["OCF_RESOURCE_INSTANCE": "sec", "OCF_RESKEY_password": value, "OCF_RESKEY_port": value]
        var r = try fixture("validate-all", env)
        XCTAssertEqual(r.status, 2, r.description)
        XCTAssertFalse(r.stderr.contains(value), r.stderr)
        XCTAssertTrue(r.stderr.contains("(secret)") && r.stderr.contains("port"), r.stderr)
        env["OCF_RESKEY_password"] = "abc"
        env["OCF_RESKEY_port"] = "abc"
        r = try fixture("validate-all", env)
        XCTAssertEqual(r.status, 2, r.description)
        XCTAssertFalse(r.stderr.contains("'abc'"), r.stderr)
        XCTAssertTrue(r.stderr.contains("text withheld"), r.stderr)
    }
}
