import CDB
import Foundation
import TestSupport
import XCTest

/// Every executable fshost runs as root is held to PathTrust's rule before
/// it runs (issue 7, item 2): the admin tool `fshost` execs, and the
/// `fshost` the admin tool runs for `cdb delete`'s running check. A refused
/// one answers HA_HOST_ERROR (9) and never runs.
final class ExecutableTrustTests: XCTestCase {
    /// uid of `nobody`: the attacker of these cases.
    let nobody: uid_t = 65534

    /// A script that leaves `marker` behind if it ever runs.
    func writeMarkerScript(_ path: String, marker: String, owner: uid_t = 0, mode: mode_t = 0o755) throws {
        try ELFFixtures.write(Array("#!/bin/sh\ntouch \(marker)\necho ran\n".utf8), to: path, mode: mode)
        guard chown(path, owner, 0) == 0, chmod(path, mode) == 0 else {
            return XCTFail("cannot set owner \(owner) and mode of \(path): \(String(cString: strerror(errno)))")
        }
    }

    func makeDirectory(_ path: String, mode: mode_t) throws {
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        guard chmod(path, mode) == 0 else { return XCTFail("chmod \(path): \(String(cString: strerror(errno)))") }
    }

    func assertRefused(_ r: HostSandbox.Result, marker: String, _ what: String, line: UInt = #line) {
        XCTAssertEqual(r.status, 9, "\(what): \(r)", line: line)
        XCTAssertTrue(r.stderr.contains("refused") || r.stderr.contains("absolute"), "\(what): \(r.stderr)", line: line)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(what): the executable ran as root", line: line)
    }

    func testAdminOwnedByAnotherUserIsRefused() throws {
        let sandbox = try HostSandbox()
        try makeDirectory(sandbox.path("evil"), mode: 0o1777)
        let marker = sandbox.path("ran")
        try writeMarkerScript(sandbox.path("evil/admin"), marker: marker, owner: nobody)
        sandbox.extraEnvironment["FSHOST_ADMIN"] = sandbox.path("evil/admin")
        assertRefused(try sandbox.fshost("cdb", "show"), marker: marker, "nobody-owned FSHOST_ADMIN")
    }

    func testWorldWritableAdminIsRefused() throws {
        let sandbox = try HostSandbox()
        let marker = sandbox.path("ran")
        try writeMarkerScript(sandbox.path("admin"), marker: marker, owner: 0, mode: 0o777)
        sandbox.extraEnvironment["FSHOST_ADMIN"] = sandbox.path("admin")
        let r = try sandbox.fshost("list")
        assertRefused(r, marker: marker, "root-owned admin of mode 0777")
        XCTAssertTrue(r.stderr.contains("writable by others"), r.stderr)
    }

    /// A trusted admin (root's, mode 0755, in a trusted directory) runs —
    /// a script too: the interpreter reads the very file that was checked.
    func testTrustedAdminScriptRuns() throws {
        let sandbox = try HostSandbox()
        let marker = sandbox.path("ran")
        try writeMarkerScript(sandbox.path("admin"), marker: marker)
        sandbox.extraEnvironment["FSHOST_ADMIN"] = sandbox.path("admin")
        let r = try sandbox.fshost("list")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertEqual(r.stdout, "ran\n")
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker))
    }

    /// A trusted admin reached through a link in a directory another user
    /// can write (issue 13): the link is judged where it sits, so the
    /// trusted target does not make it runnable.
    func testAdminThroughALinkInAWritableDirectoryIsRefused() throws {
        let sandbox = try HostSandbox()
        let marker = sandbox.path("ran")
        try writeMarkerScript(sandbox.path("admin"), marker: marker)
        try makeDirectory(sandbox.path("pub"), mode: 0o777)
        XCTAssertEqual(symlink(sandbox.path("admin"), sandbox.path("pub/admin")), 0)
        sandbox.extraEnvironment["FSHOST_ADMIN"] = sandbox.path("pub/admin")
        let r = try sandbox.fshost("list")
        assertRefused(r, marker: marker, "a trusted admin through a link in a 0777 directory")
        XCTAssertTrue(r.stderr.contains(sandbox.path("pub")), r.stderr)
        // The same link in a trusted directory runs it.
        XCTAssertEqual(symlink(sandbox.path("admin"), sandbox.path("admin-link")), 0)
        sandbox.extraEnvironment["FSHOST_ADMIN"] = sandbox.path("admin-link")
        XCTAssertEqual(try sandbox.fshost("list").status, 0)
    }

    func testRelativeAdminIsRefused() throws {
        let sandbox = try HostSandbox()
        let marker = sandbox.path("ran")
        try writeMarkerScript(sandbox.path("admin"), marker: marker)
        sandbox.extraEnvironment["FSHOST_ADMIN"] = "admin"
        let process = Process()
        process.executableURL = HostSandbox.products.appendingPathComponent("fshost")
        process.arguments = ["cdb", "show"]
        process.environment = sandbox.environment
        process.currentDirectoryURL = sandbox.root
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 9, text)
        XCTAssertTrue(text.contains("must be an absolute path"), text)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a relative FSHOST_ADMIN ran from the cwd")
    }

    /// An installed tree whose `libexec/fshost` another user can write: the
    /// admin tool found there is not run, nor one another user owns.
    func testInstalledAdminInWritableDirectoryIsRefused() throws {
        let sandbox = try HostSandbox()
        let prefix = sandbox.path("usr")
        try makeDirectory(prefix + "/bin", mode: 0o755)
        try ELFFixtures.copy(HostSandbox.products.appendingPathComponent("fshost").path, to: prefix + "/bin/fshost")
        try makeDirectory(prefix + "/libexec/fshost", mode: 0o777)
        let marker = sandbox.path("ran")
        try writeMarkerScript(prefix + "/libexec/fshost/fshost-admin", marker: marker, owner: nobody)
        sandbox.extraEnvironment["FSHOST_PLUGIN_PATH"] = HostSandbox.products.path
        var r = try sandbox.run(prefix + "/bin/fshost", ["cdb", "show"])
        assertRefused(r, marker: marker, "nobody's fshost-admin in a 0777 libexec/fshost")
        // The directory alone is enough: a root-owned admin there is refused too.
        XCTAssertEqual(chown(prefix + "/libexec/fshost/fshost-admin", 0, 0), 0)
        r = try sandbox.run(prefix + "/bin/fshost", ["cdb", "show"])
        assertRefused(r, marker: marker, "root's fshost-admin in a 0777 libexec/fshost")
        XCTAssertTrue(r.stderr.contains("directory \(prefix)/libexec/fshost is writable by others"), r.stderr)
    }

    /// `cdb delete` asks `fshost … exclusive` whether the resource runs: an
    /// `fshost` beside the admin tool that another user owns is not run,
    /// and the delete refuses (it cannot tell).
    func testAdminDoesNotRunAnUntrustedFshost() throws {
        let sandbox = try HostSandbox()
        let prefix = sandbox.path("usr")
        try makeDirectory(prefix + "/bin", mode: 0o755)
        try makeDirectory(prefix + "/libexec/fshost", mode: 0o755)
        try ELFFixtures.copy(HostSandbox.products.appendingPathComponent("fshost").path, to: prefix + "/bin/fshost")
        try ELFFixtures.copy(HostSandbox.products.appendingPathComponent("fshost-admin").path,
                             to: prefix + "/libexec/fshost/fshost-admin")
        let marker = sandbox.path("ran")
        try writeMarkerScript(prefix + "/libexec/fshost/fshost", marker: marker, owner: nobody)
        sandbox.extraEnvironment["FSHOST_PLUGIN_PATH"] = HostSandbox.products.path
        var r = try sandbox.run(prefix + "/bin/fshost", ["cdb", "define", "template", "t1"])
        XCTAssertEqual(r.status, 0, r.description)
        r = try sandbox.run(prefix + "/bin/fshost", ["cdb", "delete", "template", "t1"])
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertTrue(r.stderr.contains("owned by uid 65534"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the admin tool ran nobody's fshost as root")
        // `verify` runs fshost for each of its steps: the same check.
        r = try sandbox.run(prefix + "/bin/fshost", ["verify", "template", "t1"])
        XCTAssertEqual(r.status, 9, r.description)
        XCTAssertTrue(r.stderr.contains("owned by uid 65534"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "verify ran nobody's fshost as root")
        // The trusted one (bin/fshost, once the untrusted file is gone) answers, and the delete goes through.
        XCTAssertEqual(unlink(prefix + "/libexec/fshost/fshost"), 0)
        r = try sandbox.run(prefix + "/bin/fshost", ["cdb", "delete", "template", "t1"])
        XCTAssertEqual(r.status, 0, r.description)
    }
}
