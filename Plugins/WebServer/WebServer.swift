// The web server resource type: nginx (or any HTTP server with a start
// command, a stop command and a pidfile), with three monitoring levels
// after the FailSafe guide's example: "for a web server application, the
// monitor script can request a home page, verify that the connection was
// made, and ignore the resulting home page."
//
//   level 1  process  the pidfile's master runs (the SDK's Daemon: the
//                     host checks that one pid, guarded by its start time)
//   level 2  port     a TCP connection to address:port completes in time
//   level 3  http     GET url_path answers with the expected status class
//                     (body ignored), with libcurl in the companion
//                     webserver-http.so, loaded only at this level;
//                     http_client=builtin: plain HTTP on a socket of its own
//
// Start, stop, restart and exclusive are the SDK's daemon lifecycle: start
// refuses a port someone else holds and returns once level 2 passes; stop
// is nginx's QUIT, then TERM, then KILL to the master and its workers;
// restart runs validate (nginx's own `nginx -t`) before it stops anything.
import FSKit
import HTTPProbeCall
import HAVocabulary

struct WebServer: DaemonType {
    // MARK: Description

    static let summary = "A web server (nginx by default): start/stop with its own commands; process, port and HTTP checks"

    /// Level 3's client.
    enum HTTPClient: String, CaseIterable, Sendable { case curl, builtin }

    static let config = Attribute.path("config",
        "the server's configuration file (nginx: passed as -c CONFIG; must exist and be readable)").required
    static let port = Attribute.port("port", "the TCP port the server listens on (levels 2 and 3; must be free before start)").required
    static let binary = Attribute.path("binary", default: "/usr/sbin/nginx",
        "the server executable (must be executable); used by the default start/stop commands")
    static let prefix = Attribute.path("prefix",
        "nginx prefix directory (passed as -p PREFIX); relative paths in the config are relative to it")
    static let pidfile = Attribute.path("pidfile",
        "the server's pidfile; default: the config's main-context `pid` directive, included files followed (relative to prefix), else /run/nginx.pid")
    static let processName = Attribute.string("process_name",
        "name of the master process (comm, argv[0] or executable); default: the basename of binary")
    static let address = Attribute.ipAddress("address", default: "127.0.0.1",
        "numeric IPv4 or IPv6 address to probe (no host names: no DNS on the monitor path)")
    static let urlPath = Attribute.string("url_path", default: "/",
        "path of the home page level 3 requests; a path only (starts with '/'), the host is address:port")
    static let serverName = Attribute.string("server_name",
        "host name sent in the Host header and checked in the TLS certificate; mapped to address without DNS")
    static let statusClass = Attribute.integer("status_class", default: 2, in: 2...4,
        "expected HTTP status class of the home page: 2 (2xx), 3 (3xx) or 4 (4xx)")
    static let startCommand = Attribute.command("start_command",
        "start command (argv, no shell); default [binary, (-p, prefix,) -c, config]; must daemonise")
    static let stopCommand = Attribute.command("stop_command",
        "graceful stop command (argv, no shell); default [binary, (-p, prefix,) -c, config, -s, quit]")
    static let connectTimeout = Attribute.positiveDuration("connect_timeout", default: .seconds(2),
        "TCP connect timeout (level 2; level 3's connect phase)").monitorOnly
    static let httpTimeout = Attribute.positiveDuration("http_timeout", default: .seconds(5),
        "total timeout of the level-3 HTTP request").monitorOnly
    static let level2Timeout = Attribute.duration("level2_timeout", minimum: .milliseconds(1),
        "old name of connect_timeout, still read: when set it is used").monitorOnly
    static let level3Timeout = Attribute.duration("level3_timeout", minimum: .milliseconds(1),
        "old name of http_timeout, still read: when set it is used").monitorOnly
    static let tls = Attribute.boolean("tls", default: false, "level 3 speaks HTTPS")
    static let tlsVerify = Attribute.boolean("tls_verify", default: true, "verify the server's certificate (with tls)")
    static let caFile = Attribute.path("ca_file", "CA bundle to verify the certificate with (with tls); default: the system's")
    static let httpClient = Attribute.choice("http_client", default: HTTPClient.curl,
        "level 3's client: curl (libcurl, HTTP and HTTPS) or builtin (plain HTTP on a socket: no libcurl load, ~4 ms and ~8 MiB less per call)")

    static let attributes: [Attribute] = [
        config, port, binary, prefix, pidfile, processName, address, urlPath, serverName, statusClass, startCommand,
        stopCommand, connectTimeout, httpTimeout, level2Timeout, level3Timeout, tls, tlsVerify, caFile, httpClient,
    ]

    static let levels = [
        MonitorLevel(1, "process", checks: "the pidfile's master runs (its pid, start time, name and config path)",
                     cost: "a pidfile read and one process's /proc files"),
        MonitorLevel(2, "port", checks: "a TCP connection to address:port completes within connect_timeout",
                     cost: "one TCP handshake"),
        MonitorLevel(3, "http", checks: "GET url_path answers with status_class within http_timeout; the body is ignored",
                     cost: "one HTTP request; loads libcurl (the webserver-http companion) unless http_client=builtin"),
    ]

    static let defaults = ActionDefaults(
        timeouts: [.exclusive: .seconds(5), .start: .seconds(30), .stop: .seconds(30), .monitor: .seconds(15),
                   .restart: .seconds(60), .validate: .seconds(5)],
        level: 2, retries: 1, retryInterval: .milliseconds(500))

    /// Start returns once the port accepts.
    static let readinessLevel: UInt32 = 2

    // MARK: Configuration

    let resource: Resource
    let daemon: Daemon
    let binary: String, config: String, prefix: String?
    let address: IPAddress, port: UInt16, urlPath: String, serverName: String?, statusClass: Int
    let connectTimeout: Duration, httpTimeout: Duration
    let tls: Bool, tlsVerify: Bool, caFile: String?, httpClient: HTTPClient
    /// The start and stop commands are nginx's own (then `nginx -t` validates the config).
    let isNginx: Bool
    /// An old and a new timeout name set to different values.
    let conflict: String?

    init(resource: Resource) throws(ConfigurationError) {
        self.resource = resource
        binary = resource[Self.binary]
        config = resource[Self.config]
        prefix = resource[Self.prefix]
        port = UInt16(resource[Self.port])
        address = resource[Self.address]
        urlPath = resource[Self.urlPath]
        serverName = resource[Self.serverName].flatMap { $0.isEmpty ? nil : $0 }
        statusClass = resource[Self.statusClass]
        tls = resource[Self.tls]
        tlsVerify = resource[Self.tlsVerify]
        caFile = resource[Self.caFile]
        httpClient = resource[Self.httpClient]
        // Resources defined before the rename keep their level2/level3_timeout.
        var conflict: String?
        func timeout(_ new: TypedAttribute<Duration>, old: TypedAttribute<Duration?>) -> Duration {
            guard let legacy = resource[old] else { return resource[new] }
            // Both names set explicitly (even the new one to its default) and different: refused.
            let newIsSet = resource.isSet(new) ?? (resource.string(new.name) != new.defaultValue)
            if legacy != resource[new] && newIsSet {
                conflict = "attributes '\(new.name)' and '\(old.name)' (its old name) disagree: set only '\(new.name)'"
            }
            return legacy
        }
        connectTimeout = timeout(Self.connectTimeout, old: Self.level2Timeout)
        httpTimeout = timeout(Self.httpTimeout, old: Self.level3Timeout)
        self.conflict = conflict

        let base = [binary] + (prefix.map { ["-p", $0] } ?? []) + ["-c", config]
        isNginx = resource[Self.startCommand] == nil
        var pidPath = resource[Self.pidfile]
        if pidPath == nil {
            // The config's own `pid` directive, as nginx resolves it.
            let declared = NginxConfig(path: config)?.pid ?? "/run/nginx.pid"
            pidPath = declared.hasPrefix("/") ? declared : (prefix ?? "/usr/share/nginx") + "/" + declared
        }
        let name = resource[Self.processName] ?? String(binary.split(separator: "/").last ?? "nginx")
        daemon = Daemon(resource: resource, pidFile: PidFile(pidPath!),
                        master: ProcessPattern(name: name, argument: config), start: resource[Self.startCommand] ?? base,
                        stop: .nginx(quitCommand: resource[Self.stopCommand] ?? base + ["-s", "quit"]),
                        ports: [Daemon.Endpoint(address, port)],
                        // Another server may take longer to write its pidfile than nginx.
                        pidFileGrace: isNginx ? .seconds(1) : .seconds(5))
    }

    // MARK: Validation

    /// What the host's schema cannot express: the URL path, the server
    /// name, builtin with TLS, empty commands, old and new timeout names
    /// disagreeing. HA_INVAL_ARGS naming the attribute; also at every
    /// monitor level, before anything runs.
    func checkValues() -> Outcome {
        if let conflict { return .invalid(conflict) }
        if let problem = WebServer.urlPathProblem(urlPath) { return .invalid("attribute 'url_path' \(problem): '\(urlPath)'") }
        if let serverName, !WebServer.isHostName(serverName) {
            return .invalid("attribute 'server_name' must be a host name (letters, digits, '-', '.'): '\(serverName)'")
        }
        for attribute in [Self.startCommand, Self.stopCommand] where resource[attribute].map({ $0.first?.isEmpty ?? true }) == true {
            return .invalid("attribute '\(attribute.name)' is an empty command")
        }
        if httpClient == .builtin && tls {
            return .invalid("attribute 'http_client' builtin speaks plain HTTP only; with tls=true use curl")
        }
        return .success
    }

    /// Before start, before restart stops anything, and on `validate`: the
    /// values, the files they name (HA_NOCFGINFO naming the attribute), and
    /// with nginx's own commands nginx's own test of the whole configuration
    /// (`nginx -t`, so an error in an included file is caught here).
    func validate() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        if let problem = FileCheck.problem(config, .kind(.regular), .readable) {
            return .badConfiguration("attribute 'config': \(config): \(problem)")
        }
        for attribute in [Self.startCommand, Self.stopCommand] {
            let command = resource[attribute] ?? [binary]
            guard command[0].hasPrefix("/"), let problem = FileCheck.problem(command[0], .executable) else { continue }
            return .badConfiguration("attribute '\(resource[attribute] == nil ? "binary" : attribute.name)': \(command[0]): \(problem)")
        }
        if let problem = FileCheck.creatableFileProblem(daemon.pidFile.path) {
            return .badConfiguration("pidfile \(daemon.pidFile.path): \(problem)"
                                     + (resource[Self.pidfile] == nil ? " (from the config's pid directive)" : ""))
        }
        if let problem = daemon.pidFile.placeProblem() {
            return .badConfiguration("pidfile \(daemon.pidFile.path): \(problem)")
        }
        if let shared = daemon.sharedPidFileProblem() { return .badConfiguration(shared) }
        if let prefix, let problem = FileCheck.problem(prefix, .kind(.directory)) {
            return .badConfiguration("attribute 'prefix': \(prefix): \(problem)")
        }
        if tls, let caFile, let problem = FileCheck.problem(caFile, .kind(.regular), .readable) {
            return .badConfiguration("attribute 'ca_file': \(caFile): \(problem)")
        }
        if let problem = daemon.problem { return .invalid(problem) }
        guard isNginx else { return .success }
        if NginxConfig(path: config)?.daemonOff == true {
            return .badConfiguration("\(config) says `daemon off;`: the start command must daemonise (remove it, or set start_command)")
        }
        let test = resource.run([binary] + (prefix.map { ["-p", $0] } ?? []) + ["-c", config, "-t", "-q"],
                                timeout: .seconds(10), captureOutput: true)
        guard test.succeeded else {
            let lines = test.output.split(separator: "\n").suffix(2).map { LogText.escaped(String($0), limit: 200) }
            return .badConfiguration("attribute 'config': \(binary) -t \(test.summary): " + lines.joined(separator: " | "))
        }
        return .success
    }

    // MARK: Monitoring

    func probe(level: UInt32) -> Outcome {
        // A value no probe can use is HA_INVAL_ARGS at every level, before anything runs.
        let values = checkValues()
        guard values.isSuccess else { return values }
        switch level {
        case 1: return daemon.probe()
        case 2: return probePort()
        case 3: return probeHTTP()
        default: return .invalid("no monitoring level \(level)")
        }
    }

    /// Level 2: the port accepts a TCP connection in time.
    func probePort() -> Outcome {
        let timeout = resource.budget(connectTimeout)
        let result = TCPProbe.connect(to: address, port: port, timeout: timeout)
        return result == .connected ? .success : .failed("\(address) port \(port): \(result.summary(timeout: timeout))")
    }

    /// Level 3: GET the home page, check the status class, ignore the body.
    /// With libcurl in the companion; `http_client=builtin` sends plain HTTP
    /// over a socket of its own instead (no client library to load).
    func probeHTTP() -> Outcome {
        let total = resource.budget(httpTimeout)
        let connect = min(total, resource.budget(connectTimeout))
        let host = serverName ?? address.urlHost
        let url = "\(tls ? "https" : "http")://\(host):\(port)\(urlPath)"
        let code: Int
        if httpClient == .builtin {
            switch PlainHTTP.get(address: address, port: port, host: port == 80 ? host : "\(host):\(port)",
                                 path: urlPath, connectTimeout: connect, totalTimeout: total) {
            case .status(let c): code = c
            case .failed(let why, _): return .failed("GET \(url): \(why)")
            }
        } else {
            guard let get = resource.companion(HTTPProbeCall.self) else {
                return .failed("level 3 needs the companion webserver-http.so beside the plugin (libcurl); it could not be loaded (see the log)")
            }
            switch get(HTTPProbeCall.Request(url: url, resolve: serverName.map { "\($0):\(port):\(address)" },
                                             connectTimeout: connect, totalTimeout: total,
                                             verifyTLS: tls && tlsVerify, caFile: tls ? caFile : nil)) {
            case .answered(let c): code = c
            case .timedOut(let why): return .failed("GET \(url): no answer within \(total.milliseconds) ms (\(why))")
            case .couldNotConnect(let why), .tlsFailed(let why), .failed(let why): return .failed("GET \(url): \(why)")
            }
        }
        return code / 100 == statusClass ? .success : .failed("GET \(url) answered \(code), expected \(statusClass)xx")
    }

    // MARK: Values

    /// Why `path` is not a URL path, or nil. Only the path is configurable:
    /// a scheme or a host (`http://x/`, `//x/`) is refused.
    static func urlPathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else {
            return path.containsText("://") ? "must be a path only, without scheme or host (the host is address and port)"
                : "must start with '/'"
        }
        if path.hasPrefix("//") { return "must be a path only: '//' starts a host part" }
        if path.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "#") }) {
            return "must not contain spaces, control characters or '#'"
        }
        return nil
    }

    static func isHostName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 253 && name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: "-") || c == UInt8(ascii: ".")
        }
    }
}

// The entry point `fshost_plugin_entry` is generated by the build from the
// target's name (FSPluginRecordPlugin), like the ELF record.
