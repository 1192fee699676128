import HAVocabulary
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// Work other than an action run the way an action runs (``Supervisor``):
/// in a worker process that is a subreaper, under a supervisor that outlives
/// it, so that nothing the work starts outlives fshost. For `fshost exec2
/// TIMEOUT RETRIES COMMAND` (the command line, which may live in another
/// module: this is its one entry).
///
/// - The work runs on a thread of the worker while the worker's main thread
///   watches the lifeline (``Watchdog/watch(_:deadline:onTimeout:onOrphaned:)``):
///   fshost killed outright (SIGKILL, its process group) → the worker kills
///   everything below it and exits (``Supervisor/orphaned()``).
/// - fshost gets TERM, HUP or INT → it kills the worker, kills the orphans
///   that come to it, and ``run(keepingStandardOutput:_:)`` returns
///   ``Outcome/interrupted(signal:name:)``.
/// - The work gets `endLeftovers`: SIGKILL to every process below the
///   worker, whatever it forked (setsid included), reaped; one `waitid`
///   when none is left.
public enum SupervisedWork {
    /// How the work ended.
    public enum Outcome: Equatable, Sendable {
        /// The work returned this status (0–255 for exec2).
        case answered(Int32)
        /// fshost received `signal` (TERM, HUP, INT; `name` is `SIGTERM`…):
        /// the worker and everything below it were killed.
        case interrupted(signal: Int32, name: String)
        /// The worker could not be started, or ended without an answer (one
        /// line: why); everything below it was killed.
        case failed(String)
    }

    /// Runs `work` in a supervised worker and returns how it ended. Call
    /// while this process has one thread. `keepingStandardOutput`: the
    /// worker writes to this process's stdout (else stdout goes to stderr).
    public static func run(keepingStandardOutput: Bool,
                           _ work: @escaping (_ endLeftovers: @escaping () -> Void) -> Int32) -> Outcome {
        let run = Supervisor.run(keepingStandardOutput: keepingStandardOutput) { channel in
            let (status, _) = Watchdog.watch({ work(Supervisor.endLeftovers) }, deadline: nil,
                                             onTimeout: { _exit(ExitStatus.timedOut.rawValue) },
                                             onOrphaned: Supervisor.orphaned)
            channel.answer(code: status ?? ExitStatus.hostError.rawValue, json: nil)
            Supervisor.afterAnswer()
        }
        if let answer = run.answer { return .answered(answer.status) }
        // No answer: the worker was killed (by this process, on TERM/HUP/INT)
        // or died. Its orphans came here.
        Supervisor.endLeftovers()
        if let signal = run.interruption {
            return .interrupted(signal: signal, name: Supervisor.signalName(signal))
        }
        if let error = run.startError {
            return .failed("cannot start the worker process: \(String(cString: strerror(error)))")
        }
        let how = run.waitStatus.map(Supervisor.describe(waitStatus:)) ?? "ended"
        return .failed("the worker process \(how) without an answer")
    }
}
