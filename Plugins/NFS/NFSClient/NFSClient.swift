// nfs-client: the companion object of the nfs plugin. It holds the one
// thing that needs libnfs — levels 2 and 3 (export listed, mount + stat +
// readdir + umount) — so that libnfs loads only when those levels run, never
// on level 1 (load cost is paid per call; DESIGN.md §8).
//
// NFSv3 goes through plain RPCs (V3Check.swift: three connections for both
// levels), NFSv4 through plain COMPOUNDs (V4Check.swift: one connection). A
// monitor at level 3 makes one call for levels 2 and 3, which asks what
// both need once.
//
// Every libnfs operation here is asynchronous and driven by one poll loop
// that ends at the request's deadline: a stopped (SIGSTOP) server, whose
// kernel still completes the TCP handshake, can never hold a monitor past
// its timeout. libnfs's own timeout (nfs_set_timeout: without it a sync
// call hangs forever, DESIGN.md §8) is set on every context as well, as a
// second guard.
import CNFS
import FSKit
import NFSClientCall
import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// One asynchronous call's result, filled by its C callback.
final class Completion {
    var done = false
    var error: Int32 = 0
    var message = ""
    /// What the callback extracted (ports, names, a MOUNT or NFS status
    /// and file handle, a root's type and fileid).
    /// rpcbind's TCP ports of version 3, by program, and who registered
    /// each (RPCBIND v3 DUMP: "superuser" for root), for the transport
    /// `netid` names ("tcp", or "tcp6" for an IPv6 server address).
    var ports: [UInt32: UInt32] = [:]
    var owners: [UInt32: String] = [:]
    var netid = "tcp"
    var isDirectory = false
    var fileid: UInt64 = 0
    var names: [String] = []
    var mountStatus: Int32 = 0
    var nfsStatus: Int32 = 0
    /// NFSv4: the index of the COMPOUND's operation that failed (its
    /// status in `nfsStatus`), -1 when none did; READDIR reached the end.
    var failedStep = -1
    var eof = false
    var handle: [UInt8] = []

    var opaque: UnsafeMutableRawPointer { Unmanaged.passUnretained(self).toOpaque() }
    static func from(_ p: UnsafeMutableRawPointer?) -> Completion { Unmanaged<Completion>.fromOpaque(p!).takeUnretainedValue() }
}

/// Every completion of one context: kept alive until the context is
/// destroyed. A check that ends at its deadline leaves calls pending, and
/// destroying the context runs their callbacks (cancelled): the objects
/// they write to must still exist then (ARC may free a local after its
/// last use, before a `defer` runs).
final class Completions {
    var all: [Completion] = []
    func make() -> Completion { let c = Completion(); all.append(c); return c }
}

/// The answer to one request.
func serve(_ request: NFSClientCall.Request) -> NFSClientCall.Response {
    let deadline = ProbeDeadline(after: request.timeout)
    let server = request.server
    guard let then = request.thenMount else {
        switch request.check {
        case .listedV3(let path):
            return v3Check(server: server, listed: path, listDeadline: deadline, mount: nil, mountDeadline: { deadline })
        case .listedV4(let pseudo, let fileid):
            return v4Check(server: server, pseudo: pseudo, fileid: fileid, listDeadline: deadline, mount: false, mountDeadline: { deadline })
        case .endToEnd(let path, let version):
            if version == 3 { return v3Check(server: server, listed: nil, listDeadline: deadline, mount: path, mountDeadline: { deadline }) }
            return v4Check(server: server, pseudo: path, fileid: nil, listDeadline: nil, mount: true, mountDeadline: { deadline })
        }
    }
    // Level 3 counts its own timeout from the end of level 2, and neither
    // runs past the action's time left at the call.
    let call = ProbeDeadline(after: then.within)
    let level3 = { ProbeDeadline(after: then.timeout).cut(to: call) }
    let level2 = deadline.cut(to: call)
    switch request.check {
    case .listedV3(let path) where then.version == 3:
        return v3Check(server: server, listed: path, listDeadline: level2, mount: then.path, mountDeadline: level3)
    case .listedV4(let pseudo, let fileid) where then.version == 4 && then.path == pseudo:
        // Both levels' lookups on one connection, asked at once.
        return v4Check(server: server, pseudo: pseudo, fileid: fileid, listDeadline: level2, mount: true, mountDeadline: level3)
    default:
        let listed = serve(NFSClientCall.Request(server: server, check: request.check, timeout: level2.remaining))
        guard listed == .ok else { return .listing(listed) }
        let d = level3()
        return serve(NFSClientCall.Request(server: server, check: .endToEnd(path: then.path, version: then.version), timeout: d.remaining))
    }
}

// MARK: The poll loop

/// Drives `fd`/`events`/`service` until `done()` or the deadline; nil when
/// done, else why not.
func drive(until done: () -> Bool, deadline: ProbeDeadline, what: String,
           fd: () -> Int32, events: () -> Int32, service: (Int32) -> Int32, error: () -> String) -> NFSClientCall.Response? {
    while !done() {
        let left = deadline.remaining.milliseconds
        if left <= 0 { return .timedOut("\(what): no answer within the timeout") }
        var pfd = pollfd(fd: fd(), events: Int16(truncatingIfNeeded: events()), revents: 0)
        // Wake at least every 100 ms: libnfs handles its own timeouts in service().
        let rc = poll(&pfd, 1, Int32(min(left, 100)))
        if rc < 0 {
            if errno == EINTR { continue }
            return .failed("\(what): poll: \(String(cString: strerror(errno)))")
        }
        if service(Int32(pfd.revents)) < 0 && !done() {
            return .failed("\(what): \(error())")
        }
    }
    return nil
}
