@testable import fshost
import XCTest

/// The name fshost is called by selects the installed FailSafe and OCF
/// forms (issue 13); any other name is the ordinary command line.
final class AgentLinkTests: XCTestCase {
    func testInstalledNamesSelectTheirMode() {
        XCTAssertEqual(AgentLink.words(["/usr/lib/failsafe/resource_types/webserver/start", "/in", "/out", "/p"]),
                       ["webserver", "start", "/in", "/out", "/p"])
        XCTAssertEqual(AgentLink.words(["/usr/lib/ocf/resource.d/fshost/webserver", "monitor"]),
                       ["ocf", "webserver", "monitor"])
        XCTAssertEqual(AgentLink.words(["/usr/lib/ocf/resource.d/other-provider/template", "meta-data"]),
                       ["ocf", "template", "meta-data"])
    }

    func testOtherNamesAreTheOrdinaryCommandLine() {
        for name in ["fshost", "/usr/bin/fshost", "/usr/lib/fshost/resource_types/template.so",
                     "/x/resource_types/template/frobnicate", "/x/resource_types/Bad Type/start", "/x/resource.d/p/Bad"] {
            XCTAssertEqual(AgentLink.words([name, "template", "monitor", "r1"]), ["template", "monitor", "r1"], name)
        }
        XCTAssertEqual(AgentLink.words([]), [])
    }

    /// `./start` run from the type's directory reads as the full path.
    func testRelativeNameIsReadFromTheWorkingDirectory() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("agentlink-\(getpid())/resource_types/template")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory.deletingLastPathComponent().deletingLastPathComponent()) }
        let saved = FileManager.default.currentDirectoryPath
        XCTAssertTrue(FileManager.default.changeCurrentDirectoryPath(directory.path))
        defer { FileManager.default.changeCurrentDirectoryPath(saved) }
        XCTAssertEqual(AgentLink.words(["./start", "in", "out"]), ["template", "start", "in", "out"])
    }
}
