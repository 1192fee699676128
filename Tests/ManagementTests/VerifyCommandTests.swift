import Foundation
import TestSupport
import XCTest

/// `fshost verify` end to end with AdminCommandTests' sandbox: the built
/// admin tool drives real `fshost` actions on plugins of this build — the
/// template and an honest `sleeper` pass; one plugin per lie
/// (Tests/Plugins/Liar*, on LiarKit's SleeperType) is caught, the lie
/// named, status 3; bad input gets one line and a documented status.
extension AdminCommandTests {
    /// A number no other test's `sleep` carries: the declared process's argument.
    func sleepToken() -> String { "3600.\(getpid())\(Int.random(in: 10_000...99_999))" }

    /// Defines `type`/`name` as a sleeper on a fresh token and marker.
    func defineSleeper(_ type: String, _ name: String = "s1") throws -> (token: String, marker: String) {
        let token = sleepToken(), marker = directory + "/\(type)-\(name).marker"
        try ok(["cdb", "define", type, name, "token=\(token)", "marker=\(marker)"])
        return (token, marker)
    }

    /// The pids of `sleep TOKEN` (ours: killed in the test's cleanup).
    func sleepers(_ token: String) -> [Int32] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).filter { pid in
            guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
            return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) } == ["sleep", token]
        }
    }

    /// `verify TYPE NAME --json`, parsed; kills any `sleep TOKEN` left.
    func verifyJSON(_ type: String, _ name: String = "s1", token: String? = nil,
                    file: StaticString = #filePath, line: UInt = #line) throws -> (Run, [String: Any]) {
        defer { if let token { for pid in sleepers(token) { kill(pid, SIGKILL) } } }
        let result = try run(["verify", type, name, "--json"])
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any],
                                   "not one JSON object: \(result.stdout) \(result.stderr)", file: file, line: line)
        if let token { XCTAssertEqual(sleepers(token), [], "verify left sleep \(token) running", file: file, line: line) }
        return (result, report)
    }

    func lies(_ report: [String: Any]) -> [String] {
        (report["lies"] as? [[String: Any]] ?? []).compactMap { $0["lie"] as? String }
    }

    func step(_ report: [String: Any], _ name: String) -> [String: Any]? {
        (report["steps"] as? [[String: Any]])?.first { $0["step"] as? String == name }
    }

    // MARK: Good plugins pass

    func testVerifyPassesAnHonestSleeper() throws {
        let (token, marker) = try defineSleeper("sleeper")
        let (result, report) = try verifyJSON("sleeper", token: token)
        XCTAssertEqual(result.status, 0, "\(result.stdout) \(result.stderr)")
        XCTAssertEqual(result.stderr, "", "nothing on stderr when it holds")
        XCTAssertEqual(report["holds"] as? Bool, true)
        XCTAssertEqual(lies(report), [])
        let steps = try XCTUnwrap(report["steps"] as? [[String: Any]])
        XCTAssertEqual(steps.map { $0["step"] as? String ?? "" }, [
            "ELF checks", "descriptor", "stop (to begin stopped)", "monitor (stopped)", "exclusive (stopped)", "start",
            "level 2 right after start", "start again", "level 1 (process)", "level 2 (answers)", "exclusive (running)",
            "stop", "stop again", "monitor (stopped again)", "exclusive (stopped again)", "restart",
            "monitor after restart", "stop (to end stopped)"])
        XCTAssertTrue(steps.allSatisfy { $0["result"] as? String == "passed" }, result.stdout)
        XCTAssertEqual(step(report, "exclusive (running)")?["answer"] as? String, "HA_RUNNING")
        XCTAssertEqual(step(report, "monitor (stopped)")?["answer"] as? String, "HA_NOT_RUNNING")
        XCTAssertEqual(step(report, "level 2 right after start")?["runs"] as? String, "monitor --level 2 --retries 0")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "verify ends stopped")
    }

    /// The template is a seed, not a conformant type: its one level, named
    /// "none", answers success whatever runs and its exclusive always says
    /// not running. The name buys no exemption: every step runs and both
    /// lies are named.
    func testVerifyFailsTheTemplateNamingItsLies() throws {
        try ok(["cdb", "define", "template", "t1"])
        let (result, report) = try verifyJSON("template", "t1")
        XCTAssertEqual(result.status, 3, "\(result.stdout) \(result.stderr)")
        XCTAssertEqual(lies(report), ["monitor always says success", "exclusive always says not running"], result.stdout)
        XCTAssertFalse((report["steps"] as? [[String: Any]] ?? []).contains { $0["result"] as? String == "skipped" },
                       "nothing skipped: \(result.stdout)")
    }

    /// The reviewer's plugin: a single level named "none", monitor always
    /// success, exclusive always not running (a cluster would start it
    /// twice). It passed verify (14 passed, 3 skipped); now both lies are named.
    func testVerifyCatchesALoneNoneLevelThatLies() throws {
        try ok(["cdb", "define", "liarnone", "n1"])
        let (result, report) = try verifyJSON("liarnone", "n1")
        XCTAssertEqual(result.status, 3, "\(result.stdout) \(result.stderr)")
        XCTAssertEqual(report["holds"] as? Bool, false)
        XCTAssertEqual(step(report, "monitor (stopped)")?["lie"] as? String, "monitor always says success")
        XCTAssertEqual(step(report, "exclusive (running)")?["lie"] as? String, "exclusive always says not running")
        XCTAssertEqual(report["failed_step"] as? String, "monitor (stopped)")
        XCTAssertTrue(result.stderr.contains("exclusive always says not running (step 'exclusive (running)')"), result.stderr)
    }

    // MARK: Each lie is caught and named

    func assertCaught(_ type: String, _ lie: String, by stepName: String,
                      file: StaticString = #filePath, line: UInt = #line) throws {
        let (token, _) = try defineSleeper(type)
        let (result, report) = try verifyJSON(type, token: token, file: file, line: line)
        XCTAssertEqual(result.status, 3, "HA_CMD_FAILED: \(result.stdout) \(result.stderr)", file: file, line: line)
        XCTAssertEqual(report["holds"] as? Bool, false, file: file, line: line)
        XCTAssertEqual(lies(report), [lie], "exactly this lie: \(result.stdout)", file: file, line: line)
        XCTAssertEqual((report["lies"] as? [[String: Any]])?.first?["step"] as? String, stepName, file: file, line: line)
        XCTAssertEqual(step(report, stepName)?["lie"] as? String, lie, file: file, line: line)
        XCTAssertEqual(step(report, stepName)?["result"] as? String, "failed", file: file, line: line)
        // One line on stderr naming the failing step and the lie.
        XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.hasPrefix("fshost: verify \(type)/s1: step '"), result.stderr, file: file, line: line)
        XCTAssertTrue(result.stderr.contains("lies caught: \(lie) (step '\(stepName)')"), result.stderr, file: file, line: line)
        // The rest of the sequence still ran: the resource ends stopped.
        XCTAssertEqual(step(report, "stop (to end stopped)")?["answer"] as? String, "HA_SUCCESS", file: file, line: line)
    }

    /// Success on a stopped resource: the host overrules it (the declared
    /// process is missing), and verify names the lie.
    func testVerifyCatchesAMonitorThatAlwaysSucceeds() throws {
        try assertCaught("liarmonitor", "monitor always says success", by: "monitor (stopped)")
    }

    /// The plugin's stop says success with `sleep TOKEN` still there: the
    /// host's scanner finds it and stops it, and says so; verify names it.
    func testVerifyCatchesAStopThatLeavesItsProcess() throws {
        try assertCaught("liarstop", "stop leaves its process running", by: "stop")
    }

    /// Start returns before the marker exists: the deepest level fails at
    /// once (--retries 0, no waiting).
    func testVerifyCatchesAStartThatReturnsBeforeTheResourceAnswers() throws {
        try assertCaught("liarstart", "start returns before the resource answers", by: "level 2 right after start")
    }

    func testVerifyCatchesAnExclusiveThatAlwaysSaysNotRunning() throws {
        try assertCaught("liarexclusive", "exclusive always says not running", by: "exclusive (running)")
    }

    /// Stop answers success and keeps the resource (its marker); monitor
    /// is honest: it said not running before start, so the stop is blamed,
    /// not the monitor.
    func testVerifyBlamesAStopThatKeepsTheResourceRunning() throws {
        try assertCaught("liarstopstate", "stop leaves the resource running", by: "monitor (stopped again)")
    }

    /// Start detaches `sleep TOKEN` with the SDK (its launch mark in the
    /// environment) and declares no process; stop leaves it. The host sees
    /// nothing declared; verify finds it by the mark after stop, names the
    /// lie, and ends it (verifyJSON asserts no `sleep TOKEN` is left).
    func testVerifyCatchesAStopThatLeavesAnUndeclaredMarkedProcess() throws {
        try assertCaught("liarundeclared", "stop leaves its process running", by: "stop")
        let (token, _) = try defineSleeper("liarundeclared", "s2")
        let (_, report) = try verifyJSON("liarundeclared", "s2", token: token)
        let reason = try XCTUnwrap(step(report, "stop")?["reason"] as? String)
        XCTAssertTrue(reason.contains("launch mark (FSHOST_RESOURCE=liarundeclared/s2) still run after stop: pid "), reason)
    }

    // MARK: Bad input

    func testVerifyOfAResourceNotDefinedIsNoConfigInfo() throws {
        _ = try defineSleeper("sleeper", "other")
        try fails(["verify", "sleeper", "nosuch"], status: 6, ["verify: ", "no resource 'nosuch' of type 'sleeper'"])
        let run = try self.run(["verify", "sleeper", "nosuch", "--json"])
        XCTAssertEqual(run.status, 6)
    }

    func testVerifyOfATypeNotInstalledIsNotSupported() throws {
        try fails(["verify", "nosuchtype", "r1"], status: 5, ["no plugin of type 'nosuchtype' is installed"])
        try fails(["verify", "Bad/Type", "r1"], status: 2, ["not a type name"])
        try fails(["verify", "template", "../r1"], status: 2, ["invalid resource name"])
    }

    /// A plugin file writable by others, and one that is not ELF: refused
    /// by the ELF checks step (status 7, the check named), nothing started.
    func testVerifyOfARefusedPluginIsPluginRefused() throws {
        let plugins = directory + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        chmod(plugins, 0o755)
        try ELFFixtures.copy(Self.products + "/libtemplate.so", to: plugins + "/template.so", mode: 0o666)
        try ok(["cdb", "define", "template", "t1"])
        let env = ["FSHOST_PLUGIN_PATH": plugins]
        var result = try run(executable: admin, ["verify", "template", "t1", "--json", "--cdb", path], cdb: nil,
                             input: nil, stdout: nil, environment: env)
        XCTAssertEqual(result.status, 7, "\(result.stdout) \(result.stderr)")
        XCTAssertTrue(result.stderr.contains("step 'ELF checks' answered permissions failed"), result.stderr)
        XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, result.stderr)
        var report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["failed_step"] as? String, "ELF checks")
        XCTAssertEqual((report["steps"] as? [Any])?.count, 1, "nothing ran after the refusal")

        try ELFFixtures.write(Array("#!/bin/sh\necho not a plugin\n".utf8), to: plugins + "/template.so", mode: 0o755)
        result = try run(executable: admin, ["verify", "template", "t1", "--json", "--cdb", path], cdb: nil,
                         input: nil, stdout: nil, environment: env)
        XCTAssertEqual(result.status, 7, "\(result.stdout) \(result.stderr)")
        report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["status"] as? String, "HA_PLUGIN_REFUSED")
        XCTAssertTrue(result.stderr.contains("elf-header failed"), result.stderr)
    }

    /// An insane descriptor: every problem named in one step, status 7,
    /// nothing run against the resource (which need not even be defined).
    func testVerifyOfAnInsaneDescriptorIsPluginRefused() throws {
        let result = try run(["verify", "baddescriptor", "b1", "--json"])
        XCTAssertEqual(result.status, 7, "\(result.stdout) \(result.stderr)")
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        XCTAssertEqual(report["failed_step"] as? String, "descriptor")
        XCTAssertEqual((report["steps"] as? [Any])?.count, 2, "ELF checks, descriptor, nothing more")
        let reason = try XCTUnwrap(step(report, "descriptor")?["reason"] as? String)
        for problem in ["level 1 is declared twice", "level 1 has no description (what it checks)", "level 1 has no cost",
                        "the default level 7 is not one of the levels", "attribute copies has no help text",
                        "the default of attribute copies is out of range: '500' (allowed: from 1 to 100)"] {
            XCTAssertTrue(reason.contains(problem), "'\(problem)' not in: \(reason)")
        }
        XCTAssertTrue(result.stderr.hasPrefix("fshost: verify baddescriptor/b1: step 'descriptor' answered 6 problem(s)"),
                      result.stderr)
    }

    /// Every action hangs: the first step answers HA_TIMEDOUT at its own
    /// stop_timeout (1 s, plus the supervisor's grace), the sequence ends
    /// there with status 8, naming the step; nothing waits for ever.
    func testVerifyOfAHangingPluginIsBoundedByEachStepsTimeout() throws {
        try ok(["cdb", "define", "testfixture", "h1", "port=1", "hang=60s", "stop_timeout=1s"])
        let started = Date()
        let (result, report) = try verifyJSON("testfixture", "h1")
        let elapsed = Date().timeIntervalSince(started)
        XCTAssertEqual(result.status, 8, "HA_TIMEDOUT: \(result.stdout) \(result.stderr)")
        XCTAssertLessThan(elapsed, 8, "bounded by the step's timeout")
        XCTAssertEqual(report["failed_step"] as? String, "stop (to begin stopped)")
        XCTAssertTrue(result.stderr.contains("step 'stop (to begin stopped)' answered HA_TIMEDOUT"), result.stderr)
        let steps = try XCTUnwrap(report["steps"] as? [[String: Any]])
        XCTAssertEqual(steps.filter { $0["result"] as? String == "not_run" }.count,
                       steps.count - 3, "the rest not run: \(steps.map { $0["result"] ?? "" })")
    }

    /// What verify relies on for "no waiting": `--retries 0` overrides the
    /// resource's retries on the action's command line.
    func testRetriesOptionOverridesTheResourcesRetries() throws {
        // Two resources alike (the fixture counts failed probes in its state).
        for name in ["f1", "f2"] { try ok(["cdb", "define", "testfixture", name, "port=1", "fail_probes=1", "retries=1"]) }
        let once = try fshost(["testfixture", "monitor", "f1", "--level", "2", "--retries", "0", "--json"])
        XCTAssertEqual(once.status, 3, "one probe, failing: \(once.stdout) \(once.stderr)")
        let again = try fshost(["testfixture", "monitor", "f2", "--level", "2", "--json"])
        XCTAssertEqual(again.status, 0, "the resource's retries=1: the second probe passes: \(again.stderr)")
    }

    // MARK: Output

    /// `--table` (the terminal's form): a header, one row per step with its
    /// time, and the summary; no progress or escape sequences off a terminal.
    func testVerifyTableNamesEveryStepWithItsTime() throws {
        let (token, _) = try defineSleeper("sleeper")
        defer { for pid in sleepers(token) { kill(pid, SIGKILL) } }
        let result = try run(["verify", "sleeper", "s1", "--table"])
        XCTAssertEqual(result.status, 0, result.stderr)
        let lines = result.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first?.split(separator: " ", omittingEmptySubsequences: true).prefix(6),
                       ["STEP", "RUNS", "EXPECTED", "ANSWER", "MS", "RESULT"])
        XCTAssertTrue(lines.last?.hasPrefix("sleeper/s1: the protocol holds") == true, result.stdout)
        XCTAssertTrue(lines.contains { $0.hasPrefix("start again ") && $0.contains("HA_SUCCESS") && $0.contains(" ok") },
                      result.stdout)
        XCTAssertFalse(result.stdout.contains("\u{1B}") || result.stderr.contains("\r"), "no progress off a terminal")
    }
}

/// A plugin whose entry hangs while the host loads it (`hangload` with
/// FSHOST_TEST_HANG_LOAD set): every admin command that loads a plugin
/// answers HA_TIMEDOUT (8) in one line within the load deadline (15 s),
/// where it used to hang for ever.
extension AdminCommandTests {
    /// Starts `fshost-admin ARGUMENTS` with this test's CDB, run and state
    /// directories (and `environment` over them), its output on pipes.
    func launchAdmin(_ arguments: [String], environment extra: [String: String]) throws -> (Process, Pipe, Pipe) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: admin)
        process.arguments = arguments
        var environment = ProcessInfo.processInfo.environment
        environment["FSHOST_CDB"] = path
        environment["FSHOST_RUN_DIR"] = directory + "/run"
        environment["FSHOST_STATE_DIR"] = directory + "/state"
        environment.merge(extra) { _, given in given }
        process.environment = environment
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        try process.run()
        return (process, out, err)
    }

    func testCommandsThatLoadAHangingPluginAreBounded() throws {
        let plugins = directory + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        chmod(plugins, 0o755)
        try ELFFixtures.copy(Self.products + "/libhangload.so", to: plugins + "/hangload.so", mode: 0o755)
        try ok(["cdb", "define", "template", "t1"])  // the CDB exists; hangload's resource cannot be defined
        let env = ["FSHOST_PLUGIN_PATH": plugins, "FSHOST_TEST_HANG_LOAD": "1"]
        let commands = [["verify", "hangload", "h1", "--json"], ["list", "--names"], ["describe", "hangload"],
                        ["cdb", "define", "hangload", "h1"]]
        // All four at once: the whole test waits one deadline, not four.
        let started = Date()
        let launched = try commands.map { try launchAdmin($0, environment: env) }
        let results = launched.map { process, out, err -> Run in
            let stdout = out.fileHandleForReading.readDataToEndOfFile()
            let stderr = err.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            return Run(status: process.terminationStatus, stdout: String(decoding: stdout, as: UTF8.self),
                       stderr: String(decoding: stderr, as: UTF8.self))
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 40, "bounded by the 15 s load deadline")
        for (command, result) in zip(commands, results) {
            XCTAssertEqual(result.status, 8, "\(command): \(result.stdout) \(result.stderr)")
            XCTAssertEqual(result.stderr.filter { $0 == "\n" }.count, 1, "\(command): one line: \(result.stderr)")
            XCTAssertTrue(result.stderr.contains("did not finish within 15 s"), "\(command): \(result.stderr)")
        }
    }
}

/// SIGINT, SIGTERM or SIGHUP during the sequence: the step running ends
/// (bounded by its timeout), the resource is stopped, the report so far is
/// printed with the step interrupted, and verify exits 128 + N.
extension AdminCommandTests {
    func testInterruptedVerifyStopsTheResourceAndReports() throws {
        // slowsleeper: every monitor takes 2 s, so the signal comes mid-sequence.
        let (token, marker) = try defineSleeper("slowsleeper")
        defer { for pid in sleepers(token) { kill(pid, SIGKILL) } }
        let (process, out, err) = try launchAdmin(["verify", "slowsleeper", "s1", "--json"],
                                                  environment: ["FSHOST_PLUGIN_PATH": Self.products])
        defer { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
        // Once started (its sleep runs), interrupt it.
        let deadline = Date().addingTimeInterval(30)
        while sleepers(token).isEmpty {
            guard Date() < deadline, process.isRunning else { throw SetupFailure("verify never started slowsleeper/s1") }
            Thread.sleep(forTimeInterval: 0.05)
        }
        kill(process.processIdentifier, SIGINT)
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationReason, .exit, "ends cleanly, not by the signal")
        XCTAssertEqual(process.terminationStatus, 130, "128 + SIGINT: \(stderr)")
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: stdout) as? [String: Any],
                                   "the report so far: \(String(decoding: stdout, as: UTF8.self))")
        XCTAssertEqual(report["interrupted"] as? String, "SIGINT")
        let interrupted = (report["steps"] as? [[String: Any]] ?? []).filter {
            ($0["reason"] as? String)?.hasPrefix("interrupted by SIGINT") == true
        }
        XCTAssertEqual(interrupted.count, 1, "the step interrupted is marked: \(report)")
        XCTAssertEqual(step(report, "stop (to end stopped)")?["answer"] as? String, "HA_SUCCESS", "\(report)")
        XCTAssertEqual(sleepers(token), [], "the resource is left stopped")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
        XCTAssertEqual(stderr.filter { $0 == "\n" }.count, 1, stderr)
        XCTAssertTrue(stderr.contains("interrupted by SIGINT during step '"), stderr)
    }
}
