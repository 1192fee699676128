import FSPluginABI
import HAVocabulary
import XCTest

/// The shared vocabulary against the C ABI it names (the numbers a plugin
/// built from `fshost_plugin.h` uses), and the OCF mapping.
final class VocabularyTests: XCTestCase {
    func testExitStatusesAreTheABIsCodes() {
        let abi: [(ExitStatus, Int32)] = [
            (.success, Int32(FSHOST_HA_SUCCESS)), (.notRunning, Int32(FSHOST_HA_NOT_RUNNING)),
            (.invalidArguments, Int32(FSHOST_HA_INVAL_ARGS)), (.commandFailed, Int32(FSHOST_HA_CMD_FAILED)),
            (.running, Int32(FSHOST_HA_RUNNING)), (.notSupported, Int32(FSHOST_HA_NOTSUPPORTED)),
            (.noConfigInfo, Int32(FSHOST_HA_NOCFGINFO)), (.pluginRefused, Int32(FSHOST_HA_REFUSED)),
            (.timedOut, Int32(FSHOST_HA_TIMEOUT)), (.hostError, Int32(FSHOST_HA_HOST_ERROR)),
        ]
        XCTAssertEqual(abi.count, ExitStatus.allCases.count)
        for (status, code) in abi { XCTAssertEqual(status.rawValue, code, status.name) }
    }

    func testActionsAreInABIOrder() {
        let abi: [(ActionName, UInt32)] = [
            (.exclusive, UInt32(FSHOST_ACTION_EXCLUSIVE)), (.start, UInt32(FSHOST_ACTION_START)),
            (.stop, UInt32(FSHOST_ACTION_STOP)), (.monitor, UInt32(FSHOST_ACTION_MONITOR)),
            (.restart, UInt32(FSHOST_ACTION_RESTART)), (.validate, UInt32(FSHOST_ACTION_VALIDATE)),
        ]
        XCTAssertEqual(ActionName.allCases.count, Int(FSHOST_ACTION_COUNT))
        for (action, index) in abi { XCTAssertEqual(action.abiIndex, Int(index), action.rawValue) }
        XCTAssertEqual(ActionName.allCases.map(\.abiIndex), Array(0..<ActionName.allCases.count))
    }

    func testAttributeKindsAreTheABIsKinds() {
        let abi: [(AttributeKind, UInt32)] = [
            (.string, UInt32(FSHOST_ATTR_STRING)), (.integer, UInt32(FSHOST_ATTR_INTEGER)),
            (.boolean, UInt32(FSHOST_ATTR_BOOLEAN)), (.duration, UInt32(FSHOST_ATTR_DURATION)),
            (.port, UInt32(FSHOST_ATTR_PORT)), (.path, UInt32(FSHOST_ATTR_PATH)), (.argv, UInt32(FSHOST_ATTR_ARGV)),
            (.ipAddress, UInt32(FSHOST_ATTR_IP_ADDRESS)), (.user, UInt32(FSHOST_ATTR_USER)),
        ]
        XCTAssertEqual(abi.count, AttributeKind.allCases.count)
        for (kind, code) in abi { XCTAssertEqual(kind.rawValue, code, kind.name) }
    }

    /// The OCF Resource Agent API's return codes, one per status.
    func testOCFCodes() {
        let expected: [ExitStatus: Int32] = [
            .success: 0, .notRunning: 7, .invalidArguments: 2, .commandFailed: 1, .running: 0,
            .notSupported: 3, .noConfigInfo: 6, .pluginRefused: 5, .timedOut: 1, .hostError: 1,
        ]
        for status in ExitStatus.allCases { XCTAssertEqual(status.ocfCode, expected[status], status.name) }
    }

    /// A plugin answers with the first seven; anything else is a failure.
    func testPluginStatus() {
        XCTAssertEqual(ExitStatus(pluginStatus: 6), .noConfigInfo)
        XCTAssertEqual(ExitStatus(pluginStatus: 8), .commandFailed)
        XCTAssertEqual(ExitStatus(pluginStatus: 9), .commandFailed)
        XCTAssertEqual(ExitStatus(pluginStatus: -1), .commandFailed)
    }

    func testNames() {
        XCTAssertTrue(Names.isValidType("webserver"))
        XCTAssertTrue(Names.isValidType("a" + String(repeating: "b", count: 30)))
        XCTAssertFalse(Names.isValidType("a" + String(repeating: "b", count: 31)))
        XCTAssertFalse(Names.isValidType("Web"))
        XCTAssertFalse(Names.isValidType("1web"))
        XCTAssertTrue(Names.isValidResource("web-1.a_b"))
        XCTAssertFalse(Names.isValidResource(".."))
        XCTAssertFalse(Names.isValidResource("a/b"))
        XCTAssertTrue(Names.isValidAttribute("_x.y-z"))
        XCTAssertFalse(Names.isValidAttribute("9x"))
    }

    /// Saturating at the ends; the clocks agree.
    func testDeadlineAndClock() {
        XCTAssertEqual(Deadline(after: .max, from: 1).at, .max)
        XCTAssertEqual(Deadline(after: .min, from: -1).at, .min)
        XCTAssertTrue(Deadline(after: 0).hasPassed)
        XCTAssertFalse(Deadline(after: 60_000).hasPassed)
        let ms = monotonicMilliseconds()
        sleepMilliseconds(20)
        XCTAssertGreaterThanOrEqual(monotonicMicroseconds() / 1000 - ms, 20)
    }
}
