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
/// ~0.35 ms of every monitor; ../shared/PERF-FLOOR.md); and the dynamic
/// names (`DT_NEEDED`, RPATH, RUNPATH) of each library a plugin or a
/// companion brings along, so the `needed-libraries` walk reads none of them
/// with libelf either (libpq's ~25 libraries, libcurl's ~30; the trust
/// walk over them still runs on every call, each directory chain once:
/// ``ClosureMemo``).
///
/// **Where.** `<run directory>/verified/` (`/run/fshost/verified`), on any
/// file system. Used only when fshost runs as root; directory 0700 and
/// entries 0600, owned by root, the run directory's ancestors trusted
/// (``PathTrust``).
///
/// **This boot only.** Every entry holds the boot's id
/// (`/proc/sys/kernel/random/boot_id`, random per boot); an entry of another
/// boot is a plain miss, verified in full and replaced. So every file is
/// verified in full at least once per boot, whether or not the run directory
/// is a tmpfs cleared at boot: an offline edit that forges times (`debugfs`
/// on an unmounted disk) cannot carry over, since nobody knows the next
/// boot's id. Without a readable boot id there is no cache.
///
/// **Key.** The file's device, inode, size, mtime and ctime (ns), its
/// resolved path and the verifier's version; for a plugin or companion also
/// the expected type name, role and entry symbol, and the ABI's and
/// compiler's versions; and the identity of the running fshost's own file
/// (`/proc/self/exe`: device, inode, size, mtime), so a rebuilt or upgraded
/// fshost, whose checks may differ, never takes another build's entries
/// for its own (they are plain misses). Any write,
/// truncation, chmod, chown, link or rename of the file changes its ctime,
/// which user space cannot set back; a replaced file is another inode. A
/// file whose mtime or ctime is less than ``minimumAge`` old is not
/// remembered (two writes within one tick of the coarse clock, at the same
/// size, would look the same: git's "racy clean").
///
/// **Still checked on every call** (``PluginVerifier``): the file is opened
/// once, and what `dlopen` loads is that descriptor; it lies inside the
/// plugin directory; its owner and mode; the owner and mode of every
/// directory up to `/` (a directory's `chmod` does not touch the file's
/// ctime); and the `needed-libraries` check, from the plugin's dynamic names
/// the entry holds (each `DT_NEEDED` resolved again, each RPATH/RUNPATH entry
/// and each library to load judged by ``PathTrust`` again, where it is, from
/// its `lstat`: they are other files, whose changes do not move the plugin's
/// ctime). **Skipped on a hit**: the ELF checks of the plugin's own bytes,
/// and the libelf read of a library's dynamic section (its names are
/// remembered per library identity, the `lstat` that was judged).
/// `fshost check` and `fshost-admin` never use the cache.
///
/// **Bad entries** (corrupt, truncated, another format, not root's, open
/// to others): one warning (``warning``: the host's log, key=value and
/// syslog; stderr without one), and a full verification.
public struct VerificationCache: Sendable {
    /// Bumped whenever a check changes what it accepts: older entries no longer match.
    public static let verifierVersion = 2
    /// 2: the entry also holds the plugin's dynamic names (`DT_NEEDED`,
    /// RPATH, RUNPATH), which every hit checks again. 3: the boot's id
    /// on the second line; entries for libraries (names only, no record).
    static let format = 3
    static let magic = "fshost-verified "
    /// A file younger than this (mtime or ctime, ns) is verified every time.
    public static let minimumAge: Int64 = 2_000_000_000
    /// Where the kernel tells this boot's id (a random UUID, new at every boot).
    static let bootIDPath = "/proc/sys/kernel/random/boot_id"

    /// The cache directory.
    public let directory: String
    /// This boot's id (36 characters); entries of another boot are misses.
    public let bootID: String
    /// Where a bad entry's warning goes (one line, without the `fshost:`
    /// prefix): the host's log. nil: a plain line on stderr.
    public var warning: (@Sendable (String) -> Void)?

    /// The running executable's identity (`/proc/self/exe`, followed):
    /// `dev ino size mtime`, or `-`. Read once per process.
    static let hostIdentity: String = {
        var st = stat()
        guard stat("/proc/self/exe", &st) == 0 else { return "-" }
        return "\(st.st_dev) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
    }()

    /// The cache of the run directory `runDirectory` (absolute), or nil
    /// when fshost does not run as root or the boot's id cannot be read
    /// (every call then verifies in full). Costs one read of
    /// `/proc/sys/kernel/random/boot_id`; nothing is created here.
    public init?(runDirectory: String, warning: (@Sendable (String) -> Void)? = nil) {
        guard geteuid() == 0, runDirectory.hasPrefix("/"), let boot = Self.readBootID() else { return nil }
        directory = (runDirectory.hasSuffix("/") ? String(runDirectory.dropLast()) : runDirectory) + "/verified"
        bootID = boot
        self.warning = warning
    }

    /// The boot's id: 36 characters of hex digits and dashes, or nil.
    static func readBootID() -> String? {
        let fd = open(bootIDPath, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 64)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n >= 36 else { return nil }
        let id = buffer[0..<36]
        guard id.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) || $0 == UInt8(ascii: "-") }),
              n == 36 || buffer[36] == UInt8(ascii: "\n") else { return nil }
        return String(decoding: id, as: UTF8.self)
    }

    /// The first two lines of every entry this fshost writes in this boot.
    var header: String { "\(Self.magic)\(Self.format)\nboot \(bootID)\n" }

    /// The text that identifies one verification: the file and what it was checked for.
    func key(file st: stat, resolvedPath: String, verifier: PluginVerifier) -> String {
        let role: String = switch verifier.expectedRole {
        case nil: "any"
        case .resourceType?: "type"
        case .companion(let signature)?: "companion " + signature
        }
        return "plugin\nverifier \(Self.verifierVersion) abi \(verifier.abiVersion) compiler \(verifier.compilerVersion)\n"
            + "host \(Self.hostIdentity)\n"
            + "type \(verifier.expectedTypeName ?? "-")\nrole \(role)\nsymbol \(verifier.entrySymbol)\npath \(resolvedPath)\n"
            + Self.identity(st)
    }

    /// The key of a library's dynamic names: the library (`st`, its
    /// `lstat` at `resolvedPath`, the file whose trust was judged).
    func libraryKey(file st: stat, resolvedPath: String) -> String {
        "library\nverifier \(Self.verifierVersion)\nhost \(Self.hostIdentity)\npath \(resolvedPath)\n" + Self.identity(st)
    }

    /// `file <dev> <ino> <size> <mtime> <ctime>` (times in s.ns).
    static func identity(_ st: stat) -> String {
        "file \(st.st_dev) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec)\n"
    }

    /// The entry's file name: FNV-1a (64 bits) of the key, in hex.
    static func name(of key: String) -> String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in key.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        // Sixteen hex digits by hand: `String(_:radix:)`'s first use cost
        // ~20 µs of witness lookups per action (perf, issue 16).
        let digits = Array("0123456789abcdef".utf8)
        var text = [UInt8](repeating: 0, count: 16)
        for i in 0..<16 { text[15 - i] = digits[Int(hash >> (4 * UInt64(i)) & 15)] }
        return String(decoding: text, as: UTF8.self)
    }

    /// What an entry remembers: for a plugin or companion its record, and
    /// its dynamic names (the `needed-libraries` check runs again on every
    /// hit: it depends on other files, whose changes do not touch the
    /// plugin's ctime); for a library its dynamic names only.
    struct Entry {
        let record: PluginRecord?
        let names: DynamicNames
    }

    /// What the caller does when there is no usable entry (for the warning).
    enum Subject {
        case plugin
        case library(String)

        var fallback: String {
            switch self {
            case .plugin: "verifying the plugin in full"
            case .library(let path): "reading the library \(path) again"
            }
        }
    }

    /// The remembered entry for `key`, or nil (then verify in full). A bad
    /// entry is reported on stderr (one line) and passed over; an entry of
    /// another boot is a plain miss (the store that follows replaces it).
    /// Opened without blocking: a FIFO (or device) there is refused, not
    /// waited on. A plugin's entry must hold a record, a library's none.
    /// `directoryJudged`: the caller judged ``checkDirectory()`` fit
    /// during this very call (a closure walk asks once, not per library).
    func lookup(_ key: String, for subject: Subject = .plugin, directoryJudged: Bool = false) -> Entry? {
        let path = directory + "/" + Self.name(of: key)
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            if errno != ENOENT && errno != ENOTDIR { warn(path, errno == ELOOP ? "is a symbolic link" : String(cString: strerror(errno)), subject) }
            return nil
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return nil }
        if let problem = Self.rootOnly(st, directory: false) { warn(path, problem, subject); return nil }
        if !directoryJudged, let problem = checkDirectory() { warn(directory, problem, subject); return nil }
        guard st.st_size <= 16384 else { warn(path, "is too large (\(st.st_size) bytes)", subject); return nil }
        var bytes = [UInt8](repeating: 0, count: Int(st.st_size))
        let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n == Int(st.st_size) else { warn(path, "cannot be read whole", subject); return nil }
        let wantsRecord = if case .plugin = subject { true } else { false }
        switch Self.parse(bytes, header: header, key: key, wantsRecord: wantsRecord) {
        case .success(let entry): return entry
        case .failure(let problem):
            if let text = problem.text { warn(path, text, subject) }
            return nil
        }
    }

    struct Problem: Error {
        /// nil: another key (a hash collision) or another boot: a plain miss.
        let text: String?
    }

    /// An entry: `fshost-verified 3`, `boot <id>`, the key, for a plugin
    /// `record <hex of the record's bytes>`, then `needed <hex>` per
    /// `DT_NEEDED`, `rpath <hex>` and `runpath <hex>` if present (hex: a
    /// name may hold any byte but NUL), then `end`.
    static func parse(_ bytes: [UInt8], header: String, key: String, wantsRecord: Bool) -> Result<Entry, Problem> {
        let text = String(decoding: bytes, as: UTF8.self)
        let magicLine = "\(magic)\(format)\n"
        guard text.hasPrefix(magic) else { return .failure(Problem(text: "is not a verification entry (corrupt)")) }
        guard text.hasPrefix(magicLine) else {
            return .failure(Problem(text: "has another format (this fshost writes \(format))"))
        }
        guard text.utf8.count >= header.utf8.count else { return .failure(Problem(text: "is truncated")) }
        guard text.hasPrefix(magicLine + "boot ") else { return .failure(Problem(text: "is corrupt (no boot id)")) }
        // Another boot's entry: a miss, never trusted (see the type's comment).
        guard text.hasPrefix(header) else { return .failure(Problem(text: nil)) }
        let prefix = header + key
        guard text.hasPrefix(prefix) else {
            // Same name, other key: a truncated entry, or another file's.
            return .failure(Problem(text: text.utf8.count < prefix.utf8.count ? "is truncated" : nil))
        }
        let rest = Array(bytes[prefix.utf8.count...])
        guard rest.last == UInt8(ascii: "\n") else { return .failure(Problem(text: "is corrupt or truncated")) }
        // Lines read in place, and an if-chain below, not `split` and a
        // tuple `switch`: their first use cost ~15 µs per action (perf,
        // issue 16). The last line is "end"; the lines before it, if any,
        // end where it begins.
        let lastStart = rest[..<(rest.count - 1)].lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 } ?? 0
        guard rest[lastStart..<(rest.count - 1)].elementsEqual("end".utf8), !wantsRecord || lastStart > 0 else {
            return .failure(Problem(text: "is corrupt or truncated"))
        }
        var record: PluginRecord? = nil
        var names = DynamicNames()
        var start = 0, index = 0
        while start < lastStart {
            let end = rest[start..<lastStart].firstIndex(of: UInt8(ascii: "\n"))!  // lastStart - 1 at the latest
            let line = rest[start..<end]
            defer { start = end + 1; index += 1 }
            guard let space = line.firstIndex(of: UInt8(ascii: " ")),
                  let value = unhex(line[(space + 1)...]) else { return .failure(Problem(text: "is corrupt (line \(index + 1) after the key)")) }
            let word = line[..<space]
            if index == 0 && wantsRecord {
                guard word.elementsEqual("record".utf8) else { return .failure(Problem(text: "is corrupt (line 1 after the key)")) }
                do throws(PluginRecord.DecodingError) {
                    record = try PluginRecord(bytes: value)
                } catch {
                    return .failure(Problem(text: "is corrupt (record: \(error.description))"))
                }
            } else if word.elementsEqual("needed".utf8) {
                names.needed.append(String(decoding: value, as: UTF8.self))
            } else if word.elementsEqual("rpath".utf8) && names.rpath == nil {
                names.rpath = String(decoding: value, as: UTF8.self)
            } else if word.elementsEqual("runpath".utf8) && names.runpath == nil {
                names.runpath = String(decoding: value, as: UTF8.self)
            } else {
                return .failure(Problem(text: "is corrupt (line \(index + 1) after the key)"))
            }
        }
        if wantsRecord && record == nil { return .failure(Problem(text: "is corrupt (no record)")) }
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
    static func encode(header: String, key: String, entry: Entry) -> [UInt8] {
        var out = Array((header + key).utf8)
        let digits = Array("0123456789abcdef".utf8)
        func line<S: Sequence>(_ word: String, _ bytes: S) where S.Element == UInt8 {
            out += Array(word.utf8) + [UInt8(ascii: " ")]
            for byte in bytes { out.append(digits[Int(byte >> 4)]); out.append(digits[Int(byte & 15)]) }
            out.append(UInt8(ascii: "\n"))
        }
        if let record = entry.record { line("record", record.bytes) }
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
        guard PathTrust(owners: [0]).checkDirectory(PathTrust.parent(of: directory), holdsFiles: true) == nil else { return }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST { return }
        guard checkDirectory() == nil else { return }
        let name = Self.name(of: key)
        let temporary = directory + "/.tmp.\(getpid()).\(name)"
        let fd = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let bytes = Self.encode(header: header, key: key, entry: entry)
        let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        var stored = written == bytes.count && rename(temporary, directory + "/" + name) == 0
        // An empty directory at the entry's name (rename cannot replace it)
        // would make every later call warn and verify in full: it goes
        // (review of issue 16, finding 3). The cache directory is root's alone.
        if !stored && written == bytes.count && errno == EISDIR && rmdir(directory + "/" + name) == 0 {
            stored = rename(temporary, directory + "/" + name) == 0
        }
        if !stored { unlink(temporary) }
        sweepEarlierBoots()
    }

    /// Removes what earlier boots left (on a disk nothing else does: an
    /// upgraded file's old entry would stay forever): once per boot, on a
    /// store (a miss), every file of the directory last modified (mtime)
    /// before this boot began. `.boot` holds the id of the boot that swept last. Only
    /// housekeeping: an entry of another boot is never used anyway.
    func sweepEarlierBoots() {
        let marker = directory + "/.boot"
        let fd = open(marker, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd >= 0 {
            var buffer = [UInt8](repeating: 0, count: 64)
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            close(fd)
            if n == 36 && String(decoding: buffer[0..<36], as: UTF8.self) == bootID { return }
        }
        var now = timespec(), sinceBoot = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        clock_gettime(CLOCK_BOOTTIME, &sinceBoot)
        let bootBegan = Int(now.tv_sec) - Int(sinceBoot.tv_sec) - 1
        if let dir = opendir(directory) {
            defer { closedir(dir) }
            let dfd = dirfd(dir)
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(cString: raw.bindMemory(to: CChar.self).baseAddress!)
                }
                guard name != ".", name != ".." else { continue }
                var st = stat()
                guard fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT != S_IFDIR,
                      Int(st.st_mtim.tv_sec) < bootBegan else { continue }
                unlinkat(dfd, name, 0)
            }
        }
        let temporary = directory + "/.tmp.\(getpid()).boot"
        let out = open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard out >= 0 else { return }
        let bytes = Array(bootID.utf8)
        let written = bytes.withUnsafeBytes { write(out, $0.baseAddress, $0.count) }
        close(out)
        if written != bytes.count || rename(temporary, marker) != 0 { unlink(temporary) }
    }

    /// The directory: root's, 0700 or stricter, and every directory above
    /// it trusted (PathTrust, root only).
    func checkDirectory() -> String? {
        var st = stat()
        guard lstat(directory, &st) == 0 else { return String(cString: strerror(errno)) }
        if let problem = Self.rootOnly(st, directory: true) { return problem }
        if let violation = PathTrust(owners: [0]).checkDirectory(PathTrust.parent(of: directory), holdsFiles: true) {
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

    private func warn(_ path: String, _ problem: String, _ subject: Subject) {
        let what = path == directory ? "directory" : "entry"
        let text = "ignoring the verification cache \(what) \(path), which \(problem); \(subject.fallback)"
        if let warning { warning(text); return }
        let line = Array("fshost: warning: \(text)\n".utf8)
        _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
    }
}
