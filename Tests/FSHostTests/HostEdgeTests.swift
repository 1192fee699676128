import CDB
import Foundation
import TestSupport
import XCTest

/// Cases a reviewer found by trying the hardened host as an attacker and an
/// unlucky operator would (issue 7): a CDB another process keeps locked, a
/// short secret, a full state disk, a plugin's child that keeps the lock
/// file's descriptor.
final class HostEdgeTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
    }

    override func tearDown() {
        _ = try? sandbox.fshost("exec2", "-s", "KILL", "-t", sandbox.root.path)
        sandbox = nil
    }

    func define(_ resource: String, _ attributes: [String: String]) throws {
        try sandbox.store("testfixture", resource, ["port": "80"].merging(attributes) { $1 })
    }

    /// A CDB another process holds locked is waited for no longer than the
    /// action's timeout, and then the answer is "timed out" (8), not a
    /// 10 s wait ending in "no configuration" (6).
    func testALockedCDBIsWaitedForNoLongerThanTheTimeout() throws {
        try define("t1", [:])
        let holder = Process()
        holder.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        holder.arguments = ["python3", "-c", """
            import sqlite3, sys, time
            c = sqlite3.connect(sys.argv[1], isolation_level=None)
            c.execute('pragma locking_mode=exclusive')
            c.execute('begin exclusive')
            c.execute('select count(*) from sqlite_master').fetchall()
            print('locked', flush=True)
            time.sleep(20)
            """, sandbox.cdb]
        let out = Pipe()
        holder.standardOutput = out
        try holder.run()
        defer { holder.terminate(); holder.waitUntilExit() }
        let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
        guard line.hasPrefix("locked") else { throw SetupFailure("python3 could not lock \(sandbox.cdb): '\(line)'") }
        // The CDB's snapshot (unchanged database files) answers without SQLite's lock.
        let fast = try sandbox.fshost("testfixture", "monitor", "t1", "--timeout", "1", "--json")
        XCTAssertEqual(fast.status, 0, fast.description)
        // Without it (a CDB written by other means) SQLite must wait.
        try FileManager.default.removeItem(atPath: sandbox.cdb + ".snapshot")
        let r = try sandbox.fshost("testfixture", "monitor", "t1", "--timeout", "1", "--json")
        XCTAssertEqual(r.status, 8, r.description)
        XCTAssertTrue(r.stderr.contains("stayed locked by another process"), r.stderr)
        XCTAssertLessThan(r.milliseconds, 4000, "waited for the CDB past the timeout: \(r)")
    }

    /// Replacing a one-letter secret inside ordinary words would show it
    /// ("v(secret)s(secret)ble" for `i`): such a text is withheld whole.
    func testAShortSecretIsNotRevealedByItsRedaction() throws {
        try define("s1", ["password": "i", "fail_reason": "visible failure", "retries": "0"])
        let r = try sandbox.fshost("testfixture", "monitor", "s1", "--json")
        XCTAssertNotEqual(r.status, 0, r.description)
        XCTAssertFalse(r.stderr.contains("(secret)s(secret)"), r.stderr)
        XCTAssertFalse(r.stdout.contains("(secret)s(secret)"), r.stdout)
        XCTAssertTrue(r.stderr.contains("text withheld"), r.stderr)
    }

    /// A state write on a full disk is a host error whose reason says the
    /// disk is full, not that a file is missing.
    func testAFullStateDiskIsSaidToBeFull() throws {
        let state = sandbox.path("fullstate")
        try FileManager.default.createDirectory(atPath: state, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        guard mount("tmpfs", state, "tmpfs", 0, "size=16k,mode=0700") == 0 else {
            throw SetupFailure("mount tmpfs on \(state): \(String(cString: strerror(errno))) (the tests run as root)")
        }
        defer { umount2(state, 0) }
        let filler = state + "/filler"
        FileManager.default.createFile(atPath: filler, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: filler))
        while (try? handle.write(contentsOf: Data(repeating: 0, count: 4096))) != nil {}
        try? handle.close()
        sandbox.extraEnvironment["FSHOST_STATE_DIR"] = state
        try define("f1", ["marker": sandbox.path("marker")])
        let r = try sandbox.fshost("testfixture", "start", "f1")
        XCTAssertEqual(r.status, 9, r.description)
        XCTAssertTrue(r.stderr.contains("No space left on device"), r.stderr)
    }

    /// A child the plugin forked (without exec) keeps a copy of the lock
    /// file's descriptor; the lock is still released when the action ends,
    /// so the next action does not wait for that child.
    func testAPluginsForkedChildDoesNotHoldTheResourceLock() throws {
        try define("o1", ["fault": "orphan", "marker": sandbox.path("marker")])
        // The orphan (30 s) also keeps the start's stderr: send it to /dev/null.
        let fshost = HostSandbox.products.appendingPathComponent("fshost").path
        // (python3 closes every other descriptor too, as a cluster manager does.)
        let start = try sandbox.run("/usr/bin/env", ["python3", "-c", """
            import subprocess, sys
            sys.exit(subprocess.call(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, close_fds=True))
            """, fshost, "testfixture", "start", "o1"])
        XCTAssertEqual(start.status, 0, start.description)
        XCTAssertFalse(processes(containing: "start o1").isEmpty, "the plugin's child should still run")
        let db = try ConfigurationDatabase(path: sandbox.cdb, mode: .readWrite)
        try db.modify(type: "testfixture", resource: "o1", set: [:], unset: ["fault"])
        let r = try sandbox.fshost("testfixture", "monitor", "o1", "--timeout", "2")
        XCTAssertEqual(r.status, 0, "the lock is still held: \(r)")
    }

    /// The host's restart (stop then start) validates first: a
    /// configuration that no longer passes stops nothing.
    func testRestartValidatesBeforeItStopsAnything() throws {
        let marker = sandbox.path("marker")
        try define("r1", ["marker": marker])
        XCTAssertEqual(try sandbox.fshost("testfixture", "start", "r1").status, 0)
        let db = try ConfigurationDatabase(path: sandbox.cdb, mode: .readWrite)
        try db.modify(type: "testfixture", resource: "r1", set: ["run_as": "no-such-user-fshost"], unset: [])
        let r = try sandbox.fshost("testfixture", "restart", "r1")
        XCTAssertEqual(r.status, 2, r.description)
        XCTAssertTrue(r.stderr.contains("nothing stopped"), r.stderr)
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker), "restart stopped the resource before validating")
    }
}
