import FSKit

/// Level 3's query: the resource's own, or `SELECT 1 FROM <table> LIMIT 1`
/// on the table it names (the FailSafe guide: "for a database, a simple
/// request such as querying a table can be made"), or `SELECT 1`.
enum MonitorQuery {
    /// The query to run, or why the attributes cannot give one.
    static func make(query: String?, table: String?) -> Result<String, Problem> {
        if let query {
            guard query.utf8.contains(where: { !LogText.isSpace($0) && $0 != UInt8(ascii: ";") }) else {
                return .failure(Problem("attribute 'query' is empty"))
            }
            return .success(query)
        }
        guard let table else { return .success("SELECT 1") }
        guard let quoted = quotedTableName(table) else {
            return .failure(Problem("attribute 'table' must be a table name, optionally schema-qualified "
                            + "(letters, digits, _ and $, not starting with a digit; at most 63 bytes each): '\(LogText.escaped(table, limit: 100))'"))
        }
        return .success("SELECT 1 FROM \(quoted) LIMIT 1")
    }

    /// `schema.table` or `table` as quoted SQL identifiers (`"public"."t"`),
    /// nil unless each part is a plain identifier: nothing in the name can
    /// reach the SQL outside its quotes.
    static func quotedTableName(_ name: String) -> String? {
        let parts = name.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...2).contains(parts.count) else { return nil }
        for part in parts {
            guard let first = part.utf8.first, part.utf8.count <= 63, !(first >= 0x30 && first <= 0x39),
                  part.utf8.allSatisfy({ c in
                      (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                          || c == UInt8(ascii: "_") || c == UInt8(ascii: "$")
                  }) else { return nil }
        }
        return parts.map { "\"\($0)\"" }.joined(separator: ".")
    }
}
