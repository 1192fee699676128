import CSystemShims
import HAVocabulary
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// The supervisor of a FailSafe batch's workers: the batch's own process
/// forks one worker per resource (the worker of `fshost <type> <action>
/// <resource>`: ``ActionRunner/perform(_:channel:started:)``, its own
/// process group, lock and deadline) and supervises all of them at once,
/// as ``Supervisor`` supervises one. One fork per resource, not two: the
/// batch is every worker's supervisor.
///
/// The same guarantees as one call's supervisor, per worker:
/// - its answer comes over its own pipe; its progress (deadline, "plugin
///   code runs") on its own shared page;
/// - a worker that ends without an answer → the answer that stands for it
///   (``ActionRunner/answer(_:request:)``: `HA_CMD_FAILED` naming the
///   plugin, or `HA_HOST_ERROR` before plugin code), logged;
/// - no answer by its deadline plus ``Supervisor/graceMilliseconds``, or no
///   deadline ``Supervisor/setupLimitMilliseconds`` after it started →
///   SIGKILL, `HA_TIMEDOUT`;
/// - the batch is a subreaper: a dead worker's orphans come to it and are
///   killed (``ProcessTree/killDescendants(sparing:within:)``), sparing the
///   other workers and the daemons that successful starts left;
/// - the batch SIGKILLed → each worker's lifeline hangs up (each holds only
///   its own pipe: the others' ends are closed in it) and it kills
///   everything below it, as after a SIGKILL of `fshost`.
///
/// Call from one thread, in a process that has loaded no plugin. TERM, INT,
/// HUP and CHLD must be blocked (the batch takes them on a signalfd).
public final class BatchWorkers {
    /// One resource's answer: the batch's tag for it and its status (0–9).
    public struct Finished: Sendable {
        public let tag: Int
        public let status: Int32
    }

    private struct Worker {
        let tag: Int
        let request: ActionRequest
        let started: Int64
        let results: Int32
        /// The write end of the worker's lifeline: open while it may work.
        let lifeline: Int32
        let progress: UnsafeMutablePointer<WorkerProgress>
        var buffer: [UInt8] = []
    }

    private let runner: ActionRunner
    private let signals: Int32
    private let batch: pid_t
    /// The signal mask each worker gets back (the batch's before it blocked).
    private var workerMask: sigset_t
    private var workers: [pid_t: Worker] = [:]
    /// Workers that answered and are exiting (their lifeline closed): reaped as they end.
    private var answered: Set<pid_t> = []
    /// What successful starts left running (below their workers at the
    /// answer): never killed as a dead worker's orphan.
    private var spared: Set<pid_t> = []

    /// Makes the batch's process a subreaper and opens the signalfd of
    /// `signals` (blocked by the caller). `workerMask`: the mask workers
    /// run with (the one the batch had before it blocked its signals).
    public init(runner: ActionRunner, signals waited: sigset_t, workerMask: sigset_t) {
        self.runner = runner
        self.workerMask = workerMask
        batch = getpid()
        var set = waited
        signals = csys_signalfd(&set)
        _ = csys_set_child_subreaper()
        ProcessTree.prepare()
    }

    deinit { if signals >= 0 { close(signals) } }

    /// Workers running (not yet answered).
    public var running: Int { workers.count }

    /// Forks the worker of `request`. Returns nil, or `hostError` (9) when
    /// the worker could not be started (nothing ran).
    public func start(_ request: ActionRequest, tag: Int) -> HostError? {
        let started = Deadline.now()
        func failure(_ error: Int32) -> HostError {
            HostError(.hostError, "cannot start the worker process for \(request.resource): \(String(cString: strerror(error)))")
        }
        guard let progress = WorkerProgress.map() else { return failure(errno) }
        var results: [Int32] = [-1, -1], lifeline: [Int32] = [-1, -1]
        guard csys_pipe_cloexec(&results) == 0 else {
            let error = errno
            munmap(progress, MemoryLayout<WorkerProgress>.size)
            return failure(error)
        }
        guard csys_pipe_cloexec(&lifeline) == 0 else {
            let error = errno
            close(results[0]); close(results[1])
            munmap(progress, MemoryLayout<WorkerProgress>.size)
            return failure(error)
        }
        let pid = csys_fork()
        if pid == 0 {
            close(results[0]); close(lifeline[1])
            // The other workers' pipes: their lifelines must hang up when
            // the batch dies, not when this worker does; and their progress
            // pages are theirs (a plugin here must not move their deadlines).
            if signals >= 0 { close(signals) }
            for other in workers.values {
                close(other.results); close(other.lifeline)
                munmap(other.progress, MemoryLayout<WorkerProgress>.size)
            }
            Supervisor.becomeWorker(supervisor: batch, previousMask: &workerMask, keepingStandardOutput: false)
            Supervisor.lifeline = lifeline[0]
            runner.perform(request, channel: WorkerChannel(fd: results[1], progress: progress), started: started)
            Supervisor.afterAnswer()
        }
        close(results[1]); close(lifeline[0])
        if pid < 0 {
            let error = errno
            close(results[0]); close(lifeline[1])
            munmap(progress, MemoryLayout<WorkerProgress>.size)
            return failure(error)
        }
        _ = setpgid(pid, pid)   // also done by the worker: whichever runs first
        _ = csys_fcntl_int(results[0], F_SETFL, O_NONBLOCK)
        workers[pid] = Worker(tag: tag, request: request, started: started, results: results[0],
                              lifeline: lifeline[1], progress: progress)
        return nil
    }

    /// Waits up to `bound` ms (less when a worker's deadline or set-up
    /// limit comes first) for answers, ends and ending signals. Returns the
    /// resources that got their status, and TERM, INT or HUP if one came.
    public func wait(bound: Int64) -> (finished: [Finished], stop: Int32?) {
        var finished: [Finished] = []
        reap(into: &finished)
        if !finished.isEmpty { return (finished, nil) }
        let now = Deadline.now()
        var timeout = max(0, bound)
        for worker in workers.values {
            let deadline = worker.progress.pointee.deadline
            let end = deadline == 0 ? min(now + 100, worker.started + Supervisor.setupLimitMilliseconds)
                                    : deadline + Supervisor.graceMilliseconds
            timeout = min(timeout, max(0, end - now))
        }
        let pids = Array(workers.keys)
        var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
        for pid in pids { fds.append(pollfd(fd: workers[pid]!.results, events: Int16(POLLIN), revents: 0)) }
        if signals < 0 { timeout = min(timeout, 10) }   // no signalfd: poll for ends
        _ = poll(&fds, nfds_t(fds.count), Int32(clamping: timeout))
        let stop = fds[0].revents != 0 ? Supervisor.endingSignal(signals) : nil
        for (i, pid) in pids.enumerated() where fds[i + 1].revents != 0 {
            guard var worker = workers[pid] else { continue }
            _ = Supervisor.read(worker.results, into: &worker.buffer)
            workers[pid] = worker
            if let answer = WorkerAnswer.decode(worker.buffer) {
                finished.append(answered(pid, status: answer.status))
            }
        }
        reap(into: &finished)
        // Deadlines: a worker that did not answer in time is killed.
        let later = Deadline.now()
        for (pid, worker) in workers {
            let deadline = worker.progress.pointee.deadline
            let late = deadline != 0 ? later >= deadline + Supervisor.graceMilliseconds
                                     : later >= worker.started + Supervisor.setupLimitMilliseconds
            guard late else { continue }
            kill(pid, SIGKILL)
            var run = Supervisor.Run()
            run.unanswered = true
            run.waitStatus = Supervisor.reap(pid)
            finished.append(ended(pid, run: run))
        }
        return (finished, stop)
    }

    /// The batch was told to stop (`signal`: TERM, INT, HUP): every running
    /// worker is killed with everything below it, and answers
    /// `HA_CMD_FAILED` ("cannot tell" is never success), as one call's
    /// supervisor does.
    public func interrupt(_ signal: Int32) -> [Finished] {
        var finished: [Finished] = []
        for pid in workers.keys { kill(pid, SIGKILL) }
        for pid in Array(workers.keys) {
            var run = Supervisor.Run()
            run.interruption = signal
            run.waitStatus = Supervisor.reap(pid)
            finished.append(ended(pid, run: run))
        }
        return finished
    }

    /// Lets every answered worker end, and reaps it (they end at once:
    /// their lifelines are closed).
    public func finish() {
        for pid in answered { _ = Supervisor.reap(pid) }
        answered.removeAll()
    }

    /// A worker answered: its lifeline is closed, so it exits now.
    private func answered(_ pid: pid_t, status: Int32) -> Finished {
        let worker = workers.removeValue(forKey: pid)!
        if status == 0 && (worker.request.action == .start || worker.request.action == .restart) {
            // The daemon it started is the point of it: when the worker
            // exits it comes to the batch, which must not take it for an orphan.
            spared.formUnion(ProcessTree.descendants(of: pid))
        }
        close(worker.lifeline)
        close(worker.results)
        munmap(worker.progress, MemoryLayout<WorkerProgress>.size)
        answered.insert(pid)
        return Finished(tag: worker.tag, status: status)
    }

    /// A worker ended (or was killed) without an answer: the answer that
    /// stands for it, logged; its orphans killed.
    private func ended(_ pid: pid_t, run: Supervisor.Run) -> Finished {
        var worker = workers.removeValue(forKey: pid)!
        var run = run
        _ = Supervisor.read(worker.results, into: &worker.buffer)   // what it wrote just before it ended
        let answer = WorkerAnswer.decode(worker.buffer)
        run.pluginCodeRan = worker.progress.pointee.pluginCode != 0
        if worker.progress.pointee.deadline != 0 {
            run.timeoutMilliseconds = worker.progress.pointee.timeoutMilliseconds
            if worker.progress.pointee.level >= 0 { run.level = UInt32(worker.progress.pointee.level) }
        }
        close(worker.lifeline)
        close(worker.results)
        munmap(worker.progress, MemoryLayout<WorkerProgress>.size)
        // Whatever it started, however it forked, came to the batch.
        ProcessTree.killDescendants(sparing: Set(workers.keys).union(answered).union(spared))
        if let answer, run.interruption == nil, !run.unanswered { return Finished(tag: worker.tag, status: answer.status) }
        let result = runner.answer(run, request: worker.request)
        _ = runner.report(result, request: worker.request, level: run.level, started: worker.started, timing: nil)
        return Finished(tag: worker.tag, status: result.status.rawValue)
    }

    /// Reaps every child that ended: a running worker → its answer (or the
    /// one that stands for it); an answered one → forgotten; anything else
    /// (a killed orphan, a spared daemon that died) → reaped only.
    private func reap(into finished: inout [Finished]) {
        var status: Int32 = 0
        while true {
            let pid = waitpid(-1, &status, WNOHANG)
            if pid <= 0 {
                if pid < 0 && errno == EINTR { continue }
                return
            }
            if workers[pid] != nil {
                var run = Supervisor.Run()
                run.waitStatus = status
                finished.append(ended(pid, run: run))
            } else {
                answered.remove(pid)
                spared.remove(pid)
            }
        }
    }
}
