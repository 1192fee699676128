/// The kind of value an attribute holds, in ABI order (`FSHOST_ATTR_*` in
/// `fshost_plugin.h`; HAVocabularyTests holds them equal). The host checks
/// every value against its kind before an action runs (the CDB's
/// `canonicalize`), and the CDB stores the canonical text form (so export →
/// import round-trips exactly). The SDK's `Attribute.Kind` is this type.
public enum AttributeKind: UInt32, Sendable, CaseIterable {
    case string = 0
    case integer = 1
    case boolean = 2
    /// ``DurationText``'s grammar (`250ms`, `5s`, `2m`, `1h`; a bare number
    /// is seconds), at most 24 h; canonical: `<n>ms`.
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
}
