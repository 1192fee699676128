import FSKit

/// What the plugin needs from an nginx configuration: the `pid` and
/// `daemon` directives of the main context, wherever they are written,
/// following `include` directives of the main context as nginx does
/// (relative paths from the main file's directory, globs expanded and
/// sorted). Not a full parser: it tokenizes (comments, quotes, `;`, `{`,
/// `}`) and follows brace depth, which is enough for main-context
/// directives. The syntax as a whole is nginx's own business (`nginx -t`,
/// run by validate).
struct NginxConfig {
    /// The last `pid` directive's value, as written (may be relative to the prefix).
    var pid: String?
    /// `daemon off;` in the main context: nginx would stay in the foreground.
    var daemonOff = false
    /// Files read (the main file first).
    var files: [String] = []

    /// nginx stops at 1 MiB-ish configs in practice; includes nest at most this deep here.
    static let sizeLimit = 1 << 20, depthLimit = 8

    /// Reads `path` and the files it includes; nil when `path` cannot be read.
    init?(path: String) {
        guard case .success(let bytes) = SmallFile.read(path, limit: NginxConfig.sizeLimit) else { return nil }
        let directory = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
        scan(bytes, file: path, relativeTo: directory.isEmpty ? "/" : directory, depth: 0)
    }

    init(bytes: [UInt8], directory: String = "/") {
        scan(bytes, file: "-", relativeTo: directory, depth: 0)
    }

    private mutating func scan(_ bytes: [UInt8], file: String, relativeTo directory: String, depth: Int) {
        files.append(file)
        for statement in NginxConfig.mainStatements(bytes) where statement.count >= 2 {
            switch statement[0] {
            case "pid": pid = statement[1]
            case "daemon": daemonOff = statement[1] == "off"
            case "include" where depth < NginxConfig.depthLimit:
                let pattern = statement[1].hasPrefix("/") ? statement[1] : directory + "/" + statement[1]
                for included in SmallFile.expand(pattern) where !files.contains(included) {
                    guard case .success(let text) = SmallFile.read(included, limit: NginxConfig.sizeLimit) else { continue }
                    scan(text, file: included, relativeTo: directory, depth: depth + 1)
                }
            default: break
            }
        }
    }

    /// The statements at brace depth 0, as words (quotes removed).
    static func mainStatements(_ bytes: [UInt8]) -> [[String]] {
        var found: [[String]] = []
        var depth = 0, i = 0
        var statement: [String] = [], token: [UInt8] = []
        var inToken = false
        func flush() {
            if inToken { statement.append(String(decoding: token, as: UTF8.self)); token.removeAll(); inToken = false }
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
                flush()
                if depth == 0 { found.append(statement) }
                statement.removeAll()
            case UInt8(ascii: "{"):
                flush(); statement.removeAll(); depth += 1
            case UInt8(ascii: "}"):
                flush(); statement.removeAll(); depth = max(0, depth - 1)
            default:
                token.append(c); inToken = true
            }
            i += 1
        }
        return found
    }
}
