// The builtin client's authentication against stand-ins and a real
// server (R9 #1, #5, #6, #12): what it must refuse, what it hands to libpq
// (md5, non-ASCII SCRAM passwords) and within which time.
import Foundation
import TestSupport
import XCTest

extension DatabaseTests {
    /// A cluster started as resource `db1` (levels 3's of stand-ins need
    /// its postmaster for level 1), and a directory beside it owned by
    /// os_user (as validate wants) for stand-ins' sockets.
    func startedClusterWithStandInDirectory() throws -> (PostgresCluster, String) {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0"])
        try start()
        let directory = cluster.root + "/standin"
        try PostgresTemplate.makeOwnedDirectory(directory, mode: 0o755, uid: template.uid, gid: template.gid)
        return (cluster, directory)
    }

    /// A stand-in server on the Unix socket `path`, listening as uid/gid
    /// (the peer check passes, as for a program os_user runs), that plays
    /// `scenario` on every connection and answers any query that gets
    /// through with one row, `1` — so a client fooled by it passes level 3.
    ///   skip_auth         ReadyForQuery straight after the StartupMessage
    ///   ok_before_final   SCRAM begun, then AuthenticationOk (no proof)
    ///   ok_without_final  SCRAM to the client's proof, then AuthenticationOk without `v=`
    ///   md5slow           2.5 s, md5 request, 2.5 s, AuthenticationOk
    /// Level 2's ping (a StartupMessage without `options`) is answered at once.
    func protocolStandIn(at path: String, scenario: String) throws -> ChildProcess {
        let script = """
            import os, socket, struct, sys, threading, time
            path, uid, gid, scenario = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
            s = socket.socket(socket.AF_UNIX); s.bind(path + '.new'); os.chmod(path + '.new', 0o777)
            os.setegid(gid); os.seteuid(uid); s.listen(8); os.seteuid(0); os.setegid(0)
            os.rename(path + '.new', path)
            def msg(t, body=b''): return t + struct.pack('!i', len(body) + 4) + body
            def R(code, data=b''): return msg(b'R', struct.pack('!i', code) + data)
            def recvall(c, n):
                b = b''
                while len(b) < n:
                    x = c.recv(n - len(b))
                    if not x: raise EOFError
                    b += x
                return b
            def recvmsg(c):
                t = recvall(c, 1); n = struct.unpack('!i', recvall(c, 4))[0]; return t, recvall(c, n - 4)
            def handle(c):
                try:
                    n = struct.unpack('!i', recvall(c, 4))[0]; startup = recvall(c, n - 4)
                    if b'options' not in startup:
                        c.sendall(R(5, b'abcd')); return  # level 2's ping (no options): answered at once
                    if scenario == 'skip_auth':
                        c.sendall(msg(b'Z', b'I'))
                    elif scenario == 'ok_before_final':
                        c.sendall(R(10, b'SCRAM-SHA-256\\0\\0')); recvmsg(c); c.sendall(R(0) + msg(b'Z', b'I'))
                    elif scenario == 'ok_without_final':
                        c.sendall(R(10, b'SCRAM-SHA-256\\0\\0')); t, body = recvmsg(c)
                        first = body[body.index(b'\\0') + 5:].decode()
                        nonce = first[first.index('r=') + 2:]
                        c.sendall(R(11, ('r=' + nonce + 'srv,s=c2FsdHNhbHQ=,i=4096').encode())); recvmsg(c)
                        c.sendall(R(0) + msg(b'Z', b'I'))
                    elif scenario == 'md5slow':
                        time.sleep(2.5); c.sendall(R(5, b'abcd')); recvmsg(c); time.sleep(2.5); c.sendall(R(0) + msg(b'Z', b'I'))
                    while recvmsg(c)[0] != b'S': pass
                    row = msg(b'D', struct.pack('!hi', 1, 1) + b'1')
                    c.sendall(msg(b'1') + msg(b'2') + row + msg(b'C', b'SELECT 1\\0') + msg(b'Z', b'I'))
                    c.recv(4096)
                except Exception:
                    pass
                c.close()
            s.settimeout(120)
            while True:
                c, _ = s.accept(); c.settimeout(10)
                threading.Thread(target=handle, args=(c,), daemon=True).start()
            """
        unlink(path)
        let child = try XCTUnwrap(ChildProcess(["/usr/bin/python3", "-c", script, path, String(template.uid),
                                                String(template.gid), scenario]))
        guard ProcessFixtures.waitUntil(milliseconds: 5000, { FileManager.default.fileExists(atPath: path) }) else {
            child.stop()
            throw SetupFailure("the stand-in on \(path) never listened")
        }
        return child
    }

    /// R9 #5: once SCRAM began, the builtin client believes no
    /// AuthenticationOk before it checked the server's signature, and no
    /// ReadyForQuery comes before AuthenticationOk (libpq refuses that
    /// too): a stand-in running as os_user that does not know the password
    /// cannot pass level 3 by skipping the proof or the whole exchange.
    func testTheBuiltinClientRefusesAServerSkippingAuthentication() throws {
        let (cluster, directory) = try startedClusterWithStandInDirectory()
        for (offset, scenario, problem) in [(1, "skip_auth", "ready before any authentication"),
                                            (2, "ok_before_final", "before proving it knows the password"),
                                            (3, "ok_without_final", "before proving it knows the password")] {
            let port = cluster.port + offset, path = directory + "/.s.PGSQL.\(port)"
            let standIn = try protocolStandIn(at: path, scenario: scenario)
            defer { standIn.stop() }
            try define(cluster, scenario, ["retries=0", "port=\(port)", "socket_directory=\(directory)", "query_timeout=3s"])
            let r = try monitor(3, scenario)
            XCTAssertEqual(r.status, commandFailed, "\(scenario): \(r)")
            XCTAssertTrue(r.stdout.contains(problem), "\(scenario): \(r.stdout)")
        }
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// R9 #6: when the builtin client hands over to libpq (md5), libpq
    /// gets what is left of query_timeout: a server slow at both attempts
    /// ends level 3 within its limit (3 s), not after 5.5 s.
    func testTheLibpqFallbackGetsOnlyTheTimeLeft() throws {
        let (cluster, directory) = try startedClusterWithStandInDirectory()
        let port = cluster.port + 1, path = directory + "/.s.PGSQL.\(port)"
        let standIn = try protocolStandIn(at: path, scenario: "md5slow")
        defer { standIn.stop() }
        try define(cluster, "slow", ["retries=0", "port=\(port)", "socket_directory=\(directory)", "query_timeout=3s"])
        let r = try monitor(3, "slow")
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stdout.contains("limit"), r.stdout)
        XCTAssertLessThan(r.milliseconds, 3800, "level 3 outlived query_timeout: \(r)")
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }
}

extension DatabaseTests {
    /// R9 #12 and #1: every authentication the README names, with both
    /// clients, on a real server whose pg_hba.conf gives each role its
    /// method: md5 (the builtin client hands over to libpq), cleartext
    /// `password`, `trust`, and SCRAM with non-ASCII passwords SASLprep
    /// changes (NBSP and the ligature U+FB01; `e` + combining acute): the
    /// builtin client answers as libpq does (it hands such a password to
    /// libpq, which prepares it as the server did). A wrong md5 or
    /// cleartext password fails with both.
    func testEveryAuthenticationMethodAnswersAsLibpqDoes() throws {
        let cluster = try makeCluster()
        let hba = cluster.data + "/pg_hba.conf"
        let original = try String(contentsOfFile: hba, encoding: .utf8)
        let methods = "local all md5user md5\nlocal all pwuser password\nlocal all trustuser trust\n"
        try (methods + original).write(toFile: hba, atomically: false, encoding: .utf8)
        try define(cluster, "db1", ["retries=0"])
        try start()
        let nbsp = "Ab\u{A0}cd-\u{FB01}-S4sl", decomposed = "Cafe\u{301}-S4sl-2"
        let setup = try cluster.psql("""
            SET password_encryption = 'md5'; CREATE ROLE md5user LOGIN PASSWORD 'Md5-pw-1';
            RESET password_encryption; CREATE ROLE pwuser LOGIN PASSWORD 'Clear-pw-2'; CREATE ROLE trustuser LOGIN;
            CREATE ROLE sasl1 LOGIN PASSWORD '\(nbsp)'; CREATE ROLE sasl2 LOGIN PASSWORD '\(decomposed)';
            GRANT SELECT ON \(PostgresTemplate.table) TO md5user, pwuser, trustuser, sasl1, sasl2
            """)
        XCTAssertEqual(setup.status, 0, setup.output)
        sandbox.extraEnvironment["FSHOST_DEBUG"] = "1"
        for (role, password, right) in [("md5user", "Md5-pw-1", true), ("md5user", "Md5-wrong", false),
                                        ("pwuser", "Clear-pw-2", true), ("pwuser", "Clear-wrong", false),
                                        ("trustuser", "anything", true), ("sasl1", nbsp, true), ("sasl2", decomposed, true),
                                        ("sasl1", "Ab cd-fi-S4sl-wrong", false)] {
            for client in ["builtin", "libpq"] {
                let name = "\(role)-\(client)-\(right)"
                try define(cluster, name, ["retries=0", "user=\(role)", "password=\(password)", "query_client=\(client)",
                                           "table=\(PostgresTemplate.table)"])
                let r = try monitor(3, name)
                XCTAssertEqual(r.status, right ? success : commandFailed, "\(role) \(client) \(right): \(r) \(r.stdout)")
                if !right { XCTAssertTrue(r.stdout.contains("authentication as '\(role)' failed"), r.stdout) }
                // md5 and a non-ASCII SCRAM password go to libpq; an ASCII one stays builtin.
                if client == "builtin" && (role == "md5user" || password.utf8.contains { $0 >= 0x80 }) {
                    XCTAssertTrue(r.stderr.contains("asking libpq"), "\(role): \(r.stderr)")
                }
            }
        }
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }
}
