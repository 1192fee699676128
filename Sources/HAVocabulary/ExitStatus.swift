/// The exit statuses of `fshost`: FailSafe's scriptlib codes, numbered in the
/// order the guide lists them, plus three of fshost's own. The numbers are
/// the ABI's `FSHOST_HA_*` (`fshost_plugin.h`; HAVocabularyTests holds them
/// equal). A plugin returns the first seven; the SDK's `Status` is this type.
public enum ExitStatus: Int32, Sendable, CaseIterable {
    case success = 0
    case notRunning = 1
    case invalidArguments = 2
    case commandFailed = 3
    case running = 4
    case notSupported = 5
    case noConfigInfo = 6
    /// The plugin file failed a pre-load check; none of its code ran.
    case pluginRefused = 7
    /// The action did not finish before its deadline.
    case timedOut = 8
    /// fshost itself could not do its part (an unsafe or unusable run, state
    /// or lock directory, a lock file that cannot be opened): a problem of
    /// the node's set-up, not evidence that the resource is broken.
    case hostError = 9

    /// FailSafe's name: `HA_SUCCESS`, …
    public var name: String {
        switch self {
        case .success: "HA_SUCCESS"
        case .notRunning: "HA_NOT_RUNNING"
        case .invalidArguments: "HA_INVAL_ARGS"
        case .commandFailed: "HA_CMD_FAILED"
        case .running: "HA_RUNNING"
        case .notSupported: "HA_NOTSUPPORTED"
        case .noConfigInfo: "HA_NOCFGINFO"
        case .pluginRefused: "HA_PLUGIN_REFUSED"
        case .timedOut: "HA_TIMEDOUT"
        case .hostError: "HA_HOST_ERROR"
        }
    }

    /// What it means, for `--help` and the README.
    public var meaning: String {
        switch self {
        case .success: "done; monitor: healthy"
        case .notRunning: "cleanly stopped (monitor, exclusive)"
        case .invalidArguments: "bad command line, unknown action or level, attribute of the wrong type"
        case .commandFailed: "the action failed, or monitor found the resource broken"
        case .running: "exclusive: the resource runs on this node"
        case .notSupported: "unknown resource type, or an action the type does not support"
        case .noConfigInfo: "resource not in the CDB, required attribute missing, CDB unreadable"
        case .pluginRefused: "the plugin file failed a pre-load check; none of its code ran"
        case .timedOut: "the action did not finish before its timeout; its commands were killed"
        case .hostError: "fshost could not do its part (unsafe or unusable run/state directory, lock); not a resource failure"
        }
    }

    /// A status a plugin returned: a plugin answers with the first seven
    /// (``success`` … ``noConfigInfo``); anything else, including the host's
    /// own three, counts as a failure.
    public init(pluginStatus: Int32) {
        self = ExitStatus(rawValue: pluginStatus).flatMap { $0.rawValue <= ExitStatus.noConfigInfo.rawValue ? $0 : nil }
            ?? .commandFailed
    }

    /// The OCF return code that says the same thing, for a cluster manager
    /// that speaks OCF (Pacemaker, through `fshost ocf`: FSHost's `OCFAgent`). Source: the OCF Resource
    /// Agent API, "Return codes" (ClusterLabs OCF-spec, `ra/1.1/resource-agent-api.md`):
    /// 0 success, 1 generic error, 2 invalid argument, 3 unimplemented
    /// feature, 4 insufficient privilege, 5 not installed, 6 not configured,
    /// 7 not running.
    ///
    /// | fshost | OCF | why |
    /// |---|---|---|
    /// | `HA_SUCCESS` | 0 `OCF_SUCCESS` | |
    /// | `HA_NOT_RUNNING` | 7 `OCF_NOT_RUNNING` | cleanly stopped |
    /// | `HA_INVAL_ARGS` | 2 `OCF_ERR_ARGS` | |
    /// | `HA_CMD_FAILED` | 1 `OCF_ERR_GENERIC` | |
    /// | `HA_RUNNING` | 0 `OCF_SUCCESS` | exclusive only: an OCF probe (monitor) answers "running" with 0 |
    /// | `HA_NOTSUPPORTED` | 3 `OCF_ERR_UNIMPLEMENTED` | |
    /// | `HA_NOCFGINFO` | 6 `OCF_ERR_CONFIGURED` | |
    /// | `HA_PLUGIN_REFUSED` | 5 `OCF_ERR_INSTALLED` | the type's code is unusable on this node |
    /// | `HA_TIMEDOUT` | 1 `OCF_ERR_GENERIC` | OCF has no timeout code: the manager times out itself |
    /// | `HA_HOST_ERROR` | 1 `OCF_ERR_GENERIC` | a node set-up problem, not a missing privilege or component |
    public var ocfCode: Int32 {
        switch self {
        case .success, .running: 0
        case .notRunning: 7
        case .invalidArguments: 2
        case .commandFailed, .timedOut, .hostError: 1
        case .notSupported: 3
        case .noConfigInfo: 6
        case .pluginRefused: 5
        }
    }
}
