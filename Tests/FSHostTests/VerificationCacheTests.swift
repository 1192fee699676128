import CDB
import ELFCheck
import Foundation
import TestSupport
import XCTest

/// A plugin verified before and unchanged since is loaded without reading
/// it with libelf (issue 16); any change of the file — its bytes, its inode,
/// its owner, its mode — is verified again, and a bad cache entry costs one
/// warning and a full verification.
final class VerificationCacheTests: XCTestCase {
    var sandbox: HostSandbox!
    var plugin = ""

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        let plugins = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        sandbox.pluginPath = plugins
        plugin = plugins + "/template.so"
        try ELFFixtures.copy(HostSandbox.products.appendingPathComponent("libtemplate.so").path, to: plugin)
        try ConfigurationDatabase(path: sandbox.cdb, mode: .readWrite).define(type: "template", resource: "t", attributes: [:])
    }

    override func tearDown() { sandbox = nil }

    var cacheDirectory: String { sandbox.path("run") + "/verified" }

    /// A monitor of template/t: status, stderr without the loader's lines,
    /// and whether libelf was loaded (the file was verified in full).
    func monitor() throws -> (status: Int32, stderr: String, verified: Bool) {
        sandbox.extraEnvironment["LD_DEBUG"] = "files"
        defer { sandbox.extraEnvironment["LD_DEBUG"] = nil }
        let r = try sandbox.fshost("template", "monitor", "t")
        let lines = r.stderr.split(separator: "\n").filter { $0.hasPrefix("fshost") }
        return (r.status, lines.joined(separator: "\n"), r.stderr.contains("libelf.so.1"))
    }

    /// Waits until the plugin file is old enough to be remembered, then
    /// makes sure it is: the next monitor loads it without libelf.
    func remembered() throws {
        var st = stat()
        XCTAssertEqual(stat(plugin, &st), 0)
        let changed = max(Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9,
                          Double(st.st_ctim.tv_sec) + Double(st.st_ctim.tv_nsec) / 1e9)
        let wait = changed + 2.1 - Date().timeIntervalSince1970
        if wait > 0 { Thread.sleep(forTimeInterval: wait) }
        // (The first call of a fresh sandbox creates the run directory only
        // after verifying: the second one stores.)
        for _ in 0..<2 {
            let stores = try monitor()
            XCTAssertEqual(stores.status, 0, stores.stderr)
        }
        let hit = try monitor()
        XCTAssertEqual(hit.status, 0, hit.stderr)
        XCTAssertFalse(hit.verified, "an unchanged file verified before is not read with libelf: \(hit.stderr)")
    }

    func testAYoungFileIsVerifiedEveryTime() throws {
        for _ in 0..<3 {
            let m = try monitor()
            XCTAssertEqual(m.status, 0, m.stderr)
            XCTAssertTrue(m.verified, "a file changed less than 2 s ago is not remembered")
        }
    }

    func testAChangedReplacedReownedOrRemodedFileIsVerifiedAgain() throws {
        try remembered()

        // Touched (its ctime moves; the bytes are the same): verified again, and fine.
        XCTAssertEqual(chmod(plugin, 0o755), 0)
        var m = try monitor()
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.verified, "a chmod (ctime) sends the file through the checks again")

        // Re-moded, re-owned: refused (checked on every call, cached or not).
        try remembered()
        XCTAssertEqual(chmod(plugin, 0o775), 0)
        m = try monitor()
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("permissions"), m.stderr)
        XCTAssertEqual(chmod(plugin, 0o755), 0)
        try remembered()
        XCTAssertEqual(chown(plugin, 4242, 4242), 0)
        m = try monitor()
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("owner"), m.stderr)
        XCTAssertEqual(chown(plugin, 0, 0), 0)

        // Changed in place at the same size (the record's type name): the
        // checks read it again and refuse it, before dlopen.
        try remembered()
        var bytes = try ELFFixtures.read(plugin)
        let name = Array("template".utf8)
        let at = ELFFixtures.offsets(of: name, in: bytes)
        XCTAssertFalse(at.isEmpty)
        for offset in at { bytes[offset] = UInt8(ascii: "x") }
        let fd = open(plugin, O_WRONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }, bytes.count)
        close(fd)
        m = try monitor()
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("type-name") || m.stderr.contains("record"), m.stderr)
        XCTAssertFalse(m.stderr.contains("dlopen"), m.stderr)

        // Replaced (renamed over: another inode) by a file that fails the checks.
        try ELFFixtures.copy(HostSandbox.products.appendingPathComponent("libtemplate.so").path, to: plugin)
        try remembered()
        let replacement = sandbox.path("plugins/.new")
        try ELFFixtures.write(bytes, to: replacement)
        XCTAssertEqual(rename(replacement, plugin), 0)
        m = try monitor()
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("type-name") || m.stderr.contains("record"), m.stderr)
    }

    func testABadCacheEntryIsIgnoredWithOneWarning() throws {
        try remembered()
        func entry() throws -> String {
            let names = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory).filter { !$0.hasPrefix(".") }
            XCTAssertEqual(names.count, 1, "\(names)")
            return cacheDirectory + "/" + (names.first ?? "?")
        }
        let good = try Data(contentsOf: URL(fileURLWithPath: try entry()))
        let cases: [(String, String, (String) throws -> Void)] = [
            ("corrupt", "is not a verification entry", { try Data("garbage".utf8).write(to: URL(fileURLWithPath: $0)) }),
            ("truncated", "truncated", { try good.prefix(good.count - 7).write(to: URL(fileURLWithPath: $0)) }),
            ("newer format", "has another format", {
                try Data(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "fshost-verified 1", with: "fshost-verified 2").utf8)
                    .write(to: URL(fileURLWithPath: $0)) }),
            ("another owner", "is owned by uid 4242", { XCTAssertEqual(chown($0, 4242, 4242), 0) }),
            ("writable by others", "is writable by others", { XCTAssertEqual(chmod($0, 0o666), 0) }),
            ("a directory open to others", "is writable by others", { _ in XCTAssertEqual(chmod(self.cacheDirectory, 0o777), 0) }),
        ]
        for (name, warning, damage) in cases {
            try damage(try entry())
            let m = try monitor()
            XCTAssertEqual(m.status, 0, "\(name): \(m.stderr)")
            XCTAssertTrue(m.verified, "\(name): verified in full")
            let warnings = m.stderr.split(separator: "\n").filter { $0.contains("ignoring the verification cache entry") }
            XCTAssertEqual(warnings.count, 1, "\(name): \(m.stderr)")
            XCTAssertTrue(warnings.first?.contains(warning) == true, "\(name): \(m.stderr)")
            // A clean cache again.
            XCTAssertEqual(chmod(cacheDirectory, 0o700), 0)
            try FileManager.default.removeItem(atPath: try entry())
            try remembered()
        }
    }
}
