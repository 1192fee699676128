import FSHost
import HAVocabulary
import XCTest
@testable import fshost

/// The action's command line (`fshost <type> <action> <resource> [--level N]
/// [--timeout DURATION] [--json]`), parsed in-process.
final class ActionRequestParsingTests: XCTestCase {
    func testTimeoutOptionCountsSecondsLikeExec2() throws {
        // A bare number is seconds everywhere: `--timeout 30` is 30 s (it was 30 ms).
        XCTAssertEqual(try ActionRequest.parse(["t", "monitor", "r", "--timeout", "30"]).timeoutMilliseconds, 30_000)
        XCTAssertEqual(try ActionRequest.parse(["t", "monitor", "r", "--timeout", "0.5"]).timeoutMilliseconds, 500)
        XCTAssertEqual(try ActionRequest.parse(["t", "monitor", "r", "--timeout", "250ms"]).timeoutMilliseconds, 250)
        XCTAssertEqual(try ActionRequest.parse(["t", "monitor", "r", "--timeout", "24h"]).timeoutMilliseconds, 86_400_000)
        XCTAssertEqual(exec2ParseDuration("30"), 30_000)
    }

    /// `--retries N` (what `fshost verify` passes as 0): the bound of the
    /// resource's `retries`; its value is no positional word, so the line
    /// stays one action, not a batch.
    func testRetriesOptionIsBoundedAndNoBatch() throws {
        XCTAssertEqual(try ActionRequest.parse(["t", "monitor", "r", "--retries", "0"]).retries, 0)
        XCTAssertEqual(try ActionRequest.parse(["t", "monitor", "r", "--retries", "100"]).retries, 100)
        XCTAssertNil(try ActionRequest.parse(["t", "monitor", "r"]).retries)
        for bad in ["101", "-1", "x", "1.5"] {
            XCTAssertThrowsError(try ActionRequest.parse(["t", "monitor", "r", "--retries", bad])) { error in
                XCTAssertEqual((error as? HostError)?.status, 2)
                XCTAssertTrue((error as? HostError)?.message.contains("--retries takes a number from 0 to 100") == true, "\(error)")
            }
        }
        XCTAssertFalse(BatchRequest.isBatch(["t", "monitor", "r", "--retries", "0"]))
        XCTAssertTrue(commandLineErrorJSON(["t", "monitor", "--retries", "9"], HostError(.invalidArguments, "x"))
            .contains(#""resource":null"#), "the option's value is no resource")
    }
}
