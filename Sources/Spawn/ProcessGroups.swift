import HostLock
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
        liveGroups.withLock { registry in
            for group in registry.groups { kill(-group, signal) }
        }
    }

    /// SIGKILL to every registered group, and no `spawn` starts from now on
    /// (it fails with ECANCELED): the action is over, and a worker thread
    /// that is still running must not start a command that outlives the
    /// clean-up.
    public static func shutDown() {
        liveGroups.withLock { registry in
            registry.closed = true
            for group in registry.groups { kill(-group, SIGKILL) }
        }
    }

    /// Forgets every group and lets `spawn` start again: for a worker that
    /// runs one action after another (a FailSafe batch's pool worker), once
    /// the last action's groups were killed by ``shutDown()`` and its
    /// leftovers reaped.
    public static func reopen() {
        liveGroups.withLock { registry in registry = ([], false) }
    }

    /// The process group ids (the leaders' pids) currently registered.
    public static var live: [Int32] {
        liveGroups.withLock { $0.groups }
    }

    /// Runs `start` (which spawns and returns a pid, or 0) holding the
    /// registry lock and registers the new group before anyone can miss it.
    /// Returns nil after ``shutDown()`` (nothing was started).
    static func register(_ start: () -> pid_t) -> pid_t? {
        liveGroups.withLock { registry in
            if registry.closed { return nil }
            let pid = start()
            if pid > 0 { registry.groups.append(pid) }
            return pid
        }
    }

    /// Forgets `group`; call before reaping its leader, so that `killAll`
    /// never signals a group id whose number may already be reused.
    static func unregister(_ group: pid_t) {
        liveGroups.withLock { registry in
            if let i = registry.groups.lastIndex(of: group) { registry.groups.remove(at: i) }
        }
    }
}

/// Process groups spawned and not reaped: process-global by nature (the
/// children of this process), guarded by the stdlib's mutex.
private let liveGroups = Locked<(groups: [pid_t], closed: Bool)>(([], false))
