import FSKit

/// Level 4: replication, from the server's own views
/// (PostgreSQL 15 docs, "Monitoring Statistics": pg_stat_wal_receiver,
/// pg_stat_replication; "System Administration Functions":
/// pg_last_wal_receive_lsn, pg_last_wal_replay_lsn, pg_is_wal_replay_paused, pg_wal_lsn_diff).
enum Replication {
    /// A standby: in recovery; its WAL receiver's status; how far WAL was
    /// received and replayed (byte positions: pg_wal_lsn_diff from 0/0);
    /// whether replay is paused; the server's clock (ms since the epoch).
    /// pg_is_wal_replay_paused() is asked only in recovery (it raises an
    /// error otherwise).
    static let standbyQuery = """
        SELECT pg_is_in_recovery(), \
        (SELECT status FROM pg_stat_wal_receiver LIMIT 1), \
        pg_wal_lsn_diff(pg_last_wal_receive_lsn(), '0/0')::bigint, \
        pg_wal_lsn_diff(pg_last_wal_replay_lsn(), '0/0')::bigint, \
        CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END, \
        (EXTRACT(EPOCH FROM clock_timestamp()) * 1000)::bigint
        """

    /// What level 4 keeps between calls on a standby (state key
    /// ``behindKey``): the WAL position received when replay was first seen
    /// behind it, and that time (the server's clock, ms).
    struct Behind: Equatable {
        let target: Int64, since: Int64
        var text: String { "\(target) \(since)" }
        init(target: Int64, since: Int64) { self.target = target; self.since = since }
        init?(text: String?) {
            let parts = text?.split(separator: " ") ?? []
            guard parts.count == 2, let t = Int64(parts[0]), let s = Int64(parts[1]) else { return nil }
            target = t; since = s
        }
    }
    static let behindKey = "replay_behind"

    /// The replay lag rule (a standby's replay lag: how long WAL it has
    /// received has waited to be replayed; PostgreSQL 15 docs, "System
    /// Administration Functions", "Recovery Information Functions"):
    /// - replay has reached what was received (`pg_last_wal_replay_lsn() >=
    ///   pg_last_wal_receive_lsn()`): the lag is 0 and nothing is kept —
    ///   an idle primary sends nothing, and its last commit's age is no lag;
    /// - behind, with a kept position replay has still not reached: replay
    ///   has been behind since the kept time; the lag is now minus it;
    /// - behind otherwise (first seen, or replay passed the kept position):
    ///   the position received now and now are kept; the lag is 0.
    /// So the lag is a lower bound, short of the real one by at most the
    /// time between two monitors: a standby is reported once WAL it had
    /// received at one monitor is still not replayed `max_replay_lag`
    /// later. Not `now() - pg_last_xact_replay_timestamp()`, the age of the
    /// last replayed commit: it counts idle time as lag, and is NULL until
    /// a first commit is replayed.
    /// Returns the lag in ms and what to keep (nil: nothing).
    static func replayLag(received: Int64, replayed: Int64, now: Int64, kept: Behind?) -> (lag: Int64, keep: Behind?) {
        if replayed >= received { return (0, nil) }
        if let kept, replayed < kept.target { return (max(0, now - kept.since), kept) }
        return (0, Behind(target: received, since: now))
    }

    /// The standby's answer judged: nil when it streams with a lag under
    /// `maxLag`; `kept` is what the last call kept, `keep` receives what to keep now.
    static func standbyProblem(_ rows: [[String?]], maxLag: Duration, kept: Behind?, keep: inout Behind?) -> String? {
        keep = nil
        guard let row = rows.first, row.count == 6 else { return "unexpected answer to the standby query" }
        if row[0] != "t" { return "not a standby: pg_is_in_recovery() is false (promoted?)" }
        guard let status = row[1] else { return "no WAL receiver runs (streaming replication stopped)" }
        if status != "streaming" { return "the WAL receiver is '\(LogText.escaped(status, limit: 40))', not streaming" }
        guard let received = row[2].flatMap({ Int64($0) }), let replayed = row[3].flatMap({ Int64($0) }),
              let now = row[5].flatMap({ Int64($0) }) else {
            return "replay lag unknown (no received or replayed WAL position)"
        }
        let (lag, next) = replayLag(received: received, replayed: replayed, now: now, kept: kept)
        keep = next
        if lag > maxLag.milliseconds {
            let paused = row[4] == "t" ? " (replay is paused: pg_wal_replay_resume())" : ""
            return "replay lag \(lag) ms is over max_replay_lag \(maxLag.milliseconds) ms: WAL received \(lag) ms ago is not replayed\(paused)"
        }
        return nil
    }

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
