import TrustedPaths
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The ownership and permission rules of the CDB, like sshd's `StrictModes`
/// (``PathTrust``): checked where the file really is (a symlink in a safe
/// directory may not lead into an unsafe one), on the file, on SQLite's
/// companion files beside it (`-wal`, `-shm`, `-journal`: a crafted `-wal`
/// is a crafted configuration), and on every directory from the one that
/// holds it up to `/`. Each must belong to root or to the invoking
/// (effective) user and be writable by nobody else; an ancestor may be a
/// sticky directory such as `/tmp`. A configuration anyone else can change
/// would let them choose what the cluster manager runs as root.
enum FileSecurity {
    /// SQLite's files beside a database: the write-ahead log, its shared
    /// memory index and the rollback journal.
    static let companionSuffixes = ["-wal", "-shm", "-journal"]

    /// `path`'s directory (`.` for a bare name, `/` for `/x`).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Checks the file where it really is, its companions and its
    /// directories up to `/`. About one `lstat` per path component and
    /// three for the companions: cheap enough for every monitor.
    ///
    /// - Returns: the resolved path, which is what SQLite must open (so the
    ///   companions it uses are the ones checked here).
    @discardableResult
    static func check(path: String) throws(CDBError) -> String {
        guard let real = PathTrust.resolve(path) else {
            if errno == ENOENT || errno == ENOTDIR { throw .missingFile(path: path) }
            throw .sqlite(path: path, operation: "inspect", message: errorText())
        }
        var fileStat = stat()
        guard lstat(real, &fileStat) == 0 else {
            throw .sqlite(path: path, operation: "inspect", message: errorText())
        }
        guard fileStat.st_mode & S_IFMT == S_IFREG else {
            throw .notADatabase(path: path, message: "not a regular file")
        }
        try checkOwnerAndMode(fileStat, what: "file", path: real)
        try checkDirectories(PathTrust.parent(of: real))
        for suffix in companionSuffixes {
            var st = stat()
            let companion = real + suffix
            if lstat(companion, &st) != 0 {
                if errno == ENOENT { continue }
                throw .sqlite(path: companion, operation: "inspect", message: errorText())
            }
            if let violation = PathTrust().checkFile(st, path: companion, role: "companion file") {
                throw .insecure(path: companion, reason: "(\(violation.role)) \(violation.problem)")
            }
        }
        return real
    }

    /// Checks only the directory of `path` and those above it (before the
    /// file is created).
    static func checkDirectory(of path: String) throws(CDBError) {
        let dir = directory(of: path)
        guard let real = PathTrust.resolve(dir) else {
            if errno == ENOENT || errno == ENOTDIR { throw .missingFile(path: path) }
            throw .sqlite(path: path, operation: "inspect the directory of", message: errorText())
        }
        try checkDirectories(real)
    }

    /// ``PathTrust/checkDirectory(_:)`` as a ``CDBError``.
    private static func checkDirectories(_ realDirectory: String) throws(CDBError) {
        if let violation = PathTrust().checkDirectory(realDirectory) {
            throw .insecure(path: violation.path, reason: "(\(violation.role)) \(violation.problem)")
        }
    }

    private static func checkOwnerAndMode(_ st: stat, what: String, path: String) throws(CDBError) {
        if let violation = PathTrust().checkFile(st, path: path, role: what) {
            throw .insecure(path: path, reason: "(\(what)) \(violation.problem)")
        }
    }

    /// Makes `dir` and its missing parents (mode 0755, like `mkdir -p`).
    static func makeDirectories(_ dir: String) throws(CDBError) {
        var st = stat()
        if stat(dir, &st) == 0 { return }
        let parent = directory(of: dir)
        if parent != dir && parent != "." && parent != "/" { try makeDirectories(parent) }
        if mkdir(dir, 0o755) != 0 && errno != EEXIST {
            throw .sqlite(path: dir, operation: "create the directory", message: errorText())
        }
    }

    /// Creates an empty file with mode 0600 if there is none. An empty file
    /// is an empty SQLite database; SQLite itself would create it with 0644
    /// less the umask, and attribute values may hold credentials.
    static func createIfMissing(_ path: String) throws(CDBError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 {
            if errno == EEXIST { return }
            throw .sqlite(path: path, operation: "create", message: errorText())
        }
        close(fd)
    }

    static func errorText() -> String {
        String(cString: strerror(errno))
    }
}
