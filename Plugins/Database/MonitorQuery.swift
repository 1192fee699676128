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
    /// One pass over the bytes (no splitting, mapping and joining: their
    /// first use in a fresh process cost ~15 µs on every level's path,
    /// checkValues asks for the query at each).
    static func quotedTableName(_ name: String) -> String? {
        var quoted: [UInt8] = [UInt8(ascii: "\"")]
        quoted.reserveCapacity(name.utf8.count + 4)
        var parts = 1, length = 0
        for c in name.utf8 {
            if c == UInt8(ascii: ".") {
                guard length > 0, parts < 2 else { return nil }
                quoted += [UInt8(ascii: "\""), c, UInt8(ascii: "\"")]
                parts += 1
                length = 0
                continue
            }
            let digit = c >= 0x30 && c <= 0x39
            guard digit || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: "_") || c == UInt8(ascii: "$"),
                  !(digit && length == 0), length < 63 else { return nil }
            quoted.append(c)
            length += 1
        }
        guard length > 0 else { return nil }
        quoted.append(UInt8(ascii: "\""))
        return String(decoding: quoted, as: UTF8.self)
    }
}
