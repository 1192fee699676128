// database-libpq: the companion object of the database plugin. It holds
// everything that needs libpq — level 2's ping and the queries of levels 3
// and 4 — so that libpq loads only when those levels run, never on a
// level-1 call (load cost is paid per call: docs/ARCHITECTURE.md §4).
//
// Every wait ends at the request's timeout, on the client side:
//   - the ping is libpq's own PQpingParams (pg_isready's call), on a thread
//     of its own, awaited until the timeout: libpq's connect_timeout counts
//     whole seconds with a 2 s minimum, too coarse for a level's budget;
//   - a query uses libpq's non-blocking calls (PQconnectStartParams,
//     PQconnectPoll, PQsendQueryParams, PQconsumeInput) with poll(2) against the
//     deadline, and sets the server's statement_timeout so that a query
//     given up here is also ended there.
// No connection string is built: keywords and values go to libpq as
// arrays (expand_dbname 0), so no attribute can add a keyword.
import CLibPQ
import FSKit
import PostgresCall
import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

func serve(_ request: PostgresCall.Request) -> PostgresCall.Response {
    let deadline = ProbeDeadline(after: request.timeout)
    switch request.operation {
    case .ping: return ping(request.connection, deadline: deadline, timeout: request.timeout)
    case .query(let sql, let statementTimeout):
        return query(sql, request.connection, statementTimeout: statementTimeout, deadline: deadline)
    }
}

// MARK: Connection parameters

/// libpq keyword/value pairs for `connection` (nil values left out).
func parameters(_ c: PostgresCall.Connection, extra: [(String, String)]) -> [(String, String)] {
    var out: [(String, String)] = [("host", c.host), ("port", String(c.port)), ("dbname", c.database),
                                   ("user", c.user), ("application_name", "fshost-monitor"),
                                   // The client's own environment must not redirect the probe.
                                   ("sslmode", "prefer"), ("gssencmode", "disable"),
                                   // Answers as UTF-8 whatever the database's encoding (compared with expected_answer).
                                   ("client_encoding", "UTF8")]
    if let peer = c.requirePeer { out.append(("requirepeer", peer)) }
    if let password = c.password { out.append(("password", password)) } else if let passfile = c.passfile {
        out.append(("passfile", passfile))
    }
    return out + extra
}

/// Calls `body` with NULL-terminated C arrays of the keywords and values.
func withParameters<R>(_ pairs: [(String, String)],
                       _ body: (UnsafePointer<UnsafePointer<CChar>?>, UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let keys = pairs.map { strdup($0.0) }, values = pairs.map { strdup($0.1) }
    defer {
        keys.forEach { free($0) }
        // Wipe the values (a password among them) before freeing them.
        for v in values { if let v { memset(v, 0, strlen(v)) }; free(v) }
    }
    let k: [UnsafePointer<CChar>?] = keys.map { UnsafePointer($0) } + [nil]
    let v: [UnsafePointer<CChar>?] = values.map { UnsafePointer($0) } + [nil]
    return k.withUnsafeBufferPointer { kp in v.withUnsafeBufferPointer { vp in body(kp.baseAddress!, vp.baseAddress!) } }
}

// MARK: Ping

/// What the ping thread needs; released by the thread.
final class PingJob: @unchecked Sendable {
    let pairs: [(String, String)]
    /// The thread's end of a socket pair: one byte, the PGPing value.
    let fd: Int32
    init(pairs: [(String, String)], fd: Int32) { self.pairs = pairs; self.fd = fd }
}

func ping(_ connection: PostgresCall.Connection, deadline: ProbeDeadline, timeout: Duration) -> PostgresCall.Response {
    // libpq's own limit, so an abandoned thread ends soon after (whole seconds, at least 2).
    let seconds = max(2, (timeout.milliseconds + 999) / 1000)
    var ends: [Int32] = [-1, -1]
    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &ends) == 0 else {
        return .noResponse("socketpair: " + String(cString: strerror(errno)))
    }
    defer { close(ends[0]) }
    // No password, as pg_isready: a server that asks for one is up (PQping
    // answers at the authentication request), and a SCRAM exchange would
    // cost two rounds of PBKDF2 (~10 ms) for nothing.
    var anonymous = connection
    anonymous.password = nil
    anonymous.passfile = nil
    let job = PingJob(pairs: parameters(anonymous, extra: [("connect_timeout", String(seconds))]), fd: ends[1])
    var thread = pthread_t()
    let started = pthread_create(&thread, nil, { raw in
        let job = Unmanaged<PingJob>.fromOpaque(raw!).takeRetainedValue()
        var answer = withParameters(job.pairs) { k, v in UInt8(truncatingIfNeeded: PQpingParams(k, v, 0).rawValue) }
        // MSG_NOSIGNAL: the caller may have given up and closed its end.
        _ = send(job.fd, &answer, 1, Int32(MSG_NOSIGNAL))
        close(job.fd)
        return nil
    }, Unmanaged.passRetained(job).toOpaque())
    guard started == 0 else {
        close(ends[1])
        Unmanaged.passUnretained(job).release()
        return .noResponse("pthread_create: " + String(cString: strerror(started)))
    }
    pthread_detach(thread)
    switch wait(ends[0], for: Int16(POLLIN), until: deadline) {
    case .ready: break
    case .timedOut: return .timedOut("no answer to the ping within \(timeout.milliseconds) ms")
    case .failed(let why): return .noResponse(why)
    }
    var answer: UInt8 = 255
    guard recv(ends[0], &answer, 1, 0) == 1 else { return .noResponse("the ping thread gave no answer") }
    switch UInt32(answer) {
    case PQPING_OK.rawValue: return .accepting
    case PQPING_REJECT.rawValue: return .rejecting
    case PQPING_NO_RESPONSE.rawValue: return .noResponse("no response from the server at \(connection.host) port \(connection.port)")
    default: return .noResponse("libpq could not ping (bad connection parameters)")
    }
}

// MARK: Query

func query(_ sql: String, _ connection: PostgresCall.Connection, statementTimeout: Duration,
           deadline: ProbeDeadline) -> PostgresCall.Response {
    // Read only: whatever the query says, the probe writes nothing.
    let options = "-c statement_timeout=\(max(1, statementTimeout.milliseconds)) -c default_transaction_read_only=on"
    guard let conn = withParameters(parameters(connection, extra: [("options", options)]), {
        PQconnectStartParams($0, $1, 0)
    }) else { return .connectFailed("libpq could not allocate a connection") }
    defer { PQfinish(conn) }
    if PQstatus(conn) == CONNECTION_BAD { return connectionFailure(conn) }

    // Connect and authenticate.
    var polling = PGRES_POLLING_WRITING
    while polling != PGRES_POLLING_OK {
        switch polling {
        case PGRES_POLLING_FAILED: return connectionFailure(conn)
        case PGRES_POLLING_READING, PGRES_POLLING_WRITING:
            let events = polling == PGRES_POLLING_READING ? Int16(POLLIN) : Int16(POLLOUT)
            switch wait(PQsocket(conn), for: events, until: deadline) {
            case .ready: break
            case .timedOut: return .timedOut("connecting: no answer within the timeout")
            case .failed(let why): return .connectFailed(why)
            }
        default: break
        }
        polling = PQconnectPoll(conn)
    }

    // Send the query.
    // Single-row mode: libpq hands each row over as it arrives, so at most
    // 64 are kept, not the whole result (libpq docs, "Retrieving Query Results Row-by-Row").
    guard PQsetnonblocking(conn, 1) == 0, PQsendQueryParams(conn, sql, 0, nil, nil, nil, nil, 0) == 1,
          PQsetSingleRowMode(conn) == 1 else { return .connectFailed(message(conn)) }
    while true {
        let flushed = PQflush(conn)
        if flushed == 0 { break }
        if flushed < 0 { return .connectFailed(message(conn)) }
        switch wait(PQsocket(conn), for: Int16(POLLOUT) | Int16(POLLIN), until: deadline) {
        case .ready: if PQconsumeInput(conn) == 0 { return .connectFailed(message(conn)) }
        case .timedOut: return .timedOut("sending the query: no progress within the timeout")
        case .failed(let why): return .connectFailed(why)
        }
    }

    // Collect the rows (one per PGRES_SINGLE_TUPLE result, then an empty
    // PGRES_TUPLES_OK), the first 64; the first error wins.
    var rows: [[String?]] = []
    var failure: PostgresCall.Response?
    while true {
        while PQisBusy(conn) == 1 {
            switch wait(PQsocket(conn), for: Int16(POLLIN), until: deadline) {
            case .ready: if PQconsumeInput(conn) == 0 { return failure ?? .connectFailed(message(conn)) }
            case .timedOut: return .timedOut("waiting for the query's answer: none within the timeout")
            case .failed(let why): return .connectFailed(why)
            }
        }
        guard let result = PQgetResult(conn) else { break }
        defer { PQclear(result) }
        switch PQresultStatus(result) {
        case PGRES_SINGLE_TUPLE, PGRES_TUPLES_OK:
            for r in 0..<min(PQntuples(result), Int32(64 - rows.count)) {
                rows.append((0..<PQnfields(result)).map { c in
                    PQgetisnull(result, r, c) == 1 ? nil : String(cString: PQgetvalue(result, r, c))
                })
            }
        case PGRES_COMMAND_OK, PGRES_EMPTY_QUERY: break
        default:
            if failure == nil {
                let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? "?????"
                let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
                    ?? String(cString: PQresultErrorMessage(result))
                failure = .queryFailed(sqlState: state, oneLine(primary))
            }
        }
    }
    return failure ?? .rows(rows)
}

/// Why the connection failed: authentication (the server asked for a
/// password and none was given, or it said the authentication failed) or
/// anything else — a peer that hangs up after the password is not a
/// refusal of it.
func connectionFailure(_ conn: OpaquePointer) -> PostgresCall.Response {
    let text = message(conn)
    if PQconnectionNeedsPassword(conn) == 1 { return .authenticationFailed("the server asks for a password and none is set: " + text) }
    if text.containsText("authentication failed") { return .authenticationFailed(text) }
    // A password was sent but no refusal came back (the peer hung up):
    // not a verdict on the password.
    if PQconnectionUsedPassword(conn) == 1 {
        return .connectFailed("the connection ended after the password was sent, with no authentication answer: " + text)
    }
    return .connectFailed(text)
}

func message(_ conn: OpaquePointer) -> String { oneLine(String(cString: PQerrorMessage(conn))) }

/// libpq's messages end with a newline and may hold several lines.
func oneLine(_ text: String) -> String {
    text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }).map { $0.drop(while: { $0 == " " }) }
        .joined(separator: " | ")
}

// MARK: Waiting

enum Readiness { case ready, timedOut, failed(String) }

/// poll(2) on `fd` for `events` until `deadline`.
func wait(_ fd: Int32, for events: Int16, until deadline: ProbeDeadline) -> Readiness {
    guard fd >= 0 else { return .failed("no connection socket") }
    var pfd = pollfd(fd: fd, events: events, revents: 0)
    while true {
        let left = deadline.remaining.milliseconds
        if deadline.hasPassed { return .timedOut }
        let n = poll(&pfd, 1, Int32(clamping: max(1, left)))
        if n > 0 { return .ready }
        if n == 0 { continue }
        if errno == EINTR { continue }
        return .failed("poll: " + String(cString: strerror(errno)))
    }
}
