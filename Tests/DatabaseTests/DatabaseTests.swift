// The database plugin against real PostgreSQL 15: every test copies the
// class's initdb template into its own directory (socket directory beside
// it, a free loopback port), drives it through `fshost` subprocesses (as a
// cluster manager does) with a private CDB, run and state directory, and
// leaves nothing running (every process of the test's OS user is killed in
// tearDown; the user itself is removed after the class).
import Foundation
import TestSupport
import XCTest

final class DatabaseTests: XCTestCase {
    nonisolated(unsafe) static var shared: Result<PostgresTemplate, Error>?

    var template: PostgresTemplate!
    var sandbox: HostSandbox!
    var clusters: [PostgresCluster] = []
    /// Every output of fshost in this test: the password must be in none.
    var outputs: [String] = []

    let success: Int32 = 0, notRunning: Int32 = 1, invalidArguments: Int32 = 2, commandFailed: Int32 = 3
    let running: Int32 = 4, noConfigInfo: Int32 = 6

    override func setUpWithError() throws {
        for product in ["fshost", "fshost-admin", "libdatabase.so", "libdatabase-libpq.so", "libdatabase-scram.so"] {
            let path = HostSandbox.products.appendingPathComponent(product).path
            guard FileManager.default.fileExists(atPath: path) else { throw SetupFailure("\(path) is not built") }
        }
        if Self.shared == nil { Self.shared = PostgresTemplate.make() }
        template = try Self.shared!.get()
        sandbox = try HostSandbox()
    }

    override func tearDown() {
        if let template {
            PostgresTemplate.killProcesses(of: template.uid)
            XCTAssertEqual(PostgresTemplate.processes(of: template.uid), [], "processes of the test user remain")
        }
        for output in outputs {
            XCTAssertFalse(output.contains(PostgresTemplate.password), "the password appears in an output: \(output)")
        }
        for cluster in clusters { cluster.remove() }
        clusters = []
        sandbox = nil
        super.tearDown()
    }

    override class func tearDown() {
        if case .success(let template)? = shared { template.remove() }
        shared = nil
        super.tearDown()
    }

    // MARK: Helpers

    func makeCluster(copyTemplate: Bool = true) throws -> PostgresCluster {
        let cluster = try PostgresCluster(template, copyTemplate: copyTemplate)
        clusters.append(cluster)
        return cluster
    }

    /// Defines `name` with the cluster's attributes; one in `extra` replaces the cluster's of that name.
    func define(_ cluster: PostgresCluster, _ name: String = "db1", _ extra: [String] = []) throws {
        let keys = Set(extra.map { $0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0 })
        let base = cluster.attributes.filter { !keys.contains($0.split(separator: "=", maxSplits: 1).first.map(String.init) ?? $0) }
        let r = try run(["cdb", "define", "database", name] + base + extra)
        if r.status != 0 { throw SetupFailure("`fshost cdb define database \(name)` answered \(r.status): \(r.stderr)") }
    }

    @discardableResult
    func run(_ arguments: [String]) throws -> HostSandbox.Result {
        let r = try sandbox.fshost(arguments)
        outputs += [r.stdout, r.stderr]
        return r
    }

    @discardableResult
    func run(_ arguments: String...) throws -> HostSandbox.Result { try run(arguments) }

    func monitor(_ level: Int, _ name: String = "db1") throws -> HostSandbox.Result {
        try run(["database", "monitor", name, "--level", String(level), "--json"])
    }

    func start(_ name: String = "db1") throws {
        let r = try run("database", "start", name)
        XCTAssertEqual(r.status, success, "start: \(r)")
    }

    // MARK: The plugin never loads libpq

    /// Level 1 must cost a process check: libpq (and its ~20 libraries)
    /// is needed by the libpq companion only, libnettle (SCRAM's crypto)
    /// by the scram companion only.
    func testThePluginLinksNeitherLibpqNorLibnettleItsCompanionsDo() throws {
        func needed(_ product: String) throws -> String {
            let path = HostSandbox.products.appendingPathComponent(product).path
            let r = try PostgresTemplate.tool("/usr/bin/readelf", ["-d", path])
            XCTAssertEqual(r.status, 0, r.output)
            return r.output.split(separator: "\n").filter { $0.contains("(NEEDED)") }.joined(separator: "\n")
        }
        let plugin = try needed("libdatabase.so"), libpq = try needed("libdatabase-libpq.so")
        let scram = try needed("libdatabase-scram.so")
        XCTAssertFalse(plugin.contains("libpq") || plugin.contains("libnettle"), "libdatabase.so needs libpq or libnettle:\n\(plugin)")
        XCTAssertTrue(libpq.contains("libpq.so"), "libdatabase-libpq.so does not need libpq:\n\(libpq)")
        XCTAssertTrue(scram.contains("libnettle.so"), "libdatabase-scram.so does not need libnettle:\n\(scram)")
        XCTAssertFalse(scram.contains("libpq"), "libdatabase-scram.so needs libpq:\n\(scram)")
    }

    // MARK: The life cycle

    func testStartMonitorEveryLevelStop() throws {
        let cluster = try makeCluster()
        // The debug lines name every command run: the password must be in none.
        sandbox.extraEnvironment["FSHOST_DEBUG"] = "1"
        try define(cluster, "db1", ["table=\(PostgresTemplate.table)"])

        for level in 1...3 { XCTAssertEqual(try monitor(level).status, notRunning, "monitor \(level) before start") }
        XCTAssertEqual(try run("database", "exclusive", "db1").status, notRunning)

        try start()
        XCTAssertEqual(cluster.postmasters().count, 1, "one postmaster of this data directory")
        XCTAssertEqual(cluster.postmasterPid, cluster.postmasters().first)
        for level in 1...3 {
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "monitor level \(level): \(r)")
        }
        XCTAssertEqual(try run("database", "exclusive", "db1").status, running)
        XCTAssertEqual(try cluster.psql("SELECT 42").output, "42", "the server serves a client")
        // The password is in no command line and no environment of the server.
        for pid in PostgresTemplate.processes(of: template.uid) {
            for file in ["cmdline", "environ"] {
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/\(file)"))) ?? Data()
                XCTAssertFalse(String(decoding: bytes, as: UTF8.self).contains(PostgresTemplate.password),
                               "the password is in /proc/\(pid)/\(file)")
            }
        }
        let restarted = try run("database", "restart", "db1")
        XCTAssertEqual(restarted.status, success, "restart: \(restarted)")
        XCTAssertEqual(cluster.postmasters().count, 1)
        XCTAssertEqual(try monitor(3).status, success, "after restart")

        let stopped = try run("database", "stop", "db1")
        XCTAssertEqual(stopped.status, success, "stop: \(stopped)")
        XCTAssertEqual(cluster.postmasters(), [], "no postmaster of this data directory after stop")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cluster.pidFile), "postmaster.pid left behind")
        for level in 1...3 { XCTAssertEqual(try monitor(level).status, notRunning, "monitor \(level) after stop") }
        XCTAssertEqual(try run("database", "exclusive", "db1").status, notRunning)
    }

    func testStartAndStopAreIdempotent() throws {
        let cluster = try makeCluster()
        try define(cluster)
        XCTAssertEqual(try run("database", "stop", "db1").status, success, "stop with nothing running")
        try start()
        let postmaster = cluster.postmasters()
        try start()
        XCTAssertEqual(cluster.postmasters(), postmaster, "a second start must not start a second server")
        // The same directories spelled with `//`, `/./` and a trailing `/`:
        // level 1 matches the postmaster's `-D` as pg_ctl canonicalizes it
        // (a canonical spelling skips that work; others still get it).
        try define(cluster, "db1spelled", ["data_directory=\(cluster.data)//./", "socket_directory=\(cluster.sockets)/."])
        let spelled = try monitor(1, "db1spelled")
        XCTAssertEqual(spelled.status, success, "level 1 with a non-canonical data_directory: \(spelled)")
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
        XCTAssertEqual(try run("database", "stop", "db1").status, success, "second stop")
        XCTAssertEqual(cluster.postmasters(), [])
    }

    // MARK: What each level must catch

    /// Level 1: a SIGKILLed postmaster is a failure (its postmaster.pid
    /// remains); the next start treats the pid file as stale and works.
    func testLevel1CatchesAKilledPostmasterAndStartAfterTheCrashWorks() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "table=\(PostgresTemplate.table)"])
        try start()
        let postmaster = try XCTUnwrap(cluster.postmasterPid)
        kill(postmaster, SIGKILL)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { cluster.postmasters().isEmpty })
        XCTAssertTrue(FileManager.default.fileExists(atPath: cluster.pidFile), "a crash leaves postmaster.pid")

        let r = try monitor(1)
        XCTAssertEqual(r.status, commandFailed, "a crashed postmaster is a failure, not 'not running': \(r)")
        XCTAssertTrue(r.stdout.contains("gone"), r.stdout)
        // Its children notice the postmaster's death and exit.
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            PostgresTemplate.processes(of: self.template.uid).isEmpty
        }, "children of the killed postmaster remain")

        try start()
        XCTAssertEqual(try monitor(3).status, success, "the server recovered and answers")
        XCTAssertNotEqual(cluster.postmasterPid, postmaster)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// PostgreSQL's rule for its lock file: a postmaster.pid whose pid
    /// runs but is not a postmaster of this data directory is stale. Level
    /// 1 says failed (a crash, as with its pid gone); exclusive not
    /// running; start removes it and starts; the process the file named is
    /// not touched.
    func testAPidFileNamingAnotherLiveProcessIsStale() throws {
        let cluster = try makeCluster()
        try define(cluster)
        // A process of the database user (PostgreSQL itself would refuse
        // to start over it: kill(pid, 0) succeeds), not a postmaster.
        let sleeper = try XCTUnwrap(ChildProcess(["/usr/bin/setpriv", "--reuid=\(template.uid)", "--regid=\(template.gid)",
                                                  "--init-groups", "--", "/bin/sleep", "60"]))
        defer { sleeper.stop() }
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 2000) {
            PostgresTemplate.processes(of: self.template.uid).contains(sleeper.pid)
        })
        let stale = "\(sleeper.pid)\n\(cluster.data)\n1700000000\n\(cluster.port)\n\(cluster.sockets)\nlocalhost\n  1234567     32768\nready   \n"
        XCTAssertTrue(FileManager.default.createFile(atPath: cluster.pidFile, contents: Data(stale.utf8),
                                                    attributes: [.posixPermissions: 0o600]))
        chown(cluster.pidFile, template.uid, template.gid)

        // A crash whose pid was reused: a failure, as when the pid is gone (the README's level table).
        let level1 = try monitor(1)
        XCTAssertEqual(level1.status, commandFailed, level1.description)
        XCTAssertTrue(level1.stdout.contains("reused"), level1.stdout)
        XCTAssertEqual(try run("database", "exclusive", "db1").status, notRunning)
        let started = try run("database", "start", "db1")
        XCTAssertEqual(started.status, success, started.description)
        XCTAssertTrue(started.stderr.contains("stale pidfile"), started.stderr)
        XCTAssertEqual(cluster.postmasterPid, cluster.postmasters().first)
        XCTAssertFalse(sleeper.hasExited, "the process the stale file named was touched")
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// A stopped (SIGSTOP) postmaster still has its socket: the kernel
    /// completes the connect from the backlog, and nothing answers. Levels
    /// 2 and 3 fail at their own timeouts, not the monitor's; the stop
    /// escalates to KILL within the stop timeout.
    func testLevels2And3FailWithinTheirTimeoutsWhenTheServerIsStopped() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "ping_timeout=1s", "query_timeout=1500ms", "monitor_timeout=20s",
                                    "stop_timeout=6s", "table=\(PostgresTemplate.table)"])
        try start()
        XCTAssertEqual(try monitor(3).status, success)
        let postmaster = try XCTUnwrap(cluster.postmasterPid)
        kill(postmaster, SIGSTOP)
        defer { kill(postmaster, SIGCONT) }

        let level2 = try monitor(2)
        XCTAssertEqual(level2.status, commandFailed, level2.description)
        XCTAssertTrue(level2.stdout.contains("within 1000 ms"), level2.stdout)
        XCTAssertLessThan(level2.milliseconds, 1000 + 1500, "level 2 ends at its 1 s timeout: \(level2)")
        let level3 = try monitor(3)
        XCTAssertEqual(level3.status, commandFailed, level3.description)
        XCTAssertLessThan(level3.milliseconds, 1000 + 1500, "level 3 (after level 2) does not hang: \(level3)")
        XCTAssertEqual(try monitor(1).status, success, "level 1 sees the process")

        let stopped = try run("database", "stop", "db1")
        XCTAssertEqual(stopped.status, success, stopped.description)
        XCTAssertLessThan(stopped.milliseconds, 6000 + 1500, "within the stop timeout: \(stopped)")
        XCTAssertTrue(stopped.stderr.contains("KILL"), "the escalation is logged: \(stopped.stderr)")
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { cluster.postmasters().isEmpty })
    }

    /// Level 3's own limit: a query slower than query_timeout is ended by
    /// the server's statement_timeout (set inside the budget) and fails in time.
    func testLevel3FailsWithinItsTimeoutOnASlowQuery() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "query=SELECT 1 FROM pg_sleep(10)", "query_timeout=1s"])
        try start()
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stdout.contains("statement_timeout") || r.stdout.contains("limit 1000 ms"), r.stdout)
        XCTAssertLessThan(r.milliseconds, 1000 + 1500, "level 3 ends at its 1 s timeout: \(r)")
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    func testLevel3CatchesADroppedTable() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "table=\(PostgresTemplate.table)"])
        try start()
        XCTAssertEqual(try monitor(3).status, success)
        XCTAssertEqual(try cluster.psql("DROP TABLE \(PostgresTemplate.table)").status, 0)
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stdout.contains("does not exist"), r.stdout)
        XCTAssertEqual(try monitor(2).status, success, "the server itself still accepts connections")
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    func testLevel3CatchesAnotherAnswer() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "query=SELECT count(*) FROM \(PostgresTemplate.table)", "expected_answer=1"])
        try start()
        XCTAssertEqual(try monitor(3).status, success)
        XCTAssertEqual(try cluster.psql("INSERT INTO \(PostgresTemplate.table) VALUES (2)").status, 0)
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stdout.contains("answered '2', expected '1'"), r.stdout)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// A wrong password fails level 3 (level 2 needs none); neither the
    /// wrong nor the right password appears in the answer, the JSON or the log.
    func testAWrongPasswordFailsLevel3AndNoPasswordIsShown() throws {
        let cluster = try makeCluster()
        let wrong = "Wrong-Secret-fshost-5521"
        try define(cluster, "db1", ["retries=0"])
        try start()
        XCTAssertEqual(try run("cdb", "modify", "database", "db1", "password=\(wrong)", "--force").status, success)
        XCTAssertEqual(try monitor(2).status, success, "PQping needs no password")
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stdout.contains("authentication"), r.stdout)
        XCTAssertFalse(r.stdout.contains(wrong) || r.stderr.contains(wrong), "the wrong password is shown: \(r)")
        // A password file instead (mode 0600, root's): level 3 passes.
        let passfile = cluster.root + "/pgpass"
        FileManager.default.createFile(atPath: passfile, contents: Data("*:*:*:postgres:\(PostgresTemplate.password)\n".utf8),
                                       attributes: [.posixPermissions: 0o600])
        XCTAssertEqual(try run("cdb", "modify", "database", "db1", "passfile=\(passfile)", "--unset", "password", "--force").status,
                       success)
        XCTAssertEqual(try monitor(3).status, success, "with the passfile")
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// A monitor under CPU load, with a query that takes a while: the
    /// timeouts hold and no false failure is reported.
    func testAMonitorUnderCPULoadWithASlowQueryDoesNotFailFalsely() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["query=SELECT 1 FROM pg_sleep(0.3)", "query_timeout=10s", "retries=1"])
        try start()
        let burners = (0..<3).compactMap { _ in ChildProcess(["/bin/sh", "-c", "while :; do :; done"]) }
        defer { burners.forEach { $0.stop() } }
        XCTAssertEqual(burners.count, 3)
        for attempt in 1...3 {
            let r = try monitor(3)
            XCTAssertEqual(r.status, success, "attempt \(attempt) under load: \(r)")
        }
        // The retry works: the first probe's query outlives query_timeout
        // (statement_timeout ends it on the server), the second answers.
        // The probe is read only, so the slowness comes from outside: a
        // session holds the table locked for 2.5 s; the first probe waits
        // for it until its statement_timeout (1.8 s), the retry gets it.
        XCTAssertEqual(try run(["cdb", "modify", "database", "db1", "--unset", "query", "table=\(PostgresTemplate.table)",
                                "query_timeout=2s", "retry_interval=200ms", "--force"]).status, success)
        let locked = DispatchSemaphore(value: 0)
        let sockets = cluster.sockets, port = cluster.port
        let holder = Thread {
            _ = try? PostgresTemplate.psql(socketDirectory: sockets, port: port, "BEGIN; LOCK TABLE \(PostgresTemplate.table) IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2.5); COMMIT")
            locked.signal()
        }
        holder.start()
        usleep(300_000)
        let retried = try monitor(3)
        XCTAssertEqual(locked.wait(timeout: .now() + 10), .success, "the lock holder did not end")
        XCTAssertEqual(retried.status, success, "the retry answers: \(retried)")
        XCTAssertTrue(retried.stderr.contains("probe 1 failed") && retried.stderr.contains("statement_timeout"), retried.stderr)
        XCTAssertLessThan(retried.milliseconds, 2000 + 200 + 2000, "the first probe ended at its timeout: \(retried)")
        burners.forEach { $0.stop() }
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    // MARK: Level 4: streaming replication on loopback

    /// A standby made with `pg_basebackup -R` streams from the primary:
    /// level 4 passes on both; with the primary stopped the standby's level
    /// 4 fails (no WAL receiver); a standby the primary does not have fails
    /// the primary's level 4; a primary is not a standby.
    func testLevel4StreamingReplication() throws {
        let primary = try makeCluster()
        try define(primary, "primary", ["retries=0", "expected_standbys=standby1"])
        try start("primary")
        let standby = try makeStandby(of: primary, applicationName: "standby1")
        try define(standby, "standby", ["retries=0", "standby=true", "max_replay_lag=30s"])
        try start("standby")

        let streaming = ProcessFixtures.waitUntil(milliseconds: 10_000) { (try? self.monitor(4, "primary").status) == 0 }
        let last = try monitor(4, "primary")
        XCTAssertTrue(streaming, "the primary never saw standby1 streaming: \(last)")
        let onStandby = try monitor(4, "standby")
        XCTAssertEqual(onStandby.status, success, onStandby.description)
        XCTAssertEqual(try monitor(3, "standby").status, success, "a hot standby answers queries")

        // Replay paused on the standby while the primary writes: the lag grows past max_replay_lag.
        XCTAssertEqual(try run(["cdb", "modify", "database", "standby", "max_replay_lag=1s", "--force"]).status, success)
        XCTAssertEqual(try primary.psql("INSERT INTO \(PostgresTemplate.table) VALUES (3)").status, 0)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            (try? standby.psql("SELECT count(*) FROM \(PostgresTemplate.table)").output) == "2"
        }, "the standby never replayed the insert")
        XCTAssertEqual(try standby.psql("SELECT pg_wal_replay_pause()").status, 0)
        usleep(1_500_000)
        XCTAssertEqual(try primary.psql("INSERT INTO \(PostgresTemplate.table) VALUES (4)").status, 0)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { (try? self.monitor(4, "standby").status) == 3 },
                      "level 4 passes with replay paused behind the primary")
        let lagging = try monitor(4, "standby")
        XCTAssertTrue(lagging.stdout.contains("replay lag"), lagging.stdout)
        XCTAssertEqual(try standby.psql("SELECT pg_wal_replay_resume()").status, 0)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { (try? self.monitor(4, "standby").status) == 0 },
                      "level 4 still fails with replay resumed")
        // An idle primary: its last transaction grows old, but everything
        // received is replayed: no lag (review finding 7).
        usleep(1_500_000)
        let idle = try monitor(4, "standby")
        XCTAssertEqual(idle.status, success, "an idle primary's last transaction's age counted as lag: \(idle)")

        // The primary expects a standby it does not have.
        XCTAssertEqual(try run("cdb", "modify", "database", "primary", "expected_standbys=standby1,standby2", "--force").status, success)
        let missing = try monitor(4, "primary")
        XCTAssertEqual(missing.status, commandFailed, missing.description)
        XCTAssertTrue(missing.stdout.contains("standby2"), missing.stdout)

        // The primary said to be a standby.
        XCTAssertEqual(try run("cdb", "modify", "database", "primary", "standby=true", "--unset", "expected_standbys", "--force").status, success)
        let notStandby = try monitor(4, "primary")
        XCTAssertEqual(notStandby.status, commandFailed, notStandby.description)
        XCTAssertTrue(notStandby.stdout.contains("not a standby"), notStandby.stdout)

        // Streaming stops: the primary goes away.
        XCTAssertEqual(try run("database", "stop", "primary").status, success)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 10_000) { (try? self.monitor(4, "standby").status) == 3 },
                      "the standby's level 4 still passes with its primary stopped")
        let stopped = try monitor(4, "standby")
        XCTAssertTrue(stopped.stdout.contains("WAL receiver") || stopped.stdout.contains("streaming"), stopped.stdout)
        XCTAssertEqual(try run("database", "stop", "standby").status, success)
    }

    func testLevel4NeedsAStandbyOrExpectedStandbys() throws {
        let cluster = try makeCluster()
        try define(cluster)
        try start()
        let r = try monitor(4)
        XCTAssertEqual(r.status, invalidArguments, r.description)
        XCTAssertTrue(r.stdout.contains("standby=true or expected_standbys"), r.stdout)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    // MARK: Bad input: one clear line, a documented status, nothing started or changed

    func testBadInputIsRefusedWithNothingStartedAndNothingChanged() throws {
        let cluster = try makeCluster()
        let empty = try makeCluster(copyTemplate: false)
        let loosePassfile = cluster.root + "/loose-pgpass"
        FileManager.default.createFile(atPath: loosePassfile, contents: Data("*:*:*:*:x\n".utf8),
                                       attributes: [.posixPermissions: 0o644])
        let strictPassfile = cluster.root + "/pgpass"
        FileManager.default.createFile(atPath: strictPassfile, contents: Data("*:*:*:*:x\n".utf8),
                                       attributes: [.posixPermissions: 0o600])
        let before = cluster.snapshot()
        XCTAssertFalse(before.isEmpty)
        let base = cluster.attributes.filter { !$0.hasPrefix("data_directory=") && !$0.hasPrefix("os_user=") }
        let cases: [(String, [String], Int32, String)] = [
            ("missing data directory", ["data_directory=\(cluster.root)/nothing-here", "os_user=\(PostgresTemplate.userName)"],
             noConfigInfo, "No such file"),
            ("not a cluster", ["data_directory=\(empty.data)", "os_user=\(PostgresTemplate.userName)"],
             noConfigInfo, "not a PostgreSQL data directory"),
            ("missing user", ["data_directory=\(cluster.data)", "os_user=nosuchuser-fshost"], invalidArguments, "nosuchuser-fshost"),
            ("only semicolons as query", ["data_directory=\(cluster.data)", "os_user=\(PostgresTemplate.userName)", "query= ; "],
             invalidArguments, "'query' is empty"),
            ("shell in the data directory", ["data_directory=\(cluster.data)/$(touch x)", "os_user=\(PostgresTemplate.userName)"],
             invalidArguments, "/bin/sh"),
            ("table injection", ["data_directory=\(cluster.data)", "os_user=\(PostgresTemplate.userName)",
                                 "table=t; DROP TABLE fshost_probe"], invalidArguments, "'table'"),
            ("passfile mode 0644", ["data_directory=\(cluster.data)", "os_user=\(PostgresTemplate.userName)",
                                    "passfile=\(loosePassfile)"], noConfigInfo, "0600"),
            ("password and passfile", ["data_directory=\(cluster.data)", "os_user=\(PostgresTemplate.userName)",
                                       "passfile=\(strictPassfile)"], invalidArguments, "set one"),
        ]
        for (index, (what, attributes, status, text)) in cases.enumerated() {
            let name = "bad\(index)"
            let extra = what == "password and passfile" ? base : base.filter { !$0.hasPrefix("password=") || !attributes.contains { $0.hasPrefix("passfile=") } }
            let defined = try run(["cdb", "define", "database", name] + extra + attributes)
            XCTAssertEqual(defined.status, success, "\(what): define: \(defined)")
            for action in ["validate", "start"] {
                let r = try run(["database", action, name, "--json"])
                XCTAssertEqual(r.status, status, "\(what): \(action): \(r)")
                XCTAssertTrue(r.stdout.contains(text), "\(what): \(action): the reason names the problem: \(r.stdout)")
                XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("HA_") }.count, 1,
                               "\(what): one line: \(r.stderr)")
            }
            XCTAssertEqual(PostgresTemplate.processes(of: template.uid), [], "\(what): something was started")
        }
        // Out of range: the host's schema refuses it at define time.
        let port = try run(["cdb", "define", "database", "badport"] + base + ["data_directory=\(cluster.data)", "port=70000"])
        XCTAssertEqual(port.status, invalidArguments, port.description)
        XCTAssertTrue(port.stderr.contains("port"), port.stderr)
        XCTAssertEqual(cluster.snapshot(), before, "a file in the data directory changed")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cluster.data + "/$(touch x)"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: "x"))
    }
}

extension DatabaseTests {
    /// The SDK's Unix-socket endpoint: another process listening on the
    /// server's socket file is refused before pg_ctl runs (its probes would
    /// ask that process).
    func testStartRefusesASocketFileAnotherProcessListensOn() throws {
        let cluster = try makeCluster()
        try define(cluster)
        let path = cluster.sockets + "/.s.PGSQL.\(cluster.port)"
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd); unlink(path) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in path.utf8.enumerated() { raw[i] = b }
        }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        XCTAssertEqual(bound, 0)
        XCTAssertEqual(listen(fd, 4), 0)
        let r = try run("database", "start", "db1", "--json")
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stdout.contains("socket \(path) is already in use"), r.stdout)
        XCTAssertEqual(cluster.postmasters(), [], "pg_ctl ran")
    }
}

extension DatabaseTests {
    /// `ping_client=builtin`: PQping's start-up exchange on the SDK's Unix
    /// socket, without loading libpq: accepting while the server runs, a
    /// failure at its own timeout when the postmaster is stopped, a clean
    /// "not running" after stop.
    func testTheBuiltinPingAnswersLikePQping() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "ping_client=builtin", "ping_timeout=1s"])
        try define(cluster, "db1libpq", ["retries=0", "ping_client=libpq", "ping_timeout=1s"])
        try start()
        XCTAssertEqual(try monitor(2).status, success, "builtin ping of a running server")
        XCTAssertEqual(try monitor(2, "db1libpq").status, success)
        // A role that does not exist: the server answers (an error, not 57P03): it accepts connections, as PQping says.
        XCTAssertEqual(try run(["cdb", "modify", "database", "db1", "user=nosuchrole", "--force"]).status, success)
        XCTAssertEqual(try monitor(2).status, success, "an error from a live server is 'accepting' (PQping's rule)")
        let postmaster = try XCTUnwrap(cluster.postmasterPid)
        kill(postmaster, SIGSTOP)
        let stopped = try monitor(2)
        kill(postmaster, SIGCONT)
        XCTAssertEqual(stopped.status, commandFailed, stopped.description)
        XCTAssertTrue(stopped.stdout.contains("within 1000 ms"), stopped.stdout)
        XCTAssertLessThan(stopped.milliseconds, 1000 + 1500, stopped.description)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
        XCTAssertEqual(try monitor(2).status, notRunning)
    }
}
