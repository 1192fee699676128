// The TOMLKit side of `fshost cdb import` / `export`: reading a file into
// CDB's library-independent `ConfigValue` tree (guarded by TOMLParseGuard).
// Everything else (typing by schema, validation, rendering)
// lives in CDB's `TOMLMapping`, where the unit tests reach it.
import CDB
import Management
import TOMLKit
#if canImport(Glibc)
import Glibc
#endif

enum TOMLConfiguration {
    /// The parsed top-level table of `path` (`-` for standard input).
    ///
    /// - Throws: ``AdminError/invalidInput(_:)``: the file cannot be read,
    ///   is not UTF-8, or is not TOML (`FILE:LINE:COLUMN: reason`).
    static func load(path: String) throws(AdminError) -> [String: ConfigValue] {
        let bytes = try readAll(path)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .invalidInput("\(path): not UTF-8 text")
        }
        // toml++ asserts (exit 134) or, built with NDEBUG, has undefined
        // behaviour on some malformed input: try it in a child first.
        if try !TOMLParseGuard.survives(text) {
            let (line, column) = try TOMLParseGuard.fatalPosition(in: text)
            throw .invalidInput("\(path):\(line):\(column): TOML syntax error: malformed input here "
                + "(the TOML parser aborted on it instead of naming the problem)")
        }
        let table: TOMLTable
        do {
            table = try TOMLTable(string: text)
        } catch let error as TOMLParseError {
            let reason = error.description.split(whereSeparator: \.isNewline).joined(separator: " ")
            throw .invalidInput("\(path):\(error.source.begin.line):\(error.source.begin.column): TOML syntax error: \(reason)")
        } catch {
            throw .invalidInput("\(path): \(error)")
        }
        return convert(table)
    }

    /// TOMLKit's table as `ConfigValue`s.
    static func convert(_ table: TOMLTable) -> [String: ConfigValue] {
        var result: [String: ConfigValue] = [:]
        for (key, value) in table { result[key] = convert(value) }
        return result
    }

    static func convert(_ value: TOMLValueConvertible) -> ConfigValue {
        switch value.type {
        case .string: return .string(value.string ?? "")
        case .int: return .integer(Int64(value.int ?? 0))
        case .bool: return .boolean(value.bool ?? false)
        case .double: return .float(value.double ?? 0)
        case .array: return .array((value.array.map { Array($0) } ?? []).map(convert))
        case .table: return .table(value.table.map(convert) ?? [:])
        case .date: return .other("date")
        case .time: return .other("time")
        case .dateTime: return .other("date-time")
        }
    }

    /// The largest import file read: 16 MiB. A CDB of thousands of
    /// resources exports to well under 1 MiB; more is not a configuration
    /// (`/dev/zero` or a wrong file), and reading it whole would exhaust
    /// memory (the parser holds several copies).
    static let maximumFileBytes = 16 << 20

    /// Reads a whole file (or standard input for `-`), at most
    /// ``maximumFileBytes``.
    ///
    /// - Throws: ``AdminError/invalidInput(_:)`` (2) for a file that cannot
    ///   be read, that is not a regular file (`/dev/zero`, a FIFO, a
    ///   directory: opened non-blocking, so a FIFO without a writer does
    ///   not hang), or that is larger than the bound (checked by size
    ///   first, then while reading, for standard input and a growing file).
    static func readAll(_ path: String) throws(AdminError) -> [UInt8] {
        let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { throw .invalidInput("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { if fd != 0 { close(fd) } }
        let tooLarge = AdminError.invalidInput("\(path): larger than \(maximumFileBytes >> 20) MiB, the most an import "
            + "reads: not a configuration file")
        if fd != 0 {
            var st = stat()
            guard fstat(fd, &st) == 0 else { throw .invalidInput("cannot read \(path): \(String(cString: strerror(errno)))") }
            guard st.st_mode & S_IFMT == S_IFREG else {
                throw .invalidInput("\(path): not a regular file (\(kind(st.st_mode))): an import reads a TOML file "
                    + "(or - for standard input)")
            }
            guard st.st_size <= maximumFileBytes else { throw tooLarge }
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .invalidInput("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            guard bytes.count + n <= maximumFileBytes else { throw tooLarge }
            bytes.append(contentsOf: buffer[..<n])
        }
        return bytes
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFDIR: return "a directory"
        case S_IFIFO: return "a FIFO"
        case S_IFSOCK: return "a socket"
        default: return "not a regular file"
        }
    }
}
