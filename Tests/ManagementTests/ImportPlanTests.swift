import TestSupport
import XCTest
@testable import CDB
@testable import Management

/// What an import would do, worked out before writing (`--dry-run`), and
/// the empty `--replace-all` that would wipe the CDB (issue 7, item 4).
final class ImportPlanTests: CDBTestCase {
    func seed() throws -> CDBEditor {
        let editor = try editor()
        try editor.define(type: "testfixture", resource: "same", attributes: ["port": "1"])
        try editor.define(type: "testfixture", resource: "edited", attributes: ["port": "2"])
        try editor.define(type: "testfixture", resource: "dropped", attributes: ["port": "3"])
        try editor.modifyType(type: "testfixture", set: ["retries": "2"], unset: [])
        return editor
    }

    let file: [String: ConfigValue] = ["testfixture": .table([
        "retries": .integer(3),
        "same": .table(["port": .integer(1)]),
        "edited": .table(["port": .integer(20)]),
        "new": .table(["port": .integer(4)]),
    ])]

    func testDryRunListsAddedChangedRemovedAndWritesNothing() throws {
        let editor = try seed()
        let before = fingerprint(path)
        let beforeSnapshot = try editor.database.snapshot()
        let plan = try editor.planImport(file, replaceAll: true)
        let name = { ImportPlan.Name(type: "testfixture", name: $0) }
        XCTAssertEqual(plan.added, [name("new")])
        XCTAssertEqual(plan.changed, [name("edited")])
        XCTAssertEqual(plan.unchanged, [name("same")])
        XCTAssertEqual(plan.removed, [name("dropped")])
        XCTAssertEqual(plan.typeLevelChanged, ["testfixture"])
        XCTAssertEqual(plan.report(), """
            add testfixture/new
            change testfixture/edited
            remove testfixture/dropped
            change type-level testfixture
            1 to add, 1 to change, 1 to remove, 1 unchanged; nothing written (dry run)

            """)
        // Without --replace-all nothing is removed.
        XCTAssertEqual(try editor.planImport(file, replaceAll: false).removed, [])
        XCTAssertEqual(try editor.database.snapshot(), beforeSnapshot)
        XCTAssertEqual(fingerprint(path)?.bytes, before?.bytes)

        // A read-only CDB is enough, and the same checks refuse the same files.
        let readOnly = CDBEditor(database: try reader(), schemaFor: fixtureSchemas)
        XCTAssertEqual(try readOnly.planImport(file, replaceAll: true), plan)
        let bad: [String: ConfigValue] = ["testfixture": .table(["x": .table(["label": .string("no port")])])]
        XCTAssertEqual(adminError { try readOnly.planImport(bad, replaceAll: false, source: "f.toml") },
                       .importFailed(file: "f.toml", .invalid(type: "testfixture", resource: "x", .missingRequired("port"))))

        // The real import does what the plan said.
        let summary = try editor.importConfiguration(file, replaceAll: true) { seen throws(AdminError) in
            XCTAssertEqual(seen, plan)
        }
        XCTAssertEqual(summary, ImportSummary(defined: 1, replaced: 2, removed: 1, typesWithOverrides: 1))
        XCTAssertEqual(try editor.database.resources(type: nil).map(\.name), ["edited", "new", "same"])
    }

    func testARefusalBeforeWritingWritesNothing() throws {
        let editor = try seed()
        let before = try editor.database.snapshot()
        XCTAssertEqual(adminError {
            try editor.importConfiguration(file, replaceAll: true) { (_: ImportPlan) throws(AdminError) in
                throw .resourceRuns("testfixture/dropped runs")
            }
        }, .resourceRuns("testfixture/dropped runs"))
        XCTAssertEqual(try editor.database.snapshot(), before)
    }

    func testReplaceAllOfAFileWithoutResourcesIsRefusedUnlessAllowed() throws {
        let editor = try seed()
        let before = try editor.database.snapshot()
        for empty in [[:], ["testfixture": .table(["retries": .integer(1)])]] as [[String: ConfigValue]] {
            let error = adminError { try editor.importConfiguration(empty, replaceAll: true, source: "backup.toml") }
            XCTAssertEqual(error?.exitStatus, 2)
            XCTAssertEqual(error?.description, "backup.toml: the file defines no resources, and --replace-all would remove "
                + "all 3 resources of the CDB (an empty or truncated backup looks like this); give --allow-empty to "
                + "empty it on purpose; nothing imported")
            XCTAssertEqual(adminError { try editor.planImport(empty, replaceAll: true) }?.exitStatus, 2, "dry run too")
            XCTAssertEqual(try editor.database.snapshot(), before)
        }
        // Without --replace-all an empty file changes nothing and is fine.
        XCTAssertEqual(try editor.importConfiguration([:], replaceAll: false),
                       ImportSummary(defined: 0, replaced: 0, removed: 0, typesWithOverrides: 0))
        // Told explicitly: emptied.
        XCTAssertEqual(try editor.importConfiguration([:], replaceAll: true, allowEmpty: true).removed, 3)
        XCTAssertEqual(try editor.database.snapshot(), [])
        // An empty CDB replaced by an empty file removes nothing: no refusal.
        XCTAssertEqual(try editor.importConfiguration([:], replaceAll: true).removed, 0)
    }

    /// The resources an import would change in a way that matters while
    /// they run (issue 7, item 4): own or type-level plugin attributes, not
    /// host settings, and not a type-level key the resource overrides.
    func testThePlanListsResourcesWhosePluginAttributesChange() throws {
        let editor = try seed()
        try editor.define(type: "testfixture", resource: "own", attributes: ["port": "5", "label": "mine"])
        let name = { ImportPlan.Name(type: "testfixture", name: $0) }
        // Host settings only (type-level retries): nothing to ask.
        XCTAssertEqual(try editor.planImport(["testfixture": .table(["retries": .integer(9)])], replaceAll: false)
            .changedWhileRunningMatters, [:])
        // "edited" changes its port; "dropped" is removed (asked as a
        // removal); a new resource does not run.
        XCTAssertEqual(try editor.planImport(file, replaceAll: true).changedWhileRunningMatters, [name("edited"): ["port"]])
        // A type-level label reaches every kept resource but the one with its own.
        let plan = try editor.planImport(["testfixture": .table(["label": .string("t")])], replaceAll: false)
        XCTAssertEqual(plan.changedWhileRunningMatters,
                       [name("same"): ["label"], name("edited"): ["label"], name("dropped"): ["label"]])
    }
}
