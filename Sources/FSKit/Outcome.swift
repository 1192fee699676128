import HAVocabulary

/// The answer of an action, in FailSafe's status codes: the host's own
/// ``ExitStatus`` (HAVocabulary). A plugin answers with the first seven;
/// the host's own three (refused, timed out, host error) from a plugin
/// count as `HA_CMD_FAILED` (``ExitStatus/init(pluginStatus:)``).
public typealias Status = ExitStatus

/// Text from outside (a pidfile, a command's output) made fit for one log
/// line or reason: the host's own escaping (HAVocabulary's ``LogText``), so
/// a plugin's reason and the host's log line share one dialect.
public typealias LogText = HAVocabulary.LogText

/// What an action returns: a status and, for anything but plain success,
/// the reason an operator reads in the log at 3 a.m.
public struct Outcome: Sendable, Equatable {
    /// The exit status the host answers with (FailSafe's names).
    public var status: Status
    /// One line for the log and `--json` (the host escapes and bounds it); nil: none.
    public var reason: String?

    /// `status` with an optional `reason`.
    public init(_ status: Status, _ reason: String? = nil) {
        self.status = status
        self.reason = reason
    }

    /// Done; for monitor, healthy.
    public static let success = Outcome(.success)
    /// exclusive: the resource runs on this node.
    public static func running(_ reason: String? = nil) -> Outcome { Outcome(.running, reason) }
    /// Cleanly stopped (monitor, exclusive).
    public static func notRunning(_ reason: String? = nil) -> Outcome { Outcome(.notRunning, reason) }
    /// The action or probe failed.
    public static func failed(_ reason: String) -> Outcome { Outcome(.commandFailed, reason) }
    /// A value the resource is configured with cannot work.
    public static func badConfiguration(_ reason: String) -> Outcome { Outcome(.noConfigInfo, reason) }
    /// An argument or attribute value is invalid.
    public static func invalid(_ reason: String) -> Outcome { Outcome(.invalidArguments, reason) }

    /// The status is `HA_SUCCESS`.
    public var isSuccess: Bool { status == .success }
}

/// A configuration problem found while reading a resource's attributes.
public struct ConfigurationError: Error, Sendable {
    /// What the action answers (`HA_NOCFGINFO` or `HA_INVAL_ARGS`, naming the attribute).
    public var outcome: Outcome
    /// The error that answers `outcome`.
    public init(_ outcome: Outcome) { self.outcome = outcome }
    /// A required attribute is missing or unusable.
    public static func missing(_ key: String) -> ConfigurationError {
        ConfigurationError(.badConfiguration("attribute '\(key)' is not set"))
    }
}
