// The second review of the database type (R9): the server's environment
// and an unknown os_user.
import Foundation
import TestSupport
import XCTest

extension DatabaseTests {
    /// R9 #11: whoever runs `fshost database start` (a DBA's root shell
    /// with PGPASSWORD, PGOPTIONS, HOME=/root) does not hand its
    /// environment to the server: the postmaster has os_user's login
    /// environment (the SDK's rule for any command run as another user).
    func testTheServerDoesNotInheritTheCallersEnvironment() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "table=\(PostgresTemplate.table)"])
        sandbox.extraEnvironment["PGPASSWORD"] = "RootEnvPw-1"
        sandbox.extraEnvironment["PGOPTIONS"] = "-c work_mem=64kB"
        sandbox.extraEnvironment["PGUSER"] = "nobody"
        sandbox.extraEnvironment["HOME"] = "/root"
        try start()
        let pid = try XCTUnwrap(cluster.postmasterPid)
        let raw = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
        let names = Set(raw.split(separator: 0).map { String(decoding: $0.prefix { $0 != UInt8(ascii: "=") }, as: UTF8.self) })
        let variables = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        XCTAssertFalse(names.contains("PGPASSWORD") || names.contains("PGOPTIONS") || names.contains("PGUSER"), "\(variables)")
        XCTAssertFalse(names.contains { $0.hasPrefix("FSHOST_") }, "\(variables)")
        let home = String(cString: try XCTUnwrap(getpwnam(PostgresTemplate.userName)).pointee.pw_dir)
        XCTAssertTrue(variables.contains("HOME=\(home)") && variables.contains("USER=\(PostgresTemplate.userName)"), "\(variables)")
        // PGOPTIONS did not reach the server: its work_mem is the default.
        XCTAssertEqual(try cluster.psql("SHOW work_mem").output, "4MB")
        XCTAssertEqual(try monitor(3).status, success)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// R9 #4: an unknown os_user is HA_INVAL_ARGS naming it at every
    /// action — every monitor level, stop (a failed stop fences a node)
    /// and exclusive — not a pidfile failure.
    func testAnUnknownOsUserIsInvalidAtEveryAction() throws {
        let cluster = try makeCluster()
        try define(cluster, "unknown", ["os_user=nosuchuser-fshost", "retries=0"])
        var results = try (1...4).map { try monitor($0, "unknown") }
        results += try ["stop", "exclusive", "validate", "start"].map { try run("database", $0, "unknown", "--json") }
        for r in results {
            XCTAssertEqual(r.status, invalidArguments, r.description)
            XCTAssertTrue(r.stdout.contains("os_user") && r.stdout.contains("nosuchuser-fshost"), r.stdout)
        }
    }
}
