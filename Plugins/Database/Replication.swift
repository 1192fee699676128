import FSKit

/// Level 4: replication, from the server's own views
/// (PostgreSQL 15 docs, "Monitoring Statistics": pg_stat_wal_receiver,
/// pg_stat_replication; "System Administration Functions":
/// pg_last_wal_receive_lsn, pg_last_wal_replay_lsn, pg_last_xact_replay_timestamp).
enum Replication {
    /// A standby: is it in recovery, its WAL receiver's status, and its
    /// replay lag in ms (0 when everything received is replayed: an idle
    /// primary sends nothing, and its last transaction's age is no lag).
    static let standbyQuery = """
        SELECT pg_is_in_recovery(), \
        (SELECT status FROM pg_stat_wal_receiver LIMIT 1), \
        CASE WHEN pg_last_wal_receive_lsn() IS NULL OR pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0 \
        ELSE COALESCE((EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp())) * 1000)::bigint, 0) END
        """

    /// A primary: the standbys connected to it and their state.
    static let primaryQuery = "SELECT application_name, state FROM pg_stat_replication"

    /// The standby's answer judged: nil when it streams with a lag under `maxLag`.
    static func standbyProblem(_ rows: [[String?]], maxLag: Duration) -> String? {
        guard let row = rows.first, row.count == 3 else { return "unexpected answer to the standby query" }
        if row[0] != "t" { return "not a standby: pg_is_in_recovery() is false (promoted?)" }
        guard let status = row[1] else { return "no WAL receiver runs (streaming replication stopped)" }
        if status != "streaming" { return "the WAL receiver is '\(LogText.escaped(status, limit: 40))', not streaming" }
        let lag = Int64(row[2] ?? "") ?? Int64.max
        if lag > maxLag.milliseconds {
            return "replay lag \(lag == Int64.max ? "unknown" : "\(lag) ms") is over max_replay_lag \(maxLag.milliseconds) ms"
        }
        return nil
    }

    /// The primary's answer judged against the standbys it expects (by
    /// `application_name`): nil when each one is connected and streaming.
    static func primaryProblem(_ rows: [[String?]], expected: [String]) -> String? {
        var state: [String: String] = [:]
        for row in rows where row.count == 2 {
            if let name = row[0] { state[name] = row[1] ?? "unknown" }
        }
        let missing = expected.filter { state[$0] == nil }
        if !missing.isEmpty {
            return "expected standby(s) not connected: " + missing.joined(separator: ", ")
                + " (connected: " + (state.isEmpty ? "none" : state.keys.sorted().joined(separator: ", ")) + ")"
        }
        let lagging = expected.filter { state[$0] != "streaming" }
        if !lagging.isEmpty {
            return "standby(s) not streaming: " + lagging.map { "\($0) is \(state[$0]!)" }.joined(separator: ", ")
        }
        return nil
    }

    /// `expected_standbys` split at commas, or why it is not a list of names.
    static func standbyNames(_ text: String) -> Result<[String], Problem> {
        let names = text.split(separator: ",").map { String($0.drop(while: { $0 == " " })).trimmingTrailingSpaces }
        guard !names.isEmpty, names.allSatisfy({ name in
            !name.isEmpty && name.utf8.count <= 63 && name.utf8.allSatisfy { $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ",") }
        }) else {
            return .failure(Problem("attribute 'expected_standbys' must be a comma-separated list of application names "
                            + "(printable ASCII, at most 63 bytes each): '\(LogText.escaped(text, limit: 100))'"))
        }
        return .success(names)
    }
}

extension String {
    var trimmingTrailingSpaces: String {
        var s = Substring(self)
        while s.last == " " { s = s.dropLast() }
        return String(s)
    }
}
