import ArgvText
import Foundation
import TestSupport
import XCTest
@testable import CDB
@testable import Management

/// The TOML-library-independent half of import/export: typing values by
/// schema, validation, all-or-nothing import, and the exact export text.
/// The TOMLKit half (parsing files, syntax errors) is tested through the
/// `fshost-admin` binary in AdminCommandTests.
final class TOMLMappingTests: CDBTestCase {
    /// What TOMLKit gives for a typical file.
    let sample: [String: ConfigValue] = [
        "testfixture": .table([
            "retries": .integer(2),
            "alpha": .table([
                "port": .integer(8080),
                "enabled": .boolean(false),
                "hang": .string("5s"),
                "fail_probes": .integer(3),
                "command": .array([.string("/bin/sh"), .string("-c"), .string(#"echo "hi" \ there"#)]),
                "label": .string("Ünïcode \"quoted\"\n\ttabbed"),
                "marker": .string("/run/x"),
            ]),
            "beta.2": .table(["port": .integer(1), "hang": .string("250ms")]),
            "empty": .table(["port": .integer(9)]),
        ]),
        "other": .table(["o": .table([:])]),
    ]

    let sampleExport = #"""
        [other.o]

        [testfixture]
        retries = 2

        [testfixture.alpha]
        command = ["/bin/sh", "-c", "echo \"hi\" \\ there"]
        enabled = false
        fail_probes = 3
        hang = "5000ms"
        label = "Ünïcode \"quoted\"\n\ttabbed"
        marker = "/run/x"
        port = 8080

        [testfixture."beta.2"]
        hang = "250ms"
        port = 1

        [testfixture.empty]
        port = 9

        """#

    func testImportTypesValuesAndExportRendersThemExactly() throws {
        let editor = try editor()
        let summary = try editor.importConfiguration(sample, replaceAll: false)
        XCTAssertEqual(summary, ImportSummary(defined: 4, replaced: 0, removed: 0, typesWithOverrides: 1))
        XCTAssertEqual(try editor.database.resourceAttributes(type: "testfixture", resource: "alpha"), [
            "port": "8080", "enabled": "false", "hang": "5000ms", "fail_probes": "3",
            "command": #"["/bin/sh","-c","echo \"hi\" \\ there"]"#,
            "label": "Ünïcode \"quoted\"\n\ttabbed", "marker": "/run/x",
        ])
        let (text, warnings) = try editor.export(type: nil)
        XCTAssertEqual(warnings, [])
        XCTAssertEqual(text, sampleExport)
        XCTAssertEqual(try editor.export(type: "other").text, "[other.o]\n")
        XCTAssertEqual(try editor.export(type: "nosuch").text, "")
    }

    /// Export → (what a TOML parser reads back) → import → export: same bytes.
    func testRoundTripAtTheModelLevel() throws {
        let first = try editor()
        _ = try first.importConfiguration(sample, replaceAll: false)
        let exported = try first.export(type: nil).text

        // The typed tree the export describes, as a parser would return it.
        let reparsed = try XCTUnwrap(typedTree(of: first.database.snapshot()))
        let secondPath = directory + "/second.sqlite"
        let second = CDBEditor(database: try ConfigurationDatabase(path: secondPath, mode: .readWrite),
                               schemaFor: fixtureSchemas)
        _ = try second.importConfiguration(reparsed, replaceAll: true)
        XCTAssertEqual(try second.export(type: nil).text, exported)
        XCTAssertEqual(try second.database.snapshot(), try first.database.snapshot())
    }

    func testImportValidatesEveryResourceFirstAndWritesNothingOnError() throws {
        let editor = try editor()
        try editor.define(type: "testfixture", resource: "existing", attributes: ["port": "7", "label": "keep"])
        let before = try editor.database.snapshot()

        func attempt(_ resourceTable: [String: ConfigValue], _ expected: AdminError,
                     file: StaticString = #filePath, line: UInt = #line) {
            var root = sample
            root["testfixture"] = .table([
                "existing": .table(["port": .integer(8)]),   // would replace it
                "aaa": .table(["port": .integer(1)]),
                "zzz": .table(resourceTable),
            ])
            let error = adminError(file: file, line: line) { try editor.importConfiguration(root, replaceAll: false, source: "f.toml") }
            XCTAssertEqual(error, .importFailed(file: "f.toml", expected), file: file, line: line)
            XCTAssertEqual(error?.exitStatus, expected.exitStatus, file: file, line: line)
            XCTAssertEqual(try? editor.database.snapshot(), before, "nothing imported", file: file, line: line)
        }
        attempt(["port": .integer(1), "colour": .string("red")],
                .invalid(type: "testfixture", resource: "zzz", .unknownKey("colour")))
        attempt(["port": .string("8080")],
                .invalid(type: "testfixture", resource: "zzz",
                         .wrongType(key: "port", problem: "must be an integer (port), not a TOML string")))
        attempt(["port": .integer(1), "enabled": .string("true")],
                .invalid(type: "testfixture", resource: "zzz",
                         .wrongType(key: "enabled", problem: "must be true or false (boolean), not a TOML string")))
        attempt(["port": .integer(1), "command": .string("echo hi")],
                .invalid(type: "testfixture", resource: "zzz",
                         .wrongType(key: "command", problem: "must be an array of strings (argv), not a TOML string")))
        attempt(["port": .integer(1), "command": .array([.string("a"), .integer(2)])],
                .invalid(type: "testfixture", resource: "zzz",
                         .wrongType(key: "command", problem: "must be an array of strings (argv), but holds a TOML integer")))
        attempt(["port": .integer(1), "hang": .float(1.5)],
                .invalid(type: "testfixture", resource: "zzz", .wrongType(
                    key: "hang", problem: "must be a string like \"5s\" or \"250ms\" (duration), not a TOML float")))
        attempt(["port": .integer(0)],
                .invalid(type: "testfixture", resource: "zzz", .wrongType(key: "port", problem: "is not a port (1-65535): '0'")))
        attempt(["label": .string("no port")],
                .invalid(type: "testfixture", resource: "zzz", .missingRequired("port")))
        attempt(["port": .integer(1), "nested": .table([:])],
                .invalid(type: "testfixture", resource: "zzz", .unknownKey("nested")))

        // Structure and names.
        func attemptRoot(_ root: [String: ConfigValue], _ expected: AdminError, line: UInt = #line) {
            XCTAssertEqual(adminError(line: line) { try editor.importConfiguration(root, replaceAll: true) }, expected, line: line)
            XCTAssertEqual(try? editor.database.snapshot(), before, line: line)
        }
        attemptRoot(["port": .integer(1)], .invalidInput(
            "top-level key 'port' is not a table (it is a TOML integer): write each resource as a table [TYPE.RESOURCE]"))
        attemptRoot(["Bad": .table([:])], .database(.invalidName(what: "type", name: "Bad")))
        attemptRoot(["testfixture": .table(["a b": .table([:])])], .database(.invalidName(what: "resource", name: "a b")))
        attemptRoot(["nosuch": .table(["a": .table([:])])],
                    .schemaUnavailable(type: "nosuch", status: 5, message: "unknown resource type 'nosuch': no plugin"))
        XCTAssertEqual(AdminError.importFailed(file: "f.toml", .invalid(type: "t", resource: "r", .unknownKey("k"))).description,
                       "f.toml: resource 'r' of type 't': unknown attribute 'k'; nothing imported")
    }

    func testImportReplacesExistingResourcesAndKeepsOthers() throws {
        let editor = try editor()
        try editor.define(type: "testfixture", resource: "a", attributes: ["port": "1", "label": "old"])
        try editor.define(type: "testfixture", resource: "keep", attributes: ["port": "2"])
        try editor.modifyType(type: "testfixture", set: ["retries": "5"], unset: [])
        let summary = try editor.importConfiguration(
            ["testfixture": .table(["a": .table(["port": .integer(3)]), "new": .table(["port": .integer(4)])])],
            replaceAll: false)
        XCTAssertEqual(summary, ImportSummary(defined: 1, replaced: 1, removed: 0, typesWithOverrides: 0))
        XCTAssertEqual(try editor.database.snapshot(), [TypeConfiguration(
            type: "testfixture", typeAttributes: ["retries": "5"],
            resources: ["a": ["port": "3"], "keep": ["port": "2"], "new": ["port": "4"]])])

        // --replace-all: exactly the file.
        let all = try editor.importConfiguration(["other": .table(["o": .table(["note": .string("n")])])], replaceAll: true)
        XCTAssertEqual(all, ImportSummary(defined: 1, replaced: 0, removed: 3, typesWithOverrides: 0))
        XCTAssertEqual(try editor.database.snapshot(), [TypeConfiguration(type: "other", resources: ["o": ["note": "n"]])])
    }

    func testTypeLevelTableInImportReplacesOverridesAndChecksAllResources() throws {
        let editor = try editor()
        try editor.modifyType(type: "testfixture", set: ["port": "80"], unset: [])
        try editor.define(type: "testfixture", resource: "relies", attributes: [:])
        // The file's [testfixture] replaces the overrides: `relies` loses its port.
        let root: [String: ConfigValue] = ["testfixture": .table(["label": .string("x")])]
        XCTAssertEqual(adminError { try editor.importConfiguration(root, replaceAll: false) },
                       .invalid(type: "testfixture", resource: "relies", .missingRequired("port")))
        XCTAssertEqual(try editor.database.typeAttributes(type: "testfixture"), ["port": "80"])
        _ = try editor.importConfiguration(["testfixture": .table(["label": .string("x"), "port": .integer(81)])],
                                           replaceAll: false)
        XCTAssertEqual(try editor.database.typeAttributes(type: "testfixture"), ["label": "x", "port": "81"])
    }

    func testExportOfUnknownTypeOrStaleValuesStaysValidTOML() throws {
        let editor = try editor()
        try editor.database.define(type: "uninstalled", resource: "u", attributes: ["n": "1", "b": "true"])
        try editor.database.define(type: "testfixture", resource: "t", attributes: ["port": "not-a-number", "enabled": "TRUE"])
        let (text, warnings) = try editor.export(type: nil)
        XCTAssertEqual(text, """
            [testfixture.t]
            enabled = "TRUE"
            port = "not-a-number"

            [uninstalled.u]
            b = "true"
            n = "1"

            """)
        XCTAssertEqual(warnings, ["unknown resource type 'uninstalled': no plugin; values of type 'uninstalled' are exported as strings"])
    }

    func testLiteralsAndKeys() {
        XCTAssertEqual(TOMLMapping.quoted("a\u{1}\u{7f}\u{8}\u{c}\r"), #""a\u0001\u007F\b\f\r""#)
        XCTAssertEqual(TOMLMapping.bareOrQuotedKey("web-1_x"), "web-1_x")
        XCTAssertEqual(TOMLMapping.bareOrQuotedKey("web.1"), #""web.1""#)
        XCTAssertEqual(TOMLMapping.literal(#"["a","b\\c","\"q\""]"#, kind: .argv), #"["a", "b\\c", "\"q\""]"#)
        XCTAssertEqual(TOMLMapping.literal("-5", kind: .integer), "-5")
        XCTAssertEqual(TOMLMapping.literal("5000ms", kind: .duration), #""5000ms""#)
        XCTAssertEqual(TOMLMapping.literal("x", kind: nil), #""x""#)
    }

    /// The ConfigValue tree a TOML parser produces from `render(snapshot)`.
    func typedTree(of snapshot: [TypeConfiguration]) -> [String: ConfigValue] {
        func typed(_ key: String, _ text: String) -> ConfigValue {
            switch fixtureSchema.spec(key)?.kind {
            case .integer?, .port?: return .integer(Int64(text)!)
            case .boolean?: return .boolean(text == "true")
            case .argv?: return .array((ArgvText.parse(text) ?? []).map(ConfigValue.string))
            default: return .string(text)
            }
        }
        var root: [String: ConfigValue] = [:]
        for entry in snapshot {
            var table: [String: ConfigValue] = [:]
            for (key, value) in entry.typeAttributes { table[key] = typed(key, value) }
            for (name, attributes) in entry.resources {
                table[name] = .table(attributes.reduce(into: [:]) { $0[$1.key] = typed($1.key, $1.value) })
            }
            root[entry.type] = .table(table)
        }
        return root
    }
}
