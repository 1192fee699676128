/// A resource type: what a plugin author writes. One value is made per
/// action from the resource's attributes (``init(resource:)``), asked to do
/// one action, and dropped.
///
/// ```swift
/// struct Echo: ResourceType {
///     static let name = "echo"
///     static let summary = "An example"
///     static let attributes = [Attribute("greeting", .string, default: "hi", "what to say")]
///     static let levels = [MonitorLevel(0, "none", checks: "nothing", cost: "none")]
///     init(resource: Resource) throws(ConfigurationError) { … }
///     func start() -> Outcome { .success }
///     func stop() -> Outcome { .success }
///     func probe(level: UInt32) -> Outcome { .success }
/// }
/// @_cdecl("fshost_plugin_entry")
/// public func fshostPluginEntry() -> PluginEntry { PluginEntry(exporting: Echo.self) }
/// ```
public protocol ResourceType {
    /// The type name: lower case, equal to the plugin target's name in lower
    /// case (the build writes that into the ELF record; the host compares).
    static var name: String { get }
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
    public static var defaults: ActionDefaults { ActionDefaults() }
    public var processes: [ProcessPattern] { [] }
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
