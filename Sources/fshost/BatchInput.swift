import HAVocabulary
import TrustedPaths
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
///   fields, a line longer than ``maximumLineBytes``, a name that is not a
///   resource name, and every line of a name given more than once (neither
///   runs: srmd could not tell two answers for one name apart);
/// - the name written back is always one field (``outputName(_:)``), so
///   every output line is exactly `name status`;
/// - IN is read line by line (a line's first ``maximumLineBytes`` bytes are
///   kept): its size does not matter; more than ``maximumLines`` lines is
///   refused whole (no OUT: that is no srmd's call).
enum BatchInput {
    static let maximumFields = 8
    static let maximumLineBytes = 4096
    static let maximumLines = 10_000
    /// Bound of the parameters file (srmd writes one line).
    static let maximumBytes = 1 << 20
    /// Bound of a name as written back (bytes of the escaped text).
    static let maximumNameBytes = 64

    /// The lines of `path`.
    /// - Throws: ``HostError``: `invalidArguments` (2) unreadable, too many
    ///   lines; `hostError` (9) unsafe (``readFile(_:what:limit:)``).
    static func read(_ path: String) throws(HostError) -> [BatchLine] {
        var rows: [[UInt8]] = []
        var lengths: [Int] = []
        var current: [UInt8] = []
        var length = 0
        var overflow = false
        try readFile(path, what: "input file", limit: nil) { (chunk: ArraySlice<UInt8>) throws(HostError) in
            for byte in chunk {
                if byte == UInt8(ascii: "\n") {
                    rows.append(current)
                    lengths.append(length)
                    current.removeAll(keepingCapacity: true)
                    length = 0
                    if rows.count > maximumLines { overflow = true }
                } else {
                    length += 1
                    if current.count < maximumLineBytes + 1 { current.append(byte) }
                }
            }
            if overflow {
                throw HostError(.invalidArguments, "input file \(Names.printable(path)) has more than \(maximumLines) lines")
            }
        }
        if length > 0 {
            rows.append(current)
            lengths.append(length)
        }
        guard rows.count <= maximumLines else {
            throw HostError(.invalidArguments, "input file \(Names.printable(path)) has more than \(maximumLines) lines")
        }
        return parse(rows, lengths: lengths)
    }

    private static func parse(_ rows: [[UInt8]], lengths: [Int]) -> [BatchLine] {
        var lines = zip(rows, lengths).map { line($0, length: $1) }
        var count: [String: Int] = [:]
        for l in lines where l.problem == nil { count[l.name, default: 0] += 1 }
        for i in lines.indices where lines[i].problem == nil && count[lines[i].name, default: 0] > 1 {
            lines[i].problem = "resource '\(lines[i].name)' is listed \(count[lines[i].name]!) times"
        }
        return lines
    }

    private static func line(_ raw: [UInt8], length: Int) -> BatchLine {
        var bytes = raw
        if bytes.last == UInt8(ascii: "\r"), length <= maximumLineBytes { bytes.removeLast() }
        let isBlank: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 }
        if bytes.first.map(isBlank) ?? true {
            return BatchLine(name: "\"\"", problem: "empty resource name")
        }
        let fields = bytes.split(whereSeparator: isBlank)
        let first = Array(fields[0])
        let name = outputName(first)
        guard length <= maximumLineBytes else {
            return BatchLine(name: name, problem: "line of \(length) bytes (at most \(maximumLineBytes))")
        }
        guard fields.count <= maximumFields else {
            return BatchLine(name: name, problem: "\(fields.count) fields (at most \(maximumFields): the name and its flags)")
        }
        guard let text = String(validating: first, as: UTF8.self), Names.isValidResource(text) else {
            return BatchLine(name: name, problem: "invalid resource name '\(name)' (\(Names.rule("resource")))")
        }
        return BatchLine(name: text, problem: nil)
    }

    /// A name field as written back: one field whatever IN held. Bytes
    /// other than printable ASCII (and `\\`) are written `\\xNN`; a name whose
    /// text is longer than ``maximumNameBytes`` is cut there and ends with
    /// `...`, never with a blank (a cut name is no valid name: its line is
    /// a failure line anyway).
    static func outputName(_ bytes: [UInt8]) -> String {
        var out = ""
        for byte in bytes {
            let piece = (0x21...0x7E).contains(byte) && byte != UInt8(ascii: "\\")
                ? String(UnicodeScalar(byte)) : "\\x" + (byte < 16 ? "0" : "") + String(byte, radix: 16)
            if out.utf8.count + piece.utf8.count > maximumNameBytes {
                out += "..."
                break
            }
            out += piece
        }
        return out
    }

    /// `ClusterName NAME` from the parameters file; nil when it has none.
    /// Other lines are tolerated (srmd may add keys).
    /// - Throws: ``HostError``: unreadable, too large, unsafe.
    static func clusterName(_ path: String) throws(HostError) -> String? {
        var bytes: [UInt8] = []
        try readFile(path, what: "parameters file", limit: maximumBytes) { (chunk: ArraySlice<UInt8>) throws(HostError) in bytes += chunk }
        for row in bytes.split(separator: UInt8(ascii: "\n")) {
            let fields = row.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0D })
            if fields.count >= 2, Array(fields[0]) == Array("ClusterName".utf8) {
                return LogText.escaped(Array(fields[1]), limit: 256)
            }
        }
        return nil
    }

    /// A regular file (of at most `limit` bytes), handed to `consume` chunk by chunk, read through
    /// ``BatchFile`` (a checked directory, no link followed) and only when
    /// ``PathTrust`` accepts the file itself: owned by root or fshost's
    /// user, writable by nobody else.
    /// - Throws: ``HostError``: `hostError` (9) for an unsafe file or
    ///   directory; `invalidArguments` (2) for one that cannot be read, is
    ///   not a regular file or is too large.
    static func readFile(_ path: String, what: String, limit: Int?,
                         _ consume: (ArraySlice<UInt8>) throws(HostError) -> Void) throws(HostError) {
        let file = try BatchFile.locate(path, what: what)
        defer { close(file.directoryFD) }
        let fd = openat(file.directoryFD, file.name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW)
        guard fd >= 0 else {
            let error = errno
            let why = error == ELOOP ? "it is a symbolic link" : String(cString: strerror(error))
            throw HostError(error == ELOOP ? .hostError : .invalidArguments, "cannot read \(what) \(Names.printable(path)): \(why)")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else {
            throw HostError(.invalidArguments, "\(what) \(Names.printable(path)) is not a regular file")
        }
        if let violation = PathTrust().checkFile(st, path: file.path, role: what) {
            throw HostError(.hostError, "unsafe \(Names.printable(violation.description))")
        }
        var total = 0
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 0 else {
                throw HostError(.invalidArguments, "cannot read \(what) \(Names.printable(path)): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            total += n
            if let limit, total > limit {
                throw HostError(.invalidArguments, "\(what) \(Names.printable(path)) is larger than \(limit) bytes")
            }
            try consume(chunk[..<n])
        }
    }
}
