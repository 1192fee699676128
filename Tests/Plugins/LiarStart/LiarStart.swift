// Test-only: start returns before the resource answers (fshost verify must name it); see LiarKit/SleeperType.swift.
import FSKit
import LiarKit

struct LiarStart: SleeperType {
    static let summary = "Test-only: start returns before the resource answers (fshost verify must name it)"
    static let lie = Lie.startReturnsEarly
    let resource: Resource
    init(checked resource: Resource) { self.resource = resource }
}
