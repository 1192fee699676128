import HAVocabulary
import TestSupport
import XCTest
@testable import CDB
@testable import Management

/// One duration grammar (a bare number is seconds), and the bounds of the
/// host's settings: refused with status 2 wherever a value comes in, and
/// never arithmetic that overflows (issue 7, item 6).
final class DurationAndBoundsTests: CDBTestCase {
    func testTheGrammar() {
        let good: [(String, Int64)] = [
            ("5", 5000), ("30", 30_000), ("0", 0), ("0.5", 500), ("1.25", 1250), ("250ms", 250), ("5s", 5000),
            ("1.5s", 1500), ("2m", 120_000), ("0.5m", 30_000), ("1h", 3_600_000), ("24h", 86_400_000),
            ("86400", 86_400_000), ("007s", 7000), ("1.000", 1000),
        ]
        for (text, ms) in good {
            XCTAssertEqual(DurationText.milliseconds(text), .success(ms), text)
        }
        for text in ["", "s", "ms", "-5", "+5", "5 s", " 5", "1e3", "1.2.3", "5sms", "5d", "5S", "1.", ".5", "0x10", "٣"] {
            XCTAssertEqual(DurationText.milliseconds(text), .failure(.malformed), text)
        }
        for text in ["1.5ms", "0.0001", "0.00001s", "1.0000001m"] {
            XCTAssertEqual(DurationText.milliseconds(text), .failure(.finerThanMilliseconds), text)
        }
        // Too large, however large: no overflow, no trap.
        for text in ["25h", "86401", "9223372036854775807ms", "9223372036854775807", "99999999999999999999999h",
                     "9223372036854775807.9h", "1441m"] {
            XCTAssertEqual(DurationText.milliseconds(text), .failure(.tooLarge), text)
        }
        XCTAssertEqual(DurationText.readable(86_400_000), "24h")
        XCTAssertEqual(DurationText.readable(100), "100ms")
        XCTAssertEqual(DurationText.readable(1500), "1500ms")
        XCTAssertEqual(DurationText.readable(5000), "5s")
        // The kind's canonical form always carries its unit.
        XCTAssertEqual(try AttributeKind.duration.canonicalize("30").get(), "30000ms")
        XCTAssertEqual(try AttributeKind.duration.canonicalize("30000ms").get(), "30000ms")
        XCTAssertEqual(AttributeKind.milliseconds("30"), 30_000)
        XCTAssertNil(AttributeKind.milliseconds("25h"))
    }

    /// Digits and a unit are read over the bytes (the common case, on every
    /// action's path); each edge answers as the general grammar does.
    func testTheCommonCaseAnswersAsTheGrammarAtItsEdges() {
        let good: [(String, Int64)] = [
            ("0ms", 0), ("5000ms", 5000), ("000000000012ms", 12), ("0000000000012ms", 12), ("86400000ms", 86_400_000),
            ("1440m", 86_400_000), ("0h", 0), ("12", 12_000),
        ]
        for (text, ms) in good { XCTAssertEqual(DurationText.milliseconds(text), .success(ms), text) }
        for text in ["5mh", "5hs", "5ss", "5mss", "5msm", "m5", "5m5", "5 ms", "5ms "] {
            XCTAssertEqual(DurationText.milliseconds(text), .failure(.malformed), text)
        }
        for text in ["86400001ms", "999999999999h", "1441m"] {
            XCTAssertEqual(DurationText.milliseconds(text), .failure(.tooLarge), text)
        }
    }

    func testHostSettingsAreBoundedWithMessagesNamingTheRange() {
        let cases: [(String, String, String)] = [
            ("monitor_timeout", "9223372036854775807ms", "is out of range: '9223372036854775807ms' (allowed: from 1ms to 24h)"),
            ("monitor_timeout", "0", "is out of range: '0' (allowed: from 1ms to 24h)"),
            ("start_timeout", "25h", "is out of range: '25h' (allowed: from 1ms to 24h)"),
            ("retries", "4294967295", "is out of range: '4294967295' (allowed: from 0 to 100)"),
            ("retries", "-1", "is out of range: '-1' (allowed: from 0 to 100)"),
            ("retries", "99999999999999999999", "is not an integer: '99999999999999999999'"),
            ("retry_interval", "0ms", "is out of range: '0ms' (allowed: from 100ms to 24h)"),
            ("retry_interval", "99ms", "is out of range: '99ms' (allowed: from 100ms to 24h)"),
            ("retry_interval", "soon", "is not a duration (250ms, 5s, 2m, 1h; a bare number is seconds): 'soon'"),
            ("monitor_level", "-1", "is out of range: '-1' (allowed: from 0 to 4294967295)"),
            ("monitor_level", "4294967296", "is out of range: '4294967296' (allowed: from 0 to 4294967295)"),
            ("hang", "25h", "is out of range: '25h' (allowed: at most 24h)"),
        ]
        for (key, value, problem) in cases {
            // As stored (what the action path reads) and as given (define).
            XCTAssertEqual(fixtureSchema.resolve(["port": "1", key: value]),
                           .failure(.wrongType(key: key, problem: problem)), "\(key)=\(value)")
            XCTAssertEqual(fixtureSchema.canonicalize([key: value]),
                           .failure(.wrongType(key: key, problem: problem)), "\(key)=\(value)")
        }
        let edges = ["retries": "100", "retry_interval": "100ms", "monitor_timeout": "24h", "stop_timeout": "1ms",
                     "monitor_level": "4294967295"]
        XCTAssertEqual(fixtureSchema.canonicalize(edges),
                       .success(["retries": "100", "retry_interval": "100ms", "monitor_timeout": "86400000ms",
                                 "stop_timeout": "1ms", "monitor_level": "4294967295"]))
    }

    func testDefineModifyAndImportRefuseOutOfRangeValuesAndWriteNothing() throws {
        let editor = try editor()
        try editor.define(type: "testfixture", resource: "a", attributes: ["port": "1"])
        let before = try editor.database.snapshot()
        XCTAssertEqual(adminError { try editor.define(type: "testfixture", resource: "b",
                                                       attributes: ["port": "1", "monitor_timeout": "9223372036854775807ms"]) },
                       .invalid(type: "testfixture", resource: "b", .wrongType(key: "monitor_timeout",
                           problem: "is out of range: '9223372036854775807ms' (allowed: from 1ms to 24h)")))
        XCTAssertEqual(adminError { try editor.modify(type: "testfixture", resource: "a", set: ["retries": "4294967295"], unset: []) }?
                        .exitStatus, 2)
        XCTAssertEqual(adminError { try editor.modifyType(type: "testfixture", set: ["retry_interval": "0ms"], unset: []) }?
                        .exitStatus, 2)
        let file: [String: ConfigValue] = ["testfixture": .table(["c": .table(["port": .integer(1), "retries": .integer(101)])])]
        XCTAssertEqual(adminError { try editor.importConfiguration(file, replaceAll: false) },
                       .invalid(type: "testfixture", resource: "c",
                                .wrongType(key: "retries", problem: "is out of range: '101' (allowed: from 0 to 100)")))
        XCTAssertEqual(try editor.database.snapshot(), before)
    }

    func testATOMLIntegerDurationIsRefusedNotReinterpreted() {
        // Earlier versions read `hang = 250` as 250 ms; the grammar now reads
        // a bare number as seconds. Refused, so no file changes meaning.
        XCTAssertThrowsError(try TOMLMapping.text(of: .integer(250), key: "hang", schema: fixtureSchema)) { error in
            XCTAssertEqual(error as? SchemaViolation, .wrongType(key: "hang", problem:
                "must be a string with its unit, like \"250ms\" or \"250s\", not a TOML integer "
                + "(a bare number once meant milliseconds and now means seconds)"))
        }
        XCTAssertEqual(try TOMLMapping.text(of: .string("30"), key: "hang", schema: fixtureSchema), "30000ms")
    }
}
