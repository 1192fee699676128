import FSHost
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
}
