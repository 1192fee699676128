@testable import FSHost
import XCTest

/// The worker's answer on the pipe to the supervisor (WorkerChannel.swift).
final class WorkerChannelTests: XCTestCase {
    func testAnswerRoundTrip() throws {
        let sent = WorkerAnswer(ActionResult(status: .notRunning, reason: "stopped\ncleanly"), level: 2,
                                timing: "timing: verify 1us")
        let received = try XCTUnwrap(WorkerAnswer.decode(sent.encoded))
        XCTAssertEqual(received, sent)
        XCTAssertEqual(received.result.status, .notRunning)
        XCTAssertEqual(received.result.reason, "stopped\ncleanly")
        XCTAssertNil(received.result.reasonBytes, "a whole reason")
        XCTAssertEqual(received.level, 2)
    }

    func testNoReasonAndNoLevel() throws {
        let received = try XCTUnwrap(WorkerAnswer.decode(
            WorkerAnswer(ActionResult(status: .success, reason: nil), level: nil, timing: nil).encoded))
        XCTAssertNil(received.reason)
        XCTAssertEqual(received.level, -1)
        XCTAssertNil(received.timing)
    }

    /// A 10 MB reason crosses the pipe as its first 2 KiB plus its size,
    /// so the log's cut is counted against the original.
    func testHugeReasonShipsCutWithItsSize() throws {
        let huge = String(repeating: "r", count: 10_000_000)
        let encoded = WorkerAnswer(ActionResult(status: .commandFailed, reason: huge), level: nil, timing: nil).encoded
        XCTAssertLessThan(encoded.count, 4096)
        let result = try XCTUnwrap(WorkerAnswer.decode(encoded)).result
        XCTAssertEqual(result.reason?.utf8.count, WorkerAnswer.reasonShipLimit)
        XCTAssertEqual(result.reasonBytes, 10_000_000)
        XCTAssertEqual(LogText.reason(result.reason!, totalBytes: result.reasonBytes),
                       String(repeating: "r", count: 1024) + "… (\(10_000_000 - 1024) bytes cut)")
    }

    func testIncompleteOrMalformedAnswerIsNoAnswer() {
        let encoded = WorkerAnswer(ActionResult(status: .success, reason: "ok"), level: 1, timing: nil).encoded
        XCTAssertNil(WorkerAnswer.decode(Array(encoded.dropLast())), "incomplete")
        XCTAssertNil(WorkerAnswer.decode([]))
        XCTAssertNil(WorkerAnswer.decode([3, 0, 0, 0, 1, 2, 3]), "too short for its fields")
    }
}
