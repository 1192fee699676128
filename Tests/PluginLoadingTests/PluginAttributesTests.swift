import CDB
import FSPluginABI
import XCTest
@testable import PluginLoading
#if canImport(Glibc)
import Glibc
#endif

/// The host reads a plugin's attribute array with the stride the plugin was
/// built with: a plugin built before the constraint fields were appended
/// (32-byte `fshost_attribute`) still loads, without constraints; a current
/// one gives its allowed values, bounds and secret flag.
final class PluginAttributesTests: XCTestCase {
    /// `fshost_attribute` as the first header declared it: 32 bytes on LP64.
    struct FirstAttribute {
        var name: UnsafePointer<CChar>?
        var type: UInt32
        var required: UInt32
        var defaultValue: UnsafePointer<CChar>?
        var description: UnsafePointer<CChar>?
    }

    func descriptor(attributes: UnsafeRawPointer, count: UInt32, stride: UInt32) -> fshost_plugin {
        var d = fshost_plugin()
        d.struct_size = UInt32(MemoryLayout<fshost_plugin>.size)
        d.attribute_count = count
        d.attributes = attributes.assumingMemoryBound(to: fshost_attribute.self)
        d.attribute_size = stride
        return d
    }

    func testAFirstABIArrayIsReadWithItsOwnStride() {
        XCTAssertEqual(MemoryLayout<FirstAttribute>.stride, 32)
        XCTAssertEqual(PluginAttributes.firstStride, 32)
        let names: [UnsafeMutablePointer<CChar>] = [strdup("port")!, strdup("label")!]
        defer { free(names[0]); free(names[1]) }
        let old = [FirstAttribute(name: names[0], type: UInt32(FSHOST_ATTR_PORT), required: 1, defaultValue: nil, description: nil),
                   FirstAttribute(name: names[1], type: UInt32(FSHOST_ATTR_STRING), required: 0, defaultValue: nil, description: nil)]
        let specs: [AttributeSpec] = old.withUnsafeBytes { raw in
            PluginAttributes.read(descriptor(attributes: raw.baseAddress!, count: 2, stride: 32),
                                  structSize: MemoryLayout<fshost_plugin>.size)
        }
        XCTAssertEqual(specs.map(\.name), ["port", "label"], "the second element found at 32 bytes, not at the current stride")
        XCTAssertEqual(specs.map(\.kind), [.port, .string])
        XCTAssertEqual(specs[0].required, true)
        XCTAssertEqual(specs.map(\.allowedValues), [[], []])
        XCTAssertEqual(specs.map(\.isSecret), [false, false])
    }

    func testACurrentArrayGivesItsConstraints() {
        let name = strdup("client")!, a = strdup("curl")!, b = strdup("builtin")!, secret = strdup("password")!
        defer { free(name); free(a); free(b); free(secret) }
        let allowed: [UnsafePointer<CChar>?] = [UnsafePointer(a), UnsafePointer(b)]
        let specs: [AttributeSpec] = allowed.withUnsafeBufferPointer { list in
            let current = [
                fshost_attribute(name: name, type: UInt32(FSHOST_ATTR_STRING), required: 0, default_value: nil,
                                 description: nil, flags: 0, allowed_count: 2, allowed_values: list.baseAddress,
                                 minimum: 0, maximum: 0),
                fshost_attribute(name: secret, type: UInt32(FSHOST_ATTR_INTEGER), required: 0, default_value: nil,
                                 description: nil,
                                 flags: UInt32(FSHOST_ATTR_FLAG_SECRET | FSHOST_ATTR_FLAG_MINIMUM | FSHOST_ATTR_FLAG_MAXIMUM),
                                 allowed_count: 0, allowed_values: nil, minimum: 1, maximum: 9),
            ]
            return current.withUnsafeBytes { raw in
                PluginAttributes.read(descriptor(attributes: raw.baseAddress!, count: 2,
                                                 stride: UInt32(MemoryLayout<fshost_attribute>.stride)),
                                      structSize: MemoryLayout<fshost_plugin>.size)
            }
        }
        XCTAssertEqual(specs[0].allowedValues, ["curl", "builtin"])
        XCTAssertTrue(specs[1].isSecret)
        XCTAssertEqual(specs[1].minimum, 1)
        XCTAssertEqual(specs[1].maximum, 9)
        XCTAssertEqual(AttributeSchema(pluginSpecs: specs).resolve(["client": "wget"]).failureDescription,
                       "attribute 'client' must be one of curl, builtin: 'wget'")
    }
}

extension Result where Failure == SchemaViolation {
    var failureDescription: String? {
        if case .failure(let violation) = self { return violation.description }
        return nil
    }
}
