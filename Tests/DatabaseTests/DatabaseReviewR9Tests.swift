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

extension DatabaseTests {
    /// R9 #13: what the user reads. A passfile with mode 0644 "has
    /// permission bits outside 0600" (not "is has"); `describe` says level
    /// 2 is the builtin start-up exchange unless ping_client=libpq; a
    /// secret given as key=value to `cdb define` or `modify` draws a
    /// warning naming --value-from-stdin, never the value.
    func testWhatTheUserReads() throws {
        let cluster = try makeCluster()
        let defined = try run(["cdb", "define", "database", "db1", "retries=0"] + cluster.attributes)
        XCTAssertEqual(defined.status, success, defined.description)
        XCTAssertTrue(defined.stderr.contains("use --value-from-stdin password"), defined.stderr)
        let modified = try run(["cdb", "modify", "database", "db1", "password=\(PostgresTemplate.password)", "--force"])
        XCTAssertTrue(modified.stderr.contains("use --value-from-stdin password"), modified.stderr)
        XCTAssertEqual(try run(["cdb", "modify", "database", "db1", "retries=0", "--force"]).stderr, "")

        let passfile = cluster.root + "/pgpass"
        XCTAssertTrue(FileManager.default.createFile(atPath: passfile, contents: Data("*:*:*:*:x\n".utf8),
                                                    attributes: [.posixPermissions: 0o644]))
        let base = cluster.attributes.filter { !$0.hasPrefix("password=") }
        XCTAssertEqual(try run(["cdb", "define", "database", "pf"] + base + ["passfile=\(passfile)"]).status, success)
        let validated = try run("database", "validate", "pf", "--json")
        XCTAssertEqual(validated.status, noConfigInfo, validated.description)
        XCTAssertTrue(validated.stdout.contains("has permission bits outside 0600") && !validated.stdout.contains("is has"),
                      validated.stdout)

        let described = try run("describe", "database")
        XCTAssertTrue(described.stdout.contains("start-up exchange over the Unix socket"), described.stdout)
        XCTAssertFalse(described.stdout.contains("PQping over the Unix socket"), described.stdout)
    }
}
