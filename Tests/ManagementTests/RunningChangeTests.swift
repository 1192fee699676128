import XCTest
@testable import CDB
@testable import Management

/// Which changes of a running resource need --force (`RunningChange`, the
/// one rule of `cdb modify`, `modify-type` and `import`): every plugin
/// attribute but those its type declares monitor-only, and never a host
/// setting. A schema that is unknown frees only the host settings.
final class RunningChangeTests: XCTestCase {
    let schema: AttributeSchema = {
        var timeout = AttributeSpec(name: "list_timeout", kind: .duration)
        timeout.isMonitorOnly = true
        return AttributeSchema(pluginSpecs: [AttributeSpec(name: "path", kind: .string), timeout])
    }()

    func testMonitorOnlyAttributesAndHostSettingsChangeWhileRunning() {
        XCTAssertEqual(RunningChange.keysNeedingStopped(["list_timeout", "monitor_timeout", "retries"], schema: schema), [])
        XCTAssertEqual(RunningChange.keysNeedingStopped(["path", "list_timeout"], schema: schema), ["path"])
        XCTAssertEqual(RunningChange.keysNeedingStopped(from: ["path": "/a", "list_timeout": "2s"],
                                                        to: ["path": "/a", "list_timeout": "3s"], schema: schema), [])
        XCTAssertEqual(RunningChange.keysNeedingStopped(from: ["path": "/a"], to: ["path": "/b"], schema: schema), ["path"])
    }

    func testAnUnknownSchemaFreesOnlyTheHostSettings() {
        XCTAssertEqual(RunningChange.keysNeedingStopped(["list_timeout", "monitor_timeout"], schema: nil), ["list_timeout"])
        XCTAssertTrue(RunningChange.needsStopped("list_timeout"))
        XCTAssertFalse(RunningChange.needsStopped("list_timeout", spec: schema.spec("list_timeout")))
    }
}
