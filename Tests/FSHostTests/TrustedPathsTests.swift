import Foundation
@testable import FSHost
import TestSupport
import TrustedPaths
import XCTest

/// PathTrust's walk (the path as given, links included) and what it keeps
/// fshost from doing through a link another user planted in the run or
/// state directory (issue 13's review, finding 1): creating or removing
/// files in a root-owned directory elsewhere.
final class TrustedPathsTests: XCTestCase {
    var sandbox: HostSandbox!
    let other: uid_t = 4242

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        try sandbox.store("template", "t1", [:])
    }
    override func tearDown() { sandbox = nil }

    func makeDirectory(_ name: String, mode: mode_t, owner: uid_t = 0) throws -> String {
        let path = sandbox.path(name)
        guard mkdir(path, 0o700) == 0, chmod(path, mode) == 0, chown(path, owner, 0) == 0 else {
            throw SetupFailure("cannot make \(path): \(String(cString: strerror(errno)))")
        }
        return path
    }

    func link(_ path: String, to target: String, owner: uid_t = 0) throws {
        guard symlink(target, path) == 0, lchown(path, owner, 0) == 0 else {
            throw SetupFailure("cannot link \(path): \(String(cString: strerror(errno)))")
        }
    }

    func violation(_ result: PathTrust.Walk) -> String? {
        if case .failure(let v) = result { return v.description }
        return nil
    }

    // MARK: The rule

    func testWalkJudgesTheLinksOnTheWay() throws {
        let trust = PathTrust(trustedOwners: [0])
        let safe = try makeDirectory("safe", mode: 0o755)
        let open = try makeDirectory("open", mode: 0o1777)
        let theirs = try makeDirectory("theirs", mode: 0o755, owner: other)
        // A root link in a safe directory, to a safe directory: followed.
        try link(sandbox.path("safe/to-safe"), to: "../safe")
        XCTAssertEqual(try trust.walk(safe + "/to-safe").get(), safe)
        // A link owned by another user: refused wherever it points.
        try link(safe + "/theirs-link", to: "/etc", owner: other)
        XCTAssertTrue(violation(trust.walk(safe + "/theirs-link"))?.contains("symbolic link \(safe)/theirs-link is owned by uid 4242") == true)
        // A root link held by a sticky others-writable directory: refused
        // (its holder never counts as holding a trusted entry).
        try link(open + "/root-link", to: "/etc")
        XCTAssertTrue(violation(trust.walk(open + "/root-link"))?.contains("directory \(open) is writable by others") == true)
        // A root link into another user's directory: refused there.
        try link(safe + "/into-theirs", to: theirs)
        XCTAssertTrue(violation(trust.walk(safe + "/into-theirs"))?.contains("\(theirs) is owned by uid 4242") == true)
        // A directory of another user on the way, even below a safe one.
        XCTAssertEqual(mkdir(theirs + "/sub", 0o755), 0)
        XCTAssertNotNil(violation(trust.walk(theirs + "/sub", holdsFiles: false)))
        // The sticky directory itself: fine as an ancestor, never as the holder.
        XCTAssertEqual(mkdir(open + "/mine", 0o755), 0)
        XCTAssertEqual(try trust.walk(open + "/mine").get(), open + "/mine")
        XCTAssertNotNil(violation(trust.walk(open, holdsFiles: true)))
        // A missing component: ENOENT (a caller may create it); a refusal: EPERM.
        XCTAssertNotNil(violation(trust.walk(safe + "/missing/x")))
        XCTAssertEqual(errno, ENOENT)
        XCTAssertNotNil(violation(trust.walk(theirs + "/x")))
        XCTAssertEqual(errno, EPERM)
        // A loop ends.
        try link(safe + "/loop", to: "loop")
        XCTAssertTrue(violation(trust.walk(safe + "/loop"))?.contains("more than 40 links") == true)
    }

    // MARK: Through fshost

    /// Another user who can create `ocf/` in the run directory and plants
    /// `ocf/evil2 -> /victim`: start must not create victim/active nor
    /// victim/locks, stop must not remove victim/active.
    func testOCFInstanceLinkIntoARootDirectoryIsRefused() throws {
        let run = try makeDirectory("run", mode: 0o755)
        let ocf = run + "/ocf"
        XCTAssertEqual(mkdir(ocf, 0o755), 0)
        XCTAssertEqual(chown(ocf, other, 0), 0)
        let victim = try makeDirectory("victim", mode: 0o755)
        try link(ocf + "/evil2", to: victim, owner: other)
        sandbox.extraEnvironment["OCF_RESOURCE_INSTANCE"] = "evil2"
        var r = try sandbox.fshost("ocf", "template", "start")
        XCTAssertNotEqual(r.status, 0, r.description)
        XCTAssertTrue(r.stderr.contains("owned by uid 4242"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: victim), [], "created in the victim directory")
        XCTAssertTrue(FileManager.default.createFile(atPath: victim + "/active", contents: nil))
        r = try sandbox.fshost("ocf", "template", "stop")
        XCTAssertNotEqual(r.status, 0, "stop through an unsafe directory is an error (the mark cannot be read); \(r.description)")
        XCTAssertTrue(FileManager.default.fileExists(atPath: victim + "/active"), "stop removed victim/active")
        // The same link owned by root but in the other user's ocf/: refused too.
        XCTAssertEqual(unlink(ocf + "/evil2"), 0)
        try link(ocf + "/evil2", to: victim)
        XCTAssertNotEqual(try sandbox.fshost("ocf", "template", "start").status, 0)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: victim), ["active"])
    }

    /// A run or state directory others can write, sticky or not, is refused
    /// (by the OCF agent and the plain action): another user could make
    /// `ocf/` or `locks` in it first.
    func testStickyRunOrStateDirectoryIsRefused() throws {
        let sticky = try makeDirectory("sticky", mode: 0o1777)
        for variable in ["FSHOST_RUN_DIR", "FSHOST_STATE_DIR"] {
            let saved = sandbox.extraEnvironment
            defer { sandbox.extraEnvironment = saved }
            sandbox.extraEnvironment[variable] = sticky
            sandbox.extraEnvironment["OCF_RESOURCE_INSTANCE"] = "t1"
            let r = try sandbox.fshost("ocf", "template", "start")
            XCTAssertEqual(r.status, 1, r.description)
            XCTAssertTrue(r.stderr.contains("unsafe \(variable) \(sticky)"), r.stderr)
            XCTAssertTrue(r.stderr.contains("writable by others (mode 1777)"), r.stderr)
        }
        sandbox.extraEnvironment["FSHOST_RUN_DIR"] = sticky
        let r = try sandbox.fshost("template", "start", "t1")
        XCTAssertEqual(r.status, 9, r.description)
        XCTAssertTrue(r.stderr.contains("writable by others (mode 1777)"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: sticky), [], "nothing made in it")
    }

    /// `$RUN/locks` a link of another user's to a root directory: the plain
    /// action refuses it and makes no lock file there. A root link from a
    /// safe place to a safe directory still works.
    func testLocksLinkOfAnotherUserIsRefused() throws {
        let run = try makeDirectory("run", mode: 0o755)
        let victim = try makeDirectory("victim", mode: 0o755)
        try link(run + "/locks", to: victim, owner: other)
        var r = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertEqual(r.status, 9, r.description)
        XCTAssertTrue(r.stderr.contains("symbolic link \(run)/locks is owned by uid 4242"), r.stderr)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: victim), [])
        XCTAssertEqual(unlink(run + "/locks"), 0)
        try link(run + "/locks", to: victim)
        r = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: victim), ["template.t1.lock"])
    }
}
