import Foundation
import TestSupport
import XCTest
@testable import CDB

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

/// A test case with a private temporary directory (mode 0700) removed
/// afterwards.
class CDBTestCase: XCTestCase {
    var directory = ""
    var path: String { directory + "/cdb.sqlite" }

    override func setUpWithError() throws {
        var template = Array("/tmp/cdbtest.XXXXXX".utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) else {
            throw SetupFailure("mkdtemp: \(String(cString: strerror(errno)))")
        }
        directory = String(cString: made)
    }

    override func tearDownWithError() throws {
        chmod(directory, 0o700)
        try? FileManager.default.removeItem(atPath: directory)
    }

    func writer() throws -> ConfigurationDatabase {
        try ConfigurationDatabase(path: path, mode: .readWrite)
    }

    func reader() throws -> ConfigurationDatabase {
        try ConfigurationDatabase(path: path, mode: .readOnly)
    }

    func editor(_ database: ConfigurationDatabase? = nil) throws -> CDBEditor {
        CDBEditor(database: try database ?? writer(), schemaFor: fixtureSchemas)
    }

    /// Asserts that `body` throws exactly `expected`.
    func assertThrows<T>(_ expected: CDBError, file: StaticString = #filePath, line: UInt = #line,
                         _ body: () throws -> T) {
        do {
            _ = try body()
            XCTFail("expected \(expected)", file: file, line: line)
        } catch let error as CDBError {
            XCTAssertEqual(error, expected, file: file, line: line)
        } catch {
            XCTFail("expected \(expected), got \(error)", file: file, line: line)
        }
    }

    /// The CDBError `body` throws (fails the test if none).
    func cdbError<T>(file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T) -> CDBError? {
        do {
            _ = try body()
            XCTFail("expected an error", file: file, line: line)
        } catch let error as CDBError {
            return error
        } catch {
            XCTFail("expected a CDBError, got \(error)", file: file, line: line)
        }
        return nil
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

    /// Bytes, size and modification time of a file (nil if absent).
    struct Fingerprint: Equatable {
        var size: Int
        var modified: String
        var mode: UInt32
        var bytes: Data
    }

    func fingerprint(_ file: String) -> Fingerprint? {
        var st = stat()
        guard stat(file, &st) == 0, let data = FileManager.default.contents(atPath: file) else { return nil }
        return Fingerprint(size: Int(st.st_size), modified: "\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)",
                           mode: st.st_mode, bytes: data)
    }

    func listing() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
    }
}
