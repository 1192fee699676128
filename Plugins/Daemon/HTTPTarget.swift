import FSKit

/// Level 3's `url` attribute, parsed once: `http://ADDRESS[:PORT]/PATH`
/// with a numeric address (IPv6 in brackets), so a monitor never resolves
/// a name (no DNS on the monitor path) and never needs a TLS library.
struct HTTPTarget: Sendable, Equatable, CustomStringConvertible {
    let address: IPAddress
    /// 1-65535; 80 when the url names none.
    let port: UInt16
    /// The Host header: the url's authority as written.
    let host: String
    /// Starts with '/'; no space, control character or '#'.
    let path: String

    var description: String { "http://\(host)\(path)" }

    /// Why a url cannot be used (one phrase, for "attribute 'url': …").
    struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        let description: String
    }

    static func parse(_ text: String) -> Result<HTTPTarget, Problem> {
        guard text.hasPrefix("http://") else {
            return .failure(Problem(description: "must start with http:// (plain HTTP only): '\(LogText.escaped(text, limit: 120))'"))
        }
        let rest = text.dropFirst("http://".count)
        let authority = String(rest.prefix { $0 != "/" })
        let path = rest.dropFirst(authority.count).isEmpty ? "/" : String(rest.dropFirst(authority.count))
        if path.utf8.contains(where: { $0 <= 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "#") }) {
            return .failure(Problem(description: "its path must not contain spaces, control characters or '#'"))
        }
        // "[::1]:8080", "127.0.0.1:8080", "127.0.0.1"
        var hostPart = authority, portPart: Substring? = nil
        if authority.hasPrefix("[") {
            guard let close = authority.firstIndex(of: "]") else { return .failure(Problem(description: "unclosed '[' in '\(authority)'")) }
            hostPart = String(authority[authority.index(after: authority.startIndex)..<close])
            let after = authority[authority.index(after: close)...]
            if !after.isEmpty {
                guard after.hasPrefix(":") else { return .failure(Problem(description: "junk after ']' in '\(authority)'")) }
                portPart = after.dropFirst()
            }
        } else if let colon = authority.lastIndex(of: ":") {
            hostPart = String(authority[..<colon])
            portPart = authority[authority.index(after: colon)...]
        }
        guard let address = IPAddress(numeric: hostPart) else {
            return .failure(Problem(description: "the host must be a numeric IP address (no DNS on the monitor path): '\(LogText.escaped(hostPart, limit: 80))'"))
        }
        var port: UInt16 = 80
        if let portPart {
            guard let number = Int(portPart), (1...65535).contains(number) else {
                return .failure(Problem(description: "port must be 1-65535: '\(LogText.escaped(String(portPart), limit: 20))'"))
            }
            port = UInt16(number)
        }
        return .success(HTTPTarget(address: address, port: port, host: authority, path: path))
    }
}
