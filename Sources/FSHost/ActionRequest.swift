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
    /// `--retries N`: extra monitor probes, 0 to 100
    /// (``HostSetting/retriesRange``), over the resource's `retries`; nil:
    /// the resource's. `fshost verify` passes 0: a level must pass at once.
    public var retries: UInt32? = nil
    public var json: Bool
    /// The resource's attributes as given, checked against the type's
    /// schema like stored ones; nil: read from the CDB.
    public var suppliedAttributes: SuppliedAttributes? = nil
    /// An OCF monitor depth (`OCF_CHECK_LEVEL`), mapped onto the type's
    /// levels by ``OCFLevels``; used when ``level`` is nil.
    public var checkDepth: UInt32? = nil
    /// An upper bound of the action's deadline (``Deadline/now()``'s clock,
    /// ms): a batch's or OCF's, so that no answer outlives the caller's timeout; it also caps the set-up limit (``ActionRunner/setupLimit(_:from:)``). nil: none.
    public var deadlineCap: Int64? = nil

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

/// A resource's attributes handed to the action instead of read from the
/// CDB: OCF mode's `OCF_RESKEY_*` (the CIB is the configuration), or the
/// batch's one read of the CDB for all its resources.
public struct SuppliedAttributes: Sendable, Equatable {
    /// Raw values, as stored or given.
    public var values: [String: String]
    /// Where they come from, for messages: `OCF_RESKEY_*`, the CDB's path.
    public var source: String

    public init(_ values: [String: String], source: String) {
        self.values = values
        self.source = source
    }
}
