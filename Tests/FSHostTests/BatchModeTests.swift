import CDB
import Foundation
import TestSupport
import XCTest

/// FailSafe's batch mode (issue 13): `fshost <type> <action> --infile IN
/// --outfile OUT [--paramfile P]` and `IN OUT [P]`, as ha_srmd calls an
/// action script: one output line per input line, in input order, never
/// missing, whatever one resource's plugin does.
final class BatchModeTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws { sandbox = try HostSandbox() }

    override func tearDown() {
        _ = try? sandbox.fshost("exec2", "-s", "KILL", "-t", sandbox.root.path)
        sandbox = nil
    }

    func write(_ name: String, _ text: String) throws -> String {
        let path = sandbox.path(name)
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }

    func lines(_ path: String) throws -> [String] {
        try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            .dropLast().map(String.init)
    }

    /// 50 resources, one hung (timeout 3 s) and one crashing, among 48
    /// templates: 50 lines in input order, HA_TIMEDOUT for the hung one,
    /// HA_CMD_FAILED for the crashed one, HA_SUCCESS for the rest, all
    /// within the hung one's timeout (plus what starting 50 children costs).
    func testFiftyResourcesOneHungOneCrashed() throws {
        var names: [String] = []
        for i in 0..<50 {
            let name = "r\(i)"
            names.append(name)
            switch i {
            case 17: try sandbox.store("testfixture", name, ["port": "80", "hang": "60s", "monitor_timeout": "3s"])
            case 33: try sandbox.store("testfixture", name, ["port": "80", "fault": "crash"])
            default: try sandbox.store("template", name, [:])
            }
        }
        // One type per call, as srmd calls: the templates, then the fixtures.
        let templates = names.enumerated().filter { $0.offset != 17 && $0.offset != 33 }.map(\.element)
        let input = try write("in", templates.map { $0 + " 0\n" }.joined())
        let out = sandbox.path("out")
        var r = try sandbox.fshost("template", "monitor", "--infile", input, "--outfile", out)
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertEqual(try lines(out), templates.map { $0 + " 0" })

        // All 50 through one type's batch: the fixtures answer for
        // themselves, the templates (not this type) answer HA_NOCFGINFO.
        let all = try write("all", names.map { $0 + " flag1 flag2\n" }.joined())
        r = try sandbox.fshost("testfixture", "monitor", "--infile", all, "--outfile", out, "--parallel", "8")
        let got = try lines(out)
        XCTAssertEqual(got.count, 50, r.description)
        XCTAssertEqual(got.map { String($0.split(separator: " ")[0]) }, names, "input order")
        XCTAssertEqual(got[17], "r17 8", "hung: HA_TIMEDOUT; \(r.stderr)")
        XCTAssertEqual(got[33], "r33 3", "crashed: HA_CMD_FAILED; \(r.stderr)")
        XCTAssertLessThan(r.milliseconds, 3000 + 2500, "the batch waits only for the hung one's own timeout")
        XCTAssertEqual(r.status, 6, "the first non-zero line's status (r0: not a testfixture resource)")

        // Templates and the two faulty ones in one call of the fixture type
        // with the templates defined as fixtures too: 48 × 0, 8, 3.
        for (i, name) in names.enumerated() where i != 17 && i != 33 {
            try sandbox.store("testfixture", name, ["port": "80"])
        }
        r = try sandbox.fshost("testfixture", "monitor", all, out)   // the positional form
        let statuses = try lines(out).map { String($0.split(separator: " ")[1]) }
        XCTAssertEqual(statuses.count, 50, r.description)
        for (i, status) in statuses.enumerated() {
            XCTAssertEqual(status, i == 17 ? "8" : i == 33 ? "3" : "0", "line \(i + 1); \(r.stderr)")
        }
        XCTAssertLessThan(r.milliseconds, 3000 + 2500)
        XCTAssertEqual(r.status, 8, "the first non-zero line's status")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: sandbox.root.path).filter { $0.hasPrefix(".out.tmp") }
        XCTAssertEqual(leftovers, [], "no temporary file left beside OUT")
    }

    /// Malformed lines get a failure line (HA_INVAL_ARGS, 2) each, the rest
    /// still run; a blank line or a missing name is an empty name.
    func testMalformedLinesGetFailureLinesAndTheRestRun() throws {
        for name in ["a", "b", "c"] { try sandbox.store("template", name, [:]) }
        let input = try write("in", "a x\nb\n\n c\nb\nc 1 2 3 4 5 6 7\nbad/name\na 1 2 3 4 5 6 7 8\nnope")
        let out = sandbox.path("out")
        let r = try sandbox.fshost("template", "start", "--infile", input, "--outfile", out, "--paramfile",
                                   try write("p", "ClusterName lab\n"))
        XCTAssertEqual(try lines(out), ["a 0", "b 2", "\"\" 2", "\"\" 2", "b 2", "c 0", "bad/name 2", "a 2", "nope 6"],
                       r.stderr)
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("line 2: resource 'b' is listed 2 times"), r.stderr)
        XCTAssertTrue(r.stderr.contains("line 8: 9 fields (at most 8"), r.stderr)
    }

    /// An output directory that cannot be written: one line naming it,
    /// HA_HOST_ERROR (9), and nothing run. A missing input file or a bad
    /// option: HA_INVAL_ARGS (2), no OUT.
    func testUnwritableOutputAndBadCallsRunNothing() throws {
        try sandbox.store("testfixture", "m", ["port": "80", "marker": sandbox.path("marker")])
        let input = try write("in", "m\n")
        var r = try sandbox.fshost("testfixture", "start", input, "/nonexistent/dir/out")
        XCTAssertEqual(r.status, 9, r.description)
        XCTAssertTrue(r.stderr.contains("cannot use output file /nonexistent/dir/out: directory /nonexistent cannot be inspected"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.path("marker")), "nothing may run")

        let open = sandbox.path("open")
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o777])
        try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: open)
        r = try sandbox.fshost("testfixture", "start", input, open + "/out")
        XCTAssertEqual(r.status, 9, r.description)
        XCTAssertTrue(r.stderr.contains("unsafe output file \(open)/out: directory \(open) is writable by others"), r.stderr)

        let out = sandbox.path("out")
        for (arguments, message) in [
            (["testfixture", "start", sandbox.path("missing"), out], "cannot read input file"),
            (["testfixture", "start", "--infile", input], "needs the output file"),
            (["testfixture", "bogus", input, out], "unknown action 'bogus'"),
            (["testfixture", "start", input, out, "--parallel", "0"], "--parallel"),
            (["testfixture", "start", input, out, "--timeout", "soon"], "--timeout"),
            (["testfixture", "start", input, out, "--json"], "--json is not available"),
        ] {
            r = try sandbox.fshost(arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.description)")
            XCTAssertTrue(r.stderr.contains(message), "\(arguments): \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.path("marker")), "nothing may run")
    }

    /// `--parallel 1` runs one resource at a time: two 1 s hangs take 2 s;
    /// `--parallel 2` overlaps them.
    func testParallelBound() throws {
        for name in ["h1", "h2"] { try sandbox.store("testfixture", name, ["port": "80", "hang": "1s"]) }
        let input = try write("in", "h1\nh2\n")
        let out = sandbox.path("out")
        var r = try sandbox.fshost("testfixture", "monitor", input, out, "--parallel", "1")
        XCTAssertEqual(try lines(out), ["h1 0", "h2 0"], r.stderr)
        XCTAssertGreaterThanOrEqual(r.milliseconds, 2000)
        r = try sandbox.fshost("testfixture", "monitor", input, out, "--parallel", "2")
        XCTAssertEqual(try lines(out), ["h1 0", "h2 0"], r.stderr)
        XCTAssertLessThan(r.milliseconds, 1900)
    }

    /// srmd ending the batch with TERM: the running resources' workers are
    /// killed with what they started (each answers HA_CMD_FAILED), the ones not
    /// started answer HA_CMD_FAILED, OUT is still written whole, the batch
    /// answers 3, and none of the hung commands is left.
    func testTermEndsTheBatchAndOutIsStillWhole() throws {
        for name in ["h1", "h2", "h3"] {
            try sandbox.store("testfixture", name, ["port": "80", "hang": "31777ms", "monitor_timeout": "60s"])
        }
        let input = try write("in", "h1\nh2\nh3\n")
        let out = sandbox.path("out")
        let stderr = try terminate(["testfixture", "monitor", input, out, "--parallel", "2"], whenRunning: "sleep 31.777", count: 2)
        XCTAssertEqual(try lines(out), ["h1 3", "h2 3", "h3 3"], stderr)
    }

    /// The batch killed outright (SIGKILL, no chance to answer): each
    /// resource's worker sees its lifeline hang up (the batch was its
    /// supervisor) and ends with what it started. OUT does not appear (a SIGKILL can leave
    /// only the temporary `.out.tmp.PID` beside it, which srmd never reads).
    func testKilledBatchLeavesNoActionRunning() throws {
        for name in ["k1", "k2"] {
            try sandbox.store("testfixture", name, ["port": "80", "hang": "32345ms", "monitor_timeout": "60s"])
        }
        let input = try write("in", "k1\nk2\n")
        let out = sandbox.path("out")
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["testfixture", "monitor", input, out]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { processes(containing: "sleep 32.345").count == 2 },
                      "the resources did not start their commands")
        kill(host.pid, SIGKILL)
        _ = host.wait(milliseconds: 5000)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { processes(containing: "sleep 32.345").isEmpty },
                      "a resource's command outlived the killed batch")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "OUT appears whole or not at all")
    }
}
