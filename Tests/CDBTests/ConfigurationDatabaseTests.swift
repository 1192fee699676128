import Foundation
import TestSupport
import XCTest
@testable import CDB

final class ConfigurationDatabaseTests: CDBTestCase {
    func testDefineReadModifyDelete() throws {
        let db = try writer()
        try db.define(type: "testfixture", resource: "alpha", attributes: ["port": "8080", "label": "a"])
        try db.define(type: "testfixture", resource: "beta", attributes: [:])
        try db.define(type: "other", resource: "x.1", attributes: ["note": "n"])

        XCTAssertEqual(try db.attributes(type: "testfixture", resource: "alpha"), ["port": "8080", "label": "a"])
        XCTAssertEqual(try db.attributes(type: "testfixture", resource: "beta"), [:], "exists, no attributes")
        XCTAssertNil(try db.attributes(type: "testfixture", resource: "gamma"))
        XCTAssertNil(try db.attributes(type: "nosuch", resource: "alpha"))
        XCTAssertEqual(try db.resources(type: nil).map { "\($0.type)/\($0.name)" },
                       ["other/x.1", "testfixture/alpha", "testfixture/beta"])
        XCTAssertEqual(try db.resources(type: "testfixture").map(\.name), ["alpha", "beta"])

        assertThrows(.resourceExists(type: "testfixture", name: "alpha")) {
            try db.define(type: "testfixture", resource: "alpha", attributes: [:])
        }

        try db.modify(type: "testfixture", resource: "alpha", set: ["label": "b", "enabled": "false"], unset: ["port", "absent"])
        XCTAssertEqual(try db.attributes(type: "testfixture", resource: "alpha"), ["label": "b", "enabled": "false"])
        assertThrows(.resourceNotFound(type: "testfixture", name: "gamma")) {
            try db.modify(type: "testfixture", resource: "gamma", set: ["a": "b"], unset: [])
        }

        try db.delete(type: "testfixture", resource: "alpha")
        XCTAssertNil(try db.attributes(type: "testfixture", resource: "alpha"))
        assertThrows(.resourceNotFound(type: "testfixture", name: "alpha")) {
            try db.delete(type: "testfixture", resource: "alpha")
        }

        // Another connection sees the committed state.
        let other = try reader()
        XCTAssertEqual(try other.resources(type: nil).map(\.name), ["x.1", "beta"])
    }

    func testTypeLevelOverridesMergeAndResourceWins() throws {
        let db = try writer()
        try db.define(type: "testfixture", resource: "alpha", attributes: ["port": "1", "label": "own"])
        try db.modifyTypeAttributes(type: "testfixture", set: ["label": "typed", "retries": "3"], unset: [])
        XCTAssertEqual(try db.attributes(type: "testfixture", resource: "alpha"),
                       ["port": "1", "label": "own", "retries": "3"])
        XCTAssertEqual(try db.resourceAttributes(type: "testfixture", resource: "alpha"), ["port": "1", "label": "own"])
        XCTAssertEqual(try db.typeAttributes(type: "testfixture"), ["label": "typed", "retries": "3"])
        // Type-level values do not make a resource exist.
        XCTAssertNil(try db.attributes(type: "testfixture", resource: "ghost"))

        try db.modifyTypeAttributes(type: "testfixture", set: [:], unset: ["retries"])
        try db.replaceTypeAttributes(type: "testfixture", attributes: ["hang": "5ms"])
        XCTAssertEqual(try db.typeAttributes(type: "testfixture"), ["hang": "5ms"])

        XCTAssertEqual(try db.snapshot(), [
            TypeConfiguration(type: "testfixture", typeAttributes: ["hang": "5ms"],
                              resources: ["alpha": ["port": "1", "label": "own"]]),
        ])
    }

    func testReplaceAndRemoveAll() throws {
        let db = try writer()
        try db.define(type: "testfixture", resource: "a", attributes: ["port": "1", "label": "x"])
        try db.replace(type: "testfixture", resource: "a", attributes: ["port": "2"])
        try db.replace(type: "testfixture", resource: "b", attributes: [:])
        XCTAssertEqual(try db.resourceAttributes(type: "testfixture", resource: "a"), ["port": "2"])
        try db.define(type: "other", resource: "o", attributes: [:])
        try db.removeAll(type: "testfixture")
        XCTAssertEqual(try db.resources(type: nil).map(\.name), ["o"])
        try db.removeAll()
        XCTAssertEqual(try db.snapshot(), [])
    }

    func testValuesRoundTripExactly() throws {
        let db = try writer()
        let odd = "quote \" backslash \\ newline \n tab \t nul \u{0} unicode é 😀 empty-next"
        try db.define(type: "testfixture", resource: "a", attributes: ["label": odd, "empty": ""])
        XCTAssertEqual(try reader().attributes(type: "testfixture", resource: "a"), ["label": odd, "empty": ""])
    }

    func testNamesAreValidated() throws {
        let db = try writer()
        for bad in ["", "Web", "1web", "web server", String(repeating: "a", count: 32), "wéb"] {
            assertThrows(.invalidName(what: "type", name: bad)) {
                try db.define(type: bad, resource: "r", attributes: [:])
            }
        }
        for bad in ["", ".", "..", "a/b", "a b", String(repeating: "r", count: 65), "a\nb", "é"] {
            assertThrows(.invalidName(what: "resource", name: bad)) {
                try db.define(type: "testfixture", resource: bad, attributes: [:])
            }
        }
        assertThrows(.invalidName(what: "attribute", name: "bad key")) {
            try db.define(type: "testfixture", resource: "r", attributes: ["bad key": "1"])
        }
        // The limits themselves are fine.
        try db.define(type: "a" + String(repeating: "b", count: 30), resource: String(repeating: "R", count: 64), attributes: [:])
        try db.define(type: "web-server_2", resource: "Web.Server-1_x", attributes: [:])
        XCTAssertEqual(CDBError.invalidName(what: "resource", name: "a\nb").description,
                       "invalid resource name 'a\\u{a}b': use 1-64 characters of A-Z a-z 0-9 _ . - (not . or ..)")
    }

    func testTransactionIsAllOrNothing() throws {
        let db = try writer()
        struct Boom: Error {}
        XCTAssertThrowsError(try db.transaction {
            try db.define(type: "testfixture", resource: "a", attributes: ["port": "1"])
            try db.transaction { try db.define(type: "testfixture", resource: "b", attributes: [:]) }
            throw Boom()
        })
        XCTAssertEqual(try db.resources(type: nil).count, 0)

        // A failing nested step rolls back only itself when caught.
        try db.transaction {
            try db.define(type: "testfixture", resource: "a", attributes: [:])
            _ = try? db.transaction {
                try db.define(type: "testfixture", resource: "b", attributes: [:])
                throw Boom()
            }
        }
        XCTAssertEqual(try db.resources(type: nil).map(\.name), ["a"])
    }

    func testDefaultPath() {
        XCTAssertEqual(ConfigurationDatabase.defaultPath(environment: [:]), "/var/lib/fshost/cdb.sqlite")
        XCTAssertEqual(ConfigurationDatabase.defaultPath(environment: ["FSHOST_CDB": ""]), "/var/lib/fshost/cdb.sqlite")
        XCTAssertEqual(ConfigurationDatabase.defaultPath(environment: ["FSHOST_CDB": "/tmp/x.sqlite"]), "/tmp/x.sqlite")
    }

    // MARK: - Files, modes, schema versions

    func testReadWriteCreatesFileWithMode0600AndDirectories() throws {
        let nested = directory + "/a/b/cdb.sqlite"
        let db = try ConfigurationDatabase(path: nested, mode: .readWrite)
        XCTAssertEqual(db.schemaVersion, CDBSchema.currentVersion)
        var st = stat()
        XCTAssertEqual(stat(nested, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)
        XCTAssertEqual(stat(directory + "/a/b", &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o755)
    }

    func testMigratesAnEmptyFile() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o600]))
        // Read-only: no resources, asking for one says the file is not
        // initialised (not "no such resource"), and the file stays empty.
        let empty = try reader()
        XCTAssertEqual(empty.schemaVersion, 0)
        assertThrows(.notInitialised(path: path)) { try empty.attributes(type: "testfixture", resource: "a") }
        assertThrows(.notInitialised(path: path)) { try empty.resourceAttributes(type: "testfixture", resource: "a") }
        XCTAssertEqual(try empty.resources(type: nil).count, 0)
        XCTAssertEqual(fingerprint(path)?.size, 0)

        let db = try writer()
        XCTAssertEqual(db.schemaVersion, 1)
        try db.define(type: "testfixture", resource: "a", attributes: ["port": "1"])
        XCTAssertEqual(try reader().schemaVersion, 1)
        // Opening again migrates nothing and keeps the data.
        XCTAssertEqual(try writer().attributes(type: "testfixture", resource: "a"), ["port": "1"])
    }

    func testALaterMigrationStepRunsOnceAndOldBuildsRefuseTheFile() throws {
        try writer().define(type: "testfixture", resource: "a", attributes: ["port": "1"])
        let v2 = CDBSchema.migrations + [CDBSchema.Migration(
            version: 2, summary: "test step", sql: "CREATE TABLE notes (type TEXT, resource TEXT, note TEXT);")]
        let upgraded = try ConfigurationDatabase(path: path, mode: .readWrite, busyTimeoutMilliseconds: 1000, migrations: v2)
        XCTAssertEqual(upgraded.schemaVersion, 2)
        XCTAssertEqual(try upgraded.attributes(type: "testfixture", resource: "a"), ["port": "1"])
        // Running the v2 build again does not rerun the step (CREATE TABLE would fail).
        XCTAssertEqual(try ConfigurationDatabase(path: path, mode: .readWrite, busyTimeoutMilliseconds: 1000,
                                                 migrations: v2).schemaVersion, 2)
        // This build (v1) refuses a v2 file, read-only and read-write.
        assertThrows(.newerSchema(path: path, found: 2, supported: 1)) { try reader() }
        assertThrows(.newerSchema(path: path, found: 2, supported: 1)) { try writer() }
        XCTAssertEqual(CDBError.newerSchema(path: path, found: 2, supported: 1).description,
                       "\(path) has schema version 2, newer than the 1 this fshost supports: use a newer fshost")
    }

    func testSchemaVersionNewerThanSupported() throws {
        try writer().define(type: "testfixture", resource: "a", attributes: [:])
        try rawSQL("PRAGMA user_version = 99")
        assertThrows(.newerSchema(path: path, found: 99, supported: CDBSchema.currentVersion)) { try reader() }
    }

    func testForeignSQLiteDatabaseIsRefused() throws {
        XCTAssertTrue(FileManager.default.createFile(atPath: path, contents: Data(), attributes: [.posixPermissions: 0o600]))
        try rawSQL("CREATE TABLE photos (id INTEGER PRIMARY KEY)")
        for mode in [ConfigurationDatabase.Mode.readOnly, .readWrite] {
            let error = cdbError { try ConfigurationDatabase(path: path, mode: mode) }
            guard case .notADatabase(let p, let message)? = error else { return XCTFail("\(String(describing: error))") }
            XCTAssertEqual(p, path)
            XCTAssertTrue(message.contains("another program"), message)
        }
    }

    func testReadOnlyOpenNeverWrites() throws {
        let db = try writer()
        try db.define(type: "testfixture", resource: "a", attributes: ["port": "1"])
        try db.modifyTypeAttributes(type: "testfixture", set: ["retries": "2"], unset: [])
        withExtendedLifetime(db) {}
        let before = (fingerprint(path), fingerprint(path + "-wal"), listing())
        do {
            let ro = try reader()
            XCTAssertEqual(try ro.attributes(type: "testfixture", resource: "a"), ["port": "1", "retries": "2"])
            _ = try ro.resources(type: nil)
            _ = try ro.snapshot()
            assertThrows(.sqlite(path: path, operation: "write", message: "the database was opened read-only")) {
                try ro.define(type: "testfixture", resource: "b", attributes: [:])
            }
            XCTAssertThrowsError(try ro.delete(type: "testfixture", resource: "a"))
        }
        let after = (fingerprint(path), fingerprint(path + "-wal"), listing())
        XCTAssertEqual(before.0, after.0, "database file unchanged")
        XCTAssertEqual(before.1, after.1, "WAL unchanged")
        XCTAssertEqual(before.2, after.2, "no file created")

        // A missing file is reported, and not created.
        let missing = directory + "/none.sqlite"
        assertThrows(.missingFile(path: missing)) { try ConfigurationDatabase(path: missing, mode: .readOnly) }
        XCTAssertFalse(FileManager.default.fileExists(atPath: missing))
        assertThrows(.missingFile(path: "/nonexistent-dir/cdb.sqlite")) {
            try ConfigurationDatabase(path: "/nonexistent-dir/cdb.sqlite", mode: .readOnly)
        }
        XCTAssertEqual(CDBError.missingFile(path: missing).description, "configuration database \(missing) does not exist")
    }

    func testWriterLeavesWALFilesSoReadersCreateNothing() throws {
        do {
            let db = try writer()
            try db.define(type: "testfixture", resource: "a", attributes: ["port": "1"])
        }
        XCTAssertEqual(listing(), ["cdb.sqlite", "cdb.sqlite-shm", "cdb.sqlite-wal"])
        XCTAssertEqual(fingerprint(path + "-wal")?.size, 0, "checkpointed and truncated on close")
        XCTAssertEqual(try reader().attributes(type: "testfixture", resource: "a"), ["port": "1"])
    }

    // MARK: - Concurrency

    func testReadDuringWriteTransactionSeesCommittedStateWithoutWaiting() throws {
        let db = try writer()
        try db.define(type: "testfixture", resource: "old", attributes: ["port": "1"])
        try db.transaction {
            try db.define(type: "testfixture", resource: "new", attributes: ["port": "2"])
            try db.modify(type: "testfixture", resource: "old", set: ["port": "3"], unset: [])
            // A monitor reading now, with a tiny busy timeout, must not fail or wait.
            let started = DispatchTime.now()
            let monitor = try ConfigurationDatabase(path: path, mode: .readOnly, busyTimeoutMilliseconds: 1)
            XCTAssertEqual(try monitor.attributes(type: "testfixture", resource: "old"), ["port": "1"])
            XCTAssertNil(try monitor.attributes(type: "testfixture", resource: "new"))
            XCTAssertLessThan(DispatchTime.now().uptimeNanoseconds - started.uptimeNanoseconds, 500_000_000)
        }
        let monitor = try reader()
        XCTAssertEqual(try monitor.attributes(type: "testfixture", resource: "old"), ["port": "3"])
        XCTAssertEqual(try monitor.attributes(type: "testfixture", resource: "new"), ["port": "2"])
    }

    func testConcurrentReadersAndWritersInThreads() throws {
        try writer().define(type: "testfixture", resource: "r", attributes: ["fail_probes": "0"])
        let path = self.path
        let failures = LockedList()
        let group = DispatchGroup()
        for worker in 0..<4 {
            DispatchQueue.global().async(group: group) {
                do {
                    for i in 0..<25 {
                        if worker == 0 {
                            let db = try ConfigurationDatabase(path: path, mode: .readWrite)
                            try db.modify(type: "testfixture", resource: "r", set: ["fail_probes": String(i)], unset: [])
                        } else {
                            let db = try ConfigurationDatabase(path: path, mode: .readOnly)
                            guard let values = try db.attributes(type: "testfixture", resource: "r"),
                                  values["fail_probes"] != nil else { throw CDBError.resourceNotFound(type: "testfixture", name: "r") }
                        }
                    }
                } catch {
                    failures.append("\(error)")
                }
            }
        }
        group.wait()
        XCTAssertEqual(failures.items, [])
        XCTAssertEqual(try reader().attributes(type: "testfixture", resource: "r"), ["fail_probes": "24"])
    }

    func testSecondWriterWaitsForTheFirst() throws {
        let first = try writer()
        let path = self.path
        let done = DispatchSemaphore(value: 0)
        let result = LockedList()
        try first.transaction {
            try first.define(type: "testfixture", resource: "a", attributes: [:])
            DispatchQueue.global().async {
                do {
                    let second = try ConfigurationDatabase(path: path, mode: .readWrite)
                    try second.define(type: "testfixture", resource: "b", attributes: [:])
                    result.append("ok")
                } catch {
                    result.append("\(error)")
                }
                done.signal()
            }
            Thread.sleep(forTimeInterval: 0.3)
        }
        XCTAssertEqual(done.wait(timeout: .now() + 15), .success)
        XCTAssertEqual(result.items, ["ok"])
        XCTAssertEqual(try reader().resources(type: nil).map(\.name), ["a", "b"])
    }

    // MARK: - Helpers

    /// Runs SQL on the file directly, past the CDB's checks.
    func rawSQL(_ sql: String) throws {
        let connection = try SQLiteConnection(path: path, flags: 0x02 /* READWRITE */, busyTimeoutMilliseconds: 1000)
        try connection.execute(sql, operation: "test")
    }
}

/// A list appended to from several threads.
final class LockedList: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ item: String) { lock.lock(); list.append(item); lock.unlock() }
    var items: [String] { lock.lock(); defer { lock.unlock() }; return list }
}
