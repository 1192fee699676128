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
        XCTAssertTrue(outcome.reason?.contains("could not write state 'master'") == true, "\(outcome)")
        XCTAssertThrowsError(try ProcessHost.resource(timeLeft: .seconds(1)).state.store("x", for: "k"))
        ProcessHost.failStateWrites = false
        XCTAssertEqual(daemon(ProcessHost.resource(timeLeft: .seconds(4))).stop(), .success)
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
