// NFSv4 levels 2 and 3 as plain COMPOUNDs through libnfs's RPC layer, on
// one TCP connection to the NFS port (no rpcbind, no MOUNT protocol: a v4
// "mount" is the lookup of the pseudo path from the server's root):
//
//   level 2  PUTROOTFH, LOOKUP of each component, GETATTR {type, fileid}
//   level 3  PUTROOTFH, LOOKUP…, GETATTR {type, fileid}, READDIR (no
//            attributes): mount, stat the root, read it
//
// A level-3 monitor queues both compounds at once (one round trip; each
// answer is judged within its own level's deadline), then closes the
// connection: nothing was opened or locked, so there is nothing to unmount.
//
// libnfs's nfs_mount (measured, issue 10) asks four compounds in turn
// (SETCLIENTID, SETCLIENTID_CONFIRM, the lookup, then GETATTR and READDIR
// each on their own) and maps every owner@domain string of the answers to a
// uid through getpwnam (NSS: nsswitch.conf, /etc/passwd, /etc/group). A
// client id is needed only for state (OPEN, LOCK: RFC 7530 §16.33), and
// each SETCLIENTID_CONFIRM leaves a client record on the server (Ganesha:
// in its recovery directory too) until its lease expires: thousands a day.
// The attributes asked here carry no owner.
import CNFS
import FSKit
import NFSClientCall
#if canImport(Glibc)
import Glibc
#endif

/// Level 2 (`listDeadline` non-nil: `pseudo` resolves, to the node whose
/// fileid is `fileid` when given), level 3 (`mount`: mount, stat the root
/// (a directory), read it) or both, level 2 first. Level 3's deadline,
/// `mountDeadline()`, is asked when level 2 has answered. A failure of
/// level 2 in a call that runs both comes as `.listing(…)`.
func v4Check(server: String, pseudo: String, fileid: UInt64?, listDeadline: ProbeDeadline?,
             mount: Bool, mountDeadline: () -> ProbeDeadline) -> NFSClientCall.Response {
    guard let channel = Channel(server: server) else { return .failed("nfs_init_context failed") }
    let both = listDeadline != nil && mount
    func level2(_ r: NFSClientCall.Response) -> NFSClientCall.Response { both ? .listing(r) : r }
    let what = "NFSv4 \(server):\(pseudo)"
    let components = pseudo.split(separator: "/").map(String.init)
    let first = listDeadline ?? mountDeadline()

    if let failure = channel.connect(port: 2049, what: "\(what): mount failed", until: first) { return level2(failure) }
    var listing: Completion?
    if listDeadline != nil {
        let c = channel.keep.make()
        guard queueCompound(channel, components, readdir: false, c) == 0 else { return level2(.failed("\(what): lookup: \(channel.error)")) }
        listing = c
    }
    var reading: Completion?
    if mount {
        // libnfs's own timeout (a second guard) is fixed when queued: level
        // 3 ends at the latest level 2's time plus its own after it.
        if let listDeadline { channel.limit(to: ProbeDeadline(after: listDeadline.remaining + mountDeadline().remaining)) }
        let c = channel.keep.make()
        guard queueCompound(channel, components, readdir: true, c) == 0 else {
            return .failed("\(what): mount, stat and readdir of the root: \(channel.error)")
        }
        reading = c
    }

    if let listing, let listDeadline {
        if let failure = channel.wait(for: [listing], until: listDeadline, what: "\(what): lookup") ?? channel.failure(of: listing, "\(what): lookup") {
            return level2(failure)
        }
        if let failure = lookupFailure(listing, components, what) { return level2(failure) }
        if let fileid, listing.fileid != fileid {
            return level2(.notListed("\(what) is not this export's root: the server's node there has fileid \(listing.fileid), the exported directory inode \(fileid) (a pseudo-fs directory above another export, or the directory the server loaded was replaced since)"))
        }
    }
    guard let reading else { return .ok }

    let deadline = listDeadline == nil ? first : mountDeadline()
    let step = "\(what): mount, stat and readdir of the root"
    if let failure = channel.wait(for: [reading], until: deadline, what: step) ?? channel.failure(of: reading, step) { return failure }
    if let failure = lookupFailure(reading, components, what) { return failure }
    if !reading.isDirectory { return .failed("\(what): the root is not a directory") }
    if reading.nfsStatus != 0 { return .failed("\(what): reading the root failed: \(nfs4StatusName(reading.nfsStatus))") }
    // NFSv4's READDIR never lists "." or "..": an empty root answers no entry, at its end.
    if reading.names.isEmpty && !reading.eof { return .failed("\(what): the root lists no entry") }
    return .ok
}

/// The failure of the mount part (PUTROOTFH, a LOOKUP, the GETATTR), else
/// nil. No such path or no access: `.notListed` (for stop, "withdrawn").
private func lookupFailure(_ c: Completion, _ components: [String], _ what: String) -> NFSClientCall.Response? {
    guard c.failedStep >= 0, c.failedStep < components.count + 2 else { return nil }
    let step = c.failedStep == 0 ? "PUTROOTFH" : c.failedStep <= components.count ? "LOOKUP of \"\(components[c.failedStep - 1])\"" : "GETATTR of the root"
    let why = "\(what): mount failed: \(step): \(nfs4StatusName(c.nfsStatus))"
    return c.nfsStatus == 2 || c.nfsStatus == 13 ? .notListed(why) : .failed(why)  // NFS4ERR_NOENT, NFS4ERR_ACCESS
}

/// RFC 7530 §13's name of an nfsstat4, for the few a lookup or READDIR
/// answers; else its number.
func nfs4StatusName(_ status: Int32) -> String {
    let names: [Int32: String] = [1: "NFS4ERR_PERM", 2: "NFS4ERR_NOENT", 5: "NFS4ERR_IO", 13: "NFS4ERR_ACCESS",
                                  20: "NFS4ERR_NOTDIR", 10006: "NFS4ERR_SERVERFAULT", 10008: "NFS4ERR_DELAY",
                                  10013: "NFS4ERR_GRACE", 10016: "NFS4ERR_WRONGSEC", 10020: "NFS4ERR_NOFILEHANDLE",
                                  10022: "NFS4ERR_STALE", 10025: "NFS4ERR_BADNAME"]
    return names[status].map { "\($0) (\(status))" } ?? "NFSv4 status \(status)"
}

/// GETATTR's bitmap: type (bit 1) and fileid (bit 20) of word 0, answered
/// in that order (RFC 7530: fattr4 values follow the bitmap, lowest bit first).
private let typeAndFileid: UInt32 = 1 << 1 | 1 << 20

/// Queues PUTROOTFH, one LOOKUP per component, GETATTR {type, fileid} and,
/// with `readdir`, READDIR of the root asking no attributes; 0 when queued.
/// libnfs encodes the arguments when queueing: they need not outlive it.
private func queueCompound(_ channel: Channel, _ components: [String], readdir: Bool, _ c: Completion) -> Int32 {
    // Every component's bytes in one buffer, each LOOKUP pointing into it.
    var bytes = components.flatMap { $0.utf8.map { CChar(bitPattern: $0) } }
    var bitmap = [typeAndFileid]
    return bytes.withUnsafeMutableBufferPointer { bytes in
        bitmap.withUnsafeMutableBufferPointer { bitmap in
            var ops: [nfs_argop4] = []
            var root = nfs_argop4()
            root.argop = OP_PUTROOTFH
            ops.append(root)
            var at = 0
            for name in components {
                var lookup = nfs_argop4()
                lookup.argop = OP_LOOKUP
                let count = name.utf8.count
                lookup.nfs_argop4_u.oplookup.objname = utf8string(utf8string_len: u_int(count), utf8string_val: bytes.baseAddress.map { $0 + at })
                at += count
                ops.append(lookup)
            }
            var getattr = nfs_argop4()
            getattr.argop = OP_GETATTR
            getattr.nfs_argop4_u.opgetattr.attr_request = bitmap4(bitmap4_len: 1, bitmap4_val: bitmap.baseAddress)
            ops.append(getattr)
            if readdir {
                var list = nfs_argop4()
                list.argop = OP_READDIR
                // Cookie 0, no attributes: one short answer holds the first names.
                list.nfs_argop4_u.opreaddir.dircount = 512
                list.nfs_argop4_u.opreaddir.maxcount = 4096
                ops.append(list)
            }
            return ops.withUnsafeMutableBufferPointer { ops in
                var args = COMPOUND4args()
                args.argarray.argarray_len = u_int(ops.count)
                args.argarray.argarray_val = ops.baseAddress
                return rpc_nfs4_compound_async(channel.rpc, gotCompound, &args, c.opaque)
            }
        }
    }
}

/// Copies what the answer says (libnfs frees it when this returns): the
/// index of the operation that failed (`failedStep`, with its status in
/// `nfsStatus`), the root's type and fileid, READDIR's status, first name
/// and end flag.
private let gotCompound: rpc_cb = { _, status, data, p in
    let c = Completion.from(p)
    c.done = true
    c.error = status
    guard status == 0, let data else {
        if status == 1, let data { c.message = String(cString: data.assumingMemoryBound(to: CChar.self)) }
        return
    }
    let res = data.assumingMemoryBound(to: COMPOUND4res.self).pointee
    let results = UnsafeBufferPointer(start: res.resarray.resarray_val, count: Int(res.resarray.resarray_len))
    for (i, r) in results.enumerated() {
        // Every result begins with its nfsstat4.
        let opStatus = withUnsafeBytes(of: r.nfs_resop4_u) { Int32(bitPattern: $0.load(as: UInt32.self)) }
        if r.resop == OP_READDIR {
            c.nfsStatus = opStatus
            guard opStatus == 0 else { return }
            let reply = r.nfs_resop4_u.opreaddir.READDIR4res_u.resok4.reply
            c.eof = reply.eof != 0
            if let e = reply.entries, let name = e.pointee.name.utf8string_val {
                c.names.append(String(decoding: UnsafeRawBufferPointer(start: name, count: Int(e.pointee.name.utf8string_len)), as: UTF8.self))
            }
            return
        }
        guard opStatus == 0 else {
            c.failedStep = i
            c.nfsStatus = opStatus
            return
        }
        if r.resop == OP_GETATTR {
            let attributes = r.nfs_resop4_u.opgetattr.GETATTR4res_u.resok4.obj_attributes
            let mask = attributes.attrmask.bitmap4_len > 0 ? attributes.attrmask.bitmap4_val[0] : 0
            let values = UnsafeRawBufferPointer(start: attributes.attr_vals.attrlist4_val, count: Int(attributes.attr_vals.attrlist4_len))
            var at = 0
            if mask & 1 << 1 != 0, values.count >= at + 4 {
                c.isDirectory = UInt32(bigEndian: values.loadUnaligned(fromByteOffset: at, as: UInt32.self)) == NF4DIR.rawValue
                at += 4
            }
            if mask & 1 << 20 != 0, values.count >= at + 8 {
                c.fileid = UInt64(bigEndian: values.loadUnaligned(fromByteOffset: at, as: UInt64.self))
            }
        }
    }
    // Fewer results than operations asked, none failed: a broken answer.
    if res.status != NFS4_OK { c.failedStep = results.count; c.nfsStatus = Int32(bitPattern: res.status.rawValue) }
}
