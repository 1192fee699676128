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
        let backslash = UInt8(ascii: "\\"), open = UInt8(ascii: "[")
        var i = 0
        while i < bytes.count {
            switch bytes[i] {
            case backslash:
                if i + 1 < bytes.count, bytes[i + 1] >= UInt8(ascii: "1"), bytes[i + 1] <= UInt8(ascii: "9") { return i }
                i += 2
            case open:
                // A bracket expression (``bracketEnd(_:from:)``); unclosed: nothing after it.
                i = (bracketEnd(bytes, from: i) ?? bytes.count) + 1
            default:
                i += 1
            }
        }
        return nil
    }
}

extension RegexSyntax {
    /// Literals of which every match of `pattern` (an ERE that compiles,
    /// read as bytes in the C locale) contains at least one: one per
    /// top-level alternative (`|`), its longest run of plain bytes that no
    /// quantifier makes optional; nil when an alternative has none (`^$`,
    /// `.*`, `(a|b)`, a byte ≥ 0x80). A line holding none of them cannot
    /// match, so a matcher may look for them first (`memmem`) and run
    /// `regexec` only on the lines that do: the answer is the same.
    ///
    /// Conservative by construction: what it does not understand (groups,
    /// brackets, most escapes, intervals) ends a run and is skipped, which
    /// can only lose literals, never add one a match might lack.
    public static func requiredLiterals(_ pattern: [UInt8]) -> [[UInt8]]? {
        var literals: [[UInt8]] = []
        var best: [UInt8] = [], run: [UInt8] = []
        var i = 0
        let count = pattern.count
        func finishRun() {
            if run.count > best.count { best = run }
            run = []
        }
        /// Skips the quantifiers after an atom; true when they leave it
        /// required (none, or only `+`).
        func quantifiers() -> Bool? {
            var required = true
            while i < count {
                switch pattern[i] {
                case UInt8(ascii: "+"): i += 1
                case UInt8(ascii: "*"), UInt8(ascii: "?"): required = false; i += 1
                case UInt8(ascii: "{"):
                    // An interval: `{0,…}` makes it optional; any count is taken as optional.
                    guard let close = pattern[i...].firstIndex(of: UInt8(ascii: "}")) else { return nil }
                    required = false
                    i = close + 1
                default: return required
                }
            }
            return required
        }
        while i < count {
            let byte = pattern[i]
            switch byte {
            case UInt8(ascii: "|"):
                finishRun()
                if best.isEmpty { return nil }
                literals.append(best); best = []
                i += 1
                continue
            case UInt8(ascii: "("):
                // A group: skipped whole (its alternatives are not required).
                guard let close = groupEnd(pattern, from: i) else { return nil }
                finishRun()
                i = close + 1
                guard quantifiers() != nil else { return nil }
            case UInt8(ascii: "["):
                guard let close = bracketEnd(pattern, from: i) else { return nil }
                finishRun()
                i = close + 1
                guard quantifiers() != nil else { return nil }
            case UInt8(ascii: ")"):
                return nil
            case UInt8(ascii: "\\"):
                guard i + 1 < count else { return nil }
                let escaped = pattern[i + 1]
                i += 2
                // Only punctuation glibc reads as itself; `\w`, `\<`, `\'`… are operators.
                let plain = Array(".*+?[]^$\\/-:,=#%&@~!\"_;".utf8).contains(escaped)
                let atomEnd = i
                guard let required = quantifiers() else { return nil }
                if plain && required {
                    run.append(escaped)
                    if i > atomEnd { finishRun() }  // `\.+x`: x is not adjacent to the dot
                } else {
                    finishRun()
                }
            case UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "$"), UInt8(ascii: "*"), UInt8(ascii: "+"),
                 UInt8(ascii: "?"), UInt8(ascii: "{"):
                // Any byte, an anchor, or a quantifier with nothing before it.
                finishRun()
                i += 1
                guard quantifiers() != nil else { return nil }
            default:
                i += 1
                let atomEnd = i
                guard let required = quantifiers() else { return nil }
                // A byte ≥ 0x80 may be part of a character in a multibyte
                // locale, where a quantifier takes the whole character.
                if required && byte < 0x80 {
                    run.append(byte)
                    // `ab+c`: after b's repetition, c is not adjacent to "ab".
                    if i > atomEnd { finishRun() }
                } else {
                    finishRun()
                }
            }
        }
        finishRun()
        if best.isEmpty { return nil }
        literals.append(best)
        return literals
    }

    /// The index of the `)` closing the group opened at `from`, or nil.
    static func groupEnd(_ pattern: [UInt8], from: Int) -> Int? {
        var depth = 0, i = from
        while i < pattern.count {
            switch pattern[i] {
            case UInt8(ascii: "\\"): i += 2; continue
            case UInt8(ascii: "["):
                guard let close = bracketEnd(pattern, from: i) else { return nil }
                i = close + 1; continue
            case UInt8(ascii: "("): depth += 1
            case UInt8(ascii: ")"):
                depth -= 1
                if depth == 0 { return i }
            default: break
            }
            i += 1
        }
        return nil
    }

    /// The index of the `]` closing the bracket expression opened at
    /// `from`, or nil: a leading `]` (after an optional `^`) is a member;
    /// `[:class:]`, `[=e=]`, `[.c.]` hold a `]` of their own.
    static func bracketEnd(_ pattern: [UInt8], from: Int) -> Int? {
        let close = UInt8(ascii: "]"), open = UInt8(ascii: "[")
        var j = from + 1
        if j < pattern.count, pattern[j] == UInt8(ascii: "^") { j += 1 }
        if j < pattern.count, pattern[j] == close { j += 1 }
        while j < pattern.count, pattern[j] != close {
            if pattern[j] == open, j + 1 < pattern.count,
               [UInt8(ascii: ":"), UInt8(ascii: "="), UInt8(ascii: ".")].contains(pattern[j + 1]) {
                let delimiter = pattern[j + 1]
                var k = j + 2
                while k + 1 < pattern.count, !(pattern[k] == delimiter && pattern[k + 1] == close) { k += 1 }
                j = k + 2
            } else {
                j += 1
            }
        }
        return j < pattern.count ? j : nil
    }
}
