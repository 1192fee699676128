// What the loader will load along with a plugin is held to the plugin's own
// rule (PathTrust, as sshd's StrictModes): a DT_NEEDED library runs its
// constructors in fshost, as root, the moment the plugin is loaded. No
// Foundation: this runs on every action call (and costs nothing there when
// every DT_NEEDED is loaded already, as a Swift plugin's runtime is).
import CElf
import TrustedPaths
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The loader's names in one object's dynamic section: its `DT_NEEDED`
/// libraries, `DT_RPATH` and `DT_RUNPATH`.
struct DynamicNames {
    var needed: [String] = []
    var rpath: String?
    var runpath: String?

    /// Reads them through `DT_STRTAB`/`DT_STRSZ`; fails naming what is out of the file.
    static func read(_ image: ELFImage, _ dynamic: [GElf_Dyn]) -> Result<DynamicNames, CheckFailure> {
        var names = DynamicNames()
        let needed = dynamic.filter { $0.d_tag == Int64(DT_NEEDED) }
        let hasPaths = dynamic.contains { $0.d_tag == Int64(DT_RPATH) || $0.d_tag == Int64(DT_RUNPATH) }
        guard !needed.isEmpty || hasPaths else { return .success(names) }
        guard let strtab = dynamic.first(where: { $0.d_tag == Int64(DT_STRTAB) })?.d_un.d_ptr,
              let strsz = dynamic.first(where: { $0.d_tag == Int64(DT_STRSZ) })?.d_un.d_val else {
            return .failure(CheckFailure("DT_NEEDED without DT_STRTAB/DT_STRSZ"))
        }
        guard let offset = image.fileOffset(ofAddress: strtab),
              let data = image.chunk(offset: offset, size: strsz), let base = data.pointee.d_buf else {
            return .failure(CheckFailure("dynamic string table (DT_STRTAB 0x\(String(strtab, radix: 16)), \(strsz) bytes) is not in the file"))
        }
        let strings = UnsafeRawBufferPointer(start: base, count: data.pointee.d_size)
        func string(_ at: UInt64) -> String? {
            guard at < UInt64(strings.count) else { return nil }
            let tail = strings[Int(at)...]
            guard let end = tail.firstIndex(of: 0) else { return nil }
            return String(decoding: strings[Int(at)..<end], as: UTF8.self)
        }
        for entry in needed {
            guard let name = string(entry.d_un.d_val) else {
                return .failure(CheckFailure("DT_NEEDED name at offset \(entry.d_un.d_val) is outside the string table"))
            }
            names.needed.append(name)
        }
        names.rpath = dynamic.first(where: { $0.d_tag == Int64(DT_RPATH) }).flatMap { string($0.d_un.d_val) }
        names.runpath = dynamic.first(where: { $0.d_tag == Int64(DT_RUNPATH) }).flatMap { string($0.d_un.d_val) }
        return .success(names)
    }
}

/// The trust rule for the libraries a plugin brings along.
///
/// - Every `DT_RPATH`/`DT_RUNPATH` entry the loader would search (not a
///   `$ORIGIN` one, which finds nothing through `/proc/self/fd`) is absolute
///   (a relative one is searched from fshost's working directory) and is a
///   directory ``PathTrust`` accepts as holding trusted files; an entry that
///   does not exist is judged by its nearest existing ancestor, held to the
///   same rule (another user must not be able to create it).
/// - Every library the loader would load — each `DT_NEEDED` not already
///   loaded in this process, and theirs in turn (each searched with its own
///   RPATH/RUNPATH) — passes ``PathTrust`` where it really is
///   (`realpath(3)`): a regular file of a trusted owner, not group- or
///   world-writable, in directories up to `/` that pass
///   ``PathTrust/checkDirectory(_:holdsFiles:)``.
///
/// An absolute entry with `$LIB` or `$PLATFORM` inside is judged by the
/// part that exists (its nearest existing ancestor), not by each expansion.
///
/// Cost: for a plugin whose `DT_NEEDED` are all loaded (a Swift plugin),
/// its RUNPATH entries only: one `realpath` and one `lstat` per directory,
/// 26 µs on a template monitor (median, release build); otherwise also one
/// `realpath`, the `lstat`s and one ELF dynamic-section read per library to
/// load (libcurl's closure: ~30 libraries, ~2.5 ms in a debug build).
/// On a verification-cache hit (no libelf) the database companion's walk
/// over libpq's 24 libraries costs ~0.7 ms per call, down from ~1.3 ms
/// before ``ClosureMemo`` (release build, perf samples, a loaded 2-core VM).
struct NeededLibraryTrust {
    let trust: PathTrust
    let elfClass: UInt8
    let dataEncoding: UInt8
    let machine: UInt16
    /// Where each library's dynamic names are remembered (the action
    /// path); nil: every library is read with libelf.
    var cache: VerificationCache? = nil
    /// What this check has judged and searched already: each directory
    /// chain, each name in the system directories, once per check.
    let memo: ClosureMemo
    /// Bound on the closure walked (a loop of DT_NEEDED, a crafted chain).
    static let maximumLibraries = 512

    /// A rule for one check (one memo: make one per check).
    init(trust: PathTrust, elfClass: UInt8, dataEncoding: UInt8, machine: UInt16, cache: VerificationCache? = nil) {
        self.trust = trust
        self.elfClass = elfClass
        self.dataEncoding = dataEncoding
        self.machine = machine
        self.cache = cache
        memo = ClosureMemo(trust: trust)
    }

    /// A problem with the search directories of one object (nil: the
    /// checked file itself, else the library's path), or nil.
    func checkSearchPath(_ names: DynamicNames, object: String?) -> String? {
        let of = object.map { $0 + ": " } ?? ""
        // DT_RPATH counts only without DT_RUNPATH (as LibrarySearch).
        let (tag, list) = names.runpath.map { ("RUNPATH", $0) } ?? ("RPATH", names.rpath ?? "")
        guard !list.isEmpty else { return nil }
        for entry in LibrarySearch.splitPath(list) {
            // Bytes, not String.contains(String): that costs ~90 µs on its
            // first use in a process (measured on a template monitor).
            if Self.mentionsOrigin(entry) { continue }
            // `$LIB` and `$PLATFORM` expand to relative words (`lib64`, `x86_64`):
            // an entry that starts with one is relative too.
            guard entry.hasPrefix("/") else {
                return "\(of)\(tag) entry '\(entry)' is relative: the loader would search it in fshost's working directory"
            }
            if let problem = checkDirectoryEntry(entry) { return "\(of)\(tag) entry \(entry): \(problem)" }
        }
        return nil
    }

    /// Whether a search path entry holds the token `$ORIGIN` or `${ORIGIN}`.
    static func mentionsOrigin(_ entry: String) -> Bool {
        let bytes = Array(entry.utf8), token = Array("ORIGIN".utf8)
        guard bytes.count > token.count else { return false }
        for i in 1...(bytes.count - token.count) where bytes[i - 1] == UInt8(ascii: "$") || bytes[i - 1] == UInt8(ascii: "{") {
            if bytes[i..<(i + token.count)].elementsEqual(token) { return true }
        }
        return false
    }

    /// PathTrust on a search directory, or on its nearest existing ancestor.
    private func checkDirectoryEntry(_ entry: String) -> String? {
        var current = entry
        while true {
            if let real = PathTrust.resolve(current) {
                return memo.checkDirectory(real).map { $0.description + (current == entry ? "" : " (\(entry) does not exist: another user could create it)") }
            }
            if current == "/" { return nil }
            current = PathTrust.parent(of: current)
        }
    }

    /// A problem with a library the loader would load (at `path`, found for
    /// `name`), or with one it would load along with it; nil when all pass.
    func checkClosure(_ first: [(name: String, path: String)]) -> String? {
        var queue = first
        var seenNames = Set(first.map(\.name))
        var seenPaths = Set<String>()
        while !queue.isEmpty {
            let (name, path) = queue.removeFirst()
            // Where it really is, and its lstat: the file judged (its own
            // owner and mode every time; its directory chain once per check).
            guard let (real, st) = memo.resolveLibrary(path) else { return "\(name) (\(path)) does not resolve: \(errnoString())" }
            guard seenPaths.insert(real).inserted else { continue }
            guard seenPaths.count <= Self.maximumLibraries else {
                return "more than \(Self.maximumLibraries) libraries would be loaded along with it"
            }
            if let violation = trust.checkFile(st, path: real, role: "library") ?? memo.checkDirectory(PathTrust.parent(of: real)) {
                return "\(name) would be loaded from \(real), which is not trusted: \(violation)"
            }
            // Its own DT_NEEDED, searched the loader's way from its directory:
            // remembered for this very file (the lstat just judged), or read.
            let names: DynamicNames
            switch readNames(real, judged: st) {
            case .failure(let failure): return "\(name) (\(real)): \(failure.reason)"
            case .success(let read): names = read
            }
            if let problem = checkSearchPath(names, object: real) { return problem }
            var search = LibrarySearch(origin: PathTrust.parent(of: real), rpath: names.rpath, runpath: names.runpath,
                                       elfClass: elfClass, dataEncoding: dataEncoding, machine: machine, memo: memo)
            for needed in names.needed where seenNames.insert(needed).inserted && !LoadedObjects.isLoaded(needed) {
                // One the loader cannot find fails the load itself (dlopen refuses): nothing of it runs.
                if let found = search.resolve(needed) { queue.append((needed, found)) }
            }
        }
        return nil
    }

    /// The dynamic names of the library at `path` (resolved), whose `lstat`
    /// `judged` passed the trust rule: the cache's entry for that identity,
    /// else read with libelf from the opened file and, when the opened file
    /// is the one judged, remembered.
    private func readNames(_ path: String, judged: stat) -> Result<DynamicNames, CheckFailure> {
        let key = cache?.libraryKey(file: judged, resolvedPath: path)
        if let cache, let key,
           let entry = cache.lookup(key, for: .library(path), directoryJudged: memo.cacheDirectoryIsFit(cache)) {
            return .success(entry.names)
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return .failure(CheckFailure("cannot open: \(errnoString())")) }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(CheckFailure("cannot stat: \(errnoString())")) }
        let names: DynamicNames
        do throws(CheckFailure) {
            let image = try ELFImage.open(fd: fd, fileSize: UInt64(st.st_size))
            switch DynamicNames.read(image, try image.dynamicEntries() ?? []) {
            case .failure(let failure): return .failure(failure)
            case .success(let read): names = read
            }
        } catch {
            return .failure(error)
        }
        if let cache, let key, Self.sameFile(st, judged) {
            cache.store(key, entry: VerificationCache.Entry(record: nil, names: names), file: judged)
        }
        return .success(names)
    }

    /// Whether two stats are of one unchanged file (the cache key's fields).
    static func sameFile(_ a: stat, _ b: stat) -> Bool {
        a.st_dev == b.st_dev && a.st_ino == b.st_ino && a.st_size == b.st_size
            && a.st_mtim.tv_sec == b.st_mtim.tv_sec && a.st_mtim.tv_nsec == b.st_mtim.tv_nsec
            && a.st_ctim.tv_sec == b.st_ctim.tv_sec && a.st_ctim.tv_nsec == b.st_ctim.tv_nsec
    }
}
