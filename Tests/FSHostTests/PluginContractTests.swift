import CDB
import ELFCheck
import Foundation
import HAVocabulary
import PluginRecord
import TestSupport
import XCTest
@testable import FSHost
@testable import PluginLoading

/// What a plugin declares and what the host holds it to, end to end with
/// the real executables: constraints enforced before anything runs, host
/// settings the type cannot honour, secrets, companions, the test-only
/// plugin, and a record that must agree with the file's symbols.
final class PluginContractTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
    }

    override func tearDown() {
        sandbox = nil
    }

    /// Stores attributes directly (as an older fshost or a hand edit could),
    /// bypassing the admin tool's checks: the action path must check them.
    func store(_ resource: String, _ attributes: [String: String]) throws {
        try sandbox.store("testfixture", resource, attributes)
    }

    // MARK: Host settings the type cannot honour

    func testMonitorLevelOutsideTheTypesLevelsIsRefusedWhenDefined() throws {
        let r = try sandbox.fshost("cdb", "define", "testfixture", "a", "port=80", "monitor_level=7")
        XCTAssertEqual(r.status, 2, r.description)
        XCTAssertTrue(r.stderr.contains("attribute 'monitor_level' must be one of the type's monitoring levels 1, 2: '7'"), r.stderr)
        XCTAssertEqual(try sandbox.fshost("cdb", "show").stdout, "no resources\n", "nothing written")
        let modify = try { () throws -> HostSandbox.Result in
            try self.sandbox.fshost("cdb", "define", "testfixture", "a", "port=80")
            return try self.sandbox.fshost("cdb", "modify", "testfixture", "a", "monitor_level=0")
        }()
        XCTAssertEqual(modify.status, 2, modify.description)
    }

    func testMonitorLevelAlreadyStoredIsRefusedByValidateAndEveryAction() throws {
        try store("a", ["port": "80", "monitor_level": "7", "marker": sandbox.path("marker")])
        for action in ["validate", "start", "monitor", "exclusive"] {
            let r = try sandbox.fshost("testfixture", action, "a")
            XCTAssertEqual(r.status, 2, "\(action): \(r)")
            XCTAssertTrue(r.stderr.contains("monitor_level' must be one of the type's monitoring levels 1, 2"), r.stderr)
        }
        // stop does not read the level: it still stops, and says what it ignored.
        let stop = try sandbox.fshost("testfixture", "stop", "a")
        XCTAssertEqual(stop.status, 0, stop.description)
        XCTAssertTrue(stop.stderr.contains("ignoring attribute 'monitor_level'"), stop.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.path("marker")), "start never ran")
    }

    // MARK: Constraints at action time, before anything runs

    func testEveryConstraintIsCheckedBeforeTheActionRuns() throws {
        let cases: [(String, String, String)] = [
            ("mode", "medium", "attribute 'mode' must be one of fast, slow: 'medium'"),
            ("fail_probes", "101", "attribute 'fail_probes' is out of range: '101' (allowed: from 0 to 100)"),
            ("interval", "0ms", "attribute 'interval' is out of range: '0ms' (allowed: from 1ms to 1h)"),
            ("address", "localhost", "attribute 'address' is not a numeric IPv4 or IPv6 address (no host names): 'localhost'"),
            ("run_as", "-x", "attribute 'run_as' is not a user name"),
        ]
        for (n, (key, value, message)) in cases.enumerated() {
            let marker = sandbox.path("marker\(n)")
            try store("r\(n)", ["port": "80", key: value, "marker": marker])
            let r = try sandbox.fshost("testfixture", "start", "r\(n)", "--json")
            XCTAssertEqual(r.status, 2, "\(key)=\(value): \(r)")
            XCTAssertTrue(r.stderr.contains(message), r.stderr)
            XCTAssertTrue(r.stdout.contains("\"status\":\"HA_INVAL_ARGS\""), r.stdout)
            XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "\(key): start ran")
            let define = try sandbox.fshost("cdb", "define", "testfixture", "d\(n)", "port=80", "\(key)=\(value)")
            XCTAssertEqual(define.status, 2, define.description)
            XCTAssertTrue(define.stderr.contains(message), define.stderr)
        }
    }

    func testValidateChecksTheUserExists() throws {
        try store("a", ["port": "80", "run_as": "no-such-user-fshost"])
        let r = try sandbox.fshost("testfixture", "validate", "a")
        XCTAssertEqual(r.status, 2, r.description)
        XCTAssertTrue(r.stderr.contains("attribute 'run_as': no user 'no-such-user-fshost' on this node"), r.stderr)
        try store("b", ["port": "80", "run_as": "root"])
        XCTAssertEqual(try sandbox.fshost("testfixture", "validate", "b").status, 0)
    }

    // MARK: Secrets

    func testASecretNeverAppearsInLogJSONShowOrExport() throws {
        let secret = "hunter2-\(UUID().uuidString.prefix(6))"
        XCTAssertEqual(try sandbox.fshost("cdb", "define", "testfixture", "a", "port=80", "password=\(secret)",
                                          "leak_secret=true").status, 0)
        let start = try sandbox.fshost("testfixture", "start", "a", "--json")
        XCTAssertEqual(start.status, 3, start.description)
        XCTAssertFalse(start.stderr.contains(secret), start.stderr)
        XCTAssertFalse(start.stdout.contains(secret), start.stdout)
        XCTAssertTrue(start.stderr.contains("connecting with password (secret)"), start.stderr)
        XCTAssertTrue(start.stdout.contains("password (secret) was refused"), start.stdout)

        for command in [["cdb", "show"], ["cdb", "show", "testfixture"], ["cdb", "show", "testfixture", "a"],
                        ["cdb", "export"], ["describe", "testfixture"]] {
            let r = try sandbox.fshost(command)
            XCTAssertEqual(r.status, 0, "\(command): \(r)")
            XCTAssertFalse(r.stdout.contains(secret) || r.stderr.contains(secret), "\(command) shows the secret: \(r.stdout)")
        }
        let export = try sandbox.fshost("cdb", "export")
        XCTAssertTrue(export.stderr.contains("secret values left out: testfixture.a.password"), export.stderr)
        // Asked for explicitly: the value.
        XCTAssertTrue(try sandbox.fshost("cdb", "export", "--include-secrets").stdout.contains("password = \"\(secret)\""))
        XCTAssertEqual(try sandbox.fshost("cdb", "get", "testfixture", "a", "password").stdout, secret + "\n")
    }

    func testDescribeShowsConstraints() throws {
        let r = try sandbox.fshost("describe", "testfixture")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertTrue(r.stdout.contains("mode (string, default fast; one of: fast, slow)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("fail_probes (integer, default 0; from 0 to 100)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("password (string; secret)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("monitor_level (integer, default 1; one of: 1, 2)"), r.stdout)
    }

    // MARK: The test-only plugin

    func testTheTestOnlyPluginIsNotListed() throws {
        let list = try sandbox.fshost("list")
        XCTAssertEqual(list.status, 0, list.description)
        XCTAssertTrue(list.stdout.contains("template"), list.stdout)
        XCTAssertFalse(list.stdout.contains("testfixture"), "users never see it: \(list.stdout)")
        XCTAssertFalse(list.stdout.contains("webserver-http"), list.stdout)
        XCTAssertTrue(try sandbox.fshost("list", "--all").stdout.contains("testfixture"))
        // What `make install` installs: every built type (each type adds
        // itself), never a test-only plugin or a companion.
        let names = try sandbox.fshost("list", "--names").stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(names, names.sorted(), "sorted")
        for type in ["logwriter", "template", "webserver", "ipfilter"] { XCTAssertTrue(names.contains(type), "\(type) in \(names)") }
        XCTAssertFalse(names.contains { $0.hasPrefix("testfixture") || $0.contains("-") }, "\(names)")
    }

    func testListingNamesForInstallFailsOnARefusedPlugin() throws {
        let directory = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try FileManager.default.copyItem(atPath: HostSandbox.products.appendingPathComponent("libtemplate.so").path,
                                         toPath: directory + "/template.so")
        chmod(directory + "/template.so", 0o775)
        sandbox.pluginPath = directory
        let r = try sandbox.fshost("list", "--names")
        XCTAssertEqual(r.status, 7, r.description)
        XCTAssertEqual(r.stdout, "")
        XCTAssertTrue(r.stderr.contains("template: plugin refused") && r.stderr.contains("group-writable"), r.stderr)
    }

    // MARK: Companions

    func testCheckAndDescribeKnowCompanions() throws {
        let companion = HostSandbox.products.appendingPathComponent("libwebserver-http.so").path
        let check = try sandbox.fshost("check", companion)
        XCTAssertEqual(check.status, 0, check.description + check.stdout)
        XCTAssertTrue(check.stdout.contains("companion webserver-http (call HTTPProbeCall@"), check.stdout)
        XCTAssertTrue(check.stdout.contains("fshost_companion_call"), check.stdout)
        let describe = try sandbox.fshost("describe", "webserver-http")
        XCTAssertEqual(describe.status, 5, describe.description)
        XCTAssertTrue(describe.stderr.contains("'webserver-http' is not a resource type"), describe.stderr)
        XCTAssertTrue(describe.stderr.contains("companion object"), describe.stderr)
        XCTAssertFalse(describe.stderr.contains("refused"), describe.stderr)
    }

    func testACompanionWithAnotherSignatureIsRefusedBeforeLoadNamingBoth() throws {
        let products = HostSandbox.products.path
        let webserver = try PluginLoader.load(path: products + "/libwebserver.so", directory: products, type: "webserver")
        let record = try XCTUnwrap(PluginVerifier(expectedTypeName: nil).report(path: products + "/libwebserver-http.so").record)
        XCTAssertTrue(record.isCompanion)
        XCTAssertTrue(record.signature.hasPrefix("HTTPProbeCall@"), record.signature)

        let wrong = "HTTPProbeCall@0000000000000000"
        do {
            _ = try PluginLoader.companionCall(of: webserver, name: "http", signature: wrong)
            XCTFail("a companion with another signature was loaded")
        } catch {
            XCTAssertEqual(error.status, ExitStatus.pluginRefused.rawValue)
            XCTAssertTrue(error.message.contains("answers call \(record.signature), the plugin asks for \(wrong)"), error.message)
        }
        // The right signature loads it, once per process.
        let first = try PluginLoader.companionCall(of: webserver, name: "http", signature: record.signature)
        let again = try PluginLoader.companionCall(of: webserver, name: "http", signature: record.signature)
        XCTAssertEqual(first, again)
        // A plugin asked for as a companion is refused too.
        let template = try PluginLoader.load(path: products + "/libtemplate.so", directory: products, type: "template")
        XCTAssertThrowsError(try PluginLoader.companionCall(of: template, name: "http", signature: wrong))
    }

    /// The typed call end to end: `fshost testfixture start` asks the
    /// companion testfixture-echo twice; strings and an enum with payloads
    /// cross both ways, and the companion is loaded once (its counter goes on).
    func testATypedCompanionCallCrossesBothWaysAndLoadsOnce() throws {
        try store("e", ["port": "80", "echo": "hé"])
        let r = try sandbox.fshost("testfixture", "start", "e")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertTrue(r.stderr.contains(#"echoed("héhé", served: 1)"#) && r.stderr.contains(#"echoed("hé", served: 2)"#), r.stderr)
    }

    /// At action time, a companion whose record carries another signature
    /// is refused before it is loaded; the log names both signatures.
    func testAStaleCompanionIsRefusedAtActionTimeNamingBoth() throws {
        let directory = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let products = HostSandbox.products.path
        try FileManager.default.copyItem(atPath: products + "/libtestfixture.so", toPath: directory + "/testfixture.so")
        let wanted = try XCTUnwrap(PluginVerifier(expectedTypeName: nil).report(path: directory + "/testfixture.so").record?.calls.first)
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: products + "/libtestfixture-echo.so")))
        let needle = Array(wanted.utf8)
        let at = try XCTUnwrap((0..<(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle })
        let last = at + needle.count - 1
        bytes[last] = bytes[last] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        let stale = String(decoding: bytes[at...last], as: UTF8.self)
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/testfixture-echo.so"))
        chmod(directory + "/testfixture-echo.so", 0o755)
        sandbox.pluginPath = directory
        try store("e", ["port": "80", "echo": "hi"])
        let r = try sandbox.fshost("testfixture", "start", "e")
        XCTAssertEqual(r.status, 7, "the host's answer (refused) wins over the plugin's failure: \(r)")
        XCTAssertTrue(r.stderr.contains("companion refused"), r.stderr)
        XCTAssertTrue(r.stderr.contains("companion 'testfixture-echo' answers call \(stale), the plugin asks for \(wanted)"), r.stderr)
    }

    /// A plugin directory holding the test fixture and, unless nil, `companion`
    /// (the bytes of that file) as its echo companion, of `mode`.
    private func fixtureWithCompanion(_ companion: String?, mode: mode_t = 0o755) throws {
        let directory = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try ELFFixtures.copy(HostSandbox.products.path + "/libtestfixture.so", to: directory + "/testfixture.so")
        if let companion { try ELFFixtures.copy(companion, to: directory + "/testfixture-echo.so", mode: mode) }
        sandbox.pluginPath = directory
        try store("e", ["port": "80", "echo": "hi"])
    }

    /// A companion that is missing is HA_NOTSUPPORTED (5), not a broken
    /// resource (3): the host's answer wins over the failure the plugin
    /// reports for lack of it (issue 7, item 7).
    func testAMissingCompanionAnswersNotSupported() throws {
        try fixtureWithCompanion(nil)
        let r = try sandbox.fshost("testfixture", "start", "e")
        XCTAssertEqual(r.status, 5, r.description)
        XCTAssertTrue(r.stderr.contains("companion 'testfixture-echo' not found"), r.stderr)
    }

    /// A file in the companion's place that is not a plugin (another shared
    /// object): refused before it is loaded, HA_PLUGIN_REFUSED (7).
    func testANonPluginCompanionAnswersPluginRefused() throws {
        let other = try XCTUnwrap(["/usr/lib/x86_64-linux-gnu/libz.so.1", "/usr/lib/aarch64-linux-gnu/libz.so.1",
                                   "/lib/x86_64-linux-gnu/libz.so.1"].first { FileManager.default.fileExists(atPath: $0) },
                                  "no libz.so.1 to stand in for a non-plugin shared object")
        try fixtureWithCompanion(URL(fileURLWithPath: other).resolvingSymlinksInPath().path)
        let r = try sandbox.fshost("testfixture", "start", "e")
        XCTAssertEqual(r.status, 7, r.description)
        XCTAssertTrue(r.stderr.contains("companion refused"), r.stderr)
    }

    /// A companion another user could write (mode 0666): refused, 7.
    func testAWritableCompanionAnswersPluginRefused() throws {
        try fixtureWithCompanion(HostSandbox.products.path + "/libtestfixture-echo.so", mode: 0o666)
        let r = try sandbox.fshost("testfixture", "start", "e", "--json")
        XCTAssertEqual(r.status, 7, r.description)
        XCTAssertTrue(r.stderr.contains("companion refused") && r.stderr.contains("0666"), r.stderr)
        XCTAssertTrue(r.stdout.contains(#""status":"HA_PLUGIN_REFUSED""#), r.stdout)
    }

    /// `fshost check` of the plugin matches the companions beside it with
    /// the calls its record names, before anything is loaded: a stale
    /// companion (another signature) and a missing one are named.
    func testCheckOfAPluginMatchesItsCompanions() throws {
        let directory = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let products = HostSandbox.products.path
        try FileManager.default.copyItem(atPath: products + "/libwebserver.so", toPath: directory + "/webserver.so")
        let plugin = try XCTUnwrap(PluginVerifier(expectedTypeName: nil).report(path: directory + "/webserver.so").record)
        XCTAssertEqual(plugin.calls.count, 1)
        let wanted = try XCTUnwrap(plugin.calls.first)

        var r = try sandbox.fshost("check", directory + "/webserver.so")
        XCTAssertEqual(r.status, 7, r.stdout)
        XCTAssertTrue(r.stdout.contains("FAIL companion") && r.stdout.contains("no companion beside the plugin serves call \(wanted)"), r.stdout)

        // A companion whose record carries another signature (one hex digit changed).
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: products + "/libwebserver-http.so")))
        let needle = Array(wanted.utf8)
        let at = try XCTUnwrap((0..<(bytes.count - needle.count)).first { Array(bytes[$0..<($0 + needle.count)]) == needle })
        let last = at + needle.count - 1
        bytes[last] = bytes[last] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        let stale = String(decoding: bytes[at...last], as: UTF8.self)
        try Data(bytes).write(to: URL(fileURLWithPath: directory + "/webserver-http.so"))
        chmod(directory + "/webserver-http.so", 0o755)
        r = try sandbox.fshost("check", directory + "/webserver.so")
        XCTAssertEqual(r.status, 7, r.stdout)
        XCTAssertTrue(r.stdout.contains("webserver-http.so answers call \(stale), the plugin asks for \(wanted)"), r.stdout)
        XCTAssertTrue(r.stderr.contains("companion"), r.stderr)

        // The companion as built matches.
        try FileManager.default.removeItem(atPath: directory + "/webserver-http.so")
        try FileManager.default.copyItem(atPath: products + "/libwebserver-http.so", toPath: directory + "/webserver-http.so")
        r = try sandbox.fshost("check", directory + "/webserver.so")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("ok   companion") && r.stdout.contains("webserver-http.so: call \(wanted)"), r.stdout)
    }

    /// A file named for another type fails `fshost check` as it would fail
    /// at load: the host looks a type up by the file's name.
    func testCheckComparesTheRecordWithTheFilesName() throws {
        let directory = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try FileManager.default.copyItem(atPath: HostSandbox.products.appendingPathComponent("libtemplate.so").path,
                                         toPath: directory + "/webserver.so")
        let r = try sandbox.fshost("check", directory + "/webserver.so")
        XCTAssertEqual(r.status, 7, r.stdout)
        XCTAssertTrue(r.stdout.contains("FAIL type-name") && r.stdout.contains("record names type 'template', expected 'webserver'"), r.stdout)
        XCTAssertEqual(try sandbox.fshost("check", "--type", "template", directory + "/webserver.so").status, 0)
        // lib<name>.so, as the build names it, and a companion's <type>-<name>.so: the same comparison.
        try FileManager.default.copyItem(atPath: HostSandbox.products.appendingPathComponent("libtemplate.so").path,
                                         toPath: directory + "/libfoo.so")
        let lib = try sandbox.fshost("check", directory + "/libfoo.so")
        XCTAssertEqual(lib.status, 7, lib.stdout)
        XCTAssertTrue(lib.stdout.contains("record names type 'template', expected 'foo'"), lib.stdout)
        XCTAssertFalse(lib.stdout.contains("not compared"), lib.stdout)
        try FileManager.default.copyItem(atPath: HostSandbox.products.appendingPathComponent("libwebserver-http.so").path,
                                         toPath: directory + "/webserver-foo.so")
        let companion = try sandbox.fshost("check", directory + "/webserver-foo.so")
        XCTAssertEqual(companion.status, 7, companion.stdout)
        XCTAssertTrue(companion.stdout.contains("record names type 'webserver-http', expected 'webserver-foo'"), companion.stdout)
    }

    // MARK: A record that disagrees with the file's symbols

    /// A copy of the template plugin whose record says "companion": the
    /// file exports fshost_plugin_entry, not fshost_companion_call.
    func testARecordThatDisagreesWithTheSymbolsIsRefusedBeforeLoad() throws {
        var bytes = try [UInt8](Data(contentsOf: HostSandbox.products.appendingPathComponent("libtemplate.so")))
        let magic = Array("FSHP".utf8), name = Array("template".utf8) + [0]
        let offset = try XCTUnwrap((0..<(bytes.count - 48)).first { i in
            Array(bytes[i..<(i + 4)]) == magic && Array(bytes[(i + 16)..<(i + 16 + name.count)]) == name
        }, "the record of libtemplate.so")
        bytes[offset + 12] |= UInt8(PluginRecord.companionFlag)
        let directory = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let path = directory + "/template.so"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        chmod(path, 0o755)

        let check = try sandbox.fshost("check", path)
        XCTAssertEqual(check.status, 7, check.description)
        XCTAssertTrue(check.stdout.contains("FAIL entry-symbol"), check.stdout)
        XCTAssertTrue(check.stdout.contains("fshost_companion_call is not exported")
                      && check.stdout.contains("its record says companion 'template'"), check.stdout)
        sandbox.pluginPath = directory
        try ConfigurationDatabase(path: sandbox.cdb, mode: .readWrite).define(type: "template", resource: "t1", attributes: [:])
        let action = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertEqual(action.status, 5, action.description)
        XCTAssertTrue(action.stderr.contains("is a companion object"), action.stderr)
    }

    // MARK: The build generates the entry point and the name

    var generator: String { HostSandbox.products.appendingPathComponent("FSPluginRecordGen").path }

    func testTheGeneratedEntryExportsTheTypeNamedLikeTheTarget() throws {
        let out = sandbox.path("gen.swift")
        let r = try sandbox.run(generator, ["plugin", "echo", "Echo", out, "--test-only"])
        XCTAssertEqual(r.status, 0, r.description)
        let text = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(text.contains("@_cdecl(\"fshost_plugin_entry\")"), text)
        XCTAssertTrue(text.contains("PluginEntry(exporting: Echo.self, typeName: \"echo\")"), text)
        XCTAssertTrue(text.contains("@section(\".fshost_plugin\")"), text)
        // A target name that is not a Swift type, a type name that is not valid: refused at build time.
        XCTAssertEqual(try sandbox.run(generator, ["plugin", "echo", "My-Echo", out]).status, 2)
        XCTAssertEqual(try sandbox.run(generator, ["plugin", "Echo!", "Echo", out]).status, 2)
        XCTAssertEqual(try sandbox.run(generator, ["companion", "nodash", "XCall", out, out]).status, 2)
    }

    /// Test-only is decided by the target's path relative to the package
    /// root: a checkout under a directory named Tests hides no real type.
    func testTestOnlyIsDecidedRelativeToThePackageRoot() throws {
        let root = "/home/me/Tests/fshost"
        XCTAssertFalse(PluginRecord.isTestOnly(targetDirectory: root + "/Plugins/WebServer", packageRoot: root))
        XCTAssertTrue(PluginRecord.isTestOnly(targetDirectory: root + "/Tests/Plugins/TestFixture", packageRoot: root))
        XCTAssertTrue(PluginRecord.isTestOnly(targetDirectory: root + "/Tests/Plugins/TestFixture/", packageRoot: root + "/"))
        XCTAssertFalse(PluginRecord.isTestOnly(targetDirectory: root + "/Plugins/Tests/X", packageRoot: root),
                       "only the package's own Tests/")
        XCTAssertFalse(PluginRecord.isTestOnly(targetDirectory: "/other/Tests/X", packageRoot: root), "outside the root")
        XCTAssertFalse(PluginRecord.isTestOnly(targetDirectory: root + "/TestsX/Y", packageRoot: root))
        // The generator, as the build-tool plugin calls it.
        let out = sandbox.path("gen.swift")
        func generated(_ extra: [String]) throws -> String {
            XCTAssertEqual(try sandbox.run(generator, ["plugin", "echo", "Echo", out] + extra).status, 0)
            return try String(contentsOfFile: out, encoding: .utf8)
        }
        let real = try generated([]), testOnly = try generated(["--test-only"])
        XCTAssertNotEqual(real, testOnly)
        XCTAssertEqual(try generated(["--target-directory", root + "/Plugins/Echo", "--package-root", root]), real)
        XCTAssertEqual(try generated(["--target-directory", root + "/Tests/Plugins/Echo", "--package-root", root]), testOnly)
    }

    func testTheCallSignatureFollowsTheCallsDeclaration() throws {
        let source = sandbox.path("XCall.swift"), out = sandbox.path("out.swift")
        try "public enum XCall { }\n".write(toFile: source, atomically: true, encoding: .utf8)
        func signature(_ mode: [String]) throws -> String {
            XCTAssertEqual(try sandbox.run(generator, mode).status, 0)
            let text = try String(contentsOfFile: out, encoding: .utf8)
            let range = try XCTUnwrap(text.range(of: #"XCall@[0-9a-f]{16}"#, options: .regularExpression), text)
            return String(text[range])
        }
        let declared = try signature(["call", "XCall", out, source])
        let companion = try signature(["companion", "t-x", "XCall", out, source])
        XCTAssertEqual(declared, companion, "plugin side and companion record agree")
        try "public enum XCall { case changed }\n".write(toFile: source, atomically: true, encoding: .utf8)
        XCTAssertNotEqual(try signature(["call", "XCall", out, source]), declared)
    }
}
