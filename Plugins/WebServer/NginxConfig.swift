#if canImport(Glibc)
import Glibc
#endif

/// What the plugin needs from an nginx configuration file: the `pid` and
/// `daemon` directives of the main context. Not a full parser: it tokenizes
/// (comments, quotes, `;`, `{`, `}`) and follows brace depth, which is
/// enough for two top-level directives. Directives set in an `include`d
/// file are not seen: set the `pidfile` attribute then.
struct NginxConfig {
    /// The `pid` directive's value, as written (may be relative).
    var pid: String?
    /// `daemon off;` in the main context: nginx would stay in the foreground.
    var daemonOff = false

    /// Reads and scans `path`; nil when it cannot be read.
    init?(path: String) {
        guard let bytes = readFile(path, limit: 1 << 20) else { return nil }
        self.init(bytes: bytes)
    }

    init(bytes: [UInt8]) {
        var depth = 0
        var statement: [String] = []
        var i = 0
        var token: [UInt8] = []
        var inToken = false
        func flush() {
            if inToken { statement.append(String(decoding: token, as: UTF8.self)); token.removeAll(); inToken = false }
        }
        func end() {
            if depth == 0, statement.count >= 2 {
                switch statement[0] {
                case "pid": pid = statement[1]
                case "daemon": daemonOff = statement[1] == "off"
                default: break
                }
            }
            statement.removeAll()
        }
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "#") where !inToken:
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                let quote = c
                i += 1
                inToken = true
                while i < bytes.count && bytes[i] != quote {
                    if bytes[i] == UInt8(ascii: "\\") && i + 1 < bytes.count { i += 1 }
                    token.append(bytes[i]); i += 1
                }
            case 0x20, 0x09, 0x0A, 0x0D:
                flush()
            case UInt8(ascii: ";"):
                flush(); end()
            case UInt8(ascii: "{"):
                flush(); statement.removeAll(); depth += 1
            case UInt8(ascii: "}"):
                flush(); statement.removeAll(); depth = max(0, depth - 1)
            default:
                token.append(c); inToken = true
            }
            i += 1
        }
    }
}

/// A file's bytes (at most `limit`), nil when it cannot be read.
func readFile(_ path: String, limit: Int) -> [UInt8]? {
    let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var out: [UInt8] = []
    var buffer = [UInt8](repeating: 0, count: 16384)
    while out.count < limit {
        let n = read(fd, &buffer, min(buffer.count, limit - out.count))
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        if n == 0 { break }
        out.append(contentsOf: buffer[0..<n])
    }
    return out
}
