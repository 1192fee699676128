import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// One line of a batch input file, `resource_name [action_flags…]`, as
/// read: a resource to run, or the reason it gets a failure line instead.
struct BatchLine: Equatable {
    /// The name written back in the output line: the first field, with
    /// control characters escaped; `""` (two quote characters) for a line
    /// whose name column is empty.
    var name: String
    /// Why this line is not run (it answers `HA_INVAL_ARGS`), or nil.
    var problem: String?
}

/// Reads srmd's input and parameters files (FAILSAFE-NOTES §2, §14).
///
/// Rules (the documents leave them open; these are fshost's):
/// - every line of IN gets one output line, in order; a final line without
///   a newline counts, the empty "line" after a final newline does not;
/// - a line is `name [flag…]`, fields separated by blanks (space, tab);
///   up to ``maximumFields`` fields: unknown trailing flags are tolerated;
/// - failure lines (`HA_INVAL_ARGS`, nothing run): an empty name (a blank
///   line, or one starting with a blank), more than ``maximumFields``
///   fields, a name that is not a resource name, and every line of a name
///   given more than once (neither runs: srmd could not tell two answers
///   for one name apart);
/// - IN larger than ``maximumBytes`` or with more than ``maximumLines``
///   lines is refused whole.
enum BatchInput {
    static let maximumFields = 8
    static let maximumBytes = 1 << 20
    static let maximumLines = 10_000

    /// The lines of `path`.
    /// - Throws: ``HostError`` `invalidArguments` (2): unreadable, too large.
    static func read(_ path: String) throws(HostError) -> [BatchLine] {
        try parse(readFile(path, what: "input file"), path: path)
    }

    static func parse(_ bytes: [UInt8], path: String) throws(HostError) -> [BatchLine] {
        var rows = bytes.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).map(Array.init)
        if rows.last?.isEmpty == true { rows.removeLast() }
        guard rows.count <= maximumLines else {
            throw HostError(.invalidArguments, "input file \(path) has \(rows.count) lines (at most \(maximumLines))")
        }
        var lines = rows.map(line)
        var count: [String: Int] = [:]
        for l in lines where l.problem == nil { count[l.name, default: 0] += 1 }
        for i in lines.indices where lines[i].problem == nil && count[lines[i].name, default: 0] > 1 {
            lines[i].problem = "resource '\(lines[i].name)' is listed \(count[lines[i].name]!) times"
        }
        return lines
    }

    private static func line(_ raw: [UInt8]) -> BatchLine {
        var bytes = raw
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        let isBlank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        if bytes.first.map(isBlank) ?? true {
            return BatchLine(name: "\"\"", problem: "empty resource name")
        }
        let fields = bytes.split(whereSeparator: isBlank)
        let first = Array(fields[0])
        let name = LogText.escaped(first, limit: 64)
        guard fields.count <= maximumFields else {
            return BatchLine(name: name, problem: "\(fields.count) fields (at most \(maximumFields): the name and its flags)")
        }
        guard let text = String(validating: first, as: UTF8.self), Names.isValidResource(text) else {
            return BatchLine(name: name, problem: "invalid resource name '\(name)' (\(Names.rule("resource")))")
        }
        return BatchLine(name: text, problem: nil)
    }

    /// `ClusterName NAME` from the parameters file; nil when it has none.
    /// Other lines are tolerated (srmd may add keys).
    /// - Throws: ``HostError`` `invalidArguments` (2): unreadable, too large.
    static func clusterName(_ path: String) throws(HostError) -> String? {
        let bytes = try readFile(path, what: "parameters file")
        for row in bytes.split(separator: UInt8(ascii: "\n")) {
            let fields = row.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
            if fields.count >= 2, Array(fields[0]) == Array("ClusterName".utf8) {
                return LogText.escaped(Array(fields[1]), limit: 256)
            }
        }
        return nil
    }

    /// The whole of a regular file of at most ``maximumBytes``.
    static func readFile(_ path: String, what: String) throws(HostError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else {
            throw HostError(.invalidArguments, "cannot read \(what) \(Names.printable(path)): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw HostError(.invalidArguments, "\(what) \(Names.printable(path)) is not a regular file")
        }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else {
                throw HostError(.invalidArguments, "cannot read \(what) \(Names.printable(path)): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes += chunk[..<n]
            guard bytes.count <= maximumBytes else {
                throw HostError(.invalidArguments, "\(what) \(Names.printable(path)) is larger than \(maximumBytes) bytes")
            }
        }
        return bytes
    }
}
