import CSystemShims
import Foundation
@testable import ProcScan
import Spawn
import TestSupport
import XCTest

/// The /proc scanner against real processes the tests start (and kill).
final class ProcScanTests: XCTestCase {
    private var directory = ""
    private var children: [ChildProcess] = []

    override func setUp() {
        directory = ProcessFixtures.makeTemporaryDirectory(prefix: "procscan")
    }

    override func tearDown() {
        for child in children { child.stop() }
        children = []
        ProcessFixtures.removeTree(directory)
    }

    /// Starts `argv` and keeps it for tearDown.
    private func start(_ argv: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ChildProcess {
        let child = try XCTUnwrap(ChildProcess(argv), "cannot start \(argv)", file: file, line: line)
        children.append(child)
        return child
    }

    /// A fresh scan's entry for `pid` once `ready` holds for it (exec done).
    private func entry(_ pid: Int32, where ready: (ProcessEntry) -> Bool = { _ in true },
                       file: StaticString = #filePath, line: UInt = #line) throws -> ProcessEntry {
        var found: ProcessEntry?
        ProcessFixtures.waitUntil(milliseconds: 5000) {
            found = ProcessTable().entry(pid: pid)
            return found.map(ready) ?? false
        }
        return try XCTUnwrap(found.flatMap { ready($0) ? $0 : nil }, "pid \(pid) not seen as expected", file: file, line: line)
    }

    private func copySleep(named name: String) throws -> String {
        let sleep = try XCTUnwrap(ProcessFixtures.which("sleep"))
        let path = "\(directory)/\(name)"
        XCTAssertTrue(ProcessFixtures.copyExecutable(from: sleep, to: path))
        return path
    }

    // MARK: stat parsing

    func testStatLineWithSpacesAndParenthesesInComm() throws {
        let line = "4242 (my (odd) sleep) S 17 4242 4242 0 -1 4194304 98 0 0 0 0 0 0 0 20 0 1 0 46449 3133440 362 0\n"
        let f = try XCTUnwrap(line.utf8CString.withUnsafeBytes { parseStat(UnsafeRawBufferPointer(rebasing: $0.dropLast())) })
        XCTAssertEqual(f.pid, 4242)
        XCTAssertEqual(f.state, UInt8(ascii: "S"))
        XCTAssertEqual(f.ppid, 17)
        XCTAssertEqual(f.processGroup, 4242)
        XCTAssertEqual(f.startTime, 46449)
        let comm = Array(line.utf8)[f.commStart..<f.commEnd]
        XCTAssertEqual(String(decoding: comm, as: UTF8.self), "my (odd) sleep")

        for odd in [") ) (", ")", "a) S 1 2 3", "((("] {
            let text = "7 (\(odd)) R 1 7 7 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 99 0 0\n"
            let g = try XCTUnwrap(text.utf8CString.withUnsafeBytes { parseStat(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }, odd)
            XCTAssertEqual(String(decoding: Array(text.utf8)[g.commStart..<g.commEnd], as: UTF8.self), odd)
            XCTAssertEqual(g.startTime, 99, odd)
            XCTAssertEqual(g.ppid, 1, odd)
        }
        for bad in ["", "x (a) S", "12 (a S 1", "12 (a) S 1 2", "12 a) S 1 2 3"] {
            XCTAssertNil(bad.utf8CString.withUnsafeBytes { parseStat(UnsafeRawBufferPointer(rebasing: $0.dropLast())) }, bad)
        }
    }

    func testProcessWhoseCommHasSpacesAndParentheses() throws {
        let path = try copySleep(named: "my (odd) sleep")
        let child = try start([path, "30"])
        let e = try entry(child.pid) { $0.comm == "my (odd) sleep" }
        XCTAssertEqual(e.ppid, getpid())
        XCTAssertEqual(e.processGroup, child.pid)
        XCTAssertEqual(e.arguments, [path, "30"])
        XCTAssertEqual(e.commandLine, "\(path) 30")
        XCTAssertEqual(e.startTime, processStartTime(pid: child.pid))
        XCTAssertEqual(e.exe, path)
        XCTAssertFalse(e.isKernelThread)
        let direct = try XCTUnwrap(ProcessEntry(pid: child.pid), "read directly, without a scan")
        XCTAssertEqual(direct.startTime, e.startTime)
        XCTAssertEqual(direct.comm, e.comm)
        XCTAssertEqual(direct.arguments, e.arguments)
        let table = ProcessTable()
        XCTAssertEqual(table.matching(ProcessPattern(name: "my (odd) sleep")).map(\.pid), [child.pid])
        XCTAssertEqual(table.matching(ProcessPattern(name: path)).map(\.pid), [child.pid], "a path matches argv[0]")
        XCTAssertEqual(table.containing("(odd) sl").map(\.pid), [child.pid])
        XCTAssertEqual(ProcessTable.first { $0.commandLineContains("(odd) sleep 30") }?.pid, child.pid)
        XCTAssertNil(ProcessTable.first { $0.pid == getpid() })
    }

    func testNameLongerThanFifteenBytes() throws {
        let path = try copySleep(named: "averyveryverylongname")
        let child = try start([path, "30"])
        let e = try entry(child.pid) { $0.comm == "averyveryverylo" }
        XCTAssertEqual(e.comm, "averyveryverylo", "the kernel cuts comm at 15 bytes")
        let table = ProcessTable()
        XCTAssertEqual(table.matching(ProcessPattern(name: "averyveryverylongname")).map(\.pid), [child.pid],
                       "the full name matches through argv[0]")
        XCTAssertEqual(table.matching(ProcessPattern(name: "averyveryverylo")).map(\.pid), [child.pid],
                       "the cut name is comm")
        XCTAssertTrue(table.matching(ProcessPattern(name: "averyveryverylongnameX")).isEmpty)
        XCTAssertTrue(table.matching(ProcessPattern(name: "averyveryverylongnam")).isEmpty)
    }

    func testLongNameWhoseArgv0SaysSomethingElseMatchesThroughExe() throws {
        let path = try copySleep(named: "averyveryverylongname")
        let marker = "3000.\(Int.random(in: 100_000...999_999))"
        // exec -a: argv[0] is "renamed", comm is the cut file name.
        let child = try start(["bash", "-c", "exec -a renamed \"$0\" \(marker)", path])
        _ = try entry(child.pid) { $0.comm == "averyveryverylo" }
        let table = ProcessTable()
        XCTAssertEqual(table.matching(ProcessPattern(name: "renamed")).map(\.pid), [child.pid], "argv[0] basename")
        XCTAssertEqual(table.matching(ProcessPattern(name: "averyveryverylongname")).map(\.pid), [child.pid],
                       "cut comm + /proc/pid/exe basename")
        XCTAssertTrue(table.matching(ProcessPattern(name: "averyveryverylongnamX")).isEmpty,
                      "same 15-byte prefix, other exe")
    }

    func testArgumentOnlyInArgv2() throws {
        let marker = ProcessFixtures.uniqueMarker("argv2")
        // argv = [sh, -c, "sleep 30; : MARKER"]; `; :` keeps sh from exec'ing sleep.
        let script = "sleep 30; : \(marker)"
        let child = try start(["sh", "-c", script])
        _ = try entry(child.pid) { $0.arguments.count == 3 }
        // sh forks before it execs `sleep`: until then the fork carries sh's
        // command line too. Wait until only sh itself does.
        _ = ProcessFixtures.waitUntil(milliseconds: 3000) {
            ProcessTable().matching(ProcessPattern(argument: .contains(marker))).map(\.pid) == [child.pid]
        }
        let table = ProcessTable()
        func pids(_ p: ProcessPattern) -> [Int32] { table.matching(p).map(\.pid) }
        XCTAssertEqual(pids(ProcessPattern(argument: .contains(marker))), [child.pid])
        XCTAssertEqual(pids(ProcessPattern(name: "sh", argument: .contains(marker))), [child.pid])
        XCTAssertEqual(pids(ProcessPattern(name: "sh", argument: .anchored(script))), [child.pid])
        XCTAssertEqual(pids(ProcessPattern(name: "sh", argument: .anchored("sleep 30; *"))), [child.pid])
        XCTAssertEqual(pids(ProcessPattern(argument: .anchored("-c"))).filter { $0 == child.pid }, [child.pid])
        XCTAssertTrue(pids(ProcessPattern(argument: .anchored(marker))).isEmpty, "anchored: the whole argument")
        XCTAssertTrue(pids(ProcessPattern(argument: .contains("-c sleep"))).filter { $0 == child.pid }.isEmpty,
                      "argument patterns never span two arguments")
        XCTAssertTrue(pids(ProcessPattern(name: "bash", argument: .contains(marker))).isEmpty)
        XCTAssertTrue(pids(ProcessPattern(argument: .contains("sh"))).filter { $0 == child.pid }.isEmpty,
                      "argv[0] is the name, not an argument")
        XCTAssertTrue(pids(ProcessPattern(name: "sh", argument: .contains(marker), uid: 12345)).isEmpty)
        XCTAssertEqual(table.containing(marker).filter { $0.ppid != child.pid }.map(\.pid), [child.pid])
        XCTAssertEqual(table.containing("-c sleep 30; : \(marker)").filter { $0.ppid != child.pid }.map(\.pid), [child.pid],
                       "ha_exec2 -t searches the space-joined command line")
        XCTAssertTrue(table.containing("").isEmpty)
    }

    func testLongCommandLine() throws {
        // More than the first read buffer (4 KiB): the reader grows it.
        let long = String(repeating: "x", count: 20_000) + ProcessFixtures.uniqueMarker("long")
        let child = try start(["sh", "-c", "sleep 30; :", "sh", long, "end"])
        let e = try entry(child.pid) { $0.arguments.count == 6 }
        XCTAssertEqual(e.arguments[4], long)
        XCTAssertEqual(e.arguments.last, "end")
        // The shell's fork has its command line until it execs `sleep`: not ours to count.
        XCTAssertEqual(ProcessTable().matching(ProcessPattern(argument: .anchored(long)))
            .filter { $0.ppid != child.pid }.map(\.pid), [child.pid])
    }

    func testZombieIsExcluded() throws {
        let child = try start(["true"])
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { child.hasExited })
        // Not reaped yet: a zombie of this test process.
        let stat = try XCTUnwrap(readStat(pid: child.pid))
        XCTAssertEqual(stat.state, UInt8(ascii: "Z"))
        XCTAssertNil(ProcessTable().entry(pid: child.pid))
        XCTAssertFalse(processAlive(pid: child.pid, startTime: nil))
        XCTAssertNil(processStartTime(pid: child.pid))
        XCTAssertNil(ProcessEntry(pid: child.pid))
        child.reap()
        XCTAssertNil(ProcessEntry(pid: child.pid))
        XCTAssertNil(ProcessEntry(pid: 0))
    }

    func testScanningProcessIsExcluded() {
        XCTAssertNil(ProcessTable().entry(pid: getpid()))
        XCTAssertNil(ProcessTable.shared.entry(pid: getpid()))
        XCTAssertNotNil(ProcessTable().entry(pid: getppid()), "the parent is listed")
        XCTAssertTrue(processAlive(pid: getpid(), startTime: processStartTime(pid: getpid())))
    }

    func testEntriesAreSortedAndAllReadable() {
        let table = ProcessTable()
        XCTAssertFalse(table.entries.isEmpty)
        XCTAssertEqual(table.entries.map(\.pid), table.entries.map(\.pid).sorted())
        XCTAssertTrue(table.entries.allSatisfy { $0.state != UInt8(ascii: "Z") })
        XCTAssertTrue(table.entries.filter(\.isKernelThread).allSatisfy { $0.arguments.isEmpty })
        XCTAssertNotNil(table.entry(pid: 1))
        if let kthreadd = table.entry(pid: 2), kthreadd.isKernelThread {
            XCTAssertEqual(kthreadd.commandLine, "[\(kthreadd.comm)]")
            XCTAssertTrue(table.matching(ProcessPattern(name: "")).isEmpty, "an empty name matches nothing")
        }
    }

    func testSharedSnapshotIsTakenOnceUntilRefreshed() {
        let a = ProcessTable.shared
        XCTAssertTrue(a === ProcessTable.shared)
        ProcessTable.refreshShared()
        let b = ProcessTable.shared
        XCTAssertFalse(a === b)
        XCTAssertTrue(b === ProcessTable.shared)
    }

    // MARK: users

    func testProcessOfAnotherUser() throws {
        let marker = "3000.\(Int.random(in: 100_000...999_999))"
        let child = try start(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", marker])
        let e = try entry(child.pid) { $0.comm == "sleep" }
        XCTAssertEqual(e.uid, 65534)
        let table = ProcessTable()
        XCTAssertEqual(table.matching(ProcessPattern(name: "sleep", argument: .anchored(marker), uid: 65534)).map(\.pid),
                       [child.pid])
        XCTAssertTrue(table.matching(ProcessPattern(name: "sleep", argument: .anchored(marker), uid: 0)).isEmpty)
    }

    /// A recorded identity (pid + start time) holds for a process of
    /// another user only when the resource declares that user as its
    /// owner (a log writer's `user`): a writer run by `setpriv` as nobody.
    func testARecordedProcessOfTheDeclaredOwnerRuns() throws {
        let marker = "3000.\(Int.random(in: 100_000...999_999))"
        let child = try start(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "sleep", marker])
        let e = try entry(child.pid) { $0.comm == "sleep" }
        XCTAssertTrue(RecordedProcess.runs(pid: child.pid, startTime: e.startTime, owner: 65534))
        XCTAssertFalse(RecordedProcess.runs(pid: child.pid, startTime: e.startTime), "another user's process, no owner declared")
        XCTAssertFalse(RecordedProcess.runs(pid: child.pid, startTime: e.startTime, owner: 1), "declared owner daemon: not this")
        XCTAssertFalse(RecordedProcess.runs(pid: child.pid, startTime: e.startTime + 1, owner: 65534), "another start time")
    }

    func testNonDumpableProcessGetsItsRealUid() throws {
        // A process that drops root without exec is not dumpable: the kernel
        // shows root as the owner of its /proc/<pid>. uid must still be right.
        let marker = ProcessFixtures.uniqueMarker("nondump")
        let child = try start(["perl", "-MPOSIX", "-e", "POSIX::setuid(65534) or die; sleep 30", marker])
        let e = try entry(child.pid) { $0.arguments.last == marker && $0.owner == 0 }
        var real: UInt32 = 0
        ProcessFixtures.waitUntil(milliseconds: 3000) {
            real = ProcessTable().entry(pid: child.pid)?.uid ?? 0
            return real == 65534
        }
        XCTAssertEqual(e.owner, 0, "the kernel shows root as owner of a non-dumpable process")
        XCTAssertEqual(real, 65534)
        XCTAssertEqual(ProcessTable().matching(ProcessPattern(argument: .anchored(marker), uid: 65534)).map(\.pid),
                       [child.pid])
    }

    func testSignalFromAnUnprivilegedThreadIsNotPermitted() throws {
        let marker = "3000.\(Int.random(in: 100_000...999_999))"
        let child = try start(["sleep", marker])
        let e = try entry(child.pid) { $0.comm == "sleep" }
        // Credentials are per thread in the kernel: drop them in one thread only.
        final class Box: @unchecked Sendable { var outcomes: [SignalOutcome] = []; var dropped: Int32 = -1 }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let thread = Thread {
            box.dropped = csys_thread_setresuid(65534, 65534, 65534)
            if box.dropped == 0 {
                box.outcomes = sendSignal(0, to: [e]).map(\.outcome) + sendSignal(SIGTERM, to: [e]).map(\.outcome)
            }
            done.signal()
        }
        thread.start()
        done.wait()
        XCTAssertEqual(getuid(), 0, "the test process itself stays root")
        XCTAssertEqual(box.dropped, 0)
        XCTAssertEqual(box.outcomes, [.notPermitted, .notPermitted])
        XCTAssertTrue(processAlive(pid: child.pid, startTime: e.startTime))
    }

    // MARK: pid reuse, unreadable entries, races

    func testStaleStartTimeMeansAnotherProcess() throws {
        let child = try start(["sleep", "30"])
        let e = try entry(child.pid) { $0.comm == "sleep" }
        let real = try XCTUnwrap(processStartTime(pid: child.pid))
        XCTAssertEqual(real, e.startTime)
        XCTAssertTrue(processAlive(pid: child.pid, startTime: real))
        XCTAssertTrue(processAlive(pid: child.pid, startTime: nil))
        XCTAssertFalse(processAlive(pid: child.pid, startTime: real + 1), "same pid, other start time: not the same process")
        let stale = ProcessEntry(pid: e.pid, ppid: e.ppid, processGroup: e.processGroup, state: e.state,
                                 startTime: real + 1, comm: e.comm, flags: 0, owner: 0, commandLineBytes: [])
        XCTAssertEqual(sendSignal(SIGKILL, to: [stale]).map(\.outcome), [.gone])
        XCTAssertNil(stale.exe, "exe is not read for a reused pid")
        XCTAssertTrue(processAlive(pid: child.pid, startTime: real), "the stale entry was not signalled")
        XCTAssertFalse(processAlive(pid: 999_999_999, startTime: nil))
        XCTAssertNil(processStartTime(pid: -1))
    }

    func testUnreadableEntriesAreCountedNotErrors() throws {
        // A fake /proc: one good process, one kernel thread, and the bad cases.
        let root = "\(directory)/proc"
        mkdir(root, 0o755)
        func process(_ pid: Int, stat: String?, cmdline: String?) {
            mkdir("\(root)/\(pid)", 0o755)
            if let stat { ProcessFixtures.writeFile("\(root)/\(pid)/stat", stat) }
            if let cmdline { ProcessFixtures.writeFile("\(root)/\(pid)/cmdline", cmdline) }
        }
        let tail = "0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 5000 0 0\n"
        process(100, stat: "100 (good one) S 1 100 100 \(tail)", cmdline: "good\0--flag\0value\0")
        process(101, stat: nil, cmdline: nil)                                            // vanished
        process(102, stat: "garbage", cmdline: "x\0")                                    // does not parse
        process(103, stat: "103 (dead) Z 1 103 103 \(tail)", cmdline: "")                // zombie: left out
        process(104, stat: "104 (kworker/0:1) I 2 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0\n", cmdline: nil)
        process(105, stat: "105 (late) S 1 105 105 \(tail)", cmdline: nil)               // gone before cmdline
        process(106, stat: "106 (me) R 1 106 106 \(tail)", cmdline: "me\0")             // the scanner
        mkdir("\(root)/abc", 0o755)
        mkdir("\(root)/self", 0o755)
        let table = ProcessTable(procRoot: root, excluding: 106)
        XCTAssertEqual(table.entries.map(\.pid), [100, 104])
        XCTAssertEqual(table.unreadable, 3)
        let good = try XCTUnwrap(table.entry(pid: 100))
        XCTAssertEqual(good.comm, "good one")
        XCTAssertEqual(good.arguments, ["good", "--flag", "value"])
        XCTAssertEqual(good.startTime, 5000)
        let kthread = try XCTUnwrap(table.entry(pid: 104))
        XCTAssertTrue(kthread.isKernelThread)
        XCTAssertEqual(kthread.arguments, [])
        XCTAssertTrue(table.matching(ProcessPattern(argument: .contains(""))).map(\.pid) == [100])
        XCTAssertEqual(table.matching(ProcessPattern(name: "good")).map(\.pid), [100])
        XCTAssertEqual(table.matching(ProcessPattern(name: "kworker/0:1")).map(\.pid), [], "a name with / is a path")
        XCTAssertEqual(table.containing("kworker/0").map(\.pid), [104])
        XCTAssertEqual(ProcessTable(procRoot: "\(directory)/missing", excluding: 0).entries.count, 0)

        // first(where:) reads only until it finds one.
        var asked: [Int32] = []
        let first = ProcessTable.first(procRoot: root, excluding: 106) { asked.append($0.pid); return $0.comm == "good one" }
        XCTAssertEqual(first?.pid, 100)
        XCTAssertEqual(asked.count, 1, "stopped at the first match")
        XCTAssertNil(ProcessTable.first(procRoot: root, excluding: 106) { $0.pid == 106 || $0.pid == 103 },
                     "never the excluded process or a zombie")
    }

    func testProcessesExitingDuringTheScan() {
        // Short-lived processes appear and vanish while we scan: never an error.
        final class Flag: @unchecked Sendable { var stop = false; var spawned = 0 }
        let flag = Flag()
        let done = DispatchSemaphore(value: 0)
        let churn = Thread {
            while !flag.stop {
                _ = spawn(["true"], timeoutMilliseconds: 5000)
                flag.spawned += 1
            }
            done.signal()
        }
        churn.start()
        var scans = 0
        var unreadable = 0
        let end = ProcessFixtures.now() + 2
        while ProcessFixtures.now() < end {
            let table = ProcessTable()
            XCTAssertFalse(table.entries.isEmpty)
            XCTAssertTrue(table.entries.allSatisfy { $0.pid > 0 && $0.state != UInt8(ascii: "Z") })
            _ = table.containing("true")
            unreadable += table.unreadable
            scans += 1
        }
        flag.stop = true
        done.wait()
        XCTAssertGreaterThan(flag.spawned, 10)
        print("race: \(scans) scans while \(flag.spawned) processes came and went; \(unreadable) vanished mid-scan")
    }

    // MARK: signals

    func testSignalRefusalsExistenceAndTerm() throws {
        let table = ProcessTable()
        let initEntry = try XCTUnwrap(table.entry(pid: 1))
        let me = ProcessEntry(pid: getpid(), ppid: getppid(), processGroup: 0, state: UInt8(ascii: "R"),
                              startTime: try XCTUnwrap(processStartTime(pid: getpid())), comm: "self", flags: 0,
                              owner: 0, commandLineBytes: [])
        let zero = ProcessEntry(pid: 0, ppid: 0, processGroup: 0, state: UInt8(ascii: "R"), startTime: 0,
                                comm: "zero", flags: 0, owner: 0, commandLineBytes: [])
        for signal in [0, SIGTERM, SIGKILL] {
            let outcomes = sendSignal(signal, to: [initEntry, me, zero]).map(\.outcome)
            XCTAssertEqual(outcomes.count, 3)
            for o in outcomes {
                guard case .refused = o else { return XCTFail("expected a refusal, got \(o)") }
            }
        }

        let child = try start(["sleep", "30"])
        let e = try entry(child.pid) { $0.comm == "sleep" }
        let results = sendSignal(0, to: [e])
        XCTAssertEqual(results.map(\.pid), [child.pid])
        XCTAssertEqual(results.map(\.outcome), [.delivered], "signal 0: it exists")
        XCTAssertTrue(processAlive(pid: child.pid, startTime: e.startTime))
        XCTAssertEqual(sendSignal(SIGTERM, to: [e]).map(\.outcome), [.delivered])
        let status = child.reap()
        XCTAssertEqual(status & 0x7F, SIGTERM, "TERM ended it")
        XCTAssertEqual(sendSignal(SIGTERM, to: [e]).map(\.outcome), [.gone])
        XCTAssertFalse(processAlive(pid: child.pid, startTime: e.startTime))
    }

    func testParseSignal() {
        XCTAssertEqual(parseSignal("0"), 0)
        XCTAssertEqual(parseSignal("9"), 9)
        XCTAssertEqual(parseSignal("15"), SIGTERM)
        XCTAssertEqual(parseSignal("TERM"), SIGTERM)
        XCTAssertEqual(parseSignal("SIGTERM"), SIGTERM)
        XCTAssertEqual(parseSignal("term"), SIGTERM)
        XCTAssertEqual(parseSignal("sigkill"), SIGKILL)
        XCTAssertEqual(parseSignal("kill"), SIGKILL)
        XCTAssertEqual(parseSignal("HUP"), SIGHUP)
        XCTAssertEqual(parseSignal("USR1"), SIGUSR1)
        XCTAssertEqual(parseSignal("SIGUSR2"), SIGUSR2)
        XCTAssertEqual(parseSignal("CHLD"), SIGCHLD)
        XCTAssertEqual(parseSignal("CLD"), SIGCHLD)
        XCTAssertEqual(parseSignal("IOT"), SIGABRT)
        XCTAssertEqual(parseSignal("STOP"), SIGSTOP)
        XCTAssertEqual(parseSignal("CONT"), SIGCONT)
        XCTAssertEqual(parseSignal("RTMIN"), __libc_current_sigrtmin())
        XCTAssertEqual(parseSignal("RTMIN+2"), __libc_current_sigrtmin() + 2)
        XCTAssertEqual(parseSignal("SIGRTMAX-1"), __libc_current_sigrtmax() - 1)
        XCTAssertEqual(parseSignal("64"), __libc_current_sigrtmax() == 64 ? 64 : nil)
        for bad in ["", "-9", "65", "999", "9x", "x9", "SIG", "TERMINATE", "SIGFOO", " 9", "9 ", "+9", "RTMIN+99", "RTMIN-1", "0x9"] {
            XCTAssertNil(parseSignal(bad), "'\(bad)'")
        }
    }
}
