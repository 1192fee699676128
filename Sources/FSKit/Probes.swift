import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

// Network probes for monitoring levels: a TCP connect with a deadline, to a
// numeric address only. Nothing here resolves a name: DNS can hang for
// seconds, and a monitor must answer within its timeout (docs/ARCHITECTURE.md §7).

/// A numeric IPv4 or IPv6 address (`127.0.0.1`, `::1`, `fe80::1%eth0`).
/// Host names are refused: no DNS on the monitor path.
public struct IPAddress: Sendable, Equatable, CustomStringConvertible {
    /// `AF_INET` or `AF_INET6`.
    public let family: Int32
    /// The 4 or 16 address bytes, network order.
    public let bytes: [UInt8]
    /// IPv6 scope (interface index) for link-local addresses; 0 otherwise.
    public let scope: UInt32
    /// The text it was parsed from.
    public let description: String

    /// Parses a numeric address; nil for anything else (a host name, a
    /// port suffix, brackets, an unknown interface in `%scope`).
    public init?(numeric text: String) {
        guard !text.isEmpty, text.utf8.count < 64 else { return nil }
        var address = text
        var scope: UInt32 = 0
        if let percent = text.firstIndex(of: "%") {
            address = String(text[..<percent])
            let zone = String(text[text.index(after: percent)...])
            guard !zone.isEmpty else { return nil }
            if let index = UInt32(zone) { scope = index } else {
                scope = if_nametoindex(zone)
                guard scope != 0 else { return nil }
            }
        }
        var v4 = in_addr()
        if scope == 0, inet_pton(AF_INET, address, &v4) == 1 {
            family = AF_INET
            bytes = withUnsafeBytes(of: &v4) { Array($0) }
            self.scope = 0
            description = text
            return
        }
        var v6 = in6_addr()
        guard inet_pton(AF_INET6, address, &v6) == 1 else { return nil }
        family = AF_INET6
        bytes = withUnsafeBytes(of: &v6) { Array($0) }
        self.scope = scope
        description = text
    }

    /// An IPv6 address (``family`` is `AF_INET6`).
    public var isIPv6: Bool { family == AF_INET6 }

    /// The host part of a URL: `127.0.0.1`, `[::1]`, `[fe80::1%25eth0]` (RFC 6874).
    public var urlHost: String {
        guard isIPv6 else { return description }
        return "[" + description.replacingPercent() + "]"
    }

    /// Calls `body` with a `sockaddr` for this address and `port`.
    func withSocketAddress<R>(port: UInt16, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
        if isIPv6 {
            var sa = sockaddr_in6()
            sa.sin6_family = sa_family_t(AF_INET6)
            sa.sin6_port = port.bigEndian
            sa.sin6_scope_id = scope
            withUnsafeMutableBytes(of: &sa.sin6_addr) { raw in for i in 0..<16 { raw[i] = bytes[i] } }
            return withUnsafePointer(to: &sa) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) }
            }
        }
        var sa = sockaddr_in()
        sa.sin_family = sa_family_t(AF_INET)
        sa.sin_port = port.bigEndian
        withUnsafeMutableBytes(of: &sa.sin_addr) { raw in for i in 0..<4 { raw[i] = bytes[i] } }
        return withUnsafePointer(to: &sa) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
    }
}

extension String {
    /// `%` → `%25`, for a zone in a URL.
    fileprivate func replacingPercent() -> String {
        var out = ""
        for c in self { if c == "%" { out += "%25" } else { out.append(c) } }
        return out
    }
}

/// How a ``TCPProbe/connect(to:port:timeout:)`` ended.
public enum ConnectResult: Sendable, Equatable {
    /// The handshake completed (something listens). A stopped (SIGSTOP)
    /// server still completes it: the kernel answers from the listen
    /// backlog; only an application-level probe notices.
    case connected
    /// RST: nothing listens on the port.
    case refused
    /// No answer within the timeout (filtered, overloaded, wrong address).
    case timedOut
    /// Any other error, with its text ("Network is unreachable").
    case failed(String)

    /// One line for a reason: "connection refused", "no answer within 2000 ms".
    public func summary(timeout: Duration) -> String {
        switch self {
        case .connected: return "connected"
        case .refused: return "connection refused"
        case .timedOut: return "no answer within \(timeout.milliseconds) ms"
        case .failed(let why): return why
        }
    }
}

/// A point in time on the monotonic clock, for probes that take several
/// steps (connect, send, receive) under one timeout.
public struct ProbeDeadline: Sendable {
    let nanoseconds: Int64

    /// `timeout` from now.
    public init(after timeout: Duration) {
        nanoseconds = monotonicNanoseconds() + max(0, timeout.milliseconds) * 1_000_000
    }

    /// Time left (zero once it passed).
    public var remaining: Duration { .nanoseconds(max(0, nanoseconds - monotonicNanoseconds())) }
    /// The deadline is now or past.
    public var hasPassed: Bool { monotonicNanoseconds() >= nanoseconds }

    /// Milliseconds for poll(2): rounded up, so 1 ns left still polls once.
    var pollMilliseconds: Int32 {
        let left = nanoseconds - monotonicNanoseconds()
        return left <= 0 ? 0 : Int32(clamping: (left + 999_999) / 1_000_000)
    }

    /// The earlier of the two.
    public func cut(to other: ProbeDeadline) -> ProbeDeadline { nanoseconds <= other.nanoseconds ? self : other }
}

/// A connected stream socket (TCP; or a Unix socket, see
/// ``UnixSocketProbe/open(path:by:)``) whose every wait ends at a deadline. Closed when
/// the value goes away. For probes that talk a little protocol (an HTTP
/// status line, a database greeting) without a client library.
public final class TCPConnection {
    let fd: Int32

    /// Takes ownership of a connected stream socket (TCP, or a Unix socket
    /// from ``UnixSocketProbe/open(path:by:)``).
    init(fd: Int32) { self.fd = fd }
    deinit { close(fd) }

    /// Connects to `address`:`port` by `deadline` (non-blocking connect +
    /// poll; no name resolution). The connection, or why there is none.
    public static func open(to address: IPAddress, port: UInt16, by deadline: ProbeDeadline)
        -> Result<TCPConnection, ConnectError>
    {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(address.family, type, 0)
        guard fd >= 0 else { return .failure(ConnectError(.failed("socket: " + errnoText(errno)))) }
        let connection = TCPConnection(fd: fd)
        var rc: Int32
        repeat {
            rc = address.withSocketAddress(port: port) { Glibc.connect(fd, $0, $1) }
        } while rc != 0 && errno == EINTR
        if rc == 0 { return .success(connection) }
        let immediate = errno
        guard immediate == EINPROGRESS || immediate == EAGAIN else { return .failure(ConnectError(classify(immediate))) }
        switch connection.wait(for: Int16(POLLOUT), until: deadline) {
        case .ready:
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else {
                return .failure(ConnectError(.failed("getsockopt: " + errnoText(errno))))
            }
            return error == 0 ? .success(connection) : .failure(ConnectError(classify(error)))
        case .timedOut: return .failure(ConnectError(.timedOut))
        case .failed(let why): return .failure(ConnectError(.failed(why)))
        }
    }

    /// What a send or receive ran into.
    public enum IOError: Error, Sendable, Equatable {
        case timedOut
        /// The peer closed (receive: before any byte of this call).
        case closed
        case failed(String)
    }

    /// Sends all of `bytes` by `deadline`.
    public func send(_ bytes: [UInt8], by deadline: ProbeDeadline) -> Result<Void, IOError> {
        var sent = 0
        while sent < bytes.count {
            let n = bytes.withUnsafeBytes { raw in
                Glibc.send(fd, raw.baseAddress! + sent, raw.count - sent, Int32(MSG_NOSIGNAL))
            }
            if n > 0 { sent += n; continue }
            if n < 0 && errno == EINTR { continue }
            if n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) {
                switch wait(for: Int16(POLLOUT), until: deadline) {
                case .ready: continue
                case .timedOut: return .failure(.timedOut)
                case .failed(let why): return .failure(.failed(why))
                }
            }
            if n < 0 && (errno == EPIPE || errno == ECONNRESET) { return .failure(.closed) }
            return .failure(.failed(errnoText(errno)))
        }
        return .success(())
    }

    /// Receives what has arrived (at most `limit` bytes), waiting for the
    /// first byte until `deadline`.
    public func receive(limit: Int = 4096, by deadline: ProbeDeadline) -> Result<[UInt8], IOError> {
        var buffer = [UInt8](repeating: 0, count: max(1, limit))
        while true {
            let n = buffer.withUnsafeMutableBytes { Glibc.recv(fd, $0.baseAddress, $0.count, 0) }
            if n > 0 { return .success(Array(buffer[0..<n])) }
            if n == 0 { return .failure(.closed) }
            if errno == EINTR { continue }
            if errno == EAGAIN || errno == EWOULDBLOCK {
                switch wait(for: Int16(POLLIN), until: deadline) {
                case .ready: continue
                case .timedOut: return .failure(.timedOut)
                case .failed(let why): return .failure(.failed(why))
                }
            }
            if errno == ECONNRESET { return .failure(.closed) }
            return .failure(.failed(errnoText(errno)))
        }
    }

    private enum Readiness { case ready, timedOut, failed(String) }

    private func wait(for events: Int16, until deadline: ProbeDeadline) -> Readiness {
        var pfd = pollfd(fd: fd, events: events, revents: 0)
        while true {
            let ms = deadline.pollMilliseconds
            if ms == 0 { return .timedOut }
            let n = poll(&pfd, 1, ms)
            if n > 0 { return .ready } // errors and hang-ups show in the next call
            if n == 0 { continue }     // the deadline check decides
            if errno == EINTR { continue }
            return .failed("poll: " + errnoText(errno))
        }
    }

    static func classify(_ error: Int32) -> ConnectResult {
        switch error {
        case ECONNREFUSED: return .refused
        case ETIMEDOUT: return .timedOut
        default: return .failed(errnoText(error))
        }
    }
}

/// Why ``TCPConnection/open(to:port:by:)`` has no connection.
public struct ConnectError: Error, Sendable, Equatable {
    /// How the connect ended (refused, timed out, unreachable, …).
    public let result: ConnectResult
    init(_ result: ConnectResult) { self.result = result }
}

/// Probes that never wait longer than they are told.
public enum TCPProbe {
    /// Opens a TCP connection to `address`:`port` and closes it at once:
    /// a non-blocking `connect` plus `poll`, so the wait ends at `timeout`
    /// whatever the network does. No name resolution, no data sent.
    public static func connect(to address: IPAddress, port: UInt16, timeout: Duration) -> ConnectResult {
        switch TCPConnection.open(to: address, port: port, by: ProbeDeadline(after: timeout)) {
        case .success: return .connected
        case .failure(let error): return error.result
        }
    }
}

/// `strerror` text.
func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }
