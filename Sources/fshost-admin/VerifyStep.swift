// One row of `fshost verify`: a static check (ELF, descriptor) or one
// action run through the fshost executable, what the protocol expects of
// it, what it answered, how long it took, and the lie it caught, if any.
import HAVocabulary

struct VerifyStep {
    enum Result: String {
        case passed = "ok"
        case failed = "FAIL"
        /// Not applicable to this type (said why in `detail`).
        case skipped = "skip"
        /// Not run: an earlier step ended the sequence.
        case notRun = "-"

        /// The word `--json` gives.
        var jsonName: String {
            switch self {
            case .passed: "passed"
            case .failed: "failed"
            case .skipped: "skipped"
            case .notRun: "not_run"
            }
        }
    }

    /// What the step checks, e.g. `monitor (stopped)`; named in the exit message.
    var name: String
    /// The words after `fshost TYPE` (action and options), or the static check.
    var command: String
    /// What the protocol expects, e.g. `HA_NOT_RUNNING`.
    var expected: String
    /// What it got: a status name, `killed by a signal`, or a check's verdict.
    var answer: String = ""
    /// The action's exit status (nil: a static check, or not run).
    var code: Int32? = nil
    /// The monitoring level the action ran (its `--json` answer's), if any.
    var level: UInt32? = nil
    var result: Result = .notRun
    /// Wall time, fork to reap, in milliseconds.
    var milliseconds: Int = 0
    /// The action's reason, or the check's finding.
    var detail: String? = nil
    /// The lie this step caught (``VerifyLie``), if any.
    var lie: VerifyLie? = nil
    /// A check of the file or descriptor, not an action: its failure is a
    /// refused plugin (status 7).
    var isStatic = false
}

/// The lies `fshost verify` names: each a way a plugin can answer what
/// the cluster manager wants to hear instead of what is so.
enum VerifyLie: String, CaseIterable {
    /// Monitor answers success on a stopped resource (its level checks
    /// something, yet cannot tell stopped from running).
    case monitorAlwaysSucceeds = "monitor always says success"
    /// Stop answers success and leaves a declared process running (the
    /// host's scanner found it; the host stopped it).
    case stopLeavesProcess = "stop leaves its process running"
    /// Stop answers success and the resource still runs: monitor, which
    /// said not running before start, says success after stop.
    case stopKeepsRunning = "stop leaves the resource running"
    /// Start answers success before the resource answers its deepest level.
    case startReturnsEarly = "start returns before the resource answers"
    /// Exclusive answers not running on a started resource.
    case exclusiveNeverRunning = "exclusive always says not running"
}
