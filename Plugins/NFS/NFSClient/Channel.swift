// One libnfs context used for plain ONC RPC calls (rpcbind, MOUNT, NFSv3):
// its rpc_context (nfs_get_rpc_context), so that every call carries libnfs's
// own timeout (nfs_set_timeout; without it a call against a stopped server
// never ends, DESIGN.md §8) besides the poll loop's deadline. Calls on one
// connection are pipelined: two questions cost one round trip.
// ReservedPortSocket.swift makes the connections.
import CNFS
import FSKit
import NFSClientCall
#if canImport(Glibc)
import Glibc
#endif

final class Channel {
    let nfs: OpaquePointer
    let rpc: OpaquePointer
    let server: String
    /// Every callback's object, alive until the context is destroyed
    /// (destroying it cancels what is pending, which runs the callbacks).
    let keep = Completions()

    init?(server: String) {
        guard let nfs = nfs_init_context() else { return nil }
        guard let rpc = nfs_get_rpc_context(nfs) else { nfs_destroy_context(nfs); return nil }
        self.nfs = nfs
        self.rpc = rpc
        self.server = server
    }

    deinit { nfs_destroy_context(nfs) }

    var error: String { String(cString: rpc_get_error(rpc)) }

    /// libnfs's timeout for the calls queued from now on: whole seconds
    /// (DESIGN.md §8) covering `deadline`, which the poll loop holds exactly.
    func limit(to deadline: ProbeDeadline) {
        nfs_set_timeout(nfs, Int32(clamping: max(1, (deadline.remaining.milliseconds + 999) / 1000) * 1000))
    }

    /// Connects to `port` (closing the previous connection), no NULL ping:
    /// the first call's answer proves the service. nil when connected.
    ///
    /// The socket is made here and handed to libnfs (rpc_set_fd), not by
    /// rpc_connect_async: that resolves the numeric address with
    /// getaddrinfo (a netlink dump) and, as root, asks getservbyport for
    /// each reserved port it tries (NSS set up, nsswitch.conf and
    /// /etc/services read): most of a connection's cost, measured (issue
    /// 10). Kept from libnfs: a reserved source port when root may bind one
    /// (a kernel nfsd's default `secure` refuses others), SO_LINGER 0 (a
    /// closed connection leaves no TIME_WAIT holding that port).
    func connect(port: Int32, what: String, until deadline: ProbeDeadline) -> NFSClientCall.Response? {
        limit(to: deadline)
        rpc_disconnect(rpc, "next connection")
        guard let address = IPAddress(numeric: server) else { return .failed("\(what): \(server) is not a numeric address") }
        let (result, fd) = connectedSocket(to: address, port: UInt16(clamping: port), until: deadline)
        switch result {
        case .connected:
            // libnfs takes the socket (its context closes it) and marks it connected on its first POLLOUT.
            rpc_set_fd(rpc, fd)
            return nil
        case .timedOut: return .timedOut("\(what): cannot connect: no answer within the timeout")
        case .refused: return .failed("\(what): cannot connect: connection refused")
        case .failed(let why): return .failed("\(what): cannot connect: \(why)")
        }
    }

    /// Services the connection until every call of `calls` answered; nil
    /// then, else why not (the deadline, a socket error).
    func wait(for calls: [Completion], until deadline: ProbeDeadline, what: String) -> NFSClientCall.Response? {
        drive(until: { calls.allSatisfy(\.done) }, deadline: deadline, what: what,
              fd: { rpc_get_fd(rpc) }, events: { rpc_which_events(rpc) },
              service: { rpc_service(rpc, $0) }, error: { String(cString: rpc_get_error(rpc)) })
    }

    /// The failure of a call that answered with a non-success RPC status
    /// (libnfs's timeout: `.timedOut`); nil on success.
    func failure(of c: Completion, _ what: String) -> NFSClientCall.Response? {
        switch c.error {
        case 0: return nil
        case 3: return .timedOut("\(what): \(c.message.isEmpty ? "command timed out" : c.message)")  // RPC_STATUS_TIMEOUT
        default: return .failed("\(what): \(c.message.isEmpty ? error : c.message)")
        }
    }

    /// The callback of a call whose answer is its status alone (connect,
    /// UMNT): done, status, and the error text libnfs passes on failure.
    static let finished: rpc_cb = { _, status, data, p in
        let c = Completion.from(p)
        c.done = true
        c.error = status
        if status != 0, let data { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)) }
    }
}
