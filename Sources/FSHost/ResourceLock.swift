import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// Serialises actions on one resource, like scriptlib's ha_execute_lock: an
/// flock on `<run>/locks/<type>.<resource>.lock`. The kernel releases it when
/// the process ends, however it ends (a timed-out action included).
///
/// The lock file follows ``LockFile``'s rule: nobody else can hold, replace
/// or redirect it.
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
        let (fd, path) = try LockFile.open(runDirectory: runDirectory, name: type + "." + resource + ".lock")
        let held: Bool
        do { held = try LockFile.lock(fd, path: path, waitMilliseconds: waitMilliseconds) } catch {
            close(fd)
            throw error
        }
        guard held else {
            close(fd)
            throw HostError(.timedOut, "\(path) still held by another process after \(DurationText.readable(waitMilliseconds ?? 0))")
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
