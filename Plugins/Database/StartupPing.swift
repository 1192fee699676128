import FSKit

/// Level 2 without libpq (`ping_client=builtin`): what `PQping` does, on a
/// socket of the SDK's, so the call loads no client library. PostgreSQL 15
/// docs, "Frontend/Backend Protocol", "Start-up": the client sends a
/// StartupMessage (length, protocol 3.0, `user`, `database` pairs); the
/// server answers with an authentication request (`R`) or an error (`E`).
/// As libpq's `internal_ping`: an authentication request means the server
/// accepts connections; an error with SQLSTATE 57P03 (cannot connect now:
/// starting up, shutting down, recovery without hot standby) means it
/// rejects them; any other error came from a live server (accepting); no
/// answer is no response. The connection is closed at the first answer,
/// before any password is asked for, as pg_isready's is. Before sending
/// anything it checks the socket's peer, as libpq's `requirepeer` does:
/// the listening process must run as `owner` (the server's OS user), so a
/// stand-in another user put on the socket path is not taken for the
/// server. Unix sockets only: this ping has no TCP path.
enum StartupPing {
    enum Answer: Sendable, Equatable {
        case accepting
        case rejecting(String)
        case noResponse(String)
        case timedOut
        /// The listener runs as another uid than the server's owner.
        case stranger(uid: UInt32)
    }

    /// The uid of the process listening on the Unix socket `path`
    /// (SO_PEERCRED of a connection, closed at once; nothing sent), or nil
    /// when none answers within `timeout`. For the reason of a libpq ping
    /// that says only "no response" when its `requirepeer` refused the listener.
    static func listenerUid(socket path: String, timeout: Duration) -> UInt32? {
        guard case .success(let connection) = UnixSocketProbe.open(path: path, by: ProbeDeadline(after: timeout)),
              case .success(let peer) = connection.peerCredentials() else { return nil }
        return peer.uid
    }

    /// One ping over the Unix socket `path`, within `timeout`, to a
    /// listener running as uid `owner`.
    static func ping(socket path: String, owner: UInt32, user: String, database: String, timeout: Duration) -> Answer {
        let deadline = ProbeDeadline(after: timeout)
        let connection: TCPConnection
        switch UnixSocketProbe.open(path: path, by: deadline) {
        case .success(let c): connection = c
        case .failure(let error):
            return error.result == .timedOut ? .timedOut : .noResponse(error.result.summary(timeout: timeout))
        }
        switch connection.peerCredentials() {
        case .success(let peer) where peer.uid == owner: break
        case .success(let peer): return .stranger(uid: peer.uid)
        case .failure(let error): return .noResponse(error.result.summary(timeout: timeout))
        }
        switch connection.send(startupMessage(user: user, database: database), by: deadline) {
        case .success: break
        case .failure(.timedOut): return .timedOut
        case .failure(let why): return .noResponse("sending the startup message: \(why)")
        }
        var reply: [UInt8] = []
        // The type byte and length, then (for an error) its fields.
        while true {
            switch connection.receive(limit: 4096, by: deadline) {
            case .success(let bytes): reply += bytes
            case .failure(.timedOut): return .timedOut
            case .failure(.closed): return reply.isEmpty ? .noResponse("the server closed the connection") : judge(reply)
            case .failure(let why): return .noResponse("\(why)")
            }
            if let answer = complete(reply) { return answer }
        }
    }

    /// StartupMessage: Int32 length, Int32 196608 (3.0), name/value pairs, a final NUL.
    static func startupMessage(user: String, database: String) -> [UInt8] {
        var body: [UInt8] = [0x00, 0x03, 0x00, 0x00]
        for (name, value) in [("user", user), ("database", database), ("application_name", "fshost-monitor")] {
            body += Array(name.utf8) + [0] + Array(value.utf8) + [0]
        }
        body.append(0)
        let length = UInt32(body.count + 4)
        return [UInt8(length >> 24), UInt8((length >> 16) & 0xFF), UInt8((length >> 8) & 0xFF), UInt8(length & 0xFF)] + body
    }

    /// The answer once enough of the reply has arrived, else nil.
    static func complete(_ reply: [UInt8]) -> Answer? {
        guard let type = reply.first else { return nil }
        if type == UInt8(ascii: "R") { return .accepting }
        guard type == UInt8(ascii: "E") else { return .accepting }  // a live server said something else (a notice)
        guard reply.count >= 5 else { return nil }
        let length = Int(reply[1]) << 24 | Int(reply[2]) << 16 | Int(reply[3]) << 8 | Int(reply[4])
        guard reply.count >= 1 + length || length > 4096 else { return nil }
        return judge(reply)
    }

    /// An ErrorResponse's SQLSTATE (field `C`) decides.
    static func judge(_ reply: [UInt8]) -> Answer {
        guard reply.first == UInt8(ascii: "E") else { return .accepting }
        var fields: [UInt8: String] = [:]
        var i = 5
        while i < reply.count, reply[i] != 0 {
            let code = reply[i]
            guard let end = reply[(i + 1)...].firstIndex(of: 0) else { break }
            fields[code] = String(decoding: reply[(i + 1)..<end], as: UTF8.self)
            i = end + 1
        }
        if fields[UInt8(ascii: "C")] == "57P03" {
            return .rejecting(LogText.escaped(fields[UInt8(ascii: "M")] ?? "the server cannot accept connections now", limit: 200))
        }
        return .accepting
    }
}
