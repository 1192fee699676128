// The daemon plugin with real programs: Python's http.server on loopback
// (levels 1-3) and a sleep (user, working directory), driven through
// `fshost` subprocesses (as a cluster manager does) with a private CDB, run
// and state directory; nothing is left running, even when a test fails.
import Foundation
import TestSupport
import XCTest

final class DaemonTests: XCTestCase {
    var sandbox: HostSandbox!

    let success: Int32 = 0, notRunning: Int32 = 1, invalidArguments: Int32 = 2, commandFailed: Int32 = 3
    let running: Int32 = 4, noConfigInfo: Int32 = 6
    let python = "/usr/bin/python3"

    override func setUpWithError() throws {
        for product in ["fshost", "fshost-admin", "libdaemon.so"] {
            let path = HostSandbox.products.appendingPathComponent(product).path
            guard FileManager.default.fileExists(atPath: path) else { throw SetupFailure("\(path) is not built") }
        }
        guard FileManager.default.isExecutableFile(atPath: python) else { throw SetupFailure("\(python) is missing (python3)") }
        sandbox = try HostSandbox()
        try FileManager.default.createDirectory(atPath: sandbox.path("www"), withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    override func tearDown() {
        if sandbox != nil {
            for pid in programPids() { kill(pid, SIGCONT); kill(pid, SIGKILL) }
            XCTAssertTrue(wait(seconds: 3) { self.programPids().isEmpty }, "a program still runs after tearDown")
        }
        sandbox = nil
        super.tearDown()
    }

    // MARK: Helpers

    var pidfile: String { sandbox.path("d.pid") }

    func json(_ argv: [String]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: argv), as: UTF8.self)
    }

    /// `fshost cdb define daemon NAME start_command=ARGV pidfile=… retries=0 EXTRA…`.
    func define(_ name: String = "d1", command: [String], _ extra: [String] = [], pidfile: String? = nil) throws {
        let r = try sandbox.fshost(["cdb", "define", "daemon", name, "start_command=\(try json(command))",
                                    "pidfile=\(pidfile ?? self.pidfile)",
                                    "retries=0"] + extra)
        if r.status != 0 { throw SetupFailure("`fshost cdb define daemon \(name)` answered \(r.status): \(r.stderr)") }
    }

    /// http.server on 127.0.0.1:PORT serving the sandbox (its last word:
    /// the sandbox path, so only this test's server matches).
    func defineHTTP(_ name: String = "d1", _ extra: [String] = [], pidfile: String? = nil) throws -> UInt16 {
        let port = try NginxSite.freePort()
        try define(name, command: [python, "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", sandbox.path("www")],
                   ["port=\(port)", "url=http://127.0.0.1:\(port)/", "process_name=python3"] + extra, pidfile: pidfile)
        return port
    }

    @discardableResult
    func run(_ arguments: String...) throws -> HostSandbox.Result { try sandbox.fshost(arguments) }

    func monitor(_ level: Int, _ name: String = "d1") throws -> HostSandbox.Result {
        try sandbox.fshost(["daemon", "monitor", name, "--level", String(level)])
    }

    /// Processes whose command line carries this sandbox's path.
    func programPids() -> [Int32] { ProcessFixtures.pids(withCommandLineContaining: sandbox.root.path) }

    func pidInFile() throws -> Int32 {
        let text = try String(contentsOfFile: pidfile, encoding: .utf8)
        return try XCTUnwrap(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), "pidfile: '\(text)'")
    }

    /// The real uid of `pid` (`Uid:` of /proc/PID/status), as text.
    func realUID(_ pid: Int32) throws -> String? {
        let status = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        let uid = status.split(separator: "\n").first { $0.hasPrefix("Uid:") } ?? ""
        return uid.split(separator: "\t").dropFirst().first.map(String.init)
    }

        func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        ProcessFixtures.waitUntil(milliseconds: Int(seconds * 1000), condition)
    }

    func accepts(_ port: UInt16) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        } == 0
    }

    // MARK: The life cycle

    func testStartLevelsFaultStopWithHTTPServer() throws {
        let port = try defineHTTP()
        for level in 1...3 { XCTAssertEqual(try monitor(level).status, notRunning, "monitor \(level) before start") }
        XCTAssertEqual(try run("daemon", "exclusive", "d1").status, notRunning)

        let started = try run("daemon", "start", "d1")
        XCTAssertEqual(started.status, success, "start: \(started)")
        XCTAssertTrue(accepts(port), "start returns once the server answers")
        let pid = try pidInFile()
        XCTAssertEqual(programPids(), [pid], "one server, the pidfile names it")
        XCTAssertEqual(getsid(pid), pid, "detached: the server leads its own session")
        let again = try run("daemon", "start", "d1")
        XCTAssertEqual(again.status, success, "a second start: \(again)")
        XCTAssertEqual(try pidInFile(), pid, "a second start starts no second server")
        for level in 1...3 {
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "monitor level \(level): \(r)")
        }
        XCTAssertEqual(try run("daemon", "exclusive", "d1").status, running)

        // The fault: the server killed outright.
        kill(pid, SIGKILL)
        XCTAssertTrue(wait(seconds: 3) { self.programPids().isEmpty })
        let caught = try monitor(1)
        XCTAssertEqual(caught.status, commandFailed, "a killed server is a failure, not a clean stop: \(caught)")
        XCTAssertTrue(caught.stderr.contains("no such process"), caught.stderr)

        XCTAssertEqual(try run("daemon", "stop", "d1").status, success, "stop after the crash cleans up")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pidfile), "the stale pidfile is removed")
        XCTAssertEqual(try monitor(1).status, notRunning)

        // A running server stopped, twice.
        XCTAssertEqual(try run("daemon", "start", "d1").status, success)
        let stopped = try run("daemon", "stop", "d1")
        XCTAssertEqual(stopped.status, success, "stop: \(stopped)")
        XCTAssertEqual(programPids(), [], "stop leaves nothing running")
        XCTAssertFalse(accepts(port))
        XCTAssertEqual(try run("daemon", "stop", "d1").status, success, "stop again")
        XCTAssertEqual(try monitor(3).status, notRunning)
        XCTAssertEqual(try run("daemon", "exclusive", "d1").status, notRunning)
    }

    /// Level 3 catches a server whose port accepts but whose URL does not
    /// answer as expected (a 404 where 2xx is expected).
    func testLevel3CatchesWrongStatus() throws {
        let port = try NginxSite.freePort()
        try define(command: [python, "-m", "http.server", String(port), "--bind", "127.0.0.1", "--directory", sandbox.path("www")],
                   ["port=\(port)", "url=http://127.0.0.1:\(port)/missing.html", "process_name=python3", "start_timeout=3s"])
        let started = try run("daemon", "start", "d1")
        XCTAssertEqual(started.status, commandFailed, "start waits for level 3, which answers 404: \(started)")
        XCTAssertTrue(started.stderr.contains("answered 404, expected 2xx"), started.stderr)
        XCTAssertEqual(try run("daemon", "stop", "d1").status, success)
        XCTAssertEqual(programPids(), [])
    }

    /// Two resources of one program whose last words are the same (two
    /// http.server on two ports, one --directory): the one never started is
    /// not running for exclusive, monitor and stop, and its stop touches
    /// nothing; the other keeps running. (The process pattern alone, name
    /// and last word, matches both: only the launch mark tells them apart.)
    func testLookAlikeOfAnotherResourceIsNotThisOne() throws {
        let port1 = try defineHTTP("web1", pidfile: sandbox.path("web1.pid"))
        let port2 = try defineHTTP("wp", pidfile: sandbox.path("wp.pid"))
        let started = try run("daemon", "start", "web1")
        XCTAssertEqual(started.status, success, "start web1: \(started)")
        let pid = try XCTUnwrap(Int32(try String(contentsOfFile: sandbox.path("web1.pid"), encoding: .utf8)
            .trimmingCharacters(in: .whitespacesAndNewlines)))
        let exclusive = try run("daemon", "exclusive", "wp")
        XCTAssertEqual(exclusive.status, notRunning, "wp never started: \(exclusive)")
        XCTAssertEqual(try monitor(1, "wp").status, notRunning)
        let stopped = try run("daemon", "stop", "wp")
        XCTAssertEqual(stopped.status, success, "stop of a stopped resource: \(stopped)")
        XCTAssertFalse(stopped.stderr.contains("by name"), stopped.stderr)
        XCTAssertEqual(kill(pid, 0), 0, "web1's server still runs")
        XCTAssertTrue(accepts(port1))
        XCTAssertFalse(accepts(port2))
        XCTAssertEqual(try monitor(3, "web1").status, success)
        XCTAssertEqual(try run("daemon", "exclusive", "web1").status, running)

        // Both running: stopping one ends only its own server.
        XCTAssertEqual(try run("daemon", "start", "wp").status, success)
        XCTAssertTrue(accepts(port2))
        let stoppedBoth = try run("daemon", "stop", "wp")
        XCTAssertEqual(stoppedBoth.status, success, "\(stoppedBoth)")
        XCTAssertFalse(stoppedBoth.stderr.contains("remained"), stoppedBoth.stderr)
        XCTAssertFalse(accepts(port2))
        XCTAssertEqual(kill(pid, 0), 0, "web1's server still runs")
        XCTAssertTrue(accepts(port1))
        XCTAssertEqual(try run("daemon", "stop", "web1").status, success)
        XCTAssertEqual(programPids(), [])
    }

    /// A start whose program exits at once fails and leaves no pidfile:
    /// monitor and exclusive then say not running (not a crash).
    func testFailedStartLeavesNoPidfile() throws {
        try define(command: ["/bin/sh", "-c", "exit 3", sandbox.root.path])
        let started = try run("daemon", "start", "d1")
        XCTAssertEqual(started.status, commandFailed, "\(started)")
        XCTAssertTrue(started.stderr.contains("exited with status 3"), started.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: pidfile), "the pidfile start wrote is removed")
        let watched = try monitor(1)
        XCTAssertEqual(watched.status, notRunning, "\(watched)")
        XCTAssertEqual(try run("daemon", "exclusive", "d1").status, notRunning)
    }

    /// output= is held to the pidfile's and log's trust rule: a symbolic
    /// link in a directory another user can write (a sticky 1777 one) that
    /// leads to root's 0700 directory, and a world-writable file another
    /// user owns, are refused (HA_NOCFGINFO naming 'output'); nothing
    /// runs, nothing is written there.
    func testUntrustedOutputIsRefused() throws {
        let pub = sandbox.path("pub"), secret = sandbox.path("secret")
        try FileManager.default.createDirectory(atPath: pub, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o1777])
        XCTAssertEqual(chmod(pub, 0o1777), 0)
        try FileManager.default.createDirectory(atPath: secret, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        XCTAssertEqual(symlink(secret, pub + "/d"), 0)
        XCTAssertEqual(lchown(pub + "/d", 65534, 65534), 0)
        let command = ["/bin/sleep", "3600 \(sandbox.root.path)"]
        try define(command: command, ["output=\(pub)/d/out.log"])
        assertRefused(try run("daemon", "validate", "d1"), noConfigInfo, naming: "attribute 'output'")
        assertRefused(try run("daemon", "start", "d1"), noConfigInfo, naming: "attribute 'output'")
        XCTAssertFalse(FileManager.default.fileExists(atPath: secret + "/out.log"), "nothing appended through the link")

        let open = sandbox.path("open.log")
        XCTAssertTrue(FileManager.default.createFile(atPath: open, contents: nil))
        XCTAssertEqual(chown(open, 65534, 65534), 0)
        XCTAssertEqual(chmod(open, 0o666), 0)
        try define("d2", command: command, ["output=\(open)"])
        assertRefused(try run("daemon", "start", "d2"), noConfigInfo, naming: "attribute 'output'")
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: open)[.size] as? Int, 0)
    }

    /// The program as `user` (a Python server as nobody): start, every
    /// level, exclusive and stop, with the host's process checks on (the
    /// pattern's owner is that user's uid).
    func testUserRunsTheServerThroughItsWholeLife() throws {
        let port = try defineHTTP("d1", ["user=nobody", "working_directory=\(sandbox.path("www"))"])
        let started = try run("daemon", "start", "d1")
        XCTAssertEqual(started.status, success, "start as nobody: \(started)")
        let pid = try pidInFile()
        XCTAssertEqual(try realUID(pid), "65534", "runs as nobody")
        XCTAssertTrue(accepts(port))
        for level in 1...3 {
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "monitor level \(level): \(r)")
        }
        XCTAssertEqual(try run("daemon", "exclusive", "d1").status, running)
        let stopped = try run("daemon", "stop", "d1")
        XCTAssertEqual(stopped.status, success, "stop: \(stopped)")
        XCTAssertTrue(wait(seconds: 2) { kill(pid, 0) != 0 }, "stopped")
        XCTAssertEqual(try monitor(1).status, notRunning)
    }

    /// user and working_directory: the program runs as that user, in that directory.
    func testUserAndWorkingDirectory() throws {
        let directory = sandbox.path("www")
        let token = "3600.\(getpid())\(Int.random(in: 100...999))"
        try define(command: ["/bin/sh", "-c", "exec sleep \(token) # \(sandbox.root.path)"],
                   ["user=nobody", "working_directory=\(directory)", "process_name=sleep", "process_argument=\(token)"])
        let started = try run("daemon", "start", "d1")
        XCTAssertEqual(started.status, success, "start: \(started)")
        let pid = try pidInFile()
        XCTAssertEqual(try realUID(pid), "65534", "runs as nobody")
        XCTAssertEqual(try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/cwd"), directory)
        XCTAssertEqual(try monitor(3).status, success, "no port, no url: levels 2 and 3 pass")
        XCTAssertEqual(try run("daemon", "stop", "d1").status, success)
        XCTAssertTrue(wait(seconds: 2) { kill(pid, 0) != 0 }, "stopped")
    }

    func testVerifyPasses() throws {
        _ = try defineHTTP()
        let r = try sandbox.fshost(["verify", "daemon", "d1", "--json"])
        XCTAssertEqual(r.status, success, "\(r) \(r.stdout)")
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(report["holds"] as? Bool, true, r.stdout)
        XCTAssertEqual((report["lies"] as? [Any])?.count, 0, r.stdout)
        XCTAssertEqual(programPids(), [], "verify leaves the server stopped")
    }

    // MARK: Bad input: one line, a documented status, nothing started

    /// The action's own line: the last line of stderr names the attribute.
    func assertRefused(_ r: HostSandbox.Result, _ status: Int32, naming words: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, status, "\(r)", file: file, line: line)
        let lines = r.stderr.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, "one line: \(r.stderr)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(words), "names \(words): \(r.stderr)", file: file, line: line)
        XCTAssertEqual(programPids(), [], "nothing started", file: file, line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: pidfile), "no pidfile", file: file, line: line)
    }

    func testRelativeCommandIsInvalidAndStartsNothing() throws {
        try define(command: ["sleep", "3600 \(sandbox.root.path)"])
        assertRefused(try run("daemon", "start", "d1"), invalidArguments, naming: "attribute 'start_command'")
        assertRefused(try run("daemon", "validate", "d1"), invalidArguments, naming: "must be an absolute path")
    }

    func testMissingCommandIsMissingConfigurationAndStartsNothing() throws {
        try define(command: [sandbox.path("no-such-program"), sandbox.root.path])
        assertRefused(try run("daemon", "start", "d1"), noConfigInfo, naming: "attribute 'start_command'")
    }

    /// `user` is the host's user kind: the host refuses a user this node
    /// does not have before the plugin runs (HA_INVAL_ARGS).
    func testUnknownUserIsInvalidAndStartsNothing() throws {
        try define(command: ["/bin/sleep", "3600 \(sandbox.root.path)"], ["user=fshost-no-such-user"])
        assertRefused(try run("daemon", "start", "d1"), invalidArguments, naming: "attribute 'user': no user 'fshost-no-such-user'")
        assertRefused(try monitor(1), invalidArguments, naming: "attribute 'user'")
        XCTAssertFalse(try monitor(1).stderr.contains("start_command"), "names the user attribute, not start_command")
    }

    func testBadURLIsInvalid() throws {
        try define(command: ["/bin/sleep", "3600 \(sandbox.root.path)"], ["url=http://localhost:8080/"])
        assertRefused(try run("daemon", "start", "d1"), invalidArguments, naming: "numeric IP address")
        assertRefused(try monitor(3), invalidArguments, naming: "attribute 'url'")
    }

    /// A port out of range never reaches the CDB: define refuses it (2), and
    /// one stored by hand is refused by the action before anything runs.
    func testPortOutOfRangeIsRefused() throws {
        let r = try sandbox.fshost(["cdb", "define", "daemon", "d1", "start_command=[\"/bin/sleep\",\"3600\"]",
                                    "pidfile=\(pidfile)", "port=70000"])
        XCTAssertEqual(r.status, invalidArguments, "\(r)")
        XCTAssertTrue(r.stderr.contains("port"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        try sandbox.store("daemon", "d2", ["start_command": "[\"/bin/sleep\",\"3600 \(sandbox.root.path)\"]",
                                           "pidfile": pidfile, "port": "70000"])
        let started = try run("daemon", "start", "d2")
        XCTAssertEqual(started.status, invalidArguments, "\(started)")
        XCTAssertTrue(started.stderr.contains("port"), started.stderr)
        XCTAssertEqual(programPids(), [], "nothing started")
    }
}
