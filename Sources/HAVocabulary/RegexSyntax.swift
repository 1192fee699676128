// What the host and the SDK both refuse in a regular expression attribute:
// one rule, checked by `cdb define`/`modify` (the host) and at every action
// (the SDK's LinePattern). No Foundation.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// POSIX extended regular expressions as fshost accepts them: what
/// `regcomp(3)` (glibc, `REG_EXTENDED | REG_NEWLINE`) compiles, one line,
/// not empty, at most ``maximumLength`` bytes, without back-references.
public enum RegexSyntax {
    /// The longest pattern accepted, in bytes: glibc's compile time and
    /// memory grow with it, and a monitor compiles it on every call.
    public static let maximumLength = 4096

    /// Why `pattern` is refused (one line, without the pattern), or nil.
    public static func problem(_ pattern: String) -> String? {
        let bytes = Array(pattern.utf8)
        if bytes.isEmpty { return "empty pattern (it would match every line)" }
        if bytes.contains(where: { $0 == 0x0A || $0 == 0 }) { return "a pattern is one line: newline or NUL" }
        if bytes.count > maximumLength { return "longer than \(maximumLength) bytes" }
        var regex = regex_t()
        let rc = regcomp(&regex, pattern, REG_EXTENDED | REG_NEWLINE | REG_NOSUB)
        guard rc == 0 else {
            var buffer = [CChar](repeating: 0, count: 256)
            regerror(rc, &regex, &buffer, buffer.count)
            let message = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return message + (failingOffset(pattern).map { " at byte \($0)" } ?? "")
        }
        regfree(&regex)
        if let at = backReference(bytes) { return backReferenceMessage + " (at byte \(at))" }
        return nil
    }

    /// The length of the longest prefix of `pattern` that compiles while
    /// every longer prefix fails: where the error begins (the `(` of an
    /// unmatched group, the `[` of a bad bracket, a trailing `\`). glibc
    /// reports no position itself.
    public static func failingOffset(_ pattern: String) -> Int? {
        let bytes = Array(pattern.utf8)
        var probe = regex_t()
        for length in stride(from: bytes.count - 1, through: 0, by: -1) {
            let prefix = String(decoding: bytes[..<length], as: UTF8.self)
            if regcomp(&probe, prefix, REG_EXTENDED | REG_NEWLINE | REG_NOSUB) == 0 {
                regfree(&probe)
                return length
            }
        }
        return nil
    }

    /// Why a back-reference is refused.
    public static let backReferenceMessage = "a back-reference (\\1 to \\9) is refused: glibc matches it by "
        + "backtracking, in time exponential in the line's length (a log line could hang the monitor)"

    /// The byte offset of the first back-reference (`\1`…`\9` outside a
    /// bracket expression) in an ERE, or nil. glibc's `regexec` matches
    /// such a pattern by backtracking: `(a|aa)*\1\1x` against 400 `a`s runs
    /// for minutes, and one `regexec` call cannot be interrupted.
    public static func backReference(_ bytes: [UInt8]) -> Int? {
        let backslash = UInt8(ascii: "\\"), open = UInt8(ascii: "["), close = UInt8(ascii: "]")
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case backslash:
                if i + 1 < bytes.count, bytes[i + 1] >= UInt8(ascii: "1"), bytes[i + 1] <= UInt8(ascii: "9") { return i }
                i += 2
            case open:
                // A bracket expression: `]` first (after an optional `^`) is a
                // member; `[:class:]`, `[=e=]`, `[.c.]` hold a `]` of their own.
                var j = i + 1
                if j < bytes.count, bytes[j] == UInt8(ascii: "^") { j += 1 }
                if j < bytes.count, bytes[j] == close { j += 1 }
                while j < bytes.count, bytes[j] != close {
                    if bytes[j] == open, j + 1 < bytes.count,
                       [UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: ".")].contains(bytes[j + 1]) {
                        let delimiter = bytes[j + 1]
                        var k = j + 2
                        while k + 1 < bytes.count, !(bytes[k] == delimiter && bytes[k + 1] == close) { k += 1 }
                        j = k + 2
                    } else {
                        j += 1
                    }
                }
                i = j + 1
            default:
                i += 1
            }
        }
        return nil
    }
}
