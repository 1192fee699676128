import CDB
import Foundation
import TestSupport
import XCTest

/// The batch as every line's supervisor (its workers are its children) and its one
/// verification of the plugin (issue 13, Performance): what changed in how
/// the lines run must keep every guarantee of one call.
extension BatchModeTests {
    /// The parent pid of `pid` (`/proc/PID/stat`), or nil.
    func parent(of pid: Int32) -> Int32? {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/stat") else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let close = text.range(of: ")", options: .backwards) else { return nil }
        let fields = text[close.upperBound...].split(separator: " ")
        return fields.count > 1 ? Int32(fields[1]) : nil
    }

    /// A plugin directory of the sandbox holding a copy of the test fixture
    /// (mode `mode`), made the plugin path.
    func fixtureDirectory(mode: mode_t = 0o755) throws -> String {
        let directory = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try ELFFixtures.copy(HostSandbox.products.path + "/libtestfixture.so", to: directory + "/testfixture.so", mode: mode)
        sandbox.pluginPath = directory
        return directory
    }

    /// One fork per line: the command a line's action runs is the child of
    /// that line's worker, and the worker is the child of the batch itself
    /// (no second supervisor process between them).
    func testEachLinesWorkerIsAChildOfTheBatch() throws {
        try sandbox.store("testfixture", "w1", ["port": "80", "hang": "31999ms", "monitor_timeout": "60s"])
        let input = try write("in", "w1\n")
        let out = sandbox.path("out")
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["testfixture", "monitor", input, out]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { processes(containing: "sleep 31.999").count == 1 },
                      "the resource did not start its command")
        let command = try XCTUnwrap(processes(containing: "sleep 31.999").first)
        let worker = try XCTUnwrap(parent(of: command))
        XCTAssertEqual(parent(of: worker), host.pid, "the worker's parent is the batch")
        kill(host.pid, SIGTERM)
        let status = try XCTUnwrap(host.wait(milliseconds: 5000), "the batch did not end after TERM")
        XCTAssertEqual((status >> 8) & 0xFF, 3)
        XCTAssertEqual(try lines(out), ["w1 3"])
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) { processes(containing: "sleep 31.999").isEmpty })
    }

    /// The batch SIGKILLed while its lines run — a command spawned by the
    /// action, a plugin hung in its own code, a plugin that forked a child
    /// holding its descriptors: no worker, no plugin process and no command
    /// is left (each worker's lifeline hangs up: it holds no other
    /// worker's end of it).
    func testKilledBatchLeavesNoWorkerOrPluginProcess() throws {
        try sandbox.store("testfixture", "k1", ["port": "80", "hang": "32111ms", "monitor_timeout": "60s"])
        try sandbox.store("testfixture", "k2", ["port": "80", "hang": "60s", "hang_in_process": "true", "monitor_timeout": "60s"])
        try sandbox.store("testfixture", "k3", ["port": "80", "fault": "fork", "monitor_timeout": "60s"])
        let input = try write("in", "k1\nk2\nk3\n")
        let out = sandbox.path("out")
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["testfixture", "monitor", input, out]))
        // The batch, its three workers and k3's forked child all carry IN in their command line.
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            processes(containing: "sleep 32.111").count == 1 && processes(containing: input).count == 5
        }, "the resources did not start: \(processes(containing: input))")
        kill(host.pid, SIGKILL)
        _ = host.wait(milliseconds: 5000)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            processes(containing: "sleep 32.111").isEmpty && processes(containing: input).isEmpty
        }, "left after the batch was killed: \(processes(containing: input)) \(processes(containing: "sleep 32.111"))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "OUT appears whole or not at all")
    }

    /// The plugin is verified once, by the batch, and every line loads that
    /// very file: a file renamed over the plugin's path while the batch
    /// runs is not what its later lines load (what is checked is what is
    /// used), and is refused by the next call.
    func testLinesLoadTheFileTheBatchVerified() throws {
        let directory = try fixtureDirectory()
        try sandbox.store("testfixture", "slow", ["port": "80", "hang": "1517ms"])
        try sandbox.store("testfixture", "late", ["port": "80", "marker": sandbox.path("marker")])
        let input = try write("in", "slow\nlate\n")
        let out = sandbox.path("out")
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["testfixture", "start", input, out, "--parallel", "1"]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { !processes(containing: "sleep 1.517").isEmpty },
                      "the first resource did not start")
        let junk = directory + "/.junk"
        try Data("not a plugin\n".utf8).write(to: URL(fileURLWithPath: junk))
        chmod(junk, 0o755)
        XCTAssertEqual(rename(junk, directory + "/testfixture.so"), 0)
        let status = try XCTUnwrap(host.wait(milliseconds: 10_000), "the batch did not end")
        XCTAssertEqual((status >> 8) & 0xFF, 0, host.stderr)
        XCTAssertEqual(try lines(out), ["slow 0", "late 0"], host.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: sandbox.path("marker")), "the second line ran the verified plugin")
        let r = try sandbox.fshost("testfixture", "start", input, out)
        XCTAssertEqual(r.status, 7, "the replaced file is refused: \(r.description)")
    }

    /// A plugin that fails its checks answers every line with
    /// HA_PLUGIN_REFUSED (7), a malformed line keeps its own 2, one error
    /// line says why, and nothing is forked or run.
    func testRefusedPluginAnswersEveryLineAndRunsNothing() throws {
        _ = try fixtureDirectory(mode: 0o775)
        for name in ["a", "b"] { try sandbox.store("testfixture", name, ["port": "80", "marker": sandbox.path("marker")]) }
        let input = try write("in", "a\nb\n\n")
        let out = sandbox.path("out")
        let r = try sandbox.fshost("testfixture", "start", input, out)
        XCTAssertEqual(try lines(out), ["a 7", "b 7", "\"\" 2"], r.stderr)
        XCTAssertEqual(r.status, 7, r.description)
        XCTAssertEqual(r.stderr.components(separatedBy: "plugin refused").count - 1, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("every resource answers HA_PLUGIN_REFUSED"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.path("marker")), "nothing may run")
    }

    /// A daemon a successful start left runs on after another line of the
    /// same batch crashed (the batch kills the crashed worker's orphans,
    /// never what a start was for), and after the batch ended.
    func testStartedDaemonSurvivesAnotherLinesCrash() throws {
        let tag = "32222"
        try sandbox.store("testfixture", "d1", ["port": "80", "command": "[\"sleep\",\"\(tag)\"]", "process_name": "sleep"])
        try sandbox.store("testfixture", "c1", ["port": "80", "fault": "crash"])
        let input = try write("in", "d1\nc1\n")
        let out = sandbox.path("out")
        let r = try sandbox.fshost("testfixture", "start", input, out, "--parallel", "1")
        XCTAssertEqual(try lines(out), ["d1 0", "c1 3"], r.stderr)
        let daemons = processes(containing: "sleep \(tag)")
        XCTAssertEqual(daemons.count, 1, "the started daemon was killed with the crashed line's orphans: \(r.stderr)")
        XCTAssertEqual(try sandbox.fshost("testfixture", "stop", "d1").status, 0)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) { processes(containing: "sleep \(tag)").isEmpty })
    }

    /// A worker that stops itself (SIGSTOP: its watchdog stops with it, so
    /// only its supervisor can end it) is killed by the batch at its
    /// deadline plus the supervisor's grace and answers HA_TIMEDOUT (the
    /// grace is the one CallerDeadline leaves within the batch's timeout); the
    /// line beside it answers for itself meanwhile.
    func testFrozenWorkerIsKilledByTheBatchAtItsDeadlinePlusGrace() throws {
        try sandbox.store("testfixture", "frozen", ["port": "80", "fault": "freeze", "monitor_timeout": "1s"])
        try sandbox.store("testfixture", "fine", ["port": "80"])
        let input = try write("in", "frozen\nfine\n")
        let out = sandbox.path("out")
        let r = try sandbox.fshost("testfixture", "monitor", input, out)
        XCTAssertEqual(try lines(out), ["frozen 8", "fine 0"], r.stderr)
        XCTAssertEqual(r.status, 8, r.description)
        // The grace is the supervisor's (2.5 s), shortened to fit the
        // batch's caller timeout (CallerDeadline): after the deadline, not before.
        XCTAssertGreaterThanOrEqual(r.milliseconds, 1000, "killed before its deadline")
        XCTAssertLessThan(r.milliseconds, 1000 + 2500 + 2000, r.description)
        XCTAssertTrue(r.stderr.contains("did not finish within 1000 ms and its worker did not answer"), r.stderr)
    }
}
