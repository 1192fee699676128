import HAVocabulary
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// A directory fshost writes into (locks, state), made if missing, checked
/// where it really is and opened: the files in it are then opened relative
/// to ``fd``, so nothing renamed meanwhile can redirect them.
struct SafeDirectory {
    /// `O_DIRECTORY` descriptor of the checked directory (the caller closes it).
    let fd: Int32
    /// Its resolved path, for messages.
    let path: String

    /// Makes `path` (and its missing parents, `mode`) unless it exists, then
    /// checks it under ``PathTrust``'s rule and opens it.
    ///
    /// - Parameters:
    ///   - root: the configured directory `path` lies in (must be absolute);
    ///   - variable, what: for messages (`FSHOST_RUN_DIR`, `lock directory`).
    /// - Throws: ``HostError`` with `hostError`.
    static func open(_ path: String, root: String, variable: String, what: String, mode: mode_t) throws(HostError) -> SafeDirectory {
        guard root.hasPrefix("/") else {
            throw HostError(.hostError, "\(variable) must be an absolute path, not '\(root)'")
        }
        var real = PathTrust.resolve(path)
        if real == nil, errno == ENOENT {
            // First use (the run directory is a tmpfs at boot): create it,
            // but only inside a tree nobody else can change.
            var existing = PathTrust.parent(of: path)
            var resolved = PathTrust.resolve(existing)
            while resolved == nil, errno == ENOENT, existing != "/" {
                existing = PathTrust.parent(of: existing)
                resolved = PathTrust.resolve(existing)
            }
            if let resolved, let violation = PathTrust().checkDirectory(resolved, holdsFiles: false) {
                throw HostError(.hostError, "unsafe \(what) \(path): \(violation)")
            }
            try makeDirectories(path, mode: mode)
            real = PathTrust.resolve(path)
        }
        guard let real else {
            throw HostError(.hostError, "cannot use \(what) \(path): \(String(cString: strerror(errno)))")
        }
        if let violation = PathTrust().checkDirectory(real) {
            throw HostError(.hostError, "unsafe \(what) \(path): \(violation)")
        }
        let fd = Glibc.open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw HostError(.hostError, "cannot open \(what) \(real): \(String(cString: strerror(errno)))")
        }
        return SafeDirectory(fd: fd, path: real)
    }
}

/// `mkdir -p` with `mode` for the directories it creates. Only for absolute
/// paths: a relative one would otherwise be created at `/`.
func makeDirectories(_ path: String, mode: mode_t) throws(HostError) {
    guard path.hasPrefix("/") else {
        throw HostError(.hostError, "cannot create directory \(path): not an absolute path")
    }
    var prefix = ""
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
        prefix += "/" + part
        if mkdir(prefix, mode) != 0 && errno != EEXIST {
            throw HostError(.hostError, "cannot create directory \(prefix): \(String(cString: strerror(errno)))")
        }
    }
}
