import HAVocabulary
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// State a plugin keeps between calls (log offsets, pids): one small file
/// per key under `<state>/<type>/<resource>/`, replaced atomically so a
/// crash leaves the old value or the new one.
///
/// The directory is checked where it really is, up to `/`, under
/// ``PathTrust``'s rule (once per action), and every file is opened relative
/// to it without following symlinks: a value another user could have written
/// is never read. A value is written to an anonymous file (`O_TMPFILE`),
/// synced, given a temporary name and renamed over the key, so an action
/// killed while writing (at its deadline) leaves nothing behind; temporary
/// names (`.tmp.<key>.<pid>`, never a key: keys do not start with a dot)
/// left by a process that no longer exists are removed on the next write.
final class StateStore {
    let root: String
    let directory: String
    /// Why the state directory could not be used, once it could not: the
    /// action's answer is then `HA_HOST_ERROR`, whatever the plugin says.
    private(set) var failure: HostError?
    /// The checked directory, opened on first use.
    private var opened: SafeDirectory?

    init(root: String, type: String, resource: String) {
        self.root = root
        directory = root + "/" + type + "/" + resource
    }

    deinit { if let opened { close(opened.fd) } }

    /// Keys are file names: letters, digits, `_ . -`, not starting with a dot.
    static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.utf8.count <= 128 && key.first != "." && key.utf8.allSatisfy {
            ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 95 || $0 == 46 || $0 == 45
        }
    }

    /// The checked directory's descriptor; `create`: make it if missing.
    /// nil when it does not exist (and `create` is false) or is unsafe
    /// (then ``failure`` says why).
    private func directoryDescriptor(create: Bool) -> Int32? {
        if let opened { return opened.fd }
        guard failure == nil else { return nil }
        if !create {
            var st = stat()
            if lstat(directory, &st) != 0, errno == ENOENT { return nil }
        }
        do throws(HostError) {
            let made = try SafeDirectory.open(directory, root: root, variable: "FSHOST_STATE_DIR",
                                              what: "state directory", mode: 0o700)
            opened = made
            return made.fd
        } catch {
            failure = error
            return nil
        }
    }

    /// The value of `key`; nil when absent, when the key is invalid, or when
    /// the directory or the file is unsafe (``failure`` is set then).
    func get(_ key: String) -> [UInt8]? {
        guard Self.isValidKey(key), let dir = directoryDescriptor(create: false) else { return nil }
        let fd = openat(dir, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK)
        guard fd >= 0 else {
            if errno != ENOENT {
                let why = errno == ELOOP ? "it is a symbolic link" : String(cString: strerror(errno))
                failure = HostError(.hostError, "cannot read state file \(opened!.path)/\(key): \(why)")
            }
            return nil
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        if let violation = PathTrust().checkFile(st, path: opened!.path + "/" + key, role: "state file") {
            failure = HostError(.hostError, "unsafe \(violation)")
            return nil
        }
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

    /// Replaces (or, with nil, removes) the value of `key`; false when it
    /// could not, and then ``failure`` says why (the first failure of the
    /// action is kept): a write that did not happen is never lost silently.
    /// `synced` false: no fsync (still atomic against a killed process; a
    /// power loss may lose the value): `fshost_host.state_put_unsynced`.
    func put(_ key: String, _ value: [UInt8]?, synced: Bool = true) -> Bool {
        let stored = store(key, value, synced: synced)
        if !stored && failure == nil {
            let why = errno == 0 ? "" : ": " + String(cString: strerror(errno))
            failure = HostError(.hostError, Self.isValidKey(key)
                ? "could not write state '\(key)' in \(directory)\(why)"
                : "invalid state key '\(key)' (letters, digits, _ . -, not starting with a dot, at most 128 bytes)")
        }
        return stored
    }

    private func store(_ key: String, _ value: [UInt8]?, synced: Bool) -> Bool {
        errno = 0
        guard Self.isValidKey(key) else { return false }
        guard let value else {
            guard let dir = directoryDescriptor(create: false) else { return failure == nil }
            return unlinkat(dir, key, 0) == 0 || errno == ENOENT
        }
        guard let dir = directoryDescriptor(create: true) else { return false }
        removeStaleTemporaries(dir)
        let temporary = ".tmp.\(key).\(getpid())"
        // O_TMPFILE: no name until the value is complete and synced.
        var fd = openat(dir, ".", O_WRONLY | Self.openTemporaryFile | O_CLOEXEC, 0o600)
        let anonymous = fd >= 0
        if !anonymous {
            // A file system without O_TMPFILE: a named temporary, removed on failure.
            fd = openat(dir, temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0o600)
            guard fd >= 0 else { return false }
        }
        var ok = Self.writeAll(fd, value) && (!synced || fsync(fd) == 0)
        if ok, anonymous {
            // Link the complete file under the temporary name (linkat through
            // /proc needs no privilege, unlike AT_EMPTY_PATH).
            unlinkat(dir, temporary, 0)
            ok = linkat(AT_FDCWD, "/proc/self/fd/\(fd)", dir, temporary, AT_SYMLINK_FOLLOW) == 0
        }
        var failure = ok ? 0 : errno  // the write's own errno (ENOSPC), not the clean-up's
        close(fd)
        guard ok, renameat(dir, temporary, dir, key) == 0 else {
            if failure == 0 { failure = errno }
            unlinkat(dir, temporary, 0)
            errno = failure
            return false
        }
        return true
    }

    /// Removes `.tmp.<key>.<pid>` files whose writer no longer runs.
    private func removeStaleTemporaries(_ dir: Int32) {
        let copy = dup(dir)
        guard copy >= 0, let stream = fdopendir(copy) else { if copy >= 0 { close(copy) }; return }
        defer { closedir(stream) }
        rewinddir(stream)  // the duplicate shares the directory descriptor's position
        var stale: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
            }
            guard name.hasPrefix(".tmp."), let dot = name.lastIndex(of: "."),
                  let pid = Int32(name[name.index(after: dot)...]) else { continue }
            if pid != getpid(), kill(pid, 0) != 0, errno == ESRCH { stale.append(name) }
        }
        for name in stale { unlinkat(dir, name, 0) }
    }

    private static func writeAll(_ fd: Int32, _ value: [UInt8]) -> Bool {
        var done = 0
        while done < value.count {
            let n = value.withUnsafeBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return false }
            done += n
        }
        return true
    }

    /// Linux's `O_TMPFILE` (`__O_TMPFILE | O_DIRECTORY`, asm-generic values,
    /// the same on x86-64 and arm64): Glibc's Swift module leaves it out.
    static let openTemporaryFile: Int32 = 0o20000000 | O_DIRECTORY
}
