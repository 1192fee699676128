import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// A lock shared by the resources of one type on one thing they all change
/// (the nfs type: one exports directory), handed to plugins through
/// `fshost_host.shared_lock`. An flock on the root-only file
/// `<run>/locks/<type>.shared.<key>.lock` — never on the shared thing itself:
/// a world-readable directory can be flock'ed by any local user, who would
/// then block every start. The lock directory and file follow
/// ``LockFile``'s rule.
enum SharedLock {
    /// Keys are file-name parts: letters, digits, `_ . -`, not starting with
    /// a dot, 1...128 bytes.
    static func validKey(_ key: String) -> Bool {
        let bytes = Array(key.utf8)
        guard (1...128).contains(bytes.count), bytes[0] != UInt8(ascii: ".") else { return false }
        return bytes.allSatisfy { b in
            (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A)
                || b == UInt8(ascii: "_") || b == UInt8(ascii: ".") || b == UInt8(ascii: "-")
        }
    }

    /// The locked descriptor (the caller closes it), polling `LOCK_NB` for
    /// at most `timeoutMs` milliseconds.
    ///
    /// - Throws: ``HostError`` (`hostError`): invalid key, unsafe run
    ///   directory or lock file, or the lock still held at the limit.
    static func acquire(runDirectory: String, type: String, key: String, timeoutMs: Int64) throws(HostError) -> Int32 {
        guard validKey(key) else { throw HostError(.hostError, "invalid shared lock key '\(key)'") }
        let (fd, path) = try LockFile.open(runDirectory: runDirectory, name: type + ".shared." + key + ".lock")
        let held: Bool
        do { held = try LockFile.lock(fd, path: path, waitMilliseconds: max(0, timeoutMs)) } catch {
            close(fd)
            throw error
        }
        guard held else {
            close(fd)
            throw HostError(.hostError, "lock \(path) was not free within \(max(0, timeoutMs)) ms")
        }
        return fd
    }
}
