// The TOML parser under TOMLKit is toml++ (C++). Some malformed inputs break
// one of its internal assertions instead of raising its parse error: a
// table header `[` followed by a line break reaches
// `TOML_ASSERT_ASSUME(is_bare_key_character(*cp) || …)` in parse_key(), and
// the parser has some 40 such assertions. TOMLKit builds toml++ with
// TOML_EXCEPTIONS=1 but SwiftPM passes no NDEBUG, in debug and in release
// (-O2) alike, so each is a live `assert`: abort, exit 134, a core and a
// backtrace. Were NDEBUG ever set, each would become `__builtin_assume`:
// undefined behaviour, which may loop, crash or misparse. Neither can be
// caught in-process, and patching a dependency's
// single header is not ours to do. So the parser first runs on the text in a
// forked child: if the child survives (the text parses, or toml++ reports a
// proper error), the same deterministic parse is safe here. If it dies or
// hangs, the text is malformed, and the shortest prefix that still kills
// the parser gives the line and column to report.
import CDB
import Management
import TOMLKit
#if canImport(Glibc)
import Glibc
#endif

enum TOMLParseGuard {
    /// How long the child may take: a configuration file parses in
    /// milliseconds, so anything near this is a parser stuck in a loop.
    static let childSeconds: UInt32 = 5

    /// Whether TOMLKit can parse `text` (to a table or to its parse error)
    /// without dying: true if so, false if the parser aborted, crashed or
    /// hung. If no child can be started, true would be a guess, so the
    /// failure is thrown.
    static func survives(_ text: String) throws(AdminError) -> Bool {
        let pid = fork()
        if pid < 0 {
            throw .failed("cannot check the TOML file: fork: \(String(cString: strerror(errno)))")
        }
        if pid == 0 {
            // The assertion's message and the runtime's crash report would
            // be noise: the parent writes the one line that matters.
            let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
            if null >= 0 { dup2(null, 1); dup2(null, 2) }
            var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
            setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
            for signal in [SIGABRT, SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGTRAP, SIGALRM] {
                Glibc.signal(signal, SIG_DFL)
            }
            alarm(childSeconds)
            _ = try? TOMLTable(string: text)
            _exit(0)
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            guard errno == EINTR else {
                throw .failed("cannot check the TOML file: waitpid: \(String(cString: strerror(errno)))")
            }
        }
        // Exited 0: parsed or reported. Anything else: killed by a signal.
        return status == 0
    }

    /// Line and column (1-based, in characters, as toml++ counts) of the
    /// last character of the shortest prefix of `text` that the parser
    /// does not survive. The parser reads forward, so a prefix that ends
    /// before the fatal spot survives (at worst as "unexpected end of
    /// file") and one that reaches it does not: a binary search, about
    /// log2(length) children.
    static func fatalPosition(in text: String) throws(AdminError) -> (line: Int, column: Int) {
        let scalars = Array(text.unicodeScalars)
        var survivor = 0            // this prefix length survives (the empty text does)
        var fatal = scalars.count   // this one does not (the whole text)
        while fatal - survivor > 1 {
            let middle = survivor + (fatal - survivor) / 2
            var prefix = String.UnicodeScalarView()
            prefix.append(contentsOf: scalars[..<middle])
            if try survives(String(prefix)) { survivor = middle } else { fatal = middle }
        }
        var line = 1
        var column = 1
        for scalar in scalars[..<max(0, fatal - 1)] {
            if scalar == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        return (line, column)
    }
}
