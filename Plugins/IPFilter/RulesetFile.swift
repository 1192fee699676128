// The ruleset file: read once, from where it really is, only if no other
// user could have written it (the rules a root process loads into the
// kernel are as trusted as the file they come from).
import FSKit
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

enum RulesetFile {
    /// Bigger than any hand-written ruleset; a larger file is refused, not cut.
    static let sizeLimit = 4 << 20

    /// Why a ruleset file cannot be used: one line naming the path.
    enum Problem: Error, Equatable {
        case absent(String)
        case unusable(String)

        var reason: String {
            switch self {
            case .absent(let why), .unusable(let why): return why
            }
        }
    }

    /// The text of `path`: every symbolic link on the way held by a
    /// directory nobody else can write (`PathTrust.checkLinks`), resolved,
    /// a regular file of root or this user, it and every directory up to
    /// `/` writable by nobody else (`TrustedPaths.PathTrust`, the host's
    /// rule), at most ``sizeLimit`` bytes, valid UTF-8 without a NUL byte.
    static func read(_ path: String) -> Result<String, Problem> {
        let trust = PathTrust()
        if let violation = trust.checkLinks(path) { return .failure(.unusable(violation.description)) }
        guard let real = PathTrust.resolve(path) else {
            let e = errno
            let why = "ruleset file \(path): \(String(cString: strerror(e)))"
            return .failure(e == ENOENT || e == ENOTDIR ? .absent(why) : .unusable(why))
        }
        var st = stat()
        guard stat(real, &st) == 0 else {
            return .failure(.unusable("ruleset file \(path): \(String(cString: strerror(errno)))"))
        }
        if let violation = trust.checkFile(st, path: real, role: "ruleset file")
            ?? trust.checkDirectory(PathTrust.parent(of: real)) {
            return .failure(.unusable(violation.description))
        }
        switch SmallFile.read(real, limit: sizeLimit) {
        case .success(let bytes):
            // nft reads its input as a C string: a NUL would cut the file
            // there, and the rest would never be loaded (or checked).
            if let nul = bytes.firstIndex(of: 0) {
                let line = 1 + bytes[..<nul].lazy.filter { $0 == UInt8(ascii: "\n") }.count
                return .failure(.unusable("ruleset file \(path) has a NUL byte at line \(line): not nft text"))
            }
            guard let text = String(validating: bytes, as: UTF8.self) else {
                return .failure(.unusable("ruleset file \(path) is not UTF-8 text"))
            }
            return .success(text)
        case .failure(.absent):
            return .failure(.absent("ruleset file \(path): \(String(cString: strerror(ENOENT)))"))
        case .failure(let problem):
            return .failure(.unusable("ruleset file \(path) \(problem)"))
        }
    }

    /// FNV-1a 64 of the text, hex: what start loaded, kept to tell a file
    /// changed since.
    static func fingerprint(_ text: String) -> String {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in text.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01b3 }
        return String(h, radix: 16)
    }
}
