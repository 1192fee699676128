// NFSv3 levels 2 and 3 as plain RPCs through libnfs, on two libnfs
// contexts (Channel): three TCP connections for both levels together.
//
//   rpcbind  DUMP (RPCBIND v3): every registration, one call (level 2: NFS
//            v3 and MOUNT v3 registered over TCP, by root; both: the
//            ports). Not GETPORT: rpcbind answers a PMAP v2 GETPORT (and a
//            v3 GETADDR) with the port of ANY version of the program when
//            the one asked is not registered (rpcbind's find_service falls
//            back to any version: after `rpcinfo -d 100003 3` levels 2 and
//            3 still passed); only v4 GETADDR is exact, which libnfs lacks.
//            v3, not v2: its entries name their owner. rpcbind lets any
//            local user register a program and version nobody holds (its
//            owner is then that uid): after rpcbind lost the server's
//            registrations, a user's would pass for the server's, point
//            level 2 at the user's port, and keep start from restarting
//            the server (R10D, finding 1).
//   mountd   EXPORT names the path (level 2); MNT the path (level 3), on the
//            same connection, kept open for UMNT
//   nfsd     GETATTR of the root (a directory) and READDIR of the root (one
//            entry at least), pipelined, on the rpcbind context reconnected
//   mountd   UMNT the path
//
// libnfs's nfs_mount asks the same server the same questions over four
// connections (rpcbind before mountd and again before nfsd, a NULL ping on
// each), nfs_umount over two more, and a level-2 call before it over three:
// nine connections for a level-3 monitor, measured, against three here.
import CNFS
import FSKit
import NFSClientCall
#if canImport(Glibc)
import Glibc
#endif

/// Level 2 (`listed`: the MOUNT export list names it), level 3 (`mount`:
/// mount, stat, readdir, umount) or both, level 2 first. Level 2 runs within
/// `listDeadline`; level 3 within `mountDeadline()`, asked when level 3
/// begins. A failure of level 2 in a call that runs both comes as
/// `.listing(…)`.
func v3Check(server: String, listed path: String?, listDeadline: ProbeDeadline,
             mount export: String?, mountDeadline: () -> ProbeDeadline) -> NFSClientCall.Response {
    guard let portmap = Channel(server: server), let mountd = Channel(server: server) else { return .failed("nfs_init_context failed") }
    let both = path != nil && export != nil
    func level2(_ r: NFSClientCall.Response) -> NFSClientCall.Response { both ? .listing(r) : r }
    var deadline = path != nil ? listDeadline : mountDeadline()

    // rpcbind: both ports in one round trip, version 3 exactly.
    let rpcbind = "rpcbind on \(server)"
    // Whatever keeps rpcbind from answering, except time (a stopped
    // rpcbind: `.timedOut`, naming the limit), is `.notRegistered`: stop
    // and start tell it from an answer of the server's own.
    func unasked(_ r: NFSClientCall.Response) -> NFSClientCall.Response {
        if case .failed(let why) = r { return .notRegistered(why, rpcbindAnswered: false) }
        return r
    }
    if let failure = portmap.connect(port: 111, what: rpcbind, until: deadline) { return level2(unasked(failure)) }
    let registered = portmap.keep.make()
    if server.contains(":") { registered.netid = "tcp6" }
    guard rpc_pmap3_dump_async(portmap.rpc, gotMappings, registered.opaque) == 0 else {
        return level2(unasked(.failed("\(rpcbind): \(portmap.error)")))
    }
    if let failure = portmap.wait(for: [registered], until: deadline, what: rpcbind) ?? portmap.failure(of: registered, "\(rpcbind): DUMP") {
        return level2(unasked(failure))
    }
    var port: [UInt32: UInt32] = [:]
    for program: UInt32 in [100003, 100005] {
        guard let p = registered.ports[program], p > 0, p <= 65535 else {
            return level2(.notRegistered("\(rpcbind): program \(program) version 3 (TCP) is not registered", rpcbindAnswered: true))
        }
        // rpcbind's getowner(): "superuser" for uid 0, else the uid, "unknown" off a local transport.
        let owner = registered.owners[program] ?? "unknown"
        guard owner == "superuser" else {
            let who = owner == "unknown" ? "an unknown owner" : "uid \(owner)"
            return level2(.notRegistered("\(rpcbind): program \(program) version 3 (TCP) is registered by \(who), not by root: not the NFS server's registration", rpcbindAnswered: true))
        }
        port[program] = p
    }
    let nfsPort = port[100003]!, mountPort = port[100005]!

    // mountd: the export list (level 2).
    if let failure = mountd.connect(port: Int32(mountPort), what: "MOUNT on \(server):\(mountPort)", until: deadline) {
        return level2(failure)
    }
    if let path {
        let what = "MOUNT export list of \(server)"
        let list = mountd.keep.make()
        guard rpc_mount3_export_async(mountd.rpc, gotExports, list.opaque) == 0 else { return level2(.failed("\(what): \(mountd.error)")) }
        if let failure = mountd.wait(for: [list], until: deadline, what: what) ?? mountd.failure(of: list, what) { return level2(failure) }
        if !list.names.contains(path) {
            return level2(.notListed("\(what) does not name \(path) (\(list.names.count) export(s): \(list.names.prefix(5).joined(separator: ", ")))"))
        }
    }
    guard let export else { return .ok }

    // Level 3: MNT on the same connection.
    deadline = mountDeadline()
    mountd.limit(to: deadline)
    let what = "NFSv3 \(server):\(export)"
    let mounted = mountd.keep.make()
    let queued = export.withCString { rpc_mount3_mnt_async(mountd.rpc, gotHandle, UnsafeMutablePointer(mutating: $0), mounted.opaque) }
    guard queued == 0 else { return .failed("\(what): mount: \(mountd.error)") }
    if let failure = mountd.wait(for: [mounted], until: deadline, what: "\(what): mount") ?? mountd.failure(of: mounted, "\(what): mount") {
        return failure
    }
    if mounted.error == 0, mounted.mountStatus != 0 {
        let why = "\(what): mount failed: MNT3 status \(mounted.mountStatus) (\(String(cString: strerror(mounted.mountStatus))))"
        return mounted.mountStatus == ENOENT || mounted.mountStatus == EACCES ? .notListed(why) : .failed(why)
    }

    // nfsd: stat and read the root, in one round trip.
    if let failure = portmap.connect(port: Int32(nfsPort), what: "\(what): NFS on port \(nfsPort)", until: deadline) {
        return failure
    }
    let st = portmap.keep.make(), dir = portmap.keep.make()
    let asked: Int32 = mounted.handle.withUnsafeMutableBufferPointer { bytes in
        bytes.withMemoryRebound(to: CChar.self) { fh in
            let handle = nfs_fh3(data: .init(data_len: u_int(fh.count), data_val: fh.baseAddress))
            var getattr = GETATTR3args(object: handle)
            var readdir = READDIR3args()
            readdir.dir = handle
            readdir.count = 4096
            // Encoded as queued: the arguments need not outlive the calls.
            guard rpc_nfs3_getattr_async(portmap.rpc, gotAttributes, &getattr, st.opaque) == 0 else { return -1 }
            return rpc_nfs3_readdir_async(portmap.rpc, gotEntries, &readdir, dir.opaque)
        }
    }
    guard asked == 0 else { return .failed("\(what): stat and readdir of the root: \(portmap.error)") }
    if let failure = portmap.wait(for: [st, dir], until: deadline, what: "\(what): stat and readdir of the root") { return failure }
    if let failure = portmap.failure(of: st, "\(what): stat of the root") { return failure }
    if st.nfsStatus != 0 { return .failed("\(what): stat of the root failed: \(nfs3StatusText(st.nfsStatus))") }
    if !st.isDirectory { return .failed("\(what): the root is not a directory") }
    if let failure = portmap.failure(of: dir, "\(what): reading the root") { return failure }
    if dir.nfsStatus != 0 { return .failed("\(what): reading the root failed: \(nfs3StatusText(dir.nfsStatus))") }
    // Even an empty directory lists "." (Ganesha's READDIR sends it).
    if dir.names.isEmpty { return .failed("\(what): the root lists no entry") }

    // UMNT on the MOUNT connection still open.
    let done = mountd.keep.make()
    let unmounting = export.withCString { rpc_mount3_umnt_async(mountd.rpc, Channel.finished, UnsafeMutablePointer(mutating: $0), done.opaque) }
    guard unmounting == 0 else { return .failed("\(what): umount: \(mountd.error)") }
    return mountd.wait(for: [done], until: deadline, what: "\(what): umount") ?? mountd.failure(of: done, "\(what): umount failed") ?? .ok
}

/// An NFS3 status as RFC 1813 §2.6 names it, with its number: "NFS3ERR_STALE
/// (70: stale file handle, the directory was removed or made anew)".
func nfs3StatusText(_ status: Int32) -> String {
    let known: [(Int32, String)] = [
        (1, "NFS3ERR_PERM"), (2, "NFS3ERR_NOENT"), (5, "NFS3ERR_IO"), (13, "NFS3ERR_ACCES"), (20, "NFS3ERR_NOTDIR"),
        (70, "NFS3ERR_STALE (stale file handle: the directory was removed or made anew since the server loaded it)"),
        (10001, "NFS3ERR_BADHANDLE"), (10006, "NFS3ERR_SERVERFAULT"), (10008, "NFS3ERR_JUKEBOX"),
    ]
    return (known.first { $0.0 == status }?.1).map { "\($0), status \(status)" } ?? "NFS3 status \(status)"
}

// MARK: Callbacks: each copies what it needs out of the decoded answer,
// which libnfs frees when the callback returns.

/// Records the RPC status and libnfs's error text (on RPC_STATUS_ERROR the
/// data is that text; cancelled and timed out calls pass none).
private func finish(_ p: UnsafeMutableRawPointer?, _ status: Int32, _ data: UnsafeMutableRawPointer?) -> Completion? {
    let c = Completion.from(p)
    c.done = true
    c.error = status
    guard status == 0 else {
        if status == 1, let data { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)) }
        return nil
    }
    return data == nil ? nil : c
}

private let gotMappings: rpc_cb = { _, status, data, p in
    guard let c = finish(p, status, data) else { return }
    var entry = data!.assumingMemoryBound(to: pmap3_dump_result.self).pointee.list
    while let e = entry {
        let map = e.pointee.map
        if map.vers == 3, c.ports[map.prog] == nil, let netid = map.netid, String(cString: netid) == c.netid,
           let addr = map.addr, let port = universalAddressPort(String(cString: addr)) {
            c.ports[map.prog] = port
            c.owners[map.prog] = map.owner.map { String(cString: $0) } ?? "unknown"
        }
        entry = e.pointee.next
    }
}

/// The port of an RPC universal address (RFC 5665 §5.2.3.3, `h1.h2.h3.h4.p1.p2`
/// for IPv4, `x:…:x.p1.p2` for IPv6): p1 × 256 + p2; nil when malformed.
func universalAddressPort(_ text: String) -> UInt32? {
    let parts = text.split(separator: ".", omittingEmptySubsequences: false)
    guard parts.count >= 3, let high = UInt32(parts[parts.count - 2]), let low = UInt32(parts[parts.count - 1]),
          high < 256, low < 256 else { return nil }
    return high << 8 | low
}

private let gotExports: rpc_cb = { _, status, data, p in
    guard let c = finish(p, status, data) else { return }
    // `exports` is a pointer to the first node; read each link as an optional one.
    let nextOffset = MemoryLayout<exportnode>.offset(of: \exportnode.ex_next)!
    let dirOffset = MemoryLayout<exportnode>.offset(of: \exportnode.ex_dir)!
    var node = data!.loadUnaligned(as: UnsafeMutableRawPointer?.self)
    while let n = node {
        if let dir = n.loadUnaligned(fromByteOffset: dirOffset, as: UnsafePointer<CChar>?.self) { c.names.append(String(cString: dir)) }
        node = n.loadUnaligned(fromByteOffset: nextOffset, as: UnsafeMutableRawPointer?.self)
    }
}

private let gotHandle: rpc_cb = { _, status, data, p in
    guard let c = finish(p, status, data) else { return }
    let res = data!.assumingMemoryBound(to: mountres3.self).pointee
    c.mountStatus = Int32(bitPattern: res.fhs_status.rawValue)
    guard res.fhs_status == MNT3_OK else { return }
    let fh = res.mountres3_u.mountinfo.fhandle
    if let bytes = fh.fhandle3_val {
        c.handle = Array(UnsafeRawBufferPointer(start: bytes, count: Int(fh.fhandle3_len)))
    }
}

private let gotAttributes: rpc_cb = { _, status, data, p in
    guard let c = finish(p, status, data) else { return }
    let res = data!.assumingMemoryBound(to: GETATTR3res.self).pointee
    c.nfsStatus = Int32(bitPattern: res.status.rawValue)
    if res.status == NFS3_OK { c.isDirectory = res.GETATTR3res_u.resok.obj_attributes.type == NF3DIR }
}

private let gotEntries: rpc_cb = { _, status, data, p in
    guard let c = finish(p, status, data) else { return }
    let res = data!.assumingMemoryBound(to: READDIR3res.self).pointee
    c.nfsStatus = Int32(bitPattern: res.status.rawValue)
    guard res.status == NFS3_OK else { return }
    var entry = res.READDIR3res_u.resok.reply.entries
    while let e = entry, c.names.count < 1 {
        if let name = e.pointee.name { c.names.append(String(cString: name)) }
        entry = e.pointee.nextentry
    }
}
