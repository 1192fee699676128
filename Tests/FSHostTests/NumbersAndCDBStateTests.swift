import CDB
import Foundation
import TestSupport
import XCTest
@testable import FSHost

/// Numbers mean one thing and are bounded on the action path too, and a CDB
/// that was never set up is not "resource not defined" (issue 7, items 6
/// and 9). The values here are written straight into the CDB, bypassing
/// the admin tool's checks: what an old fshost or a hand edit leaves.
final class NumbersAndCDBStateTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
    }

    override func tearDown() {
        sandbox = nil
    }

    /// Stores `attributes` as they are, unchecked.
    func store(_ resource: String, _ attributes: [String: String]) throws {
        try sandbox.store("testfixture", resource, ["port": "80"].merging(attributes) { $1 })
    }

    func testAnOutOfRangeValueInTheCDBIsStatusTwoAtActionTimeNotACrash() throws {
        let cases: [([String: String], String)] = [
            (["monitor_timeout": "9223372036854775807ms"], "attribute 'monitor_timeout' is out of range: '9223372036854775807ms' (allowed: from 1ms to 24h)"),
            (["retries": "4294967295", "retry_interval": "100ms"], "attribute 'retries' is out of range: '4294967295' (allowed: from 0 to 100)"),
            (["retry_interval": "0ms"], "attribute 'retry_interval' is out of range: '0ms' (allowed: from 100ms to 24h)"),
            (["monitor_level": "-1"], "attribute 'monitor_level' must be one of the type's monitoring levels 1, 2: '-1'"),
        ]
        for (index, (attributes, message)) in cases.enumerated() {
            try store("r\(index)", attributes)
            let key = attributes.keys.first { $0 != "retry_interval" || attributes.count == 1 }!
            for action in ["monitor", "start", "stop", "exclusive"] {
                let r = try sandbox.fshost("testfixture", action, "r\(index)", "--json")
                let uses = action == "monitor" || action == "start" || (action == "exclusive" && key == "monitor_level")
                if uses {
                    XCTAssertEqual(r.status, 2, "\(attributes) \(action): \(r)")
                    XCTAssertTrue(r.stderr.contains(message), "\(action): \(r.stderr)")
                    XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)")
                    XCTAssertTrue(r.stdout.contains("\"code\":2"), r.stdout)
                } else {
                    // A setting this action does not read never keeps it from running
                    // (an operator can still stop the resource): said, and left out.
                    XCTAssertNotEqual(r.status, 2, "\(attributes) \(action): \(r)")
                    XCTAssertTrue(r.stderr.contains("ignoring attribute '\(key)'"), "\(action): \(r.stderr)")
                }
            }
        }
    }

    func testTimeoutOptionCountsSecondsLikeExec2() throws {
        // A bare number is seconds everywhere: `--timeout 30` is 30 s (it was
        // 30 ms); the parsing itself: CommandLineTests/ActionRequestParsingTests.
        // A fixture monitor that hangs 1.5 s: --timeout 1 (second) times out,
        // --timeout 3 (seconds) does not.
        try store("slow", ["hang": "1500ms"])
        XCTAssertEqual(try sandbox.fshost("testfixture", "monitor", "slow", "--timeout", "1").status, 8)
        XCTAssertEqual(try sandbox.fshost("testfixture", "monitor", "slow", "--timeout", "3").status, 0)
        let refused: [(String, String)] = [
            ("25h", "--timeout is out of range: '25h' (allowed: from 1ms to 24h)"),
            ("0", "--timeout is out of range: '0' (allowed: from 1ms to 24h)"),
            ("9223372036854775807ms", "--timeout is out of range: '9223372036854775807ms' (allowed: from 1ms to 24h)"),
            ("99999999999999999999999", "--timeout is out of range"),
            ("1.5ms", "--timeout is finer than a millisecond: '1.5ms'"),
            ("-5", "--timeout is not a duration (250ms, 5s, 2m, 1h; a bare number is seconds): '-5'"),
        ]
        for (text, message) in refused {
            let r = try sandbox.fshost("testfixture", "monitor", "slow", "--timeout", text)
            XCTAssertEqual(r.status, 2, "\(text): \(r)")
            XCTAssertTrue(r.stderr.contains(message), "\(text): \(r.stderr)")
        }
    }

    func testABareNumberStoredByHandReadsAsSeconds() throws {
        // No fshost ever stored one (every write canonicalises to "<n>ms");
        // one written with sqlite3 reads as seconds, the grammar's meaning.
        try store("legacy", ["monitor_timeout": "2", "hang": "1500ms"])
        XCTAssertEqual(try sandbox.fshost("testfixture", "monitor", "legacy").status, 0, "2 s > 1.5 s hang")
        try store("legacy2", ["monitor_timeout": "1", "hang": "1500ms"])
        XCTAssertEqual(try sandbox.fshost("testfixture", "monitor", "legacy2").status, 8, "1 s < 1.5 s hang")
    }

    func testAnEmptyOrSchemaLessCDBIsNotInitialisedNotAMissingResource() throws {
        // 0 bytes.
        XCTAssertTrue(FileManager.default.createFile(atPath: sandbox.cdb, contents: Data(),
                                                    attributes: [.posixPermissions: 0o600]))
        var r = try sandbox.fshost("testfixture", "monitor", "r")
        XCTAssertEqual(r.status, 6, r.description)
        XCTAssertTrue(r.stderr.contains("configuration database \(sandbox.cdb) is not initialised"), r.stderr)
        XCTAssertTrue(r.stderr.contains("fshost cdb define") && r.stderr.contains("fshost cdb import"), r.stderr)
        XCTAssertFalse(r.stderr.contains("is not defined"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)

        // An SQLite database with no schema at all.
        try FileManager.default.removeItem(atPath: sandbox.cdb)
        let sqlite = try sandbox.run("/usr/bin/sqlite3", [sandbox.cdb, "PRAGMA page_size=4096; CREATE TABLE t(x); DROP TABLE t;"])
        XCTAssertEqual(sqlite.status, 0, sqlite.description)
        chmod(sandbox.cdb, 0o600)
        XCTAssertGreaterThan((try FileManager.default.attributesOfItem(atPath: sandbox.cdb)[.size] as? Int) ?? 0, 0)
        r = try sandbox.fshost("testfixture", "monitor", "r")
        XCTAssertEqual(r.status, 6, r.description)
        XCTAssertTrue(r.stderr.contains("is not initialised"), r.stderr)
        // The admin tool says the same.
        r = try sandbox.fshost("cdb", "get", "testfixture", "r", "port")
        XCTAssertEqual(r.status, 6, r.description)
        XCTAssertTrue(r.stderr.contains("is not initialised"), r.stderr)

        // Once initialised, an unknown resource is what it is.
        try store("other", [:])
        r = try sandbox.fshost("testfixture", "monitor", "r")
        XCTAssertEqual(r.status, 6, r.description)
        XCTAssertTrue(r.stderr.contains("is not defined"), r.stderr)
    }
}
