// The TOMLKit side of `fshost cdb import` / `export`: reading a file into
// CDB's library-independent `ConfigValue` tree, and writing the export
// atomically. Everything else (typing by schema, validation, rendering)
// lives in CDB's `TOMLMapping`, where the unit tests reach it.
import CDB
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

    /// Writes `text` to `path` atomically: a temporary file in the same
    /// directory, fsync, rename over `path`, fsync of the directory. A
    /// reader sees the old file or the new one, never a part.
    static func writeAtomically(_ text: String, to path: String) throws(AdminError) {
        let slash = path.lastIndex(of: "/")
        let directory = slash.map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
        let temporary = path + ".tmp-\(getpid())"
        func failure(_ what: String) -> AdminError {
            .failed("cannot write \(path): \(what): \(String(cString: strerror(errno)))")
        }
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o666)
        guard fd >= 0 else { throw failure("create \(temporary)") }
        var ok = false
        defer {
            if !ok { unlink(temporary) }
        }
        var data = Array(text.utf8)
        var written = 0
        while written < data.count {
            let n = data.withUnsafeMutableBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 {
                if errno == EINTR { continue }
                let error = failure("write")
                close(fd)
                throw error
            }
            written += n
        }
        data.removeAll()
        guard fsync(fd) == 0 else {
            let error = failure("fsync")
            close(fd)
            throw error
        }
        close(fd)
        guard rename(temporary, path) == 0 else { throw failure("rename") }
        ok = true
        let dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dirfd >= 0 {
            fsync(dirfd)
            close(dirfd)
        }
    }
}
