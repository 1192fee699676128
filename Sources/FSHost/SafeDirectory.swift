import HAVocabulary
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// A directory fshost writes into (locks, state, an OCF instance's mark),
/// made if missing, checked along the path as given and opened: the files
/// in it are then opened relative to ``fd``, so nothing renamed meanwhile
/// can redirect them.
struct SafeDirectory {
    /// `O_DIRECTORY` descriptor of the checked directory (the caller closes it).
    let fd: Int32
    /// Its resolved path, for messages.
    let path: String

    /// Makes `path` (its missing components, `mode`) unless it exists, then
    /// opens it. The rule is ``PathTrust/walk(_:holdsFiles:)``'s: every
    /// component of `path` as given, the symbolic links and where they lead;
    /// `root` (the configured `FSHOST_RUN_DIR` or `FSHOST_STATE_DIR`) must
    /// besides be writable by nobody else, sticky bit or not (another user
    /// could otherwise make the entries below it first). Missing components
    /// are made with `mkdirat` and opened with `openat(O_NOFOLLOW)` relative
    /// to the last checked directory, so no link can be slipped in between.
    ///
    /// - Parameters:
    ///   - root: the configured directory `path` lies in (must be absolute);
    ///   - variable, what: for messages (`FSHOST_RUN_DIR`, `lock directory`).
    /// - Throws: ``HostError`` with `hostError` (9): not absolute, unsafe,
    ///   cannot be made or opened.
    static func open(_ path: String, root: String, variable: String, what: String, mode: mode_t) throws(HostError) -> SafeDirectory {
        try open(path, root: root, variable: variable, what: what, mode: mode, create: true)!
    }

    /// ``open(_:root:variable:what:mode:)`` for a directory that is not made
    /// when missing: nil then (nothing of it exists).
    static func openExisting(_ path: String, root: String, variable: String, what: String) throws(HostError) -> SafeDirectory? {
        try open(path, root: root, variable: variable, what: what, mode: 0, create: false)
    }

    /// Refuses a configured run or state directory that exists and that
    /// another user can write (sticky or not), or that is reached through
    /// anything another user could change. A missing one is fine (made
    /// on first use).
    /// - Throws: ``HostError`` with `hostError` (9).
    static func checkRoot(_ root: String, variable: String) throws(HostError) {
        guard root.hasPrefix("/") else {
            throw HostError(.hostError, "\(variable) must be an absolute path, not '\(root)'")
        }
        if case .failure(let violation) = PathTrust().walk(root, holdsFiles: true), errno != ENOENT {
            throw HostError(.hostError, "unsafe \(variable) \(root): \(violation)")
        }
    }

    private static func open(_ path: String, root: String, variable: String, what: String, mode: mode_t,
                             create: Bool) throws(HostError) -> SafeDirectory? {
        guard root.hasPrefix("/") else {
            throw HostError(.hostError, "\(variable) must be an absolute path, not '\(root)'")
        }
        guard path.hasPrefix("/") else {
            throw HostError(.hostError, "cannot use \(what) \(path): not an absolute path")
        }
        try checkRoot(root, variable: variable)
        let trust = PathTrust()
        // The usual case: it exists, and the walk that checks it resolves it.
        switch trust.walk(path, holdsFiles: true) {
        case .success(let real): return try opened(real, what: what)
        case .failure(let violation):
            guard errno == ENOENT else { throw HostError(.hostError, "unsafe \(what) \(path): \(violation)") }
            guard create else { return nil }
        }
        // The deepest component that exists, checked as an ancestor (a new
        // directory belongs to its creator, so a sticky one is fine there).
        var existing = path
        var missing: [String] = []
        var resolved: String
        while true {
            switch trust.walk(existing, holdsFiles: false) {
            case .success(let real):
                resolved = real
            case .failure(let violation):
                guard errno == ENOENT, existing != "/" else {
                    throw HostError(.hostError, "unsafe \(what) \(path): \(violation)")
                }
                guard create else { return nil }
                missing.append(String(existing[existing.index(after: existing.lastIndex(of: "/")!)...]))
                existing = PathTrust.parent(of: existing)
                continue
            }
            break
        }
        if !missing.isEmpty {
            var fd = Glibc.open(resolved, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            for part in missing.reversed() where part != "." && part != ".." {
                if fd < 0 { break }
                if mkdirat(fd, part, mode) != 0 && errno != EEXIST {
                    let why = String(cString: strerror(errno))
                    close(fd)
                    throw HostError(.hostError, "cannot create \(what) \(path): \(resolved)/\(part): \(why)")
                }
                let next = openat(fd, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                close(fd)
                fd = next
                resolved += (resolved == "/" ? "" : "/") + part
            }
            guard fd >= 0 else {
                let why = errno == ELOOP || errno == ENOTDIR ? "it is a symbolic link or not a directory" : String(cString: strerror(errno))
                throw HostError(.hostError, "cannot create \(what) \(path): \(resolved): \(why)")
            }
            close(fd)
        }
        // The whole path, its last directory as the one that holds the files.
        let real: String
        switch trust.walk(path, holdsFiles: true) {
        case .success(let r): real = r
        case .failure(let violation): throw HostError(.hostError, "unsafe \(what) \(path): \(violation)")
        }
        if case .failure(let violation) = trust.walk(root, holdsFiles: true) {
            throw HostError(.hostError, "unsafe \(variable) \(root): \(violation)")
        }
        return try opened(real, what: what)
    }

    /// Opens the checked, resolved directory `real` (no link left in it).
    private static func opened(_ real: String, what: String) throws(HostError) -> SafeDirectory {
        let fd = Glibc.open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw HostError(.hostError, "cannot open \(what) \(real): \(String(cString: strerror(errno)))")
        }
        return SafeDirectory(fd: fd, path: real)
    }
}
