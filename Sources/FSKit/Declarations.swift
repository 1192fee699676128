import HAVocabulary

/// One attribute of a resource type: what `fshost describe` prints and
/// what the host validates before any action runs (kind, required, and the
/// constraints: allowed values, minimum, maximum).
///
/// Declare attributes typed, with the factories in `TypedAttribute.swift`
/// (`Attribute.port("port", default: 80, "…")`), and read them typed
/// (`resource[Self.port]` is an `Int`). The untyped initialiser below is
/// the first SDK's form and still works.
///
/// A class, so a list `[Attribute]` can hold typed attributes of different
/// value types; every property is a constant (hence `@unchecked Sendable`).
public class Attribute: @unchecked Sendable {
    /// Value kinds, in ABI order (`FSHOST_ATTR_*`): the host's own
    /// ``AttributeKind`` (HAVocabulary), so the SDK keeps no mirror.
    public typealias Kind = AttributeKind
    /// The attribute's name in the CDB (`port`, `start_command`).
    public let name: String
    /// Its value kind, which the host checks before any action runs.
    public let kind: Kind
    /// The resource must set it (`HA_NOCFGINFO` otherwise).
    public let isRequired: Bool
    /// Default in canonical text (`"8080"`, `"5000ms"`, `"true"`, `"[\"nginx\"]"`).
    public let defaultValue: String?
    /// One line for `fshost describe`: what it sets, its units, its default's meaning.
    public let description: String
    /// Allowed values, minimum and maximum, enforced by the host.
    public let constraint: AttributeConstraint
    /// Never printed by the host (log, `--json`, errors, `cdb show`/`export`).
    public let isSecret: Bool
    /// Changes only how long or how deep a monitor looks, never where the
    /// resource is found nor how it is started or stopped: `cdb modify`
    /// changes it on a running resource without --force (the ABI's
    /// `FSHOST_ATTR_FLAG_MONITOR_ONLY`). Set with ``TypedAttribute/monitorOnly``.
    public let isMonitorOnly: Bool

    /// An untyped attribute (read it with ``Resource/string(_:)`` and friends).
    public init(_ name: String, _ kind: Kind, required: Bool = false, default defaultValue: String? = nil,
                _ description: String) {
        self.name = name
        self.kind = kind
        self.isRequired = required
        self.defaultValue = defaultValue
        self.description = description
        self.constraint = AttributeConstraint()
        self.isSecret = false
        self.isMonitorOnly = false
    }

    init(name: String, kind: Kind, required: Bool, defaultValue: String?, description: String,
         constraint: AttributeConstraint, isSecret: Bool, isMonitorOnly: Bool = false) {
        self.name = name
        self.kind = kind
        self.isRequired = required
        self.defaultValue = defaultValue
        self.description = description
        self.constraint = constraint
        self.isSecret = isSecret
        self.isMonitorOnly = isMonitorOnly
    }

    /// Whether the host's text for this attribute can be read: always for
    /// an untyped one; a ``TypedAttribute`` overrides it with its value
    /// type's check. A method, not a protocol the SDK casts to: each first
    /// `as?` of a process to a protocol scans every conformance record
    /// (~25 µs per action, perf, issue 16).
    func readable(from resource: Resource) -> Bool { true }
}

/// A monitoring level. Level semantics follow the FailSafe guide: *present?*,
/// then *responding?*, then deeper end-to-end checks. Running level N runs
/// the probes of every declared level up to N, shallowest first.
public struct MonitorLevel: Sendable {
    /// The level's number (0, 1, 2, …): `monitor --level N` runs levels up to N.
    public var number: UInt32
    /// A short name for tables and `fshost verify` (`process`, `port`, `http`).
    public var name: String
    /// What it checks.
    public var description: String
    /// What it costs, so an administrator can choose ("one /proc scan").
    public var cost: String

    /// Level `number` called `name`: what it `checks`, and what it `cost`s.
    public init(_ number: UInt32, _ name: String, checks description: String, cost: String) {
        self.number = number
        self.name = name
        self.description = description
        self.cost = cost
    }
}

/// Actions, in ABI order: the host's own ``ActionName`` (HAVocabulary).
public typealias Action = ActionName

/// Defaults for the host settings; a resource overrides them in the CDB and
/// an operator on the command line.
public struct ActionDefaults: Sendable {
    /// Each action's timeout; an action left out gets ``standardTimeouts``'s.
    public var timeouts: [Action: Duration]
    /// The monitoring level monitor runs when the resource sets none (must be declared).
    public var level: UInt32
    /// Extra monitor probes before a failure is declared (the guide: "testing
    /// more than once before declaring failure is a good idea").
    public var retries: UInt32
    /// The pause between monitor's probes.
    public var retryInterval: Duration
    /// The timeouts of ``init(timeout:level:retries:retryInterval:)``, asked
    /// before ``timeouts``.
    private var declaredTimeout: (@Sendable (Action) -> Duration?)? = nil

    /// The defaults; every parameter sets the property of its name.
    public init(timeouts: [Action: Duration] = [:], level: UInt32 = 1, retries: UInt32 = 1,
                retryInterval: Duration = .milliseconds(500)) {
        self.timeouts = timeouts
        self.level = level
        self.retries = retries
        self.retryInterval = retryInterval
    }

    /// The defaults, each action's timeout given by `timeout` (nil: the
    /// standard one), typically a `switch`. The same as a `timeouts`
    /// dictionary, without building one: a `[Action: Duration]` literal
    /// costs every plugin entry first-use metadata and a conformance scan
    /// (~25 µs, perf, issue 10). ``timeouts`` stays empty.
    public init(timeout: @escaping @Sendable (Action) -> Duration?, level: UInt32 = 1, retries: UInt32 = 1,
                retryInterval: Duration = .milliseconds(500)) {
        self.init(level: level, retries: retries, retryInterval: retryInterval)
        declaredTimeout = timeout
    }

    /// Long enough that an occasional slow answer is not a false failover:
    /// ``standardTimeout(_:)`` of every action.
    public static let standardTimeouts: [Action: Duration] = {
        var all: [Action: Duration] = [:]
        for action in Action.allCases { all[action] = standardTimeout(action) }
        return all
    }()

    /// The standard timeout of `action`. A switch: the dictionary above,
    /// built on every plugin entry, cost ~40 µs of first-use metadata and
    /// conformance lookups per action (perf, issue 16).
    public static func standardTimeout(_ action: Action) -> Duration {
        switch action {
        case .exclusive, .validate: .seconds(10)
        case .start, .stop: .seconds(60)
        case .monitor: .seconds(20)
        case .restart: .seconds(120)
        }
    }

    func timeout(_ action: Action) -> Duration {
        if let declaredTimeout, let declared = declaredTimeout(action) { return declared }
        // An empty `timeouts` (the common declaration) is not even hashed into.
        if !timeouts.isEmpty, let declared = timeouts[action] { return declared }
        return Self.standardTimeout(action)
    }
}

/// A process the resource runs as: the host checks it exists after start,
/// is gone after stop (escalating TERM → KILL), and exists whenever monitor
/// reports success. The matching rules are the host's one matcher (see
/// `fshost_process_pattern` in the ABI header).
public struct ProcessPattern: Sendable, Equatable {
    /// The process name: comm, or the basename of argv[0] or of its
    /// executable (a name longer than comm's 15 bytes matches), or the first
    /// word of a title the server rewrote; a name with a '/' is a path.
    public var name: String
    /// A whole argument (or a whole word of a rewritten title) the process
    /// must carry, e.g. the config path, so a second instance with another
    /// configuration is not mistaken for this one. Never a substring match.
    public var argument: String?
    /// The process the plugin believes this is (from its pidfile and state):
    /// the host checks that pid directly and scans /proc only when the hint
    /// fails, so a monitor costs the same on a node with 5,000 processes.
    public var hint: ProcessIdentity?
    /// The real uid the process must run as (nil: any the host's owner rule
    /// admits). Set it for a daemon that runs as a service account: the
    /// host's owner rule admits any user's process of a trusted root-owned
    /// program (`/usr/lib/postgresql/15/bin/postgres -D <victim's data
    /// directory> -D <own>` run by another local user), so without an owner
    /// such a look-alike would count as running, and be signalled.
    public var owner: UInt32?

    /// A pattern; every parameter sets the property of its name.
    public init(name: String, argument: String? = nil, hint: ProcessIdentity? = nil, owner: UInt32? = nil) {
        self.name = name
        self.argument = argument
        self.hint = hint
        self.owner = owner
    }
}
