@testable import Spawn
import TestSupport
import XCTest

/// ProcessTree: the descendants of a process, read from /proc.
final class ProcessTreeTests: XCTestCase {
    /// A command name with `) ` in it cannot shift the fields after it.
    func testStatLineWithAParenthesisInTheCommandName() throws {
        let directory = ProcessFixtures.makeTemporaryDirectory()
        defer { ProcessFixtures.removeTree(directory) }
        let sleep = try XCTUnwrap(ProcessFixtures.which("sleep"))
        let odd = directory + "/x) S 1 (y"
        XCTAssertTrue(ProcessFixtures.copyExecutable(from: sleep, to: odd))
        let child = try XCTUnwrap(ChildProcess([odd, "30"]))
        defer { child.stop() }
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 2000) {
            ProcessFixtures.readFile("/proc/\(child.pid)/comm")?.hasPrefix("x) S 1 (y") == true
        })
        let entry = try XCTUnwrap(ProcessTree.readEntry(child.pid))
        XCTAssertEqual(entry.parent, getpid())
        XCTAssertNotEqual(entry.state, UInt8(ascii: "Z"))
    }

    /// Children and grandchildren, parents first; not the process itself.
    func testDescendantsIncludeGrandchildren() throws {
        let marker = ProcessFixtures.uniqueMarker("tree")
        let child = try XCTUnwrap(ChildProcess(["sh", "-c", "sleep 30 & wait # \(marker)"]))
        defer { child.stop() }
        var grandchild: Int32?
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 2000) {
            grandchild = ProcessTree.readTable().first { $0.parent == child.pid }?.pid
            return grandchild != nil
        })
        let found = ProcessTree.descendants(of: getpid())
        XCTAssertTrue(found.contains(child.pid))
        XCTAssertTrue(found.contains(try XCTUnwrap(grandchild)))
        XCTAssertLessThan(try XCTUnwrap(found.firstIndex(of: child.pid)), try XCTUnwrap(found.firstIndex(of: grandchild!)))
        XCTAssertFalse(found.contains(getpid()))
    }
}
