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
                                 minimum: 0, maximum: 0, pattern: nil, pattern_description: nil, refused_count: 0,
                                 reserved_refused: 0, refused_values: nil),
                fshost_attribute(name: secret, type: UInt32(FSHOST_ATTR_INTEGER), required: 0, default_value: nil,
                                 description: nil,
                                 flags: UInt32(FSHOST_ATTR_FLAG_SECRET | FSHOST_ATTR_FLAG_MINIMUM | FSHOST_ATTR_FLAG_MAXIMUM),
                                 allowed_count: 0, allowed_values: nil, minimum: 1, maximum: 9,
                                 pattern: nil, pattern_description: nil, refused_count: 0, reserved_refused: 0,
                                 refused_values: nil),
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

    /// `fshost_attribute` as it was before `pattern` was appended: 64 bytes
    /// on LP64 (the first five fields, then flags … maximum).
    struct SecondAttribute {
        var first: FirstAttribute
        var flags: UInt32
        var allowedCount: UInt32
        var allowedValues: UnsafePointer<UnsafePointer<CChar>?>?
        var minimum: Int64
        var maximum: Int64
    }

    /// A plugin built before the pattern fields still loads: its elements
    /// are read at 64 bytes (the second element found there), its bounds
    /// kept, and nothing past an element's end read as a pattern.
    func testAnArrayBuiltBeforeThePatternFieldsIsReadWithItsOwnStride() {
        XCTAssertEqual(MemoryLayout<SecondAttribute>.stride, 64)
        XCTAssertEqual(MemoryLayout<fshost_attribute>.stride, 96)
        let names: [UnsafeMutablePointer<CChar>] = [strdup("count")!, strdup("label")!]
        defer { for p in names { free(p) } }
        let old = [
            SecondAttribute(first: FirstAttribute(name: names[0], type: UInt32(FSHOST_ATTR_INTEGER), required: 0,
                                                  defaultValue: nil, description: nil),
                            flags: UInt32(FSHOST_ATTR_FLAG_MAXIMUM), allowedCount: 0, allowedValues: nil, minimum: 0, maximum: 5),
            SecondAttribute(first: FirstAttribute(name: names[1], type: UInt32(FSHOST_ATTR_STRING), required: 0,
                                                  defaultValue: nil, description: nil),
                            flags: 0, allowedCount: 0, allowedValues: nil, minimum: 0, maximum: 0),
        ]
        let specs: [AttributeSpec] = old.withUnsafeBytes { raw in
            PluginAttributes.read(descriptor(attributes: raw.baseAddress!, count: 2, stride: 64),
                                  structSize: MemoryLayout<fshost_plugin>.size)
        }
        XCTAssertEqual(specs.map(\.name), ["count", "label"])
        XCTAssertEqual(specs[0].maximum, 5)
        XCTAssertEqual(specs.map(\.pattern), [nil, nil])
        XCTAssertEqual(specs.map(\.refusedValues), [[], []])
    }

    /// A current element gives its pattern, its words and its refused
    /// values; the host refuses a value outside the pattern and a refused
    /// word, each in one line naming the attribute and the rule in words.
    func testACurrentArrayGivesItsPatternAndRefusedValues() {
        let name = strdup("table")!, pattern = strdup("[a-z_][a-z0-9_]*")!, words = strdup("a lower-case name")!
        let ip = strdup("ip")!, inet = strdup("inet")!
        defer { for p in [name, pattern, words, ip, inet] { free(p) } }
        let refused: [UnsafePointer<CChar>?] = [UnsafePointer(ip), UnsafePointer(inet)]
        let specs: [AttributeSpec] = refused.withUnsafeBufferPointer { list in
            let current = [fshost_attribute(name: name, type: UInt32(FSHOST_ATTR_STRING), required: 0, default_value: nil,
                                            description: nil, flags: 0, allowed_count: 0, allowed_values: nil,
                                            minimum: 0, maximum: 0, pattern: pattern, pattern_description: words,
                                            refused_count: 2, reserved_refused: 0, refused_values: list.baseAddress)]
            return current.withUnsafeBytes { raw in
                PluginAttributes.read(descriptor(attributes: raw.baseAddress!, count: 1,
                                                 stride: UInt32(MemoryLayout<fshost_attribute>.stride)),
                                      structSize: MemoryLayout<fshost_plugin>.size)
            }
        }
        XCTAssertEqual(specs[0].pattern, "[a-z_][a-z0-9_]*")
        XCTAssertEqual(specs[0].refusedValues, ["ip", "inet"])
        let schema = AttributeSchema(pluginSpecs: specs)
        XCTAssertEqual(schema.resolve(["table": "fw_1"]).failureDescription, nil)
        XCTAssertEqual(schema.resolve(["table": "1fw"]).failureDescription, "attribute 'table' must be a lower-case name: '1fw'")
        XCTAssertEqual(schema.resolve(["table": "fw\nx"]).failureDescription, "attribute 'table' must be a lower-case name: 'fw\nx'",
                       "the whole value, not a line of it")
        XCTAssertEqual(schema.resolve(["table": "ip"]).failureDescription,
                       "attribute 'table' must be a lower-case name: 'ip': one of the 2 words refused there (fshost describe lists them)")
    }
}

extension Result where Failure == SchemaViolation {
    var failureDescription: String? {
        if case .failure(let violation) = self { return violation.description }
        return nil
    }
}
