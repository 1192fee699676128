@testable import FSHost
import XCTest

/// The worker's answer on the pipe to the supervisor (WorkerChannel.swift).
final class WorkerChannelTests: XCTestCase {
    func testAnswerRoundTrip() throws {
        let line = "{\"status\":\"HA_NOT_RUNNING\",\"reason\":\"stopped, é\"}\n"
        for sent in [WorkerAnswer(status: 1, json: line), WorkerAnswer(status: 8, json: nil),
                     WorkerAnswer(status: 0, json: "")] {
            XCTAssertEqual(WorkerAnswer.decode(sent.encoded), sent)
        }
    }

    func testIncompleteOrMalformedAnswerIsNoAnswer() {
        let encoded = WorkerAnswer(status: 0, json: "{}\n").encoded
        XCTAssertNil(WorkerAnswer.decode(Array(encoded.dropLast())), "incomplete")
        XCTAssertNil(WorkerAnswer.decode([]))
        XCTAssertNil(WorkerAnswer.decode([3, 0, 0, 0, 1, 2, 3]), "too short for its fields")
        var bad = encoded
        bad[12] = 7   // neither "no JSON" nor "JSON follows"
        XCTAssertNil(WorkerAnswer.decode(bad))
    }
}
