import ArgvText
import HAVocabulary

/// How the CDB checks a value of each kind (the kinds themselves are the
/// shared vocabulary, ``AttributeKind`` in HAVocabulary).
extension AttributeKind {
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
            switch DurationText.milliseconds(text) {
            case .success(let ms): return .success(DurationText.canonical(ms))
            case .failure(let problem): return .failure(.init(DurationText.explain(problem, text)))
            }
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

    /// Milliseconds of a duration text in ``DurationText``'s grammar
    /// (`250ms`, `5s`, `2m`, `1h`; a bare number is seconds); nil when it
    /// is not one or exceeds 24 h.
    public static func milliseconds(_ text: String) -> Int64? {
        try? DurationText.milliseconds(text).get()
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
    /// A POSIX extended regular expression (``RegexSyntax``'s rule).
    public var isRegex: Bool = false
    /// Changes only how a monitor looks (`FSHOST_ATTR_FLAG_MONITOR_ONLY`):
    /// changeable while the resource runs (``RunningChange``).
    public var isMonitorOnly: Bool = false
    /// The whole value must match this ERE (``AttributePattern``).
    public var pattern: String? = nil
    /// What ``pattern`` allows, in words, for the refusal; nil: the pattern.
    public var patternDescription: String? = nil
    /// The value must be none of these (words its consumer reads otherwise).
    public var refusedValues: [String] = []
    /// ``minimum`` and ``maximum`` as one range, when both are set (the
    /// host's own settings, ``HostSetting``); the same two fields, not a
    /// second rule.
    public var range: ClosedRange<Int64>? {
        get { minimum.flatMap { low in maximum.map { low...$0 } } }
        set { minimum = newValue?.lowerBound; maximum = newValue?.upperBound }
    }

    public init(name: String, kind: AttributeKind, required: Bool = false, defaultValue: String? = nil,
                description: String = "", range: ClosedRange<Int64>? = nil) {
        self.name = name
        self.kind = kind
        self.required = required
        self.defaultValue = defaultValue
        self.description = description
        self.range = range
    }

    /// The canonical text of `text` for this attribute: its kind's
    /// (``AttributeKind/canonicalize(_:)``), then within ``range``.
    public func canonicalize(_ text: String) -> Result<String, AttributeValueError> {
        if kind == .duration, let range {
            switch DurationText.milliseconds(text) {
            case .success(let ms) where range.contains(ms):
                return .success(DurationText.canonical(ms))
            case .success, .failure(.tooLarge):
                return .failure(.init(DurationText.explain(.tooLarge, text, range: range)))
            case .failure(let problem):
                return .failure(.init(DurationText.explain(problem, text, range: range)))
            }
        }
        let canonical = kind.canonicalize(text)
        if kind == .integer, let range, case .success(let number) = canonical {
            guard let n = Int64(number), range.contains(n) else {
                return .failure(.init("is out of range: '\(text)' (allowed: from \(range.lowerBound) to \(range.upperBound))"))
            }
        }
        return canonical
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
        // At its final size (every spec at most once): no rehash per doubling.
        var resolved: [String: String] = Dictionary(minimumCapacity: specs.count)
        // Each key sorted and looked up once (a linear search of the specs).
        let keys = values.keys.sorted()
        var found: [AttributeSpec] = []
        found.reserveCapacity(keys.count)
        for key in keys {
            guard let spec = spec(key) else { return .failure(.unknownKey(key)) }
            found.append(spec)
        }
        for i in keys.indices {
            let key = keys[i], spec = found[i]
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

    /// `<action>_timeout` and `--timeout`: 1 ms to 24 h. Cluster managers
    /// give an action seconds to minutes; beyond a day is a typo.
    public static let timeoutRange: ClosedRange<Int64> = 1...DurationText.maximumMilliseconds
    /// `retries`: 0 to 100 extra probes. More never changes a verdict that
    /// 100 probes could not, and each failed probe logs a line.
    public static let retriesRange: ClosedRange<Int64> = 0...100
    /// `retry_interval`: 100 ms to 24 h. The floor bounds a failing
    /// monitor's log lines to 10 a second (`retries=4294967295` with
    /// `retry_interval=0ms` once wrote 2,900 a second).
    public static let retryIntervalRange: ClosedRange<Int64> = 100...DurationText.maximumMilliseconds
    /// `monitor_level`: what the ABI's `uint32_t` level holds.
    public static let monitorLevelRange: ClosedRange<Int64> = 0...Int64(UInt32.max)

    /// Action names in ABI order (``ActionName``).
    public static let actions = ActionName.allCases.map(\.rawValue)

    public static let specs: [AttributeSpec] = [
        AttributeSpec(name: monitorLevel, kind: .integer, description: "monitoring level to run (default: the type's)",
                      range: monitorLevelRange),
        AttributeSpec(name: retries, kind: .integer, description: "extra monitor probes before a failure is declared (0-100)",
                      range: retriesRange),
        AttributeSpec(name: retryInterval, kind: .duration, description: "pause between monitor probes (100ms-24h)",
                      range: retryIntervalRange),
    ] + actions.map {
        AttributeSpec(name: timeout($0), kind: .duration, description: "deadline of the \($0) action (1ms-24h)",
                      range: timeoutRange)
    }
}
