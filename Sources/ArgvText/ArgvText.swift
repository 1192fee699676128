/// The text form of an argv attribute: a JSON array of strings. Small and
/// strict on purpose; it is parsed on the action path, where Foundation's
/// JSON would double the start-up cost.
public enum ArgvText {
    /// `["a","b c"]` → `["a", "b c"]`; nil when it is not an array of strings.
    public static func parse(_ text: String) -> [String]? {
        var chars = Array(text.unicodeScalars)[...]
        func skipSpace() { while let c = chars.first, c == " " || c == "\t" || c == "\n" { chars.removeFirst() } }
        skipSpace()
        guard chars.popFirst() == "[" else { return nil }
        var words: [String] = []
        skipSpace()
        if chars.first == "]" { chars.removeFirst(); skipSpace(); return chars.isEmpty ? [] : nil }
        while true {
            skipSpace()
            guard chars.popFirst() == "\"" else { return nil }
            var word = String.UnicodeScalarView()
            while true {
                guard let c = chars.popFirst() else { return nil }
                if c == "\"" { break }
                if c == "\\" {
                    guard let e = chars.popFirst() else { return nil }
                    switch e {
                    case "\"", "\\", "/": word.append(e)
                    case "n": word.append("\n")
                    case "t": word.append("\t")
                    case "r": word.append("\r")
                    case "b": word.append("\u{08}")
                    case "f": word.append("\u{0C}")
                    case "u":
                        let hex = String(String.UnicodeScalarView(chars.prefix(4)))
                        guard hex.count == 4, let v = UInt32(hex, radix: 16), let s = Unicode.Scalar(v) else { return nil }
                        chars.removeFirst(4)
                        word.append(s)
                    default: return nil
                    }
                } else {
                    word.append(c)
                }
            }
            words.append(String(word))
            skipSpace()
            switch chars.popFirst() {
            case ",": continue
            case "]":
                skipSpace()
                return chars.isEmpty ? words : nil
            default: return nil
            }
        }
    }

    /// `["a", "b c"]` → `["a","b c"]`.
    public static func format(_ words: [String]) -> String {
        "[" + words.map(quote).joined(separator: ",") + "]"
    }

    /// A JSON string literal for `text` (also a valid TOML basic string:
    /// both escape `"`, `\\` and control characters the same way).
    public static func quote(_ text: String) -> String {
        var out = "\""
        for s in text.unicodeScalars {
            switch s {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\u{08}": out += "\\b"
            case "\u{0C}": out += "\\f"
            default:
                if s.value < 0x20 || s.value == 0x7f {
                    let hex = String(s.value, radix: 16, uppercase: true)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(s)
                }
            }
        }
        return out + "\""
    }
}
