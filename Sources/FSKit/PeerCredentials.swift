#if canImport(Glibc)
import Glibc
#endif

/// The process at the other end of a Unix-socket connection, as the
/// kernel recorded it (socket(7), `SO_PEERCRED`: the credentials the
/// listening peer had when it called listen(2)); the kernel's word, which
/// the peer cannot forge. What libpq's `requirepeer` compares (PostgreSQL
/// 15 docs, "Parameter Key Words"), for probes that speak a protocol
/// themselves. Meaningful only on Unix sockets: a TCP peer has no
/// credentials to ask for.
public struct PeerCredentials: Sendable, Equatable {
    public let pid: Int32, uid: UInt32, gid: UInt32
}

extension TCPConnection {
    /// The peer's credentials on a connection from
    /// ``UnixSocketProbe/open(path:by:)``, or getsockopt's error. Not for
    /// TCP connections: the kernel has no peer credentials for them (what
    /// it returns names no process).
    public func peerCredentials() -> Result<PeerCredentials, ConnectError> {
        // struct ucred (socket(7)): pid_t, uid_t, gid_t. Glibc declares it
        // only under _GNU_SOURCE, which Swift's Glibc module does not set.
        var credentials = (pid: Int32(0), uid: UInt32(0), gid: UInt32(0))
        var length = socklen_t(MemoryLayout<(Int32, UInt32, UInt32)>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &credentials, &length) == 0 else {
            return .failure(ConnectError(.failed("SO_PEERCRED: " + errnoText(errno))))
        }
        guard length == MemoryLayout<(Int32, UInt32, UInt32)>.size else {
            return .failure(ConnectError(.failed("SO_PEERCRED: \(length) bytes, not a struct ucred")))
        }
        return .success(PeerCredentials(pid: credentials.pid, uid: credentials.uid, gid: credentials.gid))
    }
}
