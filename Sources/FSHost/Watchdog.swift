import CSystemShims
import HAVocabulary
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// Runs a job on this thread while a watchdog thread waits for its
/// deadline and for the supervisor's end. Plugin code runs in-process and
/// cannot be interrupted safely, so a hung action is abandoned: at the
/// deadline the watchdog's `onTimeout` kills what the action spawned,
/// reports and ends the process (which also releases the resource's lock).
///
/// The watchdog also watches the lifeline to the supervisor
/// (``Supervisor/lifeline``): when fshost is gone (killed by the cluster
/// manager), `onOrphaned` ends everything the action started and the
/// process. `fshost exec2 TIMEOUT RETRIES COMMAND` runs its tries the same
/// way (``watch(_:deadline:onTimeout:onOrphaned:)`` without a deadline).
///
/// Why the job runs on the calling thread and the watchdog on a new one
/// (and not the other way round): the watchdog thread only sleeps in
/// `poll` and allocates nothing unless it fires, so the process pays for
/// one small thread and no join, no second malloc arena for the plugin,
/// and no teardown of an 8 MiB stack (~0.1 ms a call; ../shared/PERF-FLOOR.md).
/// Whoever finishes first claims the outcome (one atomic flag): the job
/// ("done": the watchdog then just returns when it next wakes), the
/// deadline or the orphaning (the job's thread, when it returns later,
/// never answers: it waits for the watchdog to end the process).
enum Watchdog {
    /// Who claimed the outcome (``csys_claim``).
    enum Claim: Int32 {
        case done = 1, timedOut = 2, orphaned = 3
    }

    /// What the watchdog thread needs: a type-erased state (a C thread
    /// entry cannot capture a generic type).
    final class Watch: @unchecked Sendable {
        let deadline: Deadline?
        let onTimeout: () -> Never
        let onOrphaned: () -> Never
        let flag: UnsafeMutablePointer<Int32>
        /// A pipe the job writes when done, so that the watchdog thread
        /// ends at once (a pool worker runs jobs one after another; its
        /// threads must not pile up until their deadlines); -1: none.
        let wake: (read: Int32, write: Int32)

        init(deadline: Deadline?, onTimeout: @escaping () -> Never, onOrphaned: @escaping () -> Never,
             wakeWhenDone: Bool = false) {
            self.deadline = deadline
            self.onTimeout = onTimeout
            self.onOrphaned = onOrphaned
            flag = .allocate(capacity: 1)
            flag.initialize(to: 0)
            var ends: (Int32, Int32) = (-1, -1)
            let made = wakeWhenDone && withUnsafeMutableBytes(of: &ends) {
                csys_pipe_cloexec($0.baseAddress!.assumingMemoryBound(to: Int32.self)) == 0
            }
            wake = made ? ends : (-1, -1)
        }

        deinit {
            if wake.read >= 0 { close(wake.read); close(wake.write) }
            flag.deallocate()
        }

        /// The job is done (claimed): the watchdog thread may end now.
        func done() {
            guard wake.write >= 0 else { return }
            var byte: UInt8 = 1
            _ = write(wake.write, &byte, 1)
        }

        func claim(_ claim: Claim) -> Bool { csys_claim(flag, claim.rawValue) != 0 }

        /// The watchdog thread: waits for the deadline or the lifeline's
        /// hang-up, and returns as soon as it finds the job done.
        func run() {
            var fds = (pollfd(fd: Supervisor.lifeline, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: wake.read, events: Int16(POLLIN), revents: 0))
            while true {
                var wait: Int32 = -1
                if let deadline {
                    let left = deadline.millisecondsLeft
                    if left <= 0 {
                        if claim(.timedOut) { onTimeout() }
                        return
                    }
                    wait = Int32(min(left, Int64(Int32.max)))
                }
                let ready = withUnsafeMutableBytes(of: &fds) { raw in
                    poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, wait)
                }
                if fds.0.revents != 0 {   // hang-up: the supervisor is gone
                    if claim(.orphaned) { onOrphaned() }
                    return
                }
                if csys_claimed(flag) != 0 { return }
                if ready < 0 && errno != EINTR { sleepMilliseconds(1) }
            }
        }
    }

    /// `wakeWhenDone`: the watchdog thread ends as soon as the job is done
    /// (a pool worker, which runs another job next), not at its next wake.
    static func run(_ job: ActionJob, deadline: Deadline, onTimeout: @escaping (String) -> Never,
                    onOrphaned: @escaping () -> Never, wakeWhenDone: Bool = false) -> ActionResult {
        let (result, finishedAt) = watch({ job.run() }, deadline: deadline,
                                         onTimeout: { onTimeout(job.phase.description) }, onOrphaned: onOrphaned,
                                         wakeWhenDone: wakeWhenDone)
        // An answer that came after the deadline (a command the plugin ran was
        // killed at it, say) is not an answer the cluster manager waited for.
        if finishedAt >= deadline.at || job.context.deadlineKilledCommand { onTimeout(job.phase.description) }
        return result ?? ActionResult(status: .commandFailed, reason: "the action ended without a result")
    }

    /// Runs `work` on this thread while a watchdog thread waits for
    /// `deadline` (nil: none; then `onTimeout` is never called) and for
    /// the supervisor's end (the lifeline hangs up: `onOrphaned`). Returns
    /// the work's result and when it finished (monotonic ms); never returns
    /// once the watchdog has claimed the outcome (it ends the process).
    /// Without a thread, `work` runs unwatched rather than not at all.
    static func watch<R>(_ work: () -> R, deadline: Deadline?, onTimeout: @escaping () -> Never,
                         onOrphaned: @escaping () -> Never, wakeWhenDone: Bool = false) -> (R?, Int64) {
        // While this process has one thread: the clean-up's first run (its
        // lazily made globals and generic metadata) never happens in two
        // threads at once (ProcessTree.prepare: seen to spin forever).
        ProcessTree.prepare()
        _ = ProcessGroups.live
        let watch = Watch(deadline: deadline, onTimeout: onTimeout, onOrphaned: onOrphaned, wakeWhenDone: wakeWhenDone)
        // The thread's reference: kept until the process ends, or, when it
        // is woken at the job's end, given up as the thread ends.
        let unmanaged = Unmanaged.passRetained(watch)
        var attributes = pthread_attr_t()
        pthread_attr_init(&attributes)
        // poll, and at the deadline the report and the clean-up: 1 MiB is ample.
        pthread_attr_setstacksize(&attributes, 1 << 20)
        pthread_attr_setdetachstate(&attributes, Int32(PTHREAD_CREATE_DETACHED))
        var thread = pthread_t()
        let created = pthread_create(&thread, &attributes, { argument in
            let watch = Unmanaged<Watch>.fromOpaque(argument!)
            watch.takeUnretainedValue().run()
            if watch.takeUnretainedValue().wake.read >= 0 { watch.release() }
            return nil
        }, unmanaged.toOpaque())
        pthread_attr_destroy(&attributes)
        guard created == 0 else {
            unmanaged.release()
            return (work(), Deadline.now())
        }
        // From here the watchdog notices the supervisor's end (the hang-up
        // stays readable until it polls) instead of this process dying with it.
        Supervisor.watchLifeline()
        let result = work()
        let finishedAt = Deadline.now()
        guard watch.claim(.done) else {
            // The watchdog fired meanwhile: it reports and ends the process.
            while true { pause() }
        }
        watch.done()
        return (result, finishedAt)
    }
}
