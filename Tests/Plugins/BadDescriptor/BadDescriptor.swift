// Test-only: a descriptor `fshost verify` must find insane before it runs
// anything: a level declared twice, a level without a description or
// cost, a default level that is no level, an attribute without help whose
// default breaks its own range. Its actions would all succeed.
import FSKit

struct BadDescriptor: ResourceType {
    static let summary = "Test-only: an insane descriptor (fshost verify must refuse it)"
    static let copies = Attribute.integer("copies", default: 500, in: 1...100, "")
    static let attributes: [Attribute] = [copies]
    static let levels = [
        MonitorLevel(1, "first", checks: "nothing real", cost: "none"),
        MonitorLevel(1, "again", checks: "", cost: ""),
    ]
    static let defaults = ActionDefaults(level: 7, retries: 0)

    init(resource: Resource) throws(ConfigurationError) {}

    func start() -> Outcome { .success }
    func stop() -> Outcome { .success }
    func probe(level: UInt32) -> Outcome { .success }
}
