// The template resource type: FailSafe's /usr/lib/failsafe/resource_types/template
// as an fshost plugin. `fshost scaffold NAME` copies this file; every new
// plugin starts here. It answers every action with success and has one
// monitoring level, 0, "return success" — what the FailSafe guide prescribes
// for a resource that needs no monitoring (kernel IP filtering, say).
//
// A plugin is one type conforming to `ResourceType`, plus the entry symbol at
// the bottom. Read it top to bottom: attributes, levels, then the actions.
import FSKit

struct Template: ResourceType {
    // MARK: Description

    // The type's name is the target's name in lower case ("template"): the
    // build writes it into the ELF record and generates the entry point
    // that exports this type, which must be named like its target.
    static let summary = "Example resource type: every action succeeds (copy it to start a new type)"

    /// Each attribute is declared once: name, kind, default, help and
    /// constraints (`oneOf:`, `in:`, `.positiveDuration`, `.ipAddress`,
    /// `.user`, `.secret`). The host checks a resource against them (unknown
    /// key, wrong kind, missing required, a constraint broken) before any
    /// action runs, and `fshost describe template` prints them.
    static let note = Attribute.string("note", default: "", "free text, shown by `fshost cdb show`; an example attribute")

    /// The schema: every declared attribute, listed once.
    static let attributes: [Attribute] = [note]

    /// Monitoring levels, shallowest first. Level 0 checks nothing: the
    /// guide's "return-success" monitor.
    static let levels = [
        MonitorLevel(0, "none", checks: "nothing: the resource needs no monitoring", cost: "none"),
    ]

    /// Timeouts, default level and retries. Timeouts long enough that an
    /// occasional anomaly is not a false failover.
    static let defaults = ActionDefaults(level: 0, retries: 0)

    // MARK: Configuration

    let note: String

    /// Read the attributes, typed: the host has applied the defaults and
    /// checked kinds and constraints, so there is nothing to check here.
    init(resource: Resource) throws(ConfigurationError) {
        note = resource[Self.note]
    }

    /// Processes this resource runs as; the host checks they exist after
    /// start and are gone after stop. The template runs none.
    var processes: [ProcessPattern] { [] }

    // MARK: Actions

    /// Checks the schema cannot express (files exist, binaries executable).
    func validate() -> Outcome { .success }

    /// Start the resource. Idempotent: starting a running resource succeeds.
    func start() -> Outcome { .success }

    /// Stop the resource. Idempotent: stopping a stopped resource succeeds.
    func stop() -> Outcome { .success }

    /// The check of one monitoring level. Return `.notRunning` when the
    /// resource is cleanly stopped, `.failed(reason)` when it is broken.
    func probe(level: UInt32) -> Outcome { .success }
}

// Optional actions. Without these conformances the host derives them:
// exclusive from the lowest monitoring level, restart as stop then start.

extension Template: ExclusiveCheck {
    /// Is the resource already running on this node? `.running` or `.notRunning`.
    func exclusive() -> Outcome { .notRunning() }
}

extension Template: CustomRestart {
    /// A local restart after a monitor failure.
    func restart() -> Outcome { .success }
}

// No entry point to write: the build generates `fshost_plugin_entry` (and the
// ELF record) from the target's name.
