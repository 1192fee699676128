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

struct WebServer: DaemonType {
    // MARK: Description

    static let name = "webserver"
    static let summary = "A web server (nginx by default): start/stop with its own commands; process, port and HTTP checks"

    static let attributes = [
        Attribute("config", .path, required: true,
                  "the server's configuration file (nginx: passed as -c CONFIG; must exist and be readable)"),
        Attribute("port", .port, required: true, "the TCP port the server listens on (levels 2 and 3, and start's wait)"),
        Attribute("binary", .path, default: "/usr/sbin/nginx",
                  "the server executable (must be executable); used by the default start/stop commands"),
        Attribute("prefix", .path, "nginx prefix directory (passed as -p PREFIX); relative paths in the config are relative to it"),
        Attribute("pidfile", .path,
                  "the server's pidfile; default: the config's main-context `pid` directive, included files followed (relative to prefix), else /run/nginx.pid"),
        Attribute("process_name", .string,
                  "name of the master process (comm, argv[0] or executable); default: the basename of binary"),
        Attribute("address", .string, default: "127.0.0.1",
                  "numeric IPv4 or IPv6 address to probe (no host names: no DNS on the monitor path)"),
        Attribute("url_path", .string, default: "/",
                  "path of the home page level 3 requests; a path only (starts with '/'), the host is address:port"),
        Attribute("server_name", .string,
                  "host name sent in the Host header and checked in the TLS certificate; mapped to address without DNS"),
        Attribute("status_class", .integer, default: "2",
                  "expected HTTP status class of the home page: 2 (2xx), 3 (3xx) or 4 (4xx)"),
        Attribute("start_command", .argv,
                  "start command (argv, no shell); default [binary, (-p, prefix,) -c, config]; must daemonise"),
        Attribute("stop_command", .argv,
                  "graceful stop command (argv, no shell); default [binary, (-p, prefix,) -c, config, -s, quit]"),
        Attribute("connect_timeout", .duration, default: "2000ms", "TCP connect timeout (level 2; level 3's connect phase)"),
        Attribute("http_timeout", .duration, default: "5000ms", "total timeout of the level-3 HTTP request"),
        Attribute("level2_timeout", .duration, "old name of connect_timeout, still read: when set it is used"),
        Attribute("level3_timeout", .duration, "old name of http_timeout, still read: when set it is used"),
        Attribute("tls", .boolean, default: "false", "level 3 speaks HTTPS"),
        Attribute("tls_verify", .boolean, default: "true", "verify the server's certificate (with tls)"),
        Attribute("ca_file", .path, "CA bundle to verify the certificate with (with tls); default: the system's"),
        Attribute("http_client", .string, default: "curl",
                  "level 3's client: curl (libcurl, HTTP and HTTPS) or builtin (plain HTTP on a socket: no libcurl load, ~4 ms and ~8 MiB less per call)"),
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
    let addressText: String, port: UInt16, urlPath: String, serverName: String?, statusClass: Int
    let connectTimeout: Duration, httpTimeout: Duration
    let tls: Bool, tlsVerify: Bool, caFile: String?, httpClient: String
    /// The start and stop commands are nginx's own (then `nginx -t` validates the config).
    let isNginx: Bool
    /// A value two attribute names disagree on (old and new timeout names).
    let conflict: String?

    init(resource: Resource) throws(ConfigurationError) {
        self.resource = resource
        binary = try resource.required("binary")
        config = try resource.required("config")
        prefix = resource.string("prefix")
        guard let p = resource.integer("port"), let port = UInt16(exactly: p), port > 0 else { throw .missing("port") }
        self.port = port
        addressText = try resource.required("address")
        urlPath = try resource.required("url_path")
        serverName = resource.string("server_name").flatMap { $0.isEmpty ? nil : $0 }
        statusClass = resource.integer("status_class") ?? 0
        tls = resource.boolean("tls") == true
        tlsVerify = resource.boolean("tls_verify") != false
        caFile = resource.string("ca_file")
        httpClient = try resource.required("http_client")
        (connectTimeout, httpTimeout, conflict) = try WebServer.timeouts(resource)

        let base = [binary] + (prefix.map { ["-p", $0] } ?? []) + ["-c", config]
        let start = resource.command("start_command")
        isNginx = start == nil
        var pidPath = resource.string("pidfile")
        if pidPath == nil {
            // The config's own `pid` directive, as nginx resolves it.
            let declared = NginxConfig(path: config)?.pid ?? "/run/nginx.pid"
            pidPath = declared.hasPrefix("/") ? declared : (prefix ?? "/usr/share/nginx") + "/" + declared
        }
        let name = resource.string("process_name") ?? String(binary.split(separator: "/").last ?? "nginx")
        daemon = Daemon(resource: resource, pidFile: PidFile(pidPath!),
                        master: ProcessPattern(name: name, argument: config), start: start ?? base,
                        stop: .nginx(quitCommand: resource.command("stop_command") ?? base + ["-s", "quit"]),
                        ports: IPAddress(numeric: addressText).map { [Daemon.Endpoint($0, port)] } ?? [])
    }

    /// connect_timeout and http_timeout, or their old names (level2_timeout,
    /// level3_timeout) when a resource defined before the rename sets them.
    /// Both names set to different values is a conflict validate reports.
    static func timeouts(_ resource: Resource) throws(ConfigurationError) -> (Duration, Duration, String?) {
        var conflict: String?
        func read(_ name: String, old: String, default text: String) throws(ConfigurationError) -> Duration {
            guard let current = resource.duration(name) else { throw .missing(name) }
            guard let legacy = resource.duration(old) else { return current }
            if resource.string(name) != text && legacy != current {
                conflict = "attributes '\(name)' and '\(old)' (its old name) disagree: set only '\(name)'"
            }
            return legacy
        }
        return (try read("connect_timeout", old: "level2_timeout", default: "2000ms"),
                try read("http_timeout", old: "level3_timeout", default: "5000ms"), conflict)
    }

    // MARK: Validation

    /// The checks that need no file system: address, URL path, status class,
    /// commands, timeouts. HA_INVAL_ARGS naming the attribute; also at
    /// every monitor level, before anything runs.
    func checkValues() -> Outcome {
        if let conflict { return .invalid(conflict) }
        guard IPAddress(numeric: addressText) != nil else {
            return .invalid("attribute 'address' must be a numeric IPv4 or IPv6 address (no DNS on the monitor path): '\(addressText)'")
        }
        if let problem = WebServer.urlPathProblem(urlPath) { return .invalid("attribute 'url_path' \(problem): '\(urlPath)'") }
        if let serverName, !WebServer.isHostName(serverName) {
            return .invalid("attribute 'server_name' must be a host name (letters, digits, '-', '.'): '\(serverName)'")
        }
        guard (2...4).contains(statusClass) else {
            return .invalid("attribute 'status_class' must be 2 (2xx), 3 (3xx) or 4 (4xx): \(statusClass)")
        }
        for name in ["start_command", "stop_command"] where resource.command(name).map({ $0.first?.isEmpty ?? true }) == true {
            return .invalid("attribute '\(name)' is an empty command")
        }
        guard connectTimeout > .zero, httpTimeout > .zero else {
            return .invalid("attributes 'connect_timeout' and 'http_timeout' must be more than 0")
        }
        switch httpClient {
        case "curl": return .success
        case "builtin": return tls ? .invalid("attribute 'http_client' builtin speaks plain HTTP only; with tls=true use curl") : .success
        default: return .invalid("attribute 'http_client' must be curl or builtin: '\(httpClient)'")
        }
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
        for name in ["start_command", "stop_command"] {
            let command = resource.command(name) ?? [binary]
            guard command[0].hasPrefix("/"), let problem = FileCheck.problem(command[0], .executable) else { continue }
            return .badConfiguration("attribute '\(resource.command(name) == nil ? "binary" : name)': \(command[0]): \(problem)")
        }
        if let problem = FileCheck.creatableFileProblem(daemon.pidFile.path) {
            return .badConfiguration("pidfile \(daemon.pidFile.path): \(problem)"
                                     + (resource.string("pidfile") == nil ? " (from the config's pid directive)" : ""))
        }
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
        guard values.isSuccess, let address = IPAddress(numeric: addressText) else { return values }
        switch level {
        case 1: return daemon.probe()
        case 2: return probePort(address)
        case 3: return probeHTTP(address)
        default: return .invalid("no monitoring level \(level)")
        }
    }

    /// Level 2: the port accepts a TCP connection in time.
    func probePort(_ address: IPAddress) -> Outcome {
        let timeout = resource.budget(connectTimeout)
        let result = TCPProbe.connect(to: address, port: port, timeout: timeout)
        return result == .connected ? .success : .failed("\(addressText) port \(port): \(result.summary(timeout: timeout))")
    }

    /// Level 3: GET the home page, check the status class, ignore the body.
    /// With libcurl in the companion; `http_client=builtin` sends plain HTTP
    /// over a socket of its own instead (no client library to load).
    func probeHTTP(_ address: IPAddress) -> Outcome {
        let total = resource.budget(httpTimeout)
        let connect = min(total, resource.budget(connectTimeout))
        let host = serverName ?? address.urlHost
        let url = "\(tls ? "https" : "http")://\(host):\(port)\(urlPath)"
        let code: Int
        if httpClient == "builtin" {
            switch PlainHTTP.get(address: address, port: port, host: port == 80 ? host : "\(host):\(port)",
                                 path: urlPath, connectTimeout: connect, totalTimeout: total) {
            case .status(let c): code = c
            case .failed(let why, _): return .failed("GET \(url): \(why)")
            }
        } else {
            switch CurlCompanion.get(resource, url: url, resolve: serverName.map { "\($0):\(port):\(address)" },
                                     connect: connect, total: total, verify: tls && tlsVerify, caFile: tls ? caFile : nil) {
            case .success(let c): code = c
            case .failure(let error): return error.outcome
            }
        }
        return code / 100 == statusClass ? .success : .failed("GET \(url) answered \(code), expected \(statusClass)xx")
    }

    // MARK: Values

    /// Why `path` is not a URL path, or nil. Only the path is configurable:
    /// a scheme or a host (`http://x/`, `//x/`) is refused.
    static func urlPathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else {
            return path.contains("://") ? "must be a path only, without scheme or host (the host is address and port)"
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

@_cdecl("fshost_plugin_entry")
public func fshostPluginEntry() -> PluginEntry { PluginEntry(exporting: WebServer.self) }
