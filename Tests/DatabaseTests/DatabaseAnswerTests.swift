// Level 3's answers with both clients (R9 #7–#10): UTF-8 from any
// database encoding, large rows, at most 64 rows kept, and the answer
// compared byte for byte with a reason that shows both sides.
import Foundation
import TestSupport
import XCTest

extension DatabaseTests {
    /// The reason of a `--json` answer.
    func reason(_ r: HostSandbox.Result) -> String {
        let object = try? JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any]
        return object?["reason"] as? String ?? r.stdout
    }

    /// R9 #7, #8, #10: both clients give the same verdict, and it is the
    /// right one: a LATIN1 database's non-ASCII answer matches (both ask
    /// for client_encoding UTF8); a row over 1 MiB after the first row does
    /// not fail the builtin client; `'1\n'` is not `1`, NULL is no text, a
    /// decomposed `é` is not the precomposed one — each reason shows both
    /// sides escaped and untrimmed.
    func testAnswersAreComparedAsBytesWithBothClients() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0"])
        try start()
        XCTAssertEqual(try cluster.psql("CREATE DATABASE lat1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0").status, 0)
        // é from its UTF-8 bytes, stored in LATIN1 (one byte, E9), whatever psql's client encoding.
        let made = try cluster.psql("CREATE TABLE t (v text); INSERT INTO t VALUES ('h' || convert_from('\\xc3a9'::bytea, 'UTF8') || 'llo')",
                                    database: "lat1")
        XCTAssertEqual(made.status, 0, made.output)
        let cases: [(attributes: [String], status: Int32, reason: String?)] = [
            (["database=lat1", "query=SELECT v FROM t", "expected_answer=héllo"], success, nil),
            (["query=SELECT v FROM (VALUES (1, '1'), (2, repeat('x', 2000000))) t(k, v) ORDER BY k", "expected_answer=1"], success, nil),
            (["query=SELECT repeat('x', 2000000)", "expected_answer=x"], commandFailed, "answered 'xxxx"),
            (["query=SELECT E'1\\n'", "expected_answer=1"], commandFailed, "answered '1\\n', expected '1'"),
            (["query=SELECT ' 1'", "expected_answer=1"], commandFailed, "answered ' 1', expected '1'"),
            (["query=SELECT NULL", "expected_answer=NULL"], commandFailed, "answered NULL, expected 'NULL'"),
            (["query=SELECT E'e\\u0301'", "expected_answer=\u{E9}"], commandFailed, "another Unicode normalisation form"),
        ]
        for (index, test) in cases.enumerated() {
            for client in ["builtin", "libpq"] {
                let name = "answer\(index)-\(client)"
                try define(cluster, name, ["retries=0", "query_client=\(client)", "query_timeout=20s"] + test.attributes)
                let r = try monitor(3, name)
                XCTAssertEqual(r.status, test.status, "\(test.attributes) \(client): \(r) \(r.stdout)")
                if let expected = test.reason { XCTAssertTrue(reason(r).contains(expected), "\(client): \(reason(r))") }
            }
        }
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }

    /// R9 #9: the libpq client keeps at most 64 rows (single-row mode),
    /// not the whole result: 3 million rows cost fshost no more memory
    /// than a small answer (peak RSS of the fshost process, from its
    /// parent's getrusage(RUSAGE_CHILDREN); 110 MB before).
    func testTheLibpqClientKeepsAtMost64Rows() throws {
        let cluster = try makeCluster()
        try define(cluster, "db1", ["retries=0", "query_client=libpq", "query_timeout=30s",
                                    "query=SELECT g FROM generate_series(1, 3000000) g", "expected_answer=1"])
        try start()
        let script = "import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            + "print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
        let fshost = HostSandbox.products.appendingPathComponent("fshost").path
        let r = try sandbox.run("/usr/bin/python3", ["-c", script, fshost, "database", "monitor", "db1", "--level", "3"])
        let words = r.stdout.split(separator: "\n").last?.split(separator: " ") ?? []
        XCTAssertEqual(words.first, "0", r.description)
        let kilobytes = try XCTUnwrap(words.last.flatMap { Int($0) }, r.stdout)
        XCTAssertLessThan(kilobytes, 50_000, "peak RSS \(kilobytes) KiB: the whole result was kept")
        XCTAssertEqual(try run("database", "stop", "db1").status, success)
    }
}
