import FSKit

/// Level 3's verdict on the query's answer: its first row's first value
/// against `expected_answer`, as bytes.
///
/// - Byte-exact (UTF-8, both clients ask the server for `client_encoding`
///   UTF8): not Swift's `==`, which holds canonically equivalent strings
///   equal (`e` + U+0301 and `é`), nor trimmed (`'1\n'` is not `'1'`).
/// - SQL NULL is no text: it equals no `expected_answer` (to expect one,
///   query `x IS NULL`); it is written NULL, unquoted.
/// - The reason shows both sides whole up to 200 bytes each, control
///   characters escaped (``LogText/clean(_:limit:)``: `\n`, `\t`, `\xNN`)
///   and white space kept; when they differ only in Unicode form, says so.
enum AnswerCheck {
    /// Nil when `rows` answer `expected`; else the reason (one line).
    static func problem(query sql: String, rows: [[String?]], expected: String) -> String? {
        let query = "query '\(LogText.escaped(sql, limit: 200))'"
        guard let first = rows.first, let value = first.first else {
            return "\(query) returned no row, expected \(quoted(expected))"
        }
        guard let value else { return "\(query) answered NULL, expected \(quoted(expected))" }
        if value.utf8.elementsEqual(expected.utf8) { return nil }
        let form = value == expected ? " (the same text in another Unicode normalisation form: the bytes differ)" : ""
        return "\(query) answered \(quoted(value)), expected \(quoted(expected))\(form)"
    }

    /// `text` in single quotes, escaped, not trimmed.
    static func quoted(_ text: String) -> String { "'" + LogText.clean(text, limit: 200) + "'" }
}
