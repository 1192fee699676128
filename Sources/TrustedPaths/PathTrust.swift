// The one ownership-and-permission rule for every file and directory fshost
// trusts: plugins, the CDB and its SQLite companions, the lock and state
// directories. No Foundation: this runs on every action call.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Decides whether another user could have written a path, the way sshd's
/// `StrictModes` does (sshd's `safe_path()`): checked at the *resolved*
/// location (`realpath(3)`), and on every directory from the one that holds
/// the file up to `/`.
///
/// The rule:
/// - every file and directory is owned by a trusted uid (root or the
///   effective uid, by default);
/// - a file, and the directory that directly holds it, is neither group- nor
///   world-writable;
/// - a directory *above* that one (an ancestor) is neither group- nor
///   world-writable, unless it has the sticky bit (`/tmp`, mode 1777): in a
///   sticky directory nobody but an entry's owner (or the directory's owner,
///   or root) can rename or remove the entry, and the entry below it must
///   itself be trusted, so nobody else can swap what lies beneath. A sticky
///   directory is never accepted as the directory that directly holds a
///   trusted file: there, another user could create the file first.
///
/// ``walk(_:holdsFiles:)`` (and ``checkDirectory(_:holdsFiles:)``, which is
/// the walk) judges a path as given, symbolic links included: a link counts only
/// when it is owned by a trusted uid and held by a directory nobody else can
/// write, so where a path leads cannot be changed by another user either.
/// Each check is one `lstat` per directory: a few microseconds.
public struct PathTrust: Sendable {
    /// Owners (uids) a trusted file or directory may have, ascending and
    /// distinct. An array, not a `Set`: on the action path the first
    /// `Set<UInt32>` of a process cost ~35 µs of metadata and conformance
    /// lookups (perf, issue 16), for a list of one or two uids.
    public let owners: [UInt32]

    /// ``owners`` as a set.
    public var trustedOwners: Set<UInt32> { Set(owners) }

    /// Root and the effective uid.
    public init() {
        self.init(owners: [0, geteuid()])
    }

    /// Trusts the uids of `trustedOwners`.
    public init(trustedOwners: Set<UInt32>) {
        owners = trustedOwners.sorted()
    }

    /// Trusts the uids of `owners` (in any order, repeats allowed).
    public init(owners: [UInt32]) {
        var sorted: [UInt32] = []
        for uid in owners where !sorted.contains(uid) {
            sorted.insert(uid, at: sorted.firstIndex { $0 > uid } ?? sorted.count)
        }
        self.owners = sorted
    }

    /// Whether `uid` is a trusted owner.
    public func trusts(_ uid: UInt32) -> Bool { owners.contains(uid) }

    /// What `walk` found: the resolved path, or why it is not trusted.
    /// `Result<String, Violation>`'s cases and `get()`, as a plain enum:
    /// the first `Result<_, Violation>` in a process made the runtime
    /// check `Violation: Error` by scanning every loaded image's
    /// conformance records (~40 µs per action; gdb + perf, issue 16).
    public enum Walk: Sendable {
        case success(String)
        case failure(Violation)

        /// The resolved path, or the violation thrown.
        public func get() throws(Violation) -> String {
            switch self {
            case .success(let path): return path
            case .failure(let violation): throw violation
            }
        }
    }

    /// Why a path is not trusted: the path at fault, its role and the problem.
    public struct Violation: Error, Equatable, Sendable, CustomStringConvertible {
        /// What the path is: `"file"`, `"directory"` (holds the file) or
        /// `"parent directory"` (an ancestor of that).
        public let role: String
        /// The path at fault (resolved).
        public let path: String
        /// `"is writable by others (mode 0777)"`, `"is owned by uid 4242, not by root or uid 0"`,
        /// `"is a symbolic link"`, `"cannot be inspected: Permission denied"`.
        public let problem: String

        public init(role: String, path: String, problem: String) {
            self.role = role
            self.path = path
            self.problem = problem
        }

        /// `"<role> <path> <problem>"`: one line.
        public var description: String { "\(role) \(path) \(problem)" }
    }

    /// `realpath(3)`: the absolute path with no symlink, `.` or `..`; nil with
    /// `errno` set when it does not resolve.
    public static func resolve(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    /// The directory part of an absolute path (`/` for `/x`).
    public static func parent(of path: String) -> String {
        var bytes = Array(path.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        guard let slash = bytes.lastIndex(of: UInt8(ascii: "/")) else { return "." }
        return slash == 0 ? "/" : String(decoding: bytes[..<slash], as: UTF8.self)
    }

    /// Checks the directory `directory` as the one that directly holds
    /// trusted files, and every directory above it up to `/` as an ancestor
    /// (``walk(_:holdsFiles:)``, so a path that is not resolved has its
    /// links judged too). `directory` must be absolute.
    ///
    /// - Parameter holdsFiles: false to check `directory` as an ancestor too:
    ///   before a trusted directory is created in it (the new directory
    ///   belongs to its creator, so a sticky `directory` is fine).
    public func checkDirectory(_ directory: String, holdsFiles: Bool = true) -> Violation? {
        // One rule, one place: the walk. On a resolved path it checks the
        // same entries (each directory from `/` down); on a path that is not
        // resolved it also judges the links on the way.
        switch walk(directory, holdsFiles: holdsFiles) {
        case .success: return nil
        case .failure(let violation): return violation
        }
    }

    /// Walks `path` as given, one component at a time from `/`, and checks
    /// every entry it passes through — what `realpath` would follow, but
    /// judged on the way:
    /// - each directory passed through is an ancestor (the rule above: a
    ///   trusted owner; group- or world-writable only with the sticky bit);
    /// - a symbolic link is followed only when it is owned by a trusted uid
    ///   and the directory holding it is writable by nobody else, sticky or
    ///   not (another user must not be able to have made or replaced it);
    ///   its target is walked the same way (at most 40 links, as the kernel);
    /// - the directory reached is checked as the one that holds trusted files
    ///   (`holdsFiles`, never sticky nor writable by others) or as an ancestor.
    ///
    /// So a link planted in a directory another user can write (a sticky
    /// run directory, a directory they own) is refused wherever it points,
    /// and a link of root's pointing into another user's directory is
    /// refused at that directory.
    ///
    /// - Parameter path: absolute; `.` and `..` are read as the kernel does.
    /// - Returns: the resolved path (no symbolic link), or the violation;
    ///   a missing component is a violation whose problem is
    ///   `"cannot be inspected: No such file or directory"` (`errno` ENOENT).
    public func walk(_ path: String, holdsFiles: Bool = true) -> Walk {
        guard path.hasPrefix("/") else {
            return refuse(Violation(role: "path", path: path, problem: "is not absolute"))
        }
        var pending = Self.componentsReversed(path)
        var current = "/"
        var links = 0
        var st = stat()
        if let violation = inspect("/", role: "parent directory", &st) { return refuse(violation) }
        while let part = pending.popLast() {
            if part == "." { continue }
            if part == ".." { current = Self.parent(of: current); continue }
            let candidate = current == "/" ? "/" + part : current + "/" + part
            guard lstat(candidate, &st) == 0 else {
                let error = errno
                defer { errno = error }
                return .failure(Violation(role: "directory", path: candidate, problem: "cannot be inspected: \(String(cString: strerror(error)))"))
            }
            switch st.st_mode & S_IFMT {
            case S_IFLNK:
                links += 1
                guard links <= 40 else {
                    return refuse(Violation(role: "symbolic link", path: candidate, problem: "is one of more than 40 links in a row"))
                }
                guard trusts(st.st_uid) else {
                    return refuse(Violation(role: "symbolic link", path: candidate, problem: "is owned by uid \(st.st_uid), not by \(ownerText)"))
                }
                var holder = stat()
                if let violation = inspect(current, role: "directory", &holder) {
                    return refuse(Violation(role: "directory", path: current, problem: violation.problem + " and holds the symbolic link \(part)"))
                }
                var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
                let n = readlink(candidate, &buffer, buffer.count - 1)
                guard n > 0 else {
                    return refuse(Violation(role: "symbolic link", path: candidate, problem: "cannot be read: \(String(cString: strerror(errno)))"))
                }
                let target = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
                if target.hasPrefix("/") { current = "/" }
                pending += Self.componentsReversed(target)
            case S_IFDIR:
                let role = holdsFiles && pending.isEmpty ? "directory" : "parent directory"
                if let problem = problem(st, role: role) {
                    return refuse(Violation(role: role, path: candidate, problem: problem))
                }
                current = candidate
            default:
                errno = ENOTDIR
                return .failure(Violation(role: "directory", path: candidate, problem: "is not a directory"))
            }
        }
        if holdsFiles, let violation = inspect(current, role: "directory", &st) { return refuse(violation) }
        return .success(current)
    }

    /// The non-empty `/`-separated parts of `path`, last first (the walk
    /// pops them). Bytes, not `split`: its first use cost ~15 µs per
    /// action (perf, issue 16).
    static func componentsReversed(_ path: String) -> [String] {
        var parts: [String] = []
        let bytes = Array(path.utf8)
        var end = bytes.count
        var i = bytes.count
        while i > 0 {
            i -= 1
            if bytes[i] == UInt8(ascii: "/") {
                if end > i + 1 { parts.append(String(decoding: bytes[(i + 1)..<end], as: UTF8.self)) }
                end = i
            }
        }
        if end > 0 { parts.append(String(decoding: bytes[0..<end], as: UTF8.self)) }
        return parts
    }

    /// A violation that is not a missing component: `errno` EPERM, so a
    /// caller looking for ENOENT (a directory to create) never mistakes it.
    private func refuse(_ violation: Violation) -> Walk {
        errno = EPERM
        return .failure(violation)
    }

    private func inspect(_ path: String, role: String, _ st: inout stat) -> Violation? {
        guard lstat(path, &st) == 0 else {
            return Violation(role: role, path: path, problem: "cannot be inspected: \(String(cString: strerror(errno)))")
        }
        return problem(st, role: role).map { Violation(role: role, path: path, problem: $0) }
    }

    /// `root or uid 1000`.
    public var ownerText: String {
        owners.map { $0 == 0 ? "root" : "uid \($0)" }.joined(separator: " or ")
    }

    /// Checks the status of a file (as `fstat` or `lstat` gave it): a regular
    /// file, trusted owner, not group- or world-writable.
    public func checkFile(_ st: stat, path: String, role: String = "file") -> Violation? {
        if let problem = problem(st, role: role) { return Violation(role: role, path: path, problem: problem) }
        return nil
    }

    /// The problem with one entry of the given role, or nil.
    func problem(_ st: stat, role: String) -> String? {
        let kind = st.st_mode & S_IFMT
        let isDirectoryRole = role.hasSuffix("directory")
        if isDirectoryRole, kind != S_IFDIR {
            return kind == S_IFLNK ? "is a symbolic link" : "is not a directory"
        }
        if !isDirectoryRole, kind != S_IFREG {
            return kind == S_IFLNK ? "is a symbolic link" : "is not a regular file"
        }
        if !trusts(st.st_uid) {
            return "is owned by uid \(st.st_uid), not by \(ownerText)"
        }
        // An ancestor with the sticky bit may be writable by others (see the type's rule).
        if role == "parent directory", st.st_mode & S_ISVTX != 0 { return nil }
        if st.st_mode & S_IWOTH != 0 { return "is writable by others (mode \(Self.octal(st.st_mode)))" }
        if st.st_mode & S_IWGRP != 0 { return "is writable by its group (mode \(Self.octal(st.st_mode)))" }
        return nil
    }

    /// `0755`-style text of the permission bits.
    public static func octal(_ mode: mode_t) -> String {
        let digits = String(mode & 0o7777, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.utf8.count)) + digits
    }
}
