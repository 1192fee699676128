// `cdb define/modify --value-from-stdin KEY`: a value (a password) read
// from standard input, so it appears on no command line — an argv is
// readable by every local user in /proc/PID/cmdline.
import Management
#if canImport(Glibc)
import Glibc
#endif

enum ValueFromStdin {
    /// Most bytes read: a value, not a file.
    static let limit = 65_536

    /// `assignments` with `key`'s value from standard input: its first line,
    /// without the line end (`\n`, `\r\n`). Refused (usage, status 2): a key
    /// that is also given as key=value, an empty key, no input at all, input
    /// over ``limit`` bytes.
    static func merge(_ key: String?, into assignments: [String: String]) throws(AdminError) -> [String: String] {
        guard let key else { return assignments }
        guard !key.isEmpty, !key.contains("=") else { throw .usage("--value-from-stdin takes an attribute name, got '\(key)'") }
        guard assignments[key] == nil else {
            throw .usage("attribute '\(key)' is given both as \(key)=… and with --value-from-stdin: give it once")
        }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while bytes.count <= limit {
            let n = read(0, &buffer, buffer.count)
            if n == 0 { break }
            if n < 0 {
                if errno == EINTR { continue }
                throw .usage("--value-from-stdin \(key): cannot read standard input: \(String(cString: strerror(errno)))")
            }
            bytes += buffer[0..<n]
            if bytes.contains(0x0A) { break }
        }
        guard !bytes.isEmpty else { throw .usage("--value-from-stdin \(key): standard input is empty") }
        var line = bytes.prefix { $0 != 0x0A }
        if line.last == 0x0D { line = line.dropLast() }
        guard line.count <= limit else { throw .usage("--value-from-stdin \(key): the value is over \(limit) bytes") }
        // Wipe the copy read (it may be a secret); the value goes on as a String.
        defer { for i in bytes.indices { bytes[i] = 0 }; for i in buffer.indices { buffer[i] = 0 } }
        var result = assignments
        result[key] = String(decoding: line, as: UTF8.self)
        return result
    }

    /// After a define or modify that stored them: a warning per secret
    /// attribute given as key=value in `arguments` (it was readable by every
    /// local user in /proc/PID/cmdline, and may stay in a shell's history),
    /// naming `--value-from-stdin KEY`. Values are never printed.
    static func warnOfSecretsInArgv(_ arguments: [String], type: String, editor: CDBEditor) {
        for argument in arguments {
            let key = String(argument.prefix { $0 != "=" })
            guard key.count < argument.count, editor.isSecret(type: type, key: key) else { continue }
            CDBRun.warn("attribute '\(key)' is a secret given on the command line (every local user can read a "
                        + "command line while it runs; shells keep history): use --value-from-stdin \(key)")
        }
    }
}
