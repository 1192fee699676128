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

    /// Must equal the plugin target's name in lower case: the build writes
    /// that name into the ELF record the host checks before loading.
    static let name = "template"
    static let summary = "Example resource type: every action succeeds (copy it to start a new type)"

    /// The attribute schema. The host validates a resource's attributes
    /// against it (unknown key, wrong type, missing required) before any
    /// action runs, and `fshost describe template` prints it.
    static let attributes = [
        Attribute("note", .string, default: "", "free text, shown by `fshost cdb show`; an example attribute"),
    ]

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

    /// Read the attributes once; the host has already checked their types.
    init(resource: Resource) throws(ConfigurationError) {
        note = resource.string("note") ?? ""
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

/// The one symbol the host looks up after the ELF checks pass.
@_cdecl("fshost_plugin_entry")
public func fshostPluginEntry() -> PluginEntry { PluginEntry(exporting: Template.self) }
