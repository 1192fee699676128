// Another local user fakes the resource (issue 7, item 5): a copy of
// python3 named nginx with the site's config on its command line, and a
// pidfile they can write. Neither makes fshost believe nginx runs.
import Foundation
import TestSupport
import XCTest

extension WebServerTests {
    /// `cp python3 PUB/nginx` run as nobody with `-c CONFIG`, where PUB is a
    /// 1777 directory; waits until it shows. Returns its pid.
    func startForgedNginx(config: String, in pub: String) throws -> ChildProcess {
        try FileManager.default.createDirectory(atPath: pub, withIntermediateDirectories: true)
        XCTAssertEqual(chmod(pub, 0o1777), 0)
        let python = URL(fileURLWithPath: "/usr/bin/python3").resolvingSymlinksInPath().path
        guard ProcessFixtures.copyExecutable(from: python, to: pub + "/nginx"), chown(pub + "/nginx", 65534, 65534) == 0 else {
            throw SetupFailure("cannot copy \(python) to \(pub)/nginx as nobody's")
        }
        let setpriv = try XCTUnwrap(ProcessFixtures.which("setpriv"), "no setpriv (util-linux)")
        let child = try XCTUnwrap(ChildProcess([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                                                pub + "/nginx", "-c", "import time;time.sleep(60)", "-c", config]))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            (ProcessFixtures.readFile("/proc/\(child.pid)/cmdline") ?? "").hasPrefix(pub + "/nginx\u{0}")
        }, "the forged nginx never showed")
        return child
    }

    func testAnotherUsersLookAlikeIsNotTheServer() throws {
        let site = try makeSite()
        try define(site, "wf")
        let forged = try startForgedNginx(config: site.config, in: sandbox.path("pub"))
        defer { forged.stop() }
        var r = try sandbox.fshost("webserver", "exclusive", "wf")
        XCTAssertEqual(r.status, notRunning, "nobody's python3 named nginx counted as the server: \(r)")
        r = try monitor(1, "wf")
        XCTAssertNotEqual(r.status, success, r.description)
        XCTAssertFalse(r.stderr.contains("runs, but"), "the forged process was taken for the master: \(r.stderr)")
        r = try sandbox.fshost("cdb", "delete", "webserver", "wf")
        XCTAssertEqual(r.status, success, "delete refused over a forged process: \(r)")
        XCTAssertFalse(forged.hasExited, "fshost never signals another user's look-alike")
    }

    func testAPidfileAnotherUserCanWriteIsRefused() throws {
        let site = try makeSite()
        let pub = sandbox.path("pub")
        try define(site, "wf", ["pidfile=\(pub)/nginx.pid"])
        let forged = try startForgedNginx(config: site.config, in: pub)
        defer { forged.stop() }
        let validate = try sandbox.fshost("webserver", "validate", "wf")
        XCTAssertEqual(validate.status, noConfigInfo, validate.description)
        XCTAssertTrue(validate.stderr.contains("directory \(pub) is writable by others"), validate.stderr)
        try "\(forged.pid)\n".write(toFile: pub + "/nginx.pid", atomically: false, encoding: .utf8)
        XCTAssertEqual(chown(pub + "/nginx.pid", 65534, 65534), 0)
        let r = try monitor(1, "wf")
        XCTAssertNotEqual(r.status, success, "a forged pid in a 1777 directory made the monitor healthy: \(r)")
        XCTAssertTrue(r.stderr.contains("refused") && r.stderr.contains("another user could write its pid"), r.stderr)
    }
}

extension WebServerTests {
    /// Level 3 needs the companion: a missing one is HA_NOTSUPPORTED (5), a
    /// refused one (not a plugin, mode 0666) HA_PLUGIN_REFUSED (7) — never
    /// HA_CMD_FAILED (3), which would fail a healthy server over (issue 7, item 7).
    func testLevel3WithoutItsCompanionIsNotAResourceFailure() throws {
        let site = try makeSite()
        let plugins = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let products = HostSandbox.products.path
        try FileManager.default.copyItem(atPath: products + "/libwebserver.so", toPath: plugins + "/webserver.so")
        try FileManager.default.copyItem(atPath: products + "/libwebserver-http.so", toPath: plugins + "/webserver-http.so")
        sandbox.pluginPath = plugins
        try define(site)
        try startServing(site)
        defer { _ = try? run("webserver", "stop", "web1") }
        XCTAssertEqual(try monitor(3).status, success)

        XCTAssertEqual(chmod(plugins + "/webserver-http.so", 0o666), 0)
        var r = try monitor(3)
        XCTAssertEqual(r.status, 7, "a companion of mode 0666: \(r)")
        XCTAssertTrue(r.stderr.contains("companion refused"), r.stderr)

        let libz = URL(fileURLWithPath: "/usr/lib/x86_64-linux-gnu/libz.so.1").resolvingSymlinksInPath().path
        try? FileManager.default.removeItem(atPath: plugins + "/webserver-http.so")
        try FileManager.default.copyItem(atPath: libz, toPath: plugins + "/webserver-http.so")
        XCTAssertEqual(chmod(plugins + "/webserver-http.so", 0o755), 0)
        r = try monitor(3)
        XCTAssertEqual(r.status, 7, "a non-plugin shared object as companion: \(r)")

        XCTAssertEqual(unlink(plugins + "/webserver-http.so"), 0)
        r = try monitor(3)
        XCTAssertEqual(r.status, 5, "no companion: \(r)")
        XCTAssertEqual(try monitor(2).status, success, "levels 1-2 need no companion")
    }
}
