import CDB
import Foundation
import TestSupport
import XCTest

/// One answer, always right, and nothing left behind (issue 7, items 3 and
/// 5): the action runs in a worker process under fshost's supervisor. A
/// plugin that exits, aborts, crashes, prints to stdout or forks cannot
/// fake the answer or break it; fshost killed in any way during an action
/// leaves none of the action's commands running.
final class SupervisorTests: XCTestCase {
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

    // MARK: fshost killed during start: nothing the action started survives

    /// The case of the issue: a start command `sh -c "sleep 2; exec …"`,
    /// fshost killed 0.5 s into start. 2.5 s later, nothing carrying the
    /// command's unique marker may run (without the supervisor, `sleep 30`
    /// would then run: the resource on two nodes).
    func killDuringStart(_ kill: (Int32) -> Void, expectAnswer: Int32?) throws {
        let marker = "0.\(Int.random(in: 100_000_000...999_999_999))"
        try define("k1", ["command": "[\"sh\",\"-c\",\"sleep 2; exec sleep 30 \(marker)\"]", "process_name": "sleep"])
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["testfixture", "start", "k1", "--timeout", "20s"]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { !processes(containing: marker).isEmpty },
                      "the start command did not run")
        usleep(300_000)
        kill(host.pid)
        let status = host.wait(milliseconds: 5000)
        XCTAssertNotNil(status, "fshost did not end")
        if let expectAnswer, let status {
            XCTAssertEqual(status & 0x7F, 0, "answered, not killed by the signal")
            XCTAssertEqual((status >> 8) & 0xFF, expectAnswer, host.stderr)
            XCTAssertEqual(host.stderr.split(separator: "\n").count, 1, host.stderr)
        }
        usleep(2_500_000)   // past the `sleep 2` of the command
        XCTAssertEqual(processes(containing: marker), [], "the action's commands outlived fshost")
    }

    /// The worker SIGKILLed from outside (the OOM killer, an operator) is
    /// not blamed on the plugin (review of issue 16, finding 4).
    func testAWorkerKilledFromOutsideIsNotBlamedOnThePlugin() throws {
        let marker = "0.\(Int.random(in: 100_000_000...999_999_999))"
        try define("k2", ["command": "[\"sh\",\"-c\",\"exec sleep 30 \(marker)\"]", "process_name": "sleep"])
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["testfixture", "start", "k2", "--timeout", "20s"]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { !processes(containing: marker).isEmpty },
                      "the start command did not run")
        let workers = (try FileManager.default.contentsOfDirectory(atPath: "/proc")).compactMap(Int32.init).filter { pid in
            guard let stat = ProcessFixtures.readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")") else { return false }
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            return fields.count > 1 && Int32(fields[1]) == host.pid
        }
        XCTAssertEqual(workers.count, 1, "fshost's worker: \(workers)")
        for worker in workers { kill(worker, SIGKILL) }
        let status = try XCTUnwrap(host.wait(milliseconds: 5000), "fshost did not end")
        XCTAssertEqual((status >> 8) & 0xFF, 3, host.stderr)
        XCTAssertTrue(host.stderr.contains("fshost's worker for plugin testfixture was killed by signal 9 (SIGKILL) during start, sent from outside fshost"), host.stderr)
        XCTAssertFalse(host.stderr.contains("plugin testfixture ended the process"), host.stderr)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { processes(containing: marker).isEmpty },
                      "the action's command outlived its worker")
    }

    func testSIGKILLDuringStartLeavesNothingRunning() throws {
        try killDuringStart({ Glibc.kill($0, SIGKILL) }, expectAnswer: nil)
    }

    func testSIGTERMDuringStartEndsTheActionAndAnswers() throws {
        try killDuringStart({ Glibc.kill($0, SIGTERM) }, expectAnswer: 3)
    }

    func testSIGHUPDuringStartEndsTheActionAndAnswers() throws {
        try killDuringStart({ Glibc.kill($0, SIGHUP) }, expectAnswer: 3)
    }

    func testSIGINTDuringStartEndsTheActionAndAnswers() throws {
        try killDuringStart({ Glibc.kill($0, SIGINT) }, expectAnswer: 3)
    }

    func testKillOfTheProcessGroupDuringStartLeavesNothingRunning() throws {
        // LaunchedHost makes fshost the leader of its own process group.
        try killDuringStart({ Glibc.kill(-$0, SIGKILL) }, expectAnswer: nil)
    }

    func testSuccessfulStartKeepsItsDaemon() throws {
        let marker = "0.\(Int.random(in: 100_000_000...999_999_999))"
        try define("d1", ["command": "[\"sleep\",\"30\",\"\(marker)\"]", "process_name": "sleep"])
        let r = try sandbox.fshost("testfixture", "start", "d1")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertFalse(processes(containing: marker).isEmpty, "the daemon a successful start leaves must run on")
        _ = try sandbox.fshost("exec2", "-s", "KILL", "-t", marker)
    }

    // MARK: A plugin cannot fake health or break the answer

    func testPluginExitZeroInMonitorIsAFailureWithOneLineAndOneJSONObject() throws {
        try define("e1", ["fault": "exit0"])
        let r = try sandbox.fshost("testfixture", "monitor", "e1", "--json")
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertEqual(r.stderr.split(separator: "\n"),
                       ["fshost: type=testfixture resource=e1 action=monitor level=1 status=HA_CMD_FAILED ms=\(elapsed(r)) reason=plugin testfixture ended the process during monitor: exited with status 0"])
        let object = try jsonObject(r.stdout)
        XCTAssertEqual(object["code"] as? Int, 3)
        XCTAssertEqual(object["reason"] as? String, "plugin testfixture ended the process during monitor: exited with status 0")
    }

    func testPluginAbortIsAFailure() throws {
        try define("a1", ["fault": "abort"])
        let r = try sandbox.fshost("testfixture", "start", "a1", "--json")
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertTrue(r.stderr.contains("plugin testfixture ended the process during start: killed by signal 6 (SIGABRT)"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertEqual(try jsonObject(r.stdout)["status"] as? String, "HA_CMD_FAILED")
    }

    func testPluginCrashIsOneCompactLine() throws {
        try define("c1", ["fault": "crash"])
        let r = try sandbox.fshost("testfixture", "monitor", "c1", "--json")
        XCTAssertEqual(r.status, 3, r.description)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line, no backtrace: \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("plugin testfixture ended the process during monitor: killed by signal 11 (SIGSEGV)"), r.stderr)
        XCTAssertLessThan(r.stderr.utf8.count, 300, r.stderr)
        XCTAssertEqual(try jsonObject(r.stdout)["code"] as? Int, 3)
    }

    func testSwiftFatalErrorInAPluginIsNoBacktrace() throws {
        try define("f1", ["fault": "fatal"])
        let r = try sandbox.fshost("testfixture", "monitor", "f1")
        XCTAssertEqual(r.status, 3, r.description)
        // The runtime's own one-line message, then fshost's answer.
        XCTAssertLessThanOrEqual(r.stderr.split(separator: "\n").count, 2, r.stderr)
        XCTAssertTrue(r.stderr.contains("plugin testfixture ended the process during monitor: killed by signal"), r.stderr)
        XCTAssertFalse(r.stderr.contains("Thread 0"), r.stderr)
    }

    func testStdoutCarriesTheJSONObjectAlone() throws {
        try define("s1", ["fault": "stdout"])
        let r = try sandbox.fshost("testfixture", "monitor", "s1", "--json")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, "stdout: \(r.stdout)")
        XCTAssertEqual(try jsonObject(r.stdout)["status"] as? String, "HA_SUCCESS")
        XCTAssertTrue(r.stderr.contains("plugin line written to fd 1"), "the plugin's output goes to stderr: \(r.stderr)")
    }

    /// The plugin forks a child that holds stdout and hangs: at the deadline
    /// the child is killed, so a caller reading stdout to its end is not
    /// blocked for the child's 30 s.
    func testForkedChildIsKilledAtTheDeadlineAndTheCallerIsNotBlocked() throws {
        try define("fork1", ["fault": "fork"])
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["testfixture", "monitor", "fork1", "--timeout", "1s", "--json"]))
        let start = ProcessFixtures.now()
        let stdout = try XCTUnwrap(host.readStdoutToEnd(milliseconds: 8000), "stdout still open after 8 s")
        XCTAssertLessThan(ProcessFixtures.now() - start, 5)
        let status = try XCTUnwrap(host.wait(milliseconds: 5000))
        XCTAssertEqual((status >> 8) & 0xFF, 8, host.stderr)
        XCTAssertEqual(try jsonObject(stdout)["status"] as? String, "HA_TIMEDOUT")
        XCTAssertTrue(goneSoon("fork1"), "the plugin's child outlived the action")
    }

    /// A worker that cannot answer (stopped, watchdog thread included) is
    /// killed by the supervisor after its deadline and the grace.
    func testWorkerThatCannotAnswerIsKilledAfterItsDeadline() throws {
        try define("frozen1", ["fault": "freeze"])
        let r = try sandbox.fshost("testfixture", "monitor", "frozen1", "--timeout", "500ms", "--json")
        XCTAssertEqual(r.status, 8, r.description)
        XCTAssertLessThan(r.milliseconds, 6000)
        XCTAssertTrue(r.stderr.contains("its worker did not answer"), r.stderr)
        XCTAssertEqual(try jsonObject(r.stdout)["code"] as? Int, 8)
        XCTAssertTrue(goneSoon("frozen1"), "the stopped worker was left behind")
    }

    func testChildForkedByAPluginThatAnswersIsKilled() throws {
        try define("orphan1", ["fault": "orphan"])
        let r = try sandbox.fshost("testfixture", "monitor", "orphan1")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertLessThan(r.milliseconds, 5000)
        XCTAssertTrue(goneSoon("orphan1"), "the plugin's child outlived the action")
    }

    // MARK: Logs cannot be forged or flooded

    func testNewlineInAReasonCannotForgeALogLine() throws {
        let forged = "bad\nfshost: webserver/web1 start: HA_SUCCESS (1 ms)\r\u{1B}[2K\u{7F}"
        try define("n1", ["fail_reason": forged])
        let r = try sandbox.fshost("testfixture", "monitor", "n1", "--json")
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(r.stderr.contains("bad\\nfshost: webserver/web1 start: HA_SUCCESS (1 ms)\\r\\x1B[2K\\x7F"), r.stderr)
        let reason = try XCTUnwrap(try jsonObject(r.stdout)["reason"] as? String)
        XCTAssertFalse(reason.contains("\n"), reason)
        XCTAssertTrue(reason.hasPrefix("bad\\nfshost"), reason)
    }

    func testHugeReasonIsBounded() throws {
        try define("h1", ["fail_reason": "x", "fail_reason_repeat": "10000000"])
        let r = try sandbox.fshost("testfixture", "monitor", "h1", "--json")
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertLessThan(r.stderr.utf8.count, 2048, "a 10 MB reason is logged whole")
        XCTAssertTrue(r.stderr.contains("… (\(10_000_000 - 1024) bytes cut)"), String(r.stderr.suffix(200)))
        let reason = try XCTUnwrap(try jsonObject(r.stdout)["reason"] as? String)
        XCTAssertLessThan(reason.utf8.count, 1100)
    }

    // MARK: --json on a command-line error

    func testJSONObjectForCommandLineErrors() throws {
        for arguments in [["template", "frobnicate", "t1", "--json"], ["--json", "template", "monitor"],
                          ["template", "monitor", "t1", "--timeout", "soon", "--json"], ["--json"]] {
            let r = try sandbox.fshost(arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r)")
            XCTAssertEqual(r.stdout.split(separator: "\n").count, 1, "\(arguments): \(r.stdout)")
            let object = try jsonObject(r.stdout)
            XCTAssertEqual(object["status"] as? String, "HA_INVAL_ARGS", "\(arguments)")
            XCTAssertEqual(object["code"] as? Int, 2)
            XCTAssertNotNil(object["reason"] as? String)
        }
        let r = try sandbox.fshost("template", "frobnicate", "t1", "--json")
        XCTAssertEqual(try jsonObject(r.stdout)["type"] as? String, "template")
    }

    // MARK: Helpers

    /// Nothing with `text` in its command line within 2 s: the worker
    /// itself (a fork of fshost, same command line) ends just after fshost.
    func goneSoon(_ text: String) -> Bool {
        ProcessFixtures.waitUntil(milliseconds: 2000) { processes(containing: text).isEmpty }
    }

    func jsonObject(_ text: String) throws -> [String: Any] {
        let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
        return try XCTUnwrap(object as? [String: Any], text)
    }

    /// The `(N ms)` of an answer line, to compare whole lines.
    func elapsed(_ r: HostSandbox.Result) -> String {
        guard let field = r.stderr.range(of: " ms=", options: .backwards) else { return "?" }
        return String(r.stderr[field.upperBound...].prefix { $0.isNumber })
    }
}

/// The pids of processes whose command line contains `text` (zombies have
/// none), this test process excluded.
func processes(containing text: String) -> [Int32] {
    let me = getpid()
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { Int32($0) }.filter { pid in
        guard pid != me, let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return false }
        return String(decoding: data.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(text)
    }
}

/// `fshost` started the way a cluster manager starts it, as the leader of
/// its own process group: stdout on a pipe the test reads, stderr in a file.
final class LaunchedHost {
    let pid: Int32
    private let stdoutFD: Int32
    private let stderrPath: String
    private var reaped = false

    init?(_ sandbox: HostSandbox, _ arguments: [String]) {
        stderrPath = sandbox.path("stderr.\(UUID().uuidString)")
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return nil }
        _ = fcntl(fds[0], F_SETFD, FD_CLOEXEC)
        let argv = [HostSandbox.products.appendingPathComponent("fshost").path] + arguments
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = sandbox.environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_adddup2(&actions, fds[1], 1)
        posix_spawn_file_actions_addopen(&actions, 2, stderrPath, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addclose(&actions, fds[1])
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var child: pid_t = 0
        let error = posix_spawn(&child, argv[0], &actions, &attributes, cArgs, cEnv)
        close(fds[1])
        guard error == 0 else { close(fds[0]); return nil }
        pid = child
        stdoutFD = fds[0]
    }

    deinit {
        if !reaped { kill(pid, SIGKILL); _ = wait(milliseconds: 5000) }
        close(stdoutFD)
    }

    /// The raw wait status, or nil if it did not end within `milliseconds`.
    func wait(milliseconds: Int) -> Int32? {
        var status: Int32 = 0
        let ended = ProcessFixtures.waitUntil(milliseconds: milliseconds) {
            waitpid(pid, &status, WNOHANG) == pid
        }
        if ended { reaped = true }
        return ended ? status : nil
    }

    /// Everything on stdout up to end of file, or nil if it is still open
    /// after `milliseconds`.
    func readStdoutToEnd(milliseconds: Int) -> String? {
        var bytes: [UInt8] = []
        let end = ProcessFixtures.now() + Double(milliseconds) / 1000
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let left = Int32(max(0, (end - ProcessFixtures.now()) * 1000))
            var p = pollfd(fd: stdoutFD, events: Int16(POLLIN), revents: 0)
            if poll(&p, 1, left) <= 0 { return nil }
            let n = buffer.withUnsafeMutableBytes { read(stdoutFD, $0.baseAddress!, $0.count) }
            if n <= 0 { return String(decoding: bytes, as: UTF8.self) }
            bytes += buffer[0..<n]
        }
    }

    var stderr: String { ProcessFixtures.readFile(stderrPath) ?? "" }
}
