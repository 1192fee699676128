import CSystemShims
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
/// **Where.** `<run directory>/verified/` (`/run/fshost/verified`). Used
/// only when the run directory is on a tmpfs or ramfs (`statfs` `f_type`),
/// so that it is cleared at boot and every plugin is verified in full at
/// least once per boot (an offline edit that forges times cannot carry
/// over); on any other file system every call verifies in full, silently
/// (README, "Verification cache"). Used only when fshost runs as root;
/// directory 0700 and entries 0600, owned by root, the run directory's
/// ancestors trusted (``PathTrust``).
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
/// ctime); and the `needed-libraries` check, in full, from the plugin's
/// dynamic names the entry holds (each `DT_NEEDED` resolved again, each
/// RPATH/RUNPATH entry and each library to load judged by ``PathTrust``
/// again: they are other files, whose changes do not move the plugin's
/// ctime). **Skipped on a hit**: the ELF checks of the plugin's own bytes
/// (libelf is loaded only if a needed library not yet loaded must be read).
/// `fshost check` and `fshost-admin`
/// never use the cache.
///
/// **Bad entries** (corrupt, truncated, another format, not root's, open
/// to others): one warning line on stderr, and a full verification.
public struct VerificationCache: Sendable {
    /// Bumped whenever a check changes what it accepts: older entries no longer match.
    public static let verifierVersion = 2
    /// 2: the entry also holds the plugin's dynamic names (`DT_NEEDED`,
    /// RPATH, RUNPATH), which every hit checks again.
    static let format = 2
    static let magic = "fshost-verified "
    /// A file younger than this (mtime or ctime, ns) is verified every time.
    public static let minimumAge: Int64 = 2_000_000_000

    /// The cache directory.
    public let directory: String

    /// `TMPFS_MAGIC` and `RAMFS_MAGIC` (linux/magic.h): file systems that
    /// hold nothing across a boot.
    static let clearedAtBoot: Set<Int> = [0x0102_1994, 0x8584_58f6]

    /// The cache of the run directory `runDirectory` (absolute), or nil
    /// when fshost does not run as root, or the run directory does not
    /// exist or is not on a tmpfs or ramfs (every call then verifies in
    /// full). Costs one `statfs`.
    public init?(runDirectory: String) {
        guard geteuid() == 0, runDirectory.hasPrefix("/") else { return nil }
        guard Self.clearedAtBoot.contains(csys_filesystem_type(runDirectory)) else { return nil }
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

    /// What an entry remembers: the record, and the plugin's dynamic names
    /// (the `needed-libraries` check runs again on every hit: it depends
    /// on other files, whose changes do not touch the plugin's ctime).
    struct Entry {
        let record: PluginRecord
        let names: DynamicNames
    }

    /// The remembered entry for `key`, or nil (then verify in full). A bad
    /// entry is reported on stderr (one line) and passed over. Opened
    /// without blocking: a FIFO (or device) there is refused, not waited on.
    func lookup(_ key: String) -> Entry? {
        let path = directory + "/" + Self.name(of: key)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            if errno != ENOENT && errno != ENOTDIR { warn(path, errno == ELOOP ? "is a symbolic link" : String(cString: strerror(errno))) }
            return nil
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        if let problem = Self.rootOnly(st, directory: false) { warn(path, problem); return nil }
        if let problem = checkDirectory() { warn(directory, problem); return nil }
        guard st.st_size <= 16384 else { warn(path, "is too large (\(st.st_size) bytes)"); return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n == Int(st.st_size) else { warn(path, "cannot be read whole"); return nil }
        switch Self.parse(bytes, key: key) {
        case .success(let entry): return entry
        case .failure(let problem):
            if let text = problem.text { warn(path, text) }
            return nil
        }
    }

    struct Problem: Error {
        /// nil: another key (a hash collision): a plain miss.
        let text: String?
    }

    /// An entry: the key, `record <hex of the record's bytes>`, then
    /// `needed <hex>` per `DT_NEEDED`, `rpath <hex>` and `runpath <hex>`
    /// if present (hex: a name may hold any byte but NUL), then `end`.
    static func parse(_ bytes: [UInt8], key: String) -> Result<Entry, Problem> {
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
        guard rest.last == UInt8(ascii: "\n") else { return .failure(Problem(text: "is corrupt or truncated")) }
        let lines = rest.dropLast().split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
        guard lines.count >= 2, Array(lines[lines.count - 1]) == Array("end".utf8) else {
            return .failure(Problem(text: "is corrupt or truncated"))
        }
        var record: PluginRecord? = nil
        var names = DynamicNames()
        for (index, line) in lines.dropLast().enumerated() {
            guard let space = line.firstIndex(of: UInt8(ascii: " ")),
                  let value = unhex(line[(space + 1)...]) else { return .failure(Problem(text: "is corrupt (line \(index + 1) after the key)")) }
            let word = String(decoding: line[..<space], as: UTF8.self)
            switch (index, word) {
            case (0, "record"):
                do throws(PluginRecord.DecodingError) {
                    record = try PluginRecord(bytes: value)
                } catch {
                    return .failure(Problem(text: "is corrupt (record: \(error.description))"))
                }
            case (1..., "needed"): names.needed.append(String(decoding: value, as: UTF8.self))
            case (1..., "rpath") where names.rpath == nil: names.rpath = String(decoding: value, as: UTF8.self)
            case (1..., "runpath") where names.runpath == nil: names.runpath = String(decoding: value, as: UTF8.self)
            default: return .failure(Problem(text: "is corrupt (line \(index + 1) after the key)"))
            }
        }
        guard let record else { return .failure(Problem(text: "is corrupt (no record)")) }
        return .success(Entry(record: record, names: names))
    }

    /// The bytes of an even run of lower-case hex digits, or nil.
    private static func unhex(_ hex: ArraySlice<UInt8>) -> [UInt8]? {
        guard hex.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        out.reserveCapacity(hex.count / 2)
        var index = hex.startIndex
        while index < hex.endIndex {
            guard let high = nibble(hex[index]), let low = nibble(hex[index + 1]) else { return nil }
            out.append(high << 4 | low)
            index += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        default: nil
        }
    }

    /// The entry's text.
    static func encode(key: String, entry: Entry) -> [UInt8] {
        var out = Array(key.utf8)
        let digits = Array("0123456789abcdef".utf8)
        func line<S: Sequence>(_ word: String, _ bytes: S) where S.Element == UInt8 {
            out += Array(word.utf8) + [UInt8(ascii: " ")]
            for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
            out.append(UInt8(ascii: "\n"))
        }
        line("record", entry.record.bytes)
        for name in entry.names.needed { line("needed", name.utf8) }
        if let rpath = entry.names.rpath { line("rpath", rpath.utf8) }
        if let runpath = entry.names.runpath { line("runpath", runpath.utf8) }
        return out + Array("end\n".utf8)
    }

    /// Remembers `record` for `key` if the file (`st`) is old enough;
    /// silently does nothing when it cannot (the next call verifies again).
    func store(_ key: String, entry: Entry, file st: stat) {
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
        let bytes = Self.encode(key: key, entry: entry)
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
