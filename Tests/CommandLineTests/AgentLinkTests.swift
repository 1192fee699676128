import Foundation
@testable import fshost
import HAVocabulary
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
        // Ends in /fshost but is an agent link (of a type named fshost): the
        // common call's shortcut (a byte search, no generic text search) must not take it.
        XCTAssertEqual(AgentLink.words(["/usr/lib/ocf/resource.d/p/fshost", "monitor"]), ["ocf", "fshost", "monitor"])
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

    /// IN alone (IRIX FailSafe's optional OUT): batch mode without an output file.
    func testDirectoryFormWithInputOnly() {
        XCTAssertEqual(AgentLink.words(["/usr/lib/failsafe/resource_types/template/monitor", "/in"]),
                       ["template", "monitor", "--infile", "/in", "--no-outfile"])
        XCTAssertTrue(BatchRequest.isBatch(["template", "monitor", "--infile", "/in", "--no-outfile"]))
        XCTAssertNil(try BatchRequest.parse(["template", "monitor", "--infile", "/in", "--no-outfile"], environment: nil).outfile)
    }

    /// The directory form given a fourth argument (`IN OUT P extra`) is a
    /// batch call with too many arguments (status 2), not a resource named IN.
    func testDirectoryFormWithTooManyArguments() {
        let words = AgentLink.words(["/usr/lib/failsafe/resource_types/template/monitor", "/in", "/out", "/p", "extra"])
        XCTAssertTrue(BatchRequest.isBatch(words))
        XCTAssertThrowsError(try BatchRequest.parse(words, environment: nil)) { error in
            let error = error as! HostError
            XCTAssertEqual(error.status, 2)
            XCTAssertTrue(error.message.hasPrefix("too many batch arguments"), error.message)
        }
    }

    /// A bare argv[0] (run through PATH) is looked up in PATH.
    func testBareNameIsLookedUpInPath() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("agentlink-path-\(getpid())")
        let directory = root.appendingPathComponent("resource_types/template")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: root) }
        let script = directory.appendingPathComponent("start").path
        XCTAssertTrue(FileManager.default.createFile(atPath: script, contents: Data(), attributes: [.posixPermissions: 0o755]))
        let saved = String(cString: getenv("PATH"))
        defer { setenv("PATH", saved, 1) }
        setenv("PATH", "/nonexistent:" + directory.path + ":" + saved, 1)
        XCTAssertEqual(AgentLink.words(["start", "in", "out"]), ["template", "start", "in", "out"])
        XCTAssertEqual(AgentLink.words(["fshost", "template", "monitor", "r1"]), ["template", "monitor", "r1"])
        setenv("PATH", saved, 1)
        XCTAssertEqual(AgentLink.words(["start", "in", "out"]), ["in", "out"], "not found: the ordinary command line")
    }
}
