import ArgvText
import CDB
import HAVocabulary

/// A parsed TOML value, independent of the TOML library: `fshost-admin`
/// turns TOMLKit's tree into this, and everything after (typing values by
/// the plugin's schema, validation, writing TOML back) lives here, in
/// plain Swift that the tests reach.
public indirect enum ConfigValue: Equatable, Sendable {
    /// A TOML string (basic, literal or multi-line).
    case string(String)
    /// A TOML integer.
    case integer(Int64)
    /// `true` or `false`.
    case boolean(Bool)
    /// A TOML float (never a valid attribute value; kept for the message).
    case float(Double)
    /// A TOML array.
    case array([ConfigValue])
    /// A TOML table (`[header]` or inline), by key.
    case table([String: ConfigValue])
    /// A value of another TOML type (date, time, date-time), by type name.
    case other(String)

    /// The TOML name of the value's type, for messages.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .boolean: "boolean"
        case .float: "float"
        case .array: "array"
        case .table: "table"
        case .other(let name): name
        }
    }
}

/// The TOML form of the CDB, used by `fshost cdb import` and `export`.
///
/// ```toml
/// [webserver]                 # optional: type-level overrides
/// monitor_timeout = "5000ms"
///
/// [webserver.web1]            # one table per resource: [TYPE.RESOURCE]
/// port = 8080
/// command = ["/usr/sbin/nginx", "-p", "/srv/web1"]
/// ```
///
/// Values are typed by the attribute's kind in the plugin's schema:
/// `integer` and `port` are TOML integers, `boolean` a TOML boolean,
/// `argv` an array of strings, `duration` a string in ``DurationText``'s
/// grammar (`"5s"`, `"250ms"`; a TOML integer is refused, see
/// ``text(of:key:schema:)``), `string` and `path` strings. Export writes
/// each type's table (only when it has overrides), then its resources, all
/// sorted, keys sorted, values in canonical form, so export → import →
/// export gives the same bytes.
public enum TOMLMapping {
    /// What an import file holds, values already in canonical text.
    public struct Document: Equatable, Sendable {
        /// By type name.
        public var types: [String: ImportedType]

        /// An empty document.
        public init(types: [String: ImportedType] = [:]) { self.types = types }

        /// Resources in the document.
        public var resourceCount: Int { types.values.reduce(0) { $0 + $1.resources.count } }
    }

    /// One `[TYPE]` of an import file.
    public struct ImportedType: Equatable, Sendable {
        /// The overrides written directly under `[TYPE]`; nil when the file
        /// gives none (the CDB's overrides are then left as they are).
        public var typeAttributes: [String: String]?
        /// Each `[TYPE.RESOURCE]`'s attributes.
        public var resources: [String: [String: String]]

        /// A type section.
        public init(typeAttributes: [String: String]? = nil, resources: [String: [String: String]] = [:]) {
            self.typeAttributes = typeAttributes
            self.resources = resources
        }
    }

    // MARK: - Import

    /// Types every value of `root` (a parsed TOML file) by its type's
    /// schema and checks names, keys and kinds. Required attributes are
    /// checked later, against what the CDB will hold (``CDBEditor``).
    ///
    /// - Throws: ``AdminError`` naming the resource and key: `invalidInput`
    ///   for the file's structure, `invalid` for a key or value the schema
    ///   rejects, `schemaUnavailable` for a type without a usable plugin.
    public static func document(from root: [String: ConfigValue],
                                schemaFor: (String) throws(AdminError) -> AttributeSchema) throws(AdminError) -> Document {
        var document = Document()
        for typeName in root.keys.sorted() {
            guard case .table(let section) = root[typeName]! else {
                throw .invalidInput("top-level key '\(Names.printable(typeName))' is not a table (it is a TOML \(root[typeName]!.typeName)): "
                    + "write each resource as a table [TYPE.RESOURCE]")
            }
            guard Names.isValidType(typeName) else { throw .database(.invalidName(what: "type", name: typeName)) }
            let schema = try schemaFor(typeName)
            var imported = ImportedType()
            var typeLevel: [String: String] = [:]
            for key in section.keys.sorted() {
                let value = section[key]!
                if case .table(let attributes) = value {
                    guard Names.isValidResource(key) else { throw .database(.invalidName(what: "resource", name: key)) }
                    var texts: [String: String] = [:]
                    for attribute in attributes.keys.sorted() {
                        do {
                            texts[attribute] = try text(of: attributes[attribute]!, key: attribute, schema: schema)
                        } catch {
                            throw .invalid(type: typeName, resource: key, error)
                        }
                    }
                    imported.resources[key] = texts
                } else {
                    do {
                        typeLevel[key] = try text(of: value, key: key, schema: schema)
                    } catch {
                        throw .invalid(type: typeName, resource: nil, error)
                    }
                }
            }
            if !typeLevel.isEmpty { imported.typeAttributes = typeLevel }
            document.types[typeName] = imported
        }
        return document
    }

    /// The canonical text of one TOML value for attribute `key`.
    public static func text(of value: ConfigValue, key: String, schema: AttributeSchema) throws(SchemaViolation) -> String {
        guard let spec = schema.spec(key) else { throw .unknownKey(key) }
        func wrong(_ expected: String) -> SchemaViolation {
            .wrongType(key: key, problem: "must be \(expected) (\(spec.kind.name)), not a TOML \(value.typeName)")
        }
        let raw: String
        switch (spec.kind, value) {
        case (.string, .string(let s)), (.path, .string(let s)), (.ipAddress, .string(let s)), (.user, .string(let s)):
            raw = s
        case (.string, _), (.path, _), (.ipAddress, _), (.user, _):
            throw wrong("a string")
        case (.integer, .integer(let n)), (.port, .integer(let n)):
            raw = String(n)
        case (.integer, _), (.port, _):
            throw wrong("an integer")
        case (.boolean, .boolean(let b)):
            raw = b ? "true" : "false"
        case (.boolean, _):
            throw wrong("true or false")
        case (.duration, .string(let s)):
            raw = s
        case (.duration, .integer(let n)):
            // Earlier versions read a TOML integer as milliseconds; the one
            // grammar reads a bare number as seconds. Rather than change
            // the meaning of an old file by 1000× in silence, refuse it.
            throw .wrongType(key: key, problem: "must be a string with its unit, like \"\(n)ms\" or \"\(n)s\", "
                + "not a TOML integer (a bare number once meant milliseconds and now means seconds)")
        case (.duration, _):
            throw wrong("a string like \"5s\" or \"250ms\"")
        case (.argv, .array(let items)):
            var words: [String] = []
            for item in items {
                guard case .string(let word) = item else {
                    throw .wrongType(key: key, problem: "must be an array of strings (argv), but holds a TOML \(item.typeName)")
                }
                words.append(word)
            }
            raw = ArgvText.format(words)
        case (.argv, _):
            throw wrong("an array of strings")
        }
        switch AttributeConstraints.check(raw, against: spec) {
        case .success(let canonical): return canonical
        case .failure(let problem): throw .wrongType(key: key, problem: problem.message)
        }
    }

    // MARK: - Export

    /// The TOML text of `configuration`. `kindOf(type, key)` gives an
    /// attribute's kind (nil: unknown, written as a string). A stored value
    /// that does not fit its kind is written as a string, so the output is
    /// always valid TOML (importing it then reports the bad value).
    public static func render(_ configuration: [TypeConfiguration],
                              kindOf: (_ type: String, _ key: String) -> AttributeKind?) -> String {
        var out = ""
        func table(_ header: String, _ values: [String: String], type: String) {
            if !out.isEmpty { out += "\n" }
            out += "[" + header + "]\n"
            for key in values.keys.sorted() {
                out += bareOrQuotedKey(key) + " = " + literal(values[key]!, kind: kindOf(type, key)) + "\n"
            }
        }
        for entry in configuration.sorted(by: { $0.type < $1.type }) {
            let typeKey = bareOrQuotedKey(entry.type)
            if !entry.typeAttributes.isEmpty {
                table(typeKey, entry.typeAttributes, type: entry.type)
            }
            for name in entry.resources.keys.sorted() {
                table(typeKey + "." + bareOrQuotedKey(name), entry.resources[name]!, type: entry.type)
            }
        }
        return out
    }

    /// The TOML literal for canonical `text` of `kind`.
    public static func literal(_ text: String, kind: AttributeKind?) -> String {
        switch kind {
        case .integer?, .port?:
            if let n = Int64(text), String(n) == text { return text }
        case .boolean?:
            if text == "true" || text == "false" { return text }
        case .argv?:
            if let words = ArgvText.parse(text), ArgvText.format(words) == text {
                return "[" + words.map(quoted).joined(separator: ", ") + "]"
            }
        default:
            break
        }
        return quoted(text)
    }

    /// A TOML key: bare when it is `[A-Za-z0-9_-]+`, else a quoted string.
    public static func bareOrQuotedKey(_ key: String) -> String {
        let bare = !key.isEmpty && key.utf8.allSatisfy { b in
            (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(b) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(b)
                || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) || b == UInt8(ascii: "_") || b == UInt8(ascii: "-")
        }
        return bare ? key : quoted(key)
    }

    /// A TOML basic string: `"`, `\` and control characters escaped (the
    /// same escapes as a JSON string, so one function writes both).
    public static func quoted(_ text: String) -> String { ArgvText.quote(text) }
}
