import FSKit

/// The paths PostgreSQL's tools are given, and where they are found.
enum ServerPaths {
    /// `path` as pg_ctl writes it (its `canonicalize_path`): no `//`, no `/./`,
    /// no trailing `/`. The postmaster's command line carries this form, and
    /// level 1 matches `-D` as a whole argument, so the resource must too.
    static func canonical(_ path: String) -> String {
        // Already canonical (what a resource holds): the same text, without
        // the splitting and joining that cost ~15 µs each on first use.
        if isCanonical(path) { return path }
        var parts: [Substring] = []
        for part in path.split(separator: "/", omittingEmptySubsequences: true) where part != "." { parts.append(part) }
        return "/" + parts.joined(separator: "/")
    }

    /// `path` is what ``canonical(_:)`` makes of it: it starts with `/`,
    /// and no component is empty or `.` (no `//`, no `/./`, no trailing
    /// `/` or `/.`), unless it is `/` itself.
    static func isCanonical(_ path: String) -> Bool {
        if path == "/" { return true }
        // Bytes since the last '/', counting only while they are all '.' (-1 after another byte).
        var run = -1, started = false
        for c in path.utf8 {
            if c == UInt8(ascii: "/") {
                if run == 0 || run == 1 { return false }  // "//" or "/./"
                run = 0
            } else if !started {
                return false  // not absolute
            } else if c == UInt8(ascii: ".") && run == 0 {
                run = 1
            } else {
                run = -1
            }
            started = true
        }
        return started && run != 0 && run != 1  // no trailing "/" or "/."
    }

    /// Why `path` cannot be handed to pg_ctl, or nil. pg_ctl starts the
    /// server with `/bin/sh -c "exec postgres -D \"DATADIR\" OPTIONS >> \"LOG\""`
    /// (PostgreSQL 15 src/bin/pg_ctl/pg_ctl.c, start_postmaster): the data
    /// directory and log file inside double quotes, the `-o` options (our
    /// socket directory) unquoted. A `"`, `$`, backquote, backslash, white
    /// space or another shell character there would be run or split by that
    /// shell, so only letters, digits and `/ . _ - + , : @ =` are allowed.
    static func shellProblem(_ path: String) -> String? {
        let allowed = path.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || "/._-+,:@=".utf8.contains(c)
        }
        return allowed ? nil
            : "pg_ctl passes it through /bin/sh; only letters, digits and / . _ - + , : @ = are allowed"
    }

    /// The major version a data directory was made by (its `PG_VERSION`,
    /// "15"), or why it is not a data directory.
    static func majorVersion(of dataDirectory: String) -> Result<String, Problem> {
        switch SmallFile.read(dataDirectory + "/PG_VERSION", limit: 64) {
        case .success(let bytes):
            // What initdb writes ("15\n"), read over the bytes; anything else takes the general path.
            let body = bytes.last == UInt8(ascii: "\n") ? bytes.dropLast() : bytes[...]
            if !body.isEmpty, body.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") }) {
                return .success(String(decoding: body, as: UTF8.self))
            }
            let text = String(decoding: bytes, as: UTF8.self).split(whereSeparator: { $0 == "\n" }).first.map(String.init) ?? ""
            guard !text.isEmpty, text.utf8.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || $0 == UInt8(ascii: ".") }) else {
                return .failure(Problem("PG_VERSION holds no version: '\(LogText.escaped(text, limit: 40))'"))
            }
            return .success(text)
        case .failure(.absent): return .failure(Problem("not a PostgreSQL data directory (no PG_VERSION; run initdb)"))
        case .failure(let p): return .failure(Problem("PG_VERSION: \(p)"))
        }
    }

    /// Debian's place for a major version's programs (postgresql-common).
    static func binDirectory(major: String) -> String { "/usr/lib/postgresql/\(major)/bin" }

    /// The server's Unix socket file in `directory` for `port`.
    static func socket(in directory: String, port: Int) -> String { "\(directory)/.s.PGSQL.\(port)" }
}

/// One line saying why a value cannot be used (for the reasons of `Outcome`s).
struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
