// nfs-client: the companion object of the nfs plugin. It holds the one
// thing that needs libnfs — levels 2 and 3 (export listed, mount + stat +
// readdir + umount) — so that libnfs loads only when those levels run, never
// on level 1 (load cost is paid per call; DESIGN.md §8).
//
// Every libnfs operation here is asynchronous and driven by one poll loop
// that ends at the request's deadline: a stopped (SIGSTOP) server, whose
// kernel still completes the TCP handshake, can never hold a monitor past
// its timeout. libnfs's own timeout (nfs_set_timeout: without it a sync
// call hangs forever, DESIGN.md §8) is set as well, as a second guard.
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
    /// What the callback extracted (a port, a directory handle, names).
    var port: UInt32 = 0
    var isDirectory = false
    var directory: OpaquePointer?
    var names: [String] = []

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
    switch request.check {
    case .listedV3(let path):
        if let failure = registered(server: request.server, program: 100003, version: 3, deadline: deadline) { return failure }
        return exportList(server: request.server, names: path, deadline: deadline)
    case .listedV4(let pseudo):
        return endToEnd(server: request.server, path: pseudo, version: 4, deadline: deadline, deep: false)
    case .endToEnd(let path, let version):
        return endToEnd(server: request.server, path: path, version: version, deadline: deadline, deep: true)
    }
}

// MARK: The poll loop

/// Drives `fd`/`events`/`service` until `done` or the deadline; nil when
/// done, else why not.
func drive(_ c: Completion, until deadline: ProbeDeadline, what: String,
           fd: () -> Int32, events: () -> Int32, service: (Int32) -> Int32, error: () -> String) -> NFSClientCall.Response? {
    while !c.done {
        let left = deadline.remaining.milliseconds
        if left <= 0 { return .timedOut("\(what): no answer within the timeout") }
        var pfd = pollfd(fd: fd(), events: Int16(truncatingIfNeeded: events()), revents: 0)
        // Wake at least every 100 ms: libnfs handles its own timeouts in service().
        let rc = poll(&pfd, 1, Int32(min(left, 100)))
        if rc < 0 {
            if errno == EINTR { continue }
            return .failed("\(what): poll: \(String(cString: strerror(errno)))")
        }
        if service(Int32(pfd.revents)) < 0 && !c.done {
            return .failed("\(what): \(error())")
        }
    }
    return nil
}

// MARK: rpcbind and the MOUNT export list (NFSv3)

/// nil when rpcbind on `server` answers GETPORT for `program`/`version` over
/// TCP with a port; else the failure.
func registered(server: String, program: Int32, version: Int32, deadline: ProbeDeadline) -> NFSClientCall.Response? {
    guard let rpc = rpc_init_context() else { return .failed("rpc_init_context failed") }
    let keep = Completions()
    defer { withExtendedLifetime(keep) { rpc_destroy_context(rpc) } }
    let what = "rpcbind on \(server)"
    func run(_ c: Completion) -> NFSClientCall.Response? {
        drive(c, until: deadline, what: what, fd: { rpc_get_fd(rpc) }, events: { rpc_which_events(rpc) },
              service: { rpc_service(rpc, $0) }, error: { String(cString: rpc_get_error(rpc)) })
    }
    let connected = keep.make()
    guard rpc_connect_async(rpc, server, 111, { _, status, data, p in
        let c = Completion.from(p)
        c.done = true
        c.error = status
        if status != 0, let data { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)) }
    }, connected.opaque) == 0 else { return .failed("\(what): \(String(cString: rpc_get_error(rpc)))") }
    if let failure = run(connected) { return failure }
    if connected.error != 0 { return .failed("\(what): cannot connect: \(connected.message)") }

    let port = keep.make()
    guard rpc_pmap2_getport_async(rpc, program, version, Int32(IPPROTO_TCP), { _, status, data, p in
        let c = Completion.from(p)
        c.done = true
        c.error = status
        if status == 0, let data { c.port = data.loadUnaligned(as: UInt32.self) }
        else if let data { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)) }
    }, port.opaque) == 0 else { return .failed("\(what): \(String(cString: rpc_get_error(rpc)))") }
    if let failure = run(port) { return failure }
    if port.error != 0 { return .failed("\(what): GETPORT failed: \(port.message)") }
    if port.port == 0 { return .failed("\(what): program \(program) version \(version) (TCP) is not registered") }
    return nil
}

/// The MOUNT v3 export list of `server` (libnfs asks rpcbind for mountd's
/// port first) names `path`.
func exportList(server: String, names path: String, deadline: ProbeDeadline) -> NFSClientCall.Response {
    guard let rpc = rpc_init_context() else { return .failed("rpc_init_context failed") }
    let keep = Completions()
    defer { withExtendedLifetime(keep) { rpc_destroy_context(rpc) } }
    let what = "MOUNT export list of \(server)"
    let c = keep.make()
    guard mount_getexports_async(rpc, server, { _, status, data, p in
        let c = Completion.from(p)
        c.done = true
        c.error = status
        guard let data else { return }
        if status != 0 { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)); return }
        // `exports` is imported as a non-optional pointer: read each link as an optional one.
        let nextOffset = MemoryLayout<exportnode>.offset(of: \exportnode.ex_next)!
        let dirOffset = MemoryLayout<exportnode>.offset(of: \exportnode.ex_dir)!
        var node = data.loadUnaligned(as: UnsafeMutableRawPointer?.self)
        while let n = node {
            if let dir = n.loadUnaligned(fromByteOffset: dirOffset, as: UnsafePointer<CChar>?.self) { c.names.append(String(cString: dir)) }
            node = n.loadUnaligned(fromByteOffset: nextOffset, as: UnsafeMutableRawPointer?.self)
        }
    }, c.opaque) == 0 else { return .failed("\(what): \(String(cString: rpc_get_error(rpc)))") }
    if let failure = drive(c, until: deadline, what: what, fd: { rpc_get_fd(rpc) }, events: { rpc_which_events(rpc) },
                           service: { rpc_service(rpc, $0) }, error: { String(cString: rpc_get_error(rpc)) }) {
        return failure
    }
    if c.error != 0 { return .failed("\(what): \(c.message)") }
    return c.names.contains(path) ? .ok
        : .notListed("\(what) does not name \(path) (\(c.names.count) export(s): \(c.names.prefix(5).joined(separator: ", ")))")
}

// MARK: mount, stat, readdir, umount

/// Mounts `path` with `version`; with `deep`, stats its root (a directory)
/// and reads one entry; unmounts.
func endToEnd(server: String, path: String, version: Int, deadline: ProbeDeadline, deep: Bool) -> NFSClientCall.Response {
    guard let nfs = nfs_init_context() else { return .failed("nfs_init_context failed") }
    let keep = Completions()
    defer { withExtendedLifetime(keep) { nfs_destroy_context(nfs) } }
    // libnfs takes whole seconds (DESIGN.md §8); the poll loop holds the real deadline.
    let seconds = max(1, (deadline.remaining.milliseconds + 999) / 1000)
    nfs_set_timeout(nfs, Int32(clamping: seconds * 1000))
    guard nfs_set_version(nfs, version == 4 ? cnfs_v4 : cnfs_v3) == 0 else { return .failed("nfs_set_version \(version) failed") }
    let what = "NFSv\(version) \(server):\(path)"
    func run(_ c: Completion, _ step: String) -> NFSClientCall.Response? {
        drive(c, until: deadline, what: "\(what): \(step)", fd: { nfs_get_fd(nfs) }, events: { nfs_which_events(nfs) },
              service: { nfs_service(nfs, $0) }, error: { String(cString: nfs_get_error(nfs)) })
    }
    let failed: nfs_cb = { err, _, data, p in
        let c = Completion.from(p)
        c.done = true
        c.error = err
        if err < 0, let data { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)) }
    }
    func queueFailure(_ step: String) -> NFSClientCall.Response { .failed("\(what): \(step): \(String(cString: nfs_get_error(nfs)))") }

    let mounted = keep.make()
    guard nfs_mount_async(nfs, server, path, failed, mounted.opaque) == 0 else { return queueFailure("mount") }
    if let failure = run(mounted, "mount") { return failure }
    if mounted.error != 0 {
        let why = "\(what): mount failed: \(mounted.message)"
        if timedOut(mounted) { return .timedOut(why) }
        return mounted.error == -ENOENT || mounted.error == -EACCES ? .notListed(why) : .failed(why)
    }
    guard deep else { return unmount(nfs, keep, run) ?? .ok }

    let st = keep.make()
    guard nfs_stat64_async(nfs, "/", { err, _, data, p in
        let c = Completion.from(p)
        c.done = true
        c.error = err
        guard let data else { return }
        if err < 0 { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)); return }
        c.isDirectory = data.assumingMemoryBound(to: nfs_stat_64.self).pointee.nfs_mode & UInt64(S_IFMT) == UInt64(S_IFDIR)
    }, st.opaque) == 0 else { return queueFailure("stat /") }
    if let failure = run(st, "stat /") { return failure }
    if st.error != 0 { return timedOut(st) ? .timedOut("\(what): stat of the root: \(st.message)") : .failed("\(what): stat of the root failed: \(st.message)") }
    if !st.isDirectory { return .failed("\(what): the root is not a directory") }

    let dir = keep.make()
    guard nfs_opendir_async(nfs, "/", { err, _, data, p in
        let c = Completion.from(p)
        c.done = true
        c.error = err
        guard let data else { return }
        if err < 0 { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)); return }
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
