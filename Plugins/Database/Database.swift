// The database resource type: a PostgreSQL cluster (one data directory),
// started and stopped with pg_ctl as the database's OS user, with four
// monitoring levels after the FailSafe guide: "for a database, a simple
// request such as querying a table can be made."
//
//   level 1  process      the postmaster runs: postmaster.pid's pid is a
//                         `postgres` with `-D <data directory>` (the host's
//                         matcher, that one pid with its start time)
//   level 2  accepting    the start-up exchange (builtin, or PQpingParams) answers "accepting"
//   level 3  query        connect (builtin protocol client with SCRAM, or libpq),
//                         run the query (statement_timeout inside the
//                         level's budget), compare the first value with the
//                         expected answer
//   level 4  replication  a standby's WAL receiver streams with a replay lag
//                         under max_replay_lag; a primary has its expected
//                         standbys connected and streaming
//
// libpq lives in the companion database-libpq.so, loaded only when a level
// asks libpq (ping_client/query_client=libpq, a passfile, md5): this plugin
// does not link it, so level 1 costs a process check, and by default no
// level loads it (BuiltinQuery, StartupPing).
// Start, stop, restart and exclusive are the SDK's daemon lifecycle around
// pg_ctl, run as the OS user through setpriv (an argv, never a shell).
import FSKit
import PostgresCall
import SCRAMCall
#if canImport(Glibc)
import Glibc
#endif

struct Database: DaemonType {
    // MARK: Description

    /// Level 2's client.
    enum PingClient: String, CaseIterable, Sendable { case libpq, builtin }

    static let summary = "A PostgreSQL cluster: pg_ctl start/stop as its OS user; process, connection, query and replication checks"

    static let dataDirectory = Attribute.path("data_directory",
        "the cluster's data directory (made by initdb; holds PG_VERSION and postmaster.pid)").required
    static let osUser = Attribute.user("os_user", default: "postgres", notRoot: true,
        "the OS user the server runs as (owns the data directory; PostgreSQL refuses root)")
    static let binDirectory = Attribute.path("bin_directory",
        "where pg_ctl and postgres are; default /usr/lib/postgresql/<major>/bin, the major from the data directory's PG_VERSION")
    static let port = Attribute.port("port", default: 5432, "the server's port (passed to postgres as -p; names its socket file)")
    static let socketDirectory = Attribute.path("socket_directory", default: "/run/postgresql",
        "the directory of the server's Unix socket (passed as -k); levels 2-4 connect there")
    static let logFile = Attribute.path("log_file",
        "the server's log before its own logging starts (pg_ctl -l); default <data_directory>/postmaster.log")
    static let database = Attribute.string("database", default: "postgres", "the database levels 2-4 connect to")
    static let user = Attribute.string("user", default: "postgres", "the database role levels 2-4 connect as")
    static let password = Attribute.secret("password",
        "the role's password (a secret: given to libpq in memory, never on a command line; never shown)")
    static let passfile = Attribute.path("passfile",
        "a libpq password file (mode 0600, owned by root) instead of password")
    static let table = Attribute.string("table", nonBlank: true,
        "the table level 3 queries (SELECT 1 FROM <table> LIMIT 1; it must hold a row), optionally schema.table")
    static let query = Attribute.string("query", nonBlank: true,
        "level 3's query instead (its first row's first value is compared); default from table, else SELECT 1")
    static let expectedAnswer = Attribute.string("expected_answer", default: "1",
        "the value the query's first row's first column must have, byte for byte (a NULL matches none)")
    static let pingTimeout = Attribute.positiveDuration("ping_timeout", default: .seconds(5),
        "level 2's limit (the whole ping)").monitorOnly
    static let pingClient = Attribute.choice("ping_client", default: PingClient.builtin,
        "level 2's client: libpq (PQpingParams in the companion) or builtin (the same start-up exchange on a socket of its own: no libpq to load)")
    static let queryClient = Attribute.choice("query_client", default: PingClient.builtin,
        "levels 3-4's client: builtin (the protocol on the Unix socket, SCRAM-SHA-256, password or trust; no libpq to load) or libpq (the companion; also what builtin falls back to for md5, a passfile, or other methods)")
    static let queryTimeout = Attribute.positiveDuration("query_timeout", default: .seconds(10),
        "level 3's limit: connect and query; the server's statement_timeout is set inside it").monitorOnly
    static let replicationTimeout = Attribute.positiveDuration("replication_timeout", default: .seconds(10),
        "level 4's limit: connect and the replication query").monitorOnly
    static let standby = Attribute.boolean("standby", default: false,
        "the cluster is a streaming standby (level 4 checks its WAL receiver and replay lag)")
    static let expectedStandbys = Attribute.string("expected_standbys",
        "comma-separated application_names of the standbys a primary must have streaming (level 4)")
    static let maxReplayLag = Attribute.positiveDuration("max_replay_lag", default: .seconds(30),
        "level 4 on a standby: the most its replay may lag behind what it received")

    static let attributes: [Attribute] = [
        dataDirectory, osUser, binDirectory, port, socketDirectory, logFile, database, user, password, passfile,
        table, query, expectedAnswer, pingTimeout, pingClient, queryClient, queryTimeout, replicationTimeout, standby, expectedStandbys,
        maxReplayLag,
    ]

    static let levels = [
        MonitorLevel(1, "process", checks: "the postmaster runs: postmaster.pid's pid is postgres -D data_directory",
                     cost: "a pidfile read and one process's /proc files"),
        MonitorLevel(2, "accepting", checks: "the start-up exchange over the Unix socket (builtin, or PQping with ping_client=libpq): the server accepts connections, within ping_timeout",
                     cost: "one connection attempt; loads libpq (the database-libpq companion) only with ping_client=libpq"),
        MonitorLevel(3, "query", checks: "connect as user and run the query; its first value is expected_answer, within query_timeout",
                     cost: "one connection, one query; no libpq unless query_client=libpq or a passfile"),
        MonitorLevel(4, "replication", checks: "standby: WAL receiver streaming, replay lag under max_replay_lag; primary: expected_standbys streaming",
                     cost: "one connection, one query; only for standby=true or expected_standbys"),
    ]

    static let defaults = ActionDefaults(
        timeouts: [.exclusive: .seconds(5), .start: .seconds(120), .stop: .seconds(60), .monitor: .seconds(30),
                   .restart: .seconds(180), .validate: .seconds(10)],
        level: 2, retries: 1, retryInterval: .seconds(1))

    /// Start returns once the server accepts connections.
    static let readinessLevel: UInt32 = 2

    // MARK: Configuration

    let resource: Resource
    var daemon: Daemon
    let dataDirectory: String, osUser: String, binDirectory: String?, binProblem: String?
    /// os_user's uid (nil: no such user).
    let osUid: UInt32?
    /// State key: "os_user:uid" as resolved at the last start.
    static let osUserKey = "os_user"
    let port: Int, socketDirectory: String, logFile: String
    let connection: PostgresCall.Connection
    let passfile: String?
    let expectedAnswer: String
    let pingTimeout: Duration, queryTimeout: Duration, replicationTimeout: Duration
    let pingClient: PingClient
    let queryClient: PingClient
    let standby: Bool, maxReplayLag: Duration
    /// Level 3's query, or why there is none.
    let monitorQuery: Result<String, Problem>
    /// Level 4's standby names, or why they are no list (nil: none expected).
    let expectedStandbys: Result<[String], Problem>?

    init(resource: Resource) throws(ConfigurationError) {
        self.resource = resource
        dataDirectory = ServerPaths.canonical(resource[Self.dataDirectory])
        osUser = resource[Self.osUser]
        port = resource[Self.port]
        socketDirectory = ServerPaths.canonical(resource[Self.socketDirectory])
        logFile = resource[Self.logFile] ?? dataDirectory + "/postmaster.log"
        passfile = resource[Self.passfile]
        connection = PostgresCall.Connection(host: socketDirectory, port: port, database: resource[Self.database],
                                             user: resource[Self.user], password: resource[Self.password]?.revealed,
                                             passfile: passfile, requirePeer: resource[Self.osUser])
        expectedAnswer = resource[Self.expectedAnswer]
        pingTimeout = resource[Self.pingTimeout]
        pingClient = resource[Self.pingClient]
        queryClient = resource[Self.queryClient]
        queryTimeout = resource[Self.queryTimeout]
        replicationTimeout = resource[Self.replicationTimeout]
        standby = resource[Self.standby]
        maxReplayLag = resource[Self.maxReplayLag]
        monitorQuery = MonitorQuery.make(query: resource[Self.query], table: resource[Self.table])
        expectedStandbys = resource[Self.expectedStandbys].map(Replication.standbyNames)

        // The programs: given, or those of the major version that made the data directory.
        if let given = resource[Self.binDirectory] {
            binDirectory = ServerPaths.canonical(given)
            binProblem = nil
        } else {
            switch ServerPaths.majorVersion(of: dataDirectory) {
            case .success(let major): binDirectory = ServerPaths.binDirectory(major: major); binProblem = nil
            case .failure(let why): binDirectory = nil; binProblem = "attribute 'data_directory': \(dataDirectory): \(why)"
            }
        }
        let pgctl = (binDirectory ?? "/nonexistent") + "/pg_ctl"
        // The uid kept at the last start, so a monitor asks no directory
        // service (getpwnam may: README, the `.user` kind); else looked up.
        let user = resource[Self.osUser]
        let kept = resource.state[Self.osUserKey].flatMap { text -> UInt32? in
            let parts = text.split(separator: ":")
            return parts.count == 2 && parts[0] == user ? UInt32(parts[1]) : nil
        }
        osUid = kept ?? Launch.Account(user)?.uid
        daemon = Daemon(
            resource: resource,
            // postmaster.pid is written by the server as os_user in its own data directory.
            pidFile: PidFile(dataDirectory + "/postmaster.pid", trustedOwners: Set([0, geteuid()] + (osUid.map { [$0] } ?? []))),
            // Only a postgres running as os_user is this cluster's: another
            // local user may run the same root-owned program with
            // `-D <this data directory> -D <their own>` (the last -D wins).
            // An unknown os_user: uid -1, which no process has.
            master: ProcessPattern(name: "postgres", argument: dataDirectory, owner: osUid ?? UInt32.max),
            start: [pgctl, "start"],  // completed in start(): its wait depends on the time left
            launch: Launch(user: osUser, workingDirectory: dataDirectory),
            // pg_ctl stop's modes (PostgreSQL 15 docs, "Shutting Down the Server"):
            // fast (SIGINT) most of the time, immediate (SIGQUIT) near the end, then KILL.
            stop: StopLadder(.command("fast", [pgctl, "stop", "-D", dataDirectory, "-m", "fast", "-W", "-s"], share: 7),
                             .command("immediate", [pgctl, "stop", "-D", dataDirectory, "-m", "immediate", "-W", "-s"], share: 2),
                             .signal("KILL", SIGKILL, share: 1, group: true)),
            ports: [Daemon.Endpoint(IPAddress(numeric: "127.0.0.1")!, UInt16(port)),
                    .unixSocket(ServerPaths.socket(in: socketDirectory, port: port))],
            pidFileAttribute: "data_directory", stateKey: "postmaster",
            privatePidFile: true)
        // The socket's lock file (PostgreSQL 15 docs, "Connections and Authentication": unix_socket_directories).
        daemon.lockFiles = [PidFile(ServerPaths.socket(in: socketDirectory, port: port) + ".lock",
                                    trustedOwners: daemon.pidFile.trustedOwners)]
    }

    // MARK: Validation

    /// What the host's schema cannot express, checked before anything runs
    /// (validate, start, every monitor level): HA_INVAL_ARGS naming the attribute.
    func checkValues() -> Outcome {
        for (name, path) in [("data_directory", dataDirectory), ("socket_directory", socketDirectory), ("log_file", logFile)] {
            if let why = ServerPaths.shellProblem(path) {
                return .invalid("attribute '\(name)': \(why): '\(LogText.escaped(path, limit: 200))'")
            }
        }
        if dataDirectory == "/" { return .invalid("attribute 'data_directory' cannot be /") }
        let socket = ServerPaths.socket(in: socketDirectory, port: port)
        if socket.utf8.count > UnixSocketProbe.pathCapacity {
            return .invalid("attribute 'socket_directory': the socket path \(socket) is longer than \(UnixSocketProbe.pathCapacity) bytes")
        }
        if case .failure(let why) = monitorQuery { return .invalid(why.description) }
        if case .failure(let why)? = expectedStandbys { return .invalid(why.description) }
        if resource[Self.password] != nil && passfile != nil {
            return .invalid("attributes 'password' and 'passfile' are both set: set one")
        }
        return osUserProblem ?? .success
    }

    /// os_user unknown (and no uid kept from the last start) or root:
    /// HA_INVAL_ARGS naming it, at every action, stop and exclusive too. An
    /// unknown user's processes cannot be this cluster's and its pidfile's
    /// trust cannot be judged: this says why, where the pidfile check would
    /// answer HA_CMD_FAILED (and a failed stop fences the node). Nil when fit.
    var osUserProblem: Outcome? {
        guard let osUid else { return .invalid("attribute 'os_user': no user '\(LogText.escaped(osUser, limit: 64))' on this node") }
        if osUid == 0 {
            return .invalid("attribute 'os_user': " + (osUser == "root" ? "root" : "\(osUser) is uid 0 (root)")
                            + ": PostgreSQL refuses to run as root")
        }
        return nil
    }

    /// Before start, before restart stops anything, and on `validate`: the
    /// values, then the files (HA_NOCFGINFO naming the attribute). Reads
    /// only: nothing in the data directory is written.
    func validate() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        guard let account = Launch.Account(osUser) else { return .invalid("attribute 'os_user': no user '\(osUser)' on this node") }
        if let problem = FileCheck.problem(dataDirectory, .kind(.directory)) {
            return .badConfiguration("attribute 'data_directory': \(dataDirectory): \(problem)")
        }
        if let binProblem { return .badConfiguration(binProblem) }
        if case .success(let info) = FileCheck.info(dataDirectory), info.owner != account.uid {
            return .badConfiguration("attribute 'data_directory': \(dataDirectory) is owned by uid \(info.owner), not by os_user "
                                     + "\(osUser) (uid \(account.uid)); the server would refuse it")
        }
        if let problem = programsProblem { return .badConfiguration(problem) }
        if let problem = FileCheck.problem(socketDirectory, .kind(.directory)) {
            return .badConfiguration("attribute 'socket_directory': \(socketDirectory): \(problem)")
        }
        // Levels 2-4 send the password to whatever listens on the socket:
        // only root or os_user may make it.
        if let problem = TrustedPath.serviceDirectoryProblem(socketDirectory, account: account) {
            return .badConfiguration("attribute 'socket_directory': \(socketDirectory): \(problem)")
        }
        if let problem = FileCheck.creatableFileProblem(logFile) {
            return .badConfiguration("attribute 'log_file': \(logFile): \(problem)")
        }
        if let problem = passfileProblem { return .badConfiguration(problem) }
        if let problem = daemon.pidFile.placeProblem() {
            return .badConfiguration("attribute 'data_directory': \(daemon.pidFile.path): \(problem)")
        }
        if let problem = daemon.problem { return .invalid(problem) }
        return .success
    }

    /// pg_ctl and postgres run as os_user, pg_ctl also as root's child: each
    /// must be a trusted executable (root's, not writable by others, in
    /// directories up to / that are not either), or another user's code
    /// would run as os_user. Nil when they are.
    var programsProblem: String? {
        guard let binDirectory else { return binProblem }
        let attribute = resource[Self.binDirectory] == nil ? "data_directory" : "bin_directory"
        for program in ["pg_ctl", "postgres"] {
            let path = binDirectory + "/" + program
            if let problem = FileCheck.problem(path, .executable) ?? TrustedPath.executableProblem(path) {
                return "attribute '\(attribute)': \(path): \(problem)"
            }
        }
        return nil
    }

    /// The password file root reads and sends: a trusted secret file
    /// (resolved; root's; mode 0600 or less; no directory up to / writable
    /// by others), checked at validate and before every level that reads
    /// it. Nil when it is fit or not set.
    var passfileProblem: String? {
        guard let passfile else { return nil }
        // libpq itself ignores a password file with group or world bits (with a warning): say it here.
        if let problem = FileCheck.problem(passfile, .kind(.regular), .readable, .modeWithin(0o600)) {
            return "attribute 'passfile': \(passfile): \(problem); it must be mode 0600"
        }
        if let problem = TrustedPath.secretFileProblem(passfile) { return "attribute 'passfile': \(passfile): \(problem)" }
        return nil
    }

    // MARK: Start

    /// `pg_ctl start -w` as os_user, waiting at most the start budget less
    /// a reserve for the readiness check and the host's process check.
    func start() -> Outcome {
        let values = validate()
        guard values.isSuccess else { return values }
        if let why = servesElsewhere() { return .badConfiguration(why) }
        var daemon = daemon
        let wait = max(1, (resource.timeLeft - .seconds(2)).milliseconds / 1000)
        daemon.startCommand = [daemon.startCommand[0], "start", "-D", dataDirectory, "-w", "-t", String(wait), "-s",
                               "-l", logFile, "-o", "-p \(port) -k \(socketDirectory)"]
        let outcome = daemon.start { check(upTo: Self.readinessLevel) }
        if outcome.isSuccess, let account = Launch.Account(osUser) {
            resource.state[Self.osUserKey] = "\(osUser):\(account.uid)"
        }
        guard !outcome.isSuccess, let reason = outcome.reason, reason.hasPrefix("start command") else { return outcome }
        return Outcome(outcome.status, reason + " (the server's log: \(logFile))")
    }

    /// When this cluster's postmaster already runs but serves another port
    /// or socket directory than this resource names: why (start would wait
    /// its whole timeout for a socket nobody makes). From postmaster.pid's
    /// lines 4 and 5, port and first socket directory (PostgreSQL 15
    /// `src/include/utils/pidfile.h`: LOCK_FILE_LINE_PORT,
    /// LOCK_FILE_LINE_SOCKET_DIR). Nil when it does not run or serves here.
    func servesElsewhere() -> String? {
        guard case .running(let id) = daemon.status(), case .pid(_, let more) = daemon.pidFile.read(),
              more.count >= 4 else { return nil }
        let servedPort = more[2].trimmingTrailingSpaces, servedDirectory = more[3].trimmingTrailingSpaces
        let portMatches = servedPort == String(port)
        let directoryMatches = servedDirectory.isEmpty
            || ServerPaths.canonical(servedDirectory) == socketDirectory
            || Self.sameDirectory(servedDirectory, socketDirectory)
        if portMatches && directoryMatches { return nil }
        return "the postmaster of \(dataDirectory) already runs (pid \(id.pid)) but serves port \(LogText.escaped(servedPort, limit: 20)), "
            + "socket directory \(LogText.escaped(servedDirectory, limit: 200)) (its postmaster.pid), not port \(port), "
            + "socket_directory \(socketDirectory): stop it, or set port and socket_directory to what it serves"
    }

    /// Both paths name one directory (device and inode).
    static func sameDirectory(_ a: String, _ b: String) -> Bool {
        var x = stat(), y = stat()
        return stat(a, &x) == 0 && stat(b, &y) == 0 && x.st_dev == y.st_dev && x.st_ino == y.st_ino
    }

    // MARK: Stop

    /// The ladder of pg_ctl commands; when pg_ctl is not a trusted
    /// executable (see ``programsProblem``) the same modes as signals to the
    /// postmaster, so stop still works without running it (pg_ctl stop
    /// -m fast sends SIGINT, -m immediate SIGQUIT: PostgreSQL 15 docs,
    /// "Shutting Down the Server").
    func stop() -> Outcome {
        if let problem = osUserProblem { return problem }
        guard let problem = programsProblem else { return daemon.stop() }
        resource.log.warning("\(problem): stopping with signals instead of pg_ctl")
        var daemon = daemon
        daemon.stopLadder = StopLadder(.signal("fast (SIGINT)", SIGINT, share: 7),
                                       .signal("immediate (SIGQUIT)", SIGQUIT, share: 2),
                                       .signal("KILL", SIGKILL, share: 1, group: true))
        return daemon.stop()
    }

    /// Running here (the SDK's answer), once os_user is known.
    func exclusive() -> Outcome { osUserProblem ?? daemon.exclusive() }

    // MARK: Monitoring

    func probe(level: UInt32) -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        switch level {
        case 1: return daemon.probe()
        case 2: return probeAccepting()
        case 3: return probeQuery()
        case 4: return probeReplication()
        default: return .invalid("no monitoring level \(level)")
        }
    }

    /// The companion, or the failure that says it is missing (the host
    /// replaces it with its own answer: not supported, or refused).
    func client() -> Companion<PostgresCall>? { resource.companion(PostgresCall.self) }
    static let noCompanion = Outcome.failed("levels 2-4 need the companion database-libpq.so beside the plugin (libpq); it could not be loaded (see the log)")

    var place: String { "\(ServerPaths.socket(in: socketDirectory, port: port))" }

    /// Level 2: PQping answers "accepting".
    func probeAccepting() -> Outcome {
        let timeout = resource.budget(pingTimeout)
        if pingClient == .builtin {
            // An unknown os_user: uid -1, which no process has (as level 1's matcher).
            let owner = osUid ?? UInt32.max
            switch StartupPing.ping(socket: place, owner: owner, user: connection.user, database: connection.database, timeout: timeout) {
            case .accepting: return .success
            case .rejecting(let why): return .failed("\(place): the server refuses connections: \(why)")
            case .noResponse(let why): return .failed("\(place): \(why)")
            case .timedOut: return .failed("\(place): no answer to the ping within \(timeout.milliseconds) ms")
            case .stranger(let uid): return stranger(uid)
            }
        }
        guard let call = client() else { return Self.noCompanion }
        let deadline = ProbeDeadline(after: timeout)
        switch call(.init(connection: connection, operation: .ping, timeout: timeout)) {
        case .accepting: return .success
        case .rejecting: return .failed("\(place): the server refuses connections (starting up, shutting down, or in recovery)")
        case .noResponse(let why):
            // libpq says "no response" when requirepeer refused the listener: name its uid, as the builtin ping does.
            if let uid = StartupPing.listenerUid(socket: place, timeout: max(.milliseconds(1), deadline.remaining)),
               uid != osUid ?? UInt32.max {
                return stranger(uid)
            }
            return .failed("\(place): \(why)")
        case .timedOut: return .failed("\(place): no answer to the ping within \(timeout.milliseconds) ms")
        case let other: return .failed("\(place): unexpected answer \(other)")
        }
    }

    /// Level 2's answer when the socket's listener runs as `uid`, not os_user.
    func stranger(_ uid: UInt32) -> Outcome {
        .failed("\(place): the listener runs as uid \(uid), not os_user '\(LogText.escaped(osUser, limit: 64))' "
                + "(uid \(osUid ?? UInt32.max)): not this server (peer check, as libpq's requirepeer)")
    }

    /// Level 3: the query answers the expected value.
    func probeQuery() -> Outcome {
        guard case .success(let sql) = monitorQuery else { return .invalid("no query") }
        let timeout = resource.budget(queryTimeout)
        switch ask(sql, timeout: timeout) {
        case .success(let rows):
            return AnswerCheck.problem(query: sql, rows: rows, expected: expectedAnswer).map { .failed($0) } ?? .success
        case .failure(let failure): return failure.outcome
        }
    }

    /// Level 4: replication as the resource's role says.
    func probeReplication() -> Outcome {
        guard standby || expectedStandbys != nil else {
            return .invalid("level 4 (replication) needs standby=true or expected_standbys")
        }
        let timeout = resource.budget(replicationTimeout)
        if standby {
            switch ask(Replication.standbyQuery, timeout: timeout) {
            case .success(let rows):
                let kept = Replication.Behind(text: resource.state[Replication.behindKey])
                var keep: Replication.Behind?
                let problem = Replication.standbyProblem(rows, maxLag: maxReplayLag, kept: kept, keep: &keep)
                if keep != kept { resource.state[Replication.behindKey] = keep?.text }
                if let why = problem { return .failed("standby: " + why) }
            case .failure(let failure): return failure.outcome
            }
        }
        if case .success(let names)? = expectedStandbys {
            switch ask(Replication.primaryQuery, timeout: resource.budget(timeout)) {
            case .success(let rows):
                if let why = Replication.primaryProblem(rows, expected: names) { return .failed("primary: " + why) }
            case .failure(let failure): return failure.outcome
            }
        }
        return .success
    }

    /// One query through the companion within `timeout`; the server's
    /// statement_timeout is 90 % of it, so the server ends what the client gives up.
    func ask(_ sql: String, timeout: Duration) -> Result<[[String?]], Failure> {
        if let problem = passfileProblem { return .failure(Failure(.badConfiguration(problem))) }
        let deadline = ProbeDeadline(after: timeout)
        var statementTimeout = max(.milliseconds(1), timeout * 0.9)
        var answer: PostgresCall.Response?
        // The builtin client unless told otherwise or given a passfile (libpq reads it).
        if queryClient == .builtin && passfile == nil {
            switch BuiltinQuery.run(sql, socket: place, owner: osUid ?? UInt32.max, user: connection.user, database: connection.database,
                                    password: connection.password, statementTimeout: statementTimeout, timeout: timeout,
                                    scramCrypto: { resource.companion(SCRAMCall.self)?($0) }) {
            case .response(let response): answer = response
            case .needsLibpq(let why): resource.log.info("\(why): asking libpq (the database-libpq companion)")
            }
        }
        if answer == nil {
            guard let call = client() else { return .failure(Failure(Self.noCompanion)) }
            // After a builtin attempt (md5, a non-ASCII password), libpq
            // gets what is left of the level's budget, not a fresh one.
            let left = deadline.remaining
            guard left > .zero else {
                return .failure(Failure(.failed("\(place): no time left for libpq after the builtin attempt (limit \(timeout.milliseconds) ms)")))
            }
            statementTimeout = max(.milliseconds(1), left * 0.9)
            answer = call(.init(connection: connection, operation: .query(sql, statementTimeout: statementTimeout), timeout: left))
        }
        switch answer! {
        case .rows(let rows): return .success(rows)
        case .timedOut(let phase): return .failure(Failure(.failed("\(place): \(phase) (limit \(timeout.milliseconds) ms)")))
        case .connectFailed(let why): return .failure(Failure(.failed("\(place): cannot connect: \(why)")))
        case .authenticationFailed(let why):
            return .failure(Failure(.failed("\(place): authentication as '\(connection.user)' failed (check password or passfile): \(why)")))
        case .queryFailed(let state, let why):
            switch state {
            case "42P01": return .failure(Failure(.failed("the table of query '\(LogText.escaped(sql, limit: 200))' does not exist (dropped?): \(why)")))
            case "57014": return .failure(Failure(.failed("query cancelled by statement_timeout (\(statementTimeout.milliseconds) ms): \(why)")))
            default: return .failure(Failure(.failed("query '\(LogText.escaped(sql, limit: 200))' failed (SQLSTATE \(state)): \(why)")))
            }
        case let other: return .failure(Failure(.failed("\(place): unexpected answer \(other)")))
        }
    }
}

// The entry point `fshost_plugin_entry` is generated by the build from the
// target's name (FSPluginRecordPlugin), like the ELF record.

/// A probe's failure as an error, for `Result`.
struct Failure: Error, Sendable {
    let outcome: Outcome
    init(_ outcome: Outcome) { self.outcome = outcome }
}
