#if canImport(Glibc)
import Glibc
#endif

// Network probes for monitoring levels: a TCP connect with a deadline, to a
// numeric address only. Nothing here resolves a name: DNS can hang for
// seconds, and a monitor must answer within its timeout (DESIGN §6).

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

/// Probes that never wait longer than they are told.
public enum TCPProbe {
    /// Opens a TCP connection to `address`:`port` and closes it at once:
    /// a non-blocking `connect` plus `poll`, so the wait ends at `timeout`
    /// whatever the network does. No name resolution, no data sent.
    public static func connect(to address: IPAddress, port: UInt16, timeout: Duration) -> ConnectResult {
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(address.family, type, 0)
        guard fd >= 0 else { return .failed("socket: " + errnoText(errno)) }
        defer { close(fd) }
        let started = monotonicNanoseconds()
        let limit = Int64(timeout.milliseconds) * 1_000_000

        var rc: Int32
        repeat {
            rc = address.withSocketAddress(port: port) { Glibc.connect(fd, $0, $1) }
        } while rc != 0 && errno == EINTR
        if rc == 0 { return .connected }
        let immediate = errno
        guard immediate == EINPROGRESS || immediate == EAGAIN else { return classify(immediate) }

        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let left = limit - (monotonicNanoseconds() - started)
            if left <= 0 { return .timedOut }
            // Round up: poll(0) would spin, and a 1 ms budget still deserves one look.
            let ms = Int32(clamping: (left + 999_999) / 1_000_000)
            let n = poll(&pfd, 1, ms)
            if n < 0 {
                if errno == EINTR { continue }
                return .failed("poll: " + errnoText(errno))
            }
            if n == 0 { continue } // the loop's clock check decides
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) == 0 else {
                return .failed("getsockopt: " + errnoText(errno))
            }
            return error == 0 ? .connected : classify(error)
        }
    }

    private static func classify(_ error: Int32) -> ConnectResult {
        switch error {
        case ECONNREFUSED: return .refused
        case ETIMEDOUT: return .timedOut
        default: return .failed(errnoText(error))
        }
    }
}

/// `strerror` text.
func errnoText(_ code: Int32) -> String { String(cString: strerror(code)) }

/// CLOCK_MONOTONIC in nanoseconds.
func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}
