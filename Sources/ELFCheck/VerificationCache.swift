import PluginRecord
import TrustedPaths
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// Remembers that a plugin file passed the ELF checks, so the next action
/// loads it without reading it with libelf (which is then not even loaded:
/// ~0.35 ms of every monitor; ../shared/PERF-FLOOR.md).
///
/// **Where.** `<run directory>/verified/` (`/run/fshost/verified`: a tmpfs,
/// so cleared at boot, and every plugin is verified in full at least once
/// per boot; an offline edit that forges times cannot carry over). Used
/// only when fshost runs as root; directory 0700 and entries 0600, owned
/// by root, the run directory's ancestors trusted (``PathTrust``).
///
/// **Key.** The opened file's device, inode, size, mtime and ctime (ns),
/// the resolved path, the expected type name, role and entry symbol, and
/// the verifier's, ABI's and compiler's versions (an fshost upgrade drops
/// every entry). Any write, truncation, chmod, chown, link or rename of
/// the file changes its ctime, which user space cannot set back; a
/// replaced file is another inode. A file whose mtime or ctime is less than
/// ``minimumAge`` old is not remembered (two writes within one tick of the
/// coarse clock, at the same size, would look the same: git's "racy clean").
///
/// **Still checked on every call** (``PluginVerifier``): the file is opened
/// once, and what `dlopen` loads is that descriptor; it lies inside the
/// plugin directory; its owner and mode; the owner and mode of every
/// directory up to `/` (a directory's `chmod` does not touch the file's
/// ctime). **Skipped on a hit**: the ELF checks of the file's bytes, and
/// the `needed-libraries` check, which depends on other files: a needed
/// library that went missing makes `dlopen` fail before any constructor
/// runs (still `HA_PLUGIN_REFUSED`). `fshost check` and `fshost-admin`
/// never use the cache.
///
/// **Bad entries** (corrupt, truncated, another format, not root's, open
/// to others): one warning line on stderr, and a full verification.
public struct VerificationCache: Sendable {
    /// Bumped whenever a check changes what it accepts: older entries no longer match.
    public static let verifierVersion = 1
    static let format = 1
    static let magic = "fshost-verified "
    /// A file younger than this (mtime or ctime, ns) is verified every time.
    public static let minimumAge: Int64 = 2_000_000_000

    /// The cache directory.
    public let directory: String

    /// The cache of the run directory `runDirectory` (absolute), or nil
    /// when fshost does not run as root (every call then verifies in full).
    public init?(runDirectory: String) {
        guard geteuid() == 0, runDirectory.hasPrefix("/") else { return nil }
        directory = (runDirectory.hasSuffix("/") ? String(runDirectory.dropLast()) : runDirectory) + "/verified"
    }

    /// The text that identifies one verification: the file and what it was checked for.
    func key(file st: stat, resolvedPath: String, verifier: PluginVerifier) -> String {
        let role: String = switch verifier.expectedRole {
        case nil: "any"
        case .resourceType?: "type"
        case .companion(let signature)?: "companion " + signature
        }
        return "\(Self.magic)\(Self.format)\nverifier \(Self.verifierVersion) abi \(verifier.abiVersion) compiler \(verifier.compilerVersion)\n"
            + "type \(verifier.expectedTypeName ?? "-")\nrole \(role)\nsymbol \(verifier.entrySymbol)\npath \(resolvedPath)\n"
            + "file \(st.st_dev) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)\n"
    }

    /// The entry's file name: FNV-1a (64 bits) of the key, in hex.
    static func name(of key: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        let digits = String(hash, radix: 16)
        return String(repeating: "0", count: 16 - digits.utf8.count) + digits
    }

    /// The remembered record for `key`, or nil (then verify in full). A bad
    /// entry is reported on stderr (one line) and passed over.
    func lookup(_ key: String) -> PluginRecord? {
        let path = directory + "/" + Self.name(of: key)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        if fd < 0 {
            if errno != ENOENT && errno != ENOTDIR { warn(path, errno == ELOOP ? "is a symbolic link" : String(cString: strerror(errno))) }
            return nil
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        if let problem = Self.rootOnly(st, directory: false) { warn(path, problem); return nil }
        if let problem = checkDirectory() { warn(directory, problem); return nil }
        guard st.st_size <= 4096 else { warn(path, "is too large (\(st.st_size) bytes)"); return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n == Int(st.st_size) else { warn(path, "cannot be read whole"); return nil }
        switch Self.parse(bytes, key: key) {
        case .success(let record): return record
        case .failure(let problem):
            if let text = problem.text { warn(path, text) }
            return nil
        }
    }

    struct Problem: Error {
        /// nil: another key (a hash collision): a plain miss.
        let text: String?
    }

    /// An entry: the key, `record <hex of the record's bytes>`, `end`.
    static func parse(_ bytes: [UInt8], key: String) -> Result<PluginRecord, Problem> {
        let text = String(decoding: bytes, as: UTF8.self)
        let magicLine = "\(magic)\(format)\n"
        guard text.hasPrefix(magic) else { return .failure(Problem(text: "is not a verification entry (corrupt)")) }
        guard text.hasPrefix(magicLine) else {
            return .failure(Problem(text: "has another format (this fshost writes \(format))"))
        }
        guard text.hasPrefix(key) else {
            // Same name, other key: a truncated entry, or another file's.
            return .failure(Problem(text: text.utf8.count < key.utf8.count ? "is truncated" : nil))
        }
        let rest = Array(bytes[key.utf8.count...])
        let prefix = Array("record ".utf8), suffix = Array("\nend\n".utf8)
        guard rest.count > prefix.count + suffix.count, Array(rest[..<prefix.count]) == prefix,
              Array(rest[(rest.count - suffix.count)...]) == suffix else {
            return .failure(Problem(text: "is corrupt or truncated"))
        }
        let hex = rest[prefix.count..<(rest.count - suffix.count)]
        guard hex.count % 2 == 0 else { return .failure(Problem(text: "is corrupt (record)")) }
        var record: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            guard let high = nibble(hex[index]), let low = nibble(hex[index + 1]) else {
                return .failure(Problem(text: "is corrupt (record)"))
            }
            record.append(high << 4 | low)
            index += 2
        }
        do throws(PluginRecord.DecodingError) {
            return .success(try PluginRecord(bytes: record))
        } catch {
            return .failure(Problem(text: "is corrupt (record: \(error.description))"))
        }
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// The entry's text.
    static func encode(key: String, record: PluginRecord) -> [UInt8] {
        var out = Array(key.utf8) + Array("record ".utf8)
        let digits = Array("0123456789abcdef".utf8)
        for byte in record.bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
        return out + Array("\nend\n".utf8)
    }

    /// Remembers `record` for `key` if the file (`st`) is old enough;
    /// silently does nothing when it cannot (the next call verifies again).
    func store(_ key: String, record: PluginRecord, file st: stat) {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let nowNanoseconds = Int64(now.tv_sec) * 1_000_000_000 + Int64(now.tv_nsec)
        let changed = max(Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                          Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec))
        guard nowNanoseconds - changed >= Self.minimumAge else { return }
        // Nothing is created in a run directory another user could write
        // (sticky or not: PathTrust's holder rule, as for the lock directory).
        guard PathTrust(trustedOwners: [0]).checkDirectory(PathTrust.parent(of: directory), holdsFiles: true) == nil else { return }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { return }
        guard checkDirectory() == nil else { return }
        let name = Self.name(of: key)
        let temporary = directory + "/.tmp.\(getpid()).\(name)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let bytes = Self.encode(key: key, record: record)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        if written != bytes.count || rename(temporary, directory + "/" + name) != 0 { unlink(temporary) }
    }

    /// The directory: root's, 0700 or stricter, and every directory above
    /// it trusted (PathTrust, root only).
    func checkDirectory() -> String? {
        var st = stat()
        guard lstat(directory, &st) == 0 else { return String(cString: strerror(errno)) }
        if let problem = Self.rootOnly(st, directory: true) { return problem }
        if let violation = PathTrust(trustedOwners: [0]).checkDirectory(PathTrust.parent(of: directory), holdsFiles: true) {
            return "lies in an untrusted place: \(violation)"
        }
        return nil
    }

    /// A regular file (or a directory) owned by root with no permission
    /// for group or others; else the problem.
    static func rootOnly(_ st: stat, directory: Bool) -> String? {
        let kind = st.st_mode & S_IFMT
        if directory ? kind != S_IFDIR : kind != S_IFREG { return directory ? "is not a directory" : "is not a regular file" }
        if st.st_uid != 0 { return "is owned by uid \(st.st_uid), not by root" }
        if st.st_mode & 0o022 != 0 { return "is writable by others (mode \(PathTrust.octal(st.st_mode)))" }
        if st.st_mode & 0o077 != 0 { return "is open to group or others (mode \(PathTrust.octal(st.st_mode)))" }
        return nil
    }

    private func warn(_ path: String, _ problem: String) {
        let line = Array("fshost: warning: ignoring the verification cache entry \(path), which \(problem); verifying the plugin in full\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
