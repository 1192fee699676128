@testable import FSHost
import Foundation
import TestSupport
import XCTest

/// The batch's pool (issue 13, Performance): at most `--parallel` workers,
/// each loading the plugin once and running resources one after another.
/// A resource whose plugin crashes, hangs or freezes mid-pool costs its own
/// line only: the resources after it run in a new worker and answer their
/// real statuses, in IN's order.
extension BatchModeTests {
    /// How many workers loaded the plugin: one `dlopen` phase per worker in
    /// the `FSHOST_TIMING` lines (a pool worker's later resources have none).
    func pluginLoads(_ stderr: String) -> Int { stderr.components(separatedBy: "timing=\"dlopen ").count - 1 }

    /// Launches the batch `arguments`, waits until `count` processes run
    /// `command`, sends it TERM; returns its stderr, and
    /// checks that it answered 3 (not killed by the signal) and that no
    /// `command` is left.
    func terminate(_ arguments: [String], whenRunning command: String, count: Int,
                   file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let host = try XCTUnwrap(LaunchedHost(sandbox, arguments))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { processes(containing: command).count == count },
                      "the resources did not start their commands", file: file, line: line)
        kill(host.pid, SIGTERM)
        let status = try XCTUnwrap(host.wait(milliseconds: 5000), "the batch did not end after TERM", file: file, line: line)
        XCTAssertEqual(status & 0x7F, 0, "answered, not killed by the signal", file: file, line: line)
        XCTAssertEqual((status >> 8) & 0xFF, 3, file: file, line: line)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) { processes(containing: command).isEmpty },
                      "a hung resource's command outlived the batch", file: file, line: line)
        return host.stderr
    }

    /// Stores `resources` (testfixture, port 80 plus their attributes), runs
    /// them as one batch of `action` with `--parallel 1`, with the timing
    /// lines on; returns OUT's lines and the call.
    func runPool(_ action: String, _ resources: KeyValuePairs<String, [String: String]>) throws -> ([String], HostSandbox.Result) {
        sandbox.extraEnvironment["FSHOST_TIMING"] = "1"
        for (name, attributes) in resources {
            try sandbox.store("testfixture", name, attributes.merging(["port": "80"]) { mine, _ in mine })
        }
        let out = sandbox.path("out")
        let r = try sandbox.fshost("testfixture", action, try write("in", resources.map { $0.key + "\n" }.joined()), out,
                                   "--parallel", "1")
        return (try lines(out), r)
    }

    /// Five resources, `--parallel 1`: one worker runs them all, loading
    /// the plugin once; with `--parallel 2`, six resources, two workers at most.
    func testPoolWorkerLoadsThePluginOnceForManyResources() throws {
        sandbox.extraEnvironment["FSHOST_TIMING"] = "1"
        let names = (1...6).map { "p\($0)" }
        for name in names { try sandbox.store("testfixture", name, ["port": "80"]) }
        let out = sandbox.path("out")
        var r = try sandbox.fshost("testfixture", "monitor", try write("in", names.prefix(5).map { $0 + "\n" }.joined()),
                                   out, "--parallel", "1")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertEqual(try lines(out), names.prefix(5).map { $0 + " 0" })
        XCTAssertEqual(pluginLoads(r.stderr), 1, r.stderr)
        r = try sandbox.fshost("testfixture", "monitor", try write("in6", names.map { $0 + "\n" }.joined()),
                               out, "--parallel", "2")
        XCTAssertEqual(try lines(out), names.map { $0 + " 0" }, r.stderr)
        XCTAssertLessThanOrEqual(pluginLoads(r.stderr), 2, r.stderr)
    }

    /// Workers are added 5 ms apart while every one is busy (quick
    /// resources share the workers there are): four resources that each
    /// take 1 s still run at once, in four workers, under the default 8.
    func testSlowResourcesEachGetAWorker() throws {
        sandbox.extraEnvironment["FSHOST_TIMING"] = "1"
        let names = (1...4).map { "s\($0)" }
        for name in names { try sandbox.store("testfixture", name, ["port": "80", "hang": "1s"]) }
        let out = sandbox.path("out")
        let r = try sandbox.fshost("testfixture", "monitor", try write("in", names.map { $0 + "\n" }.joined()), out)
        XCTAssertEqual(try lines(out), names.map { $0 + " 0" }, r.stderr)
        XCTAssertLessThan(r.milliseconds, 1900, "the four ran one after another: \(r.description)")
        XCTAssertEqual(pluginLoads(r.stderr), 4, r.stderr)
    }

    /// `--parallel 1`, the second resource's plugin crashes (SIGSEGV): it
    /// answers HA_CMD_FAILED, and the three after it run in a new worker
    /// and answer their own statuses (not running, a plugin's 4, success).
    func testCrashMidPoolCostsOneLine() throws {
        let (got, r) = try runPool("monitor", ["a": [:], "b": ["fault": "crash"], "c": ["marker": sandbox.path("no-marker")],
                                               "d": ["monitor_level": "2", "fail_probes": "1", "fail_status": "4"], "e": [:]])
        XCTAssertEqual(got, ["a 0", "b 3", "c 1", "d 4", "e 0"], r.stderr)
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertTrue(r.stderr.contains("plugin testfixture ended the process during monitor: killed by signal 11 (SIGSEGV)"), r.stderr)
        XCTAssertEqual(pluginLoads(r.stderr), 2, "the resources after the crash run in a new worker: \(r.stderr)")
    }

    /// `--parallel 1`, two resources hang mid-pool (one in a command the
    /// plugin runs, one in the plugin's own code, abandoned by the
    /// watchdog): each answers HA_TIMEDOUT at its own 1 s timeout, its
    /// worker ends (its lock with it), and the queue goes on in a new
    /// worker; no hung command is left.
    func testHangsMidPoolCostTheirOwnLinesAtTheirOwnTimeouts() throws {
        let (got, r) = try runPool("monitor", [
            "a": [:], "h1": ["hang": "31555ms", "monitor_timeout": "1s"], "c": ["marker": sandbox.path("no-marker")],
            "h2": ["hang": "60s", "hang_in_process": "true", "monitor_timeout": "1s"], "e": [:]])
        XCTAssertEqual(got, ["a 0", "h1 8", "c 1", "h2 8", "e 0"], r.stderr)
        XCTAssertGreaterThanOrEqual(r.milliseconds, 2000, "each hung line waited for its own timeout")
        XCTAssertLessThan(r.milliseconds, 2000 + 2500, r.description)
        XCTAssertEqual(pluginLoads(r.stderr), 3, "a new worker after each hang: \(r.stderr)")
        XCTAssertTrue(processes(containing: "sleep 31.555").isEmpty, "the hung command outlived its line")
    }

    /// `--parallel 1`, a worker freezes (SIGSTOP: its watchdog stops with
    /// it) mid-pool: the batch kills it at that resource's deadline plus
    /// the grace (HA_TIMEDOUT), and the next resource runs in a new worker.
    func testFrozenWorkerMidPoolIsKilledAndTheQueueGoesOn() throws {
        let (got, r) = try runPool("monitor", ["a": [:], "frozen": ["fault": "freeze", "monitor_timeout": "1s"],
                                               "c": ["marker": sandbox.path("no-marker")]])
        XCTAssertEqual(got, ["a 0", "frozen 8", "c 1"], r.stderr)
        XCTAssertGreaterThanOrEqual(r.milliseconds, 1000, "killed before its deadline")
        XCTAssertLessThan(r.milliseconds, 1000 + 2500 + 2000, r.description)
        XCTAssertTrue(r.stderr.contains("did not finish within 1000 ms and its worker did not answer"), r.stderr)
    }

    /// A start's daemon is below its worker: that worker takes no further
    /// resource, so a later resource's timeout (whose worker kills all
    /// below it) never ends the daemon; the resource after it still starts.
    func testStartedDaemonSurvivesALaterHangInThePool() throws {
        let tag = "32444"
        let (got, r) = try runPool("start", [
            "d1": ["command": "[\"sleep\",\"\(tag)\"]", "process_name": "sleep"],
            "h": ["hang": "60s", "hang_in_process": "true", "start_timeout": "1s"], "m": ["marker": sandbox.path("marker")]])
        XCTAssertEqual(got, ["d1 0", "h 8", "m 0"], r.stderr)
        XCTAssertEqual(pluginLoads(r.stderr), 3, "a new worker after the start and after the hang: \(r.stderr)")
        XCTAssertEqual(processes(containing: "sleep \(tag)").count, 1, "the started daemon was killed: \(r.stderr)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: sandbox.path("marker")), "the resource after the hang started")
        XCTAssertEqual(try sandbox.fshost("testfixture", "stop", "d1").status, 0)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) { processes(containing: "sleep \(tag)").isEmpty })
    }

    /// What a started daemon forks LATER and orphans comes to the batch (a
    /// subreaper) with no ancestry to the spared daemon: it is spared by
    /// the daemon's process group or session, as a single call would leave
    /// it, through a later crash's clean-up and through TERM to the batch.
    func testDaemonsLaterOrphanSurvivesALaterCleanUp() throws {
        for stopped in [false, true] {
            // The sh's own command line must not name the orphan's.
            let tag = stopped ? "32302" : "32301", p = stopped ? "s" : "a"
            try sandbox.store("testfixture", p + "d1", ["port": "80", "process_name": "sh",
                "command": "[\"sh\",\"-c\",\"t=\(tag); sleep 1; (sleep $t &); sleep 32303\"]"])
            try sandbox.store("testfixture", p + "h3", ["port": "80", "hang": stopped ? "60s" : "3s", "start_timeout": "90s"])
            try sandbox.store("testfixture", p + "c1", ["port": "80", "fault": "crash"])
            let input = try write("in", "\(p)d1\n\(p)h3\n\(p)c1\n")
            let out = sandbox.path("out")
            try? FileManager.default.removeItem(atPath: out)
            if stopped {
                let host = try XCTUnwrap(LaunchedHost(sandbox, ["testfixture", "start", input, out, "--parallel", "1"]))
                XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 8000) { processes(containing: "sleep \(tag)").count == 1 })
                kill(host.pid, SIGTERM)
                _ = host.wait(milliseconds: 5000)
                XCTAssertEqual(try lines(out), ["sd1 0", "sh3 3", "sc1 3"], host.stderr)
            } else {
                let r = try sandbox.fshost("testfixture", "start", input, out, "--parallel", "1")
                XCTAssertEqual(try lines(out), ["ad1 0", "ah3 0", "ac1 3"], r.stderr)
            }
            XCTAssertEqual(processes(containing: "sleep \(tag)").count, 1, "the daemon's later orphan was killed")
            XCTAssertEqual(try sandbox.fshost("testfixture", "stop", p + "d1").status, 0)
            for pattern in ["sleep \(tag)", "sleep 32303"] {
                for pid in processes(containing: pattern) { kill(pid, SIGKILL) }
            }
        }
    }

    /// A pool worker (a fork, no exec) holds neither OUT's temporary file
    /// nor its directory: they are closed in it, as the other workers' pipes.
    func testPoolWorkerHoldsNoneOfOUTsDescriptors() throws {
        try sandbox.store("testfixture", "h", ["port": "80", "hang": "32777ms", "monitor_timeout": "60s"])
        let input = try write("in", "h\n")
        let outdir = sandbox.path("outdir")
        try FileManager.default.createDirectory(atPath: outdir, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["testfixture", "monitor", input, outdir + "/out", "--parallel", "1"]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { processes(containing: "sleep 32.777").count == 1 })
        let workers = processes(containing: input).filter { $0 != host.pid }
        XCTAssertFalse(workers.isEmpty, "no worker found")
        func held(_ pid: Int32) -> [String] {
            let fds = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd")) ?? []
            return fds.compactMap { try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/fd/\($0)") }
        }
        XCTAssertTrue(held(host.pid).contains { $0.hasPrefix(outdir + "/.out.tmp.") }, "the batch holds OUT's temporary file: \(held(host.pid))")
        for pid in workers {
            let bad = held(pid).filter { $0 == outdir || $0.hasPrefix(outdir + "/") }
            XCTAssertEqual(bad, [], "worker \(pid) holds OUT's descriptors")
        }
        kill(host.pid, SIGTERM)
        _ = host.wait(milliseconds: 5000)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) { processes(containing: "sleep 32.777").isEmpty })
    }

    /// A job that leaves its worker's working directory or network
    /// namespace changed (a chdir, an unshare or setns not undone) is that
    /// worker's last: the next resource runs in a fresh worker (a new
    /// plugin load) and answers as it would alone.
    func testWorkerWhoseSurroundingsChangedRetires() throws {
        let (got, r) = try runPool("monitor", ["a": ["fault": "chdir"], "b": [:], "c": ["fault": "netns"], "d": [:]])
        XCTAssertEqual(got, ["a 0", "b 0", "c 0", "d 0"], r.stderr)
        XCTAssertEqual(pluginLoads(r.stderr), 3, "a new worker after a and after c: \(r.stderr)")
        XCTAssertEqual(r.stderr.components(separatedBy: "left this worker's namespaces or working directory changed").count - 1, 2, r.stderr)
    }

    /// The check itself: a chdir and an unshare of the network namespace
    /// on this thread are seen (the test runs in a thread it ends).
    func testWorkerSurroundingsSeeAChdirAndAnUnshare() throws {
        final class Box: @unchecked Sendable { var seen = (false, false, false) }
        let box = Box(), finished = DispatchSemaphore(value: 0)
        let thread = Thread {
            defer { finished.signal() }
            let before = WorkerSurroundings.current()
            let same = WorkerSurroundings.current() == before
            // CLONE_FS: this thread's cwd only, not the test process's.
            // unshare(2) is _GNU_SOURCE (not in Swift's Glibc): through dlsym.
            typealias Unshare = @convention(c) (Int32) -> Int32
            guard let symbol = dlsym(nil, "unshare") else { return }
            let unshare = unsafeBitCast(symbol, to: Unshare.self)
            guard unshare(0x200) == 0 else { return }   // CLONE_FS
            _ = chdir("/proc")
            let moved = WorkerSurroundings.current().directory == "/proc"
            let entered = unshare(0x4000_0000) == 0   // CLONE_NEWNET
                && WorkerSurroundings.current().network != before.network
            box.seen = (same, moved, entered)
        }
        thread.start()
        XCTAssertEqual(finished.wait(timeout: .now() + 3), .success)
        let (same, moved, entered) = box.seen
        XCTAssertTrue(same && moved && entered, "\(same) \(moved) \(entered)")
    }

    /// TERM while a pool worker runs its second resource: the first keeps
    /// its answer, the running one and the one waiting answer 3, and
    /// nothing is left. SIGKILL instead: no worker or command is left, and
    /// OUT does not appear.
    func testStoppedOrKilledBatchMidPool() throws {
        try sandbox.store("testfixture", "a", ["port": "80"])
        try sandbox.store("testfixture", "h", ["port": "80", "hang": "32666ms", "monitor_timeout": "60s"])
        try sandbox.store("testfixture", "w", ["port": "80"])
        let input = try write("in", "a\nh\nw\n")
        let out = sandbox.path("out")
        let stderr = try terminate(["testfixture", "monitor", input, out, "--parallel", "1"], whenRunning: "sleep 32.666", count: 1)
        XCTAssertEqual(try lines(out), ["a 0", "h 3", "w 3"], stderr)

        try FileManager.default.removeItem(atPath: out)
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["testfixture", "monitor", input, out, "--parallel", "1"]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { processes(containing: "sleep 32.666").count == 1 },
                      "the second resource did not start its command")
        kill(host.pid, SIGKILL)
        _ = host.wait(milliseconds: 5000)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            processes(containing: "sleep 32.666").isEmpty && processes(containing: input).isEmpty
        }, "left after the batch was killed: \(processes(containing: input))")
        XCTAssertFalse(FileManager.default.fileExists(atPath: out), "OUT appears whole or not at all")
    }

    /// A job sent to a worker that ended before it began it goes back to the
    /// queue, once; begun, stopped by TERM, or killed at its deadline, it
    /// gets the answer that stands for it. (The window, between a worker's
    /// answer and its next read, is too narrow to hit from a test.)
    func testJobNeverBegunIsQueuedAgainOnce() {
        var ended = Supervisor.Run()
        ended.waitStatus = 11
        XCTAssertTrue(BatchWorkers.queuesAgain(begun: false, run: ended, queuedBefore: false))
        XCTAssertFalse(BatchWorkers.queuesAgain(begun: false, run: ended, queuedBefore: true), "once")
        XCTAssertFalse(BatchWorkers.queuesAgain(begun: true, run: ended, queuedBefore: false), "begun: its answer")
        var stopped = ended
        stopped.interruption = SIGTERM
        XCTAssertFalse(BatchWorkers.queuesAgain(begun: false, run: stopped, queuedBefore: false), "the batch stops")
        var late = ended
        late.unanswered = true
        XCTAssertFalse(BatchWorkers.queuesAgain(begun: false, run: late, queuedBefore: false), "killed at its set-up limit")
    }

    /// The job message a pool worker reads: index and send time, 16 bytes.
    func testPoolJobMessageRoundTrip() {
        for job in [PoolWorker.Job(index: 0, started: 0), PoolWorker.Job(index: 49, started: 123_456_789_012)] {
            XCTAssertEqual(job.encoded.count, 16)
            XCTAssertEqual(PoolWorker.Job.decode(job.encoded), job)
        }
        XCTAssertNil(PoolWorker.Job.decode([1, 2, 3]))
        XCTAssertNil(PoolWorker.Job.decode([UInt8](repeating: 0xFF, count: 16)), "a negative index")
    }
}
