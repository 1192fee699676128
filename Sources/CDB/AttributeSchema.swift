import ArgvText

/// The kind of value an attribute holds. The host checks every value
/// against its kind before an action runs, and the CDB stores the canonical
/// text form (so export → import round-trips exactly).
public enum AttributeKind: UInt32, Sendable, CaseIterable {
    case string = 0
    case integer = 1
    case boolean = 2
    /// `250ms`, `5s`, `2m`, `1h`, or plain milliseconds; canonical: `<n>ms`.
    case duration = 3
    case port = 4
    /// An absolute path.
    case path = 5
    /// A command as a JSON array of strings, `["nginx","-s","quit"]`: an
    /// argv, never a shell string.
    case argv = 6
    /// A numeric IPv4 or IPv6 address (`inet_pton`), optionally `%zone`;
    /// canonical: `inet_ntop`'s text.
    case ipAddress = 7
    /// A POSIX portable user name; existence is checked at `validate`.
    case user = 8

    /// Name used in messages and `fshost describe`.
    public var name: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .boolean: "boolean"
        case .duration: "duration"
        case .port: "port"
        case .path: "path"
        case .argv: "argv"
        case .ipAddress: "ip-address"
        case .user: "user"
        }
    }

    /// The canonical text of `text`, or why it is not a value of this kind.
    public func canonicalize(_ text: String) -> Result<String, AttributeValueError> {
        switch self {
        case .string:
            return .success(text)
        case .integer:
            guard let n = Int64(text) else { return .failure(.init("is not an integer: '\(text)'")) }
            return .success(String(n))
        case .boolean:
            switch text.lowercased() {
            case "true", "yes", "on", "1": return .success("true")
            case "false", "no", "off", "0": return .success("false")
            default: return .failure(.init("is not a boolean (true/false): '\(text)'"))
            }
        case .duration:
            guard let ms = AttributeKind.milliseconds(text) else {
                return .failure(.init("is not a duration (250ms, 5s, 2m, 1h): '\(text)'"))
            }
            return .success("\(ms)ms")
        case .port:
            guard let n = Int(text), (1...65535).contains(n) else {
                return .failure(.init("is not a port (1-65535): '\(text)'"))
            }
            return .success(String(n))
        case .path:
            guard text.hasPrefix("/") else { return .failure(.init("is not an absolute path: '\(text)'")) }
            return .success(text)
        case .argv:
            guard let words = ArgvText.parse(text), !words.isEmpty else {
                return .failure(.init("is not a command as a JSON array of strings: '\(text)'"))
            }
            return .success(ArgvText.format(words))
        case .ipAddress, .user:
            return AttributeConstraints.canonicalize(text, kind: self)
        }
    }

    /// Milliseconds of a duration text (`250ms`, `5s`, `2m`, `1h`, `1500`).
    public static func milliseconds(_ text: String) -> Int64? {
        let units: [(String, Int64)] = [("ms", 1), ("s", 1000), ("m", 60_000), ("h", 3_600_000)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            let number = text.dropLast(suffix.count)
            // "5ms" also ends in "s": only accept a pure number before the suffix.
            if let n = Int64(number), n >= 0 { return n * scale }
        }
        if let n = Int64(text), n >= 0 { return n }
        return nil
    }
}

/// Why a value does not fit its attribute's kind.
public struct AttributeValueError: Error, Equatable, Sendable {
    public let message: String
    public init(_ message: String) { self.message = message }
}

/// One attribute of a resource type's schema.
public struct AttributeSpec: Equatable, Sendable {
    public var name: String
    public var kind: AttributeKind
    public var required: Bool
    /// Canonical text of the default, if any.
    public var defaultValue: String?
    public var description: String
    /// Non-empty: the value must be one of these canonical texts.
    public var allowedValues: [String] = []
    /// Least value (integer, port: the number; duration: milliseconds).
    public var minimum: Int64? = nil
    /// Greatest value, in the units of ``minimum``.
    public var maximum: Int64? = nil
    /// Never shown unless asked for (see ``AttributeConstraints``).
    public var isSecret: Bool = false

    public init(name: String, kind: AttributeKind, required: Bool = false, defaultValue: String? = nil,
                description: String = "") {
        self.name = name
        self.kind = kind
        self.required = required
        self.defaultValue = defaultValue
        self.description = description
    }
}

/// What is wrong with a resource's attributes. Each case names the key.
public enum SchemaViolation: Error, Equatable, Sendable, CustomStringConvertible {
    case unknownKey(String)
    case wrongType(key: String, problem: String)
    case missingRequired(String)

    public var description: String {
        switch self {
        case .unknownKey(let k): "unknown attribute '\(k)'"
        case .wrongType(let k, let p): "attribute '\(k)' \(p)"
        case .missingRequired(let k): "required attribute '\(k)' is not set"
        }
    }
}

/// A type's attributes plus the settings the host itself reads (level,
/// timeouts, retries), which every resource may set.
public struct AttributeSchema: Sendable {
    public let specs: [AttributeSpec]

    /// `pluginSpecs` followed by ``HostSetting/specs``.
    public init(pluginSpecs: [AttributeSpec]) {
        self.specs = pluginSpecs + HostSetting.specs
    }

    /// `pluginSpecs` followed by ``HostSetting/specs``, with
    /// `monitor_level` restricted to the type's monitoring `levels`: a
    /// level the type cannot run is refused when it is defined, not at
    /// every monitor.
    public init(pluginSpecs: [AttributeSpec], levels: [UInt32]) {
        self.specs = pluginSpecs + HostSetting.specs(levels: levels)
    }

    public func spec(_ name: String) -> AttributeSpec? { specs.first { $0.name == name } }

    /// Checks `values` (as stored or as given) and returns them in canonical
    /// text with defaults filled in, or the first violation in key order
    /// (unknown keys, then wrong types, then missing required ones).
    public func resolve(_ values: [String: String]) -> Result<[String: String], SchemaViolation> {
        var resolved: [String: String] = [:]
        for key in values.keys.sorted() where spec(key) == nil {
            return .failure(.unknownKey(key))
        }
        for key in values.keys.sorted() {
            let spec = spec(key)!
            switch AttributeConstraints.check(values[key]!, against: spec) {
            case .success(let text): resolved[key] = text
            case .failure(let e): return .failure(.wrongType(key: key, problem: e.message))
            }
        }
        for spec in specs where resolved[spec.name] == nil {
            if let value = spec.defaultValue {
                // Plugins write defaults by hand ("2s"): hand them over in the
                // same canonical form as stored values ("2000ms").
                resolved[spec.name] = (try? spec.kind.canonicalize(value).get()) ?? value
            } else if spec.required {
                return .failure(.missingRequired(spec.name))
            }
        }
        return .success(resolved)
    }
}

/// Settings the host reads for every resource, whatever its type. Defaults
/// come from the plugin's descriptor; a resource overrides them in the CDB,
/// the command line overrides both.
public enum HostSetting {
    public static let monitorLevel = "monitor_level"
    public static let retries = "retries"
    public static let retryInterval = "retry_interval"
    /// `<action>_timeout`, e.g. `monitor_timeout`.
    public static func timeout(_ action: String) -> String { action + "_timeout" }

    /// Action names in ABI order (`FSHOST_ACTION_*`).
    public static let actions = ["exclusive", "start", "stop", "monitor", "restart", "validate"]

    public static let specs: [AttributeSpec] = [
        AttributeSpec(name: monitorLevel, kind: .integer, description: "monitoring level to run (default: the type's)"),
        AttributeSpec(name: retries, kind: .integer, description: "extra monitor probes before a failure is declared"),
        AttributeSpec(name: retryInterval, kind: .duration, description: "pause between monitor probes"),
    ] + actions.map {
        AttributeSpec(name: timeout($0), kind: .duration, description: "deadline of the \($0) action")
    }
}
