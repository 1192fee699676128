#if canImport(Glibc)
import Glibc
#endif

/// Serialises actions on one resource, like scriptlib's ha_execute_lock: an
/// flock on `<run>/locks/<type>.<resource>.lock`. The kernel releases it when
/// the process ends, however it ends (a timed-out action included).
struct ResourceLock {
    let fd: Int32

    /// Blocks until the lock is ours. The caller's watchdog bounds the wait.
    static func acquire(runDirectory: String, type: String, resource: String) throws(HostError) -> ResourceLock {
        let directory = runDirectory + "/locks"
        let path = directory + "/" + type + "." + resource + ".lock"
        var fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        if fd < 0 && errno == ENOENT {
            // First action since boot (the run directory is a tmpfs): create it.
            try makeDirectories(directory, mode: 0o755)
            fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0o600)
        }
        guard fd >= 0 else {
            throw HostError(.commandFailed, "cannot open lock file \(path): \(String(cString: strerror(errno)))")
        }
        while flock(fd, LOCK_EX) != 0 {
            guard errno == EINTR else {
                close(fd)
                throw HostError(.commandFailed, "cannot lock \(path): \(String(cString: strerror(errno)))")
            }
        }
        return ResourceLock(fd: fd)
    }

    func release() { close(fd) }
}

/// `mkdir -p` with `mode` for the directories it creates.
func makeDirectories(_ path: String, mode: mode_t) throws(HostError) {
    var prefix = ""
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        prefix += "/" + part
        if mkdir(prefix, mode) != 0 && errno != EEXIST {
            throw HostError(.commandFailed, "cannot create directory \(prefix): \(String(cString: strerror(errno)))")
        }
    }
}
