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

    /// Reads a whole file (or standard input for `-`).
    static func readAll(_ path: String) throws(AdminError) -> [UInt8] {
        let fd = path == "-" ? 0 : open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw .invalidInput("cannot read \(path): \(String(cString: strerror(errno)))") }
        defer { if fd != 0 { close(fd) } }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw .invalidInput("cannot read \(path): \(String(cString: strerror(errno)))")
            }
            if n == 0 { break }
            bytes.append(contentsOf: buffer[..<n])
        }
        return bytes
    }
}
