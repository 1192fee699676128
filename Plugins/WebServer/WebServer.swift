// The web server resource type: nginx (or any HTTP server with a start
// command, a stop command and a pidfile), with three monitoring levels
// after the FailSafe guide's example: "for a web server application, the
// monitor script can request a home page, verify that the connection was
// made, and ignore the resulting home page."
//
//   level 1  process  the master process runs: the pidfile's pid, guarded
//                     against pid reuse, plus the host's /proc scan for the
//                     declared master (name + config path)
//   level 2  port     a TCP connection to address:port completes in time
//   level 3  http     GET url_path answers with the expected status class
//                     (body ignored), with libcurl in the companion
//                     webserver-http.so, loaded only at this level;
//                     http_client=builtin: plain HTTP on a socket of its own
//
// A stopped server is HA_NOT_RUNNING at every level (no pidfile, no
// process); a pidfile whose process is gone is a failure (it crashed).
import FSKit
import HTTPProbeCall
#if canImport(Glibc)
import Glibc
#endif

struct WebServer: ResourceType {
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
                  "the server's pidfile; default: the config's top-level `pid` directive (relative to prefix), else /run/nginx.pid"),
        Attribute("process_name", .string,
                  "name of the master process (comm or argv[0]); default: the basename of binary"),
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
        Attribute("level2_timeout", .duration, default: "2000ms", "TCP connect timeout (level 2; level 3's connect phase)"),
        Attribute("level3_timeout", .duration, default: "5000ms", "total timeout of the level-3 HTTP request"),
        Attribute("tls", .boolean, default: "false", "level 3 speaks HTTPS"),
        Attribute("tls_verify", .boolean, default: "true", "verify the server's certificate (with tls)"),
        Attribute("ca_file", .path, "CA bundle to verify the certificate with (with tls); default: the system's"),
        Attribute("http_client", .string, default: "curl",
                  "level 3's client: curl (libcurl, HTTP and HTTPS) or builtin (plain HTTP on a socket: no libcurl load, ~4 ms and ~8 MiB less per call)"),
    ]

    static let levels = [
        MonitorLevel(1, "process",
                     checks: "the master process runs: the pidfile's pid alive (pid-reuse guarded) and the declared master present",
                     cost: "a pidfile read and a /proc scan"),
        MonitorLevel(2, "port", checks: "a TCP connection to address:port completes within level2_timeout",
                     cost: "one TCP handshake"),
        MonitorLevel(3, "http",
                     checks: "GET url_path answers with status_class within level3_timeout; the body is ignored",
                     cost: "one HTTP request; loads libcurl (the webserver-http companion) unless http_client=builtin"),
    ]

    static let defaults = ActionDefaults(
        timeouts: [.exclusive: .seconds(5), .start: .seconds(30), .stop: .seconds(30), .monitor: .seconds(15),
                   .restart: .seconds(60), .validate: .seconds(5)],
        level: 2, retries: 1, retryInterval: .milliseconds(500))

    // MARK: Configuration

    let resource: Resource
    let binary: String
    let config: String
    let prefix: String?
    let pidFile: PidFile
    let processName: String
    let addressText: String
    let port: UInt16
    let urlPath: String
    let serverName: String?
    let statusClass: Int
    let startCommand: [String]
    let stopCommand: [String]
    let level2Timeout: Duration
    let level3Timeout: Duration
    let tls: Bool
    let tlsVerify: Bool
    let caFile: String?
    let httpClient: String
    /// Set when start/stop commands are the defaults (nginx's own).
    let isNginx: Bool

    init(resource: Resource) throws(ConfigurationError) {
        self.resource = resource
        binary = resource.string("binary") ?? "/usr/sbin/nginx"
        config = try resource.required("config")
        prefix = resource.string("prefix")
        let portNumber = resource.integer("port") ?? 0
        guard (1...65535).contains(portNumber) else {
            throw ConfigurationError(.invalid("attribute 'port' is not a TCP port: \(resource.string("port") ?? "unset")"))
        }
        port = UInt16(portNumber)
        processName = resource.string("process_name") ?? WebServer.basename(binary)
        addressText = resource.string("address") ?? "127.0.0.1"
        urlPath = resource.string("url_path") ?? "/"
        serverName = resource.string("server_name").flatMap { $0.isEmpty ? nil : $0 }
        statusClass = resource.integer("status_class") ?? 2
        let base = [binary] + (prefix.map { ["-p", $0] } ?? []) + ["-c", config]
        let start = resource.command("start_command")
        let stop = resource.command("stop_command")
        startCommand = start ?? base
        stopCommand = stop ?? base + ["-s", "quit"]
        isNginx = start == nil
        level2Timeout = resource.duration("level2_timeout") ?? .seconds(2)
        level3Timeout = resource.duration("level3_timeout") ?? .seconds(5)
        tls = resource.boolean("tls") ?? false
        tlsVerify = resource.boolean("tls_verify") ?? true
        caFile = resource.string("ca_file")
        httpClient = resource.string("http_client") ?? "curl"
        if let path = resource.string("pidfile") {
            pidFile = PidFile(path)
        } else {
            // The config's own `pid` directive, as nginx resolves it.
            let declared = NginxConfig(path: config)?.pid ?? "/run/nginx.pid"
            pidFile = PidFile(declared.hasPrefix("/") ? declared
                              : (prefix ?? "/usr/share/nginx").withTrailingSlash + declared)
        }
    }

    /// The master: its name and the config path, so a second server with
    /// another configuration is not mistaken for this one. nginx rewrites
    /// its title to `nginx: master process /usr/sbin/nginx -c CONFIG`.
    var masterPattern: ProcessPattern { ProcessPattern(name: processName, argument: config) }

    var processes: [ProcessPattern] { [masterPattern] }

    // MARK: Validation

    /// The checks that need no file system: address, URL path, status class,
    /// commands, timeouts. HA_INVAL_ARGS naming the attribute.
    func checkValues() -> Outcome {
        guard IPAddress(numeric: addressText) != nil else {
            return .invalid("attribute 'address' must be a numeric IPv4 or IPv6 address (no DNS on the monitor path): '\(addressText)'")
        }
        if let problem = WebServer.urlPathProblem(urlPath) {
            return .invalid("attribute 'url_path' \(problem): '\(urlPath)'")
        }
        if let serverName, !WebServer.isHostName(serverName) {
            return .invalid("attribute 'server_name' must be a host name (letters, digits, '-', '.'): '\(serverName)'")
        }
        guard (2...4).contains(statusClass) else {
            return .invalid("attribute 'status_class' must be 2 (2xx), 3 (3xx) or 4 (4xx): \(statusClass)")
        }
        if startCommand.isEmpty || startCommand[0].isEmpty { return .invalid("attribute 'start_command' is an empty command") }
        if stopCommand.isEmpty || stopCommand[0].isEmpty { return .invalid("attribute 'stop_command' is an empty command") }
        guard level2Timeout > .zero else { return .invalid("attribute 'level2_timeout' must be more than 0") }
        guard level3Timeout > .zero else { return .invalid("attribute 'level3_timeout' must be more than 0") }
        switch httpClient {
        case "curl": break
        case "builtin":
            if tls { return .invalid("attribute 'http_client' builtin speaks plain HTTP only; with tls=true use curl") }
        default:
            return .invalid("attribute 'http_client' must be curl or builtin: '\(httpClient)'")
        }
        return .success
    }

    /// Before start (and `validate`): the values, then the files they name.
    /// A missing or unusable file is HA_NOCFGINFO, naming the attribute.
    func validate() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        if let problem = FileCheck.readableFile(config) {
            return .badConfiguration("attribute 'config': \(config): \(problem)")
        }
        for (attribute, command) in [("start_command", startCommand), ("stop_command", stopCommand)] {
            let executable = command[0]
            if executable == binary || executable.hasPrefix("/") {
                if let problem = FileCheck.executable(executable) {
                    let named = executable == binary && resource.command(attribute) == nil ? "binary" : attribute
                    return .badConfiguration("attribute '\(named)': \(executable): \(problem)")
                }
            }
        }
        if let problem = FileCheck.pidFileLocation(pidFile.path) {
            return .badConfiguration("pidfile \(pidFile.path): \(problem)"
                                     + (resource.string("pidfile") == nil ? " (from the config's pid directive)" : ""))
        }
        if let prefix, let problem = FileCheck.directory(prefix) {
            return .badConfiguration("attribute 'prefix': \(prefix): \(problem)")
        }
        if tls, let caFile, let problem = FileCheck.readableFile(caFile) {
            return .badConfiguration("attribute 'ca_file': \(caFile): \(problem)")
        }
        if isNginx, NginxConfig(path: config)?.daemonOff == true {
            return .badConfiguration("\(config) says `daemon off;`: the start command must daemonise (remove it, or set start_command)")
        }
        return .success
    }

    // MARK: The master process

    /// Key of the master's pid and start time in the resource's state,
    /// written after a start: the exact pid-reuse guard for level 1.
    static let masterKey = "master"

    var known: ProcessIdentity? { resource.state[WebServer.masterKey].flatMap(ProcessIdentity.init(text:)) }

    /// The pidfile and the process it names.
    func master() -> PidFileStatus {
        resource.processes.check(pidFile, known: known, pattern: masterPattern)
    }

    // MARK: Actions

    func start() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        switch master() {
        case .running(let pid, _):
            // Idempotent: already running. Still make sure it serves.
            return waitUntilServing(pid: pid, what: "already running (pid \(pid))")
        case .stale(let pid, let why):
            resource.log.info("stale pidfile \(pidFile.path) (pid \(pid): \(why)): cleaning up before start")
            killLeftovers(of: pid, leaderStart: known?.pid == pid ? known?.startTime : nil)
            pidFile.remove()
        case .malformed(let why):
            resource.log.warning("pidfile \(pidFile.path) holds no pid (\(why)); the server will rewrite it")
        case .unreadable(let why):
            return .failed("pidfile \(pidFile.path) cannot be read: \(why)")
        case .absent:
            break
        }
        if resource.processes.exists(masterPattern) {
            return .failed("a \(processName) with \(config) already runs without its pidfile \(pidFile.path); stop it first")
        }
        let result = resource.run(startCommand,
                                  timeout: resource.budget(max(.seconds(1), resource.timeLeft - .milliseconds(500))),
                                  captureOutput: true)
        guard result.succeeded else {
            if result.timedOut {
                // The host killed the command's process group; a daemon that
                // already left it (setsid) is still there: end it too.
                resource.processes.refresh()
                resource.processes.signal(masterPattern, SIGKILL)
            }
            return .failed("start command \(startCommand.joined(separator: " ")) \(result.summary)"
                           + WebServer.lastLines(result.output))
        }
        resource.processes.refresh()
        return waitUntilServing(pid: nil, what: "started")
    }

    /// Waits until the pidfile names a live master and the port accepts,
    /// within the action's time (leaving the host a moment for its own
    /// process check). Remembers the master for level 1.
    private func waitUntilServing(pid knownPid: Int32?, what: String) -> Outcome {
        guard let address = IPAddress(numeric: addressText) else { return checkValues() }
        var lastProblem = "no pidfile \(pidFile.path) yet"
        var remembered = knownPid != nil && known?.pid == knownPid
        while true {
            let status = master()
            switch status {
            case .running(let pid, let startTime):
                if !remembered {
                    resource.state[WebServer.masterKey] = ProcessIdentity(pid: pid, startTime: startTime).text
                    remembered = true
                }
                let probe = TCPProbe.connect(to: address, port: port, timeout: resource.budget(level2Timeout))
                if probe == .connected { return .success }
                lastProblem = "pid \(pid) runs, but \(addressText) port \(port): \(probe.summary(timeout: level2Timeout))"
            case .stale(let pid, let why):
                // It was there and died: no point in waiting.
                if knownPid != nil || remembered {
                    return .failed("\(what), then the master (pid \(pid)) went away: \(why)")
                }
                lastProblem = status.summary(pidFile)
            default:
                lastProblem = status.summary(pidFile)
            }
            if resource.timeLeft < .milliseconds(300) {
                return .failed("\(what), but not serving within the start timeout: \(lastProblem)")
            }
            usleep(20_000)
        }
    }

    func stop() -> Outcome {
        switch master() {
        case .running(let pid, let startTime):
            return stopMaster(pid: pid, startTime: startTime)
        case .stale(let pid, let why):
            resource.log.info("pidfile \(pidFile.path) is stale (pid \(pid): \(why)); removing it and any leftover workers")
            killLeftovers(of: pid, leaderStart: known?.pid == pid ? known?.startTime : nil)
            pidFile.remove()
        case .absent, .malformed, .unreadable:
            break
        }
        forget()
        // No usable pidfile: a master of this config may still run (pidfile
        // removed by hand). Ask it to quit; the host escalates if it stays.
        if resource.processes.exists(masterPattern) {
            resource.log.warning("a \(processName) with \(config) runs without its pidfile \(pidFile.path): sending QUIT")
            resource.processes.signal(masterPattern, SIGQUIT)
            while resource.timeLeft > .milliseconds(1500) {
                usleep(50_000)
                resource.processes.refresh()
                if !resource.processes.exists(masterPattern) { return .success }
            }
            return .failed("\(processName) with \(config) did not quit")
        }
        return .success
    }

    /// Graceful stop (`nginx -s quit`: finish open requests), then TERM
    /// (nginx: fast shutdown), then KILL for the master and its workers,
    /// each within its share of the stop timeout. The host's own TERM/KILL
    /// of the declared master stays the last resort.
    private func stopMaster(pid: Int32, startTime: UInt64) -> Outcome {
        let reserve = min(Duration.seconds(2), resource.timeLeft / 5)
        let gone = { !resource.processes.alive(pid: pid, startTime: startTime) }
        let result = resource.run(stopCommand, timeout: resource.budget(.seconds(10)), captureOutput: true)
        if !result.succeeded {
            resource.log.warning("stop command \(stopCommand.joined(separator: " ")) \(result.summary)"
                                 + WebServer.lastLines(result.output) + "; sending QUIT to pid \(pid)")
            if !gone() { kill(pid, SIGQUIT) }
        }
        // Graceful: up to 60 % of what is left.
        let graceful = (resource.timeLeft - reserve) * 0.6
        if resource.waitUntil(within: graceful, gone) { return finishStop(pid: pid, startTime: startTime) }
        resource.log.warning("pid \(pid) still runs after a graceful stop of \(graceful); sending TERM")
        if !gone() { kill(pid, SIGTERM) }
        if resource.waitUntil(within: (resource.timeLeft - reserve) * 0.5, gone) { return finishStop(pid: pid, startTime: startTime) }
        resource.log.warning("pid \(pid) still runs after TERM; sending KILL to it and its workers")
        let group = ServerGroup(leader: pid, name: processName, leaderStart: startTime)
        group.signal(SIGKILL, group.members())
        if resource.waitUntil(within: resource.timeLeft - reserve, gone) { return finishStop(pid: pid, startTime: startTime) }
        return .failed("\(processName) master pid \(pid) did not exit after QUIT, TERM and KILL")
    }

    /// After the master exited: workers that outlived it, the pidfile, state.
    private func finishStop(pid: Int32, startTime: UInt64) -> Outcome {
        killLeftovers(of: pid, leaderStart: startTime)
        if case .stale = resource.processes.check(pidFile) { pidFile.remove() }
        forget()
        resource.processes.refresh()
        return .success
    }

    /// Kills workers left in the dead master's process group (TERM, then KILL).
    private func killLeftovers(of leader: Int32, leaderStart: UInt64? = nil) {
        let group = ServerGroup(leader: leader, name: processName, leaderStart: leaderStart)
        var left = group.members()
        guard !left.isEmpty else { return }
        resource.log.warning("\(left.count) \(processName) process(es) of dead master \(leader) remain: "
                             + left.map { String($0.pid) }.joined(separator: ",") + "; sending TERM")
        group.signal(SIGTERM, left)
        _ = resource.waitUntil(within: min(.seconds(2), resource.timeLeft / 3)) { left = group.members(); return left.isEmpty }
        if !left.isEmpty {
            group.signal(SIGKILL, left)
            _ = resource.waitUntil(within: min(.seconds(2), resource.timeLeft / 3)) { group.members().isEmpty }
        }
    }

    private func forget() { resource.state[WebServer.masterKey] = nil }


    // MARK: Monitoring

    func probe(level: UInt32) -> Outcome {
        // A value no probe can use (a URL with a host part, a host name for
        // an address) is HA_INVAL_ARGS at every level, before anything runs.
        let values = checkValues()
        guard values.isSuccess else { return values }
        switch level {
        case 1: return probeProcess()
        case 2: return probePort()
        case 3: return probeHTTP()
        default: return .invalid("no monitoring level \(level)")
        }
    }

    /// Level 1. No pidfile → cleanly stopped (HA_NOT_RUNNING), unless the
    /// master runs anyway; a pidfile whose process is gone → crashed (failure).
    func probeProcess() -> Outcome {
        let status = master()
        switch status {
        case .running:
            return .success
        case .absent:
            if resource.processes.exists(masterPattern) {
                return .failed("\(processName) with \(config) runs, but its pidfile \(pidFile.path) is missing")
            }
            return .notRunning("not running (no pidfile \(pidFile.path))")
        case .stale:
            return .failed("master process gone (crashed?): " + status.summary(pidFile))
        case .unreadable, .malformed:
            return .failed(status.summary(pidFile))
        }
    }

    /// Level 2: the port accepts a TCP connection in time.
    func probePort() -> Outcome {
        guard let address = IPAddress(numeric: addressText) else { return checkValues() }
        let timeout = resource.budget(level2Timeout)
        let result = TCPProbe.connect(to: address, port: port, timeout: timeout)
        guard result == .connected else {
            return .failed("\(addressText) port \(port): \(result.summary(timeout: timeout))")
        }
        return .success
    }

    /// Level 3: GET the home page, check the status class, ignore the body.
    /// With libcurl in the companion; `http_client=builtin` sends plain HTTP
    /// over a socket of its own instead (no client library to load).
    func probeHTTP() -> Outcome {
        guard let address = IPAddress(numeric: addressText) else { return checkValues() }
        let total = resource.budget(level3Timeout)
        let connect = min(total, resource.budget(level2Timeout))
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
            switch curlGet(url: url, address: address, connect: connect, total: total) {
            case .success(let c): code = c
            case .failure(let error): return error.outcome
            }
        }
        guard code / 100 == statusClass else {
            return .failed("GET \(url) answered \(code), expected \(statusClass)xx")
        }
        return .success
    }

    /// The GET through the companion's libcurl (HTTPProbeCall): the status code, or the failure.
    private func curlGet(url: String, address: IPAddress, connect: Duration, total: Duration) -> Result<Int, OutcomeError> {
        guard let get = resource.companion(HTTPProbeCall.self) else {
            return .failure(OutcomeError(.failed(
                "level 3 needs the companion webserver-http.so beside the plugin (libcurl); it could not be loaded (see the log)")))
        }
        switch get(HTTPProbeCall.Request(url: url, resolve: serverName.map { "\($0):\(port):\(address.description)" },
                                         connectTimeout: connect, totalTimeout: total,
                                         verifyTLS: tls && tlsVerify, caFile: tls ? caFile : nil)) {
        case .answered(let code): return .success(code)
        case .timedOut(let why):
            return .failure(OutcomeError(.failed("GET \(url): no answer within \(total.milliseconds) ms (\(why))")))
        case .couldNotConnect(let why), .tlsFailed(let why), .failed(let why):
            return .failure(OutcomeError(.failed("GET \(url): \(why)")))
        }
    }
}

/// An outcome carried as an error (for `Result`).
struct OutcomeError: Error {
    let outcome: Outcome
    init(_ outcome: Outcome) { self.outcome = outcome }
}

// Restart is left to the host: stop, then start. A graceful reload
// (`nginx -s reload`) re-reads the config but is not a restart: it keeps a
// wedged master and its state.

extension WebServer: ExclusiveCheck {
    /// Running on this node: the pidfile's master runs, a crashed master's
    /// workers still run, or a master of this config runs without a pidfile.
    func exclusive() -> Outcome {
        switch master() {
        case .running(let pid, _):
            return .running("master pid \(pid) from \(pidFile.path)")
        case .stale(let pid, _):
            // A crashed master's workers still hold the port: something of
            // this resource runs here (stop cleans it up).
            let left = ServerGroup(leader: pid, name: processName,
                                   leaderStart: known?.pid == pid ? known?.startTime : nil).members()
            if !left.isEmpty {
                return .running("master pid \(pid) is gone but its \(processName) process(es) "
                                + left.map { String($0.pid) }.joined(separator: ",") + " still run")
            }
        default:
            break
        }
        if resource.processes.exists(masterPattern) { return .running("a \(processName) with \(config) runs") }
        return .notRunning("no \(processName) with \(config) runs")
    }
}

// MARK: Small helpers

extension WebServer {
    static func basename(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    /// Why `path` is not a URL path, or nil. Only the path is configurable:
    /// a scheme or a host (`http://x/`, `//x/`) is refused.
    static func urlPathProblem(_ path: String) -> String? {
        guard path.hasPrefix("/") else {
            return path.contains("://")
                ? "must be a path only, without scheme or host (the host is address and port)"
                : "must start with '/'"
        }
        if path.hasPrefix("//") { return "must be a path only: '//' starts a host part" }
        for c in path.utf8 where c <= 0x20 || c == 0x7F || c == UInt8(ascii: "#") {
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

    /// ": " + the last two lines of a command's output, for a reason.
    static func lastLines(_ output: String) -> String {
        let lines = output.split(separator: "\n").suffix(2).map(String.init)
        return lines.isEmpty ? "" : ": " + lines.joined(separator: " | ")
    }
}

/// File checks for `validate`, each an errno-style text or nil.
enum FileCheck {
    static func status(_ path: String) -> (stat?, String?) {
        var st = stat()
        if stat(path, &st) != 0 { return (nil, String(cString: strerror(errno))) }
        return (st, nil)
    }

    static func readableFile(_ path: String) -> String? {
        let (st, error) = status(path)
        guard let st else { return error }
        if st.st_mode & S_IFMT == S_IFDIR { return "is a directory" }
        guard st.st_mode & S_IFMT == S_IFREG else { return "is not a regular file" }
        if access(path, R_OK) != 0 { return String(cString: strerror(errno)) }
        return nil
    }

    static func executable(_ path: String) -> String? {
        let (st, error) = status(path)
        guard let st else { return error }
        guard st.st_mode & S_IFMT == S_IFREG else { return "is not a regular file" }
        // As root access(X_OK) is true if any x bit is set: check the bits too.
        if st.st_mode & 0o111 == 0 || access(path, X_OK) != 0 { return "is not executable" }
        return nil
    }

    static func directory(_ path: String) -> String? {
        let (st, error) = status(path)
        guard let st else { return error }
        return st.st_mode & S_IFMT == S_IFDIR ? nil : "is not a directory"
    }

    /// A pidfile that exists must be a readable regular file; one that does
    /// not must have an existing directory to be written in.
    static func pidFileLocation(_ path: String) -> String? {
        var st = stat()
        if stat(path, &st) == 0 {
            if st.st_mode & S_IFMT == S_IFDIR { return "is a directory" }
            guard st.st_mode & S_IFMT == S_IFREG else { return "is not a regular file" }
            return access(path, R_OK) == 0 ? nil : String(cString: strerror(errno))
        }
        guard errno == ENOENT else { return String(cString: strerror(errno)) }
        let parent = path.split(separator: "/", omittingEmptySubsequences: false).dropLast().joined(separator: "/")
        if let problem = directory(parent.isEmpty ? "/" : parent) { return "its directory \(parent): \(problem)" }
        return nil
    }
}

extension String {
    var withTrailingSlash: String { hasSuffix("/") ? self : self + "/" }
}

// The entry point `fshost_plugin_entry` is generated by the build from the
// target's name (FSPluginRecordPlugin), like the ELF record.
