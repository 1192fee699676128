/// The one place text from outside (a plugin's reason, command output, a
/// pidfile, an attribute, argv) is made safe to log: every log line (the
/// host's `Logger`), every JSON reason (`ActionRunner`) and every error and
/// warning line of `fshost-admin` (`printError`) passes through it. Here,
/// in the vocabulary, because the host and the admin tool share it.
///
/// - Control characters are escaped, so a value can never start a new log
///   line (a crafted reason could otherwise write a line that reads like
///   another resource's success): `\n` → `\\n`, `\r` → `\\r`, `\t` → `\\t`,
///   every other C0 character and DEL → `\\xNN`, C1 characters and the
///   Unicode line/paragraph separators → `\\uNNNN`. Other text, backslashes
///   included, is kept as is.
/// - Length is bounded in UTF-8 bytes of the *input*: what is beyond the
///   limit is cut at a character boundary and replaced by
///   `… (N bytes cut)`, so a 10 MB reason costs the log 1 KiB.
public enum LogText {
    /// Bound of a reason (the outcome's explanation): 1 KiB.
    public static let reasonLimit = 1024
    /// Bound of a whole log line before escaping: 4 KiB (a reason plus the
    /// names and timing around it).
    public static let lineLimit = 4096

    /// `text` escaped and cut after `limit` bytes.
    public static func clean(_ text: String, limit: Int) -> String {
        let total = text.utf8.count
        var out = ""
        out.reserveCapacity(min(total, limit) + 32)
        var kept = 0
        for scalar in text.unicodeScalars {
            let size = UTF8.width(scalar)
            if kept + size > limit { break }
            kept += size
            append(scalar, to: &out)
        }
        if total > kept { out += "… (\(total - kept) bytes cut)" }
        return out
    }

    /// Whether `text` is already clean for `limit` (nothing to escape,
    /// short enough): the common case costs one pass and no copy.
    static func isClean(_ text: String, limit: Int) -> Bool {
        guard text.utf8.count <= limit else { return false }
        for byte in text.utf8 where byte < 0x20 || byte == 0x7F || byte == 0xC2 || byte == 0xE2 {
            return false   // 0xC2/0xE2 may start C1 or U+2028/2029: take the slow path
        }
        return true
    }

    /// A reason, bounded to ``reasonLimit``.
    public static func reason(_ text: String) -> String {
        isClean(text, limit: reasonLimit) ? text : clean(text, limit: reasonLimit)
    }

    /// Bytes read from outside for a reason (a pidfile's first line, the
    /// last lines of a command's output): white space around them dropped,
    /// then escaped and cut as ``clean(_:limit:)``; a byte that is not
    /// valid UTF-8 is written `\xNN`. So a pidfile holding `"123 456\n"`
    /// reads `123 456`, and can never split the one line of an action.
    public static func escaped<Bytes: Collection>(_ bytes: Bytes, limit: Int = 64) -> String where Bytes.Element == UInt8 {
        let all = Array(bytes)
        guard let first = all.firstIndex(where: { !isSpace($0) }), let last = all.lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        let trimmed = all[first...last]
        if let text = String(validating: trimmed, as: UTF8.self) { return clean(text, limit: limit) }
        var out = ""
        let kept = trimmed.prefix(limit)
        for byte in kept {
            if byte < 0x80 { append(Unicode.Scalar(byte), to: &out) } else { out += "\\x" + hex(UInt32(byte), digits: 2) }
        }
        if trimmed.count > kept.count { out += "… (\(trimmed.count - kept.count) bytes cut)" }
        return out
    }

    /// ``escaped(_:limit:)`` of a string's UTF-8.
    public static func escaped(_ text: String, limit: Int = 64) -> String { escaped(Array(text.utf8), limit: limit) }

    /// ASCII white space: space, `\t`, `\n`, `\v`, `\f`, `\r`.
    public static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || (c >= 0x09 && c <= 0x0D) }

    /// A log line, bounded to ``lineLimit``.
    public static func line(_ text: String) -> String {
        isClean(text, limit: lineLimit) ? text : clean(text, limit: lineLimit)
    }

    private static func append(_ scalar: Unicode.Scalar, to out: inout String) {
        let value = scalar.value
        switch value {
        case 0x0A: out += "\\n"
        case 0x0D: out += "\\r"
        case 0x09: out += "\\t"
        case 0x00..<0x20, 0x7F: out += "\\x" + hex(value, digits: 2)
        case 0x80..<0xA0, 0x2028, 0x2029: out += "\\u" + hex(value, digits: 4)
        default: out.unicodeScalars.append(scalar)
        }
    }

    private static func hex(_ value: UInt32, digits: Int) -> String {
        let text = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, digits - text.count)) + text
    }
}
