// What one `needed-libraries` check has already learnt about the file
// system, so that a closure of ~25 libraries (libpq's, libcurl's) costs what
// its distinct directories and names cost, not 25 times each: every
// directory chain judged once, every name searched once in the system
// directories, /etc/ld.so.conf read once, the cache directory judged once.
// It lives for one check only (one call of fshost): nothing is carried from
// one call to the next, so what issue 16 requires on every call — owner,
// mode, symlink and directory-chain checks of what is loaded — still runs
// on every call, once per thing.
import TrustedPaths
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Per-check memo of the closure walk (``NeededLibraryTrust``,
/// ``LibrarySearch``). Not shared between threads (one check, one thread).
final class ClosureMemo {
    let trust: PathTrust
    /// The ld.so.conf and default directories, read on first use.
    private var systems: [String]?
    /// Name → the path the system directories give (nil: none), for the
    /// one ELF class and machine of this check.
    private var systemMatches: [String: String?] = [:]
    /// Directory (as searched) → its `realpath`, nil when it does not resolve.
    private var realDirectories: [String: String?] = [:]
    /// Resolved directory → PathTrust's verdict on it as the holder of
    /// trusted files (nil: trusted).
    private var verdicts: [String: PathTrust.Violation?] = [:]
    /// The verification cache's directory judged (nil: not yet; "": fine).
    private var cacheDirectoryProblem: String?

    init(trust: PathTrust) { self.trust = trust }

    var systemDirectories: [String] {
        if let systems { return systems }
        let loaded = LibrarySearch.loadSystemDirectories()
        systems = loaded
        return loaded
    }

    /// The system directories' answer for `name`, searched once per check.
    func systemMatch(_ name: String, search: (String) -> Bool) -> String? {
        if let known = systemMatches[name] { return known }
        var found: String? = nil
        for directory in systemDirectories {
            let candidate = directory + "/" + name
            if search(candidate) { found = candidate; break }
        }
        systemMatches[name] = found
        return found
    }

    /// `realpath(3)` of the library at `path`, with its `lstat`: the
    /// directory part resolved once per check, the file's own name with one
    /// `lstat` (a symbolic link there, as a soname link often is, is
    /// resolved in full). nil with `errno` set when it does not resolve.
    func resolveLibrary(_ path: String) -> (real: String, status: stat)? {
        var st = stat()
        let slash = path.utf8.lastIndex(of: UInt8(ascii: "/"))
        if let slash, path.utf8.first == UInt8(ascii: "/") {
            let name = path[path.utf8.index(after: slash)...]
            if !name.isEmpty, name != ".", name != ".." {
                let directory = slash == path.utf8.startIndex ? "/" : String(path[..<slash])
                let realDirectory: String?
                if let known = realDirectories[directory] { realDirectory = known } else {
                    realDirectory = PathTrust.resolve(directory)
                    realDirectories[directory] = realDirectory
                }
                if let realDirectory {
                    let candidate = (realDirectory == "/" ? "" : realDirectory) + "/" + name
                    if lstat(candidate, &st) == 0, st.st_mode & S_IFMT != S_IFLNK { return (candidate, st) }
                }
            }
        }
        guard let real = PathTrust.resolve(path) else { return nil }
        guard lstat(real, &st) == 0 else { return nil }
        return (real, st)
    }

    /// PathTrust's verdict on `directory` (resolved) as the holder of a
    /// library, and every directory above it: walked once per check.
    func checkDirectory(_ directory: String) -> PathTrust.Violation? {
        if let known = verdicts[directory] { return known }
        let verdict = trust.checkDirectory(directory)
        verdicts[directory] = verdict
        return verdict
    }

    /// Whether the cache's directory is fit to read entries from, judged
    /// once per check (a problem is reported by the lookups themselves).
    func cacheDirectoryIsFit(_ cache: VerificationCache) -> Bool {
        if cacheDirectoryProblem == nil { cacheDirectoryProblem = cache.checkDirectory() ?? "" }
        return cacheDirectoryProblem == ""
    }
}
