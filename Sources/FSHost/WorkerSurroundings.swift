#if canImport(Glibc)
import Glibc
#endif

/// What of a pool worker's process a plugin action can change and the
/// next resource would inherit (``PoolWorker``): the worker thread's
/// network and mount namespaces (`/proc/thread-self/ns/{net,mnt}` inode
/// numbers: a `setns` or `unshare` that was not undone) and the working
/// directory. The action runs on the worker's own thread (``Watchdog``),
/// which lives on after it: "the thread ends with the action" does not
/// hold in a pool. A worker whose surroundings differ after a job from
/// those it started with retires after that answer; a fresh one takes
/// the queue.
struct WorkerSurroundings: Equatable {
    /// Namespace inode numbers; 0 when unreadable (then compared as such).
    var network: UInt64
    var mount: UInt64
    /// The working directory (`getcwd`), empty when unreadable.
    var directory: String

    /// This thread's, now. A few µs: two `stat` and a `getcwd`.
    static func current() -> WorkerSurroundings {
        func inode(_ path: String) -> UInt64 {
            var st = stat()
            return stat(path, &st) == 0 ? UInt64(st.st_ino) : 0
        }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let directory = getcwd(&buffer, buffer.count) != nil ? String(cString: buffer) : ""
        return WorkerSurroundings(network: inode("/proc/thread-self/ns/net"), mount: inode("/proc/thread-self/ns/mnt"),
                                  directory: directory)
    }
}
