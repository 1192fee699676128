import CDB
import Foundation
import TestSupport
import XCTest

/// What a reviewer found calling the batch as srmd and as another local
/// user would (issue 13's review): OUT's directory and IN held to PathTrust's
/// rule, one field per name, one bad input costing one line, stale
/// temporary files of killed batches removed.
extension BatchModeTests {
    static let otherUser: uid_t = 4242

    func directory(_ name: String, mode: mode_t, owner: uid_t = 0) throws -> String {
        let path = sandbox.path(name)
        guard mkdir(path, 0o700) == 0, chmod(path, mode) == 0, chown(path, owner, 0) == 0 else {
            throw SetupFailure("cannot make \(path): \(String(cString: strerror(errno)))")
        }
        return path
    }

    /// OUT in a group-writable directory or one of another user: 9 and
    /// nothing run (that user could swap the temporary file: a false
    /// status). OUT itself is mode 0600.
    func testOutputDirectoryOfAnotherUserOrGroupWritableIsRefused() throws {
        try sandbox.store("testfixture", "m", ["port": "80", "marker": sandbox.path("marker")])
        let input = try write("in", "m\n")
        let group = try directory("group", mode: 0o775)
        let theirs = try directory("theirs", mode: 0o755, owner: Self.otherUser)
        for (dir, problem) in [(group, "is writable by its group"), (theirs, "is owned by uid 4242")] {
            let r = try sandbox.fshost("testfixture", "start", input, dir + "/out")
            XCTAssertEqual(r.status, 9, r.description)
            XCTAssertTrue(r.stderr.contains("unsafe output file \(dir)/out: directory \(dir) \(problem)"), r.stderr)
            XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), [])
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.path("marker")), "nothing may run")
        let out = sandbox.path("out")
        XCTAssertEqual(try sandbox.fshost("testfixture", "start", input, out).status, 0)
        var st = stat()
        XCTAssertEqual(stat(out, &st), 0)
        XCTAssertEqual(st.st_mode & 0o7777, 0o600)
    }

    /// IN a link to a file only root may read (`IN -> /etc/shadow`): refused
    /// (9), nothing of it in OUT or on stderr. IN owned by another user or
    /// writable by others: refused the same way.
    func testInputFileThroughALinkOrOfAnotherUserIsRefused() throws {
        let secret = try write("shadow", "root:$6$SECRETHASH:19000:0:99999:7:::\n")
        XCTAssertEqual(chmod(secret, 0o600), 0)
        XCTAssertEqual(symlink(secret, sandbox.path("in-link")), 0)
        let out = sandbox.path("out")
        var r = try sandbox.fshost("template", "monitor", sandbox.path("in-link"), out)
        XCTAssertEqual(r.status, 9, r.description)
        XCTAssertTrue(r.stderr.contains("is a symbolic link"), r.stderr)
        XCTAssertFalse(r.stderr.contains("SECRETHASH"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
        let theirs = try write("in-theirs", "t1\n")
        XCTAssertEqual(chown(theirs, Self.otherUser, 0), 0)
        r = try sandbox.fshost("template", "monitor", theirs, out)
        XCTAssertEqual(r.status, 9, r.description)
        XCTAssertTrue(r.stderr.contains("owned by uid 4242"), r.stderr)
        XCTAssertEqual(chown(theirs, 0, 0), 0)
        XCTAssertEqual(chmod(theirs, 0o666), 0)
        r = try sandbox.fshost("template", "monitor", theirs, out)
        XCTAssertEqual(r.status, 9, r.description)
        XCTAssertTrue(r.stderr.contains("writable by others"), r.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: out))
    }

    /// Every output line is exactly `name status`: an over-long name, one
    /// with control characters or a backslash, is written as one field.
    func testEveryOutputLineHasTwoFields() throws {
        try sandbox.store("template", "ok1", [:])
        let long = String(repeating: "n", count: 200)
        let input = try write("in", "\(long) 1\nab\u{7}c\\d\nok1\né\n")
        let out = sandbox.path("out")
        _ = try sandbox.fshost("template", "monitor", input, out)
        let got = try lines(out)
        XCTAssertEqual(got.count, 4)
        for line in got { XCTAssertEqual(line.split(separator: " ", omittingEmptySubsequences: false).count, 2, line) }
        XCTAssertEqual(got[0], String(repeating: "n", count: 64) + "... 2")
        XCTAssertEqual(got[1], "ab\\x07c\\x5cd 2")
        XCTAssertEqual(got[2], "ok1 0")
        XCTAssertEqual(got[3], "\\xc3\\xa9 2")
    }

    /// One bad input costs one line or a warning: a 10 MB line gets its own
    /// failure line; an unusable parameters file and a bad
    /// FSHOST_BATCH_PARALLEL are warnings, and the batch runs.
    func testOneBadInputDoesNotFailTheBatch() throws {
        for name in ["a", "b"] { try sandbox.store("template", name, [:]) }
        let input = try write("in", "a\n" + String(repeating: "x", count: 10 << 20) + " 1\nb\n")
        let out = sandbox.path("out")
        var r = try sandbox.fshost("template", "monitor", input, out, sandbox.path("missing-params"))
        XCTAssertEqual(try lines(out), ["a 0", String(repeating: "x", count: 64) + "... 2", "b 0"], r.stderr)
        XCTAssertTrue(r.stderr.contains("line 2: line of 10485762 bytes (at most 4096)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("warning: cannot read parameters file"), r.stderr)
        sandbox.extraEnvironment["FSHOST_BATCH_PARALLEL"] = "lots"
        r = try sandbox.fshost("template", "monitor", try write("in2", "a\nb\n"), out)
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertEqual(try lines(out), ["a 0", "b 0"])
        XCTAssertTrue(r.stderr.contains("warning: FSHOST_BATCH_PARALLEL"), r.stderr)
    }

    /// A batch killed by SIGKILL leaves `.out.tmp.<pid>`; the next batch
    /// writing that OUT removes it (its pid is gone), never a live one's.
    func testStaleTemporaryOutputFilesAreRemoved() throws {
        try sandbox.store("template", "a", [:])
        let input = try write("in", "a\n")
        let out = sandbox.path("out")
        var dead: pid_t = 0
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/bin/true")
        try child.run()
        child.waitUntilExit()
        dead = child.processIdentifier
        let stale = sandbox.path(".out.tmp.\(dead)"), live = sandbox.path(".out.tmp.\(getpid())")
        let other = sandbox.path(".other.tmp.\(dead)")
        for path in [stale, live, other] { XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data("x".utf8))) }
        XCTAssertEqual(try sandbox.fshost("template", "monitor", input, out).status, 0)
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "a dead batch's temporary file is left")
        XCTAssertTrue(FileManager.default.fileExists(atPath: live), "a live process's temporary file was removed")
        XCTAssertTrue(FileManager.default.fileExists(atPath: other), "another OUT's file was removed")
    }

    /// 9 hung resources, 8 at a time, --timeout 2s (the caller's): not two
    /// rounds (4 s) but every line answered before 2 s — the 8 running ones
    /// at their capped deadline, the 9th, never started, HA_TIMEDOUT.
    func testBatchEndsWithinTheCallersTimeout() throws {
        let names = (1...9).map { "hang\($0)" }
        for name in names { try sandbox.store("testfixture", name, ["port": "80", "hang": "33333ms"]) }
        let input = try write("in", names.map { $0 + "\n" }.joined())
        let out = sandbox.path("out")
        let r = try sandbox.fshost("testfixture", "monitor", input, out, "--parallel", "8", "--timeout", "2s")
        XCTAssertLessThan(r.milliseconds, 2000, r.description)
        XCTAssertEqual(try lines(out), names.map { $0 + " 8" }, r.stderr)
        XCTAssertTrue(r.stderr.contains("1 resources not started before the batch's deadline answer HA_TIMEDOUT"), r.stderr)
    }
}
