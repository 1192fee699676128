// nfs-client: the companion object of the nfs plugin. It holds the one
// thing that needs libnfs — levels 2 and 3 (export listed, mount + stat +
// readdir + umount) — so that libnfs loads only when those levels run, never
// on level 1 (load cost is paid per call; DESIGN.md §8).
//
// NFSv3 goes through plain RPCs (V3Check.swift: three connections for both
// levels); NFSv4 through libnfs's mount (endToEnd here: one connection). A
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
    /// What the callback extracted (ports, a directory handle, names,
    /// a MOUNT or NFS status and file handle).
    /// rpcbind's TCP ports of version 3, by program (PMAP DUMP).
    var ports: [UInt32: UInt32] = [:]
    var isDirectory = false
    var fileid: UInt64 = 0
    var directory: OpaquePointer?
    var names: [String] = []
    var mountStatus: Int32 = 0
    var nfsStatus: Int32 = 0
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
            return endToEnd(server: server, path: pseudo, version: 4, mountDeadline: deadline, deep: false, then: { deadline }, root: fileid)
        case .endToEnd(let path, let version):
            if version == 3 { return v3Check(server: server, listed: nil, listDeadline: deadline, mount: path, mountDeadline: { deadline }) }
            return endToEnd(server: server, path: path, version: version, mountDeadline: deadline, deep: true, then: { deadline })
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
        // The v4 lookup level 2 asks for is the mount's own first step.
        return endToEnd(server: server, path: pseudo, version: 4, mountDeadline: level2, deep: true, then: level3, listing: true, root: fileid)
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

// MARK: mount, stat, readdir, umount

/// Mounts `path` with `version` within `mountDeadline`; with `deep`, stats
/// its root (a directory) and reads one entry within `then()`, asked after
/// the mount; unmounts. With `listing`, the mount is level 2's check: its
/// failure comes as `.listing(…)`. With `root`, level 2 also stats the
/// mounted root within `mountDeadline` and answers `.notListed` unless its
/// fileid is `root` (not a pseudo-fs junction; the stat serves level 3 too).
func endToEnd(server: String, path: String, version: Int, mountDeadline: ProbeDeadline, deep: Bool,
              then: () -> ProbeDeadline, listing: Bool = false, root: UInt64? = nil) -> NFSClientCall.Response {
    guard let nfs = nfs_init_context() else { return .failed("nfs_init_context failed") }
    let keep = Completions()
    defer { withExtendedLifetime(keep) { nfs_destroy_context(nfs) } }
    var deadline = mountDeadline
    // libnfs takes whole seconds (DESIGN.md §8); the poll loop holds the real deadline.
    func limit() { nfs_set_timeout(nfs, Int32(clamping: max(1, (deadline.remaining.milliseconds + 999) / 1000) * 1000)) }
    limit()
    guard nfs_set_version(nfs, version == 4 ? cnfs_v4 : cnfs_v3) == 0 else { return .failed("nfs_set_version \(version) failed") }
    let what = "NFSv\(version) \(server):\(path)"
    func run(_ c: Completion, _ step: String) -> NFSClientCall.Response? {
        drive(until: { c.done }, deadline: deadline, what: "\(what): \(step)", fd: { nfs_get_fd(nfs) }, events: { nfs_which_events(nfs) },
              service: { nfs_service(nfs, $0) }, error: { String(cString: nfs_get_error(nfs)) })
    }
    let failed: nfs_cb = { err, _, data, p in
        let c = Completion.from(p)
        c.done = true
        c.error = err
        if err < 0, let data { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)) }
    }
    func queueFailure(_ step: String) -> NFSClientCall.Response { .failed("\(what): \(step): \(String(cString: nfs_get_error(nfs)))") }

    func level2(_ r: NFSClientCall.Response) -> NFSClientCall.Response { listing ? .listing(r) : r }
    let mounted = keep.make()
    guard nfs_mount_async(nfs, server, path, failed, mounted.opaque) == 0 else { return level2(queueFailure("mount")) }
    if let failure = run(mounted, "mount") { return level2(failure) }
    if mounted.error != 0 {
        let why = "\(what): mount failed: \(detail(of: mounted, nfs))"
        if timedOut(mounted) { return level2(.timedOut(why)) }
        return level2(mounted.error == -ENOENT || mounted.error == -EACCES ? .notListed(why) : .failed(why))
    }
    /// GETATTR of the mounted root (one round trip): its type and fileid.
    func statRoot() -> (Completion?, NFSClientCall.Response?) {
        let st = keep.make()
        guard nfs_stat64_async(nfs, "/", { err, _, data, p in
            guard let (c, data) = answered(err, data, p) else { return }
            let attributes = data.assumingMemoryBound(to: nfs_stat_64.self).pointee
            c.isDirectory = attributes.nfs_mode & UInt64(S_IFMT) == UInt64(S_IFDIR)
            c.fileid = attributes.nfs_ino
        }, st.opaque) == 0 else { return (nil, queueFailure("stat /")) }
        if let failure = run(st, "stat /") { return (nil, failure) }
        if st.error != 0 { return (nil, timedOut(st) ? .timedOut("\(what): stat of the root: \(st.message)") : .failed("\(what): stat of the root failed: \(st.message)")) }
        return (st, nil)
    }
    var rootStat: Completion?
    if let root {
        let (st, failure) = statRoot()
        if let failure { return level2(failure) }
        if st!.fileid != root {
            return level2(.notListed("\(what) is not this export's root: the server's node there has fileid \(st!.fileid), the exported directory inode \(root) (a pseudo-fs directory above another export)"))
        }
        rootStat = st
    }
    deadline = then()
    limit()
    guard deep else { return unmount(nfs, keep, run) ?? .ok }

    let st: Completion
    if let rootStat { st = rootStat } else {
        let (asked, failure) = statRoot()
        if let failure { return failure }
        st = asked!
    }
    if !st.isDirectory { return .failed("\(what): the root is not a directory") }

    let dir = keep.make()
    guard nfs_opendir_async(nfs, "/", { err, _, data, p in
        guard let (c, data) = answered(err, data, p) else { return }
        c.directory = OpaquePointer(data)
    }, dir.opaque) == 0 else { return queueFailure("readdir /") }
    if let failure = run(dir, "readdir /") { return failure }
    if dir.error != 0 { return timedOut(dir) ? .timedOut("\(what): reading the root: \(dir.message)") : .failed("\(what): reading the root failed: \(dir.message)") }
    guard let handle = dir.directory else { return .failed("\(what): reading the root gave no directory") }
    let entry = nfs_readdir(nfs, handle)
    nfs_closedir(nfs, handle)
    // Even an empty directory lists "." (libnfs returns what READDIR(PLUS) sent).
    if entry == nil { return .failed("\(what): the root lists no entry") }
    return unmount(nfs, keep, run) ?? .ok
}

/// Why a libnfs call failed: the text its callback passed, else the
/// context's error, else errno's text for its -errno status (a v4 mount
/// refused by a TCP reset passes an empty text).
func detail(of c: Completion, _ nfs: OpaquePointer) -> String {
    if !c.message.isEmpty { return c.message }
    if let text = nfs_get_error(nfs).map({ String(cString: $0) }), !text.isEmpty { return text }
    return c.error < 0 ? "\(String(cString: strerror(-c.error))) (errno \(-c.error))" : "status \(c.error)"
}

/// A libnfs callback's common part: `p`'s completion marked done with
/// `err`; on failure the error text kept and nil, else the completion and
/// the answer's data.
func answered(_ err: Int32, _ data: UnsafeMutableRawPointer?, _ p: UnsafeMutableRawPointer?) -> (Completion, UnsafeMutableRawPointer)? {
    let c = Completion.from(p)
    c.done = true
    c.error = err
    guard let data else { return nil }
    if err < 0 { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)); return nil }
    return (c, data)
}

/// libnfs's own timeout fired (nfs_set_timeout): -ETIMEDOUT, "Command timed out".
func timedOut(_ c: Completion) -> Bool {
    c.error == -ETIMEDOUT || c.message.containsText("timed out")
}

/// Unmounts (v3: MOUNT UMNT; v4: nothing to undo but the connection);
/// nil on success.
func unmount(_ nfs: OpaquePointer, _ keep: Completions, _ run: (Completion, String) -> NFSClientCall.Response?) -> NFSClientCall.Response? {
    let done = keep.make()
    guard nfs_umount_async(nfs, { err, _, data, p in
        let c = Completion.from(p)
        c.done = true
        c.error = err
        if err < 0, let data { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)) }
    }, done.opaque) == 0 else { return .failed("umount: \(String(cString: nfs_get_error(nfs)))") }
    if let failure = run(done, "umount") { return failure }
    return done.error == 0 ? nil : .failed("umount failed: \(done.message)")
}
