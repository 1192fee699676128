import HAVocabulary
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// Serialises actions on one resource, like scriptlib's ha_execute_lock: an
/// flock on `<run>/locks/<type>.<resource>.lock`. The kernel releases it when
/// the process ends, however it ends (a timed-out action included).
///
/// Another user must not be able to hold, replace or redirect a lock file
/// (holding one makes every monitor time out; a planted symlink makes it
/// fail), so the lock directory is checked where it really is, up to `/`,
/// under ``PathTrust``'s rule, and the lock file is opened relative to that
/// directory without following a symlink and must be a regular file owned by
/// root or the effective user, writable by nobody else.
///
/// Actions take it, and so does `fshost lock` (scriptlib's ha_execute_lock),
/// so a shell script's critical section and fshost's actions exclude each
/// other on the same file.
public struct ResourceLock {
    let fd: Int32

    /// Blocks until the lock is ours. The caller's watchdog bounds the wait,
    /// or `waitMilliseconds`: then the lock is tried every 10 ms until that
    /// long has passed.
    ///
    /// - Throws: ``HostError`` with `hostError` (9): a relative or unsafe run
    ///   directory, a lock directory that cannot be made, a lock file that
    ///   cannot be opened or is not safe, or `flock` failing. None of these
    ///   says anything about the resource. `timedOut` (8): another process
    ///   still held it after `waitMilliseconds`.
    public static func acquire(runDirectory: String, type: String, resource: String,
                               waitMilliseconds: Int64? = nil) throws(HostError) -> ResourceLock {
        let directory = try SafeDirectory.open(runDirectory + "/locks", root: runDirectory, variable: "FSHOST_RUN_DIR",
                                               what: "lock directory", mode: 0o755)
        defer { close(directory.fd) }
        let name = type + "." + resource + ".lock"
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
        let end = waitMilliseconds.map { monotonicNanoseconds() / 1_000_000 + $0 }
        while flock(fd, end == nil ? LOCK_EX : LOCK_EX | LOCK_NB) != 0 {
            if errno == EWOULDBLOCK, let end {
                guard monotonicNanoseconds() / 1_000_000 < end else {
                    close(fd)
                    throw HostError(.timedOut, "\(path) still held by another process after \(DurationText.readable(waitMilliseconds ?? 0))")
                }
                usleep(10_000)
                continue
            }
            guard errno == EINTR else {
                let why = String(cString: strerror(errno))
                close(fd)
                throw HostError(.hostError, "cannot lock \(path): \(why)")
            }
        }
        return ResourceLock(fd: fd)
    }

    /// Unlocks, then closes. `LOCK_UN` releases the lock of the open file
    /// description even where a process the plugin forked still holds a
    /// copy of the descriptor (a fork without exec keeps it), so the next
    /// action on the resource never waits for such a child.
    public func release() {
        flock(fd, LOCK_UN)
        close(fd)
    }
}
