import CDB
import Foundation
import TestSupport
import XCTest

/// The executable refuses bad plugin files before loading them: status 7,
/// one line naming the check, and none of the file's code run.
final class PluginRefusalTests: XCTestCase {
    var sandbox: HostSandbox!
    var pluginDirectory: URL!

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        pluginDirectory = sandbox.root.appendingPathComponent("plugins")
        try FileManager.default.createDirectory(at: pluginDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        sandbox.pluginPath = pluginDirectory.path
        let db = try ConfigurationDatabase(path: sandbox.cdb, mode: .readWrite)
        try db.define(type: "template", resource: "t1", attributes: [:])
        try db.define(type: "evil", resource: "e1", attributes: [:])
    }

    /// Installs this build's template plugin into the private plugin directory.
    func installTemplate() throws -> URL {
        let target = pluginDirectory.appendingPathComponent("template.so")
        try FileManager.default.copyItem(at: HostSandbox.products.appendingPathComponent("libtemplate.so"), to: target)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target.path)
        return target
    }

    func testInstalledCopyLoads() throws {
        _ = try installTemplate()
        XCTAssertEqual(try sandbox.fshost("template", "monitor", "t1").status, 0)
    }

    func testConstructorOfARefusedFileNeverRuns() throws {
        guard let cc = ["/usr/bin/cc", "/usr/bin/gcc"].first(where: FileManager.default.isExecutableFile) else {
            throw SetupFailure("no C compiler (cc) to build the constructor fixture")
        }
        let marker = sandbox.path("constructor-ran")
        let source = sandbox.path("evil.c")
        try """
        #include <stdio.h>
        __attribute__((constructor)) static void evil(void) { FILE *f = fopen("\(marker)", "w"); if (f) fclose(f); }
        void *fshost_plugin_entry(void) { return 0; }
        """.write(toFile: source, atomically: true, encoding: .utf8)
        let so = pluginDirectory.appendingPathComponent("evil.so").path
        let built = try sandbox.run(cc, ["-shared", "-fPIC", "-o", so, source])
        XCTAssertEqual(built.status, 0, built.stderr)

        let r = try sandbox.fshost("evil", "monitor", "e1")
        XCTAssertEqual(r.status, 7, r.description)
        XCTAssertTrue(r.stderr.contains("evil.so"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the constructor of a refused file ran")
    }

    func testOtherCompilerVersionIsRefusedNamingBothVersions() throws {
        let plugin = try installTemplate()
        var bytes = try Data(contentsOf: plugin)
        let magic = Data([0x46, 0x53, 0x48, 0x50, 0x01, 0x00])  // "FSHP", record version 1
        let at = try XCTUnwrap(bytes.range(of: magic)).lowerBound
        bytes[at + 8] = 0x11  // compiler_version, little-endian: another number
        try bytes.write(to: plugin)
        let r = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertEqual(r.status, 7, r.description)
        XCTAssertTrue(r.stderr.contains("Swift"), r.stderr)
    }

    func testGroupWritablePluginIsRefused() throws {
        let plugin = try installTemplate()
        try FileManager.default.setAttributes([.posixPermissions: 0o775], ofItemAtPath: plugin.path)
        let r = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertEqual(r.status, 7, r.description)
        XCTAssertTrue(r.stderr.contains("writable"), r.stderr)
    }

    func testSymlinkOutOfThePluginDirectoryIsRefused() throws {
        try FileManager.default.createSymbolicLink(
            atPath: pluginDirectory.appendingPathComponent("template.so").path,
            withDestinationPath: HostSandbox.products.appendingPathComponent("libtemplate.so").path)
        let r = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertEqual(r.status, 7, r.description)
    }

    func testPluginFileOfAnotherTypeIsRefused() throws {
        try FileManager.default.copyItem(at: HostSandbox.products.appendingPathComponent("libtemplate.so"),
                                         to: pluginDirectory.appendingPathComponent("evil.so"))
        let r = try sandbox.fshost("evil", "monitor", "e1")
        XCTAssertEqual(r.status, 7, r.description)
        XCTAssertTrue(r.stderr.contains("template"), r.stderr)
    }
}
