// The daemon resource type: a type for everything else, like Pacemaker's
// `ocf:heartbeat:anything` — any program that runs in the foreground
// becomes a resource with no code: a start command (argv), the process to
// match, and optionally a TCP port and an HTTP URL to check.
//
//   level 1  process  the program runs (the SDK's Daemon: its pid and start
//                     time, checked by the host)
//   level 2  port     a TCP connection to address:port completes within
//                     port_timeout (passes when no port is set)
//   level 3  http     GET url answers with status_class within http_timeout,
//                     the body ignored (passes when no url is set)
//
// Everything is the SDK's daemon lifecycle (FSKit.Daemon): the program is
// started detached (Detach: own session, output to a file or /dev/null,
// its pidfile written by the SDK), as `user` and in `working_directory`
// (Launch), start returns once every level up to 3 passes, stop is TERM,
// then KILL, to the program and its process group, then what it started
// elsewhere. Level 3 is the SDK's PlainHTTP (plain HTTP, no client library).
import FSKit
#if canImport(Glibc)
import Glibc
#endif

struct Daemon: DaemonType {
    // MARK: Description

    static let summary = "Any program that runs in the foreground: start command, process match, optional port and HTTP checks"

    static let startCommand = Attribute.command("start_command",
        "the program (argv, no shell; its first word an absolute path to an executable only root or fshost's user can write); runs in the foreground: fshost detaches it").required
    static let workingDirectory = Attribute.path("working_directory", "the program's working directory (absolute; default: fshost's)")
    static let user = Attribute.user("user", "run the program as this user (with its groups; setpriv); default: as fshost runs")
    static let output = Attribute.path("output", "file the program's stdout and stderr are appended to (created 0640); default: /dev/null")
    static let pidfile = Attribute.path("pidfile", "where fshost writes the program's pid; default /run/daemon.RESOURCE.pid")
    static let processName = Attribute.string("process_name",
        "the program's process name for the host's checks (comm, argv[0], or the script an interpreter runs); default: the basename of start_command's first word")
    static let processArgument = Attribute.string("process_argument",
        "a whole argument the process carries, so another process of the same name is not taken for it; default: start_command's last word when it has more than one; empty: none")
    static let address = Attribute.ipAddress("address", default: "127.0.0.1",
        "numeric IPv4 or IPv6 address of the port check (no host names: no DNS on the monitor path)")
    static let port = Attribute.port("port", "level 2: the TCP port the program listens on (1-65535; must be free before start); unset: level 2 passes")
    static let url = Attribute.string("url",
        "level 3: http://ADDRESS[:PORT]/PATH with a numeric address (IPv6 in brackets) to GET, body ignored; plain HTTP only; unset: level 3 passes")
    static let statusClass = Attribute.integer("status_class", default: 2, in: 2...4,
        "level 3: expected HTTP status class: 2 (2xx), 3 (3xx) or 4 (4xx)")
    static let portTimeout = Attribute.positiveDuration("port_timeout", default: .seconds(2),
        "level 2: TCP connect timeout (also level 3's connect phase)").monitorOnly
    static let httpTimeout = Attribute.positiveDuration("http_timeout", default: .seconds(5),
        "level 3: timeout of the whole HTTP request").monitorOnly

    static let attributes: [Attribute] = [
        startCommand, workingDirectory, user, output, pidfile, processName, processArgument, address, port, url,
        statusClass, portTimeout, httpTimeout,
    ]

    static let levels = [
        MonitorLevel(1, "process", checks: "the program runs (its pid and start time)",
                     cost: "one pidfile read and one process's /proc files"),
        MonitorLevel(2, "port", checks: "a TCP connection to address:port completes within port_timeout (passes without port)",
                     cost: "one TCP handshake"),
        MonitorLevel(3, "http", checks: "GET url answers with status_class within http_timeout (passes without url)",
                     cost: "one plain HTTP request"),
    ]

    static let defaults = ActionDefaults(
        timeouts: [.exclusive: .seconds(5), .start: .seconds(20), .stop: .seconds(20), .monitor: .seconds(15),
                   .restart: .seconds(40), .validate: .seconds(5)],
        level: 1, retries: 1, retryInterval: .milliseconds(500))

    /// Start returns once every configured check passes (an unset port or url passes).
    static let readinessLevel: UInt32 = 3

    /// Who may own the program and the directories above it: root and
    /// fshost's user (the host's rule, ``TrustedFile``).
    static var trustedOwners: Set<UInt32> { [0, geteuid()] }

    // MARK: Configuration

    let resource: Resource
    let daemon: FSKit.Daemon
    let command: [String]
    let address: IPAddress
    let port: UInt16?
    /// The parsed url, or why it cannot be used.
    let target: Result<HTTPTarget?, HTTPTarget.Problem>
    let statusClass: Int
    let portTimeout: Duration, httpTimeout: Duration
    /// The uid of attribute `user` (nil: not set, or no such user).
    let userId: UInt32?

    init(resource: Resource) throws(ConfigurationError) {
        self.resource = resource
        command = resource[Self.startCommand]
        let address = resource[Self.address], port = resource[Self.port].flatMap { UInt16(exactly: $0) }
        self.address = address
        self.port = port
        target = resource[Self.url].map { text in HTTPTarget.parse(text).map { Optional($0) } } ?? .success(nil)
        statusClass = resource[Self.statusClass]
        portTimeout = resource[Self.portTimeout]
        httpTimeout = resource[Self.httpTimeout]
        let name = resource[Self.processName] ?? String((command.first ?? "").split(separator: "/").last ?? "")
        let argument = resource[Self.processArgument].map { $0.isEmpty ? nil : $0 } ?? (command.count > 1 ? command.last : nil)
        let userName = resource[Self.user]
        userId = userName.flatMap(Launch.Account.init)?.uid
        let launch = Launch(user: userName, workingDirectory: resource[Self.workingDirectory],
                            detach: Detach(output: resource[Self.output]))
        var daemon = FSKit.Daemon(resource: resource, pidFile: PidFile(resource[Self.pidfile] ?? "/run/daemon.\(resource.name).pid"),
                              // Run as `user`: only a process of that uid is the program for the
                              // host's checks (an unknown user: a uid no process has; refused
                              // by checkValues anyway).
                              master: ProcessPattern(name: name, argument: argument,
                                                     owner: userName == nil ? nil : (userId ?? UInt32.max)),
                              start: command, launch: launch,
                              // No graceful stop of its own is known: TERM to it and its group;
                              // CONT for one stopped with SIGSTOP (TERM stays pending); then KILL.
                              stop: StopLadder(.signal("TERM", SIGTERM, share: 2, group: true),
                                               .signal("CONT", SIGCONT, share: 1, group: true),
                                               .signal("KILL", SIGKILL, share: 1, group: true)),
                              ports: port.map { [FSKit.Daemon.Endpoint(address, $0)] } ?? [])
        // Name and last word do not tell two resources of one program apart
        // (two http.server on two ports, one --directory): without a pidfile,
        // only a process carrying this resource's launch mark is its program.
        daemon.requireMark = true
        self.daemon = daemon
    }

    // MARK: Validation

    /// What the schema cannot say, before anything runs (validate, start,
    /// every monitor level): a relative program is HA_INVAL_ARGS (it runs as
    /// root: a bare name would run whatever PATH finds); a missing working
    /// directory is HA_NOCFGINFO (a missing program: ``validate``); a url
    /// that is not plain-HTTP with a numeric address is HA_INVAL_ARGS. Each
    /// names its attribute. An unknown `user` is the host's to refuse (its
    /// user kind: HA_INVAL_ARGS before any plugin code runs).
    func checkValues() -> Outcome {
        let program = command.first ?? ""
        if !program.hasPrefix("/") {
            return .invalid("attribute 'start_command': the program '\(LogText.escaped(program))' must be an absolute path "
                            + "(it runs as root; a relative path or bare name would run whatever the caller's directory or PATH holds)")
        }
        if daemon.master.name.isEmpty { return .invalid("attribute 'process_name' is empty") }
        if let name = resource[Self.user], userId == nil {
            return .invalid("attribute 'user': no such user: '\(LogText.escaped(name))'")
        }
        if case .failure(let why) = target { return .invalid("attribute 'url': \(why)") }
        if let directory = resource[Self.workingDirectory] {
            guard directory.hasPrefix("/") else {
                return .invalid("attribute 'working_directory' must be an absolute path: '\(LogText.escaped(directory))'")
            }
            if let problem = FileCheck.problem(directory, .kind(.directory)) {
                return .badConfiguration("attribute 'working_directory': \(directory): \(problem)")
            }
        }
        if let problem = daemon.problem { return .invalid("attribute 'start_command': \(problem)") }
        return .success
    }

    /// The values, then the program (trusted: root or fshost's user owns it
    /// and every directory above it) and the pidfile's place.
    func validate() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        return daemon.setupProblem(owners: Self.trustedOwners)
    }

    // MARK: Start

    /// Validate, then the SDK's start (which returns once every level passes).
    /// A bad value starts nothing.
    func start() -> Outcome {
        let valid = validate()
        guard valid.isSuccess else { return valid }
        return daemon.start { check(upTo: Self.readinessLevel) }
    }

    // MARK: Monitoring

    func probe(level: UInt32) -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        switch level {
        case 1: return daemon.probe()
        case 2:
            guard let port else { return .success }
            let timeout = resource.budget(portTimeout)
            let result = TCPProbe.connect(to: address, port: port, timeout: timeout)
            return result == .connected ? .success : .failed("\(address) port \(port): \(result.summary(timeout: timeout))")
        case 3:
            guard case .success(let target?) = target else { return .success }
            let total = resource.budget(httpTimeout)
            switch PlainHTTP.get(address: target.address, port: target.port, host: target.host, path: target.path,
                                 connectTimeout: min(total, resource.budget(portTimeout)), totalTimeout: total) {
            case .status(let code):
                return code / 100 == statusClass ? .success : .failed("GET \(target) answered \(code), expected \(statusClass)xx")
            case .failed(let why, _): return .failed("GET \(target): \(why)")
            }
        default: return .invalid("no monitoring level \(level)")
        }
    }
}

// The entry point `fshost_plugin_entry` is generated by the build from the
// target's name (FSPluginRecordPlugin), like the ELF record.
