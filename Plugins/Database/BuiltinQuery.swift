import FSKit
import PostgresCall
import SCRAMCall
#if canImport(Glibc)
import Glibc
#endif

/// Levels 3 and 4 without libpq (`query_client=builtin`, the default): one
/// connection over the Unix socket and one statement, in the PostgreSQL 15
/// frontend/backend protocol 3.0 ("Message Flow": Start-up, Extended
/// Query), so the call loads neither libpq nor libcrypto (~4 ms of ~24
/// libraries per call). What it does is what the companion asks libpq to
/// do: the listener's uid checked before anything is sent (libpq's
/// `requirepeer`); a StartupMessage with `statement_timeout` and
/// `default_transaction_read_only=on` in its `options` (no extra round
/// trip); trust, password or SCRAM-SHA-256 authentication (the server's
/// signature checked before its AuthenticationOk is believed; no
/// ReadyForQuery before AuthenticationOk); the statement by Parse/Bind/Execute/Sync, where the
/// server refuses several statements; at most 64 rows, as text (UTF-8:
/// `client_encoding`; a row over 1 MiB read through, its first value kept);
/// every wait bounded by the deadline. An authentication it does not speak (md5, GSS,
/// SSPI), or SCRAM with a non-ASCII password (SASLprep, RFC 4013, is
/// libpq's), answers ``Answer/needsLibpq(_:)``: the caller asks the companion.
enum BuiltinQuery {
    enum Answer: Equatable {
        case response(PostgresCall.Response)
        /// This client cannot do it (an authentication method it lacks).
        case needsLibpq(String)
    }

    /// Runs `sql` on the server listening at `socket` as uid `owner`;
    /// `scramCrypto` is the SCRAM companion, asked only when the server
    /// asks for SCRAM (nil: it could not be loaded).
    static func run(_ sql: String, socket path: String, owner: UInt32, user: String, database: String,
                    password: String?, statementTimeout: Duration, timeout: Duration,
                    scramCrypto: (SCRAMCall.Request) -> SCRAMCall.Response?) -> Answer {
        let deadline = ProbeDeadline(after: timeout)
        let connection: TCPConnection
        switch UnixSocketProbe.open(path: path, by: deadline) {
        case .success(let c): connection = c
        case .failure(let error):
            if error.result == .timedOut { return .response(.timedOut("connecting: no answer within the timeout")) }
            return .response(.connectFailed(error.result.summary(timeout: timeout)))
        }
        switch connection.peerCredentials() {
        case .success(let peer) where peer.uid == owner: break
        case .success(let peer):
            return .response(.connectFailed("the listener runs as uid \(peer.uid), not the server's os_user (uid \(owner)): not this server (peer check, as libpq's requirepeer)"))
        case .failure(let error): return .response(.connectFailed(error.result.summary(timeout: timeout)))
        }
        var session = Session(connection: connection, deadline: deadline)
        let options = "-c statement_timeout=\(max(1, statementTimeout.milliseconds)) -c default_transaction_read_only=on"
        var startup: [UInt8] = [0x00, 0x03, 0x00, 0x00]
        // client_encoding UTF8: answers come as UTF-8 whatever the database's encoding (as the companion asks libpq).
        for (name, value) in [("user", user), ("database", database), ("application_name", "fshost-monitor"),
                              ("client_encoding", "UTF8"), ("options", options)] {
            startup += Array(name.utf8) + [0] + Array(value.utf8) + [0]
        }
        startup.append(0)
        if let failed = session.send(Message.bytes(Int32(startup.count + 4)) + startup) { return .response(failed) }

        // Authentication, then the server's parameters until ReadyForQuery.
        var scram: SCRAMClient?
        var passwordSent = false
        var ready = false
        /// AuthenticationOk received: ReadyForQuery before it is refused (as libpq refuses it).
        var authenticated = false
        while !ready {
            let message: Message
            switch session.next() {
            case .success(let m): message = m
            case .failure(let stopped):
                // A peer that hangs up after the password gave no verdict on it (as the companion says).
                if passwordSent, case .connectFailed(let why) = stopped.response {
                    return .response(.connectFailed("the connection ended after the password was sent, with no authentication answer: \(why)"))
                }
                return .response(stopped.response)
            }
            switch message.type {
            case UInt8(ascii: "R"):
                guard message.body.count >= 4 else { return .response(.connectFailed("malformed authentication request")) }
                let code = Message.int32(message.body, 0)
                let rest = Array(message.body[4...])
                switch code {
                case 0:
                    // AuthenticationOk. Once SCRAM began, only after the
                    // server proved it knows the password (its `v=`
                    // checked, RFC 5802 §3 "the client authenticates the
                    // server"): a stand-in would otherwise skip the proof.
                    if let client = scram, !client.serverVerified {
                        return .response(.connectFailed("the server accepted the login before proving it knows the password (no checked SCRAM server signature): not the server"))
                    }
                    authenticated = true
                case 3:
                    guard let password else { return .response(.authenticationFailed("the server asks for a password and none is set")) }
                    if let failed = session.send(Message.frame(UInt8(ascii: "p"), Array(password.utf8) + [0])) { return .response(failed) }
                    passwordSent = true
                case 10:
                    let mechanisms = rest.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                    guard mechanisms.contains("SCRAM-SHA-256") else {
                        return .needsLibpq("the server offers SASL \(mechanisms.joined(separator: ", ")) only")
                    }
                    guard let password else { return .response(.authenticationFailed("the server asks for a password and none is set")) }
                    guard scram == nil else { return .response(.connectFailed("a second SASL exchange")) }
                    // SASLprep (RFC 4013) changes only non-ASCII text:
                    // such a password goes to libpq, which prepares it as
                    // the server did when it stored the verifier.
                    guard password.utf8.allSatisfy({ $0 < 0x80 }) else {
                        return .needsLibpq("the password is not ASCII (SCRAM needs SASLprep, which libpq does)")
                    }
                    guard let client = SCRAMClient(password: password) else {
                        return .response(.connectFailed("no random bytes from /dev/urandom for the SCRAM nonce"))
                    }
                    scram = client
                    let first = client.firstMessage
                    let mechanism = Array("SCRAM-SHA-256".utf8) + [0]
                    if let failed = session.send(Message.frame(UInt8(ascii: "p"), mechanism + Message.bytes(Int32(first.count)) + first)) { return .response(failed) }
                case 11:
                    guard scram != nil, !scram!.proofComputed else { return .response(.connectFailed("SASL continue without a SASL exchange")) }
                    switch scram!.finalMessage(rest, crypto: scramCrypto) {
                    case .success(let final):
                        if let failed = session.send(Message.frame(UInt8(ascii: "p"), final)) { return .response(failed) }
                        passwordSent = true
                    case .failure(let error): return .response(.connectFailed(error.text))
                    }
                case 12:
                    guard scram != nil, scram!.proofComputed else { return .response(.connectFailed("SASL final without a SASL exchange")) }
                    if let error = scram!.verifyFinal(rest) { return .response(.connectFailed(error.text)) }
                case 5: return .needsLibpq("the server asks for md5 authentication")
                default: return .needsLibpq("the server asks for authentication method \(code)")
                }
            case UInt8(ascii: "E"):
                let fields = Message.fields(message.body)
                let state = fields[UInt8(ascii: "C")] ?? "?????"
                let text = fields[UInt8(ascii: "M")] ?? "the server refused the connection"
                // 28P01 invalid_password, 28000 invalid_authorization_specification.
                if state == "28P01" || state == "28000" { return .response(.authenticationFailed("FATAL: \(text)")) }
                return .response(.connectFailed("FATAL: \(text) (SQLSTATE \(state))"))
            case UInt8(ascii: "Z"):
                // libpq: "expected authentication request from server, but received Z".
                guard authenticated else {
                    return .response(.connectFailed("the server said ready before any authentication answer (no AuthenticationOk): not the server"))
                }
                ready = true
            default: break  // ParameterStatus, BackendKeyData, NoticeResponse
            }
        }

        // Parse, Bind, Execute, Sync: one statement, rows as text.
        var batch = Message.frame(UInt8(ascii: "P"), [0] + Array(sql.utf8) + [0, 0, 0])
        batch += Message.frame(UInt8(ascii: "B"), [0, 0, 0, 0, 0, 0, 0, 0])
        batch += Message.frame(UInt8(ascii: "E"), [0, 0, 0, 0, 0])
        batch += Message.frame(UInt8(ascii: "S"), [])
        if let failed = session.send(batch) { return .response(failed) }
        var rows: [[String?]] = []
        var failure: PostgresCall.Response?
        while true {
            let message: Message
            switch session.next(readingThroughRows: true) {
            case .success(let m): message = m
            case .failure(let stopped):
                if let failure { return .response(failure) }
                // The query was sent: a hang-up now is no connection failure (SQLSTATE 08006, connection_failure).
                if case .connectFailed(let why) = stopped.response {
                    return .response(.queryFailed(sqlState: "08006", "the connection ended before the answer: \(why)"))
                }
                return .response(stopped.response)
            }
            switch message.type {
            case UInt8(ascii: "D"):
                guard rows.count < 64 else { continue }
                guard var row = Message.dataRow(message.body, truncated: message.truncated) else {
                    return .response(.queryFailed(sqlState: "08P01", "malformed data row from the server"))
                }
                if message.truncated {
                    // Only the first value is compared: kept when it was read whole.
                    guard let first = row.first else {
                        return .needsLibpq("a row's first value is longer than the \(Session.maximumMessage >> 20) MiB the builtin client reads")
                    }
                    row = [first]
                }
                rows.append(row)
            case UInt8(ascii: "E"):
                if failure == nil {
                    let fields = Message.fields(message.body)
                    failure = .queryFailed(sqlState: fields[UInt8(ascii: "C")] ?? "?????", fields[UInt8(ascii: "M")] ?? "error")
                }
            case UInt8(ascii: "Z"):
                _ = session.send(Message.frame(UInt8(ascii: "X"), []))
                return .response(failure ?? .rows(rows))
            default: break  // ParseComplete, BindComplete, CommandComplete, notices
            }
        }
    }

    /// One backend message: its type byte and body.
    struct Message {
        let type: UInt8
        let body: [UInt8]
        /// Only the first ``Session/maximumMessage`` bytes of the body (a
        /// DataRow read through, ``Session/next(readingThroughRows:)``).
        var truncated = false

        static func int32(_ b: [UInt8], _ at: Int) -> Int32 {
            Int32(bitPattern: UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3]))
        }

        static func bytes(_ value: Int32) -> [UInt8] {
            let v = UInt32(bitPattern: value)
            return [UInt8(v >> 24), UInt8((v >> 16) & 0xff), UInt8((v >> 8) & 0xff), UInt8(v & 0xff)]
        }

        /// A frontend message: type, Int32 length (itself included), body.
        static func frame(_ type: UInt8, _ body: [UInt8]) -> [UInt8] { [type] + bytes(Int32(body.count + 4)) + body }

        /// An ErrorResponse's or NoticeResponse's fields by code.
        static func fields(_ body: [UInt8]) -> [UInt8: String] {
            var out: [UInt8: String] = [:]
            var i = 0
            while i < body.count, body[i] != 0 {
                guard let end = body[(i + 1)...].firstIndex(of: 0) else { break }
                out[body[i]] = String(decoding: body[(i + 1)..<end], as: UTF8.self)
                i = end + 1
            }
            return out
        }

        /// A DataRow's columns (nil: NULL), or nil when malformed. A
        /// `truncated` body gives the columns read whole before its end.
        static func dataRow(_ body: [UInt8], truncated: Bool = false) -> [String?]? {
            guard body.count >= 2 else { return nil }
            let count = Int(body[0]) << 8 | Int(body[1])
            var columns: [String?] = []
            var i = 2
            for _ in 0..<count {
                guard i + 4 <= body.count else { return truncated ? columns : nil }
                let length = int32(body, i)
                i += 4
                if length < 0 { columns.append(nil); continue }
                guard i + Int(length) <= body.count else { return truncated ? columns : nil }
                columns.append(String(decoding: body[i..<(i + Int(length))], as: UTF8.self))
                i += Int(length)
            }
            return columns
        }
    }

    /// Why the exchange stopped: the answer to give.
    struct Stopped: Error {
        let response: PostgresCall.Response
        init(_ response: PostgresCall.Response) { self.response = response }
    }

    /// The connection's messages, each wait bounded by the deadline.
    struct Session {
        let connection: TCPConnection
        let deadline: ProbeDeadline
        var buffer: [UInt8] = []
        var offset = 0
        /// A message may not be larger (a row of 64 KiB is plenty for a probe).
        static let maximumMessage = 1 << 20

        init(connection: TCPConnection, deadline: ProbeDeadline) {
            self.connection = connection
            self.deadline = deadline
        }

        /// Sends framed bytes whole.
        func send(_ bytes: [UInt8]) -> PostgresCall.Response? {
            switch connection.send(bytes, by: deadline) {
            case .success: return nil
            case .failure(.timedOut): return .timedOut("sending: no progress within the timeout")
            case .failure(let why): return .connectFailed("sending: \(why)")
            }
        }

        /// The next message. With `readingThroughRows`, a DataRow longer
        /// than ``maximumMessage`` (valid: libpq reads it) comes back
        /// ``Message/truncated``: its first bytes, the rest received and
        /// dropped, so memory stays bounded and the stream in step.
        mutating func next(readingThroughRows: Bool = false) -> Result<Message, Stopped> {
            while true {
                let available = buffer.count - offset
                if available >= 5 {
                    let length = Int(Message.int32(buffer, offset + 1))
                    if readingThroughRows, buffer[offset] == UInt8(ascii: "D"), length > Self.maximumMessage {
                        return readThrough(length: length)
                    }
                    guard length >= 4, length <= Self.maximumMessage else {
                        return .failure(Stopped(.connectFailed("malformed message from the server (length \(length))")))
                    }
                    if available >= 1 + length {
                        let message = Message(type: buffer[offset], body: Array(buffer[(offset + 5)..<(offset + 1 + length)]))
                        offset += 1 + length
                        if offset == buffer.count { buffer.removeAll(keepingCapacity: true); offset = 0 }
                        return .success(message)
                    }
                }
                if let stopped = receive() { return .failure(stopped) }
            }
        }

        /// More bytes into the buffer, or why none came.
        mutating func receive() -> Stopped? {
            switch connection.receive(limit: 16384, by: deadline) {
            case .success(let bytes): buffer += bytes; return nil
            case .failure(.timedOut): return Stopped(.timedOut("waiting for the server: no answer within the timeout"))
            case .failure(.closed): return Stopped(.connectFailed("the server closed the connection"))
            case .failure(let why): return Stopped(.connectFailed("\(why)"))
            }
        }

        /// The message at `offset` (5 header bytes buffered, `length` over
        /// the limit): its first ``maximumMessage`` body bytes kept, the
        /// rest received and dropped.
        mutating func readThrough(length: Int) -> Result<Message, Stopped> {
            let type = buffer[offset]
            offset += 5
            var body: [UInt8] = []
            var left = length - 4
            while left > 0 {
                if offset == buffer.count {
                    buffer.removeAll(keepingCapacity: true)
                    offset = 0
                    if let stopped = receive() { return .failure(stopped) }
                }
                let take = min(left, buffer.count - offset)
                let keep = min(take, Self.maximumMessage - body.count)
                if keep > 0 { body += buffer[offset..<(offset + keep)] }
                offset += take
                left -= take
            }
            if offset == buffer.count { buffer.removeAll(keepingCapacity: true); offset = 0 }
            return .success(Message(type: type, body: body, truncated: true))
        }
    }
}
