// Test-only: start detaches `sleep TOKEN` with the SDK (Detach: the launch
// mark in its environment) and declares no process; stop leaves it. The
// host cannot see it (nothing declared): fshost verify must find it by the
// mark; see LiarKit/SleeperType.swift.
import FSKit
import LiarKit

struct LiarUndeclared: SleeperType {
    static let summary = "Test-only: stop leaves an undeclared detached process (fshost verify must find it by its mark)"
    static let lie = Lie.stopLeavesUndeclaredProcess
    let resource: Resource
    init(checked resource: Resource) { self.resource = resource }
}
