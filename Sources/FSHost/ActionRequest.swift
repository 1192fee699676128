import HAVocabulary

/// What the cluster manager asked for: `fshost <type> <action> <resource>
/// [--level N] [--timeout DURATION] [--json]`, as the `fshost` executable
/// parsed it (its command line is its own; the runtime takes this).
public struct ActionRequest: Sendable, Equatable {
    public var type: String
    public var action: ActionName
    public var resource: String
    public var level: UInt32?
    /// `--timeout DURATION` (``DurationText``: a bare number is seconds),
    /// 1 ms to 24 h (``HostSetting/timeoutRange``).
    public var timeoutMilliseconds: Int64?
    public var json: Bool

    public init(type: String, action: ActionName, resource: String, level: UInt32? = nil,
                timeoutMilliseconds: Int64? = nil, json: Bool = false) {
        self.type = type
        self.action = action
        self.resource = resource
        self.level = level
        self.timeoutMilliseconds = timeoutMilliseconds
        self.json = json
    }
}
