import CDB
import CSystemShims
import HAVocabulary
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// Runs an action in a worker process and outlives it, so that whatever
/// the action or its plugin does to its own process (exit, abort, a crash,
/// a hang, output on stdout), and whatever the cluster manager does to
/// fshost (SIGKILL, TERM, HUP, INT, to it or to its process group), there
/// is one answer and nothing the action started outlives fshost.
///
/// ```
/// cluster manager ── fshost (P, the supervisor: subreaper, TERM/HUP/INT/CHLD on a signalfd)
///                      │ fork, before any plugin code, SQLite or thread exists
///                      └── worker (W: own process group, subreaper, stdout → stderr)
///                            ├── commands the action spawns (each in its own group)
///                            └── whatever the plugin forks; orphans come back to W
/// ```
///
/// - W publishes its progress (the deadline, "plugin code runs from now
///   on") in a shared page, logs its outcome itself, and sends its exit
///   status and `--json` line over a pipe (``WorkerChannel``): P wakes once
///   per call, prints the line and exits with the status, touching almost
///   none of the memory it shares with W (every page written after the
///   fork is copied).
/// - W ends without a result (exit, abort, signal) → P answers
///   `HA_CMD_FAILED` naming the plugin, the action and how the process
///   ended (`HA_HOST_ERROR` if no plugin code had run yet).
/// - P gets TERM, HUP or INT → it kills W and everything below it, and
///   answers `HA_CMD_FAILED` ("cannot tell" is never success).
/// - P is killed outright (SIGKILL, or its group) → W sees its end of the
///   lifeline pipe hang up, kills everything below it, and exits (the
///   resource lock it holds is released only then). Before W watches the
///   pipe (while it finds, verifies and loads the plugin and reads the
///   resource) its parent-death signal's handler ends every descendant of
///   W, then W's process group (``csys_die_with_parent_and_descendants``):
///   what a constructor forked does not outlive fshost either.
/// - W does not answer within 2.5 s after its deadline → P kills it:
///   `HA_TIMEDOUT`. An action's W that has published no deadline within
///   ``setupLimitMilliseconds`` is killed the same way.
/// - Before W answers, it SIGKILLs everything left below it, except after
///   a successful start or restart (the daemon it leaves behind is the
///   point of it); checking costs one `waitid` when nothing is left. P
///   takes the answer and does not wait for W's exit. When W ends without
///   an answer, its orphans come to P, which kills them.
///
/// `fshost exec2 TIMEOUT RETRIES COMMAND` runs its tries the same way
/// (W keeps the caller's stdout: the command's output passes through).
///
/// Cost: one fork and two pipes per call (measured in README's
/// Performance section).
enum Supervisor {
    /// How long after its deadline P waits for W's own timeout report
    /// before killing it: more than W may spend killing what the action
    /// started (``ProcessTree/killDescendants(within:)``, 2 s).
    /// Shortened (never lengthened) for one call by a caller that must
    /// answer before its own caller's timeout (``CallerDeadline``).
    nonisolated(unsafe) static var graceMilliseconds: Int64 = defaultGraceMilliseconds
    static let defaultGraceMilliseconds: Int64 = 2_500

    /// How long P lets an action's W run before it publishes its deadline
    /// (finding, verifying and loading the plugin, reading the resource):
    /// the CDB's busy timeout (the longest wait there,
    /// ``ConfigurationDatabase/defaultBusyTimeoutMilliseconds``) plus 5 s.
    /// A W that hangs before its deadline exists (a plugin constructor, a
    /// file that blocks) is killed then: `HA_TIMEDOUT`.
    static let setupLimitMilliseconds: Int64 = Int64(ConfigurationDatabase.defaultBusyTimeoutMilliseconds) + 5_000

    /// The signals that end an action early (the cluster manager's
    /// timeout, a hang-up, Ctrl-C).
    static let endingSignals: [Int32] = [SIGTERM, SIGHUP, SIGINT]

    /// What P learnt about one run of the worker.
    struct Run {
        /// W's answer (it has logged the outcome itself).
        var answer: WorkerAnswer?
        /// The monitoring level W was using, when known.
        var level: UInt32?
        var pluginCodeRan = false
        var timeoutMilliseconds: Int64?
        /// TERM, HUP or INT that P received.
        var interruption: Int32?
        /// W did not answer by its deadline plus the grace (or, with a
        /// setup limit, published no deadline within it).
        var unanswered = false
        /// How W ended (`waitpid` status), when it was reaped.
        var waitStatus: Int32?
        /// fork or pipe failed: W never ran.
        var startError: Int32?
    }

    /// The worker's end of the lifeline pipe (-1 in P): readable (hung up)
    /// when P is gone. Set once in W before `work` runs.
    nonisolated(unsafe) static var lifeline: Int32 = -1

    /// Forks W, which runs `work` and then exits; returns in P when W has
    /// ended (or was killed). Call while this process has one thread.
    /// `keepingStandardOutput`: W's stdout stays the caller's (`fshost
    /// exec2`, whose command's output passes through; P then writes none);
    /// else it goes to stderr (only P writes stdout: the `--json` object).
    /// `setupLimitMilliseconds`: W is killed (`unanswered`) if it has not
    /// published its deadline by then (nil: no limit, `exec2`'s worker
    /// enforces its own TIMEOUT).
    static func run(keepingStandardOutput: Bool = false, setupLimitMilliseconds: Int64? = nil,
                    _ work: (WorkerChannel) -> Void) -> Run {
        var run = Run()
        var ending = sigset_t()
        sigemptyset(&ending)
        for signal in endingSignals + [SIGCHLD] { sigaddset(&ending, signal) }
        var previousMask = sigset_t()
        sigprocmask(SIG_BLOCK, &ending, &previousMask)
        _ = csys_set_child_subreaper()

        var results: [Int32] = [-1, -1], lifelinePipe: [Int32] = [-1, -1]
        guard let progress = WorkerProgress.map() else { run.startError = errno; return run }
        defer { munmap(progress, MemoryLayout<WorkerProgress>.size) }
        guard csys_pipe_cloexec(&results) == 0 else { run.startError = errno; return run }
        guard csys_pipe_cloexec(&lifelinePipe) == 0 else {
            run.startError = errno
            close(results[0]); close(results[1])
            return run
        }
        let supervisor = getpid()
        let worker = csys_fork()
        if worker < 0 {
            run.startError = errno
            for fd in results + lifelinePipe { close(fd) }
            return run
        }
        if worker == 0 {
            close(results[0]); close(lifelinePipe[1])
            becomeWorker(supervisor: supervisor, previousMask: &previousMask, keepingStandardOutput: keepingStandardOutput)
            lifeline = lifelinePipe[0]
            work(WorkerChannel(fd: results[1], progress: progress))
            afterAnswer()
        }
        close(results[1]); close(lifelinePipe[0])
        _ = setpgid(worker, worker)   // also done by W: whichever runs first
        _ = csys_fcntl_int(results[0], F_SETFL, O_NONBLOCK)
        let signals = csys_signalfd(&ending)
        let setupEnd = setupLimitMilliseconds.map { Deadline.now() + $0 }
        supervise(worker, results: results[0], signals: signals, progress: progress, setupEnd: setupEnd, run: &run)
        if signals >= 0 { close(signals) }
        close(results[0])
        // The lifeline's write end stays open until P exits: closing it now
        // would wake W, whose exit could then run before P's answer.
        return run
    }

    /// W's set-up, right after the fork.
    static func becomeWorker(supervisor: pid_t, previousMask: inout sigset_t, keepingStandardOutput: Bool) {
        _ = setpgid(0, 0)   // a kill of P's group does not reach W
        _ = csys_set_child_subreaper()
        // Until the watchdog watches the lifeline: P's end ends W and all
        // below it (a constructor's fork included), not W alone.
        _ = csys_die_with_parent_and_descendants()
        if getppid() != supervisor { _exit(0) }     // P died before the line above
        signal(SIGPIPE, SIG_IGN)
        // Default actions for crashes: the process just ends with the signal
        // (P reports it in one line) instead of the runtime's multi-KB
        // backtrace on the caller's stderr.
        for crash in [SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS] { signal(crash, SIG_DFL) }
        sigprocmask(SIG_SETMASK, &previousMask, nil)
        // Only P writes stdout (the --json object): a plugin's prints go to stderr.
        if !keepingStandardOutput { _ = dup2(2, 1) }
        let null = csys_open("/dev/null", O_RDONLY | O_CLOEXEC, 0)
        if null >= 0 { _ = dup2(null, 0); close(null) }
    }

    /// W, once it has answered: waits (up to 5 s) until P has ended, then
    /// exits. Exiting at once would tear down W's address space while P
    /// still has to be scheduled to report; sleeping lets P run first, and
    /// W's exit then costs the caller nothing.
    static func afterAnswer() -> Never {
        var fd = pollfd(fd: lifeline, events: Int16(POLLIN), revents: 0)
        while poll(&fd, 1, 5_000) < 0 && errno == EINTR {}
        _exit(0)
    }

    /// W, when P is gone (the lifeline hung up: fshost was killed): ends
    /// every command the work started, whatever it forked, and W itself.
    static func orphaned() -> Never {
        ProcessGroups.shutDown()
        ProcessTree.killDescendants()
        _exit(0)
    }

    /// Called by W's watchdog once the action's thread runs: from here W
    /// notices P's end through the lifeline instead of dying with it.
    static func watchLifeline() { _ = csys_set_parent_death_signal(0) }

    /// P: waits for W's answer, its end, or an ending signal.
    private static func supervise(_ worker: pid_t, results: Int32, signals: Int32,
                                  progress: UnsafeMutablePointer<WorkerProgress>, setupEnd: Int64?, run: inout Run) {
        var buffer: [UInt8] = []
        var resultsOpen = true
        while true {
            // Until W publishes its deadline, look at the page every 100 ms.
            let deadline = progress.pointee.deadline
            var timeout: Int64 = deadline == 0 ? 100 : max(0, deadline + graceMilliseconds - Deadline.now())
            if signals < 0 { timeout = min(timeout, 10) }   // no signalfd: poll for W's end
            // On the stack: no heap page of P is written while it waits.
            var fds = (pollfd(fd: signals, events: Int16(POLLIN), revents: 0),
                       pollfd(fd: resultsOpen ? results : -1, events: Int16(POLLIN), revents: 0))
            let ready = withUnsafeMutableBytes(of: &fds) { raw in
                poll(raw.baseAddress!.assumingMemoryBound(to: pollfd.self), 2, Int32(clamping: timeout))
            }
            if ready < 0 && errno != EINTR { sleepMilliseconds(1) }
            if fds.0.revents != 0, let signal = endingSignal(signals), run.interruption == nil { run.interruption = signal }
            if fds.1.revents != 0 { resultsOpen = read(results, into: &buffer) }
            if let answer = WorkerAnswer.decode(buffer) {
                // The answer is in: W ends on its own (it ended its leftovers
                // before it answered). Not waiting for its exit saves the
                // tear-down of its address space on every call.
                run.answer = answer
                break
            }
            if run.interruption != nil {
                kill(worker, SIGKILL)
                run.waitStatus = reap(worker)
                break
            }
            var status: Int32 = 0
            if waitpid(worker, &status, WNOHANG) == worker {
                run.waitStatus = status
                _ = read(results, into: &buffer)   // what W wrote just before it ended
                run.answer = WorkerAnswer.decode(buffer)
                break
            }
            if deadline != 0 ? Deadline.now() >= deadline + graceMilliseconds
                             : setupEnd.map { Deadline.now() >= $0 } ?? false {
                run.unanswered = true
                kill(worker, SIGKILL)
                run.waitStatus = reap(worker)
                break
            }
        }
        // What W published on the way (for the answer that stands in for a missing one).
        run.pluginCodeRan = progress.pointee.pluginCode != 0
        if progress.pointee.deadline != 0 {
            run.timeoutMilliseconds = progress.pointee.timeoutMilliseconds
            if progress.pointee.level >= 0 { run.level = UInt32(progress.pointee.level) }
        }
    }

    /// Reads what is in the pipe now; false at end of file.
    static func read(_ fd: Int32, into buffer: inout [UInt8]) -> Bool {
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 8192) { chunk in
            while true {
                let n = Glibc.read(fd, chunk.baseAddress!, chunk.count)
                if n > 0 {
                    // A worker has nothing to say beyond a few KiB; more is not an answer.
                    if buffer.count < 1 << 16 { buffer.append(contentsOf: chunk[0..<n]) }
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                return n != 0   // EAGAIN: open, nothing more now
            }
        }
    }

    /// Drains the signalfd `fd`; the first ending signal (TERM, HUP, INT) in it, if any.
    static func endingSignal(_ fd: Int32) -> Int32? {
        let size = Int(csys_signalfd_info_size())
        var first: Int32? = nil
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: size * 8) { buffer in
            while true {
                let n = Glibc.read(fd, buffer.baseAddress!, buffer.count)
                if n < size { return }
                for offset in stride(from: 0, to: n - size + 1, by: size) {
                    let signal = csys_signalfd_signo(buffer.baseAddress! + offset)
                    if endingSignals.contains(signal) && first == nil { first = signal }
                }
            }
        }
        return first
    }

    /// Blocking waitpid for W, after it was sent SIGKILL.
    static func reap(_ worker: pid_t) -> Int32? {
        var status: Int32 = 0
        while true {
            if waitpid(worker, &status, 0) == worker { return status }
            if errno != EINTR { return nil }
        }
    }

    /// SIGKILLs every process left below this one (W's orphans come to it:
    /// it is a subreaper). One `waitid` when nothing is left.
    static func endLeftovers() {
        guard ProcessTree.hasChildren else { return }
        ProcessTree.killDescendants()
    }

    /// `exited with status 0`, `killed by signal 11 (SIGSEGV)`.
    static func describe(waitStatus status: Int32) -> String {
        let signal = status & 0x7F
        if signal == 0 { return "exited with status \((status >> 8) & 0xFF)" }
        return "killed by signal \(signal) (\(signalName(signal)))"
    }

    static func signalName(_ signal: Int32) -> String {
        switch signal {
        case SIGHUP: "SIGHUP"
        case SIGINT: "SIGINT"
        case SIGQUIT: "SIGQUIT"
        case SIGILL: "SIGILL"
        case SIGTRAP: "SIGTRAP"
        case SIGABRT: "SIGABRT"
        case SIGBUS: "SIGBUS"
        case SIGFPE: "SIGFPE"
        case SIGKILL: "SIGKILL"
        case SIGSEGV: "SIGSEGV"
        case SIGPIPE: "SIGPIPE"
        case SIGALRM: "SIGALRM"
        case SIGTERM: "SIGTERM"
        case SIGUSR1: "SIGUSR1"
        case SIGUSR2: "SIGUSR2"
        case SIGSYS: "SIGSYS"
        case SIGXCPU: "SIGXCPU"
        default: "signal \(signal)"
        }
    }
}
