// Real PostgreSQL 15 clusters for the database tests: an unprivileged OS
// user the fixture creates (useradd) and removes (userdel), one cluster
// made with initdb per test class (the template), copied per test into a
// temporary directory with its socket directory, on a free loopback port.
// Nothing is left running: every process of the user is killed at the
// end of each test and of the class.
import Foundation
import TestSupport

/// The OS user and the template data directory, made once per class.
final class PostgresTemplate: @unchecked Sendable {
    static let binaries = "/usr/lib/postgresql/15/bin"
    /// One name per checkout ("fshostpg" + 8 hex digits of the package
    /// directory), so test runs in two worktrees never remove each other's
    /// user; a run in the same checkout replaces a stale one a killed run left.
    static let userName = "fshostpg" + checkoutTag
    /// FNV-1a of the working directory (the package root under `swift test`), as 8 hex digits.
    static let checkoutTag: String = {
        var hash: UInt32 = 2_166_136_261
        for byte in FileManager.default.currentDirectoryPath.utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let hex = String(hash, radix: 16)
        return String(repeating: "0", count: 8 - hex.count) + hex
    }()
    /// The superuser's password (initdb --pwfile): what tests look for in every output.
    static let password = "Pg-Secret-fshost-7319"
    static let table = "fshost_probe"

    let uid: UInt32, gid: UInt32
    let root: String
    var data: String { root + "/data" }

    /// The template, or the set-up failure (with the user and files removed).
    static func make() -> Result<PostgresTemplate, Error> {
        Result {
            do { return try PostgresTemplate() } catch {
                removeUser()
                throw error
            }
        }
    }

    /// Creates the user (removing a stale one a killed run left) and the
    /// template cluster, with a table holding one row.
    private init() throws {
        for tool in ["initdb", "pg_ctl", "postgres", "psql", "pg_basebackup"] where
            !FileManager.default.isExecutableFile(atPath: "\(Self.binaries)/\(tool)") {
            throw SetupFailure("\(Self.binaries)/\(tool) is not installed (Debian package postgresql-15)")
        }
        if getpwnam(Self.userName) != nil { Self.removeUser() }
        let add = try Self.tool("/usr/sbin/useradd", ["--system", "--no-create-home", "--user-group",
                                                      "--shell", "/usr/sbin/nologin", Self.userName])
        guard add.status == 0, let entry = getpwnam(Self.userName) else {
            throw SetupFailure("useradd \(Self.userName) failed: \(add.output)")
        }
        uid = entry.pointee.pw_uid
        gid = entry.pointee.pw_gid
        root = try Self.temporaryDirectory("fshost-pg-template")
        do { try makeCluster() } catch {
            try? FileManager.default.removeItem(atPath: root)
            throw error
        }
    }

    private func makeCluster() throws {
        try Self.makeOwnedDirectory(data, mode: 0o700, uid: uid, gid: gid)
        let pwfile = root + "/pw"
        FileManager.default.createFile(atPath: pwfile, contents: Data((Self.password + "\n").utf8),
                                       attributes: [.posixPermissions: 0o600])
        chown(pwfile, uid, gid)
        let initdb = try asUser(["\(Self.binaries)/initdb", "-D", data, "-U", "postgres", "--pwfile=\(pwfile)",
                                 "-A", "scram-sha-256", "--no-sync", "--no-instructions"])
        unlink(pwfile)
        guard initdb.status == 0 else { throw SetupFailure("initdb failed: \(initdb.output)") }
        // The probe table, with one row, made on a short-lived server.
        let sockets = root + "/sock"
        try Self.makeOwnedDirectory(sockets, mode: 0o755, uid: uid, gid: gid)
        let port = try NginxSite.freePort()
        let start = try asUser(["\(Self.binaries)/pg_ctl", "start", "-D", data, "-w", "-s", "-l", sockets + "/template.log",
                                "-o", "-p \(port) -k \(sockets) -c listen_addresses="])
        guard start.status == 0 else { throw SetupFailure("pg_ctl start of the template failed: \(start.output)") }
        let create = try Self.psql(socketDirectory: sockets, port: Int(port),
                                   "CREATE TABLE \(Self.table) (id int); INSERT INTO \(Self.table) VALUES (1)")
        let stop = try asUser(["\(Self.binaries)/pg_ctl", "stop", "-D", data, "-m", "fast", "-w", "-s"])
        guard create.status == 0 else { throw SetupFailure("creating the probe table failed: \(create.output)") }
        guard stop.status == 0 else { throw SetupFailure("pg_ctl stop of the template failed: \(stop.output)") }
    }

    /// Kills every process of the user, removes the template and the user.
    func remove() {
        Self.killProcesses(of: uid)
        try? FileManager.default.removeItem(atPath: root)
        Self.removeUser()
    }

    // MARK: Commands

    struct Output { let status: Int32; let output: String }

    /// Runs `argv` as the test user (setpriv, no shell), stdout+stderr captured.
    func asUser(_ argv: [String], environment: [String: String] = [:]) throws -> Output {
        var prefix = ["/usr/bin/setpriv", "--reuid=\(uid)", "--regid=\(gid)", "--init-groups", "--"]
        if !environment.isEmpty { prefix += ["/usr/bin/env"] + environment.map { "\($0.key)=\($0.value)" } }
        return try Self.tool(prefix[0], Array(prefix.dropFirst()) + argv)
    }

    /// psql as root over the socket, the password in its environment.
    static func psql(socketDirectory: String, port: Int, database: String = "postgres", _ sql: String) throws -> Output {
        try tool("\(binaries)/psql", ["-h", socketDirectory, "-p", String(port), "-U", "postgres", "-d", database,
                                      "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql],
                 environment: ["PGPASSWORD": password, "PGCONNECT_TIMEOUT": "5"])
    }

    /// Runs `path` with `arguments` (posix_spawn + waitpid, not Foundation's
    /// Process: a server it starts would inherit Process's descriptors and
    /// the wait would never end), stdout and stderr to a file, every other
    /// descriptor closed.
    static func tool(_ path: String, _ arguments: [String], environment: [String: String] = [:]) throws -> Output {
        let out = "/tmp/fshost-pg-out-\(UUID().uuidString)"
        defer { unlink(out) }
        var env = ProcessInfo.processInfo.environment
        for (k, v) in environment { env[k] = v }
        let cArgs: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
        let cEnv: [UnsafeMutablePointer<CChar>?] = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { cArgs.forEach { free($0) }; cEnv.forEach { free($0) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, out, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        for fd in open where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, path, &actions, nil, cArgs, cEnv)
        guard rc == 0 else { throw SetupFailure("posix_spawn \(path): \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let text = (try? String(contentsOfFile: out, encoding: .utf8)) ?? ""
        let code: Int32 = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        return Output(status: code, output: text.trimmingCharacters(in: .whitespacesAndNewlines))
    }

    // MARK: Processes and files

    /// Pids of every process whose real uid is `uid` (zombies left out).
    static func processes(of uid: UInt32) -> [Int32] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name -> Int32? in
            guard let pid = Int32(name), let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
            else { return nil }
            var real: UInt32?, zombie = false
            for line in status.split(separator: "\n") {
                if line.hasPrefix("Uid:") { real = line.split(separator: "\t").dropFirst().first.flatMap { UInt32($0) } }
                if line.hasPrefix("State:") && line.contains("Z") { zombie = true }
            }
            return real == uid && !zombie ? pid : nil
        }
    }

    /// SIGCONT then SIGKILL to every process of `uid`, until none is left (at most 5 s).
    static func killProcesses(of uid: UInt32) {
        for _ in 0..<250 {
            let pids = processes(of: uid)
            if pids.isEmpty { return }
            for pid in pids { kill(pid, SIGKILL); kill(pid, SIGCONT) }
            usleep(20_000)
        }
    }

    static func removeUser() {
        if let entry = getpwnam(userName) { killProcesses(of: entry.pointee.pw_uid) }
        _ = try? tool("/usr/sbin/userdel", [userName])
    }

    static func temporaryDirectory(_ prefix: String) throws -> String {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SetupFailure("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: made)
        chmod(path, 0o755)
        return path
    }

    static func makeOwnedDirectory(_ path: String, mode: mode_t, uid: UInt32, gid: UInt32) throws {
        guard mkdir(path, mode) == 0 || errno == EEXIST, chmod(path, mode) == 0, chown(path, uid, gid) == 0 else {
            throw SetupFailure("cannot make \(path): \(String(cString: strerror(errno)))")
        }
    }
}

/// One test's cluster: a copy of the template in its own directory, a
/// socket directory beside it, a free port. Nothing runs until fshost starts it.
final class PostgresCluster {
    let template: PostgresTemplate
    let root: String
    let port: Int
    var data: String { root + "/data" }
    var sockets: String { root + "/sock" }
    var pidFile: String { data + "/postmaster.pid" }

    init(_ template: PostgresTemplate, copyTemplate: Bool = true) throws {
        self.template = template
        root = try PostgresTemplate.temporaryDirectory("fshost-pg")
        port = Int(try NginxSite.freePort())
        try PostgresTemplate.makeOwnedDirectory(sockets, mode: 0o755, uid: template.uid, gid: template.gid)
        if copyTemplate {
            let copy = try PostgresTemplate.tool("/bin/cp", ["-a", template.data, data])
            guard copy.status == 0 else { throw SetupFailure("cp -a of the template failed: \(copy.output)") }
        } else {
            try PostgresTemplate.makeOwnedDirectory(data, mode: 0o700, uid: template.uid, gid: template.gid)
        }
    }

    /// The attributes of a resource for this cluster.
    var attributes: [String] {
        ["data_directory=\(data)", "os_user=\(PostgresTemplate.userName)", "port=\(port)",
         "socket_directory=\(sockets)", "password=\(PostgresTemplate.password)"]
    }

    /// The postmaster's pid from postmaster.pid, when the file is there.
    var postmasterPid: Int32? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8) else { return nil }
        return text.split(separator: "\n").first.flatMap { Int32($0.trimmingCharacters(in: .whitespaces)) }
    }

    /// Processes of the test user whose command line names this data directory.
    func postmasters() -> [Int32] {
        PostgresTemplate.processes(of: template.uid).filter { pid in
            let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            return raw.split(separator: 0).contains { String(decoding: $0, as: UTF8.self) == data }
        }
    }

    func psql(_ sql: String, database: String = "postgres") throws -> PostgresTemplate.Output {
        try PostgresTemplate.psql(socketDirectory: sockets, port: port, database: database, sql)
    }

    /// Every file below the data directory with its size and mtime: what
    /// "nothing in the data directory changed" compares.
    func snapshot() -> [String: String] {
        var out: [String: String] = [:]
        guard let walker = FileManager.default.enumerator(atPath: data) else { return out }
        while let name = walker.nextObject() as? String {
            var st = stat()
            guard lstat(data + "/" + name, &st) == 0 else { continue }
            out[name] = "\(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_mode)"
        }
        return out
    }

    func remove() { try? FileManager.default.removeItem(atPath: root) }
}
