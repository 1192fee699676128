/// A resource type: what a plugin author writes. One value is made per
/// action from the resource's attributes (``init(resource:)``), asked to do
/// one action, and dropped.
///
/// ```swift
/// struct Echo: ResourceType {               // in target Echo: type name "echo"
///     static let summary = "An example"
///     static let greeting = Attribute.string("greeting", default: "hi", "what to say")
///     static let attributes: [Attribute] = [greeting]
///     static let levels = [MonitorLevel(0, "none", checks: "nothing", cost: "none")]
///     let text: String
///     init(resource: Resource) throws(ConfigurationError) { text = resource[Self.greeting] }
///     func start() -> Outcome { .success }
///     func stop() -> Outcome { .success }
///     func probe(level: UInt32) -> Outcome { .success }
/// }
/// ```
///
/// The build generates the entry point and the ELF record from the target
/// (`FSPluginRecordPlugin`): the type must be named like its target.
public protocol ResourceType {
    /// One line for `fshost list`.
    static var summary: String { get }
    /// The attribute schema.
    static var attributes: [Attribute] { get }
    /// Monitoring levels, shallowest first.
    static var levels: [MonitorLevel] { get }
    /// Timeouts, default level, retries.
    static var defaults: ActionDefaults { get }

    /// Reads the attributes it needs. The host has already checked them
    /// against the schema; throw only for what the schema cannot express.
    init(resource: Resource) throws(ConfigurationError)

    /// Processes the resource runs as, for the host's checks.
    var processes: [ProcessPattern] { get }

    /// Deeper checks of the configuration than the schema's (files exist,
    /// binaries are executable). Runs before start and on `validate`.
    func validate() -> Outcome
    /// Start it. Idempotent: starting a running resource succeeds.
    func start() -> Outcome
    /// Stop it. Idempotent: stopping a stopped resource succeeds.
    func stop() -> Outcome
    /// The check of one level alone; the SDK runs levels 0…N in order and
    /// stops at the first that fails. Return `.notRunning` when the resource
    /// is cleanly stopped.
    func probe(level: UInt32) -> Outcome
}

extension ResourceType {
    /// The type name: the plugin target's name in lower case, which the
    /// build writes into the ELF record and the generated entry point (a
    /// plugin does not write it, so it cannot disagree).
    public static var name: String { Exported.typeName ?? String(describing: Self.self).lowercased() }
    /// ``ActionDefaults``' own defaults: level 1, one retry 500 ms apart, standard timeouts.
    public static var defaults: ActionDefaults { ActionDefaults() }
    /// No declared process: the host checks none.
    public var processes: [ProcessPattern] { [] }
    /// Nothing beyond the host's schema checks.
    public func validate() -> Outcome { .success }
}

/// A type that answers `exclusive` itself. Without it the host runs the
/// lowest monitoring level: success means running here.
public protocol ExclusiveCheck: ResourceType {
    /// `.running` or `.notRunning`.
    func exclusive() -> Outcome
}

/// A type with its own local restart. Without it the host runs stop, then
/// start.
public protocol CustomRestart: ResourceType {
    func restart() -> Outcome
}

/// A type whose levels share one read or one state write (the log
/// writer: levels 2 and 3 keep one state value, so a level-3 monitor
/// fsyncs once, not once per level). Without it the SDK runs
/// `probe(level:)` for every declared level up to the one asked, in order.
public protocol CustomMonitor: ResourceType {
    /// The monitor at `level` (every shallower level included), with the
    /// same answers as ``ResourceType/probe(level:)`` level by level.
    func monitor(upTo level: UInt32) -> Outcome
}
