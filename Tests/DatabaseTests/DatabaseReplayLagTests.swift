// Level 4's replay lag on a real standby (R9 #2, #3): how long WAL the
// standby received has waited to be replayed, not the age of the last
// replayed commit.
import Foundation
import TestSupport
import XCTest

extension DatabaseTests {
    /// A standby of `primary` made with `pg_basebackup -R` (streaming on
    /// loopback, as the database user), named `applicationName` to the
    /// primary; not started.
    func makeStandby(of primary: PostgresCluster, applicationName: String) throws -> PostgresCluster {
        let standby = try makeCluster(copyTemplate: false)
        let backup = try template.asUser(["\(PostgresTemplate.binaries)/pg_basebackup", "-h", "127.0.0.1",
                                          "-p", String(primary.port), "-U", "postgres", "-D", standby.data, "-R",
                                          "-X", "stream", "--no-sync", "-c", "fast"],
                                         environment: ["PGPASSWORD": PostgresTemplate.password])
        guard backup.status == 0 else { throw SetupFailure("pg_basebackup failed: \(backup.output)") }
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: standby.data + "/postgresql.auto.conf"))
        handle.seekToEndOfFile()
        handle.write(Data("cluster_name = '\(applicationName)'\n".utf8))
        try handle.close()
        return standby
    }

    /// R9 #2: a fresh standby whose replay is paused before it replayed
    /// any commit (pg_last_xact_replay_timestamp() is NULL) fails level 4
    /// once WAL it received waits longer than max_replay_lag.
    /// R9 #3: after the primary was idle longer than max_replay_lag, a
    /// standby briefly behind is not reported as lagging by the idle time.
    func testLevel4MeasuresHowLongReceivedWALWaitsForReplay() throws {
        let primary = try makeCluster()
        try define(primary, "primary", ["retries=0"])
        try start("primary")
        let standby = try makeStandby(of: primary, applicationName: "standby1")
        try define(standby, "standby", ["retries=0", "standby=true", "max_replay_lag=2s"])
        try start("standby")
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 10_000) { (try? self.monitor(4, "standby").status) == 0 },
                      "the standby never streamed")
        func behind() -> Bool {
            (try? standby.psql("SELECT pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()").output) == "t"
        }

        // #2: replay paused before any commit was replayed; the primary writes.
        XCTAssertEqual(try standby.psql("SELECT pg_wal_replay_pause()").status, 0)
        XCTAssertEqual(try standby.psql("SELECT pg_last_xact_replay_timestamp() IS NULL").output, "t", "a commit was replayed already")
        XCTAssertEqual(try primary.psql("INSERT INTO \(PostgresTemplate.table) VALUES (20)").status, 0)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000, behind), "the standby never received the insert")
        let first = try monitor(4, "standby")
        XCTAssertEqual(first.status, success, "first seen behind: no lag measured yet: \(first)")
        usleep(2_500_000)
        let stuck = try monitor(4, "standby")
        XCTAssertEqual(stuck.status, commandFailed, "replay stuck 2.5 s with max_replay_lag 2 s: \(stuck)")
        XCTAssertTrue(stuck.stdout.contains("replay lag") && stuck.stdout.contains("paused"), stuck.stdout)

        // #3: caught up, then the primary idle 3 s (longer than max_replay_lag), then briefly behind.
        XCTAssertEqual(try standby.psql("SELECT pg_wal_replay_resume()").status, 0)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { (try? self.monitor(4, "standby").status) == 0 },
                      "level 4 still fails with replay resumed and caught up")
        usleep(3_000_000)
        XCTAssertEqual(try standby.psql("SELECT pg_wal_replay_pause()").status, 0)
        XCTAssertEqual(try primary.psql("INSERT INTO \(PostgresTemplate.table) VALUES (21)").status, 0)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000, behind), "the standby never received the insert")
        for _ in 0..<2 {
            let brief = try monitor(4, "standby")
            XCTAssertEqual(brief.status, success, "the idle time counted as replay lag: \(brief)")
            usleep(500_000)
        }
        XCTAssertEqual(try standby.psql("SELECT pg_wal_replay_resume()").status, 0)
        XCTAssertEqual(try run("database", "stop", "standby").status, success)
        XCTAssertEqual(try run("database", "stop", "primary").status, success)
    }
}
