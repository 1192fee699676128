import CDB
import Management
import TestSupport
import XCTest

/// The schema of the `testfixture` plugin (Tests/Plugins/TestFixture),
/// given directly so the CDB's logic is tested without loading a plugin.
let fixtureSchema = AttributeSchema(pluginSpecs: [
    AttributeSpec(name: "port", kind: .port, required: true),
    AttributeSpec(name: "label", kind: .string, defaultValue: "fixture"),
    AttributeSpec(name: "enabled", kind: .boolean, defaultValue: "true"),
    AttributeSpec(name: "hang", kind: .duration, defaultValue: "0ms"),
    AttributeSpec(name: "fail_probes", kind: .integer, defaultValue: "0"),
    AttributeSpec(name: "command", kind: .argv),
    AttributeSpec(name: "marker", kind: .path),
])

/// Schemas by type for the editor: `testfixture`, plus `other` (one
/// optional string), anything else is unknown.
func fixtureSchemas(_ type: String) throws -> AttributeSchema {
    switch type {
    case "testfixture": return fixtureSchema
    case "other": return AttributeSchema(pluginSpecs: [AttributeSpec(name: "note", kind: .string)])
    default: throw SchemaUnavailable(status: 5, message: "unknown resource type '\(type)': no plugin")
    }
}

extension CDBTestCase {
    func editor(_ database: ConfigurationDatabase? = nil) throws -> CDBEditor {
        CDBEditor(database: try database ?? writer(), schemaFor: fixtureSchemas)
    }

    /// The AdminError `body` throws (fails the test if none).
    func adminError<T>(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) -> AdminError? {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as AdminError {
            return error
        } catch {
            XCTFail("expected an AdminError, got \(error)", file: file, line: line)
        }
        return nil
    }
}
