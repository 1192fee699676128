import CDB
import FSPluginABI
import HAVocabulary

/// The attribute schema of a plugin descriptor, read with the stride the
/// plugin was built with (`attribute_size`), so that a plugin built before
/// fields were appended to `fshost_attribute` still loads: its appended
/// fields (flags, allowed values, minimum, maximum) are read only when its
/// stride covers them.
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
                let full = element.assumingMemoryBound(to: fshost_attribute.self).pointee
                spec.isSecret = full.flags & UInt32(FSHOST_ATTR_FLAG_SECRET) != 0
                if full.flags & UInt32(FSHOST_ATTR_FLAG_MINIMUM) != 0 { spec.minimum = full.minimum }
                if full.flags & UInt32(FSHOST_ATTR_FLAG_MAXIMUM) != 0 { spec.maximum = full.maximum }
                spec.isRegex = full.flags & UInt32(FSHOST_ATTR_FLAG_REGEX) != 0
                if let values = full.allowed_values {
                    spec.allowedValues = (0..<Int(full.allowed_count)).compactMap { values[$0].map { String(cString: $0) } }
                }
            }
            return spec
        }
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
