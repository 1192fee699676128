#if canImport(Glibc)
import Glibc
#endif

/// State a plugin keeps between calls (log offsets, pids): one small file
/// per key under `<state>/<type>/<resource>/`, replaced atomically (temp
/// file, fsync, rename) so a crash leaves the old value or the new one.
struct StateStore {
    let directory: String

    init(root: String, type: String, resource: String) {
        directory = root + "/" + type + "/" + resource
    }

    /// Keys are file names: letters, digits, `_ . -`, not starting with a dot.
    static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 128 && key.first != "." && key.utf8.allSatisfy {
            ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 || $0 == 46 || $0 == 45
        }
    }

    func get(_ key: String) -> [UInt8]? {
        guard Self.isValidKey(key) else { return nil }
        let fd = open(directory + "/" + key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = read(fd, &chunk, chunk.count)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += chunk[..<n]
        }
        return bytes
    }

    func put(_ key: String, _ value: [UInt8]?) -> Bool {
        guard Self.isValidKey(key) else { return false }
        let path = directory + "/" + key
        guard let value else { return unlink(path) == 0 || errno == ENOENT }
        do { try makeDirectories(directory, mode: 0o700) } catch { return false }
        let temporary = path + ".tmp." + String(getpid())
        let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else { return false }
        let written = value.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        let ok = written == value.count && fsync(fd) == 0
        close(fd)
        guard ok, rename(temporary, path) == 0 else { unlink(temporary); return false }
        return true
    }
}
