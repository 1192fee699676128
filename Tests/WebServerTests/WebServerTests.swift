// The webserver plugin against a real nginx: every test configures its own
// nginx in a temp dir on a free loopback port, drives it through `fshost`
// subprocesses (as a cluster manager does) with a private CDB, run and
// state directory, and leaves nothing running.
import Foundation
import TestSupport
import XCTest

final class WebServerTests: XCTestCase {
    var sandbox: HostSandbox!
    var sites: [NginxSite] = []

    // Exit statuses (fshost --help).
    let success: Int32 = 0, notRunning: Int32 = 1, invalidArguments: Int32 = 2, commandFailed: Int32 = 3
    let running: Int32 = 4, noConfigInfo: Int32 = 6

    override func setUpWithError() throws {
        if let why = NginxSite.unavailableReason { throw SetupFailure(why) }
        for product in ["fshost", "fshost-admin", "libwebserver.so", "libwebserver-http.so"] {
            let path = HostSandbox.products.appendingPathComponent(product).path
            guard FileManager.default.fileExists(atPath: path) else { throw SetupFailure("\(path) is not built") }
        }
        sandbox = try HostSandbox()
    }

    override func tearDown() {
        // Stop whatever a failed assertion left running: by this test's own config paths.
        for site in sites { site.killEverything() }
        for site in sites { XCTAssertEqual(site.allPids(), [], "nginx of \(site.config) still runs after tearDown") }
        sites = []
        sandbox = nil
        super.tearDown()
    }

    // MARK: Helpers

    func makeSite(_ configure: (inout NginxSite.Options) -> Void = { _ in }, name: String = "site") throws -> NginxSite {
        var options = NginxSite.Options()
        configure(&options)
        let site = try NginxSite(options, name: name)
        sites.append(site)
        return site
    }

    /// `fshost cdb define webserver NAME config=… port=… prefix=… EXTRA…`.
    func define(_ site: NginxSite, _ name: String = "web1", _ extra: [String] = []) throws {
        let r = try sandbox.fshost(["cdb", "define", "webserver", name, "config=\(site.config)", "port=\(site.port)",
                                    "prefix=\(site.directory)"] + extra)
        if r.status != 0 {
            throw SetupFailure("`fshost cdb define webserver \(name)` answered \(r.status): \(r.stderr)")
        }
    }

    @discardableResult
    func run(_ arguments: String...) throws -> HostSandbox.Result { try sandbox.fshost(arguments) }

    func monitor(_ level: Int, _ name: String = "web1") throws -> HostSandbox.Result {
        try sandbox.fshost(["webserver", "monitor", name, "--level", String(level)])
    }

    /// Starts web1 and checks what a user checks: it serves.
    func startServing(_ site: NginxSite, _ name: String = "web1") throws {
        let r = try sandbox.fshost(["webserver", "start", name])
        XCTAssertEqual(r.status, success, "start: \(r)")
        XCTAssertTrue(site.accepts(), "port \(site.port) does not accept after start")
        site.rememberGroups()
    }

    // MARK: The life cycle

    func testStartMonitorEveryLevelStop() throws {
        let site = try makeSite()
        // No pidfile attribute: the plugin reads it from the config's `pid` directive.
        try define(site)

        // Stopped: HA_NOT_RUNNING at every level, not a failure.
        for level in 1...3 { XCTAssertEqual(try monitor(level).status, notRunning, "monitor \(level) before start") }
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, notRunning)

        try startServing(site)
        XCTAssertEqual(site.httpStatus(), 200)
        XCTAssertEqual(site.masterPids().count, 1, "one master with this config")
        XCTAssertEqual(site.pidFromFile(), site.masterPids().first)
        for level in 1...3 {
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "monitor level \(level): \(r)")
        }
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, running)

        let stopped = try run("webserver", "stop", "web1")
        XCTAssertEqual(stopped.status, success, "stop: \(stopped)")
        XCTAssertEqual(site.allPids(), [], "no nginx process of this config after stop")
        XCTAssertFalse(site.accepts(), "port still accepts after stop")
        XCTAssertFalse(FileManager.default.fileExists(atPath: site.pidFile), "pidfile left behind")
        for level in 1...3 { XCTAssertEqual(try monitor(level).status, notRunning, "monitor \(level) after stop") }
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, notRunning)
    }

    /// Issue 7, item 4: `cdb modify webserver w3 config=/other.conf
    /// pidfile=/other.pid` while nginx ran made the next stop look at the
    /// other files (stop 0, monitor 1) and left nginx running. The change
    /// is refused while it runs; stop then stops it; stopped, the change
    /// goes through. A host setting changes at any time.
    func testModifyingWhereARunningServerIsFoundIsRefusedSoStopStillStopsIt() throws {
        let site = try makeSite()
        let other = try makeSite(name: "other")
        try define(site)
        try startServing(site)
        let refused = try run("cdb", "modify", "webserver", "web1", "config=\(other.config)", "pidfile=\(other.pidFile)")
        XCTAssertEqual(refused.status, running, refused.description)
        XCTAssertTrue(refused.stderr.contains("webserver/web1 runs on this node") && refused.stderr.contains("--force"),
                      refused.stderr)
        XCTAssertEqual(try run("cdb", "modify", "webserver", "web1", "monitor_timeout=4s").status, success)

        let stopped = try run("webserver", "stop", "web1")
        XCTAssertEqual(stopped.status, success, "stop: \(stopped)")
        XCTAssertEqual(site.allPids(), [], "nginx stopped: nothing orphaned")
        XCTAssertFalse(site.accepts())
        let changed = try run("cdb", "modify", "webserver", "web1", "config=\(other.config)", "pidfile=\(other.pidFile)")
        XCTAssertEqual(changed.status, success, changed.description)
    }

    func testStartAndStopAreIdempotent() throws {
        let site = try makeSite()
        try define(site)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success, "stop with nothing running")
        try startServing(site)
        let master = site.masterPids()
        let again = try run("webserver", "start", "web1")
        XCTAssertEqual(again.status, success, "second start: \(again)")
        XCTAssertEqual(site.masterPids(), master, "a second start must not start a second server")
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
        let second = try run("webserver", "stop", "web1")
        XCTAssertEqual(second.status, success, "second stop: \(second)")
        XCTAssertEqual(site.allPids(), [])
    }

    func testRestartIsStopThenStart() throws {
        let site = try makeSite()
        try define(site)
        try startServing(site)
        let before = site.masterPids()
        let r = try run("webserver", "restart", "web1")
        XCTAssertEqual(r.status, success, "restart: \(r)")
        let after = site.masterPids()
        XCTAssertEqual(after.count, 1)
        XCTAssertNotEqual(after, before, "restart must replace the master (a reload would keep it)")
        XCTAssertEqual(site.httpStatus(), 200)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
    }

    /// A server that answers neither QUIT nor TERM (stopped with SIGSTOP):
    /// stop escalates to KILL for the master and its workers, within the
    /// stop timeout, and leaves nothing behind.
    func testStopEscalatesToKillWithinTheStopTimeout() throws {
        let site = try makeSite()
        try define(site, "web1", ["stop_timeout=3s"])
        try startServing(site)
        let stopped = site.signalAll(SIGSTOP)
        XCTAssertGreaterThanOrEqual(stopped.count, 2)
        let r = try run("webserver", "stop", "web1")
        XCTAssertEqual(r.status, success, "stop: \(r)")
        XCTAssertLessThan(r.milliseconds, 3000 + 1000, "within the stop timeout: \(r)")
        XCTAssertTrue(r.stderr.contains("KILL"), "the escalation is logged: \(r.stderr)")
        XCTAssertTrue(NginxSite.wait(seconds: 2) { site.allPids().isEmpty }, "left: \(site.allPids())")
        XCTAssertEqual(try monitor(1).status, notRunning)
    }

    // MARK: What each level must catch

    func testLevel1CatchesAKilledMaster() throws {
        let site = try makeSite()
        try define(site, "web1", ["retries=0"])
        try startServing(site)
        let master = try XCTUnwrap(site.masterPids().first)
        kill(master, SIGKILL)
        XCTAssertTrue(NginxSite.wait(seconds: 5) { site.masterPids().isEmpty })

        let r = try monitor(1)
        XCTAssertEqual(r.status, commandFailed, "a crashed master is a failure, not 'not running': \(r)")
        XCTAssertTrue(r.stderr.contains("gone"), r.stderr)
        // Its workers still run (and hold the port): not free to start elsewhere.
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, running)

        // stop cleans up: the orphaned workers (they still hold the port) and the stale pidfile.
        let stopped = try run("webserver", "stop", "web1")
        XCTAssertEqual(stopped.status, success, "stop after a crash: \(stopped)")
        XCTAssertEqual(site.allPids(), [], "workers of the killed master remain")
        XCTAssertFalse(site.accepts())
        XCTAssertEqual(try monitor(1).status, notRunning)
        // ...and a start works again (the port is free).
        try startServing(site)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
    }

    func testLevel2CatchesAPortNobodyListensOn() throws {
        // The config listens on another port than the resource says.
        let site = try makeSite { $0.listenElsewhere = true }
        try define(site, "web1", ["retries=0", "start_timeout=3s"])
        let started = try run("webserver", "start", "web1")
        XCTAssertEqual(started.status, commandFailed, "start must wait for the port and fail: \(started)")
        XCTAssertTrue(started.stderr.contains("port \(site.port)"), started.stderr)
        // A failed start leaves nothing running (only a successful start keeps its daemon).
        XCTAssertEqual(site.allPids(), [], "a failed start left nginx running")
        // The same server started by hand: running, but on the wrong port.
        XCTAssertTrue(try site.startDirectly())
        site.rememberGroups()
        XCTAssertTrue(site.accepts(port: site.listenPort), "nginx serves on its own port")

        XCTAssertEqual(try monitor(1).status, success, "the master runs")
        let r = try monitor(2)
        XCTAssertEqual(r.status, commandFailed, "level 2: \(r)")
        XCTAssertTrue(r.stderr.contains("refused"), r.stderr)
        XCTAssertEqual(try monitor(3).status, commandFailed)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
        XCTAssertEqual(site.allPids(), [])
    }

    func testLevel3CatchesAHomePageAnswering500() throws {
        let site = try makeSite { $0.homeStatus = 500 }
        try define(site, "web1", ["retries=0"])
        try startServing(site)
        XCTAssertEqual(site.httpStatus(), 500)
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertEqual(try monitor(2).status, success)
        // Both level-3 clients: the built-in one (plain HTTP) and libcurl.
        // (--force here and below: these change how a running server is
        // probed, and `cdb modify` refuses any plugin attribute of a running
        // resource without it, since some move where it is found.)
        for client in ["builtin", "curl"] {
            XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "http_client=\(client)", "--unset", "url_path").status, success)
            let r = try monitor(3)
            XCTAssertEqual(r.status, commandFailed, "level 3 (\(client)): \(r)")
            XCTAssertTrue(r.stderr.contains("answered 500"), r.stderr)
            // Another page of the same server is fine: only url_path is checked.
            XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "url_path=/other").status, success)
            XCTAssertEqual(try monitor(3).status, success, "level 3 (\(client)) of /other")
        }
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
    }

    func testLevel3FailsWithinItsTimeoutWhenTheServerIsStopped() throws {
        let site = try makeSite()
        try define(site, "web1", ["retries=0", "http_timeout=1s"])
        try startServing(site)
        let stopped = site.signalAll(SIGSTOP)
        XCTAssertGreaterThanOrEqual(stopped.count, 2, "master and worker")
        defer { site.signalAll(SIGCONT) }
        XCTAssertTrue(NginxSite.wait(seconds: 2) { stopped.allSatisfy { NginxSite.state(of: $0) == "T" } })

        // The kernel still completes the handshake (listen backlog): levels 1-2 pass.
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertEqual(try monitor(2).status, success)
        for client in ["builtin", "curl"] {
            XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "http_client=\(client)").status, success)
            let r = try monitor(3)
            XCTAssertEqual(r.status, commandFailed, "level 3 (\(client)) against a stopped server: \(r)")
            XCTAssertTrue(r.stderr.contains("no answer within"), r.stderr)
            XCTAssertLessThan(r.milliseconds, 1000 + 1500, "level 3 (\(client)) must end at its 1 s timeout, not hang: \(r)")
            XCTAssertGreaterThanOrEqual(r.milliseconds, 900, "it did wait for the answer: \(r)")
        }

        site.signalAll(SIGCONT)
        XCTAssertEqual(try monitor(3).status, success, "serving again after SIGCONT")
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
    }

    // MARK: HTTPS and IPv6

    func testLevel3OverHTTPSVerifiesTheCertificate() throws {
        if let why = NginxSite.tlsUnavailableReason { throw SetupFailure(why) }
        let site = try makeSite { $0.tls = true }
        let ca = try XCTUnwrap(site.certificate)
        try define(site, "web1", ["retries=0", "tls=true", "ca_file=\(ca)"])
        try startServing(site)
        var r = try monitor(3)
        XCTAssertEqual(r.status, success, "https://127.0.0.1 with the site's CA: \(r)")

        // A host name for the certificate, mapped to the address without DNS.
        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "server_name=localhost").status, success)
        r = try monitor(3)
        XCTAssertEqual(r.status, success, "https://localhost (resolved to 127.0.0.1 without DNS): \(r)")

        // The system's CAs do not know the self-signed certificate.
        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "--unset", "ca_file").status, success)
        r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, "an unverifiable certificate is a failure: \(r)")
        XCTAssertTrue(r.stderr.lowercased().contains("certificate"), r.stderr)
        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "tls_verify=false").status, success)
        XCTAssertEqual(try monitor(3).status, success, "tls_verify=false accepts it")

        // Plain HTTP to the HTTPS port: nginx answers 400.
        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "tls=false").status, success)
        r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("400"), r.stderr)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
    }

    func testEveryLevelOverIPv6() throws {
        let site = try makeSite { $0.ipv6 = true }
        try define(site, "web1", ["address=::1", "retries=0"])
        let started = try run("webserver", "start", "web1")
        XCTAssertEqual(started.status, success, "start on [::1]: \(started)")
        site.rememberGroups()
        for level in 1...3 { XCTAssertEqual(try monitor(level).status, success, "level \(level) over IPv6") }
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
        XCTAssertEqual(site.allPids(), [])
        XCTAssertEqual(try monitor(2).status, notRunning)
    }

    // MARK: Retries (host setting)

    func testRetriesLetOneTransientFailurePass() throws {
        let site = try makeSite()
        try define(site, "web1", ["retries=1", "retry_interval=1s", "http_timeout=300ms"])
        try startServing(site)
        site.signalAll(SIGSTOP)
        defer { site.signalAll(SIGCONT) }
        // The first probe times out at 300 ms; the server is back at 600 ms; the retry at ~1.3 s passes.
        let restorer = Thread { usleep(600_000); site.signalAll(SIGCONT) }
        restorer.start()
        let r = try monitor(3)
        XCTAssertEqual(r.status, success, "one transient failure, then success: \(r)")
        XCTAssertTrue(r.stderr.contains("retrying"), "the first probe must have failed: \(r.stderr)")
        XCTAssertGreaterThanOrEqual(r.milliseconds, 1200, "probe + retry interval + probe")
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
    }

    func testRetriesDoNotHideAPersistentFailure() throws {
        let site = try makeSite()
        try define(site, "web1", ["retries=1", "retry_interval=1s", "http_timeout=300ms"])
        try startServing(site)
        site.signalAll(SIGSTOP)
        defer { site.signalAll(SIGCONT) }
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, "both probes fail: \(r)")
        XCTAssertGreaterThanOrEqual(r.milliseconds, 1500, "two probes of 300 ms and a 1 s pause: \(r)")
        XCTAssertLessThan(r.milliseconds, 4000, r.description)
        site.signalAll(SIGCONT)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
    }

    // MARK: Identity: another nginx, a reused pid

    func testAnotherNginxWithAnotherConfigIsNotThisOne() throws {
        let mine = try makeSite(name: "mine")
        let other = try makeSite(name: "other")
        try define(mine)
        XCTAssertTrue(try other.startDirectly())
        other.rememberGroups()
        XCTAssertTrue(other.accepts())
        XCTAssertEqual(try monitor(1).status, notRunning, "another config's nginx is not this resource")
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, notRunning)

        // A pidfile whose pid belongs to the other nginx (pid reuse, or a
        // pidfile both write): not this resource's master, nor its file.
        let otherMaster = try XCTUnwrap(other.masterPids().first)
        try "\(otherMaster)\n".write(toFile: mine.pidFile, atomically: true, encoding: .utf8)
        let r = try monitor(1)
        XCTAssertEqual(r.status, notRunning, "this master does not run: \(r)")
        XCTAssertTrue(r.stderr.contains("names pid \(otherMaster), a running process that is not nginx with \(mine.config)"),
                      r.stderr)
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, notRunning)
        // stop must not touch the other server, nor the file naming it.
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
        XCTAssertEqual(other.masterPids(), [otherMaster], "stop of web1 must leave the other nginx alone")
        XCTAssertTrue(other.accepts())
        XCTAssertTrue(FileManager.default.fileExists(atPath: mine.pidFile), "a pidfile naming a live process is never removed")
        XCTAssertEqual(try monitor(1).status, notRunning)
    }

    // MARK: Bad input: a clear error, the right status, nothing started

    func assertRefused(_ site: NginxSite, expect status: Int32, mentioning text: String,
                       file: StaticString = #filePath, line: UInt = #line) throws {
        let r = try run("webserver", "start", "web1")
        XCTAssertEqual(r.status, status, "start: \(r)", file: file, line: line)
        XCTAssertTrue(r.stderr.contains(text), "reason should mention '\(text)': \(r.stderr)", file: file, line: line)
        XCTAssertEqual(site.masterPids(), [], "nothing may be started", file: file, line: line)
        XCTAssertFalse(site.accepts(), "nothing may listen", file: file, line: line)
    }

    func testMissingConfigFileIsNoConfigInfo() throws {
        let site = try makeSite()
        try define(site)
        try FileManager.default.removeItem(atPath: site.config)
        try assertRefused(site, expect: noConfigInfo, mentioning: "config")
        XCTAssertEqual(try run("webserver", "validate", "web1").status, noConfigInfo)
    }

    func testUnreadablePidfileIsNoConfigInfo() throws {
        // As root, mode 000 does not stop a read: use a directory where the
        // pidfile should be, and a pidfile in a directory that does not exist.
        let site = try makeSite()
        let directory = site.directory + "/pid-is-a-directory"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false)
        try define(site, "web1", ["pidfile=\(directory)"])
        try assertRefused(site, expect: noConfigInfo, mentioning: "is a directory")
        XCTAssertEqual(try monitor(1).status, commandFailed, "level 1 cannot tell: a failure, never success")

        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "pidfile=\(site.directory)/missing/dir/nginx.pid").status, success)
        try assertRefused(site, expect: noConfigInfo, mentioning: "missing/dir")
    }

    func testPortOutOfRangeIsRefused() throws {
        let site = try makeSite()
        let r = try run("cdb", "define", "webserver", "web1", "config=\(site.config)", "port=70000")
        if r.status == success {
            // The CDB took it: the host's schema check must refuse it.
            try assertRefused(site, expect: invalidArguments, mentioning: "port")
        } else {
            XCTAssertEqual(r.status, invalidArguments, "cdb define port=70000: \(r)")
            XCTAssertTrue(r.stderr.contains("port"), r.stderr)
            XCTAssertEqual(try run("webserver", "start", "web1").status, noConfigInfo, "the resource was not defined")
            XCTAssertEqual(site.masterPids(), [])
        }
    }

    func testURLWithAHostPartIsInvalid() throws {
        let site = try makeSite()
        try define(site, "web1", ["url_path=http://evil/x"])
        try assertRefused(site, expect: invalidArguments, mentioning: "url_path")
        let r = try monitor(3)
        XCTAssertEqual(r.status, invalidArguments, "monitor: \(r)")
        XCTAssertTrue(r.stderr.contains("url_path"), r.stderr)
        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "url_path=//evil/x").status, success)
        try assertRefused(site, expect: invalidArguments, mentioning: "url_path")
    }

    /// Values the schema constrains (http_client one of curl/builtin, a
    /// numeric address, status_class 2-4, a positive timeout) are refused by
    /// `cdb define` itself, naming the attribute (the host's check, before
    /// anything runs); nothing is defined, nothing started.
    func testConstrainedValuesAreRefusedWhenDefined() throws {
        let site = try makeSite()
        for (value, attribute) in [("http_client=wget", "http_client"), ("address=localhost", "address"),
                                   ("status_class=5", "status_class"), ("http_timeout=0ms", "http_timeout")] {
            let r = try sandbox.fshost(["cdb", "define", "webserver", "web1", "config=\(site.config)",
                                        "port=\(site.port)", value])
            XCTAssertEqual(r.status, invalidArguments, "cdb define \(value): \(r)")
            XCTAssertTrue(r.stderr.contains(attribute), r.stderr)
        }
        XCTAssertEqual(try run("webserver", "start", "web1").status, noConfigInfo, "nothing was defined")
        XCTAssertEqual(site.masterPids(), [])
    }

    func testBinaryNotExecutableIsNoConfigInfo() throws {
        let site = try makeSite()
        let fake = site.directory + "/nginx-not-executable"
        try FileManager.default.copyItem(atPath: NginxSite.binary, toPath: fake)
        chmod(fake, 0o644)
        try define(site, "web1", ["binary=\(fake)"])
        try assertRefused(site, expect: noConfigInfo, mentioning: "not executable")
    }

    func testDaemonOffIsNoConfigInfo() throws {
        let site = try makeSite { $0.topLevel = [] }
        var text = try String(contentsOfFile: site.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "daemon on;", with: "daemon off;")
        try text.write(toFile: site.config, atomically: true, encoding: .utf8)
        try define(site)
        try assertRefused(site, expect: noConfigInfo, mentioning: "daemon off")
    }

    // MARK: One definition of "running" (the SDK's Daemon)

    /// A pidfile holding `123 456` and a newline: its text appears trimmed
    /// and escaped in one log line, never split across two.
    func testPidfileWithTwoNumbersStaysOneLogLine() throws {
        let site = try makeSite()
        try define(site, "web1", ["retries=0"])
        try "123 456\n".write(toFile: site.pidFile, atomically: true, encoding: .utf8)
        for arguments in [["webserver", "monitor", "web1", "--level", "1"], ["webserver", "exclusive", "web1"]] {
            let r = try sandbox.fshost(arguments)
            let lines = r.stderr.split(separator: "\n")
            XCTAssertEqual(lines.count, 1, "one log line: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("'123 456'"), r.stderr)
            XCTAssertEqual(r.status, notRunning, "no pid and no master: not running: \(r)")
        }
        // The same with the newline in the middle of the first line's text.
        try "12\n3 456 \u{1}\n".write(toFile: site.pidFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(try monitor(1).stderr.split(separator: "\n").count, 1)
    }

    /// An empty pidfile and no master: monitor and exclusive give the same
    /// answer (not running), and start works (the empty file is replaced).
    func testEmptyPidfileWithoutMasterIsNotRunningForMonitorAndExclusive() throws {
        let site = try makeSite()
        try define(site, "web1", ["retries=0"])
        for content in ["", "\n", "garbage\n"] {
            try content.write(toFile: site.pidFile, atomically: true, encoding: .utf8)
            let m = try monitor(1), e = try run("webserver", "exclusive", "web1")
            XCTAssertEqual(m.status, notRunning, "monitor with pidfile '\(content)': \(m)")
            XCTAssertEqual(e.status, notRunning, "exclusive with pidfile '\(content)': \(e)")
            XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
        }
        try "".write(toFile: site.pidFile, atomically: true, encoding: .utf8)
        try startServing(site)
        XCTAssertEqual(try monitor(2).status, success)
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, running)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
    }

    /// A generic server (its own start and stop commands, not nginx's
    /// defaults) whose port another process holds before start: start fails
    /// at once, naming the port, and starts nothing (level 2 would otherwise
    /// have asked the other process).
    func testGenericServerWhosePortIsHeldFailsNamingThePort() throws {
        let holder = try makeSite(name: "holder")
        XCTAssertTrue(try holder.startDirectly())
        holder.rememberGroups()
        XCTAssertTrue(holder.accepts())
        let site = try makeSite { $0.listenElsewhere = true }
        let command = "[\"\(NginxSite.binary)\",\"-p\",\"\(site.directory)\",\"-c\",\"\(site.config)\"]"
        let stop = "[\"\(NginxSite.binary)\",\"-p\",\"\(site.directory)\",\"-c\",\"\(site.config)\",\"-s\",\"quit\"]"
        let r0 = try sandbox.fshost(["cdb", "define", "webserver", "web1", "config=\(site.config)", "port=\(holder.port)",
                                     "pidfile=\(site.pidFile)", "start_command=\(command)", "stop_command=\(stop)", "retries=0"])
        XCTAssertEqual(r0.status, success, "define: \(r0)")
        let r = try run("webserver", "start", "web1")
        XCTAssertEqual(r.status, commandFailed, "start with the port held by another process: \(r)")
        XCTAssertTrue(r.stderr.contains("port \(holder.port)") && r.stderr.contains("in use"), r.stderr)
        XCTAssertLessThan(r.milliseconds, 3000, "refused before running anything: \(r)")
        XCTAssertEqual(site.masterPids(), [], "nothing may be started")
        XCTAssertEqual(try monitor(2).status, notRunning, "level 1 answers first: nothing of web1 runs")
        XCTAssertEqual(holder.masterPids().count, 1, "the holder is left alone")

        // nginx's default commands: the same answer, before nginx's own bind retries.
        let nginxSite = try makeSite(name: "nginx")
        XCTAssertEqual(try sandbox.fshost(["cdb", "define", "webserver", "web2", "config=\(nginxSite.config)",
                                           "port=\(holder.port)", "prefix=\(nginxSite.directory)"]).status, success)
        let r2 = try run("webserver", "start", "web2")
        XCTAssertEqual(r2.status, commandFailed, r2.description)
        XCTAssertTrue(r2.stderr.contains("port \(holder.port)"), r2.stderr)
        XCTAssertEqual(nginxSite.masterPids(), [])
    }

    /// `restart` with a configuration nginx's own test refuses: refused
    /// before anything is stopped; the working server keeps serving.
    func testRestartWithABrokenConfigLeavesTheServerRunning() throws {
        let site = try makeSite()
        try define(site)
        try startServing(site)
        let before = site.masterPids()
        let extra = site.directory + "/extra.conf"
        try "no_such_directive on;\n".write(toFile: extra, atomically: true, encoding: .utf8)
        var text = try String(contentsOfFile: site.config, encoding: .utf8)
        text += "include \(extra);\n"
        try text.write(toFile: site.config, atomically: true, encoding: .utf8)

        let r = try run("webserver", "restart", "web1")
        XCTAssertEqual(r.status, noConfigInfo, "restart with a broken config: \(r)")
        XCTAssertTrue(r.stderr.contains("extra.conf"), "names the file nginx -t complains about: \(r.stderr)")
        XCTAssertEqual(site.masterPids(), before, "the working master was not touched")
        XCTAssertEqual(site.httpStatus(), 200)
        XCTAssertEqual(try monitor(3).status, success)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
    }

    /// validate runs `nginx -t -c CONFIG` with the default commands: an
    /// error in an included file is caught before start.
    func testValidateRunsNginxTestOnIncludedFiles() throws {
        let site = try makeSite()
        let extra = site.directory + "/extra.conf"
        try "worker_rlimit_nofile not-a-number;\n".write(toFile: extra, atomically: true, encoding: .utf8)
        var text = try String(contentsOfFile: site.config, encoding: .utf8)
        text += "include extra.conf;\n"  // relative: from the main file's directory
        try text.write(toFile: site.config, atomically: true, encoding: .utf8)
        try define(site)
        let v = try run("webserver", "validate", "web1")
        XCTAssertEqual(v.status, noConfigInfo, "validate: \(v)")
        XCTAssertTrue(v.stderr.contains("extra.conf") && v.stderr.contains("-t"), v.stderr)
        try assertRefused(site, expect: noConfigInfo, mentioning: "extra.conf")
        try "worker_rlimit_nofile 1024;\n".write(toFile: extra, atomically: true, encoding: .utf8)
        XCTAssertEqual(try run("webserver", "validate", "web1").status, success)
    }

    /// A `pid` directive in an included file is followed.
    func testPidDirectiveInAnIncludedFileIsFollowed() throws {
        let site = try makeSite()
        var text = try String(contentsOfFile: site.config, encoding: .utf8)
        text = text.replacingOccurrences(of: "pid \(site.pidFile);", with: "include \(site.directory)/conf.d/*.conf;")
        try FileManager.default.createDirectory(atPath: site.directory + "/conf.d", withIntermediateDirectories: false)
        try "pid \(site.pidFile);\n".write(toFile: site.directory + "/conf.d/pid.conf", atomically: true, encoding: .utf8)
        try text.write(toFile: site.config, atomically: true, encoding: .utf8)
        try define(site)
        try startServing(site)
        XCTAssertEqual(site.pidFromFile(), site.masterPids().first)
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
        XCTAssertEqual(site.allPids(), [])
    }

    /// A pidfile the server never writes: start refuses at once (not after
    /// the whole start timeout), naming the `pidfile` attribute, and leaves
    /// nothing running.
    func testAPidfileTheServerDoesNotWriteIsRefusedAtOnce() throws {
        let site = try makeSite()
        try define(site, "web1", ["pidfile=\(site.directory)/elsewhere.pid", "start_timeout=20s"])
        let r = try run("webserver", "start", "web1")
        site.rememberGroups()
        XCTAssertEqual(r.status, noConfigInfo, "start: \(r)")
        XCTAssertTrue(r.stderr.contains("'pidfile'"), r.stderr)
        XCTAssertLessThan(r.milliseconds, 6000, "refused at once, not after the 20 s start timeout: \(r)")
        XCTAssertTrue(NginxSite.wait(seconds: 3) { site.allPids().isEmpty }, "left running: \(site.allPids())")
    }

    /// A start whose state write fails (here the resource's state directory
    /// is a file) says so, instead of running on without the master's
    /// identity (the pid-reuse guard and the host's pid hint).
    func testStartReportsAStateWriteThatFailed() throws {
        let site = try makeSite()
        try define(site, "web1", ["retries=0"])
        let typeDirectory = sandbox.path("state") + "/webserver"
        try FileManager.default.createDirectory(atPath: typeDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        FileManager.default.createFile(atPath: typeDirectory + "/web1", contents: Data("not a directory".utf8))
        let r = try run("webserver", "start", "web1")
        site.rememberGroups()
        XCTAssertNotEqual(r.status, success, "start: \(r)")
        XCTAssertTrue(r.stderr.contains("state 'master' not written"), r.stderr)
        try FileManager.default.removeItem(atPath: typeDirectory + "/web1")
        let stopped = try run("webserver", "stop", "web1")
        XCTAssertEqual(stopped.status, success)
        XCTAssertEqual(site.allPids(), [])
    }

    /// Level 1 of a running server costs one pidfile and one process: the
    /// plugin checks the pidfile's pid through the host and declares it as
    /// the pid hint, so neither the plugin nor the host's own check lists
    /// /proc (a monitor must cost the same on a node with 5,000 processes).
    func testLevel1ReadsNoProcessListing() throws {
        let site = try makeSite()
        try define(site, "web1", ["retries=0"])
        try startServing(site)
        /// Level 1 under strace: its status and how many times it listed /proc.
        func tracedLevel1() throws -> (status: Int32, listings: Int) {
            let trace = sandbox.path("level1.strace")
            let r = try sandbox.run("/usr/bin/strace", ["-f", "-y", "-e", "trace=getdents64", "-o", trace,
                                                        HostSandbox.products.appendingPathComponent("fshost").path,
                                                        "webserver", "monitor", "web1", "--level", "1"])
            let calls = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n")
            return (r.status, calls.filter { $0.contains("getdents64(") && $0.contains("</proc>") }.count)
        }
        let hinted = try tracedLevel1()
        XCTAssertEqual(hinted.status, success)
        XCTAssertEqual(hinted.listings, 0, "level 1 of a running server listed /proc")
        // The same server with its pidfile gone: now a scan is the only way to tell.
        try FileManager.default.removeItem(atPath: site.pidFile)
        let scanned = try tracedLevel1()
        XCTAssertEqual(scanned.status, commandFailed)
        XCTAssertGreaterThan(scanned.listings, 0, "without a pid a scan is expected (and shows the trace works)")
        let m = try monitor(1)
        XCTAssertEqual(m.status, commandFailed, "a master running without its pidfile: \(m)")
        XCTAssertTrue(m.stderr.contains("pidfile") && m.stderr.contains("missing"), m.stderr)
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, running)
        let stopped = try run("webserver", "stop", "web1")
        XCTAssertEqual(stopped.status, success, "stop of a master without its pidfile: \(stopped)")
        XCTAssertTrue(NginxSite.wait(seconds: 3) { site.allPids().isEmpty }, "left: \(site.allPids())")
    }

    /// `binary` a copy of nginx with a name longer than comm's 15 bytes:
    /// the master is found by its executable (the host's matcher), so start
    /// succeeds at once and monitor says it runs.
    func testBinaryWithALongNameIsItsOwnMaster() throws {
        let site = try makeSite()
        let copy = site.directory + "/nginx-frontend-proxy"
        try FileManager.default.copyItem(atPath: NginxSite.binary, toPath: copy)
        chmod(copy, 0o755)
        try define(site, "web1", ["binary=\(copy)", "retries=0", "start_timeout=10s"])
        let r = try run("webserver", "start", "web1")
        XCTAssertEqual(r.status, success, "start: \(r)")
        XCTAssertLessThan(r.milliseconds, 5000, r.description)
        site.rememberGroups()
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, running)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
        XCTAssertTrue(NginxSite.wait(seconds: 3) { site.allPids().isEmpty }, "left: \(site.allPids())")
    }

    /// Two resources whose config paths are `D/X/nginx.conf` and
    /// `D/srv/ha/D/X/nginx.conf` (the first a substring of the second); only
    /// the second's nginx runs. The first is not running for monitor and
    /// exclusive, and its stop touches nothing of the second.
    func testAConfigPathInsideAnotherIsNotThatServer() throws {
        let site = try makeSite()
        let mine = site.directory + "/X/nginx.conf"
        let theirs = site.directory + "/srv/ha" + mine
        try FileManager.default.createDirectory(atPath: (theirs as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: site.directory + "/X", withIntermediateDirectories: true)
        let text = try String(contentsOfFile: site.config, encoding: .utf8)
        try text.write(toFile: theirs, atomically: true, encoding: .utf8)  // pid: site.pidFile, port: site.port
        try text.replacingOccurrences(of: "pid \(site.pidFile);", with: "pid \(site.directory)/X/nginx.pid;")
            .write(toFile: mine, atomically: true, encoding: .utf8)
        XCTAssertTrue(try site.startDirectly(config: theirs), "the second server")
        let master = try XCTUnwrap(site.pidFromFile(), "the second server's master")
        defer { kill(-master, SIGKILL); kill(master, SIGKILL) }
        let r0 = try sandbox.fshost(["cdb", "define", "webserver", "first", "config=\(mine)", "port=\(site.port)",
                                     "prefix=\(site.directory)", "retries=0"])
        XCTAssertEqual(r0.status, success, r0.description)

        XCTAssertEqual(try monitor(1, "first").status, notRunning, "the first resource is not running")
        XCTAssertEqual(try run("webserver", "exclusive", "first").status, notRunning)
        XCTAssertEqual(try run("webserver", "stop", "first").status, success)
        XCTAssertEqual(site.pidFromFile(), master, "the second server still runs, its pidfile in place")
        XCTAssertEqual(NginxSite.state(of: master).map { $0 != "Z" }, true)
        XCTAssertTrue(site.accepts())
    }

    /// Two configs that write one pidfile (as two configs without a `pid`
    /// directive share nginx's compiled-in /run/nginx.pid), at `D/X/nginx.conf`
    /// and `D/srv/ha/D/X/nginx.conf`. With only the second running, the
    /// first is not running, its stop touches nothing and its start refuses
    /// the shared pidfile; with both running, each is running for
    /// exclusive, and the pidfile is never removed by the other resource.
    func testTwoConfigsSharingAPidfileNeverTouchEachOther() throws {
        let a = try makeSite(name: "a"), b = try makeSite(name: "b")
        let shared = a.directory + "/shared.pid"
        let mine = a.directory + "/X/nginx.conf"
        let theirs = b.directory + "/srv/ha" + mine
        for (site, path) in [(a, mine), (b, theirs)] {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try String(contentsOfFile: site.config, encoding: .utf8)
                .replacingOccurrences(of: "pid \(site.pidFile);", with: "pid \(shared);")
                .write(toFile: path, atomically: true, encoding: .utf8)
        }
        var masters: [Int32] = []
        defer { for m in masters { kill(-m, SIGKILL); kill(m, SIGKILL) } }
        func sharedPid() -> Int32? {
            (try? String(contentsOfFile: shared, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        XCTAssertTrue(try b.startDirectly(config: theirs), "the second server")
        let second = try XCTUnwrap(sharedPid())
        masters.append(second)
        for (name, site, config) in [("a2", a, mine), ("b2", b, theirs)] {
            let r = try sandbox.fshost(["cdb", "define", "webserver", name, "config=\(config)", "port=\(site.port)",
                                        "prefix=\(site.directory)", "pidfile=\(shared)", "retries=0", "start_timeout=10s"])
            XCTAssertEqual(r.status, success, r.description)
        }
        let m = try monitor(1, "a2")
        XCTAssertEqual(m.status, notRunning, "a2 is not running: \(m)")
        XCTAssertTrue(m.stderr.contains("names pid \(second), a running process that is not"), m.stderr)
        XCTAssertEqual(try run("webserver", "exclusive", "a2").status, notRunning)
        XCTAssertEqual(try run("webserver", "stop", "a2").status, success)
        XCTAssertEqual(sharedPid(), second, "b2's pidfile stays")
        XCTAssertEqual(try monitor(1, "b2").status, success, "b2 is still monitored as running")
        let start = try run("webserver", "start", "a2")
        XCTAssertEqual(start.status, noConfigInfo, "start a2 would overwrite b2's pidfile: \(start)")
        XCTAssertTrue(start.stderr.contains("pidfile \(shared) names pid \(second)")
                      && start.stderr.contains("each resource needs its own pidfile"), start.stderr)
        XCTAssertLessThan(start.milliseconds, 5000, start.description)
        XCTAssertEqual(sharedPid(), second)
        XCTAssertEqual(try run("webserver", "exclusive", "b2").status, running)
        let validate = try run("webserver", "validate", "a2")
        XCTAssertEqual(validate.status, noConfigInfo, validate.description)
        XCTAssertTrue(validate.stderr.contains("each resource needs its own pidfile"), validate.stderr)

        // Both run (a2 by hand: the pidfile now names it).
        XCTAssertTrue(try a.startDirectly(config: mine))
        let first = try XCTUnwrap(sharedPid())
        masters.append(first)
        XCTAssertNotEqual(first, second)
        XCTAssertEqual(try run("webserver", "exclusive", "b2").status, running, "b2 serves: running, whatever the pidfile says")
        XCTAssertEqual(try run("webserver", "exclusive", "a2").status, running)
        XCTAssertEqual(try monitor(1, "b2").status, commandFailed, "b2 runs without its pidfile: broken")
        XCTAssertEqual(try run("webserver", "start", "a2").status, success, "a2 already runs")
        XCTAssertEqual(sharedPid(), first, "start a2 removed nothing")
        XCTAssertTrue(b.accepts() && a.accepts())
        XCTAssertEqual(NginxSite.state(of: second).map { $0 != "Z" }, true, "b2's master untouched")
    }

    /// The pidfile names another live process while this config's master
    /// runs: running for exclusive, broken for monitor, and stop still
    /// stops this master (by its pattern; nginx's `-s quit`, which signals
    /// the pidfile's pid, is skipped) and leaves the other process alone.
    func testAPidfileNamingAnotherProcessWhileTheMasterRuns() throws {
        let site = try makeSite()
        try define(site, "web1", ["retries=0"])
        try startServing(site)
        let master = try XCTUnwrap(site.pidFromFile())
        guard let other = ChildProcess(["/bin/sleep", "60"]) else { throw SetupFailure("cannot start /bin/sleep") }
        defer { other.stop() }
        try "\(other.pid)\n".write(toFile: site.pidFile, atomically: true, encoding: .utf8)
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, running)
        let m = try monitor(1)
        XCTAssertEqual(m.status, commandFailed, m.description)
        XCTAssertTrue(m.stderr.contains("names pid \(other.pid), a running process that is not"), m.stderr)
        let stop = try run("webserver", "stop", "web1")
        XCTAssertEqual(stop.status, success, stop.description)
        XCTAssertTrue(NginxSite.wait(seconds: 3) { NginxSite.state(of: master) == nil }, "the master is stopped")
        XCTAssertFalse(other.hasExited, "nginx -s quit would have sent QUIT to the pidfile's pid")
        // (nginx itself deletes its pidfile when the master exits.)
    }

    /// `nginx -c "D/y D/X/nginx.conf"` runs; resource a's config is
    /// `D/X/nginx.conf`: a is not running and its stop touches nothing; a
    /// resource with the spaced path starts, monitors and stops its own.
    func testAConfigPathWithASpaceIsOneArgument() throws {
        let site = try makeSite()
        let plain = site.directory + "/X/nginx.conf"
        let spaced = site.directory + "/y " + plain
        for path in [plain, spaced] {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
        }
        let text = try String(contentsOfFile: site.config, encoding: .utf8)
        try text.write(toFile: spaced, atomically: true, encoding: .utf8)
        try text.replacingOccurrences(of: "pid \(site.pidFile);", with: "pid \(site.directory)/X/nginx.pid;")
            .write(toFile: plain, atomically: true, encoding: .utf8)
        XCTAssertTrue(try site.startDirectly(config: spaced))
        let master = try XCTUnwrap(site.pidFromFile())
        defer { kill(-master, SIGKILL); kill(master, SIGKILL) }
        for (name, config) in [("a", plain), ("s", spaced)] {
            let r = try sandbox.fshost(["cdb", "define", "webserver", name, "config=\(config)", "port=\(site.port)",
                                        "prefix=\(site.directory)", "retries=0", "start_timeout=10s"])
            XCTAssertEqual(r.status, success, r.description)
        }
        XCTAssertEqual(try run("webserver", "exclusive", "a").status, notRunning)
        XCTAssertEqual(try monitor(1, "a").status, notRunning)
        XCTAssertEqual(try run("webserver", "stop", "a").status, success)
        XCTAssertEqual(site.pidFromFile(), master, "the spaced server is untouched")
        XCTAssertEqual(try monitor(1, "s").status, success, "the spaced path matches its own server")
        XCTAssertEqual(try run("webserver", "exclusive", "s").status, running)
        XCTAssertEqual(try run("webserver", "stop", "s").status, success)
        XCTAssertTrue(NginxSite.wait(seconds: 3) { NginxSite.state(of: master) == nil })
        let start = try run("webserver", "start", "s")
        XCTAssertEqual(start.status, success, start.description)
        XCTAssertLessThan(start.milliseconds, 5000, start.description)
        let again = try XCTUnwrap(site.pidFromFile())
        defer { kill(-again, SIGKILL); kill(again, SIGKILL) }
        XCTAssertEqual(try run("webserver", "stop", "s").status, success)
        XCTAssertTrue(NginxSite.wait(seconds: 3) { NginxSite.state(of: again) == nil })
    }

    /// `binary` is a symbolic link with a long name to nginx: comm is the
    /// link's name cut at 15 bytes, exe and the title's program word say
    /// nginx; the title's path word names the link. Start, monitor,
    /// exclusive and stop all find the master.
    func testBinaryReachedThroughALongSymbolicLink() throws {
        let site = try makeSite()
        try FileManager.default.createDirectory(atPath: site.directory + "/bin", withIntermediateDirectories: true)
        let link = site.directory + "/bin/nginx-frontend-proxy-link"
        XCTAssertEqual(symlink(NginxSite.binary, link), 0)
        try define(site, "web1", ["binary=\(link)", "retries=0", "start_timeout=10s"])
        let r = try run("webserver", "start", "web1")
        XCTAssertEqual(r.status, success, "start: \(r)")
        XCTAssertLessThan(r.milliseconds, 5000, r.description)
        site.rememberGroups()
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertEqual(try run("webserver", "exclusive", "web1").status, running)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
        XCTAssertTrue(NginxSite.wait(seconds: 3) { site.allPids().isEmpty }, "left: \(site.allPids())")
    }

    /// The timeouts are named after their fields; a resource defined with
    /// the old names (level2_timeout, level3_timeout) keeps working, and
    /// both names disagreeing is refused naming both.
    func testOldTimeoutNamesStillWork() throws {
        let site = try makeSite()
        try define(site, "web1", ["retries=0", "level3_timeout=1s"])
        try startServing(site)
        site.signalAll(SIGSTOP)
        defer { site.signalAll(SIGCONT) }
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("no answer within 1000 ms"), "level3_timeout=1s is used: \(r.stderr)")
        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "http_timeout=3s").status, success)
        let conflict = try monitor(3)
        XCTAssertEqual(conflict.status, invalidArguments, conflict.description)
        XCTAssertTrue(conflict.stderr.contains("http_timeout") && conflict.stderr.contains("level3_timeout"), conflict.stderr)
        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "--unset", "level3_timeout").status, success)
        let renamed = try monitor(3)
        XCTAssertTrue(renamed.stderr.contains("no answer within 3000 ms"), renamed.stderr)
        // The new name set to its own default still disagrees with the old one.
        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "level2_timeout=3s", "connect_timeout=2s").status, success)
        let atDefault = try monitor(2)
        XCTAssertEqual(atDefault.status, invalidArguments, atDefault.description)
        XCTAssertTrue(atDefault.stderr.contains("'connect_timeout' and 'level2_timeout'"), atDefault.stderr)
        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "--unset", "level2_timeout").status, success)
        XCTAssertEqual(try monitor(2).status, success, "connect_timeout alone")
        site.signalAll(SIGCONT)
        XCTAssertEqual(try run("webserver", "stop", "web1").status, success)
    }

    // MARK: The cost of each level

    /// libcurl (~33 libraries) loads only when level 3 runs, through the
    /// companion object: levels 1-2 never load it, nor level 3 with
    /// http_client=builtin.
    func testLibcurlLoadsOnlyWhenLevel3UsesIt() throws {
        let site = try makeSite()
        try define(site)
        try startServing(site)
        defer { _ = try? run("webserver", "stop", "web1") }
        func loadsCurl(_ level: Int) throws -> Bool {
            sandbox.extraEnvironment = ["LD_DEBUG": "files"]
            defer { sandbox.extraEnvironment = [:] }
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "monitor \(level): \(r.status)")
            // The plugin is loaded through its verified descriptor: the loader names it /proc/self/fd/N.
            XCTAssertTrue(r.stderr.contains("file=/proc/self/fd/"), "LD_DEBUG output expected")
            return r.stderr.contains("libcurl")
        }
        XCTAssertFalse(try loadsCurl(1), "level 1 loaded libcurl")
        XCTAssertFalse(try loadsCurl(2), "level 2 loaded libcurl")
        XCTAssertTrue(try loadsCurl(3), "level 3 should load libcurl through webserver-http.so")
        XCTAssertEqual(try run("cdb", "modify", "--force", "webserver", "web1", "http_client=builtin").status, success)
        XCTAssertFalse(try loadsCurl(3), "level 3 with http_client=builtin loaded libcurl")
    }
}
