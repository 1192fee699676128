/// What an import did.
public struct ImportSummary: Equatable, Sendable {
    /// Resources that were not in the CDB before.
    public var defined: Int
    /// Resources that were, and whose attributes the file replaced.
    public var replaced: Int
    /// Resources removed because the file does not have them (`--replace-all`).
    public var removed: Int
    /// Types whose type-level overrides the file set.
    public var typesWithOverrides: Int
    /// Stored secrets the file left out, kept (``SecretValues``).
    public var keptSecrets: [String] = []
    /// Stored secrets the file left out, removed (`--replace-secrets`).
    public var removedSecrets: [String] = []
}

/// Where an effective attribute value comes from.
public enum AttributeSource: String, Sendable {
    /// The resource's own value.
    case resource
    /// The type-level override.
    case type = "type-level"
    /// The plugin schema's default.
    case `default`
}
