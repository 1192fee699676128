#if canImport(Glibc)
import Glibc
#endif

/// How a ``ProcessPattern`` looks at a process's arguments.
///
/// Every case looks at each of argv[1...] on its own: a text never matches
/// across two arguments, and argv[0] is left to ``ProcessPattern/name`` —
/// except for a server that rewrote its title into argv[0] (see
/// ``word(_:)``). Kernel threads have no arguments and never match.
/// Comparison is by bytes (UTF-8), case-sensitive.
public enum ArgumentMatch: Sendable, Equatable {
    /// Some argument contains the text anywhere (`.contains("nginx.conf")`
    /// matches `-c /etc/nginx/nginx.conf`). For a search only: as an
    /// identity it is too loose (`/X/nginx.conf` is inside
    /// `/srv/ha/X/nginx.conf`).
    case contains(String)
    /// Some argument *is* the text, whole: `.anchored("/srv/data")` matches
    /// the argument `/srv/data` but not `/srv/data2`. A text that ends in
    /// `*` matches an argument that starts with the rest:
    /// `.anchored("--config=*")` matches `--config=/etc/x.conf`. (A lone
    /// `*` matches any argument; no other character is special.)
    case anchored(String)
    /// The rule of the plugin ABI (`fshost_process_pattern.argument`) and of
    /// the host's process services: the text is a whole *word* of the
    /// command line, never a part of one. A word is
    /// 1. one argument of argv[1...], whole (`-c`, `/X/nginx.conf`);
    /// 2. the value of a setting written with its name: the part after the
    ///    first `=` of an argument (`--config=/X/nginx.conf`, GNU long
    ///    options; `config_file=/X/postgresql.conf`, as PostgreSQL's
    ///    `-c name=value` takes it), or the rest of an argument `-o…` whose
    ///    option is one letter or digit (`-c/X/nginx.conf`: POSIX utility
    ///    syntax guideline 6 allows the option-argument attached);
    /// 3. when argv[0] is a title the server rewrote (it holds a space, as
    ///    nginx's `nginx: master process /usr/sbin/nginx -c /X/nginx.conf`
    ///    and PostgreSQL's `postgres: checkpointer` do; the original
    ///    arguments are gone or NUL padding), each of its words separated by
    ///    spaces or tabs, by rules 1 and 2.
    ///
    /// So `.word("/X/nginx.conf")` matches `nginx -c /X/nginx.conf` and its
    /// rewritten title, and neither of them with `/srv/ha/X/nginx.conf`.
    /// An empty text matches any process (as no argument pattern does).
    case word(String)
}

/// What to look for in a ``ProcessTable``: every field that is set must
/// match (a pattern with no field set matches every process). These are
/// the host's one set of process rules: the declared processes of a
/// plugin, the host services `process_count`, `process_matches` and
/// `group_members`, and `fshost exec2`'s pid checks all use them.
///
/// - ``name`` matches a process when, comparing bytes exactly:
///   1. it equals `comm`, what the kernel calls the process
///      (`/proc/PID/stat` field 2); or
///   2. it equals the basename of argv[0] (so `exec -a name …`, a program
///      started through a symlink, are found by the name their argv
///      shows); or
///   3. argv[0] is a rewritten title (it holds a space) whose first word,
///      without a final `:`, has the name as basename (nginx's
///      `nginx: master process …`, PostgreSQL's `postgres: …`); or
///   4. it is longer than 15 bytes, `comm` equals its first 15 bytes (the
///      kernel cuts comm at TASK_COMM_LEN - 1 = 15, `include/linux/sched.h`)
///      and the full name is confirmed by the basename of
///      `/proc/PID/exe` (a `readlink`, done only for such a candidate: a
///      copy of nginx named `nginx-frontend-proxy` whose title says
///      `nginx: …`), or of argv[1] (an interpreted script: the kernel runs
///      `interpreter script`, comm is the script's name), or of a word of a
///      rewritten title that holds a `/` (nginx's title names the binary
///      as it was started, a symbolic link's name included:
///      `nginx: master process /tmp/bin/nginx-frontend-proxy-link -c …`),
///      or argv[0] is empty (a command line that cannot be read). A longer
///      name is never matched on the cut comm alone, so
///      `averyveryverylongname` does not find `averyveryverylongnamex`;
///   5. the process is an interpreter started explicitly
///      (`/usr/bin/python3 /srv/server.py`: comm `python3`; comm starts
///      with one of ``interpreters``) and the basename of argv[1], the
///      script, equals the name — any length.
///
///   A name containing `/` is a path: it matches when argv[0] equals it
///   (or the path with its symbolic links resolved, `realpath(3)` once per
///   pattern), or a word of a rewritten title does (rule 4), or an
///   interpreter's argv[1] does (rule 5), or when `/proc/PID/exe` is that file (either spelling; a
///   ` (deleted)` suffix, the kernel's mark for a replaced file, is
///   ignored). That is a `readlink` for each process whose argv[0] is not
///   the path — a process started through a link of another name has
///   neither comm nor argv[0] to tell — so a path costs more in a scan
///   than a name; with a pid hint it is one process. An empty name matches
///   nothing.
/// - ``argument``: see ``ArgumentMatch``; the declared processes of a
///   plugin use ``ArgumentMatch/word(_:)``.
/// - ``uid``: the real uid (``ProcessEntry/uid``); checked last, since for a
///   root-owned process it may read `/proc/<pid>/status`.
/// - ``ownerRule``: the process must be one a resource may run as
///   (``ProcessOwnerRule``: root or the host's uid, else the declared
///   program itself from a trusted file); set by ``declared(name:argument:)``,
///   so every declared process and host process service obeys it. Checked
///   after name and argument.
public struct ProcessPattern: Sendable {
    /// Process name: comm, argv[0] basename, or a path (see the type's doc).
    public var name: String?
    /// A test on the arguments.
    public var argument: ArgumentMatch?
    /// The real uid the process must run as.
    public var uid: UInt32?
    /// Only processes ``ProcessOwnerRule`` admits match.
    public var ownerRule = false

    /// A pattern; each `nil` field matches anything.
    public init(name: String? = nil, argument: ArgumentMatch? = nil, uid: UInt32? = nil) {
        self.name = name
        self.argument = argument
        self.uid = uid
    }

    /// The pattern of the plugin ABI: `name` (nil or empty: any) and
    /// `argument` as a whole word (nil or empty: any), the rules of
    /// `fshost_process_pattern`.
    public static func declared(name: String?, argument: String?) -> ProcessPattern {
        var pattern = ProcessPattern(name: name.flatMap { $0.isEmpty ? nil : $0 },
                                     argument: argument.flatMap { $0.isEmpty ? nil : .word($0) })
        pattern.ownerRule = true
        return pattern
    }

    /// Whether `e` matches every field that is set.
    public func matches(_ e: ProcessEntry) -> Bool {
        CompiledPattern(self).matches(e)
    }

    /// Whether `pid` runs (not a zombie), started at `startTime` when that
    /// is given, and matches every field that is set. Reads that one
    /// process directly — `/proc/PID/stat` and `cmdline`, `exe` only when a
    /// name rule needs it — so its cost does not grow with the number of
    /// processes on the node. A pid hint is checked this way.
    public func matches(pid: Int32, startTime: UInt64?) -> Bool {
        guard let entry = ProcessEntry(pid: pid) else { return false }
        if let startTime, entry.startTime != startTime { return false }
        return matches(entry)
    }
}

/// A pattern with its texts turned into bytes once, for matching a whole table.
struct CompiledPattern {
    private enum ArgumentMode { case contains, equals, prefix, word }

    private let name: [UInt8]?
    private let nameIsPath: Bool
    /// The name's basename (the name itself when it has no `/`).
    private let base: [UInt8]
    /// For a path: the spellings `/proc/PID/exe` may show.
    private let paths: [[UInt8]]
    private let argument: [UInt8]?
    private let argumentMode: ArgumentMode
    private let uid: UInt32?
    private let ownerRule: Bool

    init(_ p: ProcessPattern) {
        if let n = p.name {
            let bytes = Array(n.utf8)
            name = bytes
            nameIsPath = bytes.contains(0x2F)
            base = Array(basename(bytes))
            var paths = [bytes]
            if nameIsPath, let resolved = resolvedPath(n), resolved != bytes { paths.append(resolved) }
            self.paths = paths
        } else {
            name = nil; nameIsPath = false; base = []; paths = []
        }
        switch p.argument {
        case nil:
            argument = nil; argumentMode = .contains
        case .contains(let text)?:
            argument = Array(text.utf8); argumentMode = .contains
        case .word(let text)?:
            argument = text.isEmpty ? nil : Array(text.utf8); argumentMode = .word
        case .anchored(let text)?:
            var bytes = Array(text.utf8)
            if bytes.last == 0x2A /* * */ {
                bytes.removeLast(); argumentMode = .prefix
            } else {
                argumentMode = .equals
            }
            argument = bytes
        }
        uid = p.uid
        ownerRule = p.ownerRule
    }

    func matches(_ e: ProcessEntry) -> Bool {
        if name != nil && !nameMatches(e) { return false }
        if argument != nil && !argumentMatches(e) { return false }
        if let uid, e.uid != uid { return false }
        if ownerRule && !ProcessOwnerRule.admits(e, name: name == nil ? nil : base) { return false }
        return true
    }

    private func nameMatches(_ e: ProcessEntry) -> Bool {
        guard let name, !name.isEmpty else { return false }
        if !nameIsPath { return baseNameMatches(e, base) }
        let argv0 = e.argv0
        for path in paths where argv0.elementsEqual(path) { return true }
        if titleProgram(argv0) != nil, titleHasPath(argv0, where: { word in paths.contains { word.elementsEqual($0) } }) {
            return true
        }
        if isInterpreter(e), let script = e.argument(1), paths.contains(where: { script.elementsEqual($0) }) { return true }
        guard let exe = e.exe else { return false }
        let shown = withoutDeletedMark(Array(exe.utf8)[...])
        return paths.contains { shown.elementsEqual($0) }
    }

    /// Rules 1-5 of the name, for a name without `/`.
    private func baseNameMatches(_ e: ProcessEntry, _ base: [UInt8]) -> Bool {
        if commEquals(e, base) { return true }
        let argv0 = e.argv0
        if !argv0.isEmpty && basename(argv0).elementsEqual(base) { return true }
        if let program = titleProgram(argv0), basename(program).elementsEqual(base) { return true }
        if isInterpreter(e), let script = e.argument(1), basename(script).elementsEqual(base) { return true }
        guard base.count > 15, commEquals(e, base[..<15]) else { return false }
        if argv0.isEmpty { return true }
        if let argv1 = e.argument(1), !argv1.isEmpty, basename(argv1).elementsEqual(base) { return true }
        if titleProgram(argv0) != nil, titleHasPath(argv0, where: { basename($0).elementsEqual(base) }) { return true }
        guard let exe = e.exe else { return false }
        return basename(withoutDeletedMark(Array(exe.utf8)[...])).elementsEqual(base)
    }

    /// Rule 5: the process is an interpreter (its comm starts with one of
    /// ``interpreters``), so argv[1] is the script it runs.
    private func isInterpreter(_ e: ProcessEntry) -> Bool {
        var comm = e.comm
        return comm.withUTF8 { c in
            interpreters.contains { prefix in c.count >= prefix.count && c.prefix(prefix.count).elementsEqual(prefix) }
        }
    }

    private func commEquals<C: Collection>(_ e: ProcessEntry, _ bytes: C) -> Bool where C.Element == UInt8 {
        var comm = e.comm
        return comm.withUTF8 { $0.count == bytes.count && $0.elementsEqual(bytes) }
    }

    private func argumentMatches(_ e: ProcessEntry) -> Bool {
        guard let argument else { return true }
        if argumentMode == .word { return wordMatches(e, argument) }
        let rest = e.argumentsAfterFirst
        if rest.isEmpty, argumentMode == .contains, !e.commandLineBytes.isEmpty {
            // A rewritten title (nginx, postgres): search it whole.
            return e.commandLineBytes.withUnsafeBufferPointer { all in
                argument.withUnsafeBufferPointer { bytesContain(all, $0) }
            }
        }
        // argv[1...] only exists after a NUL; no NUL → no argument at all.
        guard e.commandLineBytes.contains(0) else { return false }
        return rest.withUnsafeBufferPointer { all in
            argument.withUnsafeBufferPointer { needle in
                var start = 0
                var i = 0
                while i <= all.count {
                    if i == all.count || all[i] == 0 {
                        let arg = UnsafeBufferPointer(rebasing: all[start..<i])
                        switch argumentMode {
                        case .contains:
                            if bytesContain(arg, needle) { return true }
                        case .equals:
                            if arg.count == needle.count && arg.elementsEqual(needle) { return true }
                        case .prefix:
                            if arg.count >= needle.count && arg.prefix(needle.count).elementsEqual(needle) { return true }
                        case .word:
                            break
                        }
                        start = i + 1
                    }
                    i += 1
                }
                return false
            }
        }
    }

    /// ``ArgumentMatch/word(_:)``: rules 1-3.
    private func wordMatches(_ e: ProcessEntry, _ text: [UInt8]) -> Bool {
        let line = e.commandLineBytes
        guard !line.isEmpty else { return false }
        let firstNul = line.firstIndex(of: 0) ?? line.endIndex
        // Rules 1 and 2: each of argv[1...].
        var start = firstNul + 1
        var i = start
        while i <= line.endIndex && start <= line.endIndex {
            if i == line.endIndex || line[i] == 0 {
                if isWord(line[start..<i], text) { return true }
                start = i + 1
            }
            i += 1
        }
        // Rule 3: the words of a rewritten title, option values whole.
        let argv0 = line[..<firstNul]
        guard argv0.contains(0x20) else { return false }
        var found = false
        forEachTitleWord(argv0) { word in
            if isWord(word, text) { found = true; return false }
            return true
        }
        return found
    }
}

/// Programs whose argv[1] is the script they run (rule 5 of the name):
/// comm starts with one of these (`python3.11`, `perl5.36`, `node`, `sh`).
/// Only argv[1] is taken: `python3 -u server.py` is not found by
/// `server.py` (its argv[1] is an option).
let interpreters: [[UInt8]] = ["python", "perl", "ruby", "node", "nodejs", "php", "bash", "dash", "sh", "zsh", "ksh",
                               "lua", "tclsh", "Rscript", "guile", "java"].map { Array($0.utf8) }

/// Calls `body` with each word of a rewritten title
/// (`nginx: master process /usr/sbin/nginx -c /X/y z.conf` → `master`,
/// `process`, `/usr/sbin/nginx`, `-c`, `/X/y z.conf`) until it returns
/// false. The title is the server's arguments joined by single spaces
/// (nginx: `ngx_setproctitle("master process " + argv)`,
/// src/os/unix/ngx_process_cycle.c), so a space inside an argument cannot
/// be told from one between two; the rule that makes a config path with
/// a space read whole: the value of a one-letter option written on its
/// own (`-c`, `-p`, `-g`) runs up to the next word starting with `-`, or
/// the end. So `-c /tmp/y /tmp/X/nginx.conf` holds the one value
/// `/tmp/y /tmp/X/nginx.conf`, and `/tmp/X/nginx.conf` is not a word of it.
@inline(__always)
func forEachTitleWord(_ title: ArraySlice<UInt8>, _ body: (ArraySlice<UInt8>) -> Bool) {
    var words: [ArraySlice<UInt8>] = []
    var start = title.startIndex
    var i = start
    while i <= title.endIndex {
        if i == title.endIndex || title[i] == 0x20 || title[i] == 0x09 {
            if i > start { words.append(title[start..<i]) }
            start = i + 1
        }
        i += 1
    }
    var k = 0
    while k < words.count {
        let word = words[k]
        if !body(word) { return }
        k += 1
        let isShortOption = word.count == 2 && word.first == 0x2D && word.last != 0x2D
        guard isShortOption, k < words.count, words[k].first != 0x2D else { continue }
        var end = k
        while end + 1 < words.count && words[end + 1].first != 0x2D { end += 1 }
        if !body(title[words[k].startIndex..<words[end].endIndex]) { return }
        k = end + 1
    }
}

/// Does a word of the rewritten title `argv0` that holds a `/` pass `test`?
/// (nginx's title names the binary as it was started:
/// `nginx: master process /tmp/bin/nginx-frontend-proxy-link -c …`.)
@inline(__always)
func titleHasPath(_ argv0: ArraySlice<UInt8>, where test: (ArraySlice<UInt8>) -> Bool) -> Bool {
    var found = false
    forEachTitleWord(argv0) { word in
        if word.contains(0x2F) && test(word) { found = true; return false }
        return true
    }
    return found
}

/// Is `word` the text itself, `-oTEXT` (one-letter option) or `NAME=TEXT`?
@inline(__always)
private func isWord(_ word: ArraySlice<UInt8>, _ text: [UInt8]) -> Bool {
    if word.isEmpty { return false }
    if word.count == text.count { return word.elementsEqual(text) }
    guard word.count > text.count else { return false }
    if word.first == 0x2D /* - */ && word.count == text.count + 2 {
        let option = word[word.startIndex + 1]
        let isOptionCharacter = (option >= 0x30 && option <= 0x39) || (option | 0x20 >= 0x61 && option | 0x20 <= 0x7A)
        if isOptionCharacter && word.suffix(text.count).elementsEqual(text) { return true }
    }
    if let equals = word.firstIndex(of: 0x3D /* = */), word.endIndex - equals - 1 == text.count {
        return word[(equals + 1)...].elementsEqual(text)
    }
    return false
}

/// The program word of a rewritten title: argv[0] `nginx: master process …`
/// → `nginx`. nil when argv[0] holds no space (not a title).
@inline(__always)
func titleProgram(_ argv0: ArraySlice<UInt8>) -> ArraySlice<UInt8>? {
    guard let space = argv0.firstIndex(of: 0x20) else { return nil }
    var first = argv0[..<space]
    if first.last == 0x3A /* : */ { first = first.dropLast() }
    return first.isEmpty ? nil : first
}

/// A `readlink` result without the kernel's ` (deleted)` mark.
@inline(__always)
func withoutDeletedMark(_ path: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
    let deleted = " (deleted)".utf8
    if path.count > deleted.count && path.suffix(deleted.count).elementsEqual(deleted) {
        return path.dropLast(deleted.count)
    }
    return path
}

/// `realpath(3)` of `path` as bytes; nil when it cannot be resolved.
private func resolvedPath(_ path: String) -> [UInt8]? {
    guard let resolved = realpath(path, nil) else { return nil }
    defer { free(resolved) }
    return Array(String(cString: resolved).utf8)
}
