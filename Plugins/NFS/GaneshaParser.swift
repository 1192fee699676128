// Ganesha's own configuration parser, asked before every reload. A reload
// (SIGHUP) reads the main config and every file of every `%dir` as ONE
// token stream, and Ganesha 4.3 goes on after a syntax error (the parser's
// error rules set no error flag: reread_config proceeds): a foreign export
// file without its closing brace swallows the next file's EXPORT block,
// which is withdrawn (measured: "Parameter Path set more than once", the
// export gone from the MOUNT list). This resource's own block is safe by
// construction as far as fshost's grammar knows Ganesha's (ExportBlock), but
// that grammar once let `::/0` through (4.3's lexer reads IPv6 prefixes of
// 1-99 only): so validate and start parse the block itself too. Before
// start places its file, the set with it before its SIGHUP or server
// start, and before every other SIGHUP fshost sends, Ganesha's parser,
// `config_ParseFile` of the server's own library, reads
//   - each file of each `%dir` alone (ReloadSet: the reload's files, each
//     trusted): a file must be whole by itself, or placing this
//     resource's file between two halves would change what they mean;
//   - this resource's block alone, from a memfd (validate writes nothing);
//   - the main config, which reads the whole set as the reload will;
// and refuse when it reports anything at all (a syntax error, a missing
// `%include`), naming the file and Ganesha's own message.
//
// The library is loaded in a forked child (it needs 26 other libraries,
// and a parser fed a hostile file may crash or loop), written in C
// (CGaneshaParse: a forked child of the threaded fshost must not touch the
// Swift runtime, whose locks another thread may have held at the fork):
// it quiets Ganesha's logging, parses, writes the first problem to a pipe
// and exits; the parent bounds it by the action's time.
import CGaneshaParse
import FSKit
#if canImport(Glibc)
import Glibc
#endif

struct GaneshaParser {
    /// The server's library, holding `config_ParseFile`.
    let library: String

    /// Why a reload would not read what it reads now, as the action's
    /// answer (nil when every file parses): `set` is the reload's files
    /// (``ReloadSet``, already trusted); each file of a `%dir` other than
    /// `ownFile` is parsed alone, then `ownBlock` (this resource's block
    /// about to be placed, from a memfd: nothing is written) alone, then
    /// the config with everything it includes as the reload reads it.
    /// A foreign file or the config: HA_NOCFGINFO naming it; this
    /// resource's own block or file: HA_INVAL_ARGS naming the attribute
    /// on the line Ganesha's parser points at. Costs one fork and the
    /// library's load (4-10 ms of action time for `validate` with two
    /// other export files, FSHOST_TIMING): start, stop, validate and
    /// reloads only, never a monitor.
    func problem(config: String, set: ReloadSet?, ownFile: String, ownBlock: String?, within limit: Duration) -> Outcome? {
        // Comments only (or nothing): Ganesha reads it as nothing; alone
        // its parser would answer "Empty configuration file".
        var files = (set?.files ?? []).filter {
            $0.directory != nil && $0.path != ownFile && !GaneshaConfigScan.tokens($0.bytes).isEmpty
        }.map(\.path)
        var memfd: Int32 = -1
        defer { if memfd >= 0 { close(memfd) } }
        var blockPath = ""
        if let ownBlock {
            memfd = ownBlock.withCString { fshost_ganesha_text_fd($0, strlen($0)) }
            guard memfd >= 0 else { return .failed("cannot check this resource's block: memfd_create: \(String(cString: strerror(errno)))") }
            blockPath = "/proc/self/fd/\(memfd)"
            files.append(blockPath)
        }
        files.append(config)
        let fd = open(library, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            return .badConfiguration("attribute 'library': \(library): \(String(cString: strerror(errno))) (Ganesha's parser checks every file a reload reads)")
        }
        defer { close(fd) }
        if let why = TrustedFile.problem(descriptor: fd, path: library) { return .badConfiguration("attribute 'library': \(why)") }
        switch run(descriptor: fd, files: files, within: limit) {
        case .success(.none): return nil
        case .success(.some(let found)):
            let said = "(Ganesha's parser: \(found.message))"
            if found.file == blockPath, let ownBlock {
                return .invalid("attribute '\(Self.attribute(onLine: found.message, of: ownBlock))': the export block fshost generates from it does not parse \(said): nothing placed, no reload sent")
            }
            if found.file == config, found.message.containsText(ownFile + ":") {
                return .badConfiguration("this resource's own export file \(ownFile) does not parse in the set a reload reads \(said): no reload sent; it was not placed by this fshost's checks (edited by hand, or an older fshost): fix the attributes Ganesha's message points at, or remove the file")
            }
            if found.file == config {
                return .badConfiguration("the config \(config) (with every file it includes) does not parse \(said): a reload would withdraw exports of the server, so fshost sends none and changes nothing; fix the file Ganesha's message names")
            }
            return .badConfiguration("file \(found.file) of a %dir does not parse alone \(said): a reload would withdraw exports of the server, so fshost sends none and changes nothing; fix or remove that file")
        case .failure(let why): return .failed(why.text)
        }
    }

    /// The attribute behind the line of `block` that Ganesha's message
    /// (`Config File (NAME:LINE): …`) points at; "clients" … by the
    /// statement's key, "path" for a line fshost fixes itself.
    static func attribute(onLine message: String, of block: String) -> String {
        guard let open = message.firstRange(ofText: "Config File ("),
              let close = message[open.upperBound...].firstIndex(of: ")"),
              let colon = message[open.upperBound..<close].lastIndex(of: ":"),
              let line = Int(message[message.index(after: colon)..<close]) else { return "clients" }
        let lines = block.split(separator: "\n", omittingEmptySubsequences: false)
        guard line >= 1, line <= lines.count else { return "clients" }
        let key = lines[line - 1].split(separator: "=").first.map { String($0.filter { $0 != " " && $0 != "\t" }).lowercased() } ?? ""
        switch key {
        case "export_id": return "export_id"
        case "path": return "path"
        case "pseudo": return "pseudo"
        case "protocols": return "versions"
        case "squash": return "squash"
        case "access_type": return "access"
        default: return "clients"
        }
    }

    struct Found { let file: String, message: String }

    /// Forks the child that parses `files` in order (CGaneshaParse: C
    /// only after the fork); the first problem, nil when none, or why the
    /// child gave no answer.
    func run(descriptor fd: Int32, files: [String], within limit: Duration) -> Result<Found?, ExportsDirectory.Refusal> {
        var pipeFDs: [Int32] = [0, 0]
        guard pipe(&pipeFDs) == 0 else { return .failure(ExportsDirectory.Refusal(text: "cannot run Ganesha's parser: pipe: \(String(cString: strerror(errno)))")) }
        // Not inherited by what another thread may spawn meanwhile (its
        // copy of the write end would hold the answer open).
        for end in pipeFDs { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        let seconds = UInt32(max(1, min(10, limit.milliseconds / 1000)))
        // Everything the child reads is made here, before the fork.
        let names = files.map { strdup($0) }
        let library = strdup("/proc/self/fd/\(fd)")
        defer { names.forEach { free($0) }; free(library) }
        let pid = names.map { UnsafePointer($0) }.withUnsafeBufferPointer { list in
            fshost_ganesha_parse(library, list.baseAddress, Int32(list.count), pipeFDs[1], null, seconds)
        }
        let forkError = errno
        close(pipeFDs[1])
        if null >= 0 { close(null) }
        defer { close(pipeFDs[0]) }
        guard pid > 0 else {
            return .failure(ExportsDirectory.Refusal(text: "cannot run Ganesha's parser: fork: \(String(cString: strerror(forkError)))"))
        }
        var answer: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        let deadline = ProbeDeadline(after: limit)
        var timedOut = false
        while true {
            var p = pollfd(fd: pipeFDs[0], events: Int16(POLLIN), revents: 0)
            let ready = poll(&p, 1, Int32(clamping: deadline.remaining.milliseconds))
            if ready < 0 && errno == EINTR { continue }
            if ready <= 0 { timedOut = true; break }
            let n = buffer.withUnsafeMutableBytes { read(pipeFDs[0], $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            if answer.count < 65536 { answer += buffer[0..<n] }
        }
        if timedOut { kill(pid, SIGKILL) }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        if timedOut { return .failure(ExportsDirectory.Refusal(text: "Ganesha's parser (attribute 'library' \(self.library)) did not answer within \(limit.milliseconds) ms: nothing changed")) }
        let text = String(decoding: answer, as: UTF8.self)
        // The child's protocol: "ok", or "bad\tFILE\tMESSAGES", or "error\tWHY".
        let fields = text.split(separator: "\t", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
        switch fields.first {
        case "ok" where status == 0: return .success(nil)
        case "bad" where fields.count == 3: return .success(Found(file: fields[1], message: Self.oneLine(fields[2])))
        case "error" where fields.count >= 2:
            return .failure(ExportsDirectory.Refusal(text: "Ganesha's parser (attribute 'library' \(self.library)): \(Self.oneLine(fields[1...].joined(separator: " ")))"))
        default:
            let how = status & 0x7f != 0 ? "died of signal \(status & 0x7f)" : "exited with \((status >> 8) & 0xff)"
            return .failure(ExportsDirectory.Refusal(text: "Ganesha's parser (attribute 'library' \(self.library)) \(how) without an answer reading \(files.joined(separator: ", ")): nothing changed"))
        }
    }

    /// Ganesha's messages (`Config File (FILE:LINE): …`, one after the
    /// other without separators) as one bounded line (400 characters).
    static func oneLine(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            out.unicodeScalars.append(scalar.value < 0x20 || scalar.value == 0x7F ? " " : scalar)
            if out.unicodeScalars.count >= 400 { return out + "…" }
        }
        return out
    }
}
