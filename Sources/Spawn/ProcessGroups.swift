import Synchronization
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
        liveGroups.withLock { groups in
            for group in groups { kill(-group, signal) }
        }
    }

    /// The process group ids (the leaders' pids) currently registered.
    public static var live: [Int32] {
        liveGroups.withLock { $0 }
    }

    /// Runs `start` (which spawns and returns a pid, or 0) holding the
    /// registry lock and registers the new group before anyone can miss it.
    static func register(_ start: () -> pid_t) -> pid_t {
        liveGroups.withLock { groups in
            let pid = start()
            if pid > 0 { groups.append(pid) }
            return pid
        }
    }

    /// Forgets `group`; call before reaping its leader, so that `killAll`
    /// never signals a group id whose number may already be reused.
    static func unregister(_ group: pid_t) {
        liveGroups.withLock { groups in
            if let i = groups.lastIndex(of: group) { groups.remove(at: i) }
        }
    }
}

/// Process groups spawned and not reaped: process-global by nature (the
/// children of this process), guarded by the stdlib's mutex.
private let liveGroups = Mutex<[pid_t]>([])
