#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A schema's pattern for an attribute's value (`fshost_attribute.pattern`):
/// a POSIX extended regular expression the WHOLE value must match, so a
/// name the value's consumer would refuse (an nft table name, a file under
/// /run/netns) is refused at `cdb define/modify/import`, before any action.
///
/// The whole value: the pattern is compiled as `^(PATTERN)$` with
/// `REG_EXTENDED | REG_NOSUB` and without `REG_NEWLINE`, so `^` and `$` are
/// the value's ends and a newline in the value is just a byte the pattern
/// must allow. The pattern is the plugin's, checked by ``RegexSyntax``
/// (HAVocabulary) like a regex attribute's value.
public enum AttributePattern {
    /// True when all of `value` matches `pattern`; nil when the pattern
    /// does not compile (the plugin's error, which refuses every value).
    public static func wholeMatch(_ value: String, _ pattern: String) -> Bool? {
        var regex = regex_t()
        guard regcomp(&regex, "^(" + pattern + ")$", REG_EXTENDED | REG_NOSUB) == 0 else { return nil }
        defer { regfree(&regex) }
        // regexec reads a C string: a NUL in the value would hide the rest.
        if value.utf8.contains(0) { return false }
        return regexec(&regex, value, 0, nil, 0) == 0
    }
}
