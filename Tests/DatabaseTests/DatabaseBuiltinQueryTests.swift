import Foundation
import TestSupport
import XCTest

extension DatabaseTests {
    /// `query_client=builtin` (the default): levels 3 and 4 speak the
    /// protocol on the Unix socket themselves (SCRAM-SHA-256 against the
    /// fixture's scram-sha-256 server) and load no libpq, and they answer
    /// as the companion does: the same verdicts for an answer, another
    /// answer, a dropped table, two statements, a wrong password.
    func testTheBuiltinQueryAnswersAsLibpqDoes() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "table=\(PostgresTemplate.table)"])
        try define(cluster, "db1libpq", ["retries=0", "table=\(PostgresTemplate.table)", "query_client=libpq"])
        try start()
        func both(_ attributes: [String]) throws -> [HostSandbox.Result] {
            for name in ["db1", "db1libpq"] {
                XCTAssertEqual(try run(["cdb", "modify", "database", name] + attributes + ["--force"]).status, success)
            }
            return try ["db1", "db1libpq"].map { try monitor(3, $0) }
        }
        // The builtin client loads no libpq; the companion does.
        sandbox.extraEnvironment["LD_DEBUG"] = "files"
        let builtin = try monitor(3), companion = try monitor(3, "db1libpq")
        sandbox.extraEnvironment["LD_DEBUG"] = nil
        XCTAssertEqual(builtin.status, success, builtin.description)
        XCTAssertEqual(companion.status, success, companion.description)
        XCTAssertFalse(builtin.stderr.contains("libpq.so"), "query_client=builtin loaded libpq")
        XCTAssertTrue(companion.stderr.contains("libpq.so"), "query_client=libpq did not load libpq")

        for r in try both(["query=SELECT 'a' || 'b', NULL", "expected_answer=ab"]) { XCTAssertEqual(r.status, success, r.description) }
        for r in try both(["expected_answer=ba"]) {
            XCTAssertEqual(r.status, commandFailed, r.description)
            XCTAssertTrue(r.stdout.contains("answered 'ab', expected 'ba'"), r.stdout)
        }
        for r in try both(["query=SELECT 1; SELECT 2", "expected_answer=1"]) {
            XCTAssertEqual(r.status, commandFailed, "several statements are refused (extended protocol): \(r)")
            XCTAssertTrue(r.stdout.contains("42601"), r.stdout)
        }
        for r in try both(["query=SELECT id FROM \(PostgresTemplate.table) ORDER BY id LIMIT 1", "password=Wrong-Secret-fshost-7731"]) {
            XCTAssertEqual(r.status, commandFailed, r.description)
            XCTAssertTrue(r.stdout.contains("authentication as 'postgres' failed"), r.stdout)
            XCTAssertFalse(r.stdout.contains("Wrong-Secret") || r.stderr.contains("Wrong-Secret"), r.description)
        }
        for r in try both(["password=\(PostgresTemplate.password)"]) { XCTAssertEqual(r.status, success, r.description) }
        XCTAssertEqual(try cluster.psql("DROP TABLE \(PostgresTemplate.table)").status, 0)
        for r in try ["db1", "db1libpq"].map({ try monitor(3, $0) }) {
            XCTAssertEqual(r.status, commandFailed, r.description)
            XCTAssertTrue(r.stdout.contains("does not exist"), r.stdout)
        }
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// The builtin client checks the server's SCRAM signature (RFC 5802
    /// `v=`): a stand-in running as os_user (the peer check passes) that
    /// runs the exchange without knowing the password is refused, not
    /// taken for the server. One that asks for a million PBKDF2 iterations
    /// (PostgreSQL 15 asks 4096) is refused at once, not computed for.
    func testTheBuiltinQueryRefusesAWrongSCRAMServerSignature() throws {
        let cluster = try makeCluster()
        let directory = cluster.root + "/standin"
        try PostgresTemplate.makeOwnedDirectory(directory, mode: 0o755, uid: template.uid, gid: template.gid)
        let script = """
            import os, socket, struct, sys
            s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1] + '.new'); os.chmod(sys.argv[1] + '.new', 0o777)
            os.setegid(int(sys.argv[3])); os.seteuid(int(sys.argv[2])); s.listen(8); os.seteuid(0); os.setegid(0)
            os.rename(sys.argv[1] + '.new', sys.argv[1])
            s.settimeout(60)
            def auth(c, code, data=b''):
                c.sendall(b'R' + struct.pack('!ii', 8 + len(data), code) + data)
            while True:
                c, _ = s.accept(); c.settimeout(5)
                try:
                    c.recv(4096)
                    auth(c, 10, b'SCRAM-SHA-256\\0\\0')
                    first = c.recv(4096).decode('latin1')
                    nonce = first[first.index('r=') + 2:]
                    auth(c, 11, ('r=' + nonce + 'standin,s=c2FsdHNhbHQ=,i=' + sys.argv[4]).encode())
                    c.recv(4096)
                    auth(c, 12, b'v=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=')
                    auth(c, 0)
                    c.sendall(b'Z\\0\\0\\0\\x05I')
                    c.recv(4096)
                except Exception:
                    pass
                c.close()
            """
        // Level 3 needs the postmaster of level 1: the real server runs.
        try define(cluster, "db1", ["retries=0"])
        try start()
        for (offset, iterations, problem) in [(1, "4096", "SCRAM signature is wrong"), (2, "1000000", "1000000 SCRAM iterations")] {
            let port = cluster.port + offset, path = directory + "/.s.PGSQL.\(port)"
            unlink(path)
            let standIn = try XCTUnwrap(ChildProcess(["/usr/bin/python3", "-c", script, path, String(template.uid), String(template.gid), iterations]))
            defer { standIn.stop() }
            guard ProcessFixtures.waitUntil(milliseconds: 5000, { FileManager.default.fileExists(atPath: path) }) else {
                throw SetupFailure("the stand-in on \(path) never listened")
            }
            try define(cluster, "standin\(offset)", ["retries=0", "port=\(port)", "socket_directory=\(directory)"])
            let r = try monitor(3, "standin\(offset)")
            XCTAssertEqual(r.status, commandFailed, r.description)
            XCTAssertTrue(r.stdout.contains(problem), r.stdout)
            XCTAssertLessThan(r.milliseconds, 1500, r.description)
        }
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// SCRAM's crypto is libnettle in the companion database-scram.so,
    /// loaded only when the server asks for SCRAM: levels 1 and 2 load
    /// neither it nor libnettle (nor libpq); level 3 against the
    /// scram-sha-256 server loads both (and still no libpq), authenticates
    /// with the right password and is refused with a wrong one. Without
    /// the companion beside the plugin, level 3 fails with the host's line naming it.
    func testTheBuiltinSCRAMUsesLibnettleInItsCompanionOnly() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "table=\(PostgresTemplate.table)"])
        try define(cluster, "wrong", ["retries=0", "password=Wrong-Secret-fshost-9913"])
        try start()
        sandbox.extraEnvironment["LD_DEBUG"] = "files"
        for level in [1, 2] {
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, r.description)
            for library in ["libdatabase-scram.so", "libnettle.so", "libpq.so"] {
                XCTAssertFalse(r.stderr.contains(library), "level \(level) loaded \(library)")
            }
        }
        let level3 = try monitor(3)
        sandbox.extraEnvironment["LD_DEBUG"] = nil
        XCTAssertEqual(level3.status, success, level3.description)
        XCTAssertTrue(level3.stderr.contains("libnettle.so"), "level 3 did not load libnettle")
        XCTAssertFalse(level3.stderr.contains("libpq.so"), "level 3 (builtin) loaded libpq")
        let refused = try monitor(3, "wrong")
        XCTAssertEqual(refused.status, commandFailed, refused.description)
        XCTAssertTrue(refused.stdout.contains("authentication as 'postgres' failed"), refused.stdout)

        // The plugin and the libpq companion without the scram companion.
        let directory = sandbox.root.appendingPathComponent("plugins-without-scram").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        for product in ["libdatabase.so", "libdatabase-libpq.so"] {
            try FileManager.default.copyItem(atPath: HostSandbox.products.appendingPathComponent(product).path,
                                             toPath: directory + "/" + product)
        }
        let pluginPath = sandbox.pluginPath
        sandbox.pluginPath = directory
        defer { sandbox.pluginPath = pluginPath }
        let missing = try monitor(3)
        // The host's verdict on a missing companion: 5 (HA_NOT_SUPPORTED), naming it.
        XCTAssertEqual(missing.status, 5, missing.description)
        XCTAssertTrue(missing.description.contains("companion 'database-scram' not found"), missing.description)
        sandbox.pluginPath = pluginPath
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }
}
