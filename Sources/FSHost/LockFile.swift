import HAVocabulary
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// One file of the run directory's `locks/` and its exclusive `flock`: the
/// one rule ``ResourceLock`` and ``SharedLock`` follow.
///
/// Another user must not be able to hold, replace or redirect a lock file
/// (holding one makes every monitor time out; a planted symlink makes it
/// fail), so the lock directory is checked where it really is, up to `/`,
/// under ``PathTrust``'s rule, and the file is opened relative to that
/// directory without following a symlink and must be a regular file owned by
/// root or the effective user, writable by nobody else.
enum LockFile {
    /// Opens (creating it, mode 0600) `<runDirectory>/locks/<name>`.
    ///
    /// - Returns: the open descriptor (the caller closes it) and the path,
    ///   for messages.
    /// - Throws: ``HostError`` with `hostError` (9): an unsafe or unusable
    ///   run or lock directory, a lock file that is a symbolic link, cannot
    ///   be opened or inspected, or breaks ``PathTrust``'s rule.
    static func open(runDirectory: String, name: String) throws(HostError) -> (fd: Int32, path: String) {
        let directory = try SafeDirectory.open(runDirectory + "/locks", root: runDirectory, variable: "FSHOST_RUN_DIR",
                                               what: "lock directory", mode: 0o755)
        defer { close(directory.fd) }
        let path = directory.path + "/" + name
        let fd = openat(directory.fd, name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK, 0o600)
        guard fd >= 0 else {
            let why = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
            throw HostError(.hostError, "cannot open lock file \(path): \(why)")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw HostError(.hostError, "cannot inspect lock file \(path): \(why)")
        }
        if let violation = PathTrust().checkFile(st, path: path, role: "lock file") {
            close(fd)
            throw HostError(.hostError, "unsafe \(violation)")
        }
        return (fd, path)
    }

    /// Takes the exclusive lock on `fd`: blocking when `waitMilliseconds` is
    /// nil (the caller's watchdog bounds the wait), otherwise trying every
    /// 10 ms until that many milliseconds of the monotonic clock have passed.
    ///
    /// - Returns: true once held; false when the wait ended with the lock
    ///   still held elsewhere (`fd` stays open).
    /// - Throws: ``HostError`` with `hostError` (9) when `flock` fails for
    ///   another reason than the lock being held or a signal.
    static func lock(_ fd: Int32, path: String, waitMilliseconds: Int64?) throws(HostError) -> Bool {
        let end = waitMilliseconds.map { monotonicNanoseconds() / 1_000_000 + $0 }
        while flock(fd, end == nil ? LOCK_EX : LOCK_EX | LOCK_NB) != 0 {
            if errno == EWOULDBLOCK, let end {
                guard monotonicNanoseconds() / 1_000_000 < end else { return false }
                usleep(10_000)
                continue
            }
            guard errno == EINTR else {
                throw HostError(.hostError, "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
        return true
    }
}
