import Foundation
import TestSupport
import XCTest

/// The layout `make install` writes (bin/fshost, libexec/fshost/fshost-admin,
/// lib/fshost/resource_types/<type>.so) works with no FSHOST_PLUGIN_PATH:
/// both executables find the plugins relative to themselves.
final class InstalledLayoutTests: XCTestCase {
    func testInstalledTreeFindsItsPlugins() throws {
        let sandbox = try HostSandbox()
        let prefix = sandbox.root.appendingPathComponent("usr")
        let fm = FileManager.default
        func install(_ product: String, as relative: String) throws {
            let target = prefix.appendingPathComponent(relative)
            try fm.createDirectory(at: target.deletingLastPathComponent(), withIntermediateDirectories: true,
                                   attributes: [.posixPermissions: 0o755])
            try fm.copyItem(at: HostSandbox.products.appendingPathComponent(product), to: target)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: target.path)
        }
        try install("fshost", as: "bin/fshost")
        try install("fshost-admin", as: "libexec/fshost/fshost-admin")
        try install("libtemplate.so", as: "lib/fshost/resource_types/template.so")

        var environment = sandbox.environment
        environment["FSHOST_PLUGIN_PATH"] = nil
        func fshost(_ arguments: String...) throws -> (Int32, String) {
            let process = Process()
            process.executableURL = prefix.appendingPathComponent("bin/fshost")
            process.arguments = arguments
            process.environment = environment
            let out = Pipe()
            process.standardOutput = out
            process.standardError = out
            try process.run()
            let text = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            return (process.terminationStatus, text)
        }
        var (status, text) = try fshost("list")
        XCTAssertEqual(status, 0, text)
        XCTAssertTrue(text.contains("template"), text)
        XCTAssertFalse(text.contains("webserver"), "only what was installed: \(text)")
        (status, text) = try fshost("cdb", "define", "template", "t1")
        XCTAssertEqual(status, 0, text)
        (status, text) = try fshost("template", "monitor", "t1")
        XCTAssertEqual(status, 0, text)
    }
}
