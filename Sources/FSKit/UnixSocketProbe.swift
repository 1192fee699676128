import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// The Unix-socket twin of ``TCPProbe``: servers that also (or only)
/// listen on a socket file (PostgreSQL's `/run/postgresql/.s.PGSQL.5432`,
/// php-fpm, a log writer) are probed there without the network stack.
public enum UnixSocketProbe {
    /// `sun_path` holds 108 bytes with its terminating NUL.
    public static let pathCapacity = 107

    /// Connects a stream socket to `path` and closes it at once; no data is
    /// sent. Never waits past `timeout`: a Unix connect does not block on a
    /// listener, except when its backlog is full (EAGAIN), which is retried
    /// every 10 ms until the timeout.
    ///
    /// `.connected`; `.refused` (ECONNREFUSED: the file is there, nothing
    /// listens); `.timedOut` (backlog full throughout); `.failed(text)`
    /// otherwise ("no such socket file", "is not a socket", a path longer
    /// than ``pathCapacity`` bytes).
    public static func connect(path: String, timeout: Duration) -> ConnectResult {
        switch open(path: path, by: ProbeDeadline(after: timeout)) {
        case .success: return .connected
        case .failure(let error): return error.result
        }
    }

    /// Connects like ``connect(path:timeout:)`` and keeps the connection,
    /// for a probe that talks a little protocol (a database's startup
    /// greeting) without a client library; its sends and receives end at
    /// their deadlines like a TCP connection's.
    public static func open(path: String, by deadline: ProbeDeadline) -> Result<TCPConnection, ConnectError> {
        let bytes = Array(path.utf8)
        guard !bytes.isEmpty, bytes.count <= pathCapacity, !bytes.contains(0) else {
            return .failure(ConnectError(.failed("socket path must be 1 to \(pathCapacity) bytes: \(LogText.escaped(path))")))
        }
        let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
        let fd = socket(AF_UNIX, type, 0)
        guard fd >= 0 else { return .failure(ConnectError(.failed("socket: " + errnoText(errno)))) }
        let connection = TCPConnection(fd: fd)
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (i, b) in bytes.enumerated() { raw[i] = b }
            raw[bytes.count] = 0
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + bytes.count + 1)
        while true {
            let rc = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, length) }
            }
            if rc == 0 { return .success(connection) }
            switch errno {
            case EINTR: continue
            case EAGAIN, EINPROGRESS:
                if deadline.hasPassed { return .failure(ConnectError(.timedOut)) }
                usleep(10_000)
            case ECONNREFUSED: return .failure(ConnectError(.refused))
            case ENOENT: return .failure(ConnectError(.failed("no such socket file")))
            case ENOTSOCK: return .failure(ConnectError(.failed("is not a socket")))
            case let e: return .failure(ConnectError(.failed(errnoText(e))))
            }
        }
    }
}
