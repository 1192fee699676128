// What another local user can try against a database resource (issue 9's
// review): a look-alike postmaster of their own, a stand-in on the socket,
// paths they can write, and a query that writes. Each is refused or
// ignored, with the status the README gives.
import Foundation
import TestSupport
import XCTest

/// A second unprivileged OS user: "another local user".
enum OtherUser {
    static let name = "fshostpo" + PostgresTemplate.checkoutTag

    /// Creates the user (a stale one removed first); its uid and gid.
    static func make() throws -> (uid: UInt32, gid: UInt32) {
        remove()
        let add = try PostgresTemplate.tool("/usr/sbin/useradd", ["--system", "--no-create-home", "--user-group",
                                                                   "--shell", "/usr/sbin/nologin", name])
        guard add.status == 0, let entry = getpwnam(name) else { throw SetupFailure("useradd \(name) failed: \(add.output)") }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    static func remove() {
        if let entry = getpwnam(name) { PostgresTemplate.killProcesses(of: entry.pointee.pw_uid) }
        _ = try? PostgresTemplate.tool("/usr/sbin/userdel", [name])
    }
}

/// A stand-in "server" on a Unix socket: answers every start-up packet
/// with AuthenticationCleartextPassword and records whether a client then
/// sent a password message ('p').
final class CleartextStandIn: @unchecked Sendable {
    let path: String
    let fd: Int32
    private let lock = NSLock()
    private var _connections = 0, _sawPassword = false
    private var stopped = false
    var connections: Int { lock.withLock { _connections } }
    var sawPassword: Bool { lock.withLock { _sawPassword } }

    init(path: String) throws {
        self.path = path
        unlink(path)
        fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in for (i, b) in path.utf8.enumerated() { raw[i] = b } }
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard fd >= 0, bound == 0, chmod(path, 0o777) == 0, listen(fd, 8) == 0 else {
            throw SetupFailure("stand-in socket \(path): \(String(cString: strerror(errno)))")
        }
        Thread { [self] in serve() }.start()
    }

    private func serve() {
        while !lock.withLock({ stopped }) {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard poll(&pfd, 1, 100) > 0 else { continue }
            let client = accept(fd, nil, nil)
            guard client >= 0 else { continue }
            lock.withLock { _connections += 1 }
            var buffer = [UInt8](repeating: 0, count: 4096)
            if readWithin(client, &buffer) > 0 {
                // 'R', length 8, code 3: AuthenticationCleartextPassword.
                var request: [UInt8] = [0x52, 0, 0, 0, 8, 0, 0, 0, 3]
                _ = send(client, &request, request.count, Int32(MSG_NOSIGNAL))
                if readWithin(client, &buffer) > 0 && buffer[0] == UInt8(ascii: "p") { lock.withLock { _sawPassword = true } }
            }
            close(client)
        }
    }

    private func readWithin(_ client: Int32, _ buffer: inout [UInt8]) -> Int {
        var pfd = pollfd(fd: client, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 2000) > 0 else { return 0 }
        return read(client, &buffer, buffer.count)
    }

    func stop() {
        lock.withLock { stopped = true }
        usleep(200_000)
        close(fd)
        unlink(path)
    }
}

extension DatabaseTests {
    /// Finding 1: another user runs the root-owned postgres with
    /// `-D <this data directory> -D <their own>` (the last -D wins): a
    /// postmaster whose command line names this data directory. It is not
    /// the resource (the master must run as os_user): exclusive and
    /// monitor say not running, start starts the real one, stop leaves it.
    func testAnotherUsersPostmasterNamingThisDataDirectoryIsNotTheResource() throws {
        let cluster = try makeCluster()
        let other = try OtherUser.make()
        defer { OtherUser.remove() }
        // Their own cluster: a copy of the template, theirs.
        let own = cluster.root + "/other-data", ownSockets = cluster.root + "/other-sock"
        XCTAssertEqual(try PostgresTemplate.tool("/bin/cp", ["-a", template.data, own]).status, 0)
        XCTAssertEqual(try PostgresTemplate.tool("/bin/chown", ["-R", "\(other.uid):\(other.gid)", own]).status, 0)
        try PostgresTemplate.makeOwnedDirectory(ownSockets, mode: 0o755, uid: other.uid, gid: other.gid)
        let ownPort = try NginxSite.freePort()
        let spawned = try PostgresTemplate.tool("/usr/bin/setpriv", [
            "--reuid=\(other.uid)", "--regid=\(other.gid)", "--clear-groups", "--", "/usr/bin/setsid", "-f",
            "\(PostgresTemplate.binaries)/postgres", "-D", cluster.data, "-D", own, "-p", String(ownPort), "-k", ownSockets,
            "-c", "listen_addresses=",
        ])
        XCTAssertEqual(spawned.status, 0, spawned.output)
        // Wait until their postmaster runs (its own postmaster.pid).
        for _ in 0..<250 where !FileManager.default.fileExists(atPath: own + "/postmaster.pid") { usleep(20_000) }
        let theirs = PostgresTemplate.processes(of: other.uid).filter { pid in
            let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            return raw.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == cluster.data }
        }
        XCTAssertFalse(theirs.isEmpty, "the other user's postmaster naming \(cluster.data) does not run")

        try define(cluster, "db1", ["retries=0"])
        XCTAssertEqual(try run("database", "exclusive", "db1").status, notRunning, "their postmaster is not this cluster")
        XCTAssertEqual(try monitor(1).status, notRunning)
        try start()
        XCTAssertEqual(try monitor(2).status, success)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
        for pid in theirs { XCTAssertEqual(kill(pid, 0), 0, "stop signalled the other user's process \(pid)") }
        XCTAssertEqual(try run("database", "exclusive", "db1").status, notRunning)
    }

    /// Finding 2: the password goes only to a server running as os_user.
    /// A world-writable socket_directory (sticky or not) is refused; a
    /// stand-in listening on the socket path as another uid gets the
    /// connection but never the password (libpq's requirepeer=os_user).
    func testThePasswordGoesOnlyToAServerRunningAsOsUser() throws {
        let cluster = try makeCluster()
        // A sticky world-writable socket directory: refused at validate.
        let sticky = cluster.root + "/sticky"
        XCTAssertEqual(mkdir(sticky, 0o755), 0)
        XCTAssertEqual(chmod(sticky, 0o1777), 0)
        try define(cluster, "dbsticky", ["socket_directory=\(sticky)"])
        let refused = try run("database", "validate", "dbsticky", "--json")
        XCTAssertEqual(refused.status, noConfigInfo, refused.description)
        XCTAssertTrue(refused.stdout.contains("socket_directory") && refused.stdout.contains("writable by others"),
                      refused.stdout)

        // The real server, then a second resource of the same cluster whose socket is a stand-in's.
        try define(cluster, "db1", ["retries=0"])
        try start()
        let standInDirectory = cluster.root + "/standin"
        XCTAssertEqual(mkdir(standInDirectory, 0o755), 0)
        let fakePort = cluster.port + 1
        let standIn = try CleartextStandIn(path: standInDirectory + "/.s.PGSQL.\(fakePort)")
        defer { standIn.stop() }
        try define(cluster, "db2", ["retries=0", "port=\(fakePort)", "socket_directory=\(standInDirectory)",
                                    "ping_client=builtin"])
        let r = try monitor(3, "db2")
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 2000) { standIn.connections > 0 }, "the stand-in was never asked")
        XCTAssertFalse(standIn.sawPassword, "the password was sent to a process not running as os_user")
        XCTAssertTrue(r.stdout.contains("requirepeer") || r.stdout.contains("peer"), r.stdout)
        XCTAssertEqual(try monitor(3).status, success, "the real server, running as os_user, is reached")
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// Finding 3: a passfile that is another user's symbolic link (to a
    /// root-only 0600 file) is refused at validate and by level 3, before
    /// libpq reads it.
    func testAPassfileLinkAnotherUserControlsIsRefusedAtValidateAndLevel3() throws {
        let cluster = try makeCluster()
        let secret = cluster.root + "/root-secret"
        FileManager.default.createFile(atPath: secret, contents: Data("*:*:*:*:\(PostgresTemplate.password)\n".utf8),
                                       attributes: [.posixPermissions: 0o600])
        let theirs = cluster.root + "/theirs"
        try PostgresTemplate.makeOwnedDirectory(theirs, mode: 0o755, uid: template.uid, gid: template.gid)
        let link = theirs + "/pgpass"
        XCTAssertEqual(symlink(secret, link), 0)
        XCTAssertEqual(lchown(link, template.uid, template.gid), 0)
        try define(cluster, "db1", ["retries=0"])
        try start()
        XCTAssertEqual(try run("cdb", "modify", "database", "db1", "passfile=\(link)", "--unset", "password", "--force").status,
                       success)
        let validated = try run("database", "validate", "db1", "--json")
        XCTAssertEqual(validated.status, noConfigInfo, validated.description)
        XCTAssertTrue(validated.stdout.contains("passfile"), validated.stdout)
        let probed = try monitor(3)
        XCTAssertEqual(probed.status, noConfigInfo, probed.description)
        XCTAssertTrue(probed.stdout.contains("passfile"), probed.stdout)
        // The file itself, root's, in root's directory: accepted.
        XCTAssertEqual(try run("cdb", "modify", "database", "db1", "passfile=\(secret)", "--force").status, success)
        XCTAssertEqual(try monitor(3).status, success)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// Finding 4: a bin_directory another user owns (their pg_ctl would
    /// run as os_user and as root's child) is refused; nothing starts.
    /// Stop of a running cluster whose bin_directory became untrusted uses
    /// signals, never the untrusted pg_ctl.
    func testABinDirectoryAnotherUserCanWriteIsRefused() throws {
        let cluster = try makeCluster()
        let bin = cluster.root + "/bin"
        try PostgresTemplate.makeOwnedDirectory(bin, mode: 0o755, uid: template.uid, gid: template.gid)
        for program in ["pg_ctl", "postgres"] {
            XCTAssertEqual(try PostgresTemplate.tool("/bin/cp", ["\(PostgresTemplate.binaries)/\(program)", bin]).status, 0)
        }
        try define(cluster, "db1", ["retries=0", "bin_directory=\(bin)"])
        for action in ["validate", "start"] {
            let r = try run("database", action, "db1", "--json")
            XCTAssertEqual(r.status, noConfigInfo, "\(action): \(r)")
            XCTAssertTrue(r.stdout.contains("bin_directory") && r.stdout.contains("owned by uid \(template.uid)"), r.stdout)
        }
        XCTAssertEqual(cluster.postmasters(), [], "something started")
        // A link in that directory to the trusted program: the directory still decides.
        XCTAssertEqual(unlink(bin + "/pg_ctl"), 0)
        XCTAssertEqual(symlink("\(PostgresTemplate.binaries)/pg_ctl", bin + "/pg_ctl"), 0)
        XCTAssertEqual(try run("database", "validate", "db1").status, noConfigInfo)

        // Started from the trusted programs, then bin_directory pointed at theirs: stop by signals.
        XCTAssertEqual(try run("cdb", "modify", "database", "db1", "--unset", "bin_directory", "--force").status, success)
        try start()
        let marker = cluster.root + "/pg_ctl-ran"
        XCTAssertEqual(unlink(bin + "/pg_ctl"), 0)
        FileManager.default.createFile(atPath: bin + "/pg_ctl", contents: Data("#!/bin/sh\ntouch \(marker)\n".utf8),
                                       attributes: [.posixPermissions: 0o755])
        XCTAssertEqual(try run("cdb", "modify", "database", "db1", "bin_directory=\(bin)", "--force").status, success)
        let stopped = try run("database", "stop", "db1")
        XCTAssertEqual(stopped.status, success, stopped.description)
        XCTAssertEqual(cluster.postmasters(), [])
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the untrusted pg_ctl ran")
    }

    /// Finding 6: level 3 runs one statement, read only. Two statements
    /// are refused by the server (extended protocol); a single statement
    /// that writes fails in the read-only session; nothing is written.
    func testLevel3RunsOneReadOnlyStatement() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "query=SELECT 1; CREATE TABLE pwned(x int)"])
        try start()
        let two = try monitor(3)
        XCTAssertEqual(two.status, commandFailed, two.description)
        XCTAssertTrue(two.stdout.contains("multiple commands"), two.stdout)
        XCTAssertEqual(try cluster.psql("SELECT to_regclass('pwned') IS NULL").output, "t", "the second statement ran")

        XCTAssertEqual(try run(["cdb", "modify", "database", "db1", "--force",
                                "query=WITH w AS (INSERT INTO \(PostgresTemplate.table) VALUES (7) RETURNING 1) SELECT 1"]).status,
                       success)
        let writes = try monitor(3)
        XCTAssertEqual(writes.status, commandFailed, writes.description)
        XCTAssertTrue(writes.stdout.contains("25006") || writes.stdout.contains("read-only"), writes.stdout)
        XCTAssertEqual(try cluster.psql("SELECT count(*) FROM \(PostgresTemplate.table)").output, "1", "the probe wrote")
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// Finding 8: start of a cluster that already runs on another port (or
    /// socket directory) answers at once, naming what it serves, instead
    /// of waiting the whole start timeout for a socket nobody makes.
    func testStartOfARunningClusterOnAnotherPortAnswersPromptly() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0"])
        try start()
        try define(cluster, "db2", ["retries=0", "port=\(cluster.port + 1)"])
        let r = try run("database", "start", "db2", "--json")
        XCTAssertEqual(r.status, noConfigInfo, r.description)
        XCTAssertTrue(r.stdout.contains("serves port \(cluster.port)"), r.stdout)
        XCTAssertLessThan(r.milliseconds, 5000, r.description)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }
}

extension DatabaseTests {
    /// Finding 5: `password=…` on fshost's command line is readable by
    /// every local user (/proc/PID/cmdline). `cdb define/modify
    /// --value-from-stdin password` reads it from standard input instead.
    func testThePasswordCanBeSetFromStandardInput() throws {
        let cluster = try makeCluster()
        let attributes = cluster.attributes.filter { !$0.hasPrefix("password=") }
        func cdb(_ arguments: [String], input: String) throws -> HostSandbox.Result {
            let r = try sandbox.fshost(arguments, input: input)
            outputs += [r.stdout, r.stderr]
            return r
        }
        let defined = try cdb(["cdb", "define", "database", "db1", "retries=0", "--value-from-stdin", "password"] + attributes,
                              input: PostgresTemplate.password + "\n")
        XCTAssertEqual(defined.status, success, defined.description)
        try start()
        XCTAssertEqual(try monitor(3).status, success, "the password read from standard input")
        let wrong = try cdb(["cdb", "modify", "database", "db1", "--force", "--value-from-stdin", "password"],
                            input: "Wrong-Secret-fshost-5521\r\n")
        XCTAssertEqual(wrong.status, success, wrong.description)
        XCTAssertEqual(try monitor(3).status, commandFailed, "the new password was stored")
        let both = try cdb(["cdb", "modify", "database", "db1", "--force", "password=x", "--value-from-stdin", "password"],
                           input: "y\n")
        XCTAssertEqual(both.status, invalidArguments, both.description)
        let empty = try cdb(["cdb", "modify", "database", "db1", "--force", "--value-from-stdin", "password"], input: "")
        XCTAssertEqual(empty.status, invalidArguments, empty.description)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }
}

extension DatabaseTests {
    /// Finding 9: what every action refuses, the host's schema refuses at
    /// `cdb define` already, where it can tell: an empty or blank `query`
    /// or `table`, `os_user` root (or uid 0). An unknown os_user depends on
    /// the node: refused when an action runs. What the schema cannot say
    /// (a query of semicolons, a table name with quotes) is refused by
    /// every action (testBadInputIsRefusedWithNothingStartedAndNothingChanged).
    func testValuesEveryActionRefusesAreRefusedAtDefine() throws {
        let cluster = try makeCluster()
        for (extra, names) in [("query=", "'query' is empty"), ("query=  ", "'query' is empty"), ("table=", "'table' is empty"),
                               ("os_user=root", "'os_user' is uid 0"), ("os_user=0", "'os_user' is uid 0")] {
            let key = String(extra.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)[0])
            let base = cluster.attributes.filter { !$0.hasPrefix(key + "=") }
            let r = try run(["cdb", "define", "database", "bad"] + base + [extra])
            XCTAssertEqual(r.status, invalidArguments, "\(extra): \(r)")
            XCTAssertTrue(r.stderr.contains(names), "\(extra): \(r.stderr)")
        }
        try define(cluster, "db1")
        let modified = try run(["cdb", "modify", "database", "db1", "os_user=root", "--force"])
        XCTAssertEqual(modified.status, invalidArguments, modified.description)
        // Unknown: accepted at define, refused by the actions.
        try define(cluster, "unknown", ["os_user=nosuchuser-fshost"])
        let validated = try run("database", "validate", "unknown", "--json")
        XCTAssertEqual(validated.status, invalidArguments, validated.description)
        XCTAssertTrue(validated.stdout.contains("nosuchuser-fshost"), validated.stdout)
    }
}

extension DatabaseTests {
    /// Finding 10: a server that hangs up after the password (a stand-in
    /// running as os_user: requirepeer lets it have the password, as the
    /// README says) is a connection failure, not "authentication failed".
    func testAPeerHangingUpAfterThePasswordIsNoAuthenticationVerdict() throws {
        let (cluster, directory) = try startedClusterWithStandInDirectory()
        let fakePort = cluster.port + 1, path = directory + "/.s.PGSQL.\(fakePort)"
        let standIn = try authenticatingStandIn(at: path, listeningAs: template.uid, gid: template.gid)
        defer { standIn.stop() }
        try define(cluster, "db2", ["retries=0", "port=\(fakePort)", "socket_directory=\(directory)", "ping_client=builtin"])
        let r = try monitor(3, "db2")
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stdout.contains("no authentication answer"), r.stdout)
        XCTAssertFalse(r.stdout.contains("check password"), r.stdout)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }
}

extension DatabaseTests {
    /// The builtin ping's peer check (issue 9): a stand-in another user
    /// listens on the resource's socket path and answers the start-up
    /// packet as a server would (an authentication request). Level 2 with
    /// `ping_client=builtin` refuses it before sending anything, with one
    /// line naming the listener's uid; a stand-in running as os_user is
    /// the server as far as the kernel can tell, and passes. With
    /// `ping_client=libpq`, requirepeer refuses it and libpq says only "no
    /// response": the reason names the listener's uid all the same (R9 #13).
    func testTheBuiltinPingRefusesAListenerRunningAsAnotherUser() throws {
        let other = try OtherUser.make()
        defer { OtherUser.remove() }
        // The real server (level 1 of db2 is its postmaster); db2's socket is the stand-in's.
        let (cluster, directory) = try startedClusterWithStandInDirectory()
        let fakePort = cluster.port + 1, path = directory + "/.s.PGSQL.\(fakePort)"
        try define(cluster, "db2", ["retries=0", "port=\(fakePort)", "socket_directory=\(directory)", "ping_client=builtin"])
        try define(cluster, "db2libpq", ["retries=0", "port=\(fakePort)", "socket_directory=\(directory)", "ping_client=libpq"])
        let stranger = try authenticatingStandIn(at: path, listeningAs: other.uid, gid: other.gid)
        let refused = try monitor(2, "db2"), refusedByLibpq = try monitor(2, "db2libpq")
        stranger.stop()
        for r in [refused, refusedByLibpq] {
            XCTAssertEqual(r.status, commandFailed, r.description)
            XCTAssertTrue(r.stdout.contains("uid \(other.uid)") && r.stdout.contains("not os_user"), r.stdout)
            XCTAssertEqual(r.stdout.split(separator: "\n").filter { $0.contains("uid \(other.uid)") }.count, 1, r.stdout)
        }

        // The same stand-in as os_user: the peer check passes (the kernel's word is all it has).
        let owner = try authenticatingStandIn(at: path, listeningAs: template.uid, gid: template.gid)
        defer { owner.stop() }
        let passed = try monitor(2, "db2")
        XCTAssertEqual(passed.status, success, passed.description)
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }
}

extension DatabaseTests {
    /// A stand-in "server" on the Unix socket `path`: answers every
    /// start-up packet with AuthenticationCleartextPassword, reads what
    /// comes next (a password) and hangs up. It binds a temporary name as
    /// root, listens with effective uid `uid` (SO_PEERCRED reports the
    /// credentials listen(2) saw), and renames the socket to `path` once it
    /// listens, so a client finding `path` finds a listener.
    func authenticatingStandIn(at path: String, listeningAs uid: UInt32, gid: UInt32) throws -> ChildProcess {
        let script = """
            import os, socket, sys
            s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1] + '.new'); os.chmod(sys.argv[1] + '.new', 0o777)
            os.setegid(int(sys.argv[3])); os.seteuid(int(sys.argv[2])); s.listen(8); os.seteuid(0); os.setegid(0)
            os.rename(sys.argv[1] + '.new', sys.argv[1])
            s.settimeout(60)
            while True:
                c, _ = s.accept(); c.settimeout(5)
                try:
                    if c.recv(4096):
                        c.sendall(b'R\\0\\0\\0\\x08\\0\\0\\0\\x03'); c.recv(4096)
                except Exception:
                    pass
                c.close()
            """
        unlink(path)
        let child = try XCTUnwrap(ChildProcess(["/usr/bin/python3", "-c", script, path, String(uid), String(gid)]))
        guard ProcessFixtures.waitUntil(milliseconds: 5000, { FileManager.default.fileExists(atPath: path) }) else {
            child.stop()
            throw SetupFailure("the stand-in on \(path) never listened")
        }
        return child
    }
}
