// A TCP connection for libnfs's RPC layer, made without libnfs's own
// connect (Channel.connect says why): a numeric address, a reserved source
// port when the process may bind one, no name service of any kind.
import FSKit
#if canImport(Glibc)
import Glibc
#endif

/// The next reserved port to try: a random start per process, then the
/// ports after it (three connections of one call take three ports in turn).
nonisolated(unsafe) private var nextReservedPort = UInt16.random(in: 512..<1024)

/// A non-blocking TCP socket connected to `address`:`port` by `deadline`
/// (close-on-exec, SO_LINGER 0, TCP_NODELAY: two pipelined calls leave at
/// once): `.connected` with its descriptor, owned by the caller, or why
/// there is none with -1.
///
/// Bound first to a reserved port (512-1023, as libnfs and the BSD
/// bindresvport: a kernel nfsd's default `secure` demands one); EACCES or EPERM (not
/// root, no CAP_NET_BIND_SERVICE) or every port taken: the kernel's
/// ephemeral port, as libnfs. Unlike libnfs, a port named in /etc/services
/// is not skipped: that would read the services database for every try,
/// and the port is held for one check (milliseconds).
func connectedSocket(to address: IPAddress, port: UInt16, until deadline: ProbeDeadline) -> (result: ConnectResult, fd: Int32) {
    let fd = socket(address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
    guard fd >= 0 else { return (.failed("socket: \(String(cString: strerror(errno)))"), -1) }
    var linger = Glibc.linger(l_onoff: 1, l_linger: 0)
    _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<Glibc.linger>.size))
    var one: Int32 = 1
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))

    for _ in 0..<512 {
        let local = nextReservedPort
        nextReservedPort = local == 1023 ? 512 : local + 1
        let rc = withSocketAddress(address, port: local, any: true) { bind(fd, $0, $1) }
        if rc == 0 || errno == EACCES || errno == EPERM { break }
    }

    var rc: Int32
    repeat { rc = withSocketAddress(address, port: port, any: false) { Glibc.connect(fd, $0, $1) } } while rc != 0 && errno == EINTR
    if rc == 0 { return (.connected, fd) }
    var failure = errno
    if failure == EINPROGRESS {
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        while true {
            let ms = deadline.remaining.milliseconds
            if ms <= 0 { failure = ETIMEDOUT; break }
            let n = poll(&pfd, 1, Int32(clamping: ms))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { failure = errno; break }
            if n == 0 { continue }
            var length = socklen_t(MemoryLayout<Int32>.size)
            if getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) != 0 { failure = errno }
            break
        }
        if failure == 0 { return (.connected, fd) }
    }
    close(fd)
    switch failure {
    case ECONNREFUSED: return (.refused, -1)
    case ETIMEDOUT: return (.timedOut, -1)
    default: return (.failed(String(cString: strerror(failure))), -1)
    }
}

/// `address`:`port` as a sockaddr for `body`; with `any`, the wildcard
/// address of its family (a local bind).
private func withSocketAddress<R>(_ address: IPAddress, port: UInt16, any: Bool, _ body: (UnsafePointer<sockaddr>, socklen_t) -> R) -> R {
    if address.isIPv6 {
        var sa = sockaddr_in6()
        sa.sin6_family = sa_family_t(AF_INET6)
        sa.sin6_port = port.bigEndian
        if !any {
            withUnsafeMutableBytes(of: &sa.sin6_addr) { $0.copyBytes(from: address.bytes) }
            sa.sin6_scope_id = address.scope
        }
        return withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in6>.size)) } }
    }
    var sa = sockaddr_in()
    sa.sin_family = sa_family_t(AF_INET)
    sa.sin_port = port.bigEndian
    if !any { withUnsafeMutableBytes(of: &sa.sin_addr) { $0.copyBytes(from: address.bytes) } }
    return withUnsafePointer(to: &sa) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, socklen_t(MemoryLayout<sockaddr_in>.size)) } }
}
