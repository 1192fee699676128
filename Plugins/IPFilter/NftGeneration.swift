// The kernel's nftables generation: which ruleset commit a network
// namespace is at, asked over one raw netlink socket, without libnftables.
// Level 1 compares the table's listing only when this moved since its last
// equal comparison (IPFilter.probeRuleset).
import CSystemShims
import FSKit
#if canImport(Glibc)
import Glibc
#endif

/// Where a namespace's nftables ruleset stands: the boot, the namespace and
/// its commit generation.
///
/// The kernel counts every committed nftables transaction of a network
/// namespace (`NFT_MSG_GETGEN` answers `NFTA_GEN_ID`, the per-namespace
/// `base_seq`, bumped by every commit that changed anything; libnftables
/// reads it around each listing to detect a concurrent change). So while
/// the generation read here is the one read when the table's listing last
/// compared equal, no table of the namespace was added, changed or deleted
/// since, by anyone. A namespace is told apart by its cookie
/// (`SO_NETNS_COOKIE`, Linux 5.14: never reused within a boot, unlike the
/// namespace's inode number) and a boot by `boot_id`: a namespace made
/// again, or a reboot, restarts the count.
///
/// What the kernel changes without a commit is not covered, and
/// ``RulesetListing/changesOnlyByCommits(_:)`` keeps those listings off
/// this shortcut.
struct NftGeneration: Equatable {
    /// `/proc/sys/kernel/random/boot_id`, 36 characters.
    var boot: String
    /// The namespace's `SO_NETNS_COOKIE`.
    var namespace: UInt64
    /// `NFTA_GEN_ID`.
    var id: UInt32

    /// "BOOT NAMESPACE ID", as kept in state.
    var text: String { boot + " " + String(namespace) + " " + String(id) }

    /// A netlink socket of `NETLINK_NETFILTER` opened in the namespace
    /// (it stays bound to it: the thread is back home before ``open``
    /// returns), to read the generation once or twice.
    struct Reader {
        let socket: Int32
        let boot: String
        let namespace: UInt64

        /// nil when anything is missing or refused (no namespace, no cookie
        /// on an older kernel, no boot_id): the caller compares listings.
        /// `stranded`: the thread could not return to its own namespace
        /// (nothing more of the action should run on it).
        static func open(namespace name: String?, stranded: inout String?) -> Reader? {
            guard let boot = bootID() else { return nil }
            var fd: Int32 = -1
            if let name {
                let target = Glibc.open("/run/netns/" + name, O_RDONLY | O_CLOEXEC)
                guard target >= 0 else { return nil }
                defer { Glibc.close(target) }
                let home = Glibc.open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
                guard home >= 0 else { return nil }
                defer { Glibc.close(home) }
                guard csys_setns(target, cloneNewNet) == 0 else { return nil }
                fd = netfilterSocket()
                guard csys_setns(home, cloneNewNet) == 0 else {
                    if fd >= 0 { Glibc.close(fd) }
                    stranded = "could not return from network namespace \(name): \(String(cString: strerror(errno)))"
                    return nil
                }
            } else {
                fd = netfilterSocket()
            }
            guard fd >= 0 else { return nil }
            var cookie: UInt64 = 0
            var length = socklen_t(MemoryLayout<UInt64>.size)
            guard getsockopt(fd, SOL_SOCKET, soNetnsCookie, &cookie, &length) == 0,
                  length == MemoryLayout<UInt64>.size else {
                Glibc.close(fd)
                return nil
            }
            return Reader(socket: fd, boot: boot, namespace: cookie)
        }

        /// The generation now, or nil (the caller compares listings).
        func read() -> NftGeneration? {
            // nlmsghdr (host order): length 20, type NFNL_SUBSYS_NFTABLES << 8
            // | NFT_MSG_GETGEN, NLM_F_REQUEST, seq 0, port 0; then nfgenmsg:
            // AF_UNSPEC, NFNETLINK_V0, res_id 0 (linux/netfilter/nfnetlink.h).
            var request = [UInt8](repeating: 0, count: 20)
            put(UInt32(20), at: 0, in: &request)
            put(UInt16(messageType(getGen)), at: 4, in: &request)
            put(UInt16(1), at: 6, in: &request)
            guard send(socket, request, request.count, 0) == request.count else { return nil }
            // The kernel answers within send(2); never wait for it here.
            var reply = [UInt8](repeating: 0, count: 512)
            let n = reply.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            guard n >= 20, let id = Self.generation(in: reply[..<n]) else { return nil }
            return NftGeneration(boot: boot, namespace: namespace, id: id)
        }

        func close() { Glibc.close(socket) }

        /// `NFTA_GEN_ID` (big-endian u32) of an `NFT_MSG_NEWGEN` reply.
        static func generation(in reply: ArraySlice<UInt8>) -> UInt32? {
            let bytes = Array(reply)
            guard bytes.count >= 20, Int(get32(bytes, 0)) <= bytes.count,
                  get16(bytes, 4) == messageType(newGen) else { return nil }
            var offset = 20
            let end = Int(get32(bytes, 0))
            while offset + 4 <= end {
                let length = Int(get16(bytes, offset)), type = get16(bytes, offset + 2) & 0x3fff
                guard length >= 4, offset + length <= end else { return nil }
                if type == genIDAttribute, length == 8 {
                    return UInt32(bytes[offset + 4]) << 24 | UInt32(bytes[offset + 5]) << 16
                        | UInt32(bytes[offset + 6]) << 8 | UInt32(bytes[offset + 7])
                }
                offset += (length + 3) & ~3
            }
            return nil
        }
    }

    // linux/sched.h, linux/netlink.h, asm-generic/socket.h,
    // linux/netfilter/nfnetlink.h and nf_tables.h (stable ABI numbers).
    static let cloneNewNet: Int32 = 0x4000_0000
    static let netlinkNetfilter: Int32 = 12
    static let soNetnsCookie: Int32 = 71
    static let subsysNftables: UInt16 = 10
    static let newGen: UInt16 = 15, getGen: UInt16 = 16
    static let genIDAttribute: UInt16 = 1

    static func messageType(_ message: UInt16) -> UInt16 { subsysNftables << 8 | message }

    static func netfilterSocket() -> Int32 {
        socket(AF_NETLINK, Int32(SOCK_RAW.rawValue) | Int32(SOCK_CLOEXEC.rawValue), netlinkNetfilter)
    }

    static func bootID() -> String? {
        switch SmallFile.read("/proc/sys/kernel/random/boot_id", limit: 64) {
        case .success(let bytes):
            let id = String(decoding: bytes.prefix { $0 != UInt8(ascii: "\n") }, as: UTF8.self)
            return id.isEmpty ? nil : id
        case .failure: return nil
        }
    }

    private static func put<T: FixedWidthInteger>(_ value: T, at offset: Int, in bytes: inout [UInt8]) {
        withUnsafeBytes(of: value) { for (i, b) in $0.enumerated() { bytes[offset + i] = b } }
    }

    private static func get16(_ bytes: [UInt8], _ offset: Int) -> UInt16 {
        var v: UInt16 = 0
        withUnsafeMutableBytes(of: &v) { for i in 0..<2 { $0[i] = bytes[offset + i] } }
        return v
    }

    private static func get32(_ bytes: [UInt8], _ offset: Int) -> UInt32 {
        var v: UInt32 = 0
        withUnsafeMutableBytes(of: &v) { for i in 0..<4 { $0[i] = bytes[offset + i] } }
        return v
    }
}
