#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The ownership and permission rules of the CDB file, like sshd's
/// `StrictModes`: the file and the directory that holds it must belong to
/// root or to the invoking (effective) user, and neither may be writable by
/// its group or by others. A configuration anyone else can change would let
/// them choose what the cluster manager runs as root.
enum FileSecurity {
    /// `path`'s directory (`.` for a bare name, `/` for `/x`).
    static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        if slash == path.startIndex { return "/" }
        return String(path[..<slash])
    }

    /// Checks the file and its directory. Two `stat` calls: cheap enough for
    /// every monitor.
    static func check(path: String) throws(CDBError) {
        let dir = directory(of: path)
        var dirStat = stat()
        guard stat(dir, &dirStat) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .missingFile(path: path) }
            throw .sqlite(path: path, operation: "inspect the directory of", message: errorText())
        }
        var fileStat = stat()
        guard stat(path, &fileStat) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .missingFile(path: path) }
            throw .sqlite(path: path, operation: "inspect", message: errorText())
        }
        guard fileStat.st_mode & S_IFMT == S_IFREG else {
            throw .notADatabase(path: path, message: "not a regular file")
        }
        try checkOwnerAndMode(fileStat, what: "file", path: path)
        try checkOwnerAndMode(dirStat, what: "directory", path: dir)
    }

    /// Checks only the directory of `path` (before the file is created).
    static func checkDirectory(of path: String) throws(CDBError) {
        let dir = directory(of: path)
        var dirStat = stat()
        guard stat(dir, &dirStat) == 0 else {
            if errno == ENOENT || errno == ENOTDIR { throw .missingFile(path: path) }
            throw .sqlite(path: path, operation: "inspect the directory of", message: errorText())
        }
        try checkOwnerAndMode(dirStat, what: "directory", path: dir)
    }

    private static func checkOwnerAndMode(_ st: stat, what: String, path: String) throws(CDBError) {
        let me = geteuid()
        if st.st_uid != 0 && st.st_uid != me {
            throw .insecure(path: path, reason: "(\(what)) is owned by uid \(st.st_uid), not by root or uid \(me)")
        }
        if st.st_mode & S_IWOTH != 0 {
            throw .insecure(path: path, reason: "(\(what)) is writable by others (mode \(octal(st.st_mode & 0o7777)))")
        }
        if st.st_mode & S_IWGRP != 0 {
            throw .insecure(path: path, reason: "(\(what)) is writable by its group (mode \(octal(st.st_mode & 0o7777)))")
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

    static func octal(_ mode: mode_t) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
