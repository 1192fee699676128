import CSystemShims
import HAVocabulary
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// Runs a job on a worker thread and waits for it until a deadline. Plugin
/// code runs in-process and cannot be interrupted safely, so a hung action is
/// abandoned: the caller's `onTimeout` kills what it spawned, reports and
/// ends the process (which also releases the resource's lock).
///
/// In the worker process it also watches the lifeline to the supervisor
/// (``Supervisor/lifeline``): when fshost is gone (killed by the cluster
/// manager), `onOrphaned` ends everything the action started and the
/// process. `fshost exec2 TIMEOUT RETRIES COMMAND` runs its tries the same
/// way (``watch(_:deadline:onTimeout:onOrphaned:)`` without a deadline).
enum Watchdog {
    /// The job on its thread: a type-erased body (a C thread entry cannot
    /// capture a generic type), the pipe it signals when done, and when.
    final class Slot: @unchecked Sendable {
        let body: () -> Void
        let doneFD: Int32
        /// When the job returned (monotonic ms).
        var finishedAt: Int64 = 0
        init(body: @escaping () -> Void, doneFD: Int32) { self.body = body; self.doneFD = doneFD }
    }

    static func run(_ job: ActionJob, deadline: Deadline, onTimeout: (String) -> Never,
                    onOrphaned: () -> Never) -> ActionResult {
        let (result, finishedAt) = watch({ job.run() }, deadline: deadline,
                                         onTimeout: { onTimeout(job.phase.description) }, onOrphaned: onOrphaned)
        // An answer that came after the deadline (a command the plugin ran was
        // killed at it, say) is not an answer the cluster manager waited for.
        if finishedAt >= deadline.at || job.context.deadlineKilledCommand { onTimeout(job.phase.description) }
        return result ?? ActionResult(status: .commandFailed, reason: "the action ended without a result")
    }

    /// Runs `work` on a new thread while this thread waits for it, for
    /// `deadline` (nil: none; then `onTimeout` is never called) and for
    /// the supervisor's end (the lifeline hangs up: `onOrphaned`). Returns
    /// the work's result and when it finished (monotonic ms). Without a
    /// pipe or a thread, `work` runs inline rather than not at all.
    static func watch<R>(_ work: @escaping () -> R, deadline: Deadline?, onTimeout: () -> Never,
                         onOrphaned: () -> Never) -> (R?, Int64) {
        let box = WatchdogResult<R>()
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return (work(), Deadline.now()) }
        for fd in fds { _ = csys_fcntl_int(fd, F_SETFD, FD_CLOEXEC) }  // not inherited by spawned commands
        // While this process has one thread: the clean-up's first run (its
        // lazily made globals and generic metadata) never happens in two
        // threads at once (ProcessTree.prepare: seen to spin forever).
        ProcessTree.prepare()
        _ = ProcessGroups.live
        let slot = Slot(body: { box.value = work() }, doneFD: fds[1])
        let unmanaged = Unmanaged.passRetained(slot)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 8 << 20)
        var thread = pthread_t()
        let created = pthread_create(&thread, &attributes, { argument in
            let slot = Unmanaged<Slot>.fromOpaque(argument!).takeUnretainedValue()
            slot.body()
            slot.finishedAt = Deadline.now()
            var byte: UInt8 = 1
            _ = write(slot.doneFD, &byte, 1)
            return nil
        }, unmanaged.toOpaque())
        pthread_attr_destroy(&attributes)
        guard created == 0 else {
            unmanaged.release()
            close(fds[0]); close(fds[1])
            return (work(), Deadline.now())
        }

        Supervisor.watchLifeline()
        var pollers = [pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0),
                       pollfd(fd: Supervisor.lifeline, events: Int16(POLLIN), revents: 0)]
        while true {
            var wait: Int32 = -1
            if let deadline {
                let left = deadline.millisecondsLeft
                if left <= 0 { onTimeout() }
                wait = Int32(min(left, Int64(Int32.max)))
            }
            let ready = poll(&pollers, 2, wait)
            if pollers[1].revents != 0 { onOrphaned() }   // hang-up: the supervisor is gone
            if pollers[0].revents != 0 { break }
            if ready < 0 && errno != EINTR { break }
        }
        pthread_join(thread, nil)
        close(fds[0]); close(fds[1])
        let finishedAt = slot.finishedAt
        unmanaged.release()
        return (box.value, finishedAt)
    }
}

/// The result of ``Watchdog/watch(_:deadline:onTimeout:onOrphaned:)``'s
/// work, written by its thread before it signals the done pipe, read by the
/// waiting thread after `pthread_join`.
final class WatchdogResult<R>: @unchecked Sendable {
    var value: R?
}
