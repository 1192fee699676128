/// Level 3 over plain HTTP without a client library: one `GET` on a TCP
/// connection, read up to the status line, close. What the FailSafe guide
/// asks for ("request a home page, verify that the connection was made,
/// and ignore the resulting home page") costs a TCP handshake and one
/// round trip this way, against ~3–4 ms and ~9 MiB just to load libcurl.
/// HTTPS needs a TLS library: that goes through a companion (the
/// webserver type's libcurl one). Used by the webserver type
/// (`http_client=builtin`) and the daemon type's level 3.
public enum PlainHTTP {
    /// How a GET ended.
    public enum Answer: Sendable, Equatable {
        /// The status code of the answer's status line.
        case status(Int)
        /// No connection, no (complete) status line in time, or not HTTP.
        case failed(String, timedOut: Bool)
    }

    /// `GET path HTTP/1.1` to `address`:`port` with `Host: host` (host or
    /// host:port, sent as given; `path` starts with '/' and holds no space
    /// or control character: the caller checks); connect within
    /// `connectTimeout`, the whole exchange within `totalTimeout`. Never
    /// throws: every failure is `.failed` with a one-line reason.
    public static func get(address: IPAddress, port: UInt16, host: String, path: String,
                    connectTimeout: Duration, totalTimeout: Duration) -> Answer {
        let total = ProbeDeadline(after: totalTimeout)
        let connection: TCPConnection
        switch TCPConnection.open(to: address, port: port, by: ProbeDeadline(after: connectTimeout).cut(to: total)) {
        case .success(let c): connection = c
        case .failure(let error):
            return .failed("connect: " + error.result.summary(timeout: min(connectTimeout, totalTimeout)),
                           timedOut: error.result == .timedOut)
        }
        let request = "GET \(path) HTTP/1.1\r\nHost: \(host)\r\nUser-Agent: fshost-monitor\r\n"
            + "Accept: */*\r\nConnection: close\r\n\r\n"
        if case .failure(let error) = connection.send(Array(request.utf8), by: total) {
            return describe(error, while: "sending the request", timeout: totalTimeout)
        }
        // Read until the end of the status line ("HTTP/1.1 200 OK\r\n"); the rest is ignored.
        var received: [UInt8] = []
        while !received.contains(0x0A) {
            switch connection.receive(limit: 1024, by: total) {
            case .success(let bytes):
                received += bytes
                if received.count > 8192 { return .failed("no status line in the first 8 KiB", timedOut: false) }
            case .failure(.closed) where !received.isEmpty:
                return parse(received)
            case .failure(let error):
                return describe(error, while: "waiting for the answer", timeout: totalTimeout)
            }
        }
        return parse(received)
    }

    /// The status code of `HTTP/1.x NNN …` (100-599), or `.failed`.
    public static func parse(_ bytes: [UInt8]) -> Answer {
        let line = String(decoding: bytes.prefix { $0 != 0x0D && $0 != 0x0A }, as: UTF8.self)
        let words = line.split(separator: " ", maxSplits: 2)
        guard words.count >= 2, words[0].hasPrefix("HTTP/"), words[1].count == 3, let code = Int(words[1]),
              (100...599).contains(code) else {
            return .failed("not an HTTP answer: '\(line.prefix(60))'", timedOut: false)
        }
        return .status(code)
    }

    private static func describe(_ error: TCPConnection.IOError, while doing: String, timeout: Duration) -> Answer {
        switch error {
        case .timedOut: return .failed("no answer within \(timeout.milliseconds) ms (\(doing))", timedOut: true)
        case .closed: return .failed("the server closed the connection (\(doing))", timedOut: false)
        case .failed(let why): return .failed("\(why) (\(doing))", timedOut: false)
        }
    }
}
