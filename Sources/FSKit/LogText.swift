/// Text read from outside (a file, a command's output) made fit for one
/// log line or reason: trimmed, cut, and with every control character or
/// invalid byte escaped, so a pidfile holding `"123 456\n…"` can never split
/// the host's one line per action into two.
public enum LogText {
    /// `bytes` without leading and trailing white space, at most `limit`
    /// bytes of it (then `…`), with `\n`, `\r`, `\t`, `\\` and any other byte
    /// below 0x20, 0x7F or not valid UTF-8 written as `\xNN`-style escapes.
    public static func escaped<Bytes: Collection>(_ bytes: Bytes, limit: Int = 64) -> String where Bytes.Element == UInt8 {
        let trimmed = Array(bytes).drop(while: isSpace).reversed().drop(while: isSpace).reversed()
        let cut = trimmed.count > limit
        var out = ""
        let valid = String(validating: trimmed.prefix(limit), as: UTF8.self)
        if let valid {
            for scalar in valid.unicodeScalars {
                switch scalar {
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case "\\": out += "\\\\"
                case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80..<0xA0).contains(scalar.value)
                    || scalar.value == 0x2028 || scalar.value == 0x2029:
                    out += "\\u{" + String(scalar.value, radix: 16) + "}"
                default: out.unicodeScalars.append(scalar)
                }
            }
        } else {
            for b in trimmed.prefix(limit) {
                if b >= 0x20 && b < 0x7F && b != UInt8(ascii: "\\") { out.unicodeScalars.append(Unicode.Scalar(b)) }
                else if b == UInt8(ascii: "\\") { out += "\\\\" }
                else { out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16) }
            }
        }
        return cut ? out + "…" : out
    }

    /// ``escaped(_:limit:)`` of a string's UTF-8.
    public static func escaped(_ text: String, limit: Int = 64) -> String { escaped(Array(text.utf8), limit: limit) }

    static func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D || c == 0x0B || c == 0x0C }
}
