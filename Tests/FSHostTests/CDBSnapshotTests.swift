import CDB
import Foundation
import TestSupport
import XCTest

/// The action path reads a resource from the CDB's snapshot, without
/// SQLite, while the database is unchanged since the snapshot was written
/// (issue 16); no edit is ever missed, by whatever path it is made, and a
/// bad snapshot costs one warning and the slow path, never a wrong answer.
final class CDBSnapshotTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
    }

    override func tearDown() {
        sandbox = nil
    }

    @discardableResult
    func admin(_ arguments: [String]) throws -> HostSandbox.Result {
        // --force: the fixture's monitor answers from fail_reason, so it may
        // "run" or "cannot tell"; what is tested here is the write alone.
        let r = try sandbox.fshost(arguments + (["define", "show"].contains(arguments[1]) ? [] : ["--force"]))
        XCTAssertEqual(r.status, 0, "\(arguments): \(r)")
        return r
    }

    /// A monitor of testfixture/r: its status, its reason (from
    /// `fail_reason`), and whether it loaded libsqlite3 (the slow path).
    func monitor() throws -> (status: Int32, stderr: String, sqlite: Bool) {
        sandbox.extraEnvironment["LD_DEBUG"] = "files"
        defer { sandbox.extraEnvironment["LD_DEBUG"] = nil }
        let r = try sandbox.fshost("testfixture", "monitor", "r")
        let lines = r.stderr.split(separator: "\n").filter { !$0.contains("file=") && !$0.contains("calling init")
            && !$0.contains("calling fini") && !$0.trimmingCharacters(in: .whitespaces).isEmpty && !$0.hasPrefix("     ") }
        return (r.status, lines.joined(separator: "\n"), r.stderr.contains("libsqlite3"))
    }

    func sqlite(_ sql: String) throws {
        let r = try sandbox.run("/usr/bin/sqlite3", [sandbox.cdb, sql])
        XCTAssertEqual(r.status, 0, "sqlite3 \(sql): \(r)")
    }

    var snapshotFile: String { sandbox.cdb + ".snapshot/testfixture,r" }

    func testEveryWayOfChangingTheCDBIsSeenByTheNextAction() throws {
        try admin(["cdb", "define", "testfixture", "r", "port=80"])
        var m = try monitor()
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertFalse(m.sqlite, "after fshost cdb, the snapshot answers without SQLite: \(m.stderr)")
        // Readers (SQLite as root fchowns the -wal, moving its ctime) leave it valid.
        try admin(["cdb", "show", "testfixture", "r"])
        m = try monitor()
        XCTAssertFalse(m.sqlite, "reads of the CDB do not invalidate the snapshot: \(m.stderr)")

        try admin(["cdb", "modify", "testfixture", "r", "fail_reason=by-modify"])
        m = try monitor()
        XCTAssertTrue(m.status != 0 && m.stderr.contains("by-modify"), m.stderr)
        XCTAssertFalse(m.sqlite)

        try admin(["cdb", "modify", "testfixture", "r", "--unset", "fail_reason"])
        try admin(["cdb", "modify-type", "testfixture", "fail_reason=by-type"])
        m = try monitor()
        XCTAssertTrue(m.status != 0 && m.stderr.contains("by-type"), m.stderr)
        XCTAssertFalse(m.sqlite)

        let toml = sandbox.path("r.toml")
        try "[testfixture.r]\nport = 80\nfail_reason = \"by-import\"\n".write(toFile: toml, atomically: true, encoding: .utf8)
        try admin(["cdb", "import", toml])
        m = try monitor()
        XCTAssertTrue(m.status != 0 && m.stderr.contains("by-import"), m.stderr)
        XCTAssertFalse(m.sqlite)

        // A direct write (not through fshost): the snapshot no longer
        // matches the files, so SQLite answers, with the new value.
        try sqlite("UPDATE attributes SET value = 'by-sqlite3' WHERE key = 'fail_reason'")
        m = try monitor()
        XCTAssertTrue(m.status != 0 && m.stderr.contains("by-sqlite3"), m.stderr)
        XCTAssertTrue(m.sqlite, "a direct write sends the action to SQLite")

        // The same right after an fshost write (within the same clock tick
        // as the recorded times, were it not for the racy margin).
        for round in 0..<3 {
            try admin(["cdb", "modify", "testfixture", "r", "fail_reason=admin-\(round)"])
            try sqlite("UPDATE attributes SET value = 'direct-\(round)' WHERE key = 'fail_reason' AND resource = 'r'")
            m = try monitor()
            XCTAssertTrue(m.stderr.contains("direct-\(round)"), m.stderr)
        }

        // Removing the resource by fshost: not defined, whatever the old file said.
        try admin(["cdb", "modify", "testfixture", "r", "fail_reason=again"])
        XCTAssertTrue(FileManager.default.fileExists(atPath: snapshotFile))
        try admin(["cdb", "delete", "testfixture", "r"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: snapshotFile), "the file of a deleted resource is removed")
        m = try monitor()
        XCTAssertEqual(m.status, 6, m.stderr)
    }

    func testABadSnapshotIsIgnoredWithOneWarningAndTheRightAnswer() throws {
        try admin(["cdb", "define", "testfixture", "r", "port=80", "fail_reason=right"])
        let good = try Data(contentsOf: URL(fileURLWithPath: snapshotFile))
        let text = String(decoding: good, as: UTF8.self)
        let stale = text.replacingOccurrences(of: "right", with: "wrong")
        let cases: [(String, String, () throws -> Void)] = [
            ("corrupt", "is not a CDB snapshot", { try Data("garbage\n".utf8).write(to: URL(fileURLWithPath: self.snapshotFile)) }),
            ("truncated", "truncated", {
                try good.prefix(good.count - 9).write(to: URL(fileURLWithPath: self.snapshotFile)) }),
            ("newer format", "has a newer format (2", {
                try Data(stale.replacingOccurrences(of: "fshost-cdb-snapshot 1", with: "fshost-cdb-snapshot 2").utf8)
                    .write(to: URL(fileURLWithPath: self.snapshotFile)) }),
            ("another owner", "is owned by uid 4242", {
                try Data(stale.utf8).write(to: URL(fileURLWithPath: self.snapshotFile))
                XCTAssertEqual(chown(self.snapshotFile, 4242, 4242), 0) }),
            ("writable by others", "is writable by others", {
                try Data(stale.utf8).write(to: URL(fileURLWithPath: self.snapshotFile))
                XCTAssertEqual(chmod(self.snapshotFile, 0o666), 0) }),
            ("a symbolic link", "is a symbolic link", {
                let elsewhere = self.sandbox.path("elsewhere")
                try Data(stale.utf8).write(to: URL(fileURLWithPath: elsewhere))
                try FileManager.default.removeItem(atPath: self.snapshotFile)
                try FileManager.default.createSymbolicLink(atPath: self.snapshotFile, withDestinationPath: elsewhere) }),
            ("a directory writable by others", "is writable by others", {
                try Data(stale.utf8).write(to: URL(fileURLWithPath: self.snapshotFile))
                XCTAssertEqual(chmod(self.sandbox.cdb + ".snapshot", 0o777), 0) }),
            ("a stamp writable by others", "stamp, which is writable by others", {
                try Data(stale.utf8).write(to: URL(fileURLWithPath: self.snapshotFile))
                XCTAssertEqual(chmod(self.sandbox.cdb + ".snapshot/stamp", 0o666), 0) }),
            // A FIFO is refused, never waited on (opened O_NONBLOCK), and the
            // writer's next refresh replaces it (its check does not block either).
            ("a FIFO", "is not a regular file", {
                try FileManager.default.removeItem(atPath: self.snapshotFile)
                XCTAssertEqual(mkfifo(self.snapshotFile, 0o600), 0) }),
            ("a FIFO stamp", "stamp, which is not a regular file", {
                try Data(stale.utf8).write(to: URL(fileURLWithPath: self.snapshotFile))
                try FileManager.default.removeItem(atPath: self.sandbox.cdb + ".snapshot/stamp")
                XCTAssertEqual(mkfifo(self.sandbox.cdb + ".snapshot/stamp", 0o600), 0) }),
            ("a truncated stamp", "stamp, which is corrupt or truncated", {
                try Data(stale.utf8).write(to: URL(fileURLWithPath: self.snapshotFile))
                let stamp = URL(fileURLWithPath: self.sandbox.cdb + ".snapshot/stamp")
                try Data(contentsOf: stamp).prefix(40).write(to: stamp) }),
        ]
        for (name, warning, damage) in cases {
            // A fresh good snapshot, then the damage.
            try admin(["cdb", "modify", "testfixture", "r", "label=\(name.replacingOccurrences(of: " ", with: "-"))"])
            XCTAssertFalse(try monitor().sqlite, name)
            try damage()
            let m = try monitor()
            XCTAssertNotEqual(m.status, 0, name)
            XCTAssertTrue(m.stderr.contains("right") && !m.stderr.contains("wrong"), "\(name): \(m.stderr)")
            let warnings = m.stderr.split(separator: "\n").filter { $0.contains("ignoring the CDB snapshot") }
            XCTAssertEqual(warnings.count, 1, "\(name): \(m.stderr)")
            XCTAssertTrue(warnings.first?.contains(warning) == true, "\(name): \(m.stderr)")
            XCTAssertTrue(m.sqlite, name)
            _ = chmod(sandbox.cdb + ".snapshot", 0o700)
        }
    }

    func testAStaleSnapshotIsSilentlyPassedOver() throws {
        try admin(["cdb", "define", "testfixture", "r", "port=80", "fail_reason=right"])
        // Well-formed and trusted, but the stamp is for other database files.
        let stamp = sandbox.cdb + ".snapshot/stamp"
        let text = try String(contentsOfFile: stamp, encoding: .utf8)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        lines[1] = "db 1 2 3 4 5 6 7"
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: stamp))
        let own = try String(contentsOfFile: snapshotFile, encoding: .utf8)
        try Data(own.replacingOccurrences(of: "right", with: "wrong").utf8).write(to: URL(fileURLWithPath: snapshotFile))
        let m = try monitor()
        XCTAssertTrue(m.stderr.contains("right") && !m.stderr.contains("wrong"), m.stderr)
        XCTAssertFalse(m.stderr.contains("ignoring"), m.stderr)
        XCTAssertTrue(m.sqlite)
    }

    /// A write that commits nothing (a refused define or modify, an import
    /// refused whole) leaves the database files as they were: the snapshot
    /// stays trusted, and the next action still does not load SQLite.
    func testARefusedWriteKeepsTheSnapshotTrusted() throws {
        try admin(["cdb", "define", "testfixture", "r", "port=80", "fail_reason=kept"])
        XCTAssertFalse(try monitor().sqlite)
        let refused = [["cdb", "define", "testfixture", "r2", "no_such_attribute=1"],
                       ["cdb", "modify", "testfixture", "r", "port=not-a-port"],
                       ["cdb", "define", "testfixture", "r", "port=81"]]
        for arguments in refused {
            let r = try sandbox.fshost(arguments)
            XCTAssertNotEqual(r.status, 0, "\(arguments) was not refused: \(r)")
            let m = try monitor()
            XCTAssertTrue(m.stderr.contains("kept"), m.stderr)
            XCTAssertFalse(m.sqlite, "after the refused \(arguments), the action read SQLite")
        }
        let toml = sandbox.path("bad.toml")
        try Data("[testfixture.r3]\nport = \"eighty\"\n".utf8).write(to: URL(fileURLWithPath: toml))
        XCTAssertNotEqual(try sandbox.fshost("cdb", "import", toml).status, 0)
        XCTAssertFalse(try monitor().sqlite, "after a refused import, the action read SQLite")
    }

    /// Reading the CDB with the `sqlite3` tool (the last connection to
    /// close deletes the empty `-wal`) changes nothing it holds: the
    /// snapshot stays trusted.
    func testAReadWithTheSQLiteToolKeepsTheSnapshotTrusted() throws {
        try admin(["cdb", "define", "testfixture", "r", "port=80", "fail_reason=kept"])
        try sqlite("SELECT count(*) FROM sqlite_master")
        let m = try monitor()
        XCTAssertTrue(m.stderr.contains("kept"), m.stderr)
        XCTAssertFalse(m.sqlite, "after a read by sqlite3, the action read SQLite")
        // A write by the same tool is still seen.
        try sqlite("UPDATE attributes SET value = 'seen' WHERE value = 'kept'")
        let after = try monitor()
        XCTAssertTrue(after.stderr.contains("seen"), after.stderr)
    }

    /// The file of a deleted resource that the writer cannot remove (here
    /// immutable, `chattr +i`) must not be trusted under the new stamp: no
    /// stamp is written, the writer warns, and the action reads SQLite.
    func testASnapshotFileThatCannotBeRemovedIsNeverTrusted() throws {
        try admin(["cdb", "define", "testfixture", "gone", "port=81", "fail_reason=old-gone"])
        let file = sandbox.cdb + ".snapshot/testfixture,gone"
        let pin = try sandbox.run("/usr/bin/chattr", ["+i", file])
        guard pin.status == 0 else { throw SetupFailure("chattr +i \(file): \(pin)") }
        defer { _ = try? sandbox.run("/usr/bin/chattr", ["-i", file]) }
        let delete = try sandbox.fshost("cdb", "delete", "testfixture", "gone", "--force")
        XCTAssertEqual(delete.status, 0, "\(delete)")
        XCTAssertTrue(delete.stderr.contains("cannot be removed"), delete.stderr)
        let r = try sandbox.fshost("testfixture", "monitor", "gone")
        XCTAssertEqual(r.status, 6, "the deleted resource's old attributes were used: \(r)")
        XCTAssertFalse(r.stderr.contains("old-gone"), r.stderr)
    }

    /// A write rewrites the files of what it changed, not every resource's
    /// (5,000 resources must not make every `fshost cdb` write slow).
    func testAWriteRewritesOnlyTheResourcesItChanged() throws {
        try admin(["cdb", "define", "testfixture", "r", "port=80"])
        try admin(["cdb", "define", "testfixture", "other", "port=81"])
        func inode(_ path: String) -> UInt64 {
            var st = stat()
            XCTAssertEqual(stat(path, &st), 0, path)
            return UInt64(st.st_ino)
        }
        let otherFile = sandbox.cdb + ".snapshot/testfixture,other"
        let (before, mine) = (inode(otherFile), inode(snapshotFile))
        try admin(["cdb", "modify", "testfixture", "r", "fail_reason=changed"])
        XCTAssertEqual(inode(otherFile), before, "an unchanged resource's file is left alone")
        XCTAssertNotEqual(inode(snapshotFile), mine, "the changed resource's file is replaced")
        let m = try monitor()
        XCTAssertTrue(m.stderr.contains("changed") && !m.sqlite, m.stderr)
        // A type-level change reaches every resource of the type.
        try admin(["cdb", "modify-type", "testfixture", "label=everyone"])
        XCTAssertNotEqual(inode(otherFile), before)
    }
}
