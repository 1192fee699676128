import CDB
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

    /// `make install` replaces every file by rename (issue 7, item 9): a
    /// plugin a running action has mapped keeps its bytes (overwriting it in
    /// place crashed the action), the path names a new file, and no
    /// temporary file is left behind.
    func testInstallReplacesPluginsByRename() throws {
        let sandbox = try HostSandbox()
        let products = HostSandbox.products
        let repository = products.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: repository + "/Makefile") else {
            return XCTFail("no Makefile in \(repository) (the products directory is expected at .build/<triple>/debug)")
        }
        let prefix = sandbox.path("usr")
        func install() throws {
            let r = try ELFFixtures.run("/usr/bin/make", ["-s", "-C", repository, "install-files",
                                                          "BIN=" + products.path, "PREFIX=" + prefix])
            XCTAssertEqual(r.status, 0, r.output)
        }
        try install()
        let plugin = prefix + "/lib/fshost/resource_types/template.so"
        let original = try ELFFixtures.read(plugin)
        // What a running action holds: the file it mapped.
        let fd = open(plugin, O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        var before = stat()
        XCTAssertEqual(fstat(fd, &before), 0)

        try install()
        var after = stat()
        XCTAssertEqual(stat(plugin, &after), 0)
        XCTAssertNotEqual(after.st_ino, before.st_ino, "the plugin was overwritten in place, not replaced by rename")
        XCTAssertEqual(after.st_mode & 0o7777, 0o755)
        var held = stat()
        XCTAssertEqual(fstat(fd, &held), 0)
        XCTAssertEqual(held.st_nlink, 0, "the old file is unlinked, not rewritten")
        var bytes = [UInt8](repeating: 0, count: original.count)
        XCTAssertEqual(pread(fd, &bytes, bytes.count, 0), original.count)
        XCTAssertEqual(bytes, original, "the mapped file's bytes changed under it")

        // Meanwhile a monitor starting finds the whole old file or the whole
        // new one: never no file (unknown type) and never a partial one.
        let size = Int(after.st_size)
        let watching = InstallWatch()
        let watcher = Thread {
            while !watching.done {
                var st = stat()
                if lstat(plugin, &st) != 0 || Int(st.st_size) != size { watching.gaps += 1 }
            }
        }
        watcher.start()
        for _ in 0..<3 { try install() }
        watching.done = true
        while !watcher.isFinished { usleep(1000) }
        XCTAssertEqual(watching.gaps, 0, "the plugin path was missing or partial during an install")

        let leftovers = FileManager.default.enumerator(atPath: prefix)?.compactMap { $0 as? String }
            .filter { ($0 as NSString).lastPathComponent.hasPrefix(".") } ?? []
        XCTAssertEqual(leftovers, [], "temporary files left behind")

        var environment = sandbox.environment
        environment["FSHOST_PLUGIN_PATH"] = nil
        let db = try ConfigurationDatabase(path: sandbox.cdb, mode: .readWrite)
        try db.define(type: "template", resource: "t1", attributes: [:])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: prefix + "/bin/fshost")
        process.arguments = ["template", "monitor", "t1"]
        process.environment = environment
        try process.run()
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, "the installed tree answers")
    }
}

/// What the watcher thread of ``InstalledLayoutTests`` saw.
final class InstallWatch: @unchecked Sendable {
    private let lock = NSLock()
    private var _done = false, _gaps = 0
    var done: Bool { get { lock.withLock { _done } } set { lock.withLock { _done = newValue } } }
    var gaps: Int { get { lock.withLock { _gaps } } set { lock.withLock { _gaps = newValue } } }
}
