import HAVocabulary
import TrustedPaths
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Each resource's stored attributes, as flat files the action path reads
/// without SQLite (loading libsqlite3 and opening the database cost a
/// monitor ~0.6 ms; ../shared/PERF-FLOOR.md).
///
/// **Where.** Beside the database, at its resolved location:
/// `<cdb>.snapshot/<type>,<resource>` (`,` is in neither name's alphabet),
/// directory 0700, files 0600, owned by the writer (root, or the invoking
/// user, the CDB's own rule).
///
/// **Written** by every writer of the CDB that goes through
/// ``ConfigurationDatabase`` (`fshost cdb …`, TOML import, migrations):
/// after its last commit, when it closes (``refresh(_:)``): the stamp is
/// removed, each resource's file whose attributes changed is rewritten
/// (temporary file + rename), files of resources that are gone are
/// removed, and a new stamp is written. A write touches the files of what
/// it changed, however many resources there are.
///
/// **Trusted** only while the database is unchanged since: the stamp
/// (`<cdb>.snapshot/stamp`, written after every resource's file) records
/// the identity (device, inode, size, mtime and ctime in ns) of the
/// database file and of its `-wal` (or that there was none), and the
/// reader compares both with `stat` on every call (the `-wal`'s ctime
/// aside: any SQLite connection as root moves it, reads included; and an
/// empty `-wal` may be deleted or truncated: ``walUnchanged(_:since:)``). Any write by any means
/// (a direct `sqlite3` session included) changes one of them: an append to
/// the WAL changes its size, a checkpoint or a rollback-journal write the
/// file's times. A write within the same clock tick as the recorded times
/// is the one case timestamps miss, so the writer records the identity only
/// once the files' times are ``racyMargin`` old (git's "racy clean" rule),
/// holding SQLite's write lock meanwhile: every later write has later
/// times. On a file system with whole-second timestamps no snapshot is
/// written.
///
/// **Read** (``lookup(cdbPath:type:resource:)``) after the same checks as
/// SQLite's open (``FileSecurity``: the database, its companions and every
/// directory up to `/`), plus the snapshot's directory and file (owner,
/// mode, no symlink). Absent or stale: the caller reads SQLite, silently. A
/// file that is corrupt, truncated, of a newer format, too large, owned by
/// another user or writable by others: one warning, and SQLite. Never a
/// stale attribute.
public enum CDBSnapshot {
    /// The first line of format 1.
    static let magic = "fshost-cdb-snapshot "
    static let version = 1
    /// A snapshot larger than this is not one fshost wrote (names ≤ 64
    /// bytes, a few dozen attributes).
    static let maximumSize = 1 << 20
    /// How old the database's times must be before they are recorded (ns):
    /// more than one tick of the kernel's coarse clock (≤ 10 ms).
    static let racyMargin: Int64 = 25_000_000

    /// The snapshot directory of the database at the resolved path `real`.
    static func directory(ofResolved real: String) -> String { real + ".snapshot" }
    static func fileName(type: String, resource: String) -> String { type + "," + resource }

    /// What the action path gets.
    public enum Lookup: Equatable, Sendable {
        /// The resource's stored attributes (type-level overrides under its
        /// own), as ``ConfigurationDatabase/attributes(type:resource:)``
        /// would return them.
        case found([String: String])
        /// No usable snapshot: read SQLite. `warning` says why when the
        /// snapshot was bad (not merely absent or out of date).
        case unavailable(warning: String?)
    }

    /// The identity of one file as the snapshot records it.
    struct Identity: Equatable {
        var device: UInt64, inode: UInt64, size: Int64
        var mtimeSeconds: Int64, mtimeNanoseconds: Int64, ctimeSeconds: Int64, ctimeNanoseconds: Int64

        init(_ st: stat) {
            device = UInt64(st.st_dev); inode = UInt64(st.st_ino); size = Int64(st.st_size)
            mtimeSeconds = Int64(st.st_mtim.tv_sec); mtimeNanoseconds = Int64(st.st_mtim.tv_nsec)
            ctimeSeconds = Int64(st.st_ctim.tv_sec); ctimeNanoseconds = Int64(st.st_ctim.tv_nsec)
        }

        init?(fields: [Int64]) {
            guard fields.count == 7 else { return nil }
            device = UInt64(bitPattern: fields[0]); inode = UInt64(bitPattern: fields[1]); size = fields[2]
            mtimeSeconds = fields[3]; mtimeNanoseconds = fields[4]; ctimeSeconds = fields[5]; ctimeNanoseconds = fields[6]
        }

        var text: String {
            "\(Int64(bitPattern: device)) \(Int64(bitPattern: inode)) \(size) \(mtimeSeconds) \(mtimeNanoseconds) \(ctimeSeconds) \(ctimeNanoseconds)"
        }

        /// The same file with the same size and mtime: for the `-wal`, whose
        /// ctime every SQLite connection running as root moves (SQLite
        /// `fchown`s the WAL it opens to the database's owner), while every
        /// write to it moves its mtime.
        func sameContent(as other: Identity?) -> Bool {
            guard let other else { return false }
            return device == other.device && inode == other.inode && size == other.size
                && mtimeSeconds == other.mtimeSeconds && mtimeNanoseconds == other.mtimeNanoseconds
        }

        /// mtime in ns since the epoch.
        var modified: Int64 { mtimeSeconds &* 1_000_000_000 &+ mtimeNanoseconds }

        /// The later of mtime and ctime, in ns since the epoch.
        var latest: Int64 {
            max(mtimeSeconds &* 1_000_000_000 &+ mtimeNanoseconds, ctimeSeconds &* 1_000_000_000 &+ ctimeNanoseconds)
        }
    }

    /// Whether the `-wal` (nil: none) holds nothing the stamp's did not: the
    /// same file, unchanged; or, when the stamp's was empty or absent, empty
    /// or absent now. The last connection to close deletes or truncates an
    /// empty `-wal` (the `sqlite3` tool after a mere read does), which moves
    /// nothing the database holds; a commit cannot hide in an empty `-wal`
    /// (an append changes its size, a checkpoint the database file's times).
    static func walUnchanged(_ now: Identity?, since stamped: Identity?) -> Bool {
        if let now, now.sameContent(as: stamped) { return true }
        return (stamped?.size ?? 0) == 0 && (now?.size ?? 0) == 0
    }

    /// The identities of the database at `real` and of its `-wal` (nil: none).
    static func identities(ofResolved real: String) -> (Identity, Identity?)? {
        var db = stat(), wal = stat()
        guard lstat(real, &db) == 0 else { return nil }
        if lstat(real + "-wal", &wal) != 0 {
            guard errno == ENOENT else { return nil }
            return (Identity(db), nil)
        }
        return (Identity(db), Identity(wal))
    }

    // MARK: - Reading (the action path)

    /// The stored attributes of `type`/`resource` from the snapshot of the
    /// CDB at `cdbPath`, when it can be trusted.
    ///
    /// - Throws: what opening the CDB would throw for its location
    ///   (``CDBError/missingFile(path:)``, ``CDBError/insecure(path:reason:)``):
    ///   the same checks run first, so a snapshot never lets an untrusted
    ///   CDB through.
    public static func lookup(cdbPath: String, type: String, resource: String) throws(CDBError) -> Lookup {
        let real = try FileSecurity.check(path: cdbPath)
        let directory = directory(ofResolved: real)
        // The directory that holds the files (its ancestors are the CDB's, checked above).
        var dirStat = stat()
        guard lstat(directory, &dirStat) == 0 else {
            return .unavailable(warning: errno == ENOENT ? nil : bad(directory, String(cString: strerror(errno))))
        }
        if let violation = PathTrust().checkFile(dirStat, path: directory, role: "directory") {
            return .unavailable(warning: bad(directory, violation.problem))
        }
        // The stamp first, the resource's file next, the database's files
        // last: a refresh rewrites resource files before the stamp, and only
        // after a commit has changed the database's files.
        let stamp: Parsed, own: Parsed
        switch readFile(directory + "/" + stampName) {
        case .success(let parsed?) where parsed.database != nil: stamp = parsed
        case .success: return .unavailable(warning: nil)
        case .failure(let problem): return .unavailable(warning: problem.text)
        }
        switch readFile(directory + "/" + fileName(type: type, resource: resource)) {
        case .success(let parsed?): own = parsed
        case .success(nil): return .unavailable(warning: nil)
        case .failure(let problem): return .unavailable(warning: problem.text)
        }
        // Out of date (the database changed since): SQLite, silently.
        guard let (db, wal) = identities(ofResolved: real), db == stamp.database,
              walUnchanged(wal, since: stamp.wal) else {
            return .unavailable(warning: nil)
        }
        return .found(own.attributes)
    }

    /// The stamp's name: the database identity every resource file is valid
    /// for (no `,`: never a resource's file).
    static let stampName = "stamp"

    /// One file of the snapshot, parsed: nil when there is none; a failure
    /// (the warning) when it is not one to trust.
    static func readFile(_ path: String) -> Result<Parsed?, Problem> {
        // Without blocking: a FIFO (or device) put here is refused by the
        // file check below, never waited on (no deadline runs yet).
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            if errno == ENOENT || errno == ENOTDIR { return .success(nil) }
            return .failure(Problem(text: bad(path, errno == ELOOP ? "is a symbolic link" : String(cString: strerror(errno)))))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(Problem(text: bad(path, String(cString: strerror(errno))))) }
        if let violation = PathTrust().checkFile(st, path: path) { return .failure(Problem(text: bad(path, violation.problem))) }
        guard Int(st.st_size) <= maximumSize else {
            return .failure(Problem(text: bad(path, "is too large (\(st.st_size) bytes)")))
        }
        switch parse(readAll(fd, size: Int(st.st_size))) {
        case .success(let parsed): return .success(parsed)
        case .failure(let problem): return .failure(Problem(text: bad(path, problem.text)))
        }
    }

    static func bad(_ path: String, _ problem: String) -> String {
        "ignoring the CDB snapshot \(path), which \(problem); reading the CDB instead"
    }

    /// Up to `size` bytes (a file that grew is cut there, and then fails to parse).
    static func readAll(_ fd: Int32, size: Int) -> [UInt8] {
        [UInt8](unsafeUninitializedCapacity: max(size, 1)) { buffer, count in
            count = 0
            while count < size {
                let n = read(fd, buffer.baseAddress! + count, size - count)
                if n > 0 { count += n } else if n < 0 && errno == EINTR { continue } else { break }
            }
        }
    }

    struct Problem: Error { let text: String }

    struct Parsed {
        /// nil in a resource's file (the stamp holds the identity).
        var database: Identity?
        var wal: Identity?
        var attributes: [String: String]
    }

    /// Format 1:
    /// ```
    /// fshost-cdb-snapshot 1
    /// db DEV INO SIZE MTIME_S MTIME_NS CTIME_S CTIME_NS
    /// wal DEV INO SIZE MTIME_S MTIME_NS CTIME_S CTIME_NS      (or: wal -)
    /// n COUNT
    /// KEY_BYTES VALUE_BYTES                                  (COUNT times:)
    /// KEYVALUE
    /// end
    /// ```
    static func parse(_ bytes: [UInt8]) -> Result<Parsed, Problem> {
        var reader = LineReader(bytes: bytes)
        guard let first = reader.line() else { return .failure(Problem(text: "is empty or truncated")) }
        let magicBytes = Array(magic.utf8)
        guard first.count > magicBytes.count, Array(first[0..<magicBytes.count]) == magicBytes else {
            return .failure(Problem(text: "is not a CDB snapshot (corrupt)"))
        }
        guard let found = LineReader.number(first[magicBytes.count...]) else {
            // Digits too many to read are a format from a later fshost, not corruption.
            let rest = first[magicBytes.count...]
            return .failure(Problem(text: !rest.isEmpty && rest.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 })
                ? "has a newer format (a version number too large to read; this fshost reads \(version))"
                : "has a corrupt header"))
        }
        guard found == Int64(version) else {
            return .failure(Problem(text: found > Int64(version)
                ? "has a newer format (\(found); this fshost reads \(version))" : "has an unknown format (\(found))"))
        }
        guard let dbLine = reader.line(), let database = identity(dbLine, label: "db") else {
            return .failure(Problem(text: "is corrupt or truncated (database identity)"))
        }
        guard let walLine = reader.line(), let wal = identity(walLine, label: "wal") else {
            return .failure(Problem(text: "is corrupt or truncated (WAL identity)"))
        }
        guard let countLine = reader.line(), let count = fields(countLine, label: "n"), count.count == 1,
              count[0] >= 0, count[0] <= 10_000 else {
            return .failure(Problem(text: "is corrupt or truncated (attribute count)"))
        }
        // At its final size: no rehash per doubling (a resource's file
        // holds a dozen attributes; count is at most 10,000, checked above).
        var attributes: [String: String] = Dictionary(minimumCapacity: Int(count[0]))
        for _ in 0..<count[0] {
            guard let sizes = reader.line(), let lengths = fields(sizes, label: nil), lengths.count == 2,
                  lengths[0] > 0, lengths[1] >= 0,
                  let key = reader.take(Int(lengths[0])), let value = reader.take(Int(lengths[1])),
                  reader.take(1) == [UInt8(ascii: "\n")] else {
                return .failure(Problem(text: "is corrupt or truncated (attributes)"))
            }
            attributes[String(decoding: key, as: UTF8.self)] = String(decoding: value, as: UTF8.self)
        }
        guard let end = reader.line(), end.elementsEqual("end".utf8), reader.atEnd else {
            return .failure(Problem(text: "is corrupt or truncated (no end marker)"))
        }
        return .success(Parsed(database: database, wal: wal, attributes: attributes))
    }

    /// `label F1 … F7` → the identity; `label -` → .some(nil); else nil.
    private static func identity(_ line: ArraySlice<UInt8>, label: String) -> Identity?? {
        if line.elementsEqual((label + " -").utf8) { return .some(nil) }
        guard let values = fields(line, label: label), let identity = Identity(fields: values) else { return nil }
        return .some(identity)
    }

    /// The decimal fields of `line` after `label` (nil: none expected).
    private static func fields(_ line: ArraySlice<UInt8>, label: String?) -> [Int64]? {
        // Words read in place, not `split` (an array of slices: its first
        // use cost ~15 µs per action, perf, issue 16); every single space
        // separates, as split's with empty words kept.
        var values: [Int64] = []
        var start = line.startIndex, first = true
        while true {
            let end = line[start...].firstIndex(of: UInt8(ascii: " ")) ?? line.endIndex
            let word = line[start..<end]
            if first, let label {
                guard word.elementsEqual(label.utf8) else { return nil }
            } else {
                guard let value = LineReader.number(word) else { return nil }
                values.append(value)
            }
            first = false
            if end == line.endIndex { return values }
            start = end + 1
        }
    }

    /// Lines and counted byte runs out of a buffer.
    struct LineReader {
        let bytes: [UInt8]
        var position = 0

        var atEnd: Bool { position == bytes.count }

        /// The next line without its newline; nil when no complete line is left.
        mutating func line() -> ArraySlice<UInt8>? {
            guard let newline = bytes[position...].firstIndex(of: UInt8(ascii: "\n")) else { return nil }
            defer { position = newline + 1 }
            return bytes[position..<newline]
        }

        /// The next `count` bytes; nil when fewer are left.
        mutating func take(_ count: Int) -> ArraySlice<UInt8>? {
            guard count >= 0, bytes.count - position >= count else { return nil }
            defer { position += count }
            return bytes[position..<(position + count)]
        }

        /// An optionally negative decimal number, nothing else; nil on overflow.
        static func number(_ text: ArraySlice<UInt8>) -> Int64? {
            var digits = text[...]
            var negative = false
            if digits.first == UInt8(ascii: "-") { negative = true; digits = digits.dropFirst() }
            guard !digits.isEmpty, digits.count <= 19 else { return nil }
            var value: Int64 = 0
            for byte in digits {
                guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
                let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
                let (sum, overflow2) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
                guard !overflow1, !overflow2 else { return nil }
                value = sum
            }
            return negative ? -value : value
        }
    }

    /// The text of one snapshot file.
    static func encode(database: Identity?, wal: Identity?, attributes: [String: String]) -> [UInt8] {
        var out = Array("\(magic)\(version)\ndb \(database?.text ?? "-")\nwal \(wal?.text ?? "-")\nn \(attributes.count)\n".utf8)
        for key in attributes.keys.sorted() {
            let value = attributes[key]!
            out += Array("\(key.utf8.count) \(value.utf8.count)\n".utf8)
            out += Array(key.utf8)
            out += Array(value.utf8)
            out.append(UInt8(ascii: "\n"))
        }
        out += Array("end\n".utf8)
        return out
    }
}
