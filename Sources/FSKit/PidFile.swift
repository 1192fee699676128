import HAVocabulary
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// A daemon's pidfile: its first line is the (master) pid; later lines may
/// carry more (PostgreSQL's `postmaster.pid`: data directory, start time,
/// port, socket directory, listen address, shared-memory key, status).
///
/// Reading never blocks and never reads more than 4 KiB (``SmallFile``).
///
/// A pid read from a file another user could write would let that user
/// name their own process as the resource's (monitor: healthy), so the
/// file is read only where ``PathTrust`` (sshd's StrictModes rule, the one
/// the host applies to plugins, the CDB and its directories) accepts it:
/// at its resolved location, a regular file of a trusted owner, not group-
/// or world-writable, in a directory that is neither (not even sticky, as
/// `/tmp`) and whose ancestors up to `/` pass. Otherwise ``read()`` is
/// ``Content/unreadable(_:)`` naming the violation.
public struct PidFile: Sendable, Equatable {
    /// The pidfile's absolute path.
    public let path: String
    /// Owners (uids) the file and its directories may have: root and the
    /// effective uid by default; add the uid a daemon runs as when it
    /// writes its own pidfile in its own directory (PostgreSQL's
    /// `postmaster.pid`, owned by `postgres`).
    public var trustedOwners: Set<UInt32> { Set(owners) }
    /// ``trustedOwners``, ascending and distinct (``PathTrust/owners``).
    /// An array, not a `Set`: the first `Set<UInt32>` of a process costs
    /// ~35 µs of metadata and conformance lookups (issue 16), which every
    /// daemon's monitor paid building the default (perf, issue 10).
    let owners: [UInt32]

    /// The pidfile at `path` (absolute), trusted when owned by root or the
    /// effective uid.
    public init(_ path: String) {
        self.path = path
        owners = PathTrust().owners
    }

    /// The pidfile at `path` (absolute), trusted when owned by one of `trustedOwners`.
    public init(_ path: String, trustedOwners: Set<UInt32>) {
        self.path = path
        owners = PathTrust(trustedOwners: trustedOwners).owners
    }

    /// The most a pidfile may hold; `postmaster.pid` is about 100 bytes.
    public static let sizeLimit = 4096

    /// What the file holds.
    public enum Content: Sendable, Equatable {
        /// There is no such file (ENOENT, or a directory on the way is missing).
        case absent
        /// It exists but cannot be read as a pidfile: a directory, a FIFO,
        /// EACCES, EIO, larger than ``PidFile/sizeLimit``. The text says which.
        case unreadable(String)
        /// It was read but its first line is no pid. The text is one line
        /// ("empty", "first line is not a pid: '123 456'"): the file's text
        /// trimmed and escaped (``LogText``), never a raw newline.
        case malformed(String)
        /// The pid on the first line (1…Int32.max) and the lines after it,
        /// as written (without their line ends).
        case pid(Int32, more: [String])
    }

    /// Reads and parses the file, once it passed the trust check (see the type).
    public func read() -> Content {
        if let violation = untrusted() { return .unreadable("refused: \(violation): another user could write its pid") }
        switch SmallFile.read(path, limit: PidFile.sizeLimit) {
        case .failure(.absent): return .absent
        case .failure(let problem): return .unreadable(problem.description)
        case .success(let bytes): return PidFile.parse(bytes)
        }
    }

    /// Why this pidfile's place cannot be trusted, for a type's validate:
    /// the file where it really is when it exists, else the directory that
    /// will hold it (resolved; PathTrust's rule up to `/`). nil when
    /// trusted, or when the directory does not exist (validate says so
    /// through ``FileCheck``).
    public func placeProblem() -> String? {
        if let violation = untrusted() { return "\(violation): another user could write its pid" }
        let trust = PathTrust(owners: owners)
        if let violation = trust.checkLinks(path) { return "\(violation): another user could choose the file" }
        guard let directory = PathTrust.resolve(PathTrust.parent(of: path)) else { return nil }
        return trust.checkDirectory(directory).map { "\($0): another user could write its pid" }
    }

    /// Why the file (where it really is) or its directories are not
    /// trusted, or a symbolic link on the way to it is not (judged where the
    /// link sits, ``PathTrust/checkLinks(_:)``: a link in a directory
    /// another user can write lets them choose which file is read, however
    /// trusted its target); nil when all are, or when there is no such file
    /// (then reading says absent).
    func untrusted() -> PathTrust.Violation? {
        guard let real = PathTrust.resolve(path) else { return nil }
        let trust = PathTrust(owners: owners)
        if let violation = trust.checkLinks(path) { return violation }
        var st = stat()
        guard lstat(real, &st) == 0 else { return nil }
        // Not a regular file: SmallFile names the kind (a FIFO, a directory).
        guard st.st_mode & S_IFMT == S_IFREG else { return nil }
        return trust.checkFile(st, path: real, role: "pidfile") ?? trust.checkDirectory(PathTrust.parent(of: real))
    }

    /// Parses a pidfile's bytes: the first line, white space around it
    /// ignored, is a decimal pid; a file that is only white space is empty.
    public static func parse(_ bytes: [UInt8]) -> Content {
        var lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false).map { line in
            line.last == 0x0D ? line.dropLast() : line
        }
        // A pid on its own (`"123"` or `"\n123\n"`) is the common case; skip leading blank lines.
        while let first = lines.first, first.allSatisfy(LogText.isSpace), lines.count > 1 { lines.removeFirst() }
        guard let first = lines.first else { return .malformed("empty") }
        let digits = Array(first).drop(while: LogText.isSpace).reversed().drop(while: LogText.isSpace).reversed()
        if digits.isEmpty && bytes.allSatisfy(LogText.isSpace) { return .malformed("empty") }
        var value: Int64 = 0
        for c in digits {
            guard c >= 0x30, c <= 0x39, value <= Int64(Int32.max) else {
                return .malformed("first line is not a pid: '\(LogText.escaped(first, limit: 40))'")
            }
            value = value * 10 + Int64(c - 0x30)
        }
        guard !digits.isEmpty, value > 0, value <= Int64(Int32.max) else {
            return .malformed("first line is not a pid: '\(LogText.escaped(first, limit: 40))'")
        }
        var more = lines.dropFirst().map { String(decoding: $0, as: UTF8.self) }
        if more.last == "" { more.removeLast() }  // the file's final newline
        return .pid(Int32(value), more: more)
    }

    /// Removes the file, if it is a regular file. True when it is gone.
    @discardableResult
    public func remove() -> Bool {
        var st = stat()
        if lstat(path, &st) != 0 { return errno == ENOENT }
        guard st.st_mode & S_IFMT == S_IFREG else { return false }
        return unlink(path) == 0 || errno == ENOENT
    }
}
