/// How a ``ProcessPattern`` looks at the arguments after argv[0].
///
/// Both cases look at each of argv[1...] on its own (as the plugin ABI's
/// `fshost_process_pattern.argument` documents): a text never matches across
/// two arguments, and argv[0] is left to ``ProcessPattern/name``. One
/// exception: a server that rewrote its title into argv[0] and has no
/// arguments left (nginx's "nginx: master process /usr/sbin/nginx -c
/// /etc/x.conf", PostgreSQL's "postgres: …") has that title searched by
/// `.contains`, so its configuration path still tells two instances apart.
/// Kernel threads never match an argument pattern. Comparison is by bytes (UTF-8),
/// case-sensitive.
public enum ArgumentMatch: Sendable, Equatable {
    /// Some argument contains the text anywhere (`.contains("nginx.conf")`
    /// matches `-c /etc/nginx/nginx.conf`).
    case contains(String)
    /// Some argument *is* the text, whole: `.anchored("/srv/data")` matches
    /// the argument `/srv/data` but not `/srv/data2`. A text that ends in
    /// `*` matches an argument that starts with the rest:
    /// `.anchored("--config=*")` matches `--config=/etc/x.conf`. (A lone
    /// `*` matches any argument; no other character is special.)
    case anchored(String)
}

/// What to look for in a ``ProcessTable``: every field that is set must
/// match (a pattern with no field set matches every process).
///
/// - ``name`` matches a process when, comparing bytes exactly:
///   1. it equals `comm` (what the kernel calls the process), or
///   2. it equals the basename of argv[0] (so `exec -a name …`, a program
///      started through a symlink, and scripts started as `sh script` are
///      found by the name their argv shows), or
///   3. it is longer than 15 bytes, `comm` equals its first 15 bytes (the
///      kernel cuts comm there) and either argv[0] is empty (unreadable
///      command line) or the basename of `/proc/<pid>/exe` equals the name
///      (a `readlink`, done only for such a candidate). A longer name whose
///      argv[0] says something else does not match on the cut comm alone,
///      so `averyveryverylongname` does not find `averyveryverylongnamex`.
///
///   A name containing `/` is a path: it matches when argv[0] equals it, or
///   when its basename matches by the rules above *and* `/proc/<pid>/exe`
///   is that path. An empty name matches nothing.
/// - ``argument``: see ``ArgumentMatch``.
/// - ``uid``: the real uid (``ProcessEntry/uid``); checked last, since for a
///   root-owned process it may read `/proc/<pid>/status`.
public struct ProcessPattern: Sendable {
    /// Process name: comm, argv[0] basename, or a path (see the type's doc).
    public var name: String?
    /// A test on argv[1...].
    public var argument: ArgumentMatch?
    /// The real uid the process must run as.
    public var uid: UInt32?

    /// A pattern; each `nil` field matches anything.
    public init(name: String? = nil, argument: ArgumentMatch? = nil, uid: UInt32? = nil) {
        self.name = name
        self.argument = argument
        self.uid = uid
    }

    /// Whether `e` matches every field that is set.
    public func matches(_ e: ProcessEntry) -> Bool {
        CompiledPattern(self).matches(e)
    }
}

/// A pattern with its texts turned into bytes once, for matching a whole table.
struct CompiledPattern {
    private enum ArgumentMode { case contains, equals, prefix }

    private let name: [UInt8]?
    private let nameString: String
    private let nameIsPath: Bool
    private let base: [UInt8]
    private let baseString: String
    /// The first 15 bytes of the base name when it is longer (what comm holds).
    private let cutComm: String?
    private let argument: [UInt8]?
    private let argumentMode: ArgumentMode
    private let uid: UInt32?

    init(_ p: ProcessPattern) {
        if let n = p.name {
            let bytes = Array(n.utf8)
            name = bytes
            nameString = n
            nameIsPath = bytes.contains(0x2F)
            base = Array(basename(bytes))
            baseString = String(decoding: base, as: UTF8.self)
            cutComm = base.count > 15 ? String(decoding: base.prefix(15), as: UTF8.self) : nil
        } else {
            name = nil; nameString = ""; nameIsPath = false; base = []; baseString = ""; cutComm = nil
        }
        switch p.argument {
        case nil:
            argument = nil; argumentMode = .contains
        case .contains(let text)?:
            argument = Array(text.utf8); argumentMode = .contains
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
    }

    func matches(_ e: ProcessEntry) -> Bool {
        if name != nil && !nameMatches(e) { return false }
        if argument != nil && !argumentMatches(e) { return false }
        if let uid, e.uid != uid { return false }
        return true
    }

    private func nameMatches(_ e: ProcessEntry) -> Bool {
        guard let name, !name.isEmpty else { return false }
        if !nameIsPath { return baseNameMatches(e) }
        if e.argv0.elementsEqual(name) { return true }
        guard !base.isEmpty, baseNameMatches(e), let exe = e.exe else { return false }
        return exe == nameString || exe == nameString + " (deleted)"
    }

    private func baseNameMatches(_ e: ProcessEntry) -> Bool {
        if base.isEmpty { return false }
        if e.comm == baseString { return true }
        let argv0 = e.argv0
        if !argv0.isEmpty && basename(argv0).elementsEqual(base) { return true }
        if let cutComm, e.comm == cutComm {
            if argv0.isEmpty { return true }
            if let exe = e.exe {
                var path = Array(exe.utf8)[...]
                let deleted = " (deleted)".utf8
                if path.count > deleted.count && path.suffix(deleted.count).elementsEqual(deleted) {
                    path = path.dropLast(deleted.count)
                }
                return basename(path).elementsEqual(base)
            }
        }
        return false
    }

    private func argumentMatches(_ e: ProcessEntry) -> Bool {
        guard let argument else { return true }
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
                        }
                        start = i + 1
                    }
                    i += 1
                }
                return false
            }
        }
    }
}
