import CDB
import Foundation
import TestSupport
import XCTest

/// Nothing started for fshost outlives it (issue 7, item 3), on the two
/// paths that were left: `fshost exec2 TIMEOUT RETRIES COMMAND` runs its
/// tries in a supervised worker like an action, and the admin tool's
/// fshost children (`cdb delete`'s exclusive, `verify`'s steps) die with it.
final class NothingOutlivesTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
    }

    override func tearDown() {
        _ = try? sandbox.fshost("exec2", "-s", "KILL", "-t", sandbox.root.path)
        sandbox = nil
    }

    /// A unique `sleep` duration: the marker of one test's commands.
    func marker() -> String { "0.\(Int.random(in: 100_000_000...999_999_999))" }

    // MARK: exec2 ended in any way: what it started ends with it

    /// `exec2 10 0 sh -c "sleep 2; exec sleep 30 MARKER"`, exec2 ended 0.5 s
    /// in: 2.5 s later nothing with the marker runs (before: it ran on).
    func endDuringExec2(_ end: (Int32) -> Void, expectStatus: Int32?) throws {
        let marker = marker()
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["exec2", "10", "0", "sh", "-c", "sleep 2; exec sleep 30 \(marker)"]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { !processes(containing: marker).isEmpty },
                      "the command did not run")
        usleep(300_000)
        end(host.pid)
        let status = try XCTUnwrap(host.wait(milliseconds: 5000), "exec2 did not end")
        if let expectStatus {
            XCTAssertEqual(status & 0x7F, 0, "answered, not killed by the signal")
            XCTAssertEqual((status >> 8) & 0xFF, expectStatus, host.stderr)
            XCTAssertEqual(host.stderr, "exec2: received \(Self.signalNames[expectStatus - 128] ?? "?"); sh and every process it started were killed\n")
        }
        usleep(2_500_000)   // past the `sleep 2` of the command
        XCTAssertEqual(processes(containing: marker), [], "exec2's command outlived it")
    }

    func testExec2KilledWithSIGKILLLeavesNothingRunning() throws {
        try endDuringExec2({ kill($0, SIGKILL) }, expectStatus: nil)
    }

    func testExec2EndedWithSIGTERMKillsItsCommandAndAnswers143() throws {
        try endDuringExec2({ kill($0, SIGTERM) }, expectStatus: 128 + SIGTERM)
    }

    func testExec2EndedWithSIGHUPOrSIGINTKillsItsCommandAndAnswers128PlusN() throws {
        try endDuringExec2({ kill($0, SIGHUP) }, expectStatus: 128 + SIGHUP)
        try endDuringExec2({ kill($0, SIGINT) }, expectStatus: 128 + SIGINT)
    }

    static let signalNames: [Int32: String] = [SIGTERM: "SIGTERM", SIGHUP: "SIGHUP", SIGINT: "SIGINT"]

    func testExec2ProcessGroupKilledLeavesNothingRunning() throws {
        // LaunchedHost makes exec2 the leader of its own group (setsid's case).
        try endDuringExec2({ kill(-$0, SIGKILL) }, expectStatus: nil)
    }

    /// At TIMEOUT, a process that left the command's group (setsid) holding
    /// the caller's stdout is killed too: the caller reads end of file at
    /// the timeout, not when the leftover ends (before: 2 s later, and it ran on).
    func testExec2TimeoutKillsWhatLeftTheGroupAndDoesNotBlockTheCaller() throws {
        let marker = marker()
        let t0 = ProcessFixtures.now()
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["exec2", "1", "0", "sh", "-c",
                                                        "setsid sh -c 'sleep 30 \(marker)' & sleep 5"]))
        XCTAssertNotNil(host.readStdoutToEnd(milliseconds: 1800), "the caller's pipe is still held after the timeout")
        let status = try XCTUnwrap(host.wait(milliseconds: 3000))
        XCTAssertLessThan(ProcessFixtures.now() - t0, 1.9)
        XCTAssertEqual((status >> 8) & 0xFF, 8, "HA_TIMEDOUT: \(host.stderr)")
        XCTAssertEqual(host.stderr, "exec2: sh timed out after 1 s (try 1 of 1); it and every process it started were killed\n")
        XCTAssertEqual(processes(containing: marker), [])
    }

    /// A try that succeeds keeps what it started (a start command's daemon).
    func testExec2SuccessKeepsWhatItStarted() throws {
        let marker = marker()
        let r = try sandbox.fshost("exec2", "5", "0", "sh", "-c", "setsid sleep 30 \(marker) >/dev/null 2>&1 < /dev/null &")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 2000) { !processes(containing: marker).isEmpty })
        _ = try sandbox.fshost("exec2", "-s", "KILL", "-t", marker)
    }

    // MARK: the admin tool killed: its fshost children die with it

    func define(_ resource: String, _ attributes: [String: String]) throws {
        try sandbox.store("testfixture", resource, ["port": "1"].merging(attributes) { $1 })
    }

    /// `cdb delete` runs `fshost testfixture exclusive R`, which hangs in a
    /// spawned `sleep`; the admin tool killed 1 s in: neither the exclusive
    /// nor its sleep runs on (before: both did, holding the resource's lock).
    func testKilledCdbDeleteLeavesNoExclusiveRunning() throws {
        let name = "hg\(Int.random(in: 100_000...999_999))"
        // Whole seconds: the fixture runs `sleep` with the hang as a Double
        // ("237.0"), whose text a fraction could make long.
        let seconds = Int.random(in: 200...999)
        let hang = "\(seconds).0"
        try define(name, ["hang": "\(seconds)s", "exclusive_timeout": "30s"])
        let admin = try XCTUnwrap(LaunchedHost(sandbox, ["cdb", "delete", "testfixture", name]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { !processes(containing: "sleep \(hang)").isEmpty },
                      "the exclusive did not run: \(admin.stderr)")
        kill(admin.pid, SIGKILL)
        XCTAssertNotNil(admin.wait(milliseconds: 5000))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) {
            processes(containing: "sleep \(hang)").isEmpty && processes(containing: "exclusive \(name)").isEmpty
        }, "left running: \(processes(containing: "sleep \(hang)") + processes(containing: "exclusive \(name)"))")
    }

    /// `verify` killed during its start step, whose command is
    /// `sh -c "sleep 2; exec sleep 30 MARKER"` (the webserver's
    /// `sleep 2; exec nginx`): 2.5 s later nothing with the marker runs.
    func testKilledVerifyLeavesNoStartCommandRunning() throws {
        let marker = marker()
        try define("v1", ["command": "[\"sh\",\"-c\",\"sleep 2; exec sleep 30 \(marker)\"]", "process_name": "sleep"])
        let admin = try XCTUnwrap(LaunchedHost(sandbox, ["verify", "testfixture", "v1"]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 10_000) { !processes(containing: marker).isEmpty },
                      "the start step did not run: \(admin.stderr)")
        usleep(200_000)
        kill(admin.pid, SIGKILL)
        XCTAssertNotNil(admin.wait(milliseconds: 5000))
        usleep(2_500_000)
        XCTAssertEqual(processes(containing: marker), [], "verify's start command outlived it")
    }
}
