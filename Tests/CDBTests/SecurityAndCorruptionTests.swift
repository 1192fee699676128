import Foundation
import TestSupport
import XCTest
@testable import CDB

final class SecurityAndCorruptionTests: CDBTestCase {
    // MARK: - Not a database

    /// Opens read-only and reads everything; returns the error, which must
    /// be `notADatabase` naming the file, on one line.
    func assertUnusable(_ what: String, file: StaticString = #filePath, line: UInt = #line) {
        for mode in [ConfigurationDatabase.Mode.readOnly, .readWrite] {
            let error = cdbError(file: file, line: line) { () throws -> [TypeConfiguration] in
                let db = try ConfigurationDatabase(path: path, mode: mode)
                return try db.snapshot()
            }
            guard case .notADatabase(let p, _)? = error else {
                XCTFail("\(what) (\(mode)): expected notADatabase, got \(String(describing: error))", file: file, line: line)
                continue
            }
            XCTAssertEqual(p, path, file: file, line: line)
            let text = error!.description
            XCTAssertTrue(text.hasPrefix(path + " is not a usable fshost configuration database: "), text, file: file, line: line)
            XCTAssertFalse(text.contains("\n"), "one line: \(text)", file: file, line: line)
        }
    }

    func testTextFileIsNotADatabase() throws {
        try write(Array("[testfixture.alpha]\nport = 8080\n".utf8))
        assertUnusable("text file")
        XCTAssertEqual(try String(contentsOfFile: path, encoding: .utf8), "[testfixture.alpha]\nport = 8080\n", "left alone")
    }

    func testRandomBytesAreNotADatabase() throws {
        var generator = SystemRandomNumberGenerator()
        try write((0..<8192).map { _ in UInt8.random(in: 0...255, using: &generator) })
        assertUnusable("random bytes")
    }

    func testShortFileWithSQLiteMagicIsNotADatabase() throws {
        try write(Array("SQLite format 3\0".utf8) + [UInt8](repeating: 0xff, count: 40))
        assertUnusable("truncated header")
    }

    func testTruncatedDatabaseIsReported() throws {
        do {
            let db = try writer()
            for i in 0..<200 {
                try db.define(type: "testfixture", resource: "r\(i)",
                              attributes: ["port": String(1000 + i), "label": String(repeating: "x", count: 200)])
            }
        }
        // Writers checkpoint on close: everything is in the main file.
        XCTAssertEqual(fingerprint(path + "-wal")?.size, 0)
        let size = fingerprint(path)!.size
        XCTAssertGreaterThan(size, 4 * 4096)
        XCTAssertEqual(truncate(path, off_t(size / 2)), 0)
        assertUnusable("truncated to half")
        XCTAssertEqual(truncate(path, 4096 + 100), 0)
        assertUnusable("truncated to one page")
    }

    func testDirectoryInsteadOfFile() throws {
        XCTAssertEqual(mkdir(path, 0o700), 0)
        assertThrows(.notADatabase(path: path, message: "not a regular file")) { try reader() }
    }

    // MARK: - Permissions (sshd StrictModes)

    func testWorldWritableFileIsRefused() throws {
        try writer().define(type: "testfixture", resource: "a", attributes: [:])
        XCTAssertEqual(chmod(path, 0o606), 0)
        for mode in [ConfigurationDatabase.Mode.readOnly, .readWrite] {
            assertThrows(.insecure(path: path, reason: "(file) is writable by others (mode 0606)")) {
                try ConfigurationDatabase(path: path, mode: mode)
            }
        }
        XCTAssertEqual(chmod(path, 0o660), 0)
        assertThrows(.insecure(path: path, reason: "(file) is writable by its group (mode 0660)")) { try reader() }
        XCTAssertEqual(chmod(path, 0o644), 0)
        XCTAssertNoThrow(try reader(), "readable by others is allowed")
        XCTAssertEqual(CDBError.insecure(path: path, reason: "(file) is writable by others (mode 0606)").description,
                       "refusing to use configuration database: \(path) (file) is writable by others (mode 0606)")
    }

    func testGroupWritableDirectoryIsRefused() throws {
        try writer().define(type: "testfixture", resource: "a", attributes: [:])
        XCTAssertEqual(chmod(directory, 0o770), 0)
        assertThrows(.insecure(path: directory, reason: "(directory) is writable by its group (mode 0770)")) { try reader() }
        assertThrows(.insecure(path: directory, reason: "(directory) is writable by its group (mode 0770)")) { try writer() }
        XCTAssertEqual(chmod(directory, 0o1777), 0)
        assertThrows(.insecure(path: directory, reason: "(directory) is writable by others (mode 1777)")) { try reader() }
    }

    func testInsecureDirectoryIsRefusedBeforeCreatingTheFile() throws {
        XCTAssertEqual(chmod(directory, 0o777), 0)
        assertThrows(.insecure(path: directory, reason: "(directory) is writable by others (mode 0777)")) { try writer() }
        XCTAssertEqual(listing(), [])
    }

    func testFileOwnedBySomeoneElseIsRefused() throws {
        guard geteuid() == 0 else { throw SetupFailure("needs root to chown the file: run the tests as root (make test)") }
        try writer().define(type: "testfixture", resource: "a", attributes: [:])
        XCTAssertEqual(chown(path, 4242, 4242), 0)
        assertThrows(.insecure(path: path, reason: "(file) is owned by uid 4242, not by root")) { try reader() }
        XCTAssertEqual(chown(path, 0, 0), 0)
        XCTAssertEqual(chown(directory, 4242, 4242), 0)
        assertThrows(.insecure(path: directory, reason: "(directory) is owned by uid 4242, not by root")) { try reader() }
    }

    // MARK: - Read-only WAL without write access to the directory

    /// A reader that may not create files beside the database (an operator
    /// reading root's CDB) still reads it: writers keep the -wal and -shm.
    func testReadOnlyWALWithoutWritableDirectory() throws {
        guard geteuid() == 0 else { throw SetupFailure("needs root to switch to an unprivileged effective uid: run the tests as root (make test)") }
        // A world-readable CDB (the files SQLite adds take the file's mode).
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o644]))
        XCTAssertEqual(chmod(directory, 0o755), 0)
        do {
            let db = try writer()
            try db.define(type: "testfixture", resource: "a", attributes: ["port": "1"])
        }
        let nobody: uid_t = 65534
        let before = listing()
        XCTAssertEqual(before, ["cdb.sqlite", "cdb.sqlite-shm", "cdb.sqlite-wal"])

        let read = asUser(nobody) { () throws -> [String: String]? in
            try ConfigurationDatabase(path: path, mode: .readOnly).attributes(type: "testfixture", resource: "a")
        }
        XCTAssertEqual(try read.get(), ["port": "1"])
        XCTAssertEqual(listing(), before)

        // Even while a writer has uncommitted changes and committed ones in the WAL.
        let db = try writer()
        try db.define(type: "testfixture", resource: "b", attributes: ["port": "2"])
        try db.transaction {
            try db.define(type: "testfixture", resource: "c", attributes: [:])
            let during = asUser(nobody) { () throws -> [String] in
                try ConfigurationDatabase(path: path, mode: .readOnly).resources(type: nil).map(\.name)
            }
            XCTAssertEqual(try during.get(), ["a", "b"])
        }
        withExtendedLifetime(db) {}
    }

    /// Without the -shm and no right to create it, the reader fails with a
    /// one-line message that says why, instead of crashing or writing.
    func testReadOnlyWALWithoutShmFilesGivesAClearError() throws {
        guard geteuid() == 0 else { throw SetupFailure("needs root to switch to an unprivileged effective uid: run the tests as root (make test)") }
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o644]))
        XCTAssertEqual(chmod(directory, 0o755), 0)
        do { try writer().define(type: "testfixture", resource: "a", attributes: ["port": "1"]) }
        // As if the file had been copied here without its companions.
        unlink(path + "-wal")
        unlink(path + "-shm")
        let read = asUser(65534) { () throws -> [String: String]? in
            try ConfigurationDatabase(path: path, mode: .readOnly).attributes(type: "testfixture", resource: "a")
        }
        XCTAssertThrowsError(try read.get()) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains(path), text)
            XCTAssertTrue(text.contains("-shm"), text)
            XCTAssertFalse(text.contains("\n"), text)
        }
        XCTAssertEqual(listing(), ["cdb.sqlite"])
        // The owner (who may write the directory) reads it fine.
        XCTAssertEqual(try reader().attributes(type: "testfixture", resource: "a"), ["port": "1"])
    }

    // MARK: - Helpers

    func write(_ bytes: [UInt8]) throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(bytes), attributes: [.posixPermissions: 0o600]))
    }

    /// Runs `body` with effective uid and gid `uid` (root only), then back.
    func asUser<T>(_ uid: uid_t, _ body: () throws -> T) -> Result<T, Error> {
        precondition(setegid(uid) == 0 && seteuid(uid) == 0, "seteuid")
        defer { precondition(seteuid(0) == 0 && setegid(0) == 0, "seteuid back") }
        return Result { try body() }
    }
}
