#if canImport(Glibc)
import Glibc
#endif

/// Bounded reads of small files (pidfiles, configuration snippets, a
/// server's status file) that never block and never read more than asked.
///
/// One `open(O_NONBLOCK | O_NOCTTY)`, one `fstat` (a FIFO, socket or device
/// is refused before a byte is read: a FIFO left where a pidfile should be
/// would otherwise hang a monitor), then `read` until end of file or
/// `limit + 1` bytes.
public enum SmallFile {
    /// Why a file could not be read.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        /// No such file (ENOENT, or a missing directory on the way).
        case absent
        /// It is not a regular file (the kind is named: "a directory").
        case notRegular(String)
        /// It holds more than the limit (in bytes).
        case tooLarge(limit: Int)
        /// Any other error, as `strerror` text.
        case failed(String)

        /// One phrase for a reason (`no such file`, `is larger than 4096 bytes`).
        public var description: String {
            switch self {
            case .absent: return "no such file"
            case .notRegular(let kind): return "is \(kind), not a regular file"
            case .tooLarge(let limit): return "is larger than \(limit) bytes"
            case .failed(let why): return why
            }
        }
    }

    /// The file's bytes, at most `limit` (default 64 KiB); a larger file is
    /// ``Problem/tooLarge(limit:)``, not cut silently.
    public static func read(_ path: String, limit: Int = 65536) -> Result<[UInt8], Problem> {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            let e = errno
            return .failure(e == ENOENT || e == ENOTDIR ? .absent : .failed(errnoText(e)))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(.failed(errnoText(errno))) }
        let kind = FileKind(mode: st.st_mode)
        guard kind == .regular else { return .failure(.notRegular(kind.article)) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: min(16384, limit + 1))
        while out.count <= limit {
            let n = Glibc.read(fd, &buffer, min(buffer.count, limit + 1 - out.count))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(.failed(errnoText(errno))) }
            if n == 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out.count > limit ? .failure(.tooLarge(limit: limit)) : .success(out)
    }

    /// The paths `pattern` names (glob(3): `*`, `?`, `[…]`; sorted, as
    /// nginx's `include` expands them); a pattern without wildcards names
    /// itself when the file exists. Empty when nothing matches.
    public static func expand(_ pattern: String) -> [String] {
        var g = glob_t()
        defer { globfree(&g) }
        guard glob(pattern, 0, nil, &g) == 0 else { return [] }
        return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }
    }
}
