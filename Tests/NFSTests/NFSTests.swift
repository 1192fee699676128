// The nfs plugin against a real NFS-Ganesha: every test makes its own lab
// (GaneshaLab: a network namespace with its own rpcbind; Ganesha is started
// by fshost's first start), drives it through `fshost` subprocesses run in
// that namespace with a private CDB, and leaves nothing running.
import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif

final class NFSTests: XCTestCase {
    var sandbox: HostSandbox!
    var lab: GaneshaLab!

    let success: Int32 = 0, notRunning: Int32 = 1, invalidArguments: Int32 = 2, commandFailed: Int32 = 3
    let running: Int32 = 4, noConfigInfo: Int32 = 6

    override func setUpWithError() throws {
        for product in ["fshost", "fshost-admin", "libnfs.so", "libnfs-client.so"] {
            let path = HostSandbox.products.appendingPathComponent(product).path
            guard FileManager.default.fileExists(atPath: path) else { throw SetupFailure("\(path) is not built") }
        }
        sandbox = try HostSandbox()
        lab = try GaneshaLab(sandbox: sandbox)
    }

    override func tearDown() {
        if let lab {
            lab.tearDown()  // kills the lab's rpcbind and Ganesha (expected to run until here)
            XCTAssertEqual(lab.processesInNamespace(), [], "processes still run in \(lab.namespace)")
        }
        lab = nil
        sandbox = nil
        super.tearDown()
    }

    // MARK: Helpers

    /// `fshost cdb define nfs NAME path=… export_id=… clients=… + the lab's server attributes + EXTRA`.
    func define(_ name: String, path: String, id: Int, _ extra: [String] = []) throws {
        let r = try sandbox.fshost(["cdb", "define", "nfs", name, "path=\(path)", "export_id=\(id)", "clients=127.0.0.1",
                                    "retries=0"] + lab.serverAttributes + extra)
        if r.status != 0 { throw SetupFailure("`fshost cdb define nfs \(name)` answered \(r.status): \(r.stderr)") }
    }

    @discardableResult
    func nfs(_ action: String, _ name: String, _ options: [String] = []) throws -> HostSandbox.Result {
        try lab.fshost(["nfs", action, name] + options)
    }

    func monitor(_ name: String, _ level: Int) throws -> HostSandbox.Result {
        try nfs("monitor", name, ["--level", String(level)])
    }

    /// Two exports: e1 (NFSv3 and v4, rw) and e2 (v4 only, ro, pseudo /two).
    func defineTwo() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101, ["access=rw"])
        try define("e2", path: try lab.makeExportDirectory("e2"), id: 102, ["versions=4", "pseudo=/two"])
    }

    func assertServed(_ name: String, _ message: String = "", file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try monitor(name, 3)
        XCTAssertEqual(r.status, success, "\(name) level 3 \(message): \(r)", file: file, line: line)
    }

    // MARK: The life cycle, two exports

    func testTwoExportsStartMonitorStopWithoutDisturbingEachOther() throws {
        try defineTwo()
        for level in 1...3 { XCTAssertEqual(try monitor("e1", level).status, notRunning, "level \(level) before start") }
        XCTAssertEqual(try nfs("exclusive", "e1").status, notRunning)
        XCTAssertFalse(lab.ganeshaRuns)

        let started = try nfs("start", "e1")
        XCTAssertEqual(started.status, success, "start e1 (starts Ganesha): \(started)")
        XCTAssertTrue(lab.ganeshaRuns, "fshost started Ganesha")
        let server = lab.ganeshaPid
        for level in 1...3 { XCTAssertEqual(try monitor("e1", level).status, success, "e1 level \(level)") }
        XCTAssertEqual(try nfs("exclusive", "e1").status, running)

        XCTAssertEqual(try nfs("start", "e2").status, success, "start e2 (SIGHUP)")
        XCTAssertEqual(lab.ganeshaPid, server, "the second export reloads the running server, no restart")
        for level in 1...3 { XCTAssertEqual(try monitor("e2", level).status, success, "e2 level \(level)") }
        try assertServed("e1", "after e2 started")

        // Idempotent start: nothing rewritten, nothing restarted.
        let before = lab.exportsSnapshot()
        XCTAssertEqual(try nfs("start", "e2").status, success, "second start")
        XCTAssertEqual(lab.exportsSnapshot(), before)
        XCTAssertEqual(lab.ganeshaPid, server)

        let e2File = before["fshost-nfs-e2.conf"]
        let stopped = try nfs("stop", "e1")
        XCTAssertEqual(stopped.status, success, "stop e1: \(stopped)")
        XCTAssertEqual(lab.exportsSnapshot(), ["fshost-nfs-e2.conf": e2File!], "stop removes only its own file")
        XCTAssertEqual(lab.ganeshaPid, server, "stop withdraws one export; the server stays")
        for level in 1...3 { XCTAssertEqual(try monitor("e1", level).status, notRunning, "e1 level \(level) after stop") }
        XCTAssertEqual(try nfs("exclusive", "e1").status, notRunning)
        try assertServed("e2", "after e1 stopped")
        let listed = try lab.run("/usr/sbin/showmount", ["-e", "127.0.0.1"])
        XCTAssertFalse(listed.stdout.contains(lab.directory + "/e1"), "e1 withdrawn from the MOUNT list: \(listed.stdout)")
        XCTAssertEqual(try nfs("stop", "e1").status, success, "second stop")

        XCTAssertEqual(try nfs("start", "e1").status, success, "start again after stop")
        try assertServed("e1")
        try assertServed("e2")
    }

    // MARK: Failures each level catches

    func testServerKilledFailsLevel1() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        lab.signalGanesha(SIGKILL)
        usleep(100_000)
        let r = try monitor("e1", 1)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("NFS server"), r.stderr)
        // start brings the server back with the export.
        XCTAssertEqual(try nfs("start", "e1").status, success)
        try assertServed("e1", "after start restarted the server")
    }

    func testExportWithdrawnBehindFshostsBackFailsLevel2() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e2").status, success)
        // Withdrawn by a reload that did not see the file; the file is back, unreloaded.
        let file = lab.exportsDir + "/fshost-nfs-e1.conf", aside = lab.directory + "/aside.conf"
        XCTAssertEqual(rename(file, aside), 0)
        lab.signalGanesha(SIGHUP)
        usleep(300_000)
        XCTAssertEqual(rename(aside, file), 0)
        XCTAssertEqual(try monitor("e1", 1).status, success, "level 1 sees the file and the server")
        let r = try monitor("e1", 2)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("does not name"), r.stderr)
        // Level 3 (levels 2 and 3 in one call) still asks the export list first.
        let deep = try monitor("e1", 3)
        XCTAssertEqual(deep.status, commandFailed, deep.description)
        XCTAssertTrue(deep.stderr.contains("does not name"), deep.stderr)
        try assertServed("e2", "the other export")
        // Repaired by start: the unchanged file, reloaded at once (not half the start timeout later).
        let clock = ContinuousClock()
        var repaired: HostSandbox.Result?
        let took = try clock.measure { repaired = try nfs("start", "e1") }
        XCTAssertEqual(repaired?.status, success, repaired?.description ?? "")
        XCTAssertLessThan(took, .seconds(5), "start reloads an unlisted export at once")
        XCTAssertEqual(rename(file, aside), 0)
        lab.signalGanesha(SIGHUP)
        usleep(300_000)
        XCTAssertEqual(rename(aside, file), 0)
        // Removed for good behind its back and reloaded: a failure once the server no longer lists it
        // (a start is recorded and no stop ran: testAnExportWithdrawnBehindFshostsBackWithItsFileFailsEveryLevel).
        XCTAssertEqual(unlink(file), 0)
        lab.signalGanesha(SIGHUP)
        XCTAssertTrue(try eventually(commandFailed) { try monitor("e1", 1) }.stderr.contains("no stop ran since the last start"))
        // Edited behind its back: level 1 fails.
        XCTAssertEqual(try nfs("start", "e1").status, success)
        try "# edited\n".write(toFile: file, atomically: false, encoding: .utf8)
        let edited = try monitor("e1", 1)
        XCTAssertEqual(edited.status, commandFailed, edited.description)
        XCTAssertTrue(edited.stderr.contains("differs"), edited.stderr)
    }

    /// A v4-only export's level 2 proves the pseudo path leads to THIS
    /// export's root, not to a pseudo-fs junction: e9 at /p/nine makes
    /// Ganesha serve a directory /p, which a never-started e10 at /p must
    /// not take for itself (its node's fileid is not e10's directory's
    /// inode). Starting e10 above the served e9 is refused (third review,
    /// finding 3: Ganesha 4.3 then answered NFS4ERR_NOENT for /p/nine);
    /// e10's file in place without a reload fails its levels 2 and 3.
    func testAPseudoFSJunctionIsNotTheExportAtThatPath() throws {
        try define("e9", path: try lab.makeExportDirectory("e9"), id: 109, ["versions=4", "pseudo=/p/nine"])
        let e10 = try lab.makeExportDirectory("e10")
        XCTAssertEqual(mkdir(e10 + "/nine", 0o755), 0)
        try define("e10", path: e10, id: 110, ["versions=4", "pseudo=/p"])
        // e10 alone (its generated file kept for below), then e9 alone.
        XCTAssertEqual(try nfs("start", "e10").status, success, "e10 alone at /p")
        let file = lab.exportsDir + "/fshost-nfs-e10.conf"
        let generated = try XCTUnwrap(lab.exportsSnapshot()["fshost-nfs-e10.conf"])
        XCTAssertEqual(try nfs("stop", "e10").status, success)
        XCTAssertEqual(try nfs("start", "e9").status, success)
        let exclusive = try nfs("exclusive", "e10")
        XCTAssertEqual(exclusive.status, notRunning, "the junction /p is not e10: \(exclusive)")
        for level in 1...3 { XCTAssertEqual(try monitor("e10", level).status, notRunning, "e10 level \(level) before start") }
        let clock = ContinuousClock()
        var stopped: HostSandbox.Result?
        let took = try clock.measure { stopped = try nfs("stop", "e10") }
        XCTAssertEqual(stopped?.status, success, stopped?.description ?? "")
        XCTAssertLessThan(took, .seconds(5), "nothing to withdraw")

        let before = lab.exportsSnapshot()
        let refused = try nfs("start", "e10")
        XCTAssertEqual(refused.status, noConfigInfo, refused.description)
        XCTAssertTrue(refused.stderr.contains("attribute 'pseudo': /p holds /p/nine, the pseudo path of \(lab.exportsDir)/fshost-nfs-e9.conf; nested exports are not supported"),
                      refused.stderr)
        XCTAssertEqual(lab.exportsSnapshot(), before, "nothing changed")
        try assertServed("e9", "e10 refused")

        // e10's file put in place behind fshost's back, no reload: /p is e9's junction.
        XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: generated, attributes: [.posixPermissions: 0o644]))
        for level in 2...3 {
            let r = try monitor("e10", level)
            XCTAssertEqual(r.status, commandFailed, "level \(level): \(r)")
            XCTAssertTrue(r.stderr.contains("not this export's root"), r.stderr)
        }
        XCTAssertEqual(unlink(file), 0)
        try assertServed("e9", "e10's file gone")
    }

    /// The export file removed without a reload: the server still serves
    /// it, so no answer may say "cleanly stopped" (the cluster would start
    /// it on a second node), and stop must make the server withdraw it.
    func testExportFileRemovedWithoutReloadIsStillRunningUntilStop() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e2").status, success)
        XCTAssertEqual(unlink(lab.exportsDir + "/fshost-nfs-e1.conf"), 0)
        for level in 1...3 {
            let r = try monitor("e1", level)
            XCTAssertEqual(r.status, commandFailed, "level \(level): \(r)")
            XCTAssertTrue(r.stderr.contains("still lists"), r.stderr)
        }
        let exclusive = try nfs("exclusive", "e1")
        XCTAssertEqual(exclusive.status, running, exclusive.description)
        let stopped = try nfs("stop", "e1")
        XCTAssertEqual(stopped.status, success, stopped.description)
        let listed = try lab.run("/usr/sbin/showmount", ["-e", "127.0.0.1"])
        XCTAssertFalse(listed.stdout.contains(lab.directory + "/e1"), "stop withdrew e1: \(listed.stdout)")
        for level in 1...3 { XCTAssertEqual(try monitor("e1", level).status, notRunning, "level \(level) after stop") }
        XCTAssertEqual(try nfs("exclusive", "e1").status, notRunning)
        try assertServed("e2", "the other export")
    }

    /// The export withdrawn behind fshost's back (its file removed and the
    /// server reloaded): every level answered HA_NOT_RUNNING, "cleanly
    /// stopped", although a start is recorded and no stop ran (R10D,
    /// finding 7). Levels fail now; exclusive says not running (nothing
    /// is served here); stop and start recover.
    func testAnExportWithdrawnBehindFshostsBackWithItsFileFailsEveryLevel() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e2").status, success)
        XCTAssertEqual(unlink(lab.exportsDir + "/fshost-nfs-e1.conf"), 0)
        lab.signalGanesha(SIGHUP)
        let first = try eventually(commandFailed) { try monitor("e1", 1) }
        XCTAssertTrue(first.stderr.contains("no stop ran since the last start"), first.stderr)
        for level in 1...3 {
            let r = try monitor("e1", level)
            XCTAssertEqual(r.status, commandFailed, "level \(level): \(r)")
        }
        XCTAssertEqual(try nfs("exclusive", "e1").status, notRunning)
        XCTAssertEqual(try nfs("stop", "e1").status, success)
        for level in 1...3 { XCTAssertEqual(try monitor("e1", level).status, notRunning, "level \(level) after stop") }
        XCTAssertEqual(try nfs("start", "e1").status, success)
        try assertServed("e1")
        try assertServed("e2")
    }

    /// Polls `body` (every 100 ms, at most 10 s) until it answers `status`; the last answer.
    func eventually(_ status: Int32, _ body: () throws -> HostSandbox.Result) throws -> HostSandbox.Result {
        var r = try body()
        for _ in 0..<100 where r.status != status {
            usleep(100_000)
            r = try body()
        }
        return r
    }

    /// Ganesha serves a removed directory from its cache (level 3 passed for
    /// ~50 s): level 1 checks the path locally, and its identity since start.
    func testExportDirectoryRemovedOrReplacedFailsAtOnceAfterAMount() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        try assertServed("e1", "mounted once (cached by the server)")
        let dir = lab.directory + "/e1"
        // Moved aside (its inode lives on, so the new one's number differs).
        XCTAssertEqual(rename(dir, lab.directory + "/e1.old"), 0)
        for level in 1...3 {
            let r = try monitor("e1", level)
            XCTAssertEqual(r.status, commandFailed, "level \(level) after the move: \(r)")
            XCTAssertTrue(r.stderr.contains("exported directory"), r.stderr)
        }
        _ = try lab.makeExportDirectory("e1")
        let replaced = try monitor("e1", 3)
        XCTAssertEqual(replaced.status, commandFailed, replaced.description)
        XCTAssertTrue(replaced.stderr.contains("replaced since start"), replaced.stderr)
        // A start (the administrator's repair) records the new directory.
        XCTAssertEqual(try nfs("stop", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e1").status, success)
        try assertServed("e1", "after stop and start")
    }

    /// The exported directory moved aside and made anew, then a plain
    /// start (an operator's repair, FailSafe's start): the file was
    /// unchanged, so no reload; start answered success and recorded the new
    /// directory while Ganesha served the old one (v3+v4), or waited out its
    /// 30 s blaming a pseudo-fs junction (v4 only) (R10D, finding 4). Start
    /// now withdraws the old export and exports the new directory.
    func testStartAfterTheDirectoryWasReplacedExportsTheNewOne() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        try define("e4", path: try lab.makeExportDirectory("e4"), id: 104, ["versions=4", "pseudo=/four"])
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e4").status, success)
        try assertServed("e1")
        try assertServed("e4")
        for (name, url) in [("e1", "nfs://127.0.0.1\(lab.directory)/e1/"), ("e4", "nfs://127.0.0.1/four/?version=4")] {
            let dir = lab.directory + "/" + name
            XCTAssertEqual(rename(dir, dir + ".old"), 0)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o755])
            try "new\n".write(toFile: dir + "/newfile", atomically: true, encoding: .utf8)
            XCTAssertEqual(try monitor(name, 1).status, commandFailed, "\(name): level 1 sees the replacement")
            let (r, seconds) = try timed { try nfs("start", name) }
            XCTAssertEqual(r.status, success, "start \(name) after the replacement: \(r)")
            XCTAssertLessThan(seconds, 10, "start \(name)")
            XCTAssertTrue(r.stderr.contains("replaced since the last start"), "the withdrawal is logged: \(r.stderr)")
            let listed = try lab.run("/usr/bin/nfs-ls", [url])
            XCTAssertEqual(listed.status, 0, "nfs-ls \(url): \(listed)")
            XCTAssertTrue(listed.stdout.contains("newfile") && !listed.stdout.contains("hello.txt"),
                          "\(name): clients get the new directory: \(listed.stdout)")
            for level in 1...3 { XCTAssertEqual(try monitor(name, level).status, success, "\(name) level \(level) after start") }
        }
    }

    func testExportDirectoryRemovedFailsEveryLevelAtOnce() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e2").status, success)
        try assertServed("e1", "mounted once (the server caches it)")
        try FileManager.default.removeItem(atPath: lab.directory + "/e1")
        for level in 1...3 {
            let r = try monitor("e1", level)
            XCTAssertEqual(r.status, commandFailed, "level \(level): \(r)")
            XCTAssertTrue(r.stderr.contains("exported directory"), r.stderr)
        }
        try assertServed("e2", "the other export")
        // Stop still withdraws it (stop never needs the directory).
        XCTAssertEqual(try nfs("stop", "e1").status, success)
    }

    func testRpcbindKilledFailsLevel2OfAnNFSv3Export() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e2").status, success)
        lab.killRpcbind()
        let r = try monitor("e1", 2)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("rpcbind"), r.stderr)
        XCTAssertEqual(try monitor("e1", 1).status, success, "the server process still runs")
        // NFSv4 needs no rpcbind: the v4-only export still passes every level.
        for level in 1...3 { XCTAssertEqual(try monitor("e2", level).status, success, "e2 (v4 only) level \(level)") }
    }

    /// Level 2 asks rpcbind for version 3 exactly: with NFS v3 and MOUNT
    /// v3 unregistered (v4 and MOUNT v1 left), a GETPORT would still answer
    /// with the other version's port and levels 2 and 3 pass.
    func testNFSv3UnregisteredFailsLevel2() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        XCTAssertEqual(try nfs("start", "e1").status, success)
        try assertServed("e1")
        for program in ["100003", "100005"] {
            let r = try lab.run(GaneshaLab.rpcinfo, ["-d", program, "3"])
            XCTAssertEqual(r.status, 0, "rpcinfo -d \(program) 3: \(r)")
        }
        for level in 2...3 {
            let r = try monitor("e1", level)
            XCTAssertEqual(r.status, commandFailed, "level \(level): \(r)")
            XCTAssertTrue(r.stderr.contains("program 100003 version 3 (TCP) is not registered"), r.stderr)
        }
        // The repair the message names: start restarts the server, which registers again.
        let pid = lab.ganeshaPid
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertNotEqual(lab.ganeshaPid, pid)
        try assertServed("e1", "after start re-registered the server")
    }

    // MARK: rpcbind lost: stop and start still work (found by trying it as a user would)

    /// `body`'s answer and how long it took, in seconds.
    func timed(_ body: () throws -> HostSandbox.Result) rethrows -> (HostSandbox.Result, Double) {
        let began = Date()
        let r = try body()
        return (r, Date().timeIntervalSince(began))
    }

    /// rpcbind killed: each stop answered HA_CMD_FAILED after ~15 s ("not
    /// withdrawn: rpcbind … connection refused"), and so did a second one
    /// with the file already gone; a failed stop is fenced. Now a v3+v4
    /// export's withdrawal is asked over NFSv4, a v3-only one is stopped
    /// once its file is gone and the reload sent (no NFSv3 client finds it
    /// through rpcbind either), and a repeated stop asks nothing.
    func testStopWhileRpcbindIsDownWithdrawsAndCanBeRepeated() throws {
        try defineTwo()
        try define("e3", path: try lab.makeExportDirectory("e3"), id: 103, ["versions=3"])
        for name in ["e1", "e2", "e3"] { XCTAssertEqual(try nfs("start", name).status, success, "start \(name)") }
        lab.killRpcbind()
        for name in ["e1", "e3"] {
            for round in 1...2 {
                let (r, seconds) = try timed { try nfs("stop", name) }
                XCTAssertEqual(r.status, success, "stop \(name) (\(round)) with rpcbind killed: \(r)")
                XCTAssertLessThan(seconds, 5, "stop \(name) (\(round)) answered at once, not at its timeout")
            }
            XCTAssertNil(lab.exportsSnapshot()["fshost-nfs-\(name).conf"], "\(name)'s file is gone")
            for level in 1...3 { XCTAssertEqual(try monitor(name, level).status, notRunning, "\(name) level \(level) after stop") }
            XCTAssertEqual(try nfs("exclusive", name).status, notRunning, "\(name) exclusive after stop")
        }
        XCTAssertTrue(lab.ganeshaRuns, "stop never ends the shared server")
        // e1 was withdrawn, asked over NFSv4: its pseudo path no longer resolves.
        let v4 = try lab.run("/usr/bin/nfs-ls", ["nfs://127.0.0.1\(lab.directory)/e1?version=4"])
        XCTAssertNotEqual(v4.status, 0, "e1's pseudo path is gone from the server (nfs-ls over NFSv4): \(v4)")
        let e2 = try lab.run("/usr/bin/nfs-ls", ["nfs://127.0.0.1/two?version=4"])
        XCTAssertEqual(e2.status, 0, "nfs-ls of the v4-only export: \(e2)")
        try assertServed("e2", "the v4-only export, which needs no rpcbind")
    }

    /// rpcbind restarted (its registrations lost: Ganesha registers only
    /// when it starts): start waited its whole 30 s and failed, stop failed
    /// too, and only killing Ganesha by hand recovered. Now level 2 says
    /// what happened and what repairs it; stop succeeds; start restarts the
    /// server, which registers again, and every export is served after it.
    func testStartAfterRpcbindRestartedRegistersTheServerAgain() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e2").status, success)
        let before = lab.ganeshaPid
        lab.killRpcbind()
        try lab.startRpcbind()
        let failed = try monitor("e1", 2)
        XCTAssertEqual(failed.status, commandFailed, failed.description)
        XCTAssertTrue(failed.stderr.contains("is not registered") && failed.stderr.contains("start restarts the server"), failed.stderr)
        for round in 1...2 {
            let (r, seconds) = try timed { try nfs("stop", "e1") }
            XCTAssertEqual(r.status, success, "stop (\(round)) after rpcbind restarted: \(r)")
            XCTAssertLessThan(seconds, 5, "stop (\(round))")
        }
        let (started, seconds) = try timed { try nfs("start", "e1") }
        XCTAssertEqual(started.status, success, "start after rpcbind restarted: \(started)")
        XCTAssertLessThan(seconds, 20, "start restarted the server, not waited out its timeout")
        XCTAssertTrue(started.stderr.contains("restarting the server"), "the restart is logged: \(started.stderr)")
        XCTAssertNotEqual(lab.ganeshaPid, before, "the server was restarted")
        let registered = try lab.run(GaneshaLab.rpcinfo, ["-p", "127.0.0.1"])
        XCTAssertTrue(registered.stdout.contains("100003    3   tcp"), "NFS v3 registered again: \(registered.stdout)")
        try assertServed("e1", "after the restart")
        try assertServed("e2", "the other export, after the restart")
        // Registered now: another start restarts nothing.
        let pid = lab.ganeshaPid
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(lab.ganeshaPid, pid)
    }

    /// The server stopped by a signal (SIGSTOP): every stop, repeated
    /// too, waited out its 15 s and failed (a fence for a fault not the
    /// export's), and start its 30 s, for v3+v4, v3-only and v4-only
    /// exports alike (R10D, finding 2). A stopped server obeys no reload
    /// and serves nothing: stop removes the file and ends the server (the
    /// others then fail level 1 at once, and their start brings it back);
    /// start replaces the server and serves.
    func testAServerStoppedBySignalIsEndedByStopAndReplacedByStart() throws {
        try defineTwo()
        try define("e3", path: try lab.makeExportDirectory("e3"), id: 103, ["versions=3"])
        let names = ["e1", "e2", "e3"]
        for name in names { XCTAssertEqual(try nfs("start", name).status, success, "start \(name)") }
        func placed() -> [String] { names.filter { lab.exportsSnapshot()["fshost-nfs-\($0).conf"] != nil } }
        for name in ["e3", "e2", "e1"] {
            lab.signalGanesha(SIGSTOP)
            XCTAssertEqual(try monitor(name, 1).status, success, "\(name): level 1 sees the process")
            for round in 1...2 {
                let (r, seconds) = try timed { try nfs("stop", name) }
                XCTAssertEqual(r.status, success, "stop \(name) (\(round)) with the server stopped: \(r)")
                XCTAssertLessThan(seconds, 8, "stop \(name) (\(round))")
            }
            XCTAssertFalse(lab.ganeshaRuns, "\(name): the stopped server was ended")
            XCTAssertNil(lab.exportsSnapshot()["fshost-nfs-\(name).conf"])
            XCTAssertEqual(try monitor(name, 1).status, notRunning)
            for other in placed() {
                XCTAssertEqual(try monitor(other, 1).status, commandFailed, "\(other): level 1 fails at once, the server gone")
            }
            for other in placed() { XCTAssertEqual(try nfs("start", other).status, success, "\(other): its start brings the server back") }
            for other in placed() { try assertServed(other, "after \(name)'s stop") }
            let frozen = lab.ganeshaPid
            lab.signalGanesha(SIGSTOP)
            let (r, seconds) = try timed { try nfs("start", name) }
            XCTAssertEqual(r.status, success, "start \(name) with the server stopped: \(r)")
            XCTAssertLessThan(seconds, 10, "start \(name)")
            XCTAssertNotEqual(lab.ganeshaPid, frozen, "the stopped server was replaced")
            for other in placed() { try assertServed(other, "after \(name)'s start replaced the server") }
        }
    }

    /// The server killed, then every export started at once (a cluster
    /// manager recovering them together): one start found the server just
    /// launched by another, its pidfile not yet written, and failed with
    /// "runs, but its pidfile … is missing; stop it first" (R10D, finding
    /// 3: 3 rounds of 11). The server is started under the exports
    /// directory's lock now.
    func testConcurrentStartsAfterACrashAllSucceed() throws {
        let names = ["c1", "c2", "c3", "c4"]
        for (i, name) in names.enumerated() {
            try define(name, path: try lab.makeExportDirectory(name), id: 201 + i, i == 3 ? ["versions=4", "pseudo=/c4"] : [])
        }
        for round in 1...6 {
            if round > 1 {
                lab.signalGanesha(SIGKILL)
                for _ in 0..<100 where lab.ganeshaRuns { usleep(20_000) }
            }
            for (name, status, stderr) in try startAtOnce(names) {
                XCTAssertEqual(status, success, "round \(round): start \(name): \(stderr)")
            }
            for name in names { try assertServed(name, "round \(round)") }
        }
    }

    /// Another local user's process that looks like the server (its
    /// argv[0] `ganesha.nfsd`, the lab's config on its command line, a
    /// root-owned program): after a crash every start was refused ("…
    /// runs, but its pidfile … stop it first") and stop signalled it (R10E,
    /// finding 1). Only fshost's uid's server counts: start starts the real
    /// one, and the user's process is left alone.
    func testAnotherUsersLookAlikeIsNotTheServer() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        XCTAssertEqual(try nfs("start", "e1").status, success)
        lab.signalGanesha(SIGKILL)
        for _ in 0..<100 where lab.ganeshaRuns { usleep(20_000) }
        guard let fake = ChildProcess(["/usr/bin/setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                                       "/bin/bash", "-c", "exec -a ganesha.nfsd /usr/bin/tail -f \(lab.config)"]) else {
            throw SetupFailure("cannot start the look-alike")
        }
        defer { fake.stop() }
        usleep(200_000)
        XCTAssertFalse(fake.hasExited, "the look-alike runs")
        let level1 = try monitor("e1", 1)
        XCTAssertEqual(level1.status, commandFailed, level1.description)
        XCTAssertFalse(level1.stderr.contains("stop it first"), level1.stderr)
        XCTAssertEqual(try nfs("stop", "e1").status, success)
        let started = try nfs("start", "e1")
        XCTAssertEqual(started.status, success, "start starts the real server: \(started)")
        try assertServed("e1")
        XCTAssertFalse(fake.hasExited, "the user's process was not signalled")
    }

    /// The server it started ended at once (port 2049 held by another
    /// process: Ganesha's bind is fatal): start waited out its 30 s (R10E,
    /// finding 4). It fails within seconds now, saying the server ended.
    func testAServerThatEndsAtOnceFailsTheStartAtOnce() throws {
        try define("e4", path: try lab.makeExportDirectory("e4"), id: 104, ["versions=4", "pseudo=/four"])
        let (executable, argv) = lab.inside("/usr/bin/python3", ["-c",
            "import socket,time; s=socket.socket(socket.AF_INET6); s.bind(('::',2049)); s.listen(); print('ok', flush=True); time.sleep(60)"])
        guard let holder = ChildProcess([executable] + argv) else { throw SetupFailure("cannot hold port 2049 in the lab") }
        defer { holder.stop() }
        usleep(500_000)
        let (r, seconds) = try timed { try nfs("start", "e4") }
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("ended"), r.stderr)
        XCTAssertLessThan(seconds, 10, "not the 30 s start timeout")
        XCTAssertEqual(lab.exportsSnapshot(), [:], "the file was taken back")
        holder.stop()
        XCTAssertEqual(try nfs("start", "e4").status, success, "start once the port is free")
        try assertServed("e4")
    }

    /// The exported directory removed and made anew at the same inode
    /// number (ext4 hands it to the next mkdir): device and inode matched,
    /// levels 1 and 2 passed while clients got ESTALE, and start answered
    /// success leaving it stale (R10E, finding 5). The file handle (the
    /// inode's generation) tells them apart.
    func testADirectoryMadeAnewAtTheSameInodeIsSeen() throws {
        let dir = try lab.makeExportDirectory("e1")
        try define("e1", path: dir, id: 101)
        XCTAssertEqual(try nfs("start", "e1").status, success)
        try assertServed("e1")
        var st = stat()
        XCTAssertEqual(stat(dir, &st), 0)
        let inode = st.st_ino
        var reused = false
        for _ in 0..<20 where !reused {
            try FileManager.default.removeItem(atPath: dir)
            XCTAssertEqual(mkdir(dir, 0o755), 0)
            reused = stat(dir, &st) == 0 && st.st_ino == inode
        }
        guard reused else { throw SetupFailure("the filesystem under \(lab.directory) did not reuse inode \(inode) in 20 tries") }
        try "new\n".write(toFile: dir + "/newfile", atomically: true, encoding: .utf8)
        for level in 1...2 {
            let r = try monitor("e1", level)
            XCTAssertEqual(r.status, commandFailed, "level \(level): \(r)")
            XCTAssertTrue(r.stderr.contains("replaced since start"), r.stderr)
        }
        XCTAssertEqual(try nfs("start", "e1").status, success)
        try assertServed("e1", "after start exported the new directory")
        let listed = try lab.run("/usr/bin/nfs-ls", ["nfs://127.0.0.1\(dir)/"])
        XCTAssertTrue(listed.stdout.contains("newfile"), listed.description)
    }

    /// rpcbind lets any local user register a program and version nobody
    /// holds: after rpcbind lost the server's registrations, a user's
    /// NFS v3 and MOUNT v3 (at a port of their choosing) passed for the
    /// server's, so start never restarted the server, and stop and start
    /// failed at their timeouts (R10D, finding 1). Only root's count.
    func testAnotherUsersRegistrationIsNotTheServers() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        try define("e3", path: try lab.makeExportDirectory("e3"), id: 103, ["versions=3"])
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e3").status, success)
        lab.killRpcbind()
        try lab.startRpcbind()
        // pmap_set through libtirpc (rpcbind's local socket: the owner is the caller's uid), as nobody.
        let squat = """
            import ctypes
            t = ctypes.CDLL("libtirpc.so.3")
            ok = [t.pmap_set(p, v, 6, port) for p, v, port in [(100003, 3, 2049), (100005, 3, 40000), (100005, 1, 40000)]]
            raise SystemExit(0 if all(ok) else 1)
            """
        let set = try lab.run("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "/usr/bin/python3", "-c", squat])
        XCTAssertEqual(set.status, 0, "nobody's pmap_set: \(set)")
        let squatted = try lab.run(GaneshaLab.rpcinfo, ["127.0.0.1"])
        XCTAssertTrue(squatted.stdout.contains("65534"), "the squat took: \(squatted.stdout)")
        for level in 2...3 {
            let r = try monitor("e1", level)
            XCTAssertEqual(r.status, commandFailed, "level \(level): \(r)")
            XCTAssertTrue(r.stderr.contains("is registered by uid 65534, not by root"), r.stderr)
        }
        for name in ["e1", "e3"] {
            let (r, seconds) = try timed { try nfs("stop", name) }
            XCTAssertEqual(r.status, success, "stop \(name) with the registrations squatted: \(r)")
            XCTAssertLessThan(seconds, 5, "stop \(name)")
        }
        let pid = lab.ganeshaPid
        let (started, seconds) = try timed { try nfs("start", "e1") }
        XCTAssertEqual(started.status, success, "start restarts the server, whose registrations replace nobody's: \(started)")
        XCTAssertLessThan(seconds, 20)
        XCTAssertNotEqual(lab.ganeshaPid, pid)
        let registered = try lab.run(GaneshaLab.rpcinfo, ["127.0.0.1"])
        XCTAssertFalse(registered.stdout.contains("65534"), "root's registrations now: \(registered.stdout)")
        try assertServed("e1", "after the restart")
    }

    /// rpcbind not running at all: a start of an NFSv3 export cannot be
    /// served (Ganesha registers only at its start) and says so within a
    /// few seconds, not at its timeout; nothing is left in the exports
    /// directory; once rpcbind runs again, start serves it.
    func testStartWhileRpcbindIsDownFailsSayingSo() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e2").status, success, "the server runs (a v4-only export)")
        let files = lab.exportsSnapshot()
        lab.killRpcbind()
        let (r, seconds) = try timed { try nfs("start", "e1") }
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("start rpcbind"), r.stderr)
        XCTAssertLessThan(seconds, 10, "answered after the registration grace, not the 30 s timeout")
        XCTAssertEqual(lab.exportsSnapshot(), files, "the export file was taken back")
        try assertServed("e2", "the v4-only export")
        try lab.startRpcbind()
        XCTAssertEqual(try nfs("start", "e1").status, success, "start once rpcbind runs again")
        try assertServed("e1")
        try assertServed("e2")
    }

    /// Level 1 of a stopped export, and exclusive, answer from the node
    /// alone: with rpcbind killed they said HA_CMD_FAILED ("whether the
    /// server still lists … is unknown: rpcbind …"), and they loaded libnfs.
    func testLevel1OfAStoppedExportAsksNothingOfTheServer() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("stop", "e1").status, success)
        lab.killRpcbind()
        XCTAssertEqual(try monitor("e1", 1).status, notRunning)
        XCTAssertEqual(try nfs("exclusive", "e1").status, notRunning)
        let trace = sandbox.path("trace")
        let r = try lab.run("/usr/bin/strace", ["-f", "-e", "trace=openat,connect", "-o", trace,
                                                HostSandbox.products.appendingPathComponent("fshost").path,
                                                "nfs", "monitor", "e1", "--level", "1"])
        XCTAssertEqual(r.status, notRunning, r.description)
        let calls = (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
        XCTAssertFalse(calls.contains("libnfs.so.13"), "level 1 of a stopped export loaded libnfs")
        XCTAssertFalse(calls.contains("sin_port=htons(111)"), "level 1 of a stopped export asked rpcbind")
    }

    /// An rpcbind of the machine (here a stand-in holding /run/rpcbind.lock
    /// the way rpcbind does, flock; or the real one when one already holds
    /// it) neither keeps the lab from starting its own rpcbind and Ganesha in
    /// their private /run, nor is signalled, replaced or depended on by them.
    func testAnRpcbindOutsideTheLabIsNeitherNeededNorTouched() throws {
        lab.tearDown()
        lab = nil
        let lock = "/run/rpcbind.lock"
        let lockExisted = FileManager.default.fileExists(atPath: lock)
        let socketBefore = try? FileManager.default.attributesOfItem(atPath: "/run/rpcbind.sock")[.systemFileNumber] as? Int
        // flock holds the lock in its child (sleep): ChildProcess kills the whole group.
        guard let standIn = ChildProcess(["/usr/bin/flock", "--nonblock", "--conflict-exit-code", "75", lock, "/bin/sleep", "600"]) else {
            throw SetupFailure("cannot start flock")
        }
        defer {
            standIn.stop()
            if !lockExisted { unlink(lock) }
        }
        func lockHeldOutside() -> Bool {
            let fd = open(lock, O_RDONLY)
            guard fd >= 0 else { return false }
            defer { close(fd) }
            return flock(fd, LOCK_EX | LOCK_NB) != 0
        }
        _ = ProcessFixtures.waitUntil(milliseconds: 2000) { lockHeldOutside() || standIn.hasExited }
        // 75: something outside the test (a real rpcbind) already holds the lock, which is the case too.
        let standInHolds = !standIn.hasExited
        if !standInHolds { XCTAssertEqual(standIn.reap() >> 8 & 0xff, 75, "flock stand-in") }
        XCTAssertTrue(lockHeldOutside(), "\(lock) is held outside the lab before it starts")

        lab = try GaneshaLab(sandbox: sandbox)
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e2").status, success)
        for level in 1...3 { XCTAssertEqual(try monitor("e1", level).status, success, "e1 (v3) level \(level)") }
        lab.killRpcbind()
        XCTAssertEqual(try monitor("e1", 2).status, commandFailed, "level 2 asked the lab's rpcbind, not the machine's")

        XCTAssertTrue(lockHeldOutside(), "the outside holder of \(lock) is untouched")
        if standInHolds { XCTAssertFalse(standIn.hasExited, "the stand-in was not signalled") }
        let socketAfter = try? FileManager.default.attributesOfItem(atPath: "/run/rpcbind.sock")[.systemFileNumber] as? Int
        XCTAssertEqual(socketAfter, socketBefore, "the machine's /run/rpcbind.sock is not replaced or removed")
    }

    /// Level 3's verdict under CPU load (issue 10): two busy loops per core
    /// while 30 level-3 monitors per export (v3 and v4, no retries) run;
    /// every answer is success, well within mount_timeout (5 s).
    func testLevel3UnderCPULoadDoesNotFailFalsely() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e2").status, success)
        let loops = (0..<(2 * max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))))).compactMap { _ in
            ChildProcess(["/bin/sh", "-c", "while :; do :; done"])
        }
        defer { loops.forEach { $0.stop() } }
        XCTAssertFalse(loops.isEmpty, "busy loops started")
        var slowest = 0
        for round in 0..<30 {
            for name in ["e1", "e2"] {
                let r = try monitor(name, 3)
                XCTAssertEqual(r.status, success, "round \(round) \(name): \(r)")
                slowest = max(slowest, r.milliseconds)
            }
        }
        XCTAssertLessThan(slowest, 5000, "every level 3 within mount_timeout")
        print("level 3 under load: slowest \(slowest) ms")
    }

    /// Against a stopped server every check ends at its own timeout: the
    /// v3 export list (e1's level 2) and the v4 mount (e2's, the same code
    /// as level 3's mount). monitor --level 3 runs levels 1-3 in order, so
    /// level 2 is the one that catches it: within list_timeout. No crash:
    /// calls still pending at the deadline are cancelled safely.
    func testStoppedServerFailsLevel3WithinItsTimeout() throws {
        let timeouts = ["mount_timeout=1s", "list_timeout=1s"]
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101, timeouts)
        try define("e2", path: try lab.makeExportDirectory("e2"), id: 102, timeouts + ["versions=4", "pseudo=/two"])
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e2").status, success)
        try assertServed("e1")
        lab.signalGanesha(SIGSTOP)
        defer { lab.signalGanesha(SIGCONT) }
        XCTAssertEqual(try monitor("e1", 1).status, success, "level 1: the process is there")
        for name in ["e1", "e2"] {
            let r = try monitor(name, 3)
            XCTAssertEqual(r.status, commandFailed, "\(name): \(r)")
            XCTAssertLessThan(r.milliseconds, 2000, "\(name): ends at its 1 s timeout, not later: \(r)")
            XCTAssertTrue(r.stderr.contains("list_timeout"), "level 2's part of the call, named by its own limit: \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("killed by signal"), "\(name): the check itself must not crash: \(r.stderr)")
        }
        lab.signalGanesha(SIGCONT)
        try assertServed("e1", "after SIGCONT")
        try assertServed("e2", "after SIGCONT")
    }

    /// `nft RULE…` inside the lab's network namespace (its own ruleset).
    func labFirewall(_ rules: [[String]]) throws {
        for rule in rules {
            let r = try lab.run("/usr/sbin/nft", rule)
            if r.status != 0 { throw SetupFailure("nft \(rule.joined(separator: " ")) in the lab: \(r)") }
        }
    }

    /// Packets to the NFS port (2049) dropped (`reject`: refused with a
    /// TCP reset); rpcbind and MOUNT still answer.
    func blockNFSPort(reject: Bool) throws {
        try labFirewall([["add", "table", "inet", "fshosttest"],
                         ["add", "chain", "inet", "fshosttest", "out", "{ type filter hook output priority 0 ; }"],
                         ["add", "rule", "inet", "fshosttest", "out", "tcp", "dport", "2049"] + (reject ? ["reject", "with", "tcp", "reset"] : ["drop"])])
    }

    /// A monitor timeout shorter than list_timeout + mount_timeout: level
    /// 3 (its NFS connection unanswered) ends a margin before the action's
    /// deadline, so fshost answers HA_CMD_FAILED with the step's reason,
    /// not the host watchdog's HA_TIMEDOUT.
    func testLevel3CutByTheMonitorTimeoutAnswersItsOwnReason() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101,
                   ["list_timeout=2s", "mount_timeout=5s", "monitor_timeout=2500ms"])
        XCTAssertEqual(try nfs("start", "e1").status, success)
        try assertServed("e1")
        try blockNFSPort(reject: false)
        let r = try monitor("e1", 3)
        XCTAssertEqual(r.status, commandFailed, "HA_CMD_FAILED, not HA_TIMEDOUT: \(r)")
        XCTAssertTrue(r.stderr.contains("NFS on port 2049"), "the step's reason: \(r.stderr)")
        XCTAssertLessThan(r.milliseconds, 3000, r.description)
    }

    /// A level cut by the action's time (`--timeout 1` against a stopped
    /// server) named `list_timeout 2000 ms` as its limit (R10D, finding 9).
    func testALevelCutByTheActionsTimeSaysSo() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101, ["list_timeout=2s"])
        XCTAssertEqual(try nfs("start", "e1").status, success)
        lab.signalGanesha(SIGSTOP)
        defer { lab.signalGanesha(SIGCONT) }
        for level in 2...3 {
            let r = try nfs("monitor", "e1", ["--level", String(level), "--timeout", "1"])
            XCTAssertEqual(r.status, commandFailed, "level \(level): \(r)")
            XCTAssertTrue(r.stderr.contains("(the action's time left, shorter than list_timeout 2000 ms)"), "level \(level): \(r.stderr)")
        }
        let own = try monitor("e1", 2)
        XCTAssertTrue(own.stderr.contains("(list_timeout 2000 ms)"), "its own limit: \(own.stderr)")
    }

    /// A refused NFSv4 connection names libnfs's error, not an empty reason.
    func testRefusedNFSv4ConnectionNamesTheError() throws {
        try define("e2", path: try lab.makeExportDirectory("e2"), id: 102, ["versions=4", "pseudo=/two"])
        XCTAssertEqual(try nfs("start", "e2").status, success)
        try blockNFSPort(reject: true)
        let r = try monitor("e2", 2)
        XCTAssertEqual(r.status, commandFailed, r.description)
        let reason = r.stderr.components(separatedBy: "reason=").last ?? ""
        XCTAssertTrue(reason.contains("mount failed: "), r.stderr)
        let after = reason.components(separatedBy: "mount failed: ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        XCTAssertFalse(after.isEmpty, "a reason after 'mount failed:': \(r.stderr)")
    }

    /// Level 2 passes and level 3 fails (the root cannot be read by the
    /// squashed root user; made so before start, as Ganesha caches the
    /// root's mode): in the one call of a level-3 monitor the mount part
    /// still runs after the listing, and fails by itself.
    func testUnreadableRootPassesLevel2AndFailsLevel3() throws {
        let dir = try lab.makeExportDirectory("e1")
        try define("e1", path: dir, id: 101, ["squash=all_squash"])
        XCTAssertEqual(chmod(dir, 0o700), 0)
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try monitor("e1", 2).status, success, "listed")
        let r = try monitor("e1", 3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("reading the root"), r.stderr)
    }

    /// What a monitor asks (issue 10's cost, counted with strace): a
    /// level-3 monitor makes one companion call for levels 2 and 3, which
    /// asks rpcbind once (both ports) and keeps one MOUNT connection for the
    /// export list, MNT and UMNT — three TCP connections for NFSv3 (a level
    /// 2 call followed by libnfs's nfs_mount and nfs_umount made nine); two
    /// for level 2; one for a v4-only export, whose level-2 lookup is the
    /// v4 mount's own first step; three for a v3 listing and a v4 mount.
    func testEachMonitorAsksEveryServiceOnce() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        try define("e2", path: try lab.makeExportDirectory("e2"), id: 102, ["versions=4", "pseudo=/two"])
        try define("e3", path: try lab.makeExportDirectory("e3"), id: 103, ["mount_version=4", "pseudo=/three"])
        for name in ["e1", "e2", "e3"] { XCTAssertEqual(try nfs("start", name).status, success, "start \(name)") }
        /// The TCP ports the monitor connected to, in order.
        func ports(_ name: String, _ level: Int) throws -> [Int] {
            let trace = sandbox.path("connect-\(name)-\(level)")
            let r = try lab.run("/usr/bin/strace", ["-f", "-e", "trace=connect", "-o", trace,
                                                    HostSandbox.products.appendingPathComponent("fshost").path,
                                                    "nfs", "monitor", name, "--level", String(level)])
            XCTAssertEqual(r.status, success, "\(name) level \(level) under strace: \(r)")
            let text = (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
            return text.split(separator: "\n").filter { $0.contains("AF_INET") }.compactMap { line in
                guard let open = line.range(of: "htons("), let close = line[open.upperBound...].firstIndex(of: ")") else { return nil }
                return Int(line[open.upperBound..<close])
            }
        }
        let v3 = try ports("e1", 3)
        XCTAssertEqual(v3.count, 3, "rpcbind, mountd, nfsd: \(v3)")
        XCTAssertEqual(v3.first, 111, "\(v3)")
        XCTAssertEqual(v3.last, 2049, "\(v3)")
        XCTAssertEqual(v3.filter { $0 == 111 }.count, 1, "rpcbind asked once: \(v3)")
        let listed = try ports("e1", 2)
        XCTAssertEqual(listed, Array(v3.prefix(2)), "level 2: rpcbind and mountd")
        XCTAssertEqual(try ports("e2", 3), [2049], "v4 only: one mount carries levels 2 and 3")
        let mixed = try ports("e3", 3)
        XCTAssertEqual(mixed, [111, v3[1], 2049], "v3 listing, then the v4 mount")
    }

    /// Level 3 mounts with the lowest version served unless mount_version
    /// says otherwise; a version the export does not serve is refused.
    func testMountVersionChoosesLevel3sProtocol() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101, ["mount_version=4"])
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try monitor("e1", 3).status, success, "NFSv4 mount of a 3,4 export")
        lab.killRpcbind()
        let r = try monitor("e1", 2)
        XCTAssertEqual(r.status, commandFailed, "level 2 still asks v3 (rpcbind): \(r)")
        try define("e3", path: try lab.makeExportDirectory("e3"), id: 103, ["versions=4", "mount_version=3"])
        let refused = try nfs("start", "e3")
        XCTAssertEqual(refused.status, invalidArguments, refused.description)
        XCTAssertTrue(refused.stderr.contains("mount_version"), refused.stderr)
    }

    // MARK: Bad input: refused, nothing changed, the other export still served

    func testInvalidOptionIsRefusedAndTheOtherExportStillServed() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        let before = lab.exportsSnapshot()
        let dir = try lab.makeExportDirectory("bad")
        // A value outside the schema, stored unchecked (as a hand edit could): the host refuses it.
        try sandbox.store("nfs", "badaccess", ["path": dir, "export_id": "201", "clients": "127.0.0.1", "access": "rwx",
                                               "config": lab.config, "exports_dir": lab.exportsDir, "pidfile": lab.pidFile])
        let r = try nfs("start", "badaccess")
        XCTAssertEqual(r.status, invalidArguments, r.description)
        XCTAssertTrue(r.stderr.contains("access"), r.stderr)
        XCTAssertEqual(lab.exportsSnapshot(), before, "exports directory unchanged")
        try assertServed("e1", "after the refused start")
    }

    /// A block that parses but that Ganesha will not serve (a directory of
    /// /proc: no VFS export): start fails at its timeout, takes its file
    /// back, and the other export stays served.
    func testAnExportTheServerRefusesIsTakenBackAndTheOtherStaysServed() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        XCTAssertEqual(try nfs("start", "e1").status, success)
        let before = lab.exportsSnapshot()
        let r = try sandbox.fshost(["cdb", "define", "nfs", "procfs", "path=/proc/sys", "export_id=600", "clients=127.0.0.1",
                                    "start_timeout=3s"] + lab.serverAttributes)
        XCTAssertEqual(r.status, success, r.description)
        let started = try nfs("start", "procfs")
        XCTAssertEqual(started.status, commandFailed, started.description)
        XCTAssertTrue(started.stderr.contains("removed again"), started.stderr)
        XCTAssertEqual(lab.exportsSnapshot(), before, "its file taken back")
        try assertServed("e1", "after the refused export")
    }

    func testBadInputChangesNothing() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try nfs("start", "e2").status, success)
        let good = try lab.makeExportDirectory("good")
        let aFile = lab.directory + "/good/hello.txt"
        // A directory anyone may write (an executable there), and a sticky one holding
        // a link another user planted to a root-only file.
        let open = lab.directory + "/open", sticky = lab.directory + "/sticky"
        for (dir, mode) in [(open, 0o777), (sticky, 0o1777)] {
            XCTAssertEqual(mkdir(dir, 0o755), 0)
            XCTAssertEqual(chmod(dir, mode_t(mode)), 0)
        }
        try FileManager.default.copyItem(atPath: "/bin/true", toPath: open + "/ganesha.nfsd")
        try "root secret\n".write(toFile: lab.directory + "/victim", atomically: true, encoding: .utf8)
        XCTAssertEqual(symlink(lab.directory + "/victim", sticky + "/g.log"), 0)
        XCTAssertEqual(lchown(sticky + "/g.log", 65534, 65534), 0)
        let noDir = lab.directory + "/no-dir.conf"
        try "NFS_CORE_PARAM { Protocols = 3, 4; }\n".write(toFile: noDir, atomically: true, encoding: .utf8)
        let cases: [(String, [String: String], Int32, String)] = [
            ("missing", ["path": lab.directory + "/nope"], noConfigInfo, "attribute 'path'"),
            ("notadir", ["path": aFile], noConfigInfo, "not a directory"),
            ("badclient", ["clients": "10.0.0.0/33"], invalidArguments, "attribute 'clients'"),
            ("injection", ["clients": "127.0.0.1; } EXPORT { Export_Id = 9"], invalidArguments, "attribute 'clients'"),
            ("quote", ["path": lab.directory + "/a\"b"], invalidArguments, "attribute 'path'"),
            ("dotdot", ["pseudo": "/x/../e1"], invalidArguments, "attribute 'pseudo'"),
            ("dupid", ["export_id": "101"], noConfigInfo, "export_id"),
            ("duppseudo", ["pseudo": "/two"], noConfigInfo, "pseudo"),
            ("duppseudo2", ["pseudo": lab.directory + "/e1"], noConfigInfo, "pseudo"),
            // Under a served export's pseudo path: refused up front, not NOENT after the start timeout.
            ("nestedpseudo", ["pseudo": "/two/nine"], noConfigInfo, "attribute 'pseudo': /two/nine is under /two"),
            // Above one (third review, finding 3): /p started while /p/nine is served hid it over NFSv4.
            ("parentpseudo", ["pseudo": lab.directory], noConfigInfo,
             "attribute 'pseudo': \(lab.directory) holds \(lab.directory)/e1, the pseudo path of \(lab.exportsDir)/fshost-nfs-e1.conf; nested exports are not supported"),
            // A component NFSv4 cannot look up (finding 4): NAME_MAX.
            ("longpseudo", ["pseudo": "/" + String(repeating: "x", count: 300)], invalidArguments,
             "attribute 'pseudo' has a component of 300 bytes (at most 255"),
            ("duppath", ["path": lab.directory + "/e1", "pseudo": "/other"], noConfigInfo, "already exported"),
            ("nodir", ["config": noDir], noConfigInfo, "%dir"),
            // A path equal to another export's (the pseudo path defaults to it) names `path`.
            ("duppathdefault", ["path": lab.directory + "/e1"], noConfigInfo, "attribute 'path'"),
            // Through a symlink: refused at validate, naming the link.
            ("symlinkpath", ["path": lab.directory + "/link"], noConfigInfo, "\(lab.directory)/link is a symbolic link"),
            // Ganesha lists an export only to its clients: `address` must be one.
            ("notclient", ["clients": "10.0.0.0/24"], invalidArguments, "attribute 'address' 127.0.0.1 is not among 'clients'"),
            ("nameonly", ["clients": "client.example"], invalidArguments, "attribute 'address'"),
            // The same client twice (R10C, observation): a slip, refused naming it.
            ("twice", ["clients": "127.0.0.1, 10.0.0.0/8, 127.0.0.1"], invalidArguments, "'127.0.0.1' is given twice"),
            // Root runs `binary` and the server appends to `log_file` (R10E, finding 3): neither where another user chooses.
            ("userbinary", ["binary": open + "/ganesha.nfsd"], noConfigInfo, "attribute 'binary'"),
            ("loglink", ["log_file": sticky + "/g.log"], noConfigInfo, "attribute 'log_file'"),
            ("lognodir", ["log_file": lab.directory + "/nope/g.log"], noConfigInfo, "attribute 'log_file'"),
            // The offending character, shown escaped.
            ("newline", ["path": lab.directory + "/a\nb"], invalidArguments, "holds '\\n'"),
            ("space", ["path": lab.directory + "/a b"], invalidArguments, "holds '\\x20'"),
            ("umlaut", ["path": lab.directory + "/\u{e4}"], invalidArguments, "holds '\\u{e4}'"),
        ] + ["1host", "1e5", "0x1", "1-2", "123abc.example", "@1ng", "*.1x", "a.1", "on", "10.0.0.0/08",
             // Ganesha 4.3 reads IPv6 prefixes 1-99 only (finding 2: its parser refuses these).
             "::/0", "::1/128", "fd00::/100"].enumerated().map {
            // Names Ganesha's config lexer does not read as one client (a syntax error withdraws the export).
            ("lexer\($0.offset)", ["clients": "127.0.0.1, " + $0.element], invalidArguments, "'\($0.element)'")
        }
        XCTAssertEqual(symlink(good, lab.directory + "/link"), 0)
        for (name, changes, status, words) in cases {
            var attributes = ["path": good, "export_id": "300", "clients": "127.0.0.1", "config": lab.config,
                              "exports_dir": lab.exportsDir, "pidfile": lab.pidFile]
            attributes.merge(changes) { $1 }
            try sandbox.store("nfs", name, attributes)
            let before = lab.exportsSnapshot()
            let r = try nfs("start", name)
            XCTAssertEqual(r.status, status, "\(name): \(r)")
            XCTAssertTrue(r.stderr.contains(words), "\(name) names the problem: \(r.stderr)")
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("action=start ") }.count, 1, "\(name): one line: \(r.stderr)")
            XCTAssertEqual(lab.exportsSnapshot(), before, "\(name): exports directory changed")
            XCTAssertFalse(FileManager.default.fileExists(atPath: lab.directory + "/.fshost-nfs-\(name).tmp"), "\(name): temp left")
        }
        try assertServed("e1", "after the bad inputs")
        try assertServed("e2", "after the bad inputs")
    }

    /// Every client form the grammar accepts is read by Ganesha: the export
    /// is served (a syntax error in the CLIENT block would withdraw it).
    func testAcceptedClientFormsAreReadByGanesha() throws {
        try sandbox.store("nfs", "names", [
            "path": try lab.makeExportDirectory("names"), "export_id": "700", "config": lab.config,
            "exports_dir": lab.exportsDir, "pidfile": lab.pidFile, "log_file": lab.logFile,
            "clients": "10.0.0.0/24, 127.0.0.1, host-1.example, *.example.org, h?st.example, @ng1, @ng_2.x, fd00::/8, ::1, localhost, 0.0.0.0/0, ::/1, fd00::1/99"])
        let r = try nfs("start", "names")
        XCTAssertEqual(r.status, success, r.description)
        try assertServed("names")
    }

    /// Two starts at once with the same export id: the exports directory's
    /// lock lets one place its file; the other finds the id taken.
    /// `fshost nfs start NAME` for every name at once, inside the lab:
    /// each answer (name, status, stderr), in the order given.
    func startAtOnce(_ names: [String]) throws -> [(name: String, status: Int32, stderr: String)] {
        var running: [(String, Process, String)] = []
        for name in names {
            let p = Process()
            let (executable, argv) = lab.inside(HostSandbox.products.appendingPathComponent("fshost").path, ["nfs", "start", name])
            p.executableURL = URL(fileURLWithPath: executable)
            p.arguments = argv
            p.environment = sandbox.environment
            let err = sandbox.path("stderr-\(name)-\(UUID().uuidString.prefix(8))")
            FileManager.default.createFile(atPath: err, contents: nil)
            p.standardError = FileHandle(forWritingAtPath: err)
            p.standardOutput = FileHandle.nullDevice
            p.standardInput = FileHandle.nullDevice
            try p.run()
            running.append((name, p, err))
        }
        return running.map { name, p, err in
            p.waitUntilExit()
            return (name, p.terminationStatus, (try? String(contentsOfFile: err, encoding: .utf8)) ?? "")
        }
    }

    func testConcurrentStartsWithOneExportIDPlaceOneFile() throws {
        try define("a", path: try lab.makeExportDirectory("a"), id: 500)
        try define("b", path: try lab.makeExportDirectory("b"), id: 500)
        let answers = try startAtOnce(["a", "b"])
        var results: [String: Int32] = [:]
        for (name, status, _) in answers { results[name] = status }
        let messages = answers.map(\.stderr).joined()
        let statuses = ["a", "b"].map { results[$0] ?? -1 }.sorted()
        XCTAssertEqual(statuses, [success, noConfigInfo], "one start wins, the other is refused: \(messages)")
        XCTAssertEqual(lab.exportsSnapshot().count, 1, "one file placed")
        let winner = results["a"] == success ? "a" : "b"
        try assertServed(winner)
    }

    func testExportsDirectoryWritableByOthersIsRefused() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        XCTAssertEqual(chmod(lab.exportsDir, 0o777), 0)
        let r = try nfs("start", "e1")
        XCTAssertEqual(r.status, noConfigInfo, r.description)
        XCTAssertTrue(r.stderr.contains("exports_dir") && r.stderr.contains("writable by others"), r.stderr)
        XCTAssertEqual(lab.exportsSnapshot(), [:])
        XCTAssertFalse(lab.ganeshaRuns)
    }

    /// Any local user can flock a world-readable directory: the start's
    /// lock is a root-only file in fshost's run directory instead.
    func testAnFlockOnTheExportsDirectoryBlocksNothing() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        let fd = open(lab.exportsDir, O_RDONLY | O_DIRECTORY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertEqual(flock(fd, LOCK_EX | LOCK_NB), 0)
        let clock = ContinuousClock()
        var r: HostSandbox.Result?
        let took = try clock.measure { r = try nfs("start", "e1") }
        XCTAssertEqual(r?.status, success, r?.description ?? "")
        XCTAssertEqual(try nfs("stop", "e1").status, success)
        XCTAssertLessThan(took, .seconds(4), "start did not wait for the directory's flock")
    }

    /// The exports directory swapped for a symlink (its parent is where the
    /// temporary file is written): refused, nothing written anywhere.
    func testExportsDirectoryThroughASymlinkIsRefused() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        let real = lab.directory + "/exports.real"
        XCTAssertEqual(rename(lab.exportsDir, real), 0)
        XCTAssertEqual(symlink(real, lab.exportsDir), 0)
        let r = try nfs("start", "e1")
        XCTAssertEqual(r.status, noConfigInfo, r.description)
        XCTAssertTrue(r.stderr.contains("exports_dir") && r.stderr.contains("symbolic link"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: real), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: lab.directory + "/.fshost-nfs-e1.tmp"))
        XCTAssertFalse(lab.ganeshaRuns)
    }

    /// The parent of the exports directory (where the temporary file is
    /// written) and the config file follow the host's trust rule too.
    func testUntrustedParentOrConfigIsRefused() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        XCTAssertEqual(chmod(lab.directory, 0o777), 0)
        let parent = try nfs("start", "e1")
        XCTAssertEqual(chmod(lab.directory, 0o755), 0)
        XCTAssertEqual(parent.status, noConfigInfo, parent.description)
        XCTAssertTrue(parent.stderr.contains("writable by others"), parent.stderr)
        XCTAssertEqual(lab.exportsSnapshot(), [:])

        XCTAssertEqual(chmod(lab.config, 0o666), 0)
        let config = try nfs("start", "e1")
        XCTAssertEqual(config.status, noConfigInfo, config.description)
        XCTAssertTrue(config.stderr.contains("'config'") && config.stderr.contains("writable by others"), config.stderr)
        XCTAssertEqual(chmod(lab.config, 0o644), 0)

        let moved = lab.directory + "/real.conf"
        XCTAssertEqual(rename(lab.config, moved), 0)
        XCTAssertEqual(symlink(moved, lab.config), 0)
        let linked = try nfs("start", "e1")
        XCTAssertEqual(linked.status, noConfigInfo, linked.description)
        XCTAssertTrue(linked.stderr.contains("symbolic link"), linked.stderr)
        XCTAssertEqual(lab.exportsSnapshot(), [:])
        XCTAssertFalse(lab.ganeshaRuns)
    }

    // MARK: The review's findings (issue 10, second review)

    /// Each (action, resource) of `calls` answers HA_NOCFGINFO in one line
    /// of its own (`names` checks what that stderr says) and leaves the
    /// exports directory byte for byte as it was; `name` labels the case.
    func assertEveryActionRefuses(_ name: String, _ calls: [(String, String)],
                                  names: (String, String) -> Void) throws {
        let before = lab.exportsSnapshot()
        for (action, resource) in calls {
            let r = try nfs(action, resource)
            XCTAssertEqual(r.status, noConfigInfo, "\(name): \(action) \(resource): \(r)")
            let lines = r.stderr.split(separator: "\n").filter { $0.contains("action=\(action) ") }
            XCTAssertEqual(lines.count, 1, "\(name): one line: \(r.stderr)")
            names(action, r.stderr)
            XCTAssertEqual(lab.exportsSnapshot(), before, "\(name): \(action) changed the exports directory")
        }
    }

    /// A foreign file of the exports directory that does not parse: Ganesha
    /// 4.3 reloads anyway and reads every file as one stream, so an EXPORT
    /// without its closing brace swallows the next file's block (measured:
    /// that export withdrawn). Every start, stop (and validate) is refused
    /// (HA_NOCFGINFO, one line naming the file and Ganesha's own
    /// message), nothing in the directory changes, no SIGHUP is sent (the
    /// served export stays served); so is each other kind of file a reload
    /// cannot read: half a block whose other half is in a second file (each
    /// must parse alone), a missing %include, a main config that does not
    /// parse. With the file gone, both go through.
    func testAForeignFileThatDoesNotParseIsNeverReloaded() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        let server = lab.ganeshaPid
        let cases: [(String, [String: String], String)] = [
            ("unclosed", ["aaa.conf": "EXPORT { Export_Id = 300; Path = \"/tmp\"; Pseudo = \"/x\";\n"], "aaa.conf"),
            ("statement", ["foreign.conf": "EXPORT { Export_Id = 301 Path = \"/tmp\"; }\n"], "foreign.conf"),
            ("halves", ["a-half.conf": "EXPORT {\n", "z-half.conf": "}\n"], "-half.conf"),
            ("include", ["inc.conf": "%include \"\(lab.directory)/missing.conf\"\n"], "inc.conf"),
        ]
        for (name, files, named) in cases {
            for (file, text) in files { try text.write(toFile: lab.exportsDir + "/" + file, atomically: false, encoding: .utf8) }
            try assertEveryActionRefuses(name, [("start", "e2"), ("stop", "e1"), ("validate", "e2")]) { action, stderr in
                XCTAssertTrue(stderr.contains(named) && stderr.contains("Ganesha's parser"), "\(name) names the file: \(stderr)")
            }
            XCTAssertEqual(lab.ganeshaPid, server)
            try assertServed("e1", "\(name): no reload was sent")
            for file in files.keys { XCTAssertEqual(unlink(lab.exportsDir + "/" + file), 0) }
        }
        // The main config itself (here: a block left open at its end).
        let config = try String(contentsOfFile: lab.config, encoding: .utf8)
        try (config + "LOG {\n").write(toFile: lab.config, atomically: true, encoding: .utf8)
        let before = lab.exportsSnapshot()
        let r = try nfs("start", "e2")
        XCTAssertEqual(r.status, noConfigInfo, r.description)
        XCTAssertTrue(r.stderr.contains("the config \(lab.config)"), r.stderr)
        XCTAssertEqual(lab.exportsSnapshot(), before)
        try config.write(toFile: lab.config, atomically: true, encoding: .utf8)
        // A file of comments only is read as nothing: no refusal.
        try "# nothing here\n".write(toFile: lab.exportsDir + "/comments.conf", atomically: false, encoding: .utf8)
        XCTAssertEqual(try nfs("start", "e2").status, success, "every file parses again")
        try assertServed("e1")
        try assertServed("e2")
        XCTAssertEqual(try nfs("stop", "e1").status, success)
        try assertServed("e2")
    }

    // MARK: The third review's findings (issue 10)

    /// Finding 1: every file a reload reads passes the trust rule the
    /// config passes — each file of each `%dir` (the exports directory and
    /// any other), each `%include`, each `%dir` itself — before any SIGHUP
    /// or server start: one another user could write was an export of `/`
    /// (rw, no_root_squash) that fshost's next reload loaded. validate,
    /// start and stop refuse with one line naming the file (HA_NOCFGINFO);
    /// nothing changes, no reload is sent (the server's export list stays
    /// as it was, the served export still mounts). A file over 1 MiB is
    /// refused saying so (finding 7). Put right, start goes through.
    func testEveryFileAReloadReadsMustBeTrusted() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        let server = lab.ganeshaPid
        let rootExport = "EXPORT { Export_Id = 99; Path = \"/\"; Pseudo = \"/rootfs\"; Protocols = 3, 4; Transports = TCP; "
            + "Access_Type = RW; Squash = no_root_squash; FSAL { Name = VFS; } }\n"
        let include = lab.directory + "/inc.conf", otherDir = lab.directory + "/more.d"
        try FileManager.default.createDirectory(atPath: otherDir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        let originalConfig = try String(contentsOfFile: lab.config, encoding: .utf8)
        // name, set-up, the file the refusal names, the words saying why, undo.
        let cases: [(String, () throws -> Void, String, String, () throws -> Void)] = [
            ("world-writable exports file", {
                try rootExport.write(toFile: self.lab.exportsDir + "/other.conf", atomically: false, encoding: .utf8)
                XCTAssertEqual(chmod(self.lab.exportsDir + "/other.conf", 0o666), 0)
            }, lab.exportsDir + "/other.conf", "writable by others", { unlink(self.lab.exportsDir + "/other.conf") }),
            ("exports file of another user", {
                try rootExport.write(toFile: self.lab.exportsDir + "/other.conf", atomically: false, encoding: .utf8)
                XCTAssertEqual(chown(self.lab.exportsDir + "/other.conf", 65534, 65534), 0)
            }, lab.exportsDir + "/other.conf", "owned by", { unlink(self.lab.exportsDir + "/other.conf") }),
            ("group-writable %include", {
                try rootExport.write(toFile: include, atomically: false, encoding: .utf8)
                XCTAssertEqual(chmod(include, 0o664), 0)
                try (originalConfig + "%include \"\(include)\"\n").write(toFile: self.lab.config, atomically: true, encoding: .utf8)
            }, include, "writable by its group", { try originalConfig.write(toFile: self.lab.config, atomically: true, encoding: .utf8) }),
            ("world-writable file of a second %dir", {
                try rootExport.write(toFile: otherDir + "/x.conf", atomically: false, encoding: .utf8)
                XCTAssertEqual(chmod(otherDir + "/x.conf", 0o646), 0)
                try (originalConfig + "%dir \(otherDir)\n").write(toFile: self.lab.config, atomically: true, encoding: .utf8)
            }, otherDir + "/x.conf", "writable by others", {
                unlink(otherDir + "/x.conf")
                try originalConfig.write(toFile: self.lab.config, atomically: true, encoding: .utf8)
            }),
            ("world-writable second %dir", {
                XCTAssertEqual(chmod(otherDir, 0o777), 0)
                try (originalConfig + "%dir \(otherDir)\n").write(toFile: self.lab.config, atomically: true, encoding: .utf8)
            }, otherDir, "writable by others", {
                XCTAssertEqual(chmod(otherDir, 0o755), 0)
                try originalConfig.write(toFile: self.lab.config, atomically: true, encoding: .utf8)
            }),
            ("a file over 1 MiB", {
                try (String(repeating: "#", count: 1_100_000) + "\n").write(toFile: self.lab.exportsDir + "/big.conf", atomically: false, encoding: .utf8)
            }, lab.exportsDir + "/big.conf", "is larger than 1 MiB", { unlink(self.lab.exportsDir + "/big.conf") }),
        ]
        for (name, setUp, file, words, undo) in cases {
            try setUp()
            try assertEveryActionRefuses(name, [("validate", "e2"), ("start", "e2"), ("stop", "e1")]) { action, stderr in
                XCTAssertTrue(stderr.contains(file) && stderr.contains(words), "\(name): \(action) names \(file) and why: \(stderr)")
            }
            XCTAssertEqual(lab.ganeshaPid, server, name)
            let listed = try lab.run("/usr/sbin/showmount", ["-e", "127.0.0.1"])
            XCTAssertFalse(listed.stdout.split(separator: "\n").contains { $0.hasPrefix("/ ") }, "\(name): / never loaded: \(listed.stdout)")
            try undo()
            try assertServed("e1", "\(name): no reload was sent")
        }
        XCTAssertEqual(try nfs("start", "e2").status, success, "every file trusted again")
        try assertServed("e1")
        try assertServed("e2")
    }

    /// The client list, parsed once per call (issue 10: level 1's cost):
    /// blanks around each client are dropped (the generated block names
    /// them without, and level 1 compares the file with it), and a list
    /// with an empty client is refused by every action that reads it, level
    /// 1 included (HA_INVAL_ARGS naming `clients`), nothing written.
    func testTheClientListIsTrimmedAndABadOneRefusedAtEveryAction() throws {
        let server = ["config": lab.config, "exports_dir": lab.exportsDir, "pidfile": lab.pidFile, "log_file": lab.logFile,
                      "retries": "0"]
        try sandbox.store("nfs", "blanks", ["path": try lab.makeExportDirectory("blanks"), "export_id": "104",
                                            "clients": "  127.0.0.1 ,10.0.0.0/24  "].merging(server) { $1 })
        XCTAssertEqual(try nfs("start", "blanks").status, success)
        let text = try String(contentsOfFile: lab.exportsDir + "/fshost-nfs-blanks.conf", encoding: .utf8)
        XCTAssertTrue(text.contains("Clients = 127.0.0.1, 10.0.0.0/24;"), text)
        XCTAssertEqual(try monitor("blanks", 1).status, success)
        for (i, clients) in ["127.0.0.1,", "127.0.0.1, ,10.0.0.1"].enumerated() {
            try sandbox.store("nfs", "empty-\(i)", ["path": try lab.makeExportDirectory("empty"), "export_id": "105",
                                                    "clients": clients].merging(server) { $1 })
            let before = lab.exportsSnapshot()
            for action in [["validate"], ["start"], ["monitor", "--level", "1"]] {
                let r = try lab.fshost(["nfs", action[0], "empty-\(i)"] + action.dropFirst())
                XCTAssertEqual(r.status, invalidArguments, "\(clients) \(action): \(r)")
                XCTAssertTrue(r.stderr.contains("attribute 'clients': an empty client"), r.stderr)
                XCTAssertEqual(lab.exportsSnapshot(), before)
            }
        }
        try assertServed("blanks")
    }

    /// Finding 2: a client fshost's grammar let through that Ganesha 4.3
    /// cannot parse (`::/0`, `::1/128`) is refused at validate and start
    /// (HA_INVAL_ARGS naming `clients`; start's own block is also parsed
    /// alone before it is placed); and an own file in place that does not
    /// parse (hand-edited, or placed by an older fshost) is named as this
    /// resource's own — not "fix or remove that file … fshost sends none".
    /// Nothing changes, no reload is sent.
    func testTheOwnBlockIsParsedAndNamedAsOwn() throws {
        try defineTwo()
        XCTAssertEqual(try nfs("start", "e1").status, success)
        let server = lab.ganeshaPid
        for (i, clients) in ["127.0.0.1,::/0", "127.0.0.1, ::1/128"].enumerated() {
            // Stored as a hand edit could (`cdb define` refuses it too).
            try sandbox.store("nfs", "v6-\(i)", ["path": try lab.makeExportDirectory("v6"), "export_id": "103", "clients": clients,
                                                 "config": lab.config, "exports_dir": lab.exportsDir, "pidfile": lab.pidFile])
            let before = lab.exportsSnapshot()
            for action in ["validate", "start"] {
                let r = try nfs(action, "v6-\(i)")
                XCTAssertEqual(r.status, invalidArguments, "\(clients) \(action): \(r)")
                XCTAssertTrue(r.stderr.contains("attribute 'clients'") && r.stderr.contains("1-99"), r.stderr)
                XCTAssertEqual(lab.exportsSnapshot(), before)
            }
        }
        // e2's own file, in place but not parseable (as an older fshost wrote it).
        let own = lab.exportsDir + "/fshost-nfs-e2.conf"
        try "EXPORT { Export_Id = 102; Path = \"/tmp\"; Pseudo = \"/two\"; CLIENT { Clients = 127.0.0.1, ::/0; Access_Type = RO; } FSAL { Name = VFS; } }\n"
            .write(toFile: own, atomically: false, encoding: .utf8)
        let before = lab.exportsSnapshot()
        for action in ["validate", "start"] {
            let r = try nfs(action, "e2")
            XCTAssertEqual(r.status, noConfigInfo, "\(action): \(r)")
            XCTAssertTrue(r.stderr.contains("this resource's own export file \(own) does not parse"), r.stderr)
            XCTAssertFalse(r.stderr.contains("fshost sends none") || r.stderr.contains("fix or remove that file"), r.stderr)
            XCTAssertEqual(lab.exportsSnapshot(), before)
        }
        XCTAssertEqual(lab.ganeshaPid, server)
        try assertServed("e1", "no reload was sent")
        // stop removes it anyway (it is what stop withdraws): the set then parses and is reloaded.
        let stopped = try nfs("stop", "e2")
        XCTAssertEqual(stopped.status, success, stopped.description)
        XCTAssertNil(lab.exportsSnapshot()["fshost-nfs-e2.conf"])
        try assertServed("e1", "after e2's stop")
        XCTAssertEqual(try nfs("start", "e2").status, success)
        try assertServed("e2")
    }

    /// With NFS_CORE_PARAM's Mount_Path_Pseudo = true (here in an
    /// %include'd file of the config), Ganesha 4.3's MOUNT protocol names
    /// and mounts exports by their pseudo paths (mnt_Export.c, mnt_Mnt.c):
    /// start's wait, levels 2 and 3 (NFSv3) and stop ask for the pseudo
    /// path, and all pass or withdraw as with paths.
    func testMountPathPseudoMakesNFSv3UseThePseudoPath() throws {
        let core = lab.directory + "/core.conf"
        try "NFS_CORE_PARAM { Enable_NLM = false; Enable_RQUOTA = false; Protocols = 3, 4; Mount_Path_Pseudo = TRUE; }\n"
            .write(toFile: core, atomically: true, encoding: .utf8)
        let config = try String(contentsOfFile: lab.config, encoding: .utf8).split(separator: "\n")
            .map { $0.hasPrefix("NFS_CORE_PARAM") ? "%include \"\(core)\"" : String($0) }.joined(separator: "\n") + "\n"
        try config.write(toFile: lab.config, atomically: true, encoding: .utf8)
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101, ["pseudo=/one"])
        let started = try nfs("start", "e1")
        XCTAssertEqual(started.status, success, started.description)
        let listed = try lab.run("/usr/sbin/showmount", ["-e", "127.0.0.1"])
        XCTAssertTrue(listed.stdout.contains("/one "), "the MOUNT list names the pseudo path: \(listed.stdout)")
        for level in 1...3 {
            let r = try monitor("e1", level)
            XCTAssertEqual(r.status, success, "level \(level): \(r)")
        }
        // Withdrawn: stop waited until /one was no longer listed.
        XCTAssertEqual(try nfs("stop", "e1").status, success)
        XCTAssertFalse(try lab.run("/usr/sbin/showmount", ["-e", "127.0.0.1"]).stdout.contains("/one "))
        XCTAssertEqual(try monitor("e1", 2).status, notRunning)
    }

    /// Ganesha's attribute cache kept a root made unreadable passing level
    /// 3 for ~50 s: the export block sets Attr_Expiration_Time = 0, and the
    /// very next level 3 fails; made readable again, the next one passes.
    func testRootMadeUnreadableAfterStartFailsTheNextLevel3() throws {
        let dir = try lab.makeExportDirectory("e1")
        try define("e1", path: dir, id: 101, ["squash=all_squash"])
        XCTAssertEqual(try nfs("start", "e1").status, success)
        XCTAssertEqual(try monitor("e1", 3).status, success, "readable")
        XCTAssertEqual(chmod(dir, 0o700), 0)
        let r = try monitor("e1", 3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("reading the root"), r.stderr)
        XCTAssertEqual(chmod(dir, 0o755), 0)
        XCTAssertEqual(try monitor("e1", 3).status, success, "readable again")
        XCTAssertTrue(lab.exportsSnapshot()["fshost-nfs-e1.conf"].map { String(decoding: $0, as: UTF8.self) }?
            .contains("Attr_Expiration_Time = 0;") == true)
    }

    /// The exports directory made writable by others, or given to another
    /// user, after start: every monitor level fails with start's own
    /// reason; put right, it passes again.
    func testAnExportsDirectoryMadeUntrustedFailsTheMonitor() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        XCTAssertEqual(try nfs("start", "e1").status, success)
        for (change, words) in [({ chmod(self.lab.exportsDir, 0o777) }, "writable by others"),
                                ({ chown(self.lab.exportsDir, 65534, 0) }, "owned by")] as [(() -> Int32, String)] {
            XCTAssertEqual(change(), 0)
            for level in 1...3 {
                let r = try monitor("e1", level)
                XCTAssertEqual(r.status, commandFailed, "\(words), level \(level): \(r)")
                XCTAssertTrue(r.stderr.contains("attribute 'exports_dir'") && r.stderr.contains(words), r.stderr)
            }
            XCTAssertEqual(chmod(lab.exportsDir, 0o755), 0)
            XCTAssertEqual(chown(lab.exportsDir, 0, 0), 0)
            XCTAssertEqual(try monitor("e1", 3).status, success, "put right")
        }
    }

    /// Timeouts and level 3's protocol only say how long and how deep the
    /// monitor looks: the plugin declares them monitor-only, so `cdb
    /// modify`, `modify-type` and `import` change them on a running export
    /// without --force; where it is found (path, exports_dir) still needs it
    /// stopped. `fshost describe` says which.
    func testMonitorOnlyAttributesChangeWhileRunningWithoutForce() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        XCTAssertEqual(try nfs("start", "e1").status, success)
        for change in ["list_timeout=3s", "mount_timeout=4s", "mount_version=4"] {
            let r = try sandbox.fshost(["cdb", "modify", "nfs", "e1", change])
            XCTAssertEqual(r.status, success, "\(change): \(r)")
        }
        XCTAssertEqual(try sandbox.fshost(["cdb", "modify-type", "nfs", "list_timeout=2500ms"]).status, success)
        let file = sandbox.path("import.toml")
        let exported = try sandbox.fshost(["cdb", "export"])
        try exported.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix("mount_timeout = ") ? "mount_timeout = \"6s\"" : String($0) }.joined(separator: "\n")
            .write(toFile: file, atomically: true, encoding: .utf8)
        XCTAssertTrue(try String(contentsOfFile: file, encoding: .utf8).contains("mount_timeout = \"6s\""), exported.stdout)
        let imported = try sandbox.fshost(["cdb", "import", file])
        XCTAssertEqual(imported.status, success, imported.description)
        XCTAssertEqual(try sandbox.fshost(["cdb", "get", "nfs", "e1", "mount_timeout"]).stdout, "6000ms\n")
        let refused = try sandbox.fshost(["cdb", "modify", "nfs", "e1", "path=/tmp", "list_timeout=1s"])
        XCTAssertEqual(refused.status, running, refused.description)
        XCTAssertTrue(refused.stderr.contains("changing path") && !refused.stderr.contains("list_timeout"), refused.stderr)
        XCTAssertEqual(try monitor("e1", 3).status, success)
        let described = try sandbox.fshost(["describe", "nfs"]).stdout
        for name in ["list_timeout", "mount_timeout", "mount_version"] {
            XCTAssertTrue(described.split(separator: "\n").contains { $0.contains(name + " (") && $0.contains("monitor-only") }, described)
        }
        XCTAssertFalse(described.split(separator: "\n").contains { $0.contains("path (") && $0.contains("monitor-only") }, described)
    }

    // MARK: libnfs stays off level 1

    func testPluginDoesNotLinkLibnfsOnlyTheCompanionDoes() throws {
        func needed(_ product: String) throws -> [String] {
            let r = try sandbox.run("/usr/bin/readelf", ["-d", HostSandbox.products.appendingPathComponent(product).path])
            guard r.status == 0 else { throw SetupFailure("readelf -d \(product): \(r)") }
            return r.stdout.split(separator: "\n").filter { $0.contains("(NEEDED)") }.map(String.init)
        }
        XCTAssertFalse(try needed("libnfs.so").contains { $0.contains("libnfs.so.") }, "the plugin must not need libnfs")
        XCTAssertTrue(try needed("libnfs-client.so").contains { $0.contains("[libnfs.so.13]") }, "the companion links libnfs")
    }

    func testLevel1NeverLoadsLibnfsLevel3Does() throws {
        try define("e1", path: try lab.makeExportDirectory("e1"), id: 101)
        XCTAssertEqual(try nfs("start", "e1").status, success)
        func opened(_ level: Int) throws -> String {
            let trace = sandbox.path("trace-\(level)")
            let r = try lab.run("/usr/bin/strace", ["-f", "-e", "trace=openat", "-o", trace,
                                                    HostSandbox.products.appendingPathComponent("fshost").path,
                                                    "nfs", "monitor", "e1", "--level", String(level)])
            XCTAssertEqual(r.status, success, "level \(level) under strace: \(r)")
            return (try? String(contentsOfFile: trace, encoding: .utf8)) ?? ""
        }
        XCTAssertFalse(try opened(1).contains("libnfs.so.13"), "level 1 opened libnfs")
        XCTAssertTrue(try opened(3).contains("libnfs.so.13"), "level 3 loads libnfs through the companion")
    }

    // MARK: The kernel backend

    /// The kernel has an NFS server: /proc/filesystems lists nfsd (an empty
    /// /proc/fs/nfsd directory, as on this machine, proves nothing).
    var kernelHasNfsd: Bool {
        ((try? String(contentsOfFile: "/proc/filesystems", encoding: .utf8)) ?? "").split(separator: "\n").contains { $0.hasSuffix("\tnfsd") }
    }

    func testKernelBackendIsRefusedWithoutNfsd() throws {
        guard !kernelHasNfsd else { return }  // covered by the test below
        try define("k1", path: try lab.makeExportDirectory("k1"), id: 401, ["backend=kernel"])
        let r = try nfs("start", "k1")
        XCTAssertEqual(r.status, noConfigInfo, r.description)
        XCTAssertTrue(r.stderr.contains("nfsd") && r.stderr.contains("backend"), r.stderr)
    }

    func testKernelBackendExportsAndUnexports() throws {
        guard kernelHasNfsd else {
            throw XCTSkip("this kernel has no NFS server (no nfsd in /proc/filesystems; /proc/fs/nfsd is "
                          + (FileManager.default.fileExists(atPath: "/proc/fs/nfsd") ? "an empty directory" : "missing")
                          + "): the kernel backend cannot run here")
        }
        guard FileManager.default.isExecutableFile(atPath: "/usr/sbin/exportfs") else {
            throw SetupFailure("/usr/sbin/exportfs is not installed (Debian package nfs-kernel-server)")
        }
        let path = try lab.makeExportDirectory("k1")
        let r = try sandbox.fshost(["cdb", "define", "nfs", "k1", "path=\(path)", "export_id=401", "clients=127.0.0.1",
                                    "backend=kernel", "retries=0"])
        XCTAssertEqual(r.status, success, r.description)
        XCTAssertEqual(try sandbox.fshost(["nfs", "start", "k1"]).status, success)
        XCTAssertEqual(try sandbox.fshost(["nfs", "monitor", "k1", "--level", "1"]).status, success)
        XCTAssertEqual(try sandbox.fshost(["nfs", "exclusive", "k1"]).status, running)
        XCTAssertEqual(try sandbox.fshost(["nfs", "stop", "k1"]).status, success)
        XCTAssertEqual(try sandbox.fshost(["nfs", "monitor", "k1", "--level", "1"]).status, notRunning)
    }
}
