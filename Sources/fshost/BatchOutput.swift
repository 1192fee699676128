import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// srmd's output file, which appears whole or not at all: the lines are
/// written to `.<name>.tmp.<pid>` beside it, synced, then renamed over it.
/// The temporary file is made before any resource runs, so an output
/// directory fshost cannot write fails the call before anything changes.
struct BatchOutput {
    let path: String
    let temporary: String
    private let fd: Int32

    /// Creates the temporary file beside `path` (exclusive, not through a
    /// symbolic link, mode 0644).
    /// - Throws: ``HostError`` `hostError` (9): the directory is missing,
    ///   not writable, writable by every user without the sticky bit, or
    ///   `path` is a directory.
    static func prepare(_ path: String) throws(HostError) -> BatchOutput {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let base = slash.map { String(path[path.index(after: $0)...]) } ?? path
        let shown = Names.printable(path)
        guard !base.isEmpty else { throw HostError(.hostError, "output file \(shown) names a directory") }
        var st = stat()
        guard stat(directory, &st) == 0 else {
            throw HostError(.hostError, "cannot write output file \(shown): directory \(Names.printable(directory)): \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else {
            throw HostError(.hostError, "cannot write output file \(shown): \(Names.printable(directory)) is not a directory")
        }
        if st.st_mode & S_IWOTH != 0 && st.st_mode & S_ISVTX == 0 {
            throw HostError(.hostError, "cannot write output file \(shown): directory \(Names.printable(directory)) is writable by every user (no sticky bit)")
        }
        if lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFDIR {
            throw HostError(.hostError, "output file \(shown) is a directory")
        }
        let temporary = (directory == "/" ? "" : directory) + "/." + base + ".tmp.\(getpid())"
        unlink(temporary)   // a leftover of an earlier call with this pid
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY, 0o644)
        guard fd >= 0 else {
            throw HostError(.hostError, "cannot write output file \(shown): \(Names.printable(temporary)): \(String(cString: strerror(errno)))")
        }
        return BatchOutput(path: path, temporary: temporary, fd: fd)
    }

    /// Writes `text`, syncs, and renames the file into place.
    /// - Throws: ``HostError`` `hostError` (9); the temporary file is removed.
    func commit(_ text: String) throws(HostError) {
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
        if failure == 0 && rename(temporary, path) != 0 { failure = errno }
        if failure != 0 {
            unlink(temporary)
            throw HostError(.hostError, "cannot write output file \(Names.printable(path)): \(String(cString: strerror(failure)))")
        }
    }

    /// Removes the temporary file (the call failed before any line).
    func discard() {
        close(fd)
        unlink(temporary)
    }
}
