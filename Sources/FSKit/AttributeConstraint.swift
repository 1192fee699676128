/// What a value must be beyond its kind, enforced by the host before any
/// action runs and at every `cdb define/modify/import`: a violation is
/// `HA_INVAL_ARGS` (2) naming the attribute and what is allowed. A plugin
/// checks none of it itself.
///
/// Carried to the host in the appended fields of `fshost_attribute`
/// (`allowed_values`, `minimum`, `maximum`, `flags`; then `pattern`,
/// `pattern_description`, `refused_values`).
public struct AttributeConstraint: Sendable, Equatable {
    /// Non-empty: the value must be one of these (canonical texts).
    public var allowedValues: [String]
    /// Least value: integer and port as the number, duration in milliseconds.
    public var minimum: Int64?
    /// Greatest value, in the units of ``minimum``.
    public var maximum: Int64?

    /// A POSIX extended regular expression: the host refuses what
    /// `RegexSyntax` refuses (does not compile, a back-reference) at every
    /// `cdb` write and before any action.
    public var isRegex: Bool

    /// A POSIX extended regular expression the WHOLE value must match (the
    /// host matches `^(pattern)$`, no back-reference): a name the value's
    /// consumer would refuse is refused at `cdb define`, not first by an
    /// action. nil: none.
    public var pattern: String?
    /// What ``pattern`` allows, in words, for the host's one-line refusal
    /// ("letters, digits, _ - ., starting with a letter or _").
    public var patternDescription: String?
    /// Values refused although the pattern admits them: words the
    /// consumer reads as something else (nft's keywords as a table name).
    public var refusedValues: [String]

    /// A constraint; the defaults constrain nothing (``isEmpty``). Bounds are
    /// in the units of ``minimum``; values are canonical texts.
    public init(allowedValues: [String] = [], minimum: Int64? = nil, maximum: Int64? = nil, isRegex: Bool = false,
                pattern: String? = nil, patternDescription: String? = nil, refusedValues: [String] = []) {
        self.allowedValues = allowedValues
        self.minimum = minimum
        self.maximum = maximum
        self.isRegex = isRegex
        self.pattern = pattern
        self.patternDescription = patternDescription
        self.refusedValues = refusedValues
    }

    /// No constraint beyond the kind.
    public var isEmpty: Bool {
        allowedValues.isEmpty && minimum == nil && maximum == nil && !isRegex && pattern == nil && refusedValues.isEmpty
    }
}
