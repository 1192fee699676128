import Foundation
@testable import PluginLoading
import TestSupport
import XCTest

/// Issue 16: the installed fshost no longer loads the runtime libraries
/// swiftc autolinks (Scripts/trim-needed.sh), so before verifying a plugin
/// it loads the ones the plugin names. It reads the plugin's DT_NEEDED
/// itself; these show the reader agrees with readelf and gives nothing,
/// never a crash, for a file that is not a whole ELF file.
final class AutolinkedRuntimeTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws { sandbox = try HostSandbox() }
    override func tearDown() { sandbox = nil; super.tearDown() }

    func testNeededNamesAreReadelfs() throws {
        for name in ["libtemplate.so", "libwebserver-http.so", "fshost"] {
            let file = HostSandbox.products.appendingPathComponent(name).path
            let expected = try RelocatableInstallTests.neededLibraries(file)
            XCTAssertFalse(expected.isEmpty, name)
            XCTAssertEqual(AutolinkedRuntime.neededNames(file), expected, name)
        }
    }

    func testAFileThatIsNotAWholeELFFileGivesNothing() throws {
        let plugin = try Data(contentsOf: HostSandbox.products.appendingPathComponent("libtemplate.so"))
        let cases: [(String, Data)] = [
            ("empty", Data()), ("text", Data("not an ELF file\n".utf8)),
            ("header only", plugin.prefix(64)), ("truncated", plugin.prefix(4096)),
            ("32-bit class", { var d = plugin; d[4] = 1; return d }()),
            ("big endian", { var d = plugin; d[5] = 2; return d }()),
        ]
        for (name, bytes) in cases {
            let file = sandbox.path(name.replacingOccurrences(of: " ", with: "-"))
            try bytes.write(to: URL(fileURLWithPath: file))
            XCTAssertNil(AutolinkedRuntime.neededNames(file), name)
        }
        XCTAssertNil(AutolinkedRuntime.neededNames(sandbox.path("missing")))
        XCTAssertNil(AutolinkedRuntime.neededNames(sandbox.path(".")), "a directory")
        let fifo = sandbox.path("fifo")
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        XCTAssertNil(AutolinkedRuntime.neededNames(fifo), "a FIFO (opened without blocking)")
    }
}
