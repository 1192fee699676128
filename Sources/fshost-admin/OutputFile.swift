// `fshost cdb export --output PATH`: the export written so that it never
// destroys what PATH was and never shows the configuration to others.
import CDB
import Management
#if canImport(Glibc)
import Glibc
#endif

enum OutputFile {
    /// Writes `text` to `path` atomically and privately:
    ///
    /// - `path` must be a regular file or not exist. A symbolic link is not
    ///   followed and a device, directory, FIFO or socket is refused: as
    ///   root, renaming over `/dev/full` replaced the device node, and over
    ///   a symlink replaced the link (status 2, HA_INVAL_ARGS).
    /// - The text goes to a new temporary file in `path`'s directory
    ///   (`mkstemp`: mode 0600, `O_EXCL`, a random name another user
    ///   cannot predict: `.NAME.tmp-PID-XXXXXX`), is `fsync`ed, and renamed
    ///   over `path`; then the
    ///   directory is `fsync`ed. A reader sees the old file or the whole new
    ///   one. Mode 0600 because attribute values may hold credentials.
    /// - Any failure removes the temporary file and leaves `path` as it was
    ///   (status 3, HA_CMD_FAILED, with the system's reason). A writer killed
    ///   mid-write cannot: its temporary file is removed by the next export
    ///   to `path` (``removeStaleTemporaries(directory:base:)``).
    static func writeAtomically(_ text: String, to path: String) throws(AdminError) {
        try checkTarget(path)
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        func failure(_ what: String, _ code: Int32 = errno) -> AdminError {
            .failed("cannot write \(path): \(what): \(String(cString: strerror(code)))")
        }
        removeStaleTemporaries(directory: directory, base: base)
        var template = Array((directory + "/" + temporaryPrefix(base) + "\(getpid())-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw failure("create a temporary file in \(directory)") }
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        let temporary = String(cString: template)
        var renamed = false
        var open = true
        defer {
            if open { close(fd) }
            if !renamed { unlink(temporary) }
        }
        // mkostemp creates 0600 already; say it, whatever the umask.
        guard fchmod(fd, 0o600) == 0 else { throw failure("chmod \(temporary)") }
        var data = Array(text.utf8)
        var written = 0
        while written < data.count {
            let n = data.withUnsafeMutableBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                throw failure("write")
            }
            written += n
        }
        data.removeAll()
        guard fsync(fd) == 0 else { throw failure("fsync") }
        open = false
        guard close(fd) == 0 else { throw failure("close") }
        // Once more just before the rename: what was a regular file may
        // have been replaced meanwhile.
        try checkTarget(path)
        guard rename(temporary, path) == 0 else { throw failure("rename over it") }
        renamed = true
        let dirfd = Glibc.open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }

    /// `.NAME.tmp-`: the start of every temporary file for `NAME`.
    static func temporaryPrefix(_ base: String) -> String { "." + base + ".tmp-" }

    /// Removes the temporary files of earlier exports to `base` whose
    /// writer no longer runs (killed mid-write, e.g. by a timeout): the name
    /// carries the writer's pid (`.NAME.tmp-PID-XXXXXX`), as the host's
    /// state store does. Only regular files of this user are removed, and
    /// never one whose pid is alive (another export writing now; a reused
    /// pid keeps a stale file, the safe direction). Best effort: a
    /// directory that cannot be read leaves them.
    static func removeStaleTemporaries(directory: String, base: String) {
        let prefix = temporaryPrefix(base)
        guard let stream = opendir(directory) else { return }
        var stale: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard name.hasPrefix(prefix) else { continue }
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = Int32(rest[..<dash]), pid > 0, pid != getpid()
            else { continue }
            if kill(pid, 0) != 0, errno == ESRCH { stale.append(name) }
        }
        closedir(stream)
        for name in stale {
            let path = directory + "/" + name
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_uid == geteuid() else { continue }
            unlink(path)
        }
    }

    /// Refuses a `path` that exists and is not a regular file (`lstat`:
    /// a symbolic link is itself refused, not followed).
    static func checkTarget(_ path: String) throws(AdminError) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            if errno == ENOENT { return }
            throw .failed("cannot write \(path): \(String(cString: strerror(errno)))")
        }
        let kind: String
        switch st.st_mode & S_IFMT {
        case S_IFREG: return
        case S_IFLNK: kind = "a symbolic link"
        case S_IFCHR: kind = "a character device"
        case S_IFBLK: kind = "a block device"
        case S_IFDIR: kind = "a directory"
        case S_IFIFO: kind = "a FIFO"
        case S_IFSOCK: kind = "a socket"
        default: kind = "not a regular file"
        }
        throw .usage("refusing to write \(path): it is \(kind); --output replaces only a regular file "
            + "(or creates a new one); write to standard output to send the export elsewhere")
    }
}
