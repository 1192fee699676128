import HAVocabulary

/// How much of a caller's timeout (Pacemaker's `OCF_RESKEY_CRM_meta_timeout`,
/// srmd's per-type timeout for a batch) the action itself may take, so that
/// fshost's *final* answer — even for a worker that froze and had to be
/// killed by the supervisor after its grace — comes before the caller kills
/// fshost:
///
///     margin  = 5 % of the caller's timeout, at most 1 s (start-up, the answer)
///     grace   = the supervisor's, 2.5 s, at most a quarter of what is left
///     action  = caller − margin − grace
///
/// e.g. 20 000 ms → 16 500 ms for the action; 5 000 → 3 563; 2 000 → 1 425.
public enum CallerDeadline {
    /// The split of `callerMilliseconds` (> 0).
    public static func split(_ callerMilliseconds: Int64) -> (action: Int64, grace: Int64) {
        let margin = min(callerMilliseconds / 20, 1000)
        let left = max(2, callerMilliseconds - margin)
        let grace = min(Supervisor.defaultGraceMilliseconds, left / 4)
        return (max(1, left - grace), max(1, grace))
    }

    /// Sets this process's supervisor grace for a caller's timeout and
    /// returns the action's timeout (ms).
    public static func apply(_ callerMilliseconds: Int64) -> Int64 {
        let (action, grace) = split(callerMilliseconds)
        Supervisor.graceMilliseconds = min(Supervisor.graceMilliseconds, grace)
        return action
    }
}
