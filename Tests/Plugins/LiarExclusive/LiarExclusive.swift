// Test-only: exclusive always says not running (fshost verify must name it); see LiarKit/SleeperType.swift.
import FSKit
import LiarKit

struct LiarExclusive: SleeperType {
    static let summary = "Test-only: exclusive always says not running (fshost verify must name it)"
    static let lie = Lie.exclusiveNeverRunning
    let resource: Resource
    init(checked resource: Resource) { self.resource = resource }
}
