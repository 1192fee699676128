// Processes.isStopped: the host's process_state service (ProcScan's
// /proc/PID/stat reader) through the SDK, on a real process.
import ProcScan
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#endif
@testable import FSKit

final class ProcessStoppedTests: XCTestCase {
    func testAStoppedProcessIsToldFromARunningOneAndAGoneOne() throws {
        guard let child = ChildProcess(["/bin/sleep", "30"]) else { throw SetupFailure("cannot start sleep") }
        let resource = ProcessHost.resource(timeLeft: .seconds(10))
        guard let start = processStartTime(pid: child.pid) else { throw SetupFailure("no start time for \(child.pid)") }
        let id = ProcessIdentity(pid: child.pid, startTime: start)
        XCTAssertEqual(resource.processes.isStopped(id), false)
        kill(child.pid, SIGSTOP)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 2000) { resource.processes.isStopped(id) == true }, "SIGSTOP: state T")
        kill(child.pid, SIGCONT)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 2000) { resource.processes.isStopped(id) == false }, "SIGCONT")
        // Another start time: not that process.
        XCTAssertNil(resource.processes.isStopped(ProcessIdentity(pid: child.pid, startTime: start + 1)))
        child.stop()
        XCTAssertNil(resource.processes.isStopped(id), "gone")
    }
}
