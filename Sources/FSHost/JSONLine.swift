import ArgvText

/// A tiny JSON writer for the one line `--json` prints (Foundation would
/// double the start-up cost of every call).
package enum JSONLine {
    case string(String), number(Int64), null

    package static func object(_ fields: [(String, JSONLine)]) -> String {
        "{" + fields.map { "\"\($0.0)\":" + $0.1.text }.joined(separator: ",") + "}"
    }

    package var text: String {
        switch self {
        case .null: return "null"
        case .number(let n): return String(n)
        case .string(let s): return ArgvText.quote(s)
        }
    }
}
