// Test-only: stop leaves its process running (fshost verify must name it); see LiarKit/SleeperType.swift.
import FSKit
import LiarKit

struct LiarStop: SleeperType {
    static let summary = "Test-only: stop leaves its process running (fshost verify must name it)"
    static let lie = Lie.stopLeavesProcess
    let resource: Resource
    init(checked resource: Resource) { self.resource = resource }
}
