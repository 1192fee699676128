// The SDK's building blocks for daemon-backed resource types, each against
// the real thing: files, FIFOs and sockets made in a temporary directory,
// commands run through the wrappers Launch builds.
import Foundation
@testable import FSKit
import XCTest

final class DaemonBuildingBlocksTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        var template = Array("/tmp/fskit-test.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw NSError(domain: "mkdtemp", code: Int(errno))
        }
        directory = String(cString: made)
    }

    override func tearDown() {
        if let directory { try? FileManager.default.removeItem(atPath: directory) }
        super.tearDown()
    }

    func write(_ name: String, _ text: String, mode: Int = 0o644) throws -> String {
        let path = directory + "/" + name
        try text.write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode_t(mode))
        return path
    }

    // MARK: Pidfiles

    /// A pidfile trusts root and the effective uid unless told otherwise
    /// (kept as a sorted array, not a Set: issue 10); equal owners, equal pidfiles.
    func testAPidfileTrustsRootAndTheEffectiveUidByDefault() {
        XCTAssertEqual(PidFile("/run/x.pid").trustedOwners, [0, geteuid()])
        XCTAssertEqual(PidFile("/run/x.pid", trustedOwners: [70, 0]).trustedOwners, [0, 70])
        XCTAssertEqual(PidFile("/run/x.pid"), PidFile("/run/x.pid", trustedOwners: [geteuid(), 0]))
        XCTAssertNotEqual(PidFile("/run/x.pid"), PidFile("/run/x.pid", trustedOwners: [0, 70, geteuid()]))
    }

    func testPidfileFirstLineIsThePidAndLaterLinesCarryMore() throws {
        // PostgreSQL 15's postmaster.pid.
        let text = "4242\n/var/lib/postgresql/15/main\n1732950000\n5432\n/var/run/postgresql\nlocalhost\n  5432001         0\nready   \n"
        XCTAssertEqual(PidFile.parse(Array(text.utf8)), .pid(4242, more: [
            "/var/lib/postgresql/15/main", "1732950000", "5432", "/var/run/postgresql", "localhost",
            "  5432001         0", "ready   ",
        ]))
        XCTAssertEqual(PidFile.parse(Array("  77 \n".utf8)), .pid(77, more: []))
        XCTAssertEqual(PidFile.parse(Array("77".utf8)), .pid(77, more: []))
        XCTAssertEqual(PidFile.parse(Array("77\r\n".utf8)), .pid(77, more: []))
    }

    func testPidfileThatHoldsNoPidSaysSoInOneLine() {
        for (text, expected) in [("", "empty"), ("\n\n", "empty"), ("   ", "empty")] {
            XCTAssertEqual(PidFile.parse(Array(text.utf8)), .malformed(expected), "'\(text)'")
        }
        guard case .malformed(let why) = PidFile.parse(Array("123 456\n".utf8)) else { return XCTFail("123 456 is no pid") }
        XCTAssertEqual(why, "first line is not a pid: '123 456'")
        for bad in ["0\n", "-5\n", "99999999999\n", "12a\n", "\u{1}\u{2}\n", "x\ty\n"] {
            guard case .malformed(let why) = PidFile.parse(Array(bad.utf8)) else { XCTFail("'\(bad)' parsed"); continue }
            XCTAssertFalse(why.contains("\n") || why.contains("\t") || why.contains("\u{1}"), "raw control text: \(why)")
        }
    }

    func testPidfileReadNeverBlocksOnAFifoAndNamesTheKind() throws {
        let fifo = directory + "/fifo.pid"
        XCTAssertEqual(mkfifo(fifo, 0o644), 0)
        guard case .unreadable(let why) = PidFile(fifo).read() else { return XCTFail("a FIFO is no pidfile") }
        XCTAssertTrue(why.contains("FIFO"), why)
        guard case .unreadable(let dir) = PidFile(directory).read() else { return XCTFail("a directory is no pidfile") }
        XCTAssertTrue(dir.contains("directory"), dir)
        XCTAssertEqual(PidFile(directory + "/none/x.pid").read(), .absent)
        let big = try write("big.pid", String(repeating: "1", count: PidFile.sizeLimit + 1))
        guard case .unreadable(let large) = PidFile(big).read() else { return XCTFail("too large") }
        XCTAssertTrue(large.contains("larger than"), large)
        let fine = try write("ok.pid", "31\nmore\n")
        XCTAssertEqual(PidFile(fine).read(), .pid(31, more: ["more"]))
        XCTAssertTrue(PidFile(fine).remove())
        XCTAssertFalse(PidFile(directory).remove(), "never removes a directory")
    }

    /// A pidfile another user could write names whatever process they like
    /// as the resource's (issue 7, item 5): refused where it really is —
    /// in a sticky world-writable directory (`/tmp/pub`, mode 1777), owned
    /// by another user, writable by others, or reached through a symlink
    /// into such a place.
    func testPidfileAnotherUserCouldWriteIsRefused() throws {
        XCTAssertEqual(chmod(directory, 0o755), 0)
        let pub = directory + "/pub"
        XCTAssertEqual(mkdir(pub, 0o755), 0)
        XCTAssertEqual(chmod(pub, 0o1777), 0)
        try "4242\n".write(toFile: pub + "/nginx.pid", atomically: false, encoding: .utf8)
        guard case .unreadable(let sticky) = PidFile(pub + "/nginx.pid").read() else { return XCTFail("a pidfile in a 1777 directory was read") }
        XCTAssertTrue(sticky.contains("refused: directory \(pub) is writable by others"), sticky)

        let theirs = try write("theirs.pid", "4242\n")
        XCTAssertEqual(chown(theirs, 65534, 65534), 0)
        guard case .unreadable(let owner) = PidFile(theirs).read() else { return XCTFail("nobody's pidfile was read") }
        XCTAssertTrue(owner.contains("owned by uid 65534"), owner)

        let writable = try write("writable.pid", "4242\n", mode: 0o666)
        guard case .unreadable(let mode) = PidFile(writable).read() else { return XCTFail("a 0666 pidfile was read") }
        XCTAssertTrue(mode.contains("writable by others"), mode)

        XCTAssertEqual(symlink(pub + "/nginx.pid", directory + "/link.pid"), 0)
        guard case .unreadable(let link) = PidFile(directory + "/link.pid").read() else { return XCTFail("a link into /tmp/pub was followed") }
        XCTAssertTrue(link.contains(pub), link)

        // The daemon's own user may be trusted explicitly (postgres's postmaster.pid).
        XCTAssertEqual(PidFile(theirs, trustedOwners: [0, 65534]).read(), .pid(4242, more: []))
        XCTAssertEqual(PidFile(try write("ours.pid", "4242\n")).read(), .pid(4242, more: []))
    }

    /// A trusted pidfile reached through a symlink planted in a directory
    /// another user can write (issue 13): the link is judged where it sits
    /// (``PathTrust/checkLinks(_:)``), so its trusted target does not save
    /// it — whoever can write that directory could point it anywhere.
    func testPidfileThroughALinkInAWritableDirectoryIsRefused() throws {
        XCTAssertEqual(chmod(directory, 0o755), 0)
        let ours = try write("ours.pid", "4242\n")
        XCTAssertEqual(PidFile(ours).read(), .pid(4242, more: []))
        let pub = directory + "/pub"
        XCTAssertEqual(mkdir(pub, 0o755), 0)
        XCTAssertEqual(chmod(pub, 0o777), 0)
        XCTAssertEqual(symlink(ours, pub + "/nginx.pid"), 0, "root's link, in a 0777 directory")
        guard case .unreadable(let why) = PidFile(pub + "/nginx.pid").read() else { return XCTFail("a link in a 0777 directory was followed") }
        XCTAssertTrue(why.contains("refused") && why.contains(pub), why)
        XCTAssertNotNil(PidFile(pub + "/nginx.pid").placeProblem())
        // The same link in a trusted directory is fine.
        XCTAssertEqual(symlink(ours, directory + "/good.pid"), 0)
        XCTAssertEqual(PidFile(directory + "/good.pid").read(), .pid(4242, more: []))
        XCTAssertNil(PidFile(directory + "/good.pid").placeProblem())
    }

    // MARK: Small files and file checks

    func testSmallFileReadsAreBounded() throws {
        let path = try write("ten", "0123456789")
        XCTAssertEqual(try SmallFile.read(path, limit: 10).get(), Array("0123456789".utf8))
        XCTAssertEqual(SmallFile.read(path, limit: 9), .failure(.tooLarge(limit: 9)))
        XCTAssertEqual(SmallFile.read(directory + "/missing"), .failure(.absent))
        XCTAssertEqual(SmallFile.read(directory), .failure(.notRegular("a directory")))
        for name in ["a.conf", "b.conf", "c.txt"] { _ = try write(name, "") }
        XCTAssertEqual(SmallFile.expand(directory + "/*.conf"), [directory + "/a.conf", directory + "/b.conf"])
        XCTAssertEqual(SmallFile.expand(directory + "/none-*.conf"), [])
    }

    func testFileChecksNameWhatIsWrong() throws {
        let script = try write("run.sh", "#!/bin/sh\n", mode: 0o755)
        let data = try write("data", "x", mode: 0o644)
        let open = try write("open", "x", mode: 0o666)
        XCTAssertNil(FileCheck.problem(script, .kind(.regular), .readable, .executable, .owner(getuid()), .modeWithin(0o755)))
        XCTAssertEqual(FileCheck.problem(data, .executable), "is not executable")
        XCTAssertEqual(FileCheck.problem(directory, .executable), "is not executable: it is a directory")
        XCTAssertEqual(FileCheck.problem(directory, .kind(.regular)), "is a directory, not a regular file")
        XCTAssertEqual(FileCheck.problem(open, .modeWithin(0o755)), "is writable by others (mode 0666)")
        XCTAssertEqual(FileCheck.problem(data, .owner(getuid() + 1)), "is owned by uid \(getuid()), not \(getuid() + 1)")
        XCTAssertEqual(FileCheck.problem(directory + "/missing", .readable), "No such file or directory")
        XCTAssertTrue(FileCheck.exists(data))
        XCTAssertFalse(FileCheck.exists(directory + "/missing"))
        XCTAssertEqual(try FileCheck.info(open).get().mode, 0o666)
        XCTAssertEqual(try FileCheck.info(directory).get().kind, .directory)
        // Where a server writes its pidfile.
        XCTAssertNil(FileCheck.creatableFileProblem(directory + "/new.pid"))
        XCTAssertNil(FileCheck.creatableFileProblem(data))
        XCTAssertEqual(FileCheck.creatableFileProblem(directory), "is a directory")
        XCTAssertTrue(FileCheck.creatableFileProblem(directory + "/no/x.pid")?.contains("its directory") == true)
    }

    /// The SDK's escaping is the host's (one dialect: `\xNN`, `\uNNNN`, the
    /// host's cut mark), so a reason reads the same in the plugin's log
    /// line and the host's.
    func testLogTextIsAlwaysOneLineInTheHostsDialect() {
        XCTAssertEqual(LogText.escaped("  123 456\n"), "123 456")
        XCTAssertEqual(LogText.escaped("a\nb\tc\\d\u{1b}"), "a\\nb\\tc\\d\\x1B")
        XCTAssertEqual(LogText.escaped([0x61, 0xFF, 0x0A, 0x62]), "a\\xFF\\nb")
        XCTAssertEqual(LogText.escaped(String(repeating: "x", count: 10), limit: 4), "xxxx… (6 bytes cut)")
        XCTAssertEqual(LogText.escaped("a\u{2028}b"), "a\\u2028b")
        XCTAssertEqual(LogText.escaped("a\u{1b}b"), LogText.reason("a\u{1b}b"), "the host's reason escaping")
    }

    // MARK: The Unix-socket probe

    func testUnixSocketProbe() throws {
        let path = directory + "/s.sock"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0, String(cString: strerror(errno)))
        XCTAssertEqual(UnixSocketProbe.connect(path: path, timeout: .seconds(1)), .refused, "bound, not listening")
        let endpoint = Daemon.Endpoint.unixSocket(path)
        XCTAssertFalse(endpoint.isHeld(timeout: .seconds(1)), "a socket file nobody listens on is not held")
        XCTAssertEqual(listen(fd, 4), 0)
        XCTAssertEqual(UnixSocketProbe.connect(path: path, timeout: .seconds(1)), .connected)
        XCTAssertTrue(endpoint.isHeld(timeout: .seconds(1)), "a listener holds the daemon's socket endpoint")
        XCTAssertEqual(endpoint.description, "socket \(path)")
        XCTAssertEqual(Daemon.Endpoint(IPAddress(numeric: "127.0.0.1")!, 80).description, "port 80 on 127.0.0.1")
        XCTAssertEqual(UnixSocketProbe.connect(path: directory + "/none.sock", timeout: .seconds(1)), .failed("no such socket file"))
        let long = "/" + String(repeating: "x", count: UnixSocketProbe.pathCapacity + 1)
        guard case .failed(let why) = UnixSocketProbe.connect(path: long, timeout: .seconds(1)) else { return XCTFail("long path") }
        XCTAssertTrue(why.contains("107"), why)
    }

    // MARK: Stop ladders

    /// PostgreSQL's smart, fast and immediate shutdowns (`pg_ctl stop -m
    /// smart|fast|immediate` sends the postmaster TERM, INT, QUIT) are a
    /// plain declaration, like nginx's quit/TERM/KILL.
    func testPostgreSQLStopLadderIsAPlainDeclaration() {
        let postgres = StopLadder(.signal("smart", SIGTERM, share: 5), .signal("fast", SIGINT, share: 3),
                                  .signal("immediate", SIGQUIT, share: 2))
        XCTAssertNil(postgres.problem)
        XCTAssertEqual(postgres.steps.map(\.name), ["smart", "fast", "immediate"])
        XCTAssertEqual(postgres.budgets(for: .seconds(60)), [.seconds(30), .seconds(18), .seconds(12)])
        // With pg_ctl itself (no wait: the ladder does the waiting).
        let pgctl = StopLadder(steps: ["smart", "fast", "immediate"].map { mode in
            .command(mode, ["/usr/lib/postgresql/15/bin/pg_ctl", "stop", "-D", "/var/lib/postgresql/15/main",
                            "-m", mode, "--no-wait"], share: 1)
        })
        XCTAssertNil(pgctl.problem)
        XCTAssertEqual(pgctl.budgets(for: .seconds(30)), [.seconds(10), .seconds(10), .seconds(10)])

        let nginx = StopLadder.nginx(quitCommand: ["/usr/sbin/nginx", "-s", "quit"])
        XCTAssertEqual(nginx.steps.map(\.name), ["quit", "TERM", "KILL"])
        XCTAssertEqual(nginx.steps.last?.action, .signal(SIGKILL, group: true))
        XCTAssertEqual(nginx.budgets(for: .seconds(10)), [.seconds(6), .seconds(3), .seconds(1)])
        // Time a step did not use goes to the steps after it.
        XCTAssertEqual(nginx.budget(ofStep: 1, left: .seconds(8)), .seconds(6))
        XCTAssertEqual(nginx.budget(ofStep: 2, left: .seconds(8)), .seconds(8))
    }

    func testStopLadderDeclarationsThatCannotWork() {
        XCTAssertNotNil(StopLadder(steps: []).problem)
        XCTAssertEqual(StopLadder(.signal("TERM", SIGTERM, share: 0)).problem, "step 'TERM': share must be more than 0")
        XCTAssertEqual(StopLadder(.command("quit", [""], share: 1)).problem, "step 'quit': empty command")
        XCTAssertEqual(StopLadder(.signal("odd", 99, share: 1)).problem, "step 'odd': no signal 99")
    }

    // MARK: Launch: user, environment, working directory

    func testLaunchWrapsTheCommandOnlyWhenAsked() {
        XCTAssertEqual(Launch().argv(["/usr/sbin/nginx", "-t"]), ["/usr/sbin/nginx", "-t"])
        XCTAssertEqual(Launch(environment: ["B": "2", "A": "1"], workingDirectory: "/srv").argv(["run"]),
                       ["/usr/bin/env", "-C", "/srv", "A=1", "B=2", "run"])
        XCTAssertEqual(Launch(user: "nobody").argv(["x"]).prefix(2), ["/usr/bin/setpriv", "--reuid=65534"])
        XCTAssertEqual(Launch(user: "no-such-user-fshost").problem, "no such user: 'no-such-user-fshost'")
        XCTAssertEqual(Launch(workingDirectory: "srv").problem, "working directory must be an absolute path: 'srv'")
        XCTAssertEqual(Launch(environment: ["A=B": "1"]).problem,
                       "environment variable name must be non-empty, without '=' or NUL: 'A=B'")
        XCTAssertNotNil(Launch(environment: ["A": "1"]).problem(for: ["X=1"]))
        XCTAssertNil(Launch(user: "nobody", environment: ["A": "1"], workingDirectory: "/tmp").problem)
    }

    /// The wrapped argv really runs as the user, in the directory, with the
    /// environment (run here the way the host's spawn runs it: argv, no shell).
    func testLaunchRunsAsTheUserInTheDirectoryWithTheEnvironment() throws {
        let launch = Launch(user: "nobody", environment: ["FSKIT_PROBE": "yes"], workingDirectory: "/tmp")
        XCTAssertNil(launch.problem)
        let (status, text) = try runLaunched(launch.argv(["/bin/sh", "-c", "echo $(id -u) $(pwd) $FSKIT_PROBE"]))
        XCTAssertEqual(status, 0)
        XCTAssertEqual(text, "65534 /tmp yes\n")
    }

    /// Runs a wrapped argv as the host's spawn runs it (argv, no shell,
    /// this process's environment): its exit status and standard output.
    func runLaunched(_ argv: [String]) throws -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }

    /// A command run as another user starts from the user's login
    /// environment, not fshost's (R9 #11: root's PGPASSWORD and HOME=/root
    /// reached the postmaster): HOME, SHELL, USER, LOGNAME, PATH, the
    /// locale variables fshost has, then the launch's own; nothing else.
    /// The launch mark is passed on through env, which clears what Detach added.
    func testACommandRunAsAnotherUserGetsTheUsersEnvironmentOnly() throws {
        setenv("PGPASSWORD", "root-env-secret", 1)
        setenv("PGOPTIONS", "-c work_mem=64kB", 1)
        setenv("LC_MESSAGES", "C.UTF-8", 1)
        defer { unsetenv("PGPASSWORD"); unsetenv("PGOPTIONS"); unsetenv("LC_MESSAGES") }
        let launch = Launch(user: "nobody", environment: ["FSKIT_PROBE": "yes"])
        XCTAssertNil(launch.problem)
        let (status, text) = try runLaunched(launch.argv(["/usr/bin/env"], mark: "FSHOST_RESOURCE=t/r /run/x.pid"))
        XCTAssertEqual(status, 0)
        let lines = text.split(separator: "\n")
        var seen: [String: String] = [:]
        for line in lines {
            let parts = line.split(separator: "=", maxSplits: 1)
            seen[String(parts[0])] = parts.count > 1 ? String(parts[1]) : ""
        }
        let nobody = try XCTUnwrap(Launch.Account("nobody"))
        var expected = ["HOME": nobody.home, "USER": "nobody", "LOGNAME": "nobody", "SHELL": nobody.shell,
                        "PATH": Launch.userPath, "FSKIT_PROBE": "yes", "LC_MESSAGES": "C.UTF-8",
                        "FSHOST_RESOURCE": "t/r /run/x.pid"]
        for name in Launch.localeVariables where name != "LC_MESSAGES" {
            if let value = getenv(name) { expected[name] = String(cString: value) }
        }
        XCTAssertEqual(seen, expected)
        // Without a user, nothing changes: the command inherits (the host runs it as root).
        XCTAssertEqual(Launch(workingDirectory: "/tmp").argv(["x"]), ["/usr/bin/env", "-C", "/tmp", "x"])
    }

    // MARK: One definition of running

    func testMonitorAndExclusiveAnswerFromOneStatus() {
        let id = ProcessIdentity(pid: 10, startTime: 5)
        let cases: [DaemonStatus] = [
            .stopped("no pidfile"), .running(id), .crashed(pid: 10, "gone", leftovers: []),
            .crashed(pid: 10, "gone", leftovers: [ProcessIdentity(pid: 11, startTime: 6)]),
            .withoutPidFile("runs without its pidfile"), .unknown("pidfile is a directory"),
        ]
        for status in cases {
            let exclusive = status.exclusiveOutcome.status, monitor = status.monitorOutcome.status
            if status.somethingRuns { XCTAssertEqual(exclusive, .running, "\(status)") }
            if exclusive == .notRunning { XCTAssertFalse(status.somethingRuns, "\(status)") }
            if monitor == .success { XCTAssertEqual(exclusive, .running, "\(status)") }
            if monitor == .notRunning { XCTAssertEqual(exclusive, .notRunning, "a clean stop for both: \(status)") }
        }
        XCTAssertEqual(DaemonStatus.stopped("x").monitorOutcome.status, .notRunning)
        XCTAssertEqual(DaemonStatus.unknown("x").exclusiveOutcome.status, .commandFailed, "never a guess")
        XCTAssertEqual(ProcessIdentity(text: ProcessIdentity(pid: 42, startTime: 99).text), ProcessIdentity(pid: 42, startTime: 99))
        XCTAssertNil(ProcessIdentity(text: "42"))
    }
}
