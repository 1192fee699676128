// Test-only: an honest sleeper whose monitor takes 2 s, so a test can
// interrupt fshost verify in the middle of its sequence; see
// LiarKit/SleeperType.swift.
import FSKit
import LiarKit

struct SlowSleeper: SleeperType {
    static let summary = "Test-only: an honest sleeper with a 2 s monitor (interrupting fshost verify)"
    static let lie = Lie.none
    static let probeDelay = Duration.seconds(2)
    let resource: Resource
    init(checked resource: Resource) { self.resource = resource }
}
