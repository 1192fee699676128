import ELFCheck
import Foundation
import PluginRecord
import TestSupport
import XCTest
@testable import FSHost

/// Before the worker publishes its deadline (it knows it only once the
/// plugin is loaded and the resource read) the supervisor still bounds it:
/// a worker that hangs there — here a plugin constructor that never
/// returns — is killed after ``Supervisor/setupLimitMilliseconds`` and the
/// answer is `HA_TIMEDOUT` (review of issue 16, item 2).
final class SetupLimitTests: XCTestCase {
    func testAHangBeforeTheDeadlineIsBounded() throws {
        let sandbox = try HostSandbox()
        let plugins = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        sandbox.pluginPath = plugins
        guard let cc = ELFFixtures.cCompiler else {
            throw SetupFailure("no C compiler (cc, gcc or clang) in PATH: this test builds its fixture with one")
        }
        let record = PluginRecord(abiVersion: 1, compilerVersion: compilerVersion, typeName: "hangsinload").bytes
        let source = "#include <unistd.h>\n"
            + "__attribute__((section(\".fshost_plugin\"), used, aligned(4)))\n"
            + "static const unsigned char fshost_record[\(record.count)] = \(ELFFixtures.cArray(record));\n"
            + "void *fshost_plugin_entry(void) { return 0; }\n"
            + "__attribute__((constructor)) static void hang(void) { for (;;) pause(); }\n"
        let plugin = plugins + "/hangsinload.so"
        try ELFFixtures.compileC(source, compiler: cc, flags: ["-shared", "-fPIC", "-O1"], output: plugin,
                                 in: sandbox.root.path, name: "hangsinload")
        try ELFFixtures.setMode(plugin, 0o755)

        let r = try sandbox.fshost("hangsinload", "monitor", "r")
        XCTAssertEqual(r.status, 8, r.description)
        XCTAssertTrue(r.stderr.contains("did not reach its action within \(Supervisor.setupLimitMilliseconds) ms"), r.description)
        XCTAssertGreaterThanOrEqual(r.milliseconds, Int(Supervisor.setupLimitMilliseconds) - 100, r.description)
        XCTAssertLessThan(r.milliseconds, Int(Supervisor.setupLimitMilliseconds) + 5_000, r.description)
    }
}
