#if canImport(Glibc)
import Glibc
#endif

/// The process groups this process has spawned (one per ``spawn(_:timeoutMilliseconds:captureOutput:outputLimit:)``
/// call) and not yet reaped.
public enum ProcessGroups {
    /// Sends `signal` to every process group spawned by this process that
    /// has not been reaped yet (`kill(-pgid, signal)`). Thread-safe: the host
    /// calls it from its deadline thread while a `spawn` waits in another;
    /// that `spawn` then returns `.signaled(signal)` (for a fatal signal).
    /// A `spawn` that is just starting its child is waited for, so its group
    /// is signalled too.
    public static func killAll(signal: Int32) {
        groupsLock.withLock {
            for group in liveGroups { kill(-group, signal) }
        }
    }

    /// The process group ids (the leaders' pids) currently registered.
    public static var live: [Int32] {
        groupsLock.withLock { liveGroups }
    }

    /// Runs `start` (which spawns and returns a pid, or 0) holding the
    /// registry lock and registers the new group before anyone can miss it.
    static func register(_ start: () -> pid_t) -> pid_t {
        groupsLock.withLock {
            let pid = start()
            if pid > 0 { liveGroups.append(pid) }
            return pid
        }
    }

    /// Forgets `group`; call before reaping its leader, so that `killAll`
    /// never signals a group id whose number may already be reused.
    static func unregister(_ group: pid_t) {
        groupsLock.withLock {
            if let i = liveGroups.lastIndex(of: group) { liveGroups.remove(at: i) }
        }
    }
}

/// Guards `liveGroups`. A global `let`: initialised once, thread-safely.
private let groupsLock = SpawnLock()
/// Process groups spawned and not reaped. Process-global by nature (the
/// children of this process); `nonisolated(unsafe)` because every access
/// holds `groupsLock`.
nonisolated(unsafe) private var liveGroups: [pid_t] = []

/// A pthread mutex on the heap (it must not move). No Foundation here.
final class SpawnLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
