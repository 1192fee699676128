// Test-only: an honest sleep process (fshost verify's control); see LiarKit/SleeperType.swift.
import FSKit
import LiarKit

struct Sleeper: SleeperType {
    static let summary = "Test-only: an honest sleep process (fshost verify's control)"
    static let lie = Lie.none
    let resource: Resource
    init(checked resource: Resource) { self.resource = resource }
}
