import Foundation
import HAVocabulary
import TestSupport
import XCTest
@testable import FSHost

/// `fshost_host.shared_lock`: a lock several resources of a type share,
/// kept in the host's root-only run directory (the nfs type's exports
/// directory lock; issue 10's review: an flock on a world-readable
/// directory can be held by any local user).
final class SharedLockTests: XCTestCase {
    var sandbox: HostSandbox!

    override func setUpWithError() throws { sandbox = try HostSandbox() }
    override func tearDown() { sandbox = nil }

    func testASecondHolderWaitsAtMostItsLimitThenGetsIt() throws {
        let run = sandbox.path("run")
        let first = try SharedLock.acquire(runDirectory: run, type: "nfs", key: "exports-0123", timeoutMs: 100)
        let path = run + "/locks/nfs.shared.exports-0123.lock"
        var st = stat()
        XCTAssertEqual(lstat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600, "root-only lock file")
        let clock = ContinuousClock()
        let began = clock.now
        XCTAssertThrowsError(try SharedLock.acquire(runDirectory: run, type: "nfs", key: "exports-0123", timeoutMs: 200)) {
            XCTAssertTrue(($0 as? HostError)?.message.contains("not free within 200 ms") == true, "\($0)")
        }
        XCTAssertLessThan(clock.now - began, .seconds(2))
        // Another key is another lock.
        let other = try SharedLock.acquire(runDirectory: run, type: "nfs", key: "exports-4567", timeoutMs: 0)
        close(other)
        close(first)
        let again = try SharedLock.acquire(runDirectory: run, type: "nfs", key: "exports-0123", timeoutMs: 0)
        close(again)
    }

    func testInvalidKeysAndASymlinkedLockFileAreRefused() throws {
        let run = sandbox.path("run")
        for key in ["", ".hidden", "a/b", "../x", String(repeating: "k", count: 129)] {
            XCTAssertThrowsError(try SharedLock.acquire(runDirectory: run, type: "nfs", key: key, timeoutMs: 0), "key '\(key)'")
        }
        XCTAssertNoThrow(close(try SharedLock.acquire(runDirectory: run, type: "nfs", key: "k", timeoutMs: 0)))
        let path = run + "/locks/nfs.shared.planted.lock"
        XCTAssertEqual(symlink(sandbox.path("elsewhere"), path), 0)
        XCTAssertThrowsError(try SharedLock.acquire(runDirectory: run, type: "nfs", key: "planted", timeoutMs: 0)) {
            XCTAssertTrue(($0 as? HostError)?.message.contains("symbolic link") == true, "\($0)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.path("elsewhere")))
    }
}
