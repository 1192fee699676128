// Test-only: computing its descriptor hangs when FSHOST_TEST_HANG_LOAD is
// set (a plugin that blocks while the host loads it, before any action);
// without it, an ordinary do-nothing type, so the suites that list every
// plugin of the build are not slowed. The admin commands that load plugins
// must answer within their load deadline.
import FSKit
#if canImport(Glibc)
import Glibc
#endif

struct HangLoad: ResourceType {
    static var summary: String {
        if getenv("FSHOST_TEST_HANG_LOAD") != nil { while true { sleep(60) } }
        return "Test-only: hangs while loading when FSHOST_TEST_HANG_LOAD is set"
    }
    static let attributes: [Attribute] = []
    static let levels = [MonitorLevel(0, "none", checks: "nothing", cost: "none")]
    static let defaults = ActionDefaults(level: 0, retries: 0)

    init(resource: Resource) throws(ConfigurationError) {}

    var processes: [ProcessPattern] { [] }
    func start() -> Outcome { .success }
    func stop() -> Outcome { .success }
    func probe(level: UInt32) -> Outcome { .success }
}
