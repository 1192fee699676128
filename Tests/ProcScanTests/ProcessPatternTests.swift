import Foundation
@testable import ProcScan
import TestSupport
import XCTest

/// The host's one process matcher in every form people write a name or an
/// argument, against real processes (and a real nginx, whose title rewrite
/// is the case that matters).
final class ProcessPatternTests: XCTestCase {
    private var directory = ""
    private var children: [ChildProcess] = []

    override func setUp() {
        directory = ProcessFixtures.makeTemporaryDirectory(prefix: "pattern")
    }

    override func tearDown() {
        for child in children { child.stop() }
        children = []
        ProcessFixtures.removeTree(directory)
    }

    private func start(_ argv: [String], file: StaticString = #filePath, line: UInt = #line) throws -> ChildProcess {
        let child = try XCTUnwrap(ChildProcess(argv), "cannot start \(argv)", file: file, line: line)
        children.append(child)
        return child
    }

    /// Waits until `pid`'s entry satisfies `ready` (its exec is done).
    @discardableResult
    private func entry(_ pid: Int32, file: StaticString = #filePath, line: UInt = #line,
                       where ready: @escaping (ProcessEntry) -> Bool) throws -> ProcessEntry {
        var found: ProcessEntry?
        ProcessFixtures.waitUntil(milliseconds: 5000) {
            found = ProcessEntry(pid: pid)
            return found.map(ready) ?? false
        }
        return try XCTUnwrap(found.flatMap { ready($0) ? $0 : nil }, "pid \(pid) not seen as expected", file: file, line: line)
    }

    private func matches(_ pattern: ProcessPattern, _ pid: Int32) -> Bool {
        ProcessTable().matching(pattern).contains { $0.pid == pid } && pattern.matches(pid: pid, startTime: nil)
    }

    /// A copy of nginx named `name`, run in the foreground with `config`
    /// (no listeners: nothing but a master and one worker).
    private func nginx(named name: String, config: String, binary given: String? = nil) throws -> ChildProcess {
        guard let reason = NginxSite.unavailableReason else {
            let binary = given ?? "\(directory)/\(name)"
            if given == nil { XCTAssertTrue(ProcessFixtures.copyExecutable(from: NginxSite.binary, to: binary)) }
            try FileManager.default.createDirectory(atPath: (config as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try """
            daemon off;
            master_process on;
            worker_processes 1;
            pid \(directory)/\(name).pid;
            error_log \(directory)/\(name).error.log;
            events { worker_connections 16; }

            """.write(toFile: config, atomically: true, encoding: .utf8)
            let child = try start([binary, "-e", "\(directory)/\(name).error.log", "-p", directory, "-c", config])
            try entry(child.pid) { $0.arguments.first?.hasPrefix("nginx: master process") == true }
            return child
        }
        throw SetupFailure(reason)
    }

    // MARK: Names

    func testNameLongerThanCommThroughARewrittenTitle() throws {
        // The case: `binary` is a copy of nginx named nginx-frontend-proxy (20 bytes).
        let config = "\(directory)/front/nginx.conf"
        let master = try nginx(named: "nginx-frontend-proxy", config: config)
        let e = try entry(master.pid) { _ in true }
        XCTAssertEqual(e.comm, "nginx-frontend-", "the kernel cuts comm at 15 bytes")
        XCTAssertTrue(e.arguments[0].hasPrefix("nginx: master process \(directory)/nginx-frontend-proxy"), e.commandLine)
        XCTAssertTrue(matches(ProcessPattern(name: "nginx-frontend-proxy"), master.pid), "cut comm confirmed by exe")
        XCTAssertTrue(matches(ProcessPattern.declared(name: "nginx-frontend-proxy", argument: config), master.pid))
        XCTAssertTrue(matches(ProcessPattern(name: "\(directory)/nginx-frontend-proxy"), master.pid), "the path, by exe")
        XCTAssertTrue(matches(ProcessPattern(name: "nginx"), master.pid), "the title's program word")
        XCTAssertFalse(matches(ProcessPattern(name: "nginx-frontend-proxz"), master.pid), "same 15 bytes, another file")
        XCTAssertFalse(matches(ProcessPattern(name: "/usr/sbin/nginx-frontend-proxy"), master.pid), "another path")
        // The worker has the name, but not the config in its title.
        let workers = ProcessTable().entries.filter { $0.ppid == master.pid }
        XCTAssertEqual(workers.count, 1)
        XCTAssertTrue(ProcessPattern(name: "nginx-frontend-proxy").matches(workers[0]))
        XCTAssertFalse(ProcessPattern.declared(name: "nginx-frontend-proxy", argument: config).matches(workers[0]))
    }

    func testNameGivenAsAPath() throws {
        let sleep = try XCTUnwrap(ProcessFixtures.which("sleep"))
        let real = "\(directory)/real-sleeper"
        XCTAssertTrue(ProcessFixtures.copyExecutable(from: sleep, to: real))
        let link = "\(directory)/linked-sleeper"
        XCTAssertEqual(symlink(real, link), 0)
        let byPath = try start([real, "30"])
        let byLink = try start([link, "31"])
        try entry(byPath.pid) { $0.comm == "real-sleeper" }
        try entry(byLink.pid) { $0.comm == "linked-sleeper" }
        XCTAssertTrue(matches(ProcessPattern(name: real), byPath.pid), "argv[0] is the path")
        XCTAssertTrue(matches(ProcessPattern(name: real), byLink.pid), "exe is the path (started through a link)")
        XCTAssertTrue(matches(ProcessPattern(name: link), byLink.pid), "argv[0] is the link")
        XCTAssertTrue(matches(ProcessPattern(name: link), byPath.pid), "the link resolves to exe")
        XCTAssertFalse(matches(ProcessPattern(name: "/usr/bin/real-sleeper"), byPath.pid), "same basename, another file")
        // exec -a: argv[0] says something else; exe still tells.
        let renamed = try start(["bash", "-c", "exec -a other \"$0\" 32", real])
        try entry(renamed.pid) { $0.arguments.first == "other" }
        XCTAssertTrue(matches(ProcessPattern(name: real), renamed.pid))
        XCTAssertFalse(matches(ProcessPattern(name: ""), byPath.pid), "an empty name matches nothing")
    }

    func testLongNameOfAnInterpretedScript() throws {
        let script = "\(directory)/averyveryverylongscript"
        ProcessFixtures.writeFile(script, "#!/bin/sh\nsleep 30\n:\n")
        XCTAssertEqual(chmod(script, 0o755), 0)
        let child = try start([script])
        let e = try entry(child.pid) { $0.comm == "averyveryverylo" && $0.arguments.count == 2 }
        XCTAssertEqual(e.arguments.last, script, "the kernel runs `interpreter script`")
        XCTAssertTrue(matches(ProcessPattern(name: "averyveryverylongscript"), child.pid), "argv[1]'s basename")
        XCTAssertFalse(matches(ProcessPattern(name: "averyveryverylongscripts"), child.pid))
    }

    func testLongNameThroughASymbolicLinkIsTheTitlesPath() throws {
        // The case: binary=/…/bin/nginx-frontend-proxy-link, a link to nginx:
        // comm is the link's name cut, exe is nginx, the title's program word
        // is nginx; only the title's path word carries the whole name.
        if let reason = NginxSite.unavailableReason { throw SetupFailure(reason) }
        let link = "\(directory)/bin/nginx-frontend-proxy-link"
        try FileManager.default.createDirectory(atPath: "\(directory)/bin", withIntermediateDirectories: true)
        XCTAssertEqual(symlink(NginxSite.binary, link), 0)
        let config = "\(directory)/link/nginx.conf"
        let master = try nginx(named: "nginx-frontend-proxy-link", config: config, binary: link)
        let e = try entry(master.pid) { _ in true }
        XCTAssertEqual(e.comm, "nginx-frontend-")
        XCTAssertTrue(matches(ProcessPattern.declared(name: "nginx-frontend-proxy-link", argument: config), master.pid),
                      e.commandLine)
        XCTAssertTrue(matches(ProcessPattern(name: link), master.pid), "the path, as the title shows it")
        XCTAssertFalse(matches(ProcessPattern(name: "nginx-frontend-proxy-lin"), master.pid), "a whole name only")
        XCTAssertFalse(matches(ProcessPattern(name: "nginx-frontend-proxy-linkx"), master.pid))
    }

    func testScriptRunByAnExplicitInterpreter() throws {
        // The case: start_command=[/usr/bin/python3, /…/server.py, …]; comm is python3.
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw SetupFailure("\(python) is not installed") }
        for name in ["server.py", "a-long-generated-server.py"] {
            let script = "\(directory)/gen/\(name)"
            try FileManager.default.createDirectory(atPath: "\(directory)/gen", withIntermediateDirectories: true)
            ProcessFixtures.writeFile(script, "import time\ntime.sleep(30)\n")
            let child = try start([python, script, "--port", "8080"])
            let e = try entry(child.pid) { $0.arguments.count == 4 }
            XCTAssertTrue(e.comm.hasPrefix("python3"), e.comm)
            XCTAssertTrue(matches(ProcessPattern(name: name), child.pid), "the script's basename: \(name)")
            XCTAssertTrue(matches(ProcessPattern(name: script), child.pid), "the script's path")
            XCTAssertTrue(matches(ProcessPattern.declared(name: name, argument: "8080"), child.pid))
            XCTAssertTrue(matches(ProcessPattern(name: "python3"), child.pid), "the interpreter still")
            XCTAssertFalse(matches(ProcessPattern(name: "erver.py"), child.pid))
            XCTAssertFalse(matches(ProcessPattern(name: "\(directory)/\(name)"), child.pid), "another path")
        }
        // Not an interpreter: argv[1] is only an argument.
        let sleep = try XCTUnwrap(ProcessFixtures.which("sleep"))
        let plain = try start([sleep, "33"])
        try entry(plain.pid) { $0.comm == "sleep" }
        XCTAssertFalse(matches(ProcessPattern(name: "33"), plain.pid))
    }

    // MARK: Arguments: whole words

    func testConfigPathNeverMatchesAsPartOfALongerPath() throws {
        // The case: two resources, /X/nginx.conf and /srv/ha/X/nginx.conf; only the second runs.
        let running = "\(directory)/srv/ha/X/nginx.conf"
        let master = try nginx(named: "nginx", config: running)
        XCTAssertTrue(matches(ProcessPattern.declared(name: "nginx", argument: running), master.pid),
                      "a whole word of the rewritten title")
        for other in ["/X/nginx.conf", "/ha/X/nginx.conf", "X/nginx.conf", "nginx.conf", "\(directory)/srv/ha/X/nginx"] {
            XCTAssertFalse(matches(ProcessPattern.declared(name: "nginx", argument: other), master.pid), other)
        }
        XCTAssertTrue(matches(ProcessPattern(name: "nginx", argument: .contains("/X/nginx.conf")), master.pid),
                      ".contains is a search, not an identity")
    }

    func testConfigPathWithASpaceIsOneWordOfTheTitle() throws {
        // The case: `nginx -c "/D/y /D/X/nginx.conf"` runs; /D/X/nginx.conf is another resource's.
        let spaced = "\(directory)/y \(directory)/X/nginx.conf"
        let plain = "\(directory)/X/nginx.conf"
        let master = try nginx(named: "nginx", config: spaced)
        let e = try entry(master.pid) { _ in true }
        XCTAssertTrue(e.arguments[0].hasSuffix("-c \(spaced)"), e.commandLine)
        XCTAssertTrue(matches(ProcessPattern.declared(name: "nginx", argument: spaced), master.pid), "the spaced path, whole")
        XCTAssertFalse(matches(ProcessPattern.declared(name: "nginx", argument: plain), master.pid), "its last part")
        XCTAssertFalse(matches(ProcessPattern.declared(name: "nginx", argument: "\(directory)/y"), master.pid), "its first part")
        XCTAssertTrue(matches(ProcessPattern.declared(name: "nginx", argument: directory), master.pid), "-p's value")
    }

    func testWholeArgumentAndOptionValueForms() throws {
        let marker = ProcessFixtures.uniqueMarker("word")
        // argv = [sh, -c, "sleep 30; :", sh, -c/X/MARKER, --config=/Y/MARKER, /Z/MARKER, config_file=/W/MARKER]
        let child = try start(["sh", "-c", "sleep 30; :", "sh", "-c/X/\(marker)", "--config=/Y/\(marker)", "/Z/\(marker)",
                               "config_file=/W/\(marker)"])
        try entry(child.pid) { $0.arguments.count == 8 }
        func word(_ text: String) -> Bool { matches(ProcessPattern.declared(name: "sh", argument: text), child.pid) }
        XCTAssertTrue(word("/Z/\(marker)"), "a whole argument")
        XCTAssertTrue(word("/X/\(marker)"), "-oVALUE, a one-letter option with its value attached")
        XCTAssertTrue(word("/Y/\(marker)"), "--option=VALUE")
        XCTAssertTrue(word("/W/\(marker)"), "name=VALUE (PostgreSQL's -c config_file=…)")
        XCTAssertFalse(word("W/\(marker)"))
        XCTAssertFalse(word("-c/X"), "the option letter is not a part of the value")
        XCTAssertTrue(word("sleep 30; :"), "an argument with spaces, whole")
        XCTAssertFalse(word("Z/\(marker)"))
        XCTAssertFalse(word(marker))
        XCTAssertFalse(word("/X"))
        XCTAssertFalse(word("sleep"), "a word inside an argument is not a title's word")
        XCTAssertTrue(word(""), "an empty argument pattern matches any")
    }

    func testRewrittenTitleWordsAndProgram() throws {
        // A title like nginx's and PostgreSQL's, set by `exec -a` (argv[0] with spaces, no other arguments).
        let sleep = try XCTUnwrap(ProcessFixtures.which("sleep"))
        let marker = ProcessFixtures.uniqueMarker("title")
        let child = try start(["bash", "-c", "exec -a \"postgres: checkpointer -D /srv/\(marker)/data\" \"$0\" 30", sleep])
        try entry(child.pid) { $0.arguments.first?.hasPrefix("postgres:") == true }
        XCTAssertTrue(matches(ProcessPattern(name: "postgres"), child.pid), "the title's program word, without ':'")
        XCTAssertTrue(matches(ProcessPattern.declared(name: "postgres", argument: "/srv/\(marker)/data"), child.pid))
        XCTAssertTrue(matches(ProcessPattern.declared(name: nil, argument: "checkpointer"), child.pid))
        XCTAssertFalse(matches(ProcessPattern.declared(name: nil, argument: "/\(marker)/data"), child.pid))
        XCTAssertFalse(matches(ProcessPattern.declared(name: nil, argument: "-D /srv/\(marker)/data"), child.pid),
                       "a word never spans two")
    }

    // MARK: One process, directly

    func testDirectMatchChecksStartTimeAndZombies() throws {
        let child = try start(["sleep", "30"])
        let e = try entry(child.pid) { $0.arguments == ["sleep", "30"] }
        let sleep = ProcessPattern(name: "sleep")
        XCTAssertTrue(sleep.matches(pid: child.pid, startTime: e.startTime))
        XCTAssertTrue(sleep.matches(pid: child.pid, startTime: nil))
        XCTAssertFalse(sleep.matches(pid: child.pid, startTime: e.startTime + 1), "another start time: another process")
        XCTAssertFalse(ProcessPattern(name: "sh").matches(pid: child.pid, startTime: nil))
        kill(child.pid, SIGKILL)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { child.hasExited })
        XCTAssertFalse(ProcessPattern().matches(pid: child.pid, startTime: nil), "a zombie does not run")
        XCTAssertFalse(ProcessPattern().matches(pid: 0, startTime: nil))
        XCTAssertFalse(ProcessPattern().matches(pid: -1, startTime: nil))
    }

    func testSignalProcessThroughPidfd() throws {
        let child = try start(["sleep", "30"])
        let e = try entry(child.pid) { $0.arguments == ["sleep", "30"] }
        XCTAssertEqual(signalProcess(pid: child.pid, startTime: e.startTime + 1, signal: SIGKILL), .gone)
        XCTAssertFalse(child.hasExited, "another start time: nothing was sent")
        XCTAssertEqual(signalProcess(pid: child.pid, startTime: e.startTime, signal: 0), .delivered)
        XCTAssertEqual(signalProcess(pid: child.pid, startTime: e.startTime, signal: SIGKILL), .delivered)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { child.hasExited })
        XCTAssertEqual(signalProcess(pid: child.pid, startTime: e.startTime, signal: SIGKILL), .gone)
        if case .refused = signalProcess(pid: 1, startTime: nil, signal: 0) {} else { XCTFail("pid 1 must be refused") }
        if case .refused = signalProcess(pid: getpid(), startTime: nil, signal: 0) {} else { XCTFail("self must be refused") }
        if case .refused = signalProcess(pid: 0, startTime: nil, signal: 0) {} else { XCTFail("pid 0 must be refused") }
    }

    // MARK: The -t scan

    func testCommandLineSearchReadsStatOnlyForCandidates() throws {
        let root = "\(directory)/proc"
        mkdir(root, 0o755)
        func process(_ pid: Int, stat: String?, cmdline: String?) {
            mkdir("\(root)/\(pid)", 0o755)
            if let stat { ProcessFixtures.writeFile("\(root)/\(pid)/stat", stat) }
            if let cmdline { ProcessFixtures.writeFile("\(root)/\(pid)/cmdline", cmdline) }
        }
        let tail = "0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 5000 0 0\n"
        process(100, stat: "100 (srv) S 1 100 100 \(tail)", cmdline: "srv\0--flag\0needle-here\0")
        process(101, stat: nil, cmdline: "other\0program\0")                          // no stat: never read
        process(102, stat: nil, cmdline: "needle\0")                                  // a candidate gone before stat
        process(103, stat: "103 (dead) Z 1 103 103 \(tail)", cmdline: "")             // zombie
        process(104, stat: "104 (kneedle/0) I 2 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 7 0 0\n", cmdline: "")
        process(105, stat: "105 (me) R 1 105 105 \(tail)", cmdline: "me needle\0")   // the scanner
        process(106, stat: "106 (title) S 1 106 106 \(tail)", cmdline: "title: a b\0\0\0")
        func search(_ text: String) -> [Int32] {
            var found: [Int32] = []
            CommandLineSearch.forEachMatch(Array(text.utf8), procRoot: root, excluding: 105) { found.append($0.pid); return true }
            return found.sorted()
        }
        XCTAssertEqual(search("needle"), [100, 104])
        XCTAssertEqual(search("--flag needle"), [100], "arguments joined by spaces")
        XCTAssertEqual(search("program"), [], "a match whose stat cannot be read is not reported")
        XCTAssertEqual(search("a b"), [106])
        XCTAssertEqual(search("a b "), [], "NUL padding at the end is not a trailing space")
        XCTAssertEqual(search("dead"), [], "zombies never")
        XCTAssertEqual(search(""), [])
        var first: [Int32] = []
        CommandLineSearch.forEachMatch(Array("e".utf8), procRoot: root, excluding: 105) { first.append($0.pid); return false }
        XCTAssertEqual(first.count, 1, "stops when asked")
    }

    func testSplitScanAnswersLikeOneThread() throws {
        // More processes than the threshold: two threads, the same answer in the same order.
        let root = "\(directory)/bigproc"
        mkdir(root, 0o755)
        let count = CommandLineSearch.parallelThreshold + 100
        let tail = "0 -1 4194304 0 0 0 0 0 0 0 0 20 0 1 0 5000 0 0\n"
        let hits: Set<Int> = [3, 17, count / 2 - 1, count / 2, count / 2 + 1, count - 2]
        for k in 0..<count {
            let pid = 1000 + k
            mkdir("\(root)/\(pid)", 0o755)
            ProcessFixtures.writeFile("\(root)/\(pid)/stat", "\(pid) (p) S 1 \(pid) \(pid) \(tail)")
            ProcessFixtures.writeFile("\(root)/\(pid)/cmdline", hits.contains(k) ? "srv\0found-it\0" : "srv\0other\0")
        }
        func search(parallel: Bool, stopAfter: Int = .max) -> [Int32] {
            var found: [Int32] = []
            CommandLineSearch.forEachMatch(Array("found-it".utf8), procRoot: root, excluding: 0, parallel: parallel) {
                found.append($0.pid)
                return found.count < stopAfter
            }
            return found
        }
        let expected = hits.sorted().map { Int32(1000 + $0) }
        XCTAssertEqual(search(parallel: false), expected)
        XCTAssertEqual(search(parallel: true), expected)
        XCTAssertEqual(search(parallel: true, stopAfter: 1), [expected[0]])
        XCTAssertEqual(search(parallel: true, stopAfter: 4), Array(expected.prefix(4)), "across the halves, in order")
    }
}
