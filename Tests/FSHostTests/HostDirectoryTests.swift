import CDB
import Foundation
import TestSupport
import XCTest
@testable import FSHost

/// The run (lock) and state directories, the lock and state files and the
/// paths of the environment are checked where they really are (issue 7,
/// items 2, 7 and 9): what another user could write, hold or redirect is
/// refused with HA_HOST_ERROR (9), one line naming the path, and never read
/// as a resource failure.
final class HostDirectoryTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        let db = try ConfigurationDatabase(path: sandbox.cdb, mode: .readWrite)
        try db.define(type: "template", resource: "t1", attributes: [:])
        try db.define(type: "testfixture", resource: "fx", attributes: ["port": "1", "marker": sandbox.path("fx.marker")])
    }

    override func tearDown() { sandbox = nil }

    func makeDirectory(_ name: String, mode: mode_t) throws -> String {
        let path = sandbox.path(name)
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        XCTAssertEqual(chmod(path, mode), 0)
        return path
    }

    func assertHostError(_ r: HostSandbox.Result, mentioning words: [String], file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertEqual(r.status, 9, r.description, file: file, line: line)
        XCTAssertTrue(r.stderr.contains("HA_HOST_ERROR"), r.stderr, file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)", file: file, line: line)
        for word in words { XCTAssertTrue(r.stderr.contains(word), "'\(word)' not in: \(r.stderr)", file: file, line: line) }
    }

    // MARK: The run directory and the lock files

    func testLockDirectoryUnderAWorldWritableDirectoryIsAHostError() throws {
        let open = try makeDirectory("open", mode: 0o777)
        sandbox.extraEnvironment["FSHOST_RUN_DIR"] = open + "/run"
        assertHostError(try sandbox.fshost("template", "monitor", "t1"),
                        mentioning: ["unsafe FSHOST_RUN_DIR", "parent directory \(open)", "writable by others"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: open + "/run"), "created inside an unsafe tree")
        // Reached through a symlink from a safe place: the same.
        XCTAssertEqual(mkdir(open + "/run", 0o755), 0)
        XCTAssertEqual(symlink(open + "/run", sandbox.path("run-link")), 0)
        sandbox.extraEnvironment["FSHOST_RUN_DIR"] = sandbox.path("run-link")
        assertHostError(try sandbox.fshost("template", "monitor", "t1"), mentioning: ["parent directory \(open)"])
    }

    func testStickyParentOfTheRunDirectoryIsAccepted() throws {
        let sticky = try makeDirectory("sticky", mode: 0o1777)
        sandbox.extraEnvironment["FSHOST_RUN_DIR"] = sticky + "/run"
        let r = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertEqual(r.status, 0, r.description)
        // The lock directory itself may not be writable by others, sticky or not.
        XCTAssertEqual(chmod(sticky + "/run/locks", 0o1777), 0)
        assertHostError(try sandbox.fshost("template", "monitor", "t1"),
                        mentioning: ["directory \(sticky)/run/locks", "writable by others (mode 1777)"])
    }

    /// Another user's lock file would make every monitor wait for its
    /// holder and time out; a group-writable one is as bad.
    func testLockFileOfAnotherUserIsAHostError() throws {
        let locks = try makeDirectory("run/locks", mode: 0o755)
        let lock = locks + "/template.t1.lock"
        XCTAssertTrue(FileManager.default.createFile(atPath: lock, contents: nil, attributes: [.posixPermissions: 0o600]))
        if geteuid() == 0 {
            XCTAssertEqual(chown(lock, 4242, 4242), 0)
            assertHostError(try sandbox.fshost("template", "monitor", "t1"),
                            mentioning: ["unsafe lock file \(lock)", "owned by uid 4242"])
            XCTAssertEqual(chown(lock, 0, 0), 0)
        }
        XCTAssertEqual(chmod(lock, 0o660), 0)
        assertHostError(try sandbox.fshost("template", "monitor", "t1"), mentioning: [lock, "writable by its group"])
        XCTAssertEqual(chmod(lock, 0o600), 0)
        XCTAssertEqual(try sandbox.fshost("template", "monitor", "t1").status, 0)
    }

    /// A planted symlink is never followed (and never creates its target).
    func testSymlinkLockFileIsAHostError() throws {
        let locks = try makeDirectory("run/locks", mode: 0o755)
        let target = sandbox.path("planted-target")
        XCTAssertEqual(symlink(target, locks + "/template.t1.lock"), 0)
        assertHostError(try sandbox.fshost("template", "monitor", "t1"),
                        mentioning: ["cannot open lock file \(locks)/template.t1.lock", "symbolic link"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: target))
    }

    /// A CDB reached through a symlink from a safe place into a
    /// world-writable directory stays HA_NOCFGINFO (6), as documented.
    func testCDBThroughASymlinkIntoAWorldWritableDirectoryIsRefused() throws {
        let open = try makeDirectory("open", mode: 0o755)
        XCTAssertEqual(rename(sandbox.cdb, open + "/cdb.sqlite"), 0)
        XCTAssertEqual(chmod(open, 0o777), 0)
        let link = sandbox.path("cdb-link.sqlite")
        XCTAssertEqual(symlink(open + "/cdb.sqlite", link), 0)
        sandbox.extraEnvironment["FSHOST_CDB"] = link
        let r = try sandbox.fshost("template", "monitor", "t1")
        XCTAssertEqual(r.status, 6, r.description)
        XCTAssertTrue(r.stderr.contains("\(open) (directory) is writable by others"), r.stderr)
        XCTAssertEqual(chmod(open, 0o755), 0)
        XCTAssertEqual(try sandbox.fshost("template", "monitor", "t1").status, 0)
    }

    // MARK: The state directory and files

    func testUnsafeStateDirectoryIsAHostError() throws {
        let open = try makeDirectory("open", mode: 0o777)
        sandbox.extraEnvironment["FSHOST_STATE_DIR"] = open + "/state"
        // start writes the marker's path into the resource's state.
        assertHostError(try sandbox.fshost("testfixture", "start", "fx"),
                        mentioning: ["unsafe FSHOST_STATE_DIR", "parent directory \(open)", "writable by others"])
        XCTAssertFalse(FileManager.default.fileExists(atPath: open + "/state"), "created inside an unsafe tree")
        // Template keeps no state: its actions do not care.
        XCTAssertEqual(try sandbox.fshost("template", "monitor", "t1").status, 0)
    }

    func testStateFileOfAnotherUserIsNeverRead() throws {
        XCTAssertEqual(try sandbox.fshost("testfixture", "start", "fx").status, 0)
        let directory = sandbox.path("state/testfixture/fx")
        // Level 2 reads the key "failed": a planted, group-writable value is refused.
        XCTAssertTrue(FileManager.default.createFile(atPath: directory + "/failed", contents: Data("0".utf8),
                                                    attributes: [.posixPermissions: 0o664]))
        assertHostError(try sandbox.fshost("testfixture", "monitor", "fx", "--level", "2"),
                        mentioning: ["unsafe state file \(directory)/failed", "writable by its group"])
        XCTAssertEqual(unlink(directory + "/failed"), 0)
        XCTAssertEqual(symlink(sandbox.path("elsewhere"), directory + "/failed"), 0)
        assertHostError(try sandbox.fshost("testfixture", "monitor", "fx", "--level", "2"),
                        mentioning: ["\(directory)/failed", "symbolic link"])
        XCTAssertEqual(unlink(directory + "/failed"), 0)
        XCTAssertEqual(try sandbox.fshost("testfixture", "monitor", "fx", "--level", "2").status, 0)
    }

    /// An unsynced write (`state_put_unsynced`: no fsync, for state a
    /// reboot makes meaningless) replaces the value the same way: read back
    /// whole, no temporary left, removable.
    func testAnUnsyncedStateWriteReplacesTheValueAtomically() throws {
        let root = sandbox.path("state")
        let store = StateStore(root: root, type: "testfixture", resource: "fx")
        XCTAssertTrue(store.put("key", Array("old".utf8)))
        XCTAssertTrue(store.put("key", Array("new value".utf8), synced: false))
        XCTAssertEqual(store.get("key"), Array("new value".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: root + "/testfixture/fx"), ["key"])
        XCTAssertTrue(store.put("key", nil, synced: false))
        XCTAssertNil(store.get("key"))
        XCTAssertNil(store.failure)
    }

    /// A write killed half-way (the action's deadline) leaves a temporary
    /// file at most for an instant; one left by a dead process is removed by
    /// the next write, and a live writer's is left alone.
    func testStaleTemporaryStateFilesAreRemoved() throws {
        let root = sandbox.path("state")
        let store = StateStore(root: root, type: "testfixture", resource: "fx")
        XCTAssertTrue(store.put("first", Array("1".utf8)))
        let directory = root + "/testfixture/fx"
        var dead: Int32 = 4_000_000
        while kill(dead, 0) == 0 || errno != ESRCH { dead -= 1 }
        let stale = directory + "/.tmp.key.\(dead)"
        let live = directory + "/.tmp.key.1"
        for file in [stale, live] { XCTAssertTrue(FileManager.default.createFile(atPath: file, contents: Data("x".utf8))) }
        XCTAssertTrue(store.put("key", Array("value".utf8)))
        XCTAssertEqual(store.get("key"), Array("value".utf8))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: directory).sorted(), [".tmp.key.1", "first", "key"])
        XCTAssertTrue(store.put("key", nil))
        XCTAssertNil(store.get("key"))
        XCTAssertNil(store.failure)
        try? FileManager.default.removeItem(atPath: live)
    }

    // MARK: Relative paths and unreadable plugin directories

    /// A relative path in the environment is refused with status 9 and is
    /// never created at / (nor anywhere else).
    func testRelativePathsInTheEnvironmentAreRefused() throws {
        let unique = "fshost-relative-\(getpid())"
        for (variable, value) in [("FSHOST_RUN_DIR", unique + "/run"), ("FSHOST_STATE_DIR", unique + "/state"),
                                  ("FSHOST_CDB", unique + "/cdb.sqlite"), ("FSHOST_PLUGIN_PATH", unique + "/plugins")] {
            let saved = sandbox.extraEnvironment
            sandbox.extraEnvironment[variable] = value
            assertHostError(try sandbox.fshost("template", "monitor", "t1"),
                            mentioning: [variable, "must be an absolute path", value])
            sandbox.extraEnvironment = saved
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: "/" + unique), "created at /")
        XCTAssertFalse(FileManager.default.fileExists(atPath: FileManager.default.currentDirectoryPath + "/" + unique))
        XCTAssertThrowsError(try SafeDirectory.open("relative/dir", root: "/", variable: "FSHOST_RUN_DIR", what: "x", mode: 0o755))
    }

    /// A plugin directory that exists but cannot be searched is not "unknown
    /// type" (5): whether the type is installed cannot be told (9).
    func testUnreadablePluginDirectoryIsAHostError() throws {
        let notADirectory = sandbox.path("plugins-file")
        XCTAssertTrue(FileManager.default.createFile(atPath: notADirectory, contents: nil))
        sandbox.pluginPath = notADirectory + ":" + HostSandbox.products.path
        assertHostError(try sandbox.fshost("template", "monitor", "t1"),
                        mentioning: ["cannot read plugin directory \(notADirectory)", "Not a directory"])

        // As an unprivileged user, a directory it may not search.
        let closed = try makeDirectory("closed-plugins", mode: 0o700)
        sandbox.pluginPath = closed
        let r = try sandbox.run("/usr/bin/setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "--",
                                                       HostSandbox.products.appendingPathComponent("fshost").path,
                                                       "template", "monitor", "t1"])
        assertHostError(r, mentioning: ["cannot read plugin directory \(closed)", "Permission denied"])
        // A missing directory is only "not installed here".
        sandbox.pluginPath = sandbox.path("absent")
        XCTAssertEqual(try sandbox.fshost("template", "monitor", "t1").status, 5)
    }
}
