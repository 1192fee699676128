import Foundation
import HAVocabulary
import TestSupport
import XCTest
@testable import CDB
@testable import Management

/// Constraints a plugin declares and the host enforces (one of, range,
/// positive duration, numeric address, user name, secret), and the host
/// settings a type cannot honour: refused with HA_INVAL_ARGS naming the
/// attribute and what is allowed, at define, modify and import, before
/// anything is written.
final class AttributeConstraintTests: CDBTestCase {
    static func spec(_ name: String, _ kind: AttributeKind, _ configure: (inout AttributeSpec) -> Void = { _ in }) -> AttributeSpec {
        var spec = AttributeSpec(name: name, kind: kind)
        configure(&spec)
        return spec
    }

    /// A type with one attribute of every constraint, monitoring levels 1-3.
    static let schema = AttributeSchema(pluginSpecs: [
        spec("client", .string) { $0.allowedValues = ["curl", "builtin"] },
        spec("status_class", .integer) { $0.allowedValues = ["2", "3", "4"] },
        spec("workers", .integer) { $0.minimum = 1; $0.maximum = 64 },
        spec("port", .port) { $0.minimum = 1024 },
        spec("timeout", .duration) { $0.minimum = 1; $0.maximum = 60_000 },
        spec("address", .ipAddress),
        spec("user", .user),
        spec("query", .string) { $0.minimum = 1 },
        spec("os_user", .user) { $0.minimum = 1 },
        spec("password", .string) { $0.isSecret = true; $0.allowedValues = ["a-long-enough-one"] },
        spec("error_pattern", .string) { $0.isRegex = true },
    ], hostDefaults: [HostSetting.monitorLevel: "1"], levels: [1, 2, 3])

    func check(_ key: String, _ value: String) -> Result<String, AttributeValueError> {
        AttributeConstraints.check(value, against: Self.schema.spec(key)!)
    }

    func problem(_ key: String, _ value: String, file: StaticString = #filePath, line: UInt = #line) -> String? {
        switch Self.schema.resolve([key: value]) {
        case .success: XCTFail("\(key)=\(value) was accepted", file: file, line: line); return nil
        case .failure(let violation): return violation.description
        }
    }

    // MARK: Each constraint, with the attribute and what is allowed named

    func testOneOfNamesTheAllowedValues() {
        XCTAssertEqual(try check("client", "builtin").get(), "builtin")
        XCTAssertEqual(problem("client", "wget"), "attribute 'client' must be one of curl, builtin: 'wget'")
        XCTAssertEqual(try check("status_class", "03").get(), "3", "compared in canonical form")
        XCTAssertEqual(problem("status_class", "5"), "attribute 'status_class' must be one of 2, 3, 4: '5'")
    }

    func testRangesOfIntegersPortsAndDurations() {
        XCTAssertEqual(try check("workers", "64").get(), "64")
        XCTAssertEqual(problem("workers", "0"), "attribute 'workers' is out of range: '0' (allowed: from 1 to 64)")
        XCTAssertEqual(problem("workers", "65"), "attribute 'workers' is out of range: '65' (allowed: from 1 to 64)")
        XCTAssertEqual(problem("port", "80"), "attribute 'port' is out of range: '80' (allowed: at least 1024)")
        XCTAssertEqual(problem("port", "70000"), "attribute 'port' is not a port (1-65535): '70000'", "the kind first")
        XCTAssertEqual(try check("timeout", "1m").get(), "60000ms")
        XCTAssertEqual(problem("timeout", "0s"), "attribute 'timeout' is out of range: '0s' (allowed: from 1ms to 1m)", "positive")
        XCTAssertEqual(problem("timeout", "2m"), "attribute 'timeout' is out of range: '2m' (allowed: from 1ms to 1m)")
    }

    /// A string's range bounds its length without white space at either
    /// end (minimum 1: not empty or blank); a user's range its uid where
    /// the value says it (root, a number), no lookup of other names.
    func testStringLengthsAndUserUids() {
        XCTAssertEqual(try check("query", " SELECT 1 ").get(), " SELECT 1 ")
        XCTAssertEqual(problem("query", ""), "attribute 'query' is empty: '' (allowed: at least 1 byte (white space at either end left out))")
        XCTAssertEqual(problem("query", " \t "), "attribute 'query' is empty: ' \t ' (allowed: at least 1 byte (white space at either end left out))")
        XCTAssertEqual(try check("os_user", "postgres").get(), "postgres")
        XCTAssertEqual(try check("os_user", "nosuchuser-anywhere").get(), "nosuchuser-anywhere", "existence is the action's")
        XCTAssertEqual(problem("os_user", "root"), "attribute 'os_user' is uid 0: 'root' (allowed: at least uid 1)")
        XCTAssertEqual(problem("os_user", "0"), "attribute 'os_user' is uid 0: '0' (allowed: at least uid 1)")
    }

    func testNumericAddressesOnlyInCanonicalForm() {
        XCTAssertEqual(try check("address", "127.0.0.1").get(), "127.0.0.1")
        XCTAssertEqual(try check("address", "0:0::1").get(), "::1", "inet_ntop's text")
        XCTAssertEqual(try check("address", "FE80::1%1").get(), "fe80::1%1")
        XCTAssertEqual(try check("address", "::ffff:10.0.0.1").get(), "::ffff:10.0.0.1")
        for bad in ["localhost", "example.com", "10.0.0", "10.0.0.1:80", "[::1]", "1.2.3.4%1", "::1%", "::1%nosuchif0", ""] {
            XCTAssertEqual(problem("address", bad),
                           "attribute 'address' is not a numeric IPv4 or IPv6 address (no host names): '\(bad)'", bad)
        }
    }

    func testUserNamesArePOSIXPortable() {
        for good in ["root", "www-data", "postgres", "_apt", "a.b", "u1"] {
            XCTAssertEqual(try check("user", good).get(), good)
        }
        for bad in ["-root", "", "rööt", "a b", "a/b", "a:b", String(repeating: "x", count: 33)] {
            XCTAssertEqual(problem("user", bad),
                           "attribute 'user' is not a user name (1-32 of A-Z a-z 0-9 . _ -, not starting with '-'): '\(bad)'", bad)
        }
    }

    func testASecretIsNeverInTheMessage() {
        let message = problem("password", "hunter2")
        XCTAssertEqual(message, "attribute 'password' must be one of a-long-enough-one")
        XCTAssertFalse(message?.contains("hunter2") ?? true)
    }

    // MARK: Host settings the type cannot honour

    /// FSHOST_ATTR_FLAG_REGEX: what regcomp refuses, saying from which
    /// byte, and a back-reference (exponential matching in glibc).
    func testARegexMustCompileAndHaveNoBackReference() {
        XCTAssertEqual(try check("error_pattern", "ERROR|FATAL [0-9]+").get(), "ERROR|FATAL [0-9]+")
        XCTAssertNoThrow(try check("error_pattern", "[\\1]x").get(), "\\1 inside brackets is a member")
        let bad = problem("error_pattern", "ok(ERROR")
        XCTAssertTrue(bad?.contains("error_pattern") == true && bad?.contains("Unmatched ( or \\(") == true
                      && bad?.contains("at byte 2") == true, bad ?? "")
        let backReference = problem("error_pattern", "(a|aa)*\\1x")
        XCTAssertTrue(backReference?.contains("back-reference") == true, backReference ?? "")
        XCTAssertNotNil(problem("error_pattern", ""), "empty: matches every line")
        XCTAssertEqual(AttributeConstraints.summary(Self.schema.spec("error_pattern")!),
                       "a POSIX extended regular expression, no back-references")
    }

    func testMonitorLevelMustBeOneOfTheTypesLevels() {
        XCTAssertEqual(try Self.schema.resolve(["monitor_level": "3"]).get()["monitor_level"], "3")
        XCTAssertEqual(problem("monitor_level", "7"),
                       "attribute 'monitor_level' must be one of the type's monitoring levels 1, 2, 3: '7'")
        XCTAssertEqual(problem("retries", "-1"), "attribute 'retries' is out of range: '-1' (allowed: from 0 to 100)")
    }

    /// The schema's verdict on several values at once: the first unknown
    /// key (in key order), else the first wrong value (in key order), else
    /// the first missing required one; resolved values canonical, defaults
    /// filled in (each key now looked up once: issue 10).
    func testSeveralValuesAreJudgedInKeyOrder() {
        XCTAssertEqual(Self.schema.resolve(["workers": "0", "zz": "1", "aa": "1", "client": "wget"]), .failure(.unknownKey("aa")))
        guard case .failure(let wrong) = Self.schema.resolve(["workers": "0", "client": "wget"]) else {
            return XCTFail("two wrong values accepted")
        }
        XCTAssertEqual(wrong.description, "attribute 'client' must be one of curl, builtin: 'wget'")
        let resolved = try? Self.schema.resolve(["timeout": "2s", "workers": "08"]).get()
        XCTAssertEqual(resolved?["timeout"], "2000ms")
        XCTAssertEqual(resolved?["workers"], "8")
        XCTAssertEqual(resolved?["monitor_level"], "1", "the default filled in")
        let required = AttributeSchema(pluginSpecs: [AttributeSpec(name: "b", kind: .path, required: true),
                                                     AttributeSpec(name: "a", kind: .path, required: true)])
        XCTAssertEqual(required.resolve(["b": "relative"]), .failure(.wrongType(key: "b", problem: "is not an absolute path: 'relative'")))
        XCTAssertEqual(required.resolve(["b": "/x"]), .failure(.missingRequired("a")))
    }

    // MARK: Every write path refuses, writes nothing, status 2

    func constrainedEditor() throws -> CDBEditor {
        CDBEditor(database: try writer()) { type in
            guard type == "constrained" else { throw SchemaUnavailable(status: 5, message: "no plugin") }
            return Self.schema
        }
    }

    func testDefineModifyModifyTypeAndImportRefuseAViolation() throws {
        let editor = try constrainedEditor()
        let define = adminError { try editor.define(type: "constrained", resource: "a", attributes: ["monitor_level": "7"]) }
        XCTAssertEqual(define?.exitStatus, 2)
        XCTAssertEqual(define?.description,
                       "resource 'a' of type 'constrained': attribute 'monitor_level' must be one of the type's monitoring levels 1, 2, 3: '7'")
        XCTAssertEqual(try editor.database.resources(type: nil).count, 0, "nothing written")

        try editor.define(type: "constrained", resource: "a", attributes: ["client": "curl"])
        let modify = adminError { try editor.modify(type: "constrained", resource: "a", set: ["client": "wget"], unset: []) }
        XCTAssertEqual(modify?.exitStatus, 2)
        XCTAssertTrue(modify?.description.contains("must be one of curl, builtin") ?? false, modify?.description ?? "")
        let typeLevel = adminError { try editor.modifyType(type: "constrained", set: ["workers": "100"], unset: []) }
        XCTAssertEqual(typeLevel?.exitStatus, 2)
        XCTAssertEqual(try editor.database.resourceAttributes(type: "constrained", resource: "a"), ["client": "curl"])

        let root: [String: ConfigValue] = ["constrained": .table([
            "b": .table(["address": .string("db.example.com")]),
        ])]
        let imported = adminError { try editor.importConfiguration(root, replaceAll: false, source: "x.toml") }
        XCTAssertEqual(imported?.exitStatus, 2)
        XCTAssertEqual(imported?.description, "x.toml: resource 'b' of type 'constrained': attribute 'address' is not a numeric IPv4 or IPv6 address (no host names): 'db.example.com'; nothing imported")
        XCTAssertEqual(try editor.database.resources(type: nil).map(\.name), ["a"])
    }

    // MARK: Secrets in show and export

    func testExportLeavesSecretsOutUnlessAskedFor() throws {
        let editor = try constrainedEditor()
        try editor.define(type: "constrained", resource: "a", attributes: ["password": "a-long-enough-one", "client": "curl"])
        let (text, warnings) = try editor.export(type: nil)
        XCTAssertFalse(text.contains("a-long-enough-one"), text)
        XCTAssertTrue(text.contains("client = \"curl\""), text)
        XCTAssertEqual(warnings, ["secret values left out: constrained.a.password (importing this file keeps the stored values; "
            + "use --include-secrets for a full backup)"])
        let (full, none) = try editor.export(type: nil, includeSecrets: true)
        XCTAssertTrue(full.contains("password = \"a-long-enough-one\""), full)
        XCTAssertEqual(none, [])
        XCTAssertEqual(try editor.value(type: "constrained", resource: "a", key: "password"), "a-long-enough-one",
                       "cdb get of the one key is asking for it")
    }

    /// Export then import was not exact: the secrets the export left out
    /// were erased. The editor keeps them, resource and type-level, and the
    /// plan and summary name them; `replaceSecrets` removes them, named too.
    func testImportKeepsStoredSecretsTheFileLeavesOutUnlessReplaceSecrets() throws {
        let editor = try constrainedEditor()
        try editor.define(type: "constrained", resource: "a", attributes: ["password": "a-long-enough-one", "client": "curl"])
        try editor.modifyType(type: "constrained", set: ["password": "a-long-enough-one"], unset: [])
        let before = try editor.database.snapshot()
        let root: [String: ConfigValue] = ["constrained": .table([
            "workers": .integer(2),
            "a": .table(["client": .string("curl")]),
        ])]
        let plan = try editor.planImport(root, replaceAll: true)
        XCTAssertEqual(plan.keptSecrets, ["constrained.password", "constrained.a.password"])
        XCTAssertEqual(plan.unchanged, [ImportPlan.Name(type: "constrained", name: "a")])
        XCTAssertTrue(plan.report().contains("keep secret constrained.a.password (not in the file: the stored value stays)\n"))
        let summary = try editor.importConfiguration(root, replaceAll: true)
        XCTAssertEqual(summary.keptSecrets, ["constrained.password", "constrained.a.password"])
        XCTAssertEqual(try editor.value(type: "constrained", resource: "a", key: "password"), "a-long-enough-one")
        XCTAssertEqual(try editor.database.typeAttributes(type: "constrained")["password"], "a-long-enough-one")
        XCTAssertEqual(try editor.database.snapshot().first?.resources, before.first?.resources)

        let replacing = try editor.planImport(root, replaceAll: false, replaceSecrets: true)
        XCTAssertEqual(replacing.removedSecrets, ["constrained.password", "constrained.a.password"])
        XCTAssertEqual(try editor.importConfiguration(root, replaceAll: false, replaceSecrets: true).removedSecrets,
                       ["constrained.password", "constrained.a.password"])
        XCTAssertNil(try editor.database.resourceAttributes(type: "constrained", resource: "a")?["password"])
        XCTAssertNil(try editor.database.typeAttributes(type: "constrained")["password"])
    }

    func testShowMasksSecrets() throws {
        let editor = try constrainedEditor()
        try editor.define(type: "constrained", resource: "a", attributes: ["password": "a-long-enough-one"])
        let snapshot = try editor.database.snapshot(type: nil)
        let shown = CDBReport.listing(SecretValues.masking(snapshot) { editor.isSecret(type: $0, key: $1) })
        XCTAssertFalse(shown.contains("a-long-enough-one"), shown)
        XCTAssertTrue(shown.contains("password = (secret)"), shown)
    }
}
