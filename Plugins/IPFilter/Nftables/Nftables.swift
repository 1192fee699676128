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
import HAVocabulary
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
            let run = nft.run("delete table \(table)")
            if run.ok { return .done(listing: "") }
            return run.isNoSuchObject ? .absent : .failed("delete table \(table): \(run.message)")
        case .load(let ruleset, let path):
            return load(ruleset, path: path, table: table, nft: nft, dryRun: false)
        case .check(let ruleset, let path):
            return load(ruleset, path: path, table: table, nft: nft, dryRun: true)
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
/// so a refused ruleset leaves the old table exactly as it was. A dry run
/// first (`nft -c`) would cost a second kernel transaction (~14 ms here,
/// most of start) and check nothing the commit does not; it runs only
/// after a refusal, for the message.
///
/// When the batch fails, the file is checked alone in a fresh context
/// (dry run), so the message names the file's own line and never quotes
/// the batch's own commands (a missing `}` would otherwise be reported at
/// the batch's `add table`).
///
/// `dryRun`: the same batch as libnftables' dry run (`nft -c`), for the
/// validate action: the kernel checks it and commits nothing; no listing.
private func load(_ ruleset: String, path: String, table: String, nft: NftContext, dryRun: Bool) -> NftablesCall.Response {
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
    let own = ["add table \(table)", "delete table \(table)", "include \"\(alias)\""]
    let batch = own[0] + "\n" + own[1] + "\n" + own[2] + "\n" + own[0] + "\n"
    let commit = dryRun ? nft.check(commands: batch) : nft.run(batch)
    guard commit.ok else {
        // The batch's message can point at fshost's own commands (a file
        // that ends inside a block is "unexpected end of file" at the next
        // line of the batch: `add table`). The file checked alone, without
        // the kernel changing (nft -c -f), names its own line; only if it
        // passes alone is the batch's message the answer, without the
        // lines that quote the batch's own commands.
        // A fresh context: the batch's parse left its definitions in the
        // old one's scope.
        let alone = NftContext()?.check(file: alias)
        let why = alone.map { $0.ok ? commit.message(omitting: own) : $0.message(omitting: own) }
            ?? commit.message(omitting: own)
        return .refused(why.replacingText(alias, with: path))
    }
    return dryRun ? .done(listing: "") : nft.list(table)
}

/// A libnftables context whose output and errors go to memory streams
/// this type owns.
///
/// Not libnftables' own buffers (`nft_ctx_buffer_output` and
/// `nft_ctx_get_output_buffer`): those hand back a pointer into a buffer
/// the context owns, rewound by the next read and freed with the context,
/// read here with `strlen`. A monitor that listed a ~4 MiB table, failed
/// and was retried in the same worker process died of SIGSEGV in
/// `strlen` (issue 11, finding 1). Now every run writes into a fresh
/// `open_memstream(3)` whose bytes are copied by their length before the
/// stream is closed, and no context is freed before the process ends
/// (``keepUntilExit``), so no pointer of libnftables outlives what it
/// points to.
final class NftContext {
    let ctx: OpaquePointer

    init?() {
        guard let ctx = nft_ctx_new(UInt32(NFT_CTX_DEFAULT)) else { return nil }
        self.ctx = ctx
        Self.keepUntilExit(self)
    }

    deinit { nft_ctx_free(ctx) }

    /// Every context lives until the process exits: its netlink socket is
    /// closed by the exit, not by the call. After a commit that deleted a
    /// table, closing the socket waits for the kernel's deferred cleanup of
    /// the old table (~9 ms here, `strace -T`: `close` of the
    /// NETLINK_NETFILTER socket), while the rules are already in force (the
    /// commit was acknowledged); the action runs in a worker process of its
    /// own that fshost does not wait for once it has answered, so that wait
    /// moves after the answer. And nothing libnftables keeps between calls
    /// can point into a freed context. A worker makes a handful per action
    /// (a FailSafe batch's pool worker runs several actions: measured, 80
    /// level-1 monitors in one worker under `ulimit -n 30` all answered).
    nonisolated(unsafe) private static var keptUntilExit: [NftContext] = []

    private static func keepUntilExit(_ context: NftContext) { keptUntilExit.append(context) }

    /// How one command buffer ran: its output and its error text.
    struct Run {
        var ok: Bool
        var output: String
        var errors: String

        /// The error text as one line: nft's message and the offending
        /// source line, without the caret line under it.
        var message: String { message(omitting: []) }

        /// The message without the source lines equal to one of `own`
        /// (the batch's own commands, which the reader never wrote).
        func message(omitting own: [String]) -> String {
            let lines = errors.split(separator: "\n").map { $0.trimmingSpaces() }
                .filter { !$0.isEmpty && !$0.allSatisfy { $0 == "^" || $0 == "~" } && !$0.hasPrefix("In file included from")
                    && !own.contains($0) }
            return lines.isEmpty ? "libnftables failed without a message" : lines.joined(separator: " | ")
        }

        /// The kernel said ENOENT: the table (or the object) is not there.
        var isNoSuchObject: Bool { errors.containsText("No such file or directory") }
    }

    /// Runs `commands` (nft syntax, a buffer) with output and errors
    /// captured by length.
    func run(_ commands: String) -> Run {
        capture { nft_run_cmd_from_buffer(ctx, commands) }
    }

    /// Checks the file at `path` alone, without changing the kernel (`nft
    /// -c -f PATH`): its errors name its own lines.
    func check(file path: String) -> Run {
        nft_ctx_set_dry_run(ctx, true)
        defer { nft_ctx_set_dry_run(ctx, false) }
        return capture { nft_run_cmd_from_filename(ctx, path) }
    }

    /// Runs `commands` as libnftables' dry run (`nft -c`): the kernel
    /// checks the batch (it gets no commit message) and changes nothing.
    func check(commands: String) -> Run {
        nft_ctx_set_dry_run(ctx, true)
        defer { nft_ctx_set_dry_run(ctx, false) }
        return capture { nft_run_cmd_from_buffer(ctx, commands) }
    }

    /// `body` with the context's output and error streams pointed at two
    /// fresh memory streams, read by their length once closed.
    private func capture(_ body: () -> Int32) -> Run {
        let out = MemoryStream(), err = MemoryStream()
        guard let outFile = out.file, let errFile = err.file else {
            return Run(ok: false, output: "", errors: "open_memstream: \(String(cString: strerror(errno)))")
        }
        _ = nft_ctx_set_output(ctx, outFile)
        _ = nft_ctx_set_error(ctx, errFile)
        let rc = body()
        // The context must not keep a stream that is about to be closed.
        _ = nft_ctx_set_output(ctx, cnft_stderr())
        _ = nft_ctx_set_error(ctx, cnft_stderr())
        return Run(ok: rc == 0, output: out.close(), errors: err.close())
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

/// An `open_memstream(3)` stream: its buffer pointer and size live in
/// memory of their own (the stream writes them at every flush, so they
/// must outlive the call that opened it), and its text is copied by its
/// length, never with `strlen`.
final class MemoryStream {
    private let buffer = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(capacity: 1)
    private let size = UnsafeMutablePointer<Int>.allocate(capacity: 1)
    private(set) var file: UnsafeMutablePointer<FILE>?

    init() {
        buffer.initialize(to: nil)
        size.initialize(to: 0)
        file = open_memstream(buffer, size)
    }

    /// Closes the stream and returns what was written (invalid UTF-8
    /// repaired). Safe to call twice.
    func close() -> String {
        if let f = file { fclose(f); file = nil }
        guard let base = buffer.pointee, size.pointee > 0 else { return "" }
        return String(decoding: UnsafeRawBufferPointer(start: base, count: size.pointee), as: UTF8.self)
    }

    deinit {
        if let f = file { fclose(f) }
        free(buffer.pointee)
        buffer.deallocate()
        size.deallocate()
    }
}

/// setns(2) into /run/netns/NAME for one call. A network namespace belongs
/// to a thread, not to the process: only the calling thread moves, and it
/// moves back before the call returns, so nothing else of the action (the
/// host's checks, its log) runs in the namespace. A thread that could not
/// move back stays in the worker: a single call's worker ends with the
/// action, and a FailSafe batch's pool worker sees its namespace changed
/// after the job and retires (``WorkerSurroundings`` in the host), so the
/// next resource never runs in it.
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
