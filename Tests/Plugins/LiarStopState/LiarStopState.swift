// Test-only: stop says success and keeps the resource's state (its marker);
// monitor is honest, so fshost verify must blame the stop, not the monitor;
// see LiarKit/SleeperType.swift.
import FSKit
import LiarKit

struct LiarStopState: SleeperType {
    static let summary = "Test-only: stop keeps the resource running, monitor honest (fshost verify must blame the stop)"
    static let lie = Lie.stopKeepsState
    let resource: Resource
    init(checked resource: Resource) { self.resource = resource }
}
