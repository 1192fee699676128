import CDB
import FSPluginABI
import HAVocabulary

/// The attribute schema of a plugin descriptor, read with the stride the
/// plugin was built with (`attribute_size`), so that a plugin built before
/// fields were appended to `fshost_attribute` still loads: its appended
/// fields (flags, allowed values, minimum, maximum; then pattern, its
/// description, refused values) are read only when its stride covers them.
enum PluginAttributes {
    /// `sizeof(fshost_attribute)` of the first ABI: name, type, required,
    /// default_value, description (32 bytes on LP64).
    static let firstStride = MemoryLayout<FirstAttribute>.stride

    static func read(_ d: fshost_plugin, structSize: Int) -> [AttributeSpec] {
        let strideOffset = MemoryLayout<fshost_plugin>.offset(of: \fshost_plugin.attribute_size)!
        let stride = structSize >= strideOffset + 4 && d.attribute_size != 0 ? Int(d.attribute_size) : firstStride
        guard let base = d.attributes.map(UnsafeRawPointer.init), stride >= firstStride else { return [] }
        let flagsEnd = MemoryLayout<fshost_attribute>.offset(of: \fshost_attribute.maximum)! + 8
        return (0..<Int(d.attribute_count)).map { i in
            let element = base + i * stride
            // The first five fields are at the same offsets in every version.
            let a = element.loadUnaligned(as: FirstAttribute.self)
            var spec = AttributeSpec(name: a.name.map { String(cString: $0) } ?? "",
                                     kind: AttributeKind(rawValue: a.type) ?? .string,
                                     required: a.required != 0, defaultValue: a.defaultValue.map { String(cString: $0) },
                                     description: a.description.map { String(cString: $0) } ?? "")
            if stride >= flagsEnd {
                // Each group of fields is loaded alone: an element of the
                // plugin's stride may end before the host's struct does.
                let full = element.loadUnaligned(fromByteOffset: Self.offset(\.flags), as: SecondFields.self)
                spec.isSecret = full.flags & UInt32(FSHOST_ATTR_FLAG_SECRET) != 0
                if full.flags & UInt32(FSHOST_ATTR_FLAG_MINIMUM) != 0 { spec.minimum = full.minimum }
                if full.flags & UInt32(FSHOST_ATTR_FLAG_MAXIMUM) != 0 { spec.maximum = full.maximum }
                spec.isRegex = full.flags & UInt32(FSHOST_ATTR_FLAG_REGEX) != 0
                spec.isMonitorOnly = full.flags & UInt32(FSHOST_ATTR_FLAG_MONITOR_ONLY) != 0
                if let values = full.allowedValues {
                    spec.allowedValues = (0..<Int(full.allowedCount)).compactMap { values[$0].map { String(cString: $0) } }
                }
            }
            if stride >= Self.offset(\.refused_values) + 8 {
                let third = element.loadUnaligned(fromByteOffset: Self.offset(\.pattern), as: ThirdFields.self)
                spec.pattern = third.pattern.map { String(cString: $0) }
                spec.patternDescription = third.patternDescription.map { String(cString: $0) }
                if let values = third.refusedValues {
                    spec.refusedValues = (0..<Int(third.refusedCount)).compactMap { values[$0].map { String(cString: $0) } }
                }
            }
            return spec
        }
    }

    private static func offset<T>(_ field: KeyPath<fshost_attribute, T>) -> Int {
        MemoryLayout<fshost_attribute>.offset(of: field)!
    }

    /// The fields appended first (flags … maximum), from `flags` on.
    private struct SecondFields {
        var flags: UInt32
        var allowedCount: UInt32
        var allowedValues: UnsafePointer<UnsafePointer<CChar>?>?
        var minimum: Int64
        var maximum: Int64
    }

    /// The fields appended after `maximum` (pattern … refused_values).
    private struct ThirdFields {
        var pattern: UnsafePointer<CChar>?
        var patternDescription: UnsafePointer<CChar>?
        var refusedCount: UInt32
        var reserved: UInt32
        var refusedValues: UnsafePointer<UnsafePointer<CChar>?>?
    }

    /// The leading fields every version of `fshost_attribute` has.
    private struct FirstAttribute {
        var name: UnsafePointer<CChar>?
        var type: UInt32
        var required: UInt32
        var defaultValue: UnsafePointer<CChar>?
        var description: UnsafePointer<CChar>?
    }
}
