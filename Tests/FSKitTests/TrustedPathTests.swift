// The SDK's trust checks for the paths a type hands to root or its service
// account (TrustedPath), and the owner of a declared process
// (ProcessPattern.owner) through the host's matcher.
import Foundation
import TestSupport
import XCTest
@testable import FSKit

final class TrustedPathTests: XCTestCase {
    var directory: String!

    override func setUpWithError() throws {
        directory = ProcessFixtures.makeTemporaryDirectory(prefix: "fskit-trust")
        XCTAssertEqual(chmod(directory, 0o755), 0)
    }

    override func tearDown() {
        ProcessFixtures.removeTree(directory)
        super.tearDown()
    }

    /// An unprivileged uid that owns nothing here ("another local user").
    let other: UInt32 = 65534

    func testAnExecutableInADirectoryAnotherUserOwnsOrCanWriteIsRefused() throws {
        let bin = directory + "/bin"
        XCTAssertEqual(mkdir(bin, 0o755), 0)
        XCTAssertEqual(copyfile("/bin/true", bin + "/prog"), 0)
        XCTAssertNil(TrustedPath.executableProblem(bin + "/prog"))
        XCTAssertEqual(chown(bin, other, other), 0)
        XCTAssertTrue(TrustedPath.executableProblem(bin + "/prog")?.contains("owned by uid \(other)") == true)
        XCTAssertEqual(chown(bin, 0, 0), 0)
        XCTAssertEqual(chmod(bin, 0o777), 0)
        XCTAssertTrue(TrustedPath.executableProblem(bin + "/prog")?.contains("writable by others") == true)
        // A link, in a directory another user owns, to a trusted program: the link's directory counts.
        let theirs = directory + "/theirs"
        XCTAssertEqual(mkdir(theirs, 0o755), 0)
        XCTAssertEqual(symlink("/bin/true", theirs + "/true"), 0)
        XCTAssertNil(TrustedPath.executableProblem(theirs + "/true"))
        XCTAssertEqual(chown(theirs, other, other), 0)
        XCTAssertNotNil(TrustedPath.executableProblem(theirs + "/true"))
    }

    func testASecretFileMustBeRootsMode0600AndReachedOnlyThroughTrustedPaths() throws {
        let secret = directory + "/secret"
        FileManager.default.createFile(atPath: secret, contents: Data("x\n".utf8), attributes: [.posixPermissions: 0o600])
        XCTAssertNil(TrustedPath.secretFileProblem(secret))
        XCTAssertEqual(chmod(secret, 0o640), 0)
        XCTAssertTrue(TrustedPath.secretFileProblem(secret)?.contains("0600") == true)
        XCTAssertEqual(chmod(secret, 0o600), 0)
        // Another user's link to it (in their directory, or owned by them): refused.
        let theirs = directory + "/theirs"
        XCTAssertEqual(mkdir(theirs, 0o755), 0)
        XCTAssertEqual(symlink(secret, theirs + "/link"), 0)
        XCTAssertEqual(lchown(theirs + "/link", other, other), 0)
        XCTAssertTrue(TrustedPath.secretFileProblem(theirs + "/link")?.contains("symbolic link owned by uid \(other)") == true)
        XCTAssertEqual(lchown(theirs + "/link", 0, 0), 0)
        XCTAssertNil(TrustedPath.secretFileProblem(theirs + "/link"))
        XCTAssertEqual(chown(theirs, other, other), 0)
        XCTAssertNotNil(TrustedPath.secretFileProblem(theirs + "/link"))
        XCTAssertEqual(chown(secret, other, other), 0)
        XCTAssertTrue(TrustedPath.secretFileProblem(secret)?.contains("owned by uid \(other)") == true)
    }

    func testAServiceDirectoryIsRootsOrTheAccountsAndNotWritableByOthers() throws {
        let account = try XCTUnwrap(Launch.Account("nobody"))
        let sockets = directory + "/sock"
        XCTAssertEqual(mkdir(sockets, 0o755), 0)
        XCTAssertNil(TrustedPath.serviceDirectoryProblem(sockets, account: account))
        XCTAssertEqual(chown(sockets, account.uid, account.gid), 0)
        XCTAssertNil(TrustedPath.serviceDirectoryProblem(sockets, account: account))
        XCTAssertEqual(chmod(sockets, 0o2775), 0)
        XCTAssertNil(TrustedPath.serviceDirectoryProblem(sockets, account: account), "the account's own group (Debian's /run/postgresql)")
        XCTAssertEqual(chmod(sockets, 0o1777), 0)
        XCTAssertTrue(TrustedPath.serviceDirectoryProblem(sockets, account: account)?.contains("writable by others") == true,
                      "a sticky world-writable directory (/tmp)")
        XCTAssertEqual(chmod(sockets, 0o755), 0)
        XCTAssertEqual(chown(sockets, other - 1, other - 1), 0)
        XCTAssertTrue(TrustedPath.serviceDirectoryProblem(sockets, account: account)?.contains("owned by uid") == true)
    }

    func copyfile(_ from: String, _ to: String) -> Int32 {
        guard let data = FileManager.default.contents(atPath: from),
              FileManager.default.createFile(atPath: to, contents: data, attributes: [.posixPermissions: 0o755]) else { return -1 }
        return 0
    }
}

extension DaemonLifecycleTests {
    /// ProcessPattern.owner: a master of another real uid is not the
    /// daemon (not running for exclusive, not signalled by stop); of the
    /// owner, it is.
    func testAMasterOfAnotherOwnerIsNotTheDaemon() throws {
        func owned(_ uid: UInt32) -> Daemon {
            var d = daemon(ProcessHost.resource(timeLeft: .seconds(3)))
            d.master.owner = uid
            return d
        }
        XCTAssertEqual(owned(geteuid()).start { .success }.status, .success)
        guard case .pid(let pid, _) = PidFile(pidFile).read() else { return XCTFail("the server wrote no pidfile") }
        started.append(pid)
        XCTAssertEqual(owned(geteuid()).exclusive().status, .running)
        XCTAssertEqual(owned(65534).exclusive().status, .notRunning, "another uid's process is not the master")
        XCTAssertEqual(owned(65534).stop().status, .success)
        XCTAssertEqual(kill(pid, 0), 0, "stop signalled a process of another owner")
        XCTAssertEqual(owned(geteuid()).stop().status, .success)
        XCTAssertEqual(owned(geteuid()).exclusive().status, .notRunning, "the owner's master still runs after stop")
    }
}
