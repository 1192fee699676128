import CDB

/// The human-readable text of `fshost cdb show`, in a stable order (types,
/// resources and keys sorted).
public enum CDBReport {
    /// Everything stored, per type:
    ///
    /// ```
    /// testfixture
    ///   type-level:
    ///     retries = 2
    ///   resource alpha:
    ///     port = 8080
    /// ```
    public static func listing(_ configuration: [TypeConfiguration]) -> String {
        var out = ""
        for entry in configuration.sorted(by: { $0.type < $1.type }) {
            out += entry.type + "\n"
            if !entry.typeAttributes.isEmpty {
                out += "  type-level:\n"
                out += lines(entry.typeAttributes, indent: "    ")
            }
            for name in entry.resources.keys.sorted() {
                let values = entry.resources[name]!
                out += "  resource \(name):" + (values.isEmpty ? " (no attributes of its own)" : "") + "\n"
                out += lines(values, indent: "    ")
            }
        }
        return out
    }

    /// One resource's effective attributes, each marked with its source
    /// when it is not the resource's own:
    ///
    /// ```
    /// resource alpha of type testfixture
    ///   enabled = true    (default)
    ///   port    = 8080
    /// ```
    public static func resource(type: String, name: String,
                                attributes: [(key: String, value: String, source: AttributeSource)]) -> String {
        var out = "resource \(name) of type \(type)\n"
        let width = attributes.map { $0.key.count }.max() ?? 0
        let valueWidth = attributes.map { $0.value.count }.max() ?? 0
        for entry in attributes {
            var line = "  " + pad(entry.key, width) + " = "
            if entry.source == .resource {
                line += entry.value
            } else {
                line += pad(entry.value, valueWidth) + "  (" + entry.source.rawValue + ")"
            }
            out += line + "\n"
        }
        return out
    }

    private static func lines(_ values: [String: String], indent: String) -> String {
        let width = values.keys.map(\.count).max() ?? 0
        return values.keys.sorted().map { indent + pad($0, width) + " = " + values[$0]! + "\n" }.joined()
    }

    private static func pad(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }
}
