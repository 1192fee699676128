// Test-only: the reviewer's plugin — its only monitoring level is named
// "none", monitor always says success and exclusive always says not running
// (a cluster would start it twice). The name a plugin gives a level must
// buy no exemption: fshost verify must name both lies.
import FSKit

struct LiarNone: ResourceType, ExclusiveCheck {
    static let summary = "Test-only: a single level named none, monitor always success, exclusive never running"
    static let attributes: [Attribute] = []
    static let levels = [MonitorLevel(0, "none", checks: "nothing", cost: "none")]
    static let defaults = ActionDefaults(level: 0, retries: 0)

    init(resource: Resource) throws(ConfigurationError) {}

    var processes: [ProcessPattern] { [] }
    func start() -> Outcome { .success }
    func stop() -> Outcome { .success }
    func probe(level: UInt32) -> Outcome { .success }
    func exclusive() -> Outcome { .notRunning() }
}
