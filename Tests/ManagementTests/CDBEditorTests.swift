import Foundation
import TestSupport
import XCTest
@testable import CDB
@testable import Management

final class CDBEditorTests: CDBTestCase {
    func testDefineStoresCanonicalValuesAfterValidation() throws {
        let editor = try editor()
        try editor.define(type: "testfixture", resource: "alpha", attributes: [
            "port": "08080", "enabled": "yes", "hang": "2s", "command": #"[ "/bin/echo" , "a b" ]"#,
        ])
        XCTAssertEqual(try editor.database.resourceAttributes(type: "testfixture", resource: "alpha"), [
            "port": "8080", "enabled": "true", "hang": "2000ms", "command": #"["/bin/echo","a b"]"#,
        ], "canonical text, no defaults stored")
    }

    func testDefineRefusesBadInputAndWritesNothing() throws {
        let editor = try editor()
        let cases: [([String: String], SchemaViolation)] = [
            (["port": "1", "colour": "red"], .unknownKey("colour")),
            (["port": "eighty"], .wrongType(key: "port", problem: "is not a port (1-65535): 'eighty'")),
            (["port": "70000"], .wrongType(key: "port", problem: "is not a port (1-65535): '70000'")),
            (["port": "1", "enabled": "maybe"], .wrongType(key: "enabled", problem: "is not a boolean (true/false): 'maybe'")),
            (["port": "1", "command": "echo hi"],
             .wrongType(key: "command", problem: "is not a command as a JSON array of strings: 'echo hi'")),
            (["label": "x"], .missingRequired("port")),
        ]
        for (attributes, violation) in cases {
            let error = adminError { try editor.define(type: "testfixture", resource: "a", attributes: attributes) }
            XCTAssertEqual(error, .invalid(type: "testfixture", resource: "a", violation))
            XCTAssertEqual(error?.exitStatus, 2)
        }
        XCTAssertEqual(try editor.database.resources(type: nil).count, 0)
        XCTAssertEqual(AdminError.invalid(type: "testfixture", resource: "a", .unknownKey("colour")).description,
                       "resource 'a' of type 'testfixture': unknown attribute 'colour'")
    }

    func testDefineOfExistingResourceAndUnknownType() throws {
        let editor = try editor()
        try editor.define(type: "testfixture", resource: "a", attributes: ["port": "1"])
        let exists = adminError { try editor.define(type: "testfixture", resource: "a", attributes: ["port": "2"]) }
        XCTAssertEqual(exists, .database(.resourceExists(type: "testfixture", name: "a")))
        XCTAssertEqual(exists?.exitStatus, 2)
        XCTAssertEqual(try editor.database.resourceAttributes(type: "testfixture", resource: "a"), ["port": "1"])

        let unknown = adminError { try editor.define(type: "nosuch", resource: "a", attributes: [:]) }
        XCTAssertEqual(unknown, .schemaUnavailable(type: "nosuch", status: 5, message: "unknown resource type 'nosuch': no plugin"))
        XCTAssertEqual(unknown?.exitStatus, 5)

        let badName = adminError { try editor.define(type: "testfixture", resource: "../etc", attributes: [:]) }
        XCTAssertEqual(badName, .database(.invalidName(what: "resource", name: "../etc")))
        XCTAssertEqual(badName?.exitStatus, 2)
    }

    func testRequiredAttributeMayComeFromTheTypeLevel() throws {
        let editor = try editor()
        try editor.modifyType(type: "testfixture", set: ["port": "9000"], unset: [])
        try editor.define(type: "testfixture", resource: "a", attributes: [:])
        XCTAssertEqual(try editor.value(type: "testfixture", resource: "a", key: "port"), "9000")
        // Removing the type-level port would leave `a` without one: refused.
        let error = adminError { try editor.modifyType(type: "testfixture", set: [:], unset: ["port"]) }
        XCTAssertEqual(error, .invalid(type: "testfixture", resource: "a", .missingRequired("port")))
        XCTAssertEqual(try editor.database.typeAttributes(type: "testfixture"), ["port": "9000"], "rolled back")
        // Type-level values are typed too.
        XCTAssertEqual(adminError { try editor.modifyType(type: "testfixture", set: ["hang": "soon"], unset: []) },
                       .invalid(type: "testfixture", resource: nil,
                                .wrongType(key: "hang", problem: "is not a duration (250ms, 5s, 2m, 1h; a bare number is seconds): 'soon'")))
    }

    func testModifyValidatesTheMergedResult() throws {
        let editor = try editor()
        try editor.define(type: "testfixture", resource: "a", attributes: ["port": "1", "label": "x"])
        try editor.modify(type: "testfixture", resource: "a", set: ["fail_probes": "3", "hang": "1m"], unset: ["label"])
        XCTAssertEqual(try editor.database.resourceAttributes(type: "testfixture", resource: "a"),
                       ["port": "1", "fail_probes": "3", "hang": "60000ms"])

        XCTAssertEqual(adminError { try editor.modify(type: "testfixture", resource: "a", set: [:], unset: ["port"]) },
                       .invalid(type: "testfixture", resource: "a", .missingRequired("port")))
        XCTAssertEqual(adminError { try editor.modify(type: "testfixture", resource: "a", set: ["nope": "1"], unset: []) },
                       .invalid(type: "testfixture", resource: "a", .unknownKey("nope")))
        XCTAssertEqual(adminError { try editor.modify(type: "testfixture", resource: "a", set: ["port": "2"], unset: ["port"]) },
                       .usage("attribute 'port' is both set and unset"))
        let missing = adminError { try editor.modify(type: "testfixture", resource: "zz", set: ["port": "2"], unset: []) }
        XCTAssertEqual(missing, .database(.resourceNotFound(type: "testfixture", name: "zz")))
        XCTAssertEqual(missing?.exitStatus, 6)
        XCTAssertEqual(try editor.database.resourceAttributes(type: "testfixture", resource: "a"),
                       ["port": "1", "fail_probes": "3", "hang": "60000ms"], "unchanged by the failures")
    }

    func testModifyCanRemoveAStaleAttribute() throws {
        let editor = try editor()
        // Written when the plugin still had `old` (directly, past validation).
        try editor.database.define(type: "testfixture", resource: "a", attributes: ["port": "1", "old": "x"])
        XCTAssertEqual(adminError { try editor.modify(type: "testfixture", resource: "a", set: ["label": "y"], unset: []) },
                       .invalid(type: "testfixture", resource: "a", .unknownKey("old")))
        try editor.modify(type: "testfixture", resource: "a", set: ["label": "y"], unset: ["old"])
        XCTAssertEqual(try editor.database.resourceAttributes(type: "testfixture", resource: "a"), ["port": "1", "label": "y"])
    }

    func testDeleteNeedsNoPlugin() throws {
        let editor = try editor()
        try editor.database.define(type: "uninstalled", resource: "a", attributes: ["x": "1"])
        try editor.delete(type: "uninstalled", resource: "a")
        XCTAssertEqual(try editor.database.resources(type: nil).count, 0)
        XCTAssertEqual(adminError { try editor.delete(type: "uninstalled", resource: "a") },
                       .database(.resourceNotFound(type: "uninstalled", name: "a")))
    }

    func testGetAppliesTypeLevelAndDefaults() throws {
        let editor = try editor()
        try editor.define(type: "testfixture", resource: "a", attributes: ["port": "1", "command": #"["a","b \"c\""]"#])
        try editor.modifyType(type: "testfixture", set: ["label": "typed"], unset: [])
        XCTAssertEqual(try editor.value(type: "testfixture", resource: "a", key: "port"), "1")
        XCTAssertEqual(try editor.value(type: "testfixture", resource: "a", key: "command"), #"["a","b \"c\""]"#)
        XCTAssertEqual(try editor.value(type: "testfixture", resource: "a", key: "label"), "typed")
        XCTAssertEqual(try editor.value(type: "testfixture", resource: "a", key: "enabled"), "true")
        XCTAssertEqual(try editor.value(type: "testfixture", resource: "a", key: "hang"), "0ms")

        let unset = adminError { try editor.value(type: "testfixture", resource: "a", key: "marker") }
        XCTAssertEqual(unset, .notSet(type: "testfixture", resource: "a", key: "marker"))
        XCTAssertEqual(unset?.exitStatus, 6)
        let unknown = adminError { try editor.value(type: "testfixture", resource: "a", key: "colour") }
        XCTAssertEqual(unknown, .invalid(type: "testfixture", resource: "a", .unknownKey("colour")))
        XCTAssertEqual(unknown?.exitStatus, 2)
        XCTAssertEqual(adminError { try editor.value(type: "testfixture", resource: "zz", key: "port") }?.exitStatus, 6)
    }

    func testGetUsesHostDefaultsWhenTheSchemaHasThem() throws {
        let schema = AttributeSchema(pluginSpecs: fixtureSchema.specs.filter { spec in
            !HostSetting.specs.contains { $0.name == spec.name }
        }, hostDefaults: ["monitor_timeout": "5000ms", "retries": "0"])
        let editor = CDBEditor(database: try writer()) { _ in schema }
        try editor.define(type: "testfixture", resource: "a", attributes: ["port": "1"])
        XCTAssertEqual(try editor.value(type: "testfixture", resource: "a", key: "monitor_timeout"), "5000ms")
        XCTAssertEqual(try editor.value(type: "testfixture", resource: "a", key: "retries"), "0")
        XCTAssertEqual(adminError { try editor.value(type: "testfixture", resource: "a", key: "stop_timeout") },
                       .notSet(type: "testfixture", resource: "a", key: "stop_timeout"))
        XCTAssertEqual(schema.specs.count, fixtureSchema.specs.count)
    }

    func testShowReports() throws {
        let editor = try editor()
        try editor.define(type: "testfixture", resource: "beta", attributes: ["port": "2"])
        try editor.define(type: "testfixture", resource: "alpha", attributes: ["port": "1", "command": #"["/bin/echo","hi"]"#])
        try editor.modifyType(type: "testfixture", set: ["retries": "3"], unset: [])
        try editor.define(type: "other", resource: "o", attributes: [:])
        XCTAssertEqual(CDBReport.listing(try editor.database.snapshot()), """
            other
              resource o: (no attributes of its own)
            testfixture
              type-level:
                retries = 3
              resource alpha:
                command = ["/bin/echo","hi"]
                port    = 1
              resource beta:
                port = 2

            """)
        let attributes = try editor.effectiveAttributes(type: "testfixture", resource: "alpha", schema: fixtureSchema)
        XCTAssertEqual(CDBReport.resource(type: "testfixture", name: "alpha", attributes: attributes), """
            resource alpha of type testfixture
              command     = ["/bin/echo","hi"]
              enabled     = true                (default)
              fail_probes = 0                   (default)
              hang        = 0ms                 (default)
              label       = fixture             (default)
              port        = 1
              retries     = 3                   (type-level)

            """)
        let withoutSchema = try editor.effectiveAttributes(type: "testfixture", resource: "beta", schema: nil)
        XCTAssertEqual(withoutSchema.map(\.key), ["port", "retries"])
        XCTAssertEqual(adminError { try editor.effectiveAttributes(type: "testfixture", resource: "zz", schema: nil) },
                       .database(.resourceNotFound(type: "testfixture", name: "zz")))
    }
}
