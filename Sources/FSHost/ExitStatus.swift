import FSPluginABI

/// The exit statuses of `fshost`: FailSafe's scriptlib codes, numbered in the
/// order the guide lists them, plus three of fshost's own.
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

    /// A status a plugin returned; anything unknown counts as a failure.
    init(pluginStatus: Int32) {
        self = ExitStatus(rawValue: pluginStatus).flatMap { $0.rawValue <= Int32(FSHOST_HA_NOCFGINFO) ? $0 : nil }
            ?? .commandFailed
    }
}

/// A failure of the host itself, with the status to exit with and a
/// one-line message naming the problem (the file, the key, the symbol).
public struct HostError: Error, CustomStringConvertible, Sendable {
    public let status: Int32
    public let message: String

    public init(_ status: ExitStatus, _ message: String) {
        self.status = status.rawValue
        self.message = message
    }

    public var exitStatus: ExitStatus { ExitStatus(rawValue: status) ?? .commandFailed }
    public var description: String { message }
}
