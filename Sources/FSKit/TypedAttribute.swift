import ArgvText
import HAVocabulary

/// An attribute declared once — name, kind, default, help, constraints —
/// and read typed: `resource[Self.port]` is an `Int`, with the default
/// applied and the constraints already enforced by the host.
///
/// ```swift
/// static let port = Attribute.port("port", default: 80, "the TCP port")
/// static let config = Attribute.path("config", "the configuration file").required
/// static let pidfile = Attribute.path("pidfile", "where the pid is")          // String?
/// static let client = Attribute.choice("http_client", default: HTTPClient.curl, "…")
/// static let attributes: [Attribute] = [port, config, pidfile, client]
/// ```
///
/// `Value` is optional exactly when the attribute is neither required nor
/// defaulted. Every typed attribute must be listed in `attributes` (that is
/// the schema the host checks); the SDK refuses to create an instance whose
/// listed attributes it cannot read (`HA_INVAL_ARGS` naming the attribute),
/// so a read in `init` never fails.
public final class TypedAttribute<Value>: Attribute, @unchecked Sendable {
    /// The value of the host's canonical text (nil: unset); nil when the
    /// text does not decode (or a required value is missing). Pure, set
    /// once (hence the class's `@unchecked Sendable`).
    let read: (String?) -> Value?
    /// What the subscript answers if `read` fails, which `create` rules out
    /// for listed attributes: the kind's neutral value. A closure, run only
    /// then: a required attribute's neutral value is found by dynamic casts
    /// (``neutral()``), which cost every plugin entry first-use metadata
    /// and conformance lookups when they ran at declaration (perf, issue 10).
    let fallback: () -> Value

    /// Whether the host's text for this attribute decodes as `Value`.
    override func readable(from resource: Resource) -> Bool { read(resource.string(name)) != nil }

    @usableFromInline
    init(_ name: String, kind: Kind, required: Bool = false, default defaultValue: String?, _ description: String,
         constraint: AttributeConstraint = AttributeConstraint(), secret: Bool = false, monitorOnly: Bool = false,
         fallback: @autoclosure @escaping () -> Value, read: @escaping (String?) -> Value?) {
        self.read = read
        self.fallback = fallback
        super.init(name: name, kind: kind, required: required, defaultValue: defaultValue, description: description,
                   constraint: constraint, isSecret: secret, isMonitorOnly: monitorOnly)
    }

    /// The same attribute, declared as changing only how long or how deep
    /// a monitor looks (a check's timeout, a probe's protocol), never where
    /// the resource is found nor how it is started or stopped: `cdb modify`
    /// then changes it while the resource runs, without --force, as it does
    /// the host's own timeouts (``Attribute/isMonitorOnly``). Declare it
    /// only for such attributes: a changed pidfile, port or path under a
    /// running resource leaves it running with nothing able to stop it.
    ///
    /// ```swift
    /// static let listTimeout = Attribute.positiveDuration("list_timeout", default: .seconds(2), "…").monitorOnly
    /// ```
    public var monitorOnly: TypedAttribute<Value> {
        TypedAttribute(name, kind: kind, required: isRequired, default: defaultValue, description, constraint: constraint,
                       secret: isSecret, monitorOnly: true, fallback: self.fallback(), read: read)
    }
}

/// Optional values, so that `.required` can unwrap one.
public protocol OptionalAttributeValue {
    associatedtype Wrapped
    var wrappedValue: Wrapped? { get }
}

extension Optional: OptionalAttributeValue {
    /// The optional itself.
    public var wrappedValue: Wrapped? { self }
}

extension TypedAttribute where Value: OptionalAttributeValue {
    /// The same attribute, required: the host refuses a resource without it
    /// (`HA_NOCFGINFO`), so its value is not optional.
    public var required: TypedAttribute<Value.Wrapped> {
        let read = self.read
        let fallback = self.fallback
        return TypedAttribute<Value.Wrapped>(
            name, kind: kind, required: true, default: nil, description, constraint: constraint, secret: isSecret,
            monitorOnly: isMonitorOnly,
            fallback: fallback().wrappedValue ?? Self.neutral(),
            read: { text in
                guard text != nil, let value = read(text) else { return nil }
                return value.wrappedValue
            })
    }

    /// Only reached for a required attribute made from an optional one
    /// whose fallback is nil: never read (see ``TypedAttribute``).
    private static func neutral() -> Value.Wrapped {
        // Every factory's optional form has a non-optional sibling whose
        // value type matches; its neutral value is rebuilt here.
        let candidates: [Any] = ["", 0, false, Duration.zero, [String](), Secret(""), IPAddress(numeric: "0.0.0.0")!]
        for candidate in candidates { if let v = candidate as? Value.Wrapped { return v } }
        fatalError("fshost SDK: no neutral value for a required \(Value.Wrapped.self) attribute")
    }
}

/// A secret value (a password, a token): printing it, interpolating it or
/// dumping it shows `(secret)`; ``revealed`` is the text, for the one place
/// that needs it (a command's environment, a connection).
public struct Secret: Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    private let text: String
    /// Wraps `text`.
    public init(_ text: String) { self.text = text }
    /// The secret text itself.
    public var revealed: String { text }
    /// Always `(secret)`.
    public var description: String { "(secret)" }
    /// Always `(secret)`.
    public var debugDescription: String { "(secret)" }
    /// No children: `dump` shows nothing of the text.
    public var customMirror: Mirror { Mirror(self, children: []) }
}

// MARK: - Factories, one per kind (optional form, defaulted form)

extension Attribute {
    private static func number(_ text: String?) -> Int? { text.flatMap { Int($0) } }
    private static func bounds(_ range: ClosedRange<Int>?) -> AttributeConstraint {
        AttributeConstraint(minimum: range.map { Int64($0.lowerBound) }, maximum: range.map { Int64($0.upperBound) })
    }

    /// Free text, optionally one of `oneOf`.
    public static func string(_ name: String, default value: String, oneOf allowed: [String] = [],
                              _ help: String) -> TypedAttribute<String> {
        TypedAttribute(name, kind: .string, default: value, help, constraint: AttributeConstraint(allowedValues: allowed),
                       fallback: value, read: { $0 ?? value })
    }
    /// `nonBlank`: the host refuses an empty or blank value at `cdb
    /// define/modify` (the constraint's minimum 1: a string's range bounds
    /// its length without white space at either end).
    public static func string(_ name: String, oneOf allowed: [String] = [], nonBlank: Bool = false,
                              _ help: String) -> TypedAttribute<String?> {
        TypedAttribute(name, kind: .string, default: nil, help,
                       constraint: AttributeConstraint(allowedValues: allowed, minimum: nonBlank ? 1 : nil),
                       fallback: nil, read: { .some($0) })
    }

    /// A name whose WHOLE text must match `pattern` (a POSIX ERE; the host
    /// matches `^(pattern)$`) and be none of `refusing`: the host refuses
    /// any other value at `cdb define`/`modify`/`import` and before any
    /// action (`HA_INVAL_ARGS`, one line with `described`, the pattern in
    /// words).
    /// `maximumLength`: at most that many bytes.
    public static func string(_ name: String, matching pattern: String, described: String,
                              refusing refused: [String] = [], maximumLength: Int? = nil,
                              _ help: String) -> TypedAttribute<String?> {
        TypedAttribute(name, kind: .string, default: nil, help,
                       constraint: AttributeConstraint(maximum: maximumLength.map(Int64.init), pattern: pattern,
                                                       patternDescription: described, refusedValues: refused),
                       fallback: nil, read: { .some($0) })
    }

    /// A POSIX extended regular expression (compile it with ``LinePattern``):
    /// the host refuses one that does not compile or holds a
    /// back-reference at `cdb define`/`modify`/`import` and before any
    /// action (`HA_INVAL_ARGS` naming it).
    public static func pattern(_ name: String, _ help: String) -> TypedAttribute<String?> {
        TypedAttribute(name, kind: .string, default: nil, help, constraint: AttributeConstraint(isRegex: true),
                       fallback: nil, read: { .some($0) })
    }

    /// One of an enumeration's raw values: the host allows exactly those.
    /// Inlinable: specialised in the plugin for `E`, its cases are listed
    /// without the generic path's associated-type and witness lookups and
    /// key path, each paid on every plugin entry (perf, issue 10).
    @inlinable
    public static func choice<E: RawRepresentable & CaseIterable & Sendable>(
        _ name: String, default value: E, _ help: String) -> TypedAttribute<E> where E.RawValue == String {
        var allowed: [String] = []
        for option in E.allCases { allowed.append(option.rawValue) }
        return TypedAttribute(name, kind: .string, default: value.rawValue, help,
                              constraint: AttributeConstraint(allowedValues: allowed),
                              fallback: value, read: { text in text.map { E(rawValue: $0) } ?? value })
    }

    /// A decimal integer, optionally within `range` or one of `oneOf`.
    public static func integer(_ name: String, default value: Int, in range: ClosedRange<Int>? = nil,
                               oneOf allowed: [Int] = [], _ help: String) -> TypedAttribute<Int> {
        var constraint = bounds(range)
        constraint.allowedValues = allowed.map(String.init)
        return TypedAttribute(name, kind: .integer, default: String(value), help, constraint: constraint,
                              fallback: value, read: { text in text == nil ? value : number(text) })
    }
    /// The same, without a default: nil when unset.
    public static func integer(_ name: String, in range: ClosedRange<Int>? = nil, oneOf allowed: [Int] = [],
                               _ help: String) -> TypedAttribute<Int?> {
        var constraint = bounds(range)
        constraint.allowedValues = allowed.map(String.init)
        return TypedAttribute(name, kind: .integer, default: nil, help, constraint: constraint,
                              fallback: nil, read: { text in text == nil ? .some(nil) : number(text).map { $0 } })
    }

    /// A TCP/UDP port, 1–65535 (or within `range`).
    public static func port(_ name: String, default value: Int, in range: ClosedRange<Int>? = nil,
                            _ help: String) -> TypedAttribute<Int> {
        TypedAttribute(name, kind: .port, default: String(value), help, constraint: bounds(range),
                       fallback: value, read: { text in text == nil ? value : number(text) })
    }
    /// The same, without a default: nil when unset.
    public static func port(_ name: String, in range: ClosedRange<Int>? = nil, _ help: String) -> TypedAttribute<Int?> {
        TypedAttribute(name, kind: .port, default: nil, help, constraint: bounds(range),
                       fallback: nil, read: { text in text == nil ? .some(nil) : number(text).map { $0 } })
    }

    /// `true` / `false`.
    public static func boolean(_ name: String, default value: Bool, _ help: String) -> TypedAttribute<Bool> {
        TypedAttribute(name, kind: .boolean, default: value ? "true" : "false", help,
                       fallback: value, read: { text in text == nil ? value : decodeBoolean(text!) })
    }

    /// A duration (`250ms`, `5s`, `2m`), at least `minimum` and at most `maximum`.
    public static func duration(_ name: String, default value: Duration, minimum: Duration? = nil,
                                maximum: Duration? = nil, _ help: String) -> TypedAttribute<Duration> {
        TypedAttribute(name, kind: .duration, default: "\(value.milliseconds)ms", help,
                       constraint: AttributeConstraint(minimum: minimum?.milliseconds, maximum: maximum?.milliseconds),
                       fallback: value, read: { text in text == nil ? value : decodeDuration(text!) })
    }
    /// The same, without a default: nil when unset.
    public static func duration(_ name: String, minimum: Duration? = nil, maximum: Duration? = nil,
                                _ help: String) -> TypedAttribute<Duration?> {
        TypedAttribute(name, kind: .duration, default: nil, help,
                       constraint: AttributeConstraint(minimum: minimum?.milliseconds, maximum: maximum?.milliseconds),
                       fallback: nil, read: { text in text == nil ? .some(nil) : decodeDuration(text!).map { $0 } })
    }
    /// A duration of at least one millisecond (a timeout, an interval).
    public static func positiveDuration(_ name: String, default value: Duration, maximum: Duration? = nil,
                                        _ help: String) -> TypedAttribute<Duration> {
        duration(name, default: value, minimum: .milliseconds(1), maximum: maximum, help)
    }

    /// An absolute path.
    public static func path(_ name: String, default value: String, _ help: String) -> TypedAttribute<String> {
        TypedAttribute(name, kind: .path, default: value, help, fallback: value, read: { $0 ?? value })
    }
    /// The same, without a default: nil when unset.
    public static func path(_ name: String, _ help: String) -> TypedAttribute<String?> {
        TypedAttribute(name, kind: .path, default: nil, help, fallback: nil, read: { .some($0) })
    }

    /// A command as an argv (a JSON array of strings; never a shell string).
    public static func command(_ name: String, default value: [String], _ help: String) -> TypedAttribute<[String]> {
        TypedAttribute(name, kind: .argv, default: ArgvText.format(value), help,
                       fallback: value, read: { text in text == nil ? value : ArgvText.parse(text!) })
    }
    /// The same, without a default: nil when unset.
    public static func command(_ name: String, _ help: String) -> TypedAttribute<[String]?> {
        TypedAttribute(name, kind: .argv, default: nil, help,
                       fallback: nil, read: { text in text == nil ? .some(nil) : ArgvText.parse(text!).map { $0 } })
    }

    /// A numeric IPv4 or IPv6 address (no DNS: a monitor must not hang on a resolver).
    public static func ipAddress(_ name: String, default value: String, _ help: String) -> TypedAttribute<IPAddress> {
        let parsed = IPAddress(numeric: value)
        precondition(parsed != nil, "fshost SDK: default of attribute '\(name)' is not a numeric address: \(value)")
        return TypedAttribute(name, kind: .ipAddress, default: value, help, fallback: parsed!,
                              read: { text in text == nil ? parsed : IPAddress(numeric: text!) })
    }
    /// The same, without a default: nil when unset.
    public static func ipAddress(_ name: String, _ help: String) -> TypedAttribute<IPAddress?> {
        TypedAttribute(name, kind: .ipAddress, default: nil, help, fallback: nil,
                       read: { text in text == nil ? .some(nil) : IPAddress(numeric: text!).map { $0 } })
    }

    /// A user name (POSIX portable: letters, digits, `.`, `_`, `-`, not
    /// starting with `-`); `validate` checks the user exists (getpwnam).
    ///
    /// `notRoot`: the host refuses `root` (and uid `0`) at `cdb
    /// define/modify` (the constraint's minimum 1: a user's range bounds
    /// the uid where the value says it); another name of uid 0 is the
    /// plugin's to refuse when an action runs.
    public static func user(_ name: String, default value: String, notRoot: Bool = false,
                            _ help: String) -> TypedAttribute<String> {
        TypedAttribute(name, kind: .user, default: value, help, constraint: AttributeConstraint(minimum: notRoot ? 1 : nil),
                       fallback: value, read: { $0 ?? value })
    }
    /// The same, without a default: nil when unset.
    public static func user(_ name: String, _ help: String) -> TypedAttribute<String?> {
        TypedAttribute(name, kind: .user, default: nil, help, fallback: nil, read: { .some($0) })
    }

    /// A secret (a password, a token): never shown by the host unless asked
    /// for (`cdb get` of the key, `cdb export --include-secrets`); printing
    /// the ``Secret`` shows `(secret)`.
    public static func secret(_ name: String, _ help: String) -> TypedAttribute<Secret?> {
        TypedAttribute(name, kind: .string, default: nil, help, secret: true,
                       fallback: nil, read: { .some($0.map(Secret.init)) })
    }

    static func decodeBoolean(_ text: String) -> Bool? {
        text == "true" ? true : text == "false" ? false : nil
    }

    /// The value the host passes (`<n>ms`, canonical), read with fshost's
    /// one duration grammar (``DurationText``: a bare number is seconds), so
    /// the SDK never reads a duration otherwise than the host wrote it.
    static func decodeDuration(_ text: String) -> Duration? {
        guard case .success(let ms) = DurationText.milliseconds(text) else { return nil }
        return .milliseconds(ms)
    }
}

// MARK: - Reading


extension Resource {
    /// The attribute's value: the resource's, else the type-level one, else
    /// the declared default, checked by the host against its kind and
    /// constraints.
    public subscript<Value>(attribute: TypedAttribute<Value>) -> Value {
        attribute.read(string(attribute.name)) ?? attribute.fallback()
    }
}

/// The first listed typed attribute whose value the SDK cannot read (a
/// host that did not enforce the schema): checked before `init` runs.
func unreadableAttribute(_ attributes: [Attribute], in resource: Resource) -> Attribute? {
    attributes.first { !$0.readable(from: resource) }
}
