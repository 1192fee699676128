import CSystemShims
import HAVocabulary
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// The supervisor of a FailSafe batch's workers: a pool of at most
/// `parallel` workers, each a fork of the batch that loads the plugin once
/// and runs the batch's resources one after another (``PoolWorker``), as
/// one FailSafe action script process handled every resource of its call.
/// The batch keeps the queue: a worker gets its next resource over its job
/// pipe only once it has answered the last one, so it never holds a
/// resource it has not begun. No plugin code runs in the batch's process.
///
/// Each resource keeps every guarantee of one call's worker
/// (``ActionRunner/perform(_:channel:started:pool:)``: its own lock,
/// deadline and watchdog, its commands killed before it answers), and the
/// batch supervises each as ``Supervisor`` supervises one:
/// - its answer comes over its worker's pipe; its progress (deadline, the
///   job begun, "plugin code runs") on its worker's shared page, reset by
///   the batch before the job is sent;
/// - a worker that ends without answering its resource → the answer that
///   stands for it (``ActionRunner/answer(_:request:)``: `HA_CMD_FAILED`
///   naming the plugin, or `HA_HOST_ERROR` before plugin code), logged;
///   a resource it was sent but had not begun goes back to the queue
///   (once), as do the ones no worker had yet;
/// - no answer by the resource's deadline plus
///   ``Supervisor/graceMilliseconds``, or no deadline
///   ``Supervisor/setupLimitMilliseconds`` after it was sent → the worker
///   is SIGKILLed, that resource `HA_TIMEDOUT`, and the queue goes on in
///   a new worker;
/// - a worker whose action timed out (its thread is abandoned in plugin
///   code) or whose start left its daemon ends after that answer
///   (``WorkerChannel/retiring()``); a new one takes the queue;
/// - the batch is a subreaper: a dead worker's orphans come to it and are
///   killed (``ProcessTree/killDescendants(sparing:groups:sessions:within:)``), sparing the
///   other workers and the daemons that successful starts left;
/// - the batch SIGKILLed → each worker's lifeline and job pipe hang up
///   (each holds only its own ends: the others' are closed in it): a busy
///   worker kills everything below it, an idle one exits.
///
/// Call from one thread, in a process that has loaded no plugin. TERM, INT,
/// HUP and CHLD must be blocked (the batch takes them on a signalfd).
public final class BatchWorkers {
    /// One resource's answer: the batch's tag for it and its status (0–9);
    /// `error`: why it got `HA_HOST_ERROR` without running (no worker
    /// could be started), for the batch's log.
    public struct Finished: Sendable {
        public let tag: Int
        public let status: Int32
        public var error: String? = nil
    }

    private struct Worker {
        let results: Int32
        /// The write end of the worker's lifeline: open while it may work.
        let lifeline: Int32
        /// The write end of its job pipe.
        let jobs: Int32
        let progress: UnsafeMutablePointer<WorkerProgress>
        var buffer: [UInt8] = []
        /// The job it was sent and has not answered (an index of `requests`); nil: idle.
        var job: Int?
        /// When that job was sent (``Deadline/now()`` ms).
        var sent: Int64 = 0
    }

    private let runner: ActionRunner
    private let signals: Int32
    private let batch: pid_t
    private let parallel: Int
    private let closedInWorkers: [Int32]
    /// The signal mask each worker gets back (the batch's before it blocked).
    private var workerMask: sigset_t
    /// The jobs, in the order given; workers (forks) hold the same list.
    private let requests: [ActionRequest]
    private let tags: [Int]
    /// Jobs no worker has (indexes of `requests`), next first.
    private var queue: [Int]
    private var queueStart = 0
    /// Jobs that went back to the queue once (sent to a worker that ended before it began them).
    private var requeued: Set<Int> = []
    private var workers: [pid_t: Worker] = [:]
    /// Workers that are ending (retired after their last answer, or sent no
    /// more jobs): reaped as they end.
    private var exiting: Set<pid_t> = []
    /// What successful starts left running (below their workers at the
    /// answer): never killed as a dead worker's orphan.
    private var spared: Set<pid_t> = []
    /// The process groups and sessions of those (not the batch's own, nor
    /// a worker's): what a spared daemon forks later and orphans comes to
    /// the batch with no ancestry left, and is spared by these.
    private var sparedGroups: Set<pid_t> = []
    private var sparedSessions: Set<pid_t> = []

    /// Makes the batch's process a subreaper and opens the signalfd of
    /// `signals` (blocked by the caller). `workerMask`: the mask workers
    /// run with (the one the batch had before it blocked its signals).
    /// `jobs`: the batch's tag for each resource and its request, queued in
    /// this order; `parallel`: the most workers at once (≥ 1);
    /// `closedInWorkers`: the batch's descriptors no worker may hold (OUT's
    /// temporary file and its directory): closed in each worker after the
    /// fork (a fork without exec keeps `O_CLOEXEC` descriptors).
    public init(runner: ActionRunner, signals waited: sigset_t, workerMask: sigset_t,
                jobs: [(tag: Int, request: ActionRequest)], parallel: Int, closedInWorkers: [Int32] = []) {
        self.runner = runner
        self.closedInWorkers = closedInWorkers
        self.workerMask = workerMask
        self.parallel = max(1, parallel)
        requests = jobs.map(\.request)
        tags = jobs.map(\.tag)
        queue = Array(jobs.indices)
        batch = getpid()
        var set = waited
        signals = csys_signalfd(&set)
        _ = csys_set_child_subreaper()
        // A job sent to a worker that has just ended must not end the batch.
        signal(SIGPIPE, SIG_IGN)
        ProcessTree.prepare()
    }

    deinit { if signals >= 0 { close(signals) } }

    /// Resources being run (sent to a worker, not answered).
    public var running: Int { workers.values.count { $0.job != nil } }

    /// Resources no worker has yet.
    public var waiting: Int { queue.count - queueStart }

    /// Every resource answered.
    public var isDone: Bool { waiting == 0 && running == 0 }

    /// Takes the resources no worker has yet out of the queue (they will
    /// not run); returns their tags.
    public func dropWaiting() -> [Int] {
        let dropped = queue[queueStart...].map { tags[$0] }
        queue.removeAll()
        queueStart = 0
        retireIdle()
        return dropped
    }

    /// Hands waiting resources to idle workers and starts workers (up to
    /// `parallel`), then waits up to `bound` ms (less when a resource's
    /// deadline or set-up limit comes first) for answers, ends and ending
    /// signals. Returns the resources that got their status, and TERM, INT
    /// or HUP if one came.
    public func wait(bound: Int64) -> (finished: [Finished], stop: Int32?) {
        var finished: [Finished] = []
        dispatch(into: &finished)
        reap(into: &finished)
        if !finished.isEmpty || running == 0 { return (finished, nil) }
        let now = Deadline.now()
        var timeout = max(0, bound)
        for worker in workers.values where worker.job != nil {
            let deadline = worker.progress.pointee.deadline
            let end = deadline == 0 ? min(now + 100, setupEnd(worker))
                                    : deadline + Supervisor.graceMilliseconds
            timeout = min(timeout, max(0, end - now))
        }
        if waiting > 0 && workers.count < parallel {
            timeout = min(timeout, max(0, nextWorkerAt - now))   // time for another worker
        }
        let pids = workers.keys.filter { workers[$0]!.job != nil }
        var fds = [pollfd(fd: signals, events: Int16(POLLIN), revents: 0)]
        for pid in pids { fds.append(pollfd(fd: workers[pid]!.results, events: Int16(POLLIN), revents: 0)) }
        if signals < 0 { timeout = min(timeout, 10) }   // no signalfd: poll for ends
        _ = poll(&fds, nfds_t(fds.count), Int32(clamping: timeout))
        let stop = fds[0].revents != 0 ? Supervisor.endingSignal(signals) : nil
        for (i, pid) in pids.enumerated() where fds[i + 1].revents != 0 {
            guard var worker = workers[pid] else { continue }
            _ = Supervisor.read(worker.results, into: &worker.buffer)
            if let length = WorkerAnswer.length(worker.buffer), let answer = WorkerAnswer.decode(worker.buffer) {
                worker.buffer.removeFirst(length)
                workers[pid] = worker
                finished.append(answered(pid, status: answer.status))
            } else {
                workers[pid] = worker
            }
        }
        reap(into: &finished)
        // Deadlines: a worker that did not answer in time is killed.
        let later = Deadline.now()
        for (pid, worker) in workers where worker.job != nil {
            let deadline = worker.progress.pointee.deadline
            let late = deadline != 0 ? later >= deadline + Supervisor.graceMilliseconds
                                     : later >= setupEnd(worker)
            guard late else { continue }
            kill(pid, SIGKILL)
            var run = Supervisor.Run()
            run.unanswered = true
            run.waitStatus = Supervisor.reap(pid)
            if let line = ended(pid, run: run) { finished.append(line) }
        }
        return (finished, stop)
    }

    /// When a worker that has not published its job's deadline is killed:
    /// the set-up limit after the job was sent, capped at the job's
    /// ``ActionRequest/deadlineCap`` (the batch's) plus the grace, so a hang
    /// before the deadline is known (a plugin load) still answers before
    /// the batch's caller's timeout (``ActionRunner/setupLimit(_:from:)``).
    private func setupEnd(_ worker: Worker) -> Int64 {
        guard let index = worker.job else { return .max }
        return worker.sent + ActionRunner.setupLimit(requests[index], from: worker.sent)
    }

    /// The batch was told to stop (`signal`: TERM, INT, HUP): every worker
    /// is killed with everything below it, and each resource being run
    /// answers `HA_CMD_FAILED` ("cannot tell" is never success), as one
    /// call's supervisor does. Call ``dropWaiting()`` first.
    public func interrupt(_ signal: Int32) -> [Finished] {
        var finished: [Finished] = []
        for pid in workers.keys { kill(pid, SIGKILL) }
        for pid in Array(workers.keys) {
            var run = Supervisor.Run()
            run.interruption = signal
            run.waitStatus = Supervisor.reap(pid)
            if let line = ended(pid, run: run) { finished.append(line) }
        }
        return finished
    }

    /// Lets every worker end (no job is left for them), and reaps them.
    public func finish() {
        retireIdle()
        for pid in exiting { _ = Supervisor.reap(pid) }
        exiting.removeAll()
    }

    /// How long every worker must have been on its resource before another
    /// worker is started for the ones waiting (ms). A worker costs a fork,
    /// a plugin load and an exit (about 1 ms of CPU); quick resources are
    /// answered sooner by the workers there are, slow or hung ones get a
    /// worker each, up to `parallel`, 5 ms apart.
    static let rampMilliseconds: Int64 = 5

    /// When a fork last failed: the next try waits 100 ms (the running
    /// workers take the queue meanwhile).
    private var forkFailed: Int64 = .min / 2

    /// When another worker may be started for the waiting jobs: every
    /// worker has been on its current resource for ``rampMilliseconds``,
    /// and 100 ms have passed since a fork failed.
    private var nextWorkerAt: Int64 {
        if workers.values.contains(where: { $0.job == nil }) { return .max }
        return max((workers.values.map(\.sent).max() ?? .min / 2) + Self.rampMilliseconds, forkFailed + 100)
    }

    /// Idle workers get the waiting jobs; while jobs still wait, a new
    /// worker is started when there is none, or when every worker has been
    /// busy for ``rampMilliseconds``, up to `parallel`. When none can be
    /// started and none runs, the next job answers `HA_HOST_ERROR`.
    private func dispatch(into finished: inout [Finished]) {
        for pid in Array(workers.keys) where workers[pid]!.job == nil && waiting > 0 {
            send(next(), to: pid)
        }
        while waiting > 0 && workers.count < parallel && (workers.isEmpty || Deadline.now() >= nextWorkerAt) {
            let started = Deadline.now()
            switch fork() {
            case .success(let pid):
                send(next(), to: pid, at: started)
            case .failure(let error):
                forkFailed = Deadline.now()
                if !workers.isEmpty { return }   // the running workers take the queue
                let index = next()
                finished.append(Finished(tag: tags[index], status: ExitStatus.hostError.rawValue,
                    error: "cannot start the worker process for \(requests[index].resource): \(String(cString: strerror(error.code)))"))
            }
        }
        if waiting == 0 { retireIdle() }
    }

    private func next() -> Int {
        let index = queue[queueStart]
        queueStart += 1
        if queueStart == queue.count { queue.removeAll(); queueStart = 0 }
        return index
    }

    /// Sends job `index` to the idle worker `pid`, its page reset first (the
    /// worker only reads its job pipe now). A worker that has just ended
    /// never begins it: ``ended(_:run:)`` queues it again.
    private func send(_ index: Int, to pid: pid_t, at sent: Int64 = Deadline.now()) {
        guard var worker = workers[pid] else { return }
        worker.progress.pointee.resetForNextJob()
        worker.job = index
        worker.sent = sent
        workers[pid] = worker
        let bytes = PoolWorker.Job(index: index, started: sent).encoded
        _ = bytes.withUnsafeBytes { write(worker.jobs, $0.baseAddress!, $0.count) }
    }

    /// The workers with no job stop: their job pipes and lifelines close,
    /// and they exit (reaped as they end).
    private func retireIdle() {
        for (pid, worker) in workers where worker.job == nil {
            workers[pid] = nil
            release(worker)
            exiting.insert(pid)
        }
    }

    private struct ForkError: Error { let code: Int32 }

    /// Forks a pool worker (idle: its first job comes over its pipe).
    private func fork() -> Result<pid_t, ForkError> {
        guard let progress = WorkerProgress.map() else { return .failure(ForkError(code: errno)) }
        var results: [Int32] = [-1, -1], lifeline: [Int32] = [-1, -1], jobs: [Int32] = [-1, -1]
        func undo(_ error: Int32) -> Result<pid_t, ForkError> {
            for fd in results + lifeline + jobs where fd >= 0 { close(fd) }
            munmap(progress, MemoryLayout<WorkerProgress>.size)
            return .failure(ForkError(code: error))
        }
        guard csys_pipe_cloexec(&results) == 0, csys_pipe_cloexec(&lifeline) == 0, csys_pipe_cloexec(&jobs) == 0 else {
            return undo(errno)
        }
        let pid = csys_fork()
        if pid == 0 {
            close(results[0]); close(lifeline[1]); close(jobs[1])
            // The other workers' pipes: their lifelines and job pipes must
            // hang up when the batch dies, not when this worker does; and
            // their progress pages are theirs (a plugin here must not move
            // their deadlines).
            if signals >= 0 { close(signals) }
            for fd in closedInWorkers { close(fd) }
            for other in workers.values {
                close(other.results); close(other.lifeline); close(other.jobs)
                munmap(other.progress, MemoryLayout<WorkerProgress>.size)
            }
            Supervisor.becomeWorker(supervisor: batch, previousMask: &workerMask, keepingStandardOutput: false)
            Supervisor.lifeline = lifeline[0]
            PoolWorker.run(runner: runner, requests: requests, jobs: jobs[0],
                           channel: WorkerChannel(fd: results[1], progress: progress))
        }
        if pid < 0 { return undo(errno) }
        close(results[1]); close(lifeline[0]); close(jobs[0])
        _ = setpgid(pid, pid)   // also done by the worker: whichever runs first
        _ = csys_fcntl_int(results[0], F_SETFL, O_NONBLOCK)
        workers[pid] = Worker(results: results[0], lifeline: lifeline[1], jobs: jobs[1], progress: progress)
        return .success(pid)
    }

    private func release(_ worker: Worker) {
        close(worker.lifeline)
        close(worker.jobs)
        close(worker.results)
        munmap(worker.progress, MemoryLayout<WorkerProgress>.size)
    }

    /// A worker answered its job. One that said it is retiring exits now
    /// (its lifeline is closed); the others wait for their next job.
    private func answered(_ pid: pid_t, status: Int32) -> Finished {
        var worker = workers[pid]!
        let index = worker.job!
        worker.job = nil
        let request = requests[index]
        if worker.progress.pointee.retiring != 0 {
            if status == 0 && (request.action == .start || request.action == .restart) {
                // The daemon it started is the point of it: when the worker
                // exits it comes to the batch, which must not take it for an orphan.
                let daemons = ProcessTree.descendants(of: pid)
                spared.formUnion(daemons)
                let mine = ProcessTree.groupAndSession(of: batch)
                for daemon in daemons {
                    guard let ids = ProcessTree.groupAndSession(of: daemon) else { continue }
                    if ids.group > 0 && ids.group != mine?.group { sparedGroups.insert(ids.group) }
                    if ids.session > 0 && ids.session != mine?.session { sparedSessions.insert(ids.session) }
                }
            }
            workers[pid] = nil
            release(worker)
            exiting.insert(pid)
        } else {
            workers[pid] = worker
        }
        return Finished(tag: tags[index], status: status)
    }

    /// A worker ended (or was killed) without answering its job: the answer
    /// that stands for it, logged, or the job queued again when the worker
    /// had not begun it; its orphans killed. Nil when it had no job, or
    /// its job went back to the queue.
    private func ended(_ pid: pid_t, run: Supervisor.Run) -> Finished? {
        var worker = workers.removeValue(forKey: pid)!
        var run = run
        _ = Supervisor.read(worker.results, into: &worker.buffer)   // what it wrote just before it ended
        let answer = WorkerAnswer.decode(worker.buffer)
        let progress = worker.progress.pointee
        release(worker)
        // Whatever it started, however it forked, came to the batch.
        // Never a living worker's group (each worker leads its own).
        ProcessTree.killDescendants(sparing: Set(workers.keys).union(exiting).union(spared),
                                    groups: sparedGroups.subtracting(workers.keys), sessions: sparedSessions)
        guard let index = worker.job else { return nil }
        let request = requests[index]
        if answer == nil, Self.queuesAgain(begun: progress.job != 0, run: run, queuedBefore: requeued.contains(index)) {
            requeued.insert(index)
            queue.append(index)
            return nil
        }
        run.pluginCodeRan = progress.pluginCode != 0
        if progress.deadline != 0 {
            run.timeoutMilliseconds = progress.timeoutMilliseconds
            if progress.level >= 0 { run.level = UInt32(progress.level) }
        }
        if let answer, run.interruption == nil, !run.unanswered { return Finished(tag: tags[index], status: answer.status) }
        let result = runner.answer(run, request: request)
        _ = runner.report(result, request: request, level: run.level, started: worker.sent, timing: nil)
        return Finished(tag: tags[index], status: result.status.rawValue)
    }

    /// Whether a job whose worker ended without answering it goes back to
    /// the queue: only one the worker had not begun (it ended between its
    /// last answer and reading this job: a plugin thread left from an
    /// earlier resource, say), once, and not when the batch is stopping or
    /// killed the worker at the job's deadline or set-up limit. Any other
    /// gets the answer that stands for it.
    static func queuesAgain(begun: Bool, run: Supervisor.Run, queuedBefore: Bool) -> Bool {
        !begun && run.interruption == nil && !run.unanswered && !queuedBefore
    }

    /// Reaps every child that ended: a worker → its job's answer (or the
    /// one that stands for it); an exiting one → forgotten; anything else
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
                if let line = ended(pid, run: run) { finished.append(line) }
            } else {
                exiting.remove(pid)
                spared.remove(pid)
            }
        }
    }
}
