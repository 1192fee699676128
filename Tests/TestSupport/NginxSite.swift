// A private nginx for one test: a config in a temp dir (its prefix) that
// listens on a free loopback port, plus what a test asserts about it
// without curl: does the port accept, what status does GET / answer, which
// processes run with this config.
import Foundation

/// One nginx site in its own directory. Nothing runs until the test (or
/// fshost) starts it; ``killEverything()`` (call it in tearDown) leaves
/// nothing behind. Sendable: a test may signal it from another thread
/// (the remembered groups are behind a lock; everything else is `let`).
public final class NginxSite: @unchecked Sendable {
    /// The nginx executable tests use.
    public static let binary = "/usr/sbin/nginx"

    /// Why nginx cannot be used here, or nil when it can.
    public static var unavailableReason: String? {
        FileManager.default.isExecutableFile(atPath: binary) ? nil : "\(binary) is not installed (Debian package nginx-light)"
    }

    /// The prefix directory (`-p`), holding the config, pidfile and logs.
    public let directory: String
    /// The config file.
    public let config: String
    /// The pidfile the config names.
    public let pidFile: String
    /// The port the resource is told about.
    public let port: UInt16
    /// The port nginx actually listens on (differs for the "wrong port" case).
    public let listenPort: UInt16

    /// Options for the generated config.
    public struct Options {
        /// Status of `GET /` (e.g. 500 for a broken home page).
        public var homeStatus = 200
        /// Listen on another free port than ``NginxSite/port``.
        public var listenElsewhere = false
        /// Extra lines at the top level of the config.
        public var topLevel: [String] = []
        /// Listen on [::1] instead of 127.0.0.1.
        public var ipv6 = false
        /// Serve HTTPS with a self-signed certificate for `localhost` and
        /// 127.0.0.1 (``NginxSite/certificate``), made with the openssl CLI.
        public var tls = false
        public init() {}
    }

    /// With `tls`: the self-signed certificate (also its own CA) and key.
    public private(set) var certificate: String?
    public private(set) var key: String?

    /// Why a TLS site cannot be made here, or nil.
    public static var tlsUnavailableReason: String? {
        FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") ? nil : "/usr/bin/openssl is not installed (Debian package openssl)"
    }

    /// Makes the directory and writes the config (nothing is started).
    public init(_ options: Options = Options(), name: String = "site") throws {
        directory = try NginxSite.makeTemporaryDirectory(prefix: "fshost-nginx-\(name)")
        for sub in ["logs", "tmp"] {
            try FileManager.default.createDirectory(atPath: directory + "/" + sub, withIntermediateDirectories: true)
        }
        config = directory + "/nginx.conf"
        pidFile = directory + "/nginx.pid"
        port = try NginxSite.freePort()
        var other = port
        if options.listenElsewhere {
            repeat { other = try NginxSite.freePort() } while other == port
        }
        listenPort = other
        var tlsLines = ""
        if options.tls {
            let cert = directory + "/cert.pem", key = directory + "/key.pem"
            let status = try NginxSite.runTool("/usr/bin/openssl", [
                "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
            guard status == 0 else { throw NginxSiteError("openssl req exited with \(status)") }
            certificate = cert
            self.key = key
            tlsLines = "ssl_certificate \(cert);\n                ssl_certificate_key \(key);"
        }
        let listen = (options.ipv6 ? "[::1]" : "127.0.0.1") + ":\(listenPort)" + (options.tls ? " ssl" : "")
        let text = """
        # written by the fshost tests (TestSupport/NginxSite.swift)
        daemon on;
        master_process on;
        worker_processes 1;
        pid \(pidFile);
        error_log \(directory)/logs/error.log info;
        \(options.topLevel.joined(separator: "\n"))
        events { worker_connections 64; }
        http {
            access_log off;
            client_body_temp_path \(directory)/tmp;
            server {
                listen \(listen);
                \(tlsLines)
                location = / { return \(options.homeStatus) "home\\n"; }
                location / { return 200 "ok\\n"; }
            }
        }

        """
        try text.write(toFile: config, atomically: true, encoding: .utf8)
    }

    deinit {
        killEverything()
        try? FileManager.default.removeItem(atPath: directory)
    }

    // MARK: Driving nginx directly (not through fshost)

    /// `nginx -p DIR -c CONFIG` (daemonises; `config`: another config file
    /// than the site's own, with this prefix); true when it exited 0.
    ///
    /// posix_spawn + waitpid, not Foundation's Process: the daemon would
    /// inherit Process's own descriptors and its wait would never end.
    @discardableResult
    public func startDirectly(config other: String? = nil) throws -> Bool {
        let argv = [NginxSite.binary, "-p", directory, "-c", other ?? config]
        let cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
        defer { for p in cArgs { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        // Close every inherited descriptor above 2 (no closefrom in Swift's Glibc module).
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        for fd in open where fd > 2 { posix_spawn_file_actions_addclose(&actions, fd) }
        var pid: pid_t = 0
        let rc = posix_spawn(&pid, NginxSite.binary, &actions, nil, cArgs, environ)
        guard rc == 0 else { throw NginxSiteError("posix_spawn nginx: \(String(cString: strerror(rc)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return status == 0
    }

    /// Runs a tool (output discarded) and returns its exit status.
    static func runTool(_ path: String, _ arguments: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    // MARK: Processes

    /// Pids whose command line contains this site's config path (the
    /// master: nginx rewrites it to `nginx: master process … -c CONFIG`).
    public func masterPids() -> [Int32] {
        NginxSite.processes().filter { $0.commandLine.contains(config) }.map(\.pid)
    }

    /// The master from the pidfile, if the file names a live process.
    public func pidFromFile() -> Int32? {
        guard let text = try? String(contentsOfFile: pidFile, encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), kill(pid, 0) == 0 else { return nil }
        return pid
    }

    /// Every nginx process of this site: masters with its config and every
    /// process in their process groups (workers keep the group of a master
    /// that died), plus the groups remembered from earlier calls.
    public func allPids() -> [Int32] {
        let masters = masterPids()
        let groups = lock.withLock { () -> Set<Int32> in
            for m in masters { knownGroups.insert(m) }
            return knownGroups
        }
        return NginxSite.processes().filter { p in
            masters.contains(p.pid) || (groups.contains(p.processGroup) && p.comm == "nginx")
        }.map(\.pid)
    }

    /// Groups of masters seen so far (to find orphaned workers later).
    private var knownGroups: Set<Int32> = []
    private let lock = NSLock()

    /// Remembers the current master's group (call after a start, before a
    /// test kills the master).
    public func rememberGroups() { _ = allPids() }

    /// Sends `signal` to every process of the site; returns the pids.
    @discardableResult
    public func signalAll(_ signal: Int32) -> [Int32] {
        let pids = allPids()
        for pid in pids { kill(pid, signal) }
        return pids
    }

    /// SIGCONT then SIGKILL to every process of the site, and waits until
    /// none is left (at most 5 s).
    public func killEverything() {
        signalAll(SIGCONT)
        signalAll(SIGKILL)
        let end = Date().addingTimeInterval(5)
        while !allPids().isEmpty && Date() < end { usleep(20_000) }
    }

    /// Waits until `condition` holds (polling every 20 ms) or `seconds` pass.
    public static func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    // MARK: The network, without curl

    /// Whether 127.0.0.1:`port` accepts a TCP connection within `timeout` seconds.
    public func accepts(port: UInt16? = nil, timeout: Double = 1) -> Bool {
        guard let fd = NginxSite.connect(port: port ?? self.port, timeout: timeout) else { return false }
        close(fd)
        return true
    }

    /// The status code of `GET path` over a raw socket, nil when there is
    /// no complete status line within `timeout` seconds.
    public func httpStatus(path: String = "/", port: UInt16? = nil, timeout: Double = 2) -> Int? {
        guard let fd = NginxSite.connect(port: port ?? self.port, timeout: timeout) else { return nil }
        defer { close(fd) }
        var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request = "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) }
        var buffer = [UInt8](repeating: 0, count: 512)
        var got: [UInt8] = []
        while !got.contains(0x0A) {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n <= 0 { break }
            got += buffer[0..<n]
        }
        let line = String(decoding: got.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let parts = line.split(separator: " ")
        guard parts.count >= 2, parts[0].hasPrefix("HTTP/") else { return nil }
        return Int(parts[1])
    }

    // MARK: Helpers

    /// A TCP port on 127.0.0.1 nothing listens on right now (bind to 0, read it, close).
    public static func freePort() throws -> UInt16 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw NginxSiteError("socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard bound == 0 else { throw NginxSiteError("bind: \(String(cString: strerror(errno)))") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return UInt16(bigEndian: addr.sin_port)
    }

    /// A blocking TCP connect to 127.0.0.1:`port` with a timeout; the fd or nil.
    static func connect(port: UInt16, timeout: Double) -> Int32? {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue), 0)
        guard fd >= 0 else { return nil }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if rc != 0 {
            guard errno == EINPROGRESS else { close(fd); return nil }
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard poll(&pfd, 1, Int32(timeout * 1000)) == 1,
                  getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0, error == 0 else { close(fd); return nil }
        }
        let flags = fcntl(fd, F_GETFL)
        _ = fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)
        return fd
    }

    /// One process as the tests see it.
    public struct Proc {
        public let pid: Int32
        public let processGroup: Int32
        public let state: Character
        public let comm: String
        public let commandLine: String
    }

    /// Every process now (read from /proc; zombies left out).
    public static func processes() -> [Proc] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
        return names.compactMap { name -> Proc? in
            guard let pid = Int32(name),
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let open = stat.firstIndex(of: "("), let close = stat.lastIndex(of: ")") else { return nil }
            let comm = String(stat[stat.index(after: open)..<close])
            let fields = stat[stat.index(after: close)...].split(separator: " ")
            guard fields.count > 3, let state = fields[0].first, state != "Z", let group = Int32(fields[2]) else { return nil }
            let raw = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))) ?? Data()
            let line = String(decoding: raw.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
                .trimmingCharacters(in: .whitespaces)
            return Proc(pid: pid, processGroup: group, state: state, comm: comm, commandLine: line)
        }
    }

    /// The state letter of `pid` (`T` when stopped), nil when it is gone.
    public static func state(of pid: Int32) -> Character? {
        processes().first { $0.pid == pid }?.state
    }

    static func makeTemporaryDirectory(prefix: String) throws -> String {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw NginxSiteError("mkdtemp failed: \(String(cString: strerror(errno)))")
        }
        let path = String(cString: made)
        chmod(path, 0o755)
        return path
    }
}

public struct NginxSiteError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
