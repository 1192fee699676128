import Foundation
import TestSupport
import XCTest
@testable import CDB

/// The CDB is checked where it really is (issue 7, item 2): through a
/// symlink, with SQLite's companion files beside it, and on every directory
/// up to /. What another user could write is refused, naming the path.
final class ResolvedLocationTests: CDBTestCase {
    /// A database with one resource at `file` (its directory made 0755).
    func makeDatabase(at file: String) throws {
        try FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try ConfigurationDatabase(path: file, mode: .readWrite).define(type: "testfixture", resource: "a", attributes: ["port": "1"])
    }

    /// A symlink in a safe directory that leads into a world-writable one
    /// is refused: the world-writable directory is named.
    func testSymlinkIntoWorldWritableDirectoryIsRefused() throws {
        let open = directory + "/open"
        try makeDatabase(at: open + "/cdb.sqlite")
        XCTAssertEqual(chmod(open, 0o777), 0)
        XCTAssertEqual(symlink(open + "/cdb.sqlite", path), 0)
        for mode in [ConfigurationDatabase.Mode.readOnly, .readWrite] {
            assertThrows(.insecure(path: open, reason: "(directory) is writable by others (mode 0777)")) {
                try ConfigurationDatabase(path: path, mode: mode)
            }
        }
        XCTAssertEqual(CDBError.insecure(path: open, reason: "(directory) is writable by others (mode 0777)").exitStatus, 6)
    }

    /// Through a symlink to a safe place the database works, and SQLite's
    /// companions live beside the real file (the ones that were checked).
    func testSymlinkToSafeLocationUsesTheRealFilesCompanions() throws {
        let real = directory + "/real"
        try makeDatabase(at: real + "/cdb.sqlite")
        XCTAssertEqual(symlink(real + "/cdb.sqlite", path), 0)
        try writer().define(type: "testfixture", resource: "b", attributes: ["port": "2"])
        XCTAssertEqual(try reader().attributes(type: "testfixture", resource: "b"), ["port": "2"])
        XCTAssertEqual(listing(), ["cdb.sqlite", "real"], "no -wal or -shm beside the link")
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: real).sorted(),
                       ["cdb.sqlite", "cdb.sqlite-shm", "cdb.sqlite-wal", "cdb.sqlite.snapshot"], "the snapshot beside the real file too")
    }

    /// `-wal`, `-shm` and `-journal` are checked like the file: another user's
    /// crafted write-ahead log is a crafted configuration.
    func testCompanionFilesAreChecked() throws {
        try writer().define(type: "testfixture", resource: "a", attributes: ["port": "1"])
        let wal = path + "-wal", shm = path + "-shm", journal = path + "-journal"
        XCTAssertEqual(listing(), ["cdb.sqlite", "cdb.sqlite-shm", "cdb.sqlite-wal"])

        XCTAssertEqual(chmod(wal, 0o666), 0)
        assertThrows(.insecure(path: wal, reason: "(companion file) is writable by others (mode 0666)")) { try reader() }
        XCTAssertEqual(chmod(wal, 0o620), 0)
        assertThrows(.insecure(path: wal, reason: "(companion file) is writable by its group (mode 0620)")) { try writer() }
        XCTAssertEqual(chmod(wal, 0o600), 0)
        XCTAssertNoThrow(try reader())

        if geteuid() == 0 {
            XCTAssertEqual(chown(wal, 4242, 4242), 0)
            assertThrows(.insecure(path: wal, reason: "(companion file) is owned by uid 4242, not by root")) { try reader() }
            XCTAssertEqual(chown(wal, 0, 0), 0)
        }

        let elsewhere = directory + "/elsewhere-shm"
        XCTAssertEqual(rename(shm, elsewhere), 0)
        XCTAssertEqual(symlink(elsewhere, shm), 0)
        assertThrows(.insecure(path: shm, reason: "(companion file) is a symbolic link")) { try reader() }
        XCTAssertEqual(unlink(shm), 0)
        XCTAssertEqual(rename(elsewhere, shm), 0)

        XCTAssertTrue(FileManager.default.createFile(atPath: journal, contents: Data(), attributes: [.posixPermissions: 0o646]))
        assertThrows(.insecure(path: journal, reason: "(companion file) is writable by others (mode 0646)")) { try reader() }
        XCTAssertEqual(unlink(journal), 0)
        XCTAssertEqual(try reader().attributes(type: "testfixture", resource: "a"), ["port": "1"])
    }

    /// Every directory up to / counts; a sticky one (like /tmp) only above the
    /// directory that holds the database.
    func testEveryDirectoryUpToRootIsChecked() throws {
        let above = directory + "/above"
        let file = above + "/holder/cdb.sqlite"
        try makeDatabase(at: file)
        XCTAssertEqual(chmod(above, 0o777), 0)
        assertThrows(.insecure(path: above, reason: "(parent directory) is writable by others (mode 0777)")) {
            try ConfigurationDatabase(path: file, mode: .readOnly)
        }
        XCTAssertEqual(chmod(above, 0o775), 0)
        assertThrows(.insecure(path: above, reason: "(parent directory) is writable by its group (mode 0775)")) {
            try ConfigurationDatabase(path: file, mode: .readWrite)
        }
        XCTAssertEqual(chmod(above, 0o1777), 0)
        XCTAssertEqual(try ConfigurationDatabase(path: file, mode: .readOnly).attributes(type: "testfixture", resource: "a"),
                       ["port": "1"], "a sticky ancestor is accepted")
        if geteuid() == 0 {
            XCTAssertEqual(chmod(above, 0o755), 0)
            XCTAssertEqual(chown(above, 4242, 4242), 0)
            assertThrows(.insecure(path: above, reason: "(parent directory) is owned by uid 4242, not by root")) {
                try ConfigurationDatabase(path: file, mode: .readOnly)
            }
            XCTAssertEqual(chown(above, 0, 0), 0)
        }
        XCTAssertEqual(CDBError.insecure(path: above, reason: "(parent directory) is writable by others (mode 0777)").description,
                       "refusing to use configuration database: \(above) (parent directory) is writable by others (mode 0777)")
    }
}
