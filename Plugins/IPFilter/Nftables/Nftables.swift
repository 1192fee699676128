// ipfilter-nft: the companion object of the ipfilter plugin. It holds the
// one thing that needs libnftables (and, through it, libnftnl, libmnl,
// libxtables, libjansson and libgmp): talking to the kernel's nftables, so
// that monitor level 0 (the default, "nothing to monitor") loads none of
// them. Start, stop, exclusive and level 1 load it, once per process.
//
// It serves one typed call, NftablesCall (NftablesCall/NftablesCall.swift).
// The build generates its C export and its record; the host finds it as
// ipfilter-nft.so beside ipfilter.so and verifies it like a plugin.
import CNftables
import NftablesCall
#if canImport(Glibc)
import Glibc
#endif

/// One operation on the request's table, inside its network namespace.
func serve(_ request: NftablesCall.Request) -> NftablesCall.Response {
    NetworkNamespace.inside(request.namespace) {
        guard let nft = NftContext() else { return .failed("libnftables: nft_ctx_new failed") }
        let table = "\(request.family) \(request.table)"
        switch request.operation {
        case .list:
            return nft.list(table)
        case .remove:
            NftContext.closeAtExit(nft)
            let run = nft.run("delete table \(table)")
            if run.ok { return .done(listing: "") }
            return run.isNoSuchObject ? .absent : .failed("delete table \(table): \(run.message)")
        case .load(let ruleset, let path):
            NftContext.closeAtExit(nft)
            return load(ruleset, path: path, table: table, nft: nft)
        }
    }
}

/// Replace the table in one transaction, then list it.
///
/// The file's text goes into a memfd, and the batch is
/// `add table T` / `delete table T` / `include "/proc/self/fd/N"` /
/// `add table T`: the table is replaced whole (`add` first so that
/// `delete` never fails; this libnftables has no `destroy`), it exists
/// after the batch even when the file does not create it (an empty file
/// is an empty table, never a table deleted by start), and the ruleset is
/// parsed as a file, so
/// an error names its own line and column (a buffer's would be off; see
/// DESIGN.md, libnftables 1.0.6).
///
/// The commit is its own check, so there is no separate dry run: nothing
/// reaches the kernel until the whole batch has parsed and evaluated, and
/// the kernel applies an nftables batch all or nothing (a refused rule, a
/// jump to a missing chain, a hook the family cannot have abort it whole),
/// so a refused ruleset leaves the old table exactly as it was, and the
/// message names the file's line either way. A dry run first (`nft -c`)
/// costs a second kernel transaction (~14 ms here, most of start) and
/// checks nothing the commit does not.
private func load(_ ruleset: String, path: String, table: String, nft: NftContext) -> NftablesCall.Response {
    let fd = cnft_memfd("ipfilter-ruleset")
    guard fd >= 0 else { return .failed("memfd_create: \(String(cString: strerror(errno)))") }
    defer { close(fd) }
    let bytes = Array(ruleset.utf8)
    var written = 0
    while written < bytes.count {
        let n = bytes.withUnsafeBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return .failed("memfd write: \(String(cString: strerror(errno)))") }
        written += n
    }
    let alias = "/proc/self/fd/\(fd)"
    let commit = nft.run("add table \(table)\ndelete table \(table)\ninclude \"\(alias)\"\nadd table \(table)\n")
    guard commit.ok else { return .refused(commit.message.replacingAll(alias, with: path)) }
    return nft.list(table)
}

/// A libnftables context with buffered output and errors.
final class NftContext {
    let ctx: OpaquePointer

    init?() {
        guard let ctx = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else { return nil }
        self.ctx = ctx
        _ = nft_ctx_buffer_output(ctx)
        _ = nft_ctx_buffer_error(ctx)
    }

    deinit { nft_ctx_free(ctx) }

    /// Contexts whose netlink socket is closed by the process's exit, not
    /// by the call. After a commit that deleted a table, closing the socket
    /// waits for the kernel's deferred cleanup of the old table (~9 ms here,
    /// `strace -T`: `close` of the NETLINK_NETFILTER socket), while the rules
    /// are already in force (the commit was acknowledged). The action runs
    /// in a worker process of its own that fshost does not wait for once
    /// it has answered, so that wait moves after the answer.
    nonisolated(unsafe) private static var closedAtExit: [NftContext] = []

    static func closeAtExit(_ context: NftContext) { closedAtExit.append(context) }

    /// How one command buffer ran: its output and its error text.
    struct Run {
        var ok: Bool
        var output: String
        var errors: String

        /// The error text as one line: nft's message and the offending
        /// source line, without the caret line under it.
        var message: String {
            let lines = errors.split(separator: "\n").map { $0.trimmingSpaces() }
                .filter { !$0.isEmpty && !$0.allSatisfy { $0 == "^" || $0 == "~" } && !$0.hasPrefix("In file included from") }
            return lines.isEmpty ? "libnftables failed without a message" : lines.joined(separator: " | ")
        }

        /// The kernel said ENOENT: the table (or the object) is not there.
        var isNoSuchObject: Bool { errors.contains("No such file or directory") }
    }

    func run(_ commands: String) -> Run {
        let rc = nft_run_cmd_from_buffer(ctx, commands)
        // Reading a buffer also rewinds it for the next command.
        let output = nft_ctx_get_output_buffer(ctx).map { String(cString: $0) } ?? ""
        let errors = nft_ctx_get_error_buffer(ctx).map { String(cString: $0) } ?? ""
        return Run(ok: rc == 0, output: output, errors: errors)
    }

    /// `nft -s list table T`: stateless (no counter or quota values), no
    /// handles; the kernel's own rendering, so it compares equal to itself.
    func list(_ table: String) -> NftablesCall.Response {
        let flags = nft_ctx_output_get_flags(ctx)
        nft_ctx_output_set_flags(ctx, flags | UInt32(NFT_CTX_OUTPUT_STATELESS))
        defer { nft_ctx_output_set_flags(ctx, flags) }
        let run = run("list table \(table)")
        if run.ok { return .done(listing: run.output) }
        return run.isNoSuchObject ? .absent : .failed("list table \(table): \(run.message)")
    }
}

/// setns(2) into /run/netns/NAME for one call. A network namespace belongs
/// to a thread, not to the process: only the calling thread moves, and it
/// moves back before the call returns, so nothing else of the action (the
/// host's checks, its log) runs in the namespace. The action runs in a
/// worker process forked for it alone, so even a thread that could not
/// move back ends with the action.
enum NetworkNamespace {
    static func inside(_ name: String?, _ body: () -> NftablesCall.Response) -> NftablesCall.Response {
        guard let name else { return body() }
        let path = "/run/netns/" + name
        let target = open(path, O_RDONLY | O_CLOEXEC)
        guard target >= 0 else {
            let e = errno
            let why = "network namespace \(name): \(path): \(String(cString: strerror(e)))"
            return e == ENOENT ? .namespaceMissing(why + " (see ip netns list)") : .failed(why)
        }
        defer { close(target) }
        let home = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)
        guard home >= 0 else { return .failed("/proc/thread-self/ns/net: \(String(cString: strerror(errno)))") }
        defer { close(home) }
        guard cnft_setns_net(target) == 0 else {
            let e = errno
            let why = "network namespace \(name): setns(\(path)): \(String(cString: strerror(e)))"
            return e == EINVAL ? .namespaceMissing(why + " (not a network namespace)") : .failed(why)
        }
        let answer = body()
        guard cnft_setns_net(home) == 0 else {
            return .failed("could not return from network namespace \(name): \(String(cString: strerror(errno)))")
        }
        return answer
    }
}

extension StringProtocol {
    func trimmingSpaces() -> String {
        var s = Substring(self)
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return String(s)
    }
}

extension String {
    /// Every occurrence of `target` replaced (no Foundation here).
    func replacingAll(_ target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = "", rest = Substring(self)
        while let range = rest.firstRange(of: target) {
            out += rest[..<range.lowerBound] + replacement
            rest = rest[range.upperBound...]
        }
        return out + rest
    }
}
