import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// srmd's output file, which appears whole or not at all: the lines are
/// written to `.<name>.tmp.<pid>` beside it, synced, then renamed over it,
/// both relative to the checked directory (``BatchFile``). The temporary
/// file is made before any resource runs, so an output directory fshost
/// cannot or must not write fails the call before anything changes.
///
/// OUT is mode 0600: srmd runs as root and reads it as root (the FailSafe
/// documents give no mode, FAILSAFE-NOTES §2), and the statuses are nobody
/// else's business.
struct BatchOutput {
    let path: String
    let temporary: String
    private let directoryFD: Int32
    private let name: String
    private let temporaryName: String
    private let fd: Int32

    /// The descriptors it holds (the temporary file, its directory): a
    /// forked pool worker closes them (no exec: `O_CLOEXEC` does not).
    var descriptors: [Int32] { [fd, directoryFD] }

    /// Creates the temporary file beside `path` (exclusive, not through a
    /// symbolic link, mode 0600), after removing the temporary files a
    /// batch killed before its rename left (same directory, same name,
    /// the pid of a process that no longer exists).
    /// - Throws: ``HostError`` `hostError` (9): the directory is missing,
    ///   not writable, unsafe (``BatchFile``: owned by another user, writable
    ///   by its group or others, sticky or not), or `path` is a directory.
    static func prepare(_ path: String) throws(HostError) -> BatchOutput {
        let shown = Names.printable(path)
        let file = try BatchFile.locate(path, what: "output file")
        var st = stat()
        if fstatat(file.directoryFD, file.name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFDIR {
            close(file.directoryFD)
            throw HostError(.hostError, "output file \(shown) is a directory")
        }
        let prefix = "." + file.name + ".tmp."
        removeStale(prefix: prefix, in: file.directoryFD)
        let temporaryName = prefix + String(getpid())
        unlinkat(file.directoryFD, temporaryName, 0)   // a leftover of an earlier call with this pid
        let fd = openat(file.directoryFD, temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0o600)
        guard fd >= 0 else {
            let why = String(cString: strerror(errno))
            close(file.directoryFD)
            throw HostError(.hostError, "cannot write output file \(shown): \(Names.printable(file.directory))/\(Names.printable(temporaryName)): \(why)")
        }
        return BatchOutput(path: path, temporary: (file.directory == "/" ? "" : file.directory) + "/" + temporaryName,
                           directoryFD: file.directoryFD, name: file.name, temporaryName: temporaryName, fd: fd)
    }

    /// Removes `<prefix><pid>` entries whose pid no longer exists: what a
    /// batch killed by SIGKILL (srmd's timeout) left behind.
    static func removeStale(prefix: String, in directoryFD: Int32) {
        let copy = dup(directoryFD)
        guard copy >= 0, let dir = fdopendir(copy) else { if copy >= 0 { close(copy) }; return }
        defer { closedir(dir) }
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name.hasPrefix(prefix), let pid = pid_t(name.dropFirst(prefix.utf8.count)), pid > 0 else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { unlinkat(directoryFD, name, 0) }
        }
    }

    /// Writes `text`, syncs, and renames the file into place.
    /// - Throws: ``HostError`` `hostError` (9); the temporary file is removed.
    func commit(_ text: String) throws(HostError) {
        defer { close(directoryFD) }
        var bytes = Array(text.utf8)
        var offset = 0
        var failure: Int32 = 0
        while offset < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + offset, $0.count - offset) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { failure = errno; break }
            offset += n
        }
        if failure == 0 && fsync(fd) != 0 { failure = errno }
        if close(fd) != 0 && failure == 0 { failure = errno }
        if failure == 0 && renameat(directoryFD, temporaryName, directoryFD, name) != 0 { failure = errno }
        if failure != 0 {
            unlinkat(directoryFD, temporaryName, 0)
            throw HostError(.hostError, "cannot write output file \(Names.printable(path)): \(String(cString: strerror(failure)))")
        }
    }

    /// Removes the temporary file (the call failed before any line).
    func discard() {
        close(fd)
        unlinkat(directoryFD, temporaryName, 0)
        close(directoryFD)
    }
}
