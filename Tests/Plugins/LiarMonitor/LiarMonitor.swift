// Test-only: monitor always says success (fshost verify must name it); see LiarKit/SleeperType.swift.
import FSKit
import LiarKit

struct LiarMonitor: SleeperType {
    static let summary = "Test-only: monitor always says success (fshost verify must name it)"
    static let lie = Lie.monitorAlwaysSucceeds
    let resource: Resource
    init(checked resource: Resource) { self.resource = resource }
}
