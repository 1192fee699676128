// The SDK's Daemon against real processes: a small shell "server" that
// daemonises (setsid) and writes a PostgreSQL-style pidfile, driven through
// start, status, exclusive and the stop ladder, with the host's own process
// matcher, signals and spawn behind the services (ProcessHost).
import Foundation
import TestSupport
import XCTest
@testable import FSKit

final class DaemonLifecycleTests: XCTestCase {
    var directory: String!
    var marker: String!
    var started: [Int32] = []

    override func setUpWithError() throws {
        directory = ProcessFixtures.makeTemporaryDirectory(prefix: "fskit-daemon")
        marker = ProcessFixtures.uniqueMarker("postmaster")
        ProcessHost.state = [:]
        ProcessHost.failStateWrites = false
    }

    override func tearDown() {
        // Whatever a failed assertion left: the session (process group) each server leads.
        if case .pid(let pid, _) = PidFile(pidFile).read() { started.append(pid) }
        for pid in started where pid > 1 { kill(-pid, SIGKILL) }
        ProcessFixtures.removeTree(directory)
        super.tearDown()
    }

    var pidFile: String { directory + "/postmaster.pid" }

    /// A server that daemonises (its own session), writes its pid and a
    /// second line into the pidfile, ignores TERM (so "smart" is not enough)
    /// and exits on INT ("fast"), as a busy postmaster would. `child` adds
    /// a process of its group with the same name (a worker).
    func startCommand(child: Bool = false) -> [String] {
        let script = directory + "/postmaster.sh"
        ProcessFixtures.writeFile(script, """
            echo $$ > \(pidFile)
            echo \(directory!) >> \(pidFile)
            trap '' TERM
            trap 'exit 0' INT
            \(child ? "/bin/sh -c 'while :; do sleep 1; done' worker &" : "")
            while :; do sleep 0.05; done

            """)
        // sh ignores INT and QUIT in a background job (POSIX), and a shell
        // cannot trap what it was started ignoring: env restores them.
        return ["/bin/sh", "-c",
                "setsid /usr/bin/env --default-signal=INT,QUIT /bin/sh \(script) \(marker!) </dev/null >/dev/null 2>&1 &"]
    }

    func daemon(_ resource: Resource, child: Bool = false, ports: [Daemon.Endpoint] = []) -> Daemon {
        Daemon(resource: resource, pidFile: PidFile(pidFile), master: ProcessPattern(name: "sh", argument: marker),
               start: startCommand(child: child),
               stop: StopLadder(.signal("smart", SIGTERM, share: 5), .signal("fast", SIGINT, share: 3),
                                .signal("immediate", SIGQUIT, share: 2)),
               ports: ports)
    }

    func startedDaemon(child: Bool = false) throws -> (Daemon, ProcessIdentity) {
        let d = daemon(ProcessHost.resource(timeLeft: .seconds(5)), child: child)
        let outcome = d.start { d.probe() }
        XCTAssertEqual(outcome, .success, "start: \(ProcessHost.logLines)")
        guard case .running(let id) = d.status() else { throw SetupFailure("not running after start: \(d.status())") }
        started.append(id.pid)
        return (d, id)
    }

    func testStartRemembersTheMasterAndStopClimbsThePostgreSQLLadder() throws {
        let (d, id) = try startedDaemon()
        XCTAssertEqual(ProcessHost.state["master"], id.text, "the identity is kept in state")
        XCTAssertEqual(d.processes.first?.hint, id, "and declared as the host's pid hint")
        XCTAssertEqual(PidFile(pidFile).read(), .pid(id.pid, more: [directory]))
        XCTAssertEqual(d.exclusive().status, .running)
        XCTAssertEqual(d.probe(), .success)
        // A second start of a running daemon starts nothing.
        XCTAssertEqual(d.start { d.probe() }, .success)
        XCTAssertEqual(d.status(), .running(id))

        let stopping = daemon(ProcessHost.resource(timeLeft: .seconds(4)))
        let begin = ProcessFixtures.now()
        XCTAssertEqual(stopping.stop(), .success, "stop: \(ProcessHost.logLines)")
        let seconds = ProcessFixtures.now() - begin
        XCTAssertTrue(ProcessHost.logLines.contains { $0.contains("still runs after smart: fast") }, "\(ProcessHost.logLines)")
        XCTAssertFalse(ProcessHost.logLines.contains { $0.contains("after fast") }, "INT was enough: \(ProcessHost.logLines)")
        XCTAssertGreaterThan(seconds, 1.0, "smart had its share of the budget")
        XCTAssertLessThan(seconds, 3.5, "within the stop budget")
        XCTAssertFalse(processAliveForTest(id))
        XCTAssertEqual(PidFile(pidFile).read(), .absent, "the pidfile is removed")
        XCTAssertNil(ProcessHost.state["master"], "the identity is forgotten")
        let after = daemon(ProcessHost.resource(timeLeft: .seconds(2)))
        XCTAssertEqual(after.status(), .stopped("not running (no pidfile \(pidFile))"))
        XCTAssertEqual(after.stop(), .success, "stopping a stopped daemon succeeds")
    }

    /// A master killed outright leaves a worker of its group running: that
    /// is "crashed" for monitor, "running" for exclusive, and stop ends the
    /// worker (group_members + signal_process) and removes the pidfile.
    func testLeftoversOfACrashedMasterAreCleanedUp() throws {
        let (_, id) = try startedDaemon(child: true)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) {
            ProcessHostProbe.groupMembers(of: id.pid).count >= 2
        }, "the worker started")
        kill(id.pid, SIGKILL)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) { !processAliveForTest(id) })
        let d = daemon(ProcessHost.resource(timeLeft: .seconds(4)))
        guard case .crashed(id.pid, _, let leftovers) = d.status() else { return XCTFail("\(d.status())") }
        XCTAssertEqual(leftovers.count, 1, "the worker")
        XCTAssertEqual(d.probe().status, .commandFailed)
        XCTAssertEqual(d.exclusive().status, .running)
        XCTAssertEqual(d.stop(), .success, "\(ProcessHost.logLines)")
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) { ProcessHostProbe.groupMembers(of: id.pid).isEmpty })
        XCTAssertEqual(PidFile(pidFile).read(), .absent)
        XCTAssertEqual(daemon(ProcessHost.resource(timeLeft: .seconds(1))).exclusive().status, .notRunning)
    }

    /// A port another process holds before start fails the start, naming
    /// the port, and the start command never runs.
    func testStartRefusesAPortHeldByAnotherProcess() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        _ = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(listen(fd, 4), 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        let port = UInt16(bigEndian: address.sin_port)
        let d = daemon(ProcessHost.resource(timeLeft: .seconds(3)),
                       ports: [Daemon.Endpoint(IPAddress(numeric: "127.0.0.1")!, port)])
        let outcome = d.start { d.probe() }
        XCTAssertEqual(outcome.status, .commandFailed)
        XCTAssertTrue(outcome.reason?.contains("port \(port)") == true, "\(outcome)")
        XCTAssertEqual(PidFile(pidFile).read(), .absent, "the start command did not run")
    }

    /// A state write that fails fails the start (the identity is the
    /// pid-reuse guard), and says why.
    func testAStateWriteThatFailsIsReported() throws {
        ProcessHost.failStateWrites = true
        let d = daemon(ProcessHost.resource(timeLeft: .seconds(5)))
        let outcome = d.start { d.probe() }
        if case .pid(let pid, _) = PidFile(pidFile).read() { started.append(pid) }
        XCTAssertEqual(outcome.status, .commandFailed)
        XCTAssertTrue(outcome.reason?.contains("state 'master' not written") == true, "\(outcome)")
        XCTAssertThrowsError(try ProcessHost.resource(timeLeft: .seconds(1)).state.store("x", for: "k"))
        ProcessHost.failStateWrites = false
        XCTAssertEqual(daemon(ProcessHost.resource(timeLeft: .seconds(4))).stop(), .success)
    }

    /// A pidfile naming a live process that is not this master (another
    /// server's pidfile, a reused pid) is not this resource's: with the
    /// master running that is "running without its pidfile" for monitor and
    /// exclusive alike, and stop ends the master by name; with no master it
    /// is "not running"; stop and start never remove that file, and start
    /// refuses a pidfile naming another server of the same program.
    func testAPidfileNamingAnotherLiveProcessIsNeverOurs() throws {
        let (d, id) = try startedDaemon()
        guard let other = ChildProcess(["/bin/sh", "-c", "while :; do sleep 1; done", "other-server"]) else {
            throw SetupFailure("cannot start /bin/sh")
        }
        defer { other.stop() }
        ProcessFixtures.writeFile(pidFile, "\(other.pid)\n")
        let mixed = daemon(ProcessHost.resource(timeLeft: .seconds(4)))
        guard case .withoutPidFile(let why) = mixed.status() else { return XCTFail("\(mixed.status())") }
        XCTAssertTrue(why.contains("pid \(other.pid), a running process that is not sh with \(marker!)"), why)
        XCTAssertEqual(mixed.exclusive().status, .running, "this master runs: one definition")
        XCTAssertEqual(mixed.probe().status, .commandFailed)
        // A dead pid while this master runs: the same answer (not "crashed, nothing runs").
        guard let gone = ChildProcess(["/bin/true"]) else { throw SetupFailure("cannot start /bin/true") }
        _ = gone.reap()
        ProcessFixtures.writeFile(pidFile, "\(gone.pid)\n")
        guard case .withoutPidFile = mixed.status() else { return XCTFail("dead pid, master runs: \(mixed.status())") }
        XCTAssertEqual(mixed.exclusive().status, .running)
        ProcessFixtures.writeFile(pidFile, "\(other.pid)\n")
        XCTAssertEqual(mixed.stop(), .success, "\(ProcessHost.logLines)")
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) { !processAliveForTest(id) }, "the master is stopped by name")
        XCTAssertEqual(PidFile(pidFile).read(), .pid(other.pid, more: []), "the other process's pidfile stays")
        XCTAssertFalse(other.hasExited, "the other process is untouched")

        let after = daemon(ProcessHost.resource(timeLeft: .seconds(4)))
        XCTAssertEqual(after.status().monitorOutcome.status, .notRunning, "\(after.status())")
        XCTAssertEqual(after.exclusive().status, .notRunning)
        XCTAssertEqual(after.stop(), .success)
        XCTAssertEqual(PidFile(pidFile).read(), .pid(other.pid, more: []), "stop of a stopped daemon leaves it alone")
        // The other process is an `sh` too: another server writing the same pidfile.
        let refused = after.start { after.probe() }
        XCTAssertEqual(refused.status, .noConfigInfo, "\(refused)")
        XCTAssertTrue(refused.reason?.contains("pidfile \(pidFile) names pid \(other.pid)") == true, "\(refused)")
        XCTAssertTrue(refused.reason?.contains("each resource needs its own pidfile") == true, "\(refused)")
        XCTAssertEqual(PidFile(pidFile).read(), .pid(other.pid, more: []))
        XCTAssertFalse(other.hasExited)
        _ = d
    }

    /// A script server started with an explicit interpreter
    /// (`/usr/bin/python3 SCRIPT …`, comm `python3`) is found by the
    /// script's name, long or short, or its path: start returns as soon as
    /// it runs, not after its timeout.
    func testAScriptStartedByAnExplicitInterpreterIsItsOwnMaster() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw SetupFailure("\(python) is not installed") }
        let script = directory + "/a-long-generated-server.py"
        ProcessFixtures.writeFile(script, "import os, sys, time\nopen(sys.argv[1], 'w').write(str(os.getpid()) + '\\n')\ntime.sleep(60)\n")
        for name in ["a-long-generated-server.py", script] {
            let d = Daemon(resource: ProcessHost.resource(timeLeft: .seconds(10)), pidFile: PidFile(pidFile),
                           master: ProcessPattern(name: name, argument: pidFile),
                           start: ["/bin/sh", "-c", "setsid \(python) \(script) \(pidFile) </dev/null >/dev/null 2>&1 &"],
                           stop: StopLadder(.signal("TERM", SIGTERM, share: 1)))
            let begin = ProcessFixtures.now()
            let outcome = d.start { d.probe() }
            if case .pid(let pid, _) = PidFile(pidFile).read() { started.append(pid) }
            XCTAssertEqual(outcome, .success, "\(name): \(ProcessHost.logLines)")
            XCTAssertLessThan(ProcessFixtures.now() - begin, 3, name)
            guard case .running(let id) = d.status() else { return XCTFail("\(name): \(d.status())") }
            XCTAssertEqual(d.exclusive().status, .running)
            XCTAssertEqual(daemon(ProcessHost.resource(timeLeft: .seconds(1))).exclusive().status, .notRunning,
                           "another pattern (sh with another marker) is not this server")
            XCTAssertEqual(d.stop(), .success)
            XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 3000) { !processAliveForTest(id) })
        }
    }

    /// The pidfile names the new server, but the declared pattern does not
    /// describe it (process_name=python3 while comm is python3.11): start
    /// fails at once, naming the pid, what it is and the pattern, instead
    /// of waiting out its whole timeout.
    func testStartFailsAtOnceWhenThePidfilesProcessIsNotThePattern() throws {
        let d = Daemon(resource: ProcessHost.resource(timeLeft: .seconds(10)), pidFile: PidFile(pidFile),
                       master: ProcessPattern(name: "sh-not-this", argument: marker), start: startCommand(),
                       stop: StopLadder(.signal("INT", SIGINT, share: 1)), pidFileGrace: .seconds(5))
        let begin = ProcessFixtures.now()
        let outcome = d.start { d.probe() }
        if case .pid(let pid, _) = PidFile(pidFile).read() { started.append(pid) }
        XCTAssertLessThan(ProcessFixtures.now() - begin, 2.5, "not the start timeout: \(outcome)")
        XCTAssertEqual(outcome.status, .noConfigInfo, "\(outcome)")
        let reason = outcome.reason ?? ""
        XCTAssertTrue(reason.contains("pid \(started.last ?? -1) from \(pidFile)"), reason)
        XCTAssertTrue(reason.contains("comm 'sh'"), "what it is: \(reason)")
        XCTAssertTrue(reason.contains("name 'sh-not-this', argument '\(marker!)'"), "the pattern: \(reason)")
    }
}

/// Reads for assertions, straight from /proc (not through the SDK under test).
enum ProcessHostProbe {
    static func groupMembers(of group: Int32) -> [Int32] {
        NginxSite.processes().filter { $0.processGroup == group }.map(\.pid)
    }
}

func processAliveForTest(_ id: ProcessIdentity) -> Bool {
    guard let stat = try? String(contentsOfFile: "/proc/\(id.pid)/stat", encoding: .utf8),
          let close = stat.lastIndex(of: ")") else { return false }
    let fields = stat[stat.index(after: close)...].split(separator: " ")
    return fields.count > 19 && fields[0] != "Z" && UInt64(fields[19]) == id.startTime
}

extension DaemonLifecycleTests {
    /// A private pidfile (PostgreSQL's postmaster.pid) naming a live
    /// process that is not the master, even one of the master's program,
    /// is stale: start removes it and starts; the process is not touched.
    /// A shared one (the default) naming a server of the same program is
    /// refused instead. Lock files naming a gone pid are removed at start;
    /// one naming a live process of the master's program is left.
    func testAPrivatePidFileNamingAnotherProcessIsStaleAndStaleLockFilesAreRemoved() throws {
        let other = try XCTUnwrap(ChildProcess(["/bin/sh", "-c", "sleep 30; true"]))
        defer { other.stop() }
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 2000) {
            ProcessFixtures.readFile("/proc/\(other.pid)/comm")?.hasPrefix("sh") == true
        })
        ProcessFixtures.writeFile(pidFile, "\(other.pid)\n\(directory!)\n")

        // Shared (the default): another server's pidfile, refused.
        let shared = daemon(ProcessHost.resource(timeLeft: .seconds(3)))
        XCTAssertEqual(shared.start { shared.probe() }.status, .noConfigInfo)
        XCTAssertEqual(PidFile(pidFile).read(), .pid(other.pid, more: [directory]), "a shared pidfile is left alone")

        // A lock file naming a gone pid, and one naming a live sh (another server's).
        let gone = try XCTUnwrap(ChildProcess(["/bin/true"]))
        gone.stop()
        let staleLock = directory + "/.s.lock", liveLock = directory + "/.s2.lock"
        ProcessFixtures.writeFile(staleLock, "\(gone.pid)\n")
        ProcessFixtures.writeFile(liveLock, "\(other.pid)\n")

        var d = daemon(ProcessHost.resource(timeLeft: .seconds(5)))
        d.privatePidFile = true
        d.lockFiles = [PidFile(staleLock), PidFile(liveLock)]
        XCTAssertEqual(d.start { d.probe() }, .success, "\(ProcessHost.logLines)")
        if case .pid(let pid, _) = PidFile(pidFile).read() { started.append(pid) }
        XCTAssertTrue(ProcessHost.logLines.contains { $0.contains("stale pidfile") && $0.contains("\(other.pid)") },
                      "\(ProcessHost.logLines)")
        XCTAssertFalse(other.hasExited, "the process the stale pidfile named is not touched")
        XCTAssertFalse(FileManager.default.fileExists(atPath: staleLock), "a lock file naming a gone pid is removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: liveLock), "one naming a live sh is left")
        XCTAssertEqual(d.stop(), .success)
    }
}
