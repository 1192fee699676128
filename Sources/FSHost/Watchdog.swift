import CSystemShims
import HAVocabulary
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
/// process.
enum Watchdog {
    final class Slot: @unchecked Sendable {
        let job: ActionJob
        let doneFD: Int32
        var result: ActionResult?
        /// When the job returned (monotonic ms).
        var finishedAt: Int64 = 0
        init(job: ActionJob, doneFD: Int32) { self.job = job; self.doneFD = doneFD }
    }

    static func run(_ job: ActionJob, deadline: Deadline, onTimeout: (String) -> Never,
                    onOrphaned: () -> Never) -> ActionResult {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            // Without a pipe we cannot watch: run inline rather than not at all.
            return job.run()
        }
        for fd in fds { _ = csys_fcntl_int(fd, F_SETFD, FD_CLOEXEC) }  // not inherited by spawned commands
        let slot = Slot(job: job, doneFD: fds[1])
        let unmanaged = Unmanaged.passRetained(slot)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        pthread_attr_setstacksize(&attributes, 8 << 20)
        var thread = pthread_t()
        let created = pthread_create(&thread, &attributes, { argument in
            let slot = Unmanaged<Slot>.fromOpaque(argument!).takeUnretainedValue()
            slot.result = slot.job.run()
            slot.finishedAt = Deadline.now()
            var byte: UInt8 = 1
            _ = write(slot.doneFD, &byte, 1)
            return nil
        }, unmanaged.toOpaque())
        pthread_attr_destroy(&attributes)
        guard created == 0 else { return job.run() }

        Supervisor.watchLifeline()
        var pollers = [pollfd(fd: fds[0], events: Int16(POLLIN), revents: 0),
                       pollfd(fd: Supervisor.lifeline, events: Int16(POLLIN), revents: 0)]
        while true {
            let left = deadline.millisecondsLeft
            if left <= 0 { onTimeout(job.phase.description) }
            let ready = poll(&pollers, 2, Int32(min(left, Int64(Int32.max))))
            if pollers[1].revents != 0 { onOrphaned() }   // hang-up: the supervisor is gone
            if pollers[0].revents != 0 { break }
            if ready < 0 && errno != EINTR { break }
        }
        pthread_join(thread, nil)
        close(fds[0]); close(fds[1])
        let result = slot.result ?? ActionResult(status: .commandFailed, reason: "the action ended without a result")
        let finishedAt = slot.finishedAt
        unmanaged.release()
        // An answer that came after the deadline (a command the plugin ran was
        // killed at it, say) is not an answer the cluster manager waited for.
        if finishedAt >= deadline.at || job.context.deadlineKilledCommand { onTimeout(job.phase.description) }
        return result
    }
}
