// Where the dynamic loader would find a DT_NEEDED library, without loading it:
// the glibc search order (DT_RPATH if no DT_RUNPATH, LD_LIBRARY_PATH,
// DT_RUNPATH, the ld.so.conf directories, the default directories), and a
// candidate counts only if it is an ELF file of the plugin's class, byte order
// and machine (the loader skips the others, as on multilib systems).
//
// fshost loads a plugin through its verified descriptor (/proc/self/fd/N), so
// the loader expands $ORIGIN to /proc/self/fd, where no library is: a RUNPATH
// entry with $ORIGIN finds nothing at load time, and this search skips it too
// (remembering what it would have found, for the message).
import CElf
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The loader's search for the `DT_NEEDED` libraries of one object.
struct LibrarySearch {
    /// Directory of the checked object, for `$ORIGIN`.
    let origin: String
    let rpath: [String]
    let runpath: [String]
    /// `e_ident[EI_CLASS]`, `e_ident[EI_DATA]` and `e_machine` of the checked object.
    let elfClass: UInt8
    let dataEncoding: UInt8
    let machine: UInt16
    private var systemDirectories: [String]? = nil
    /// What this check has searched already (the system directories' answer
    /// per name, ld.so.conf read once); nil: searched afresh.
    let memo: ClosureMemo?
    /// Libraries found only in a `$ORIGIN` directory, which the load through
    /// `/proc/self/fd/N` cannot reach: name → that path.
    private(set) var onlyThroughOrigin: [String: String] = [:]

    init(origin: String, rpath: String?, runpath: String?, elfClass: UInt8, dataEncoding: UInt8, machine: UInt16,
         memo: ClosureMemo? = nil) {
        self.origin = origin
        self.memo = memo
        self.elfClass = elfClass
        self.dataEncoding = dataEncoding
        self.machine = machine
        self.runpath = runpath.map(Self.splitPath) ?? []
        // DT_RPATH is ignored when DT_RUNPATH is present.
        self.rpath = runpath == nil ? (rpath.map(Self.splitPath) ?? []) : []
    }

    /// `a:b::c` → `["a", "b", ".", "c"]` (an empty element is the current directory).
    /// Bytes, not `split` (its first use cost ~15 µs per action, perf, issue 16).
    static func splitPath(_ list: String) -> [String] {
        var parts: [String] = []
        let bytes = Array(list.utf8)
        var start = 0
        for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: ":") {
            parts.append(i == start ? "." : String(decoding: bytes[start..<i], as: UTF8.self))
            start = i + 1
        }
        return parts
    }

    /// The path the loader would use for `name`, or nil when none fits.
    /// `$ORIGIN` entries are skipped (see the top of this file).
    mutating func resolve(_ name: String) -> String? {
        if name.utf8.contains(UInt8(ascii: "/")) {
            return isLoadable(name) ? name : nil
        }
        // The loader reuses an object it has loaded under that name: every
        // library of a Swift plugin is loaded in the host already. No syscall.
        if let loaded = LoadedObjects.path(named: name) { return loaded }
        for directory in rpath { if let found = look(name, inTemplate: directory) { onlyThroughOrigin[name] = nil; return found } }
        if let list = getenv("LD_LIBRARY_PATH").map({ String(cString: $0) }), !list.isEmpty {
            for directory in Self.splitPath(list) { if let found = look(name, inTemplate: directory) { onlyThroughOrigin[name] = nil; return found } }
        }
        for directory in runpath { if let found = look(name, inTemplate: directory) { onlyThroughOrigin[name] = nil; return found } }
        if let memo {
            // The same answer for every object of this check (one class and machine).
            let found = memo.systemMatch(name) { isLoadable($0) }
            if found != nil { onlyThroughOrigin[name] = nil }
            return found
        }
        if systemDirectories == nil { systemDirectories = Self.loadSystemDirectories() }
        for directory in systemDirectories! {
            let candidate = directory + "/" + name
            if isLoadable(candidate) { onlyThroughOrigin[name] = nil; return candidate }
        }
        return nil
    }

    /// Searched places, for the failure message.
    var searchedDescription: String {
        var parts: [String] = []
        if !rpath.isEmpty { parts.append("RPATH " + rpath.joined(separator: ":")) }
        if let list = getenv("LD_LIBRARY_PATH"), list.pointee != 0 { parts.append("LD_LIBRARY_PATH") }
        if !runpath.isEmpty { parts.append("RUNPATH " + runpath.joined(separator: ":")) }
        parts.append("the ld.so.conf and system directories")
        return parts.joined(separator: ", ")
    }

    private mutating func look(_ name: String, inTemplate template: String) -> String? {
        let throughOrigin = NeededLibraryTrust.mentionsOrigin(template)
        for directory in expand(template) {
            let candidate = (directory.hasSuffix("/") ? directory : directory + "/") + name
            if isLoadable(candidate) {
                if throughOrigin {
                    if onlyThroughOrigin[name] == nil { onlyThroughOrigin[name] = candidate }
                    return nil
                }
                return candidate
            }
        }
        return nil
    }

    /// Expands the loader's dynamic string tokens ($ORIGIN, $LIB, $PLATFORM).
    private func expand(_ template: String) -> [String] {
        guard template.utf8.contains(UInt8(ascii: "$")) else { return [template] }
        var text = replacing("${ORIGIN}", in: template, with: origin)
        text = replacing("$ORIGIN", in: text, with: origin)
        text = replacing("${PLATFORM}", in: text, with: Self.platform)
        text = replacing("$PLATFORM", in: text, with: Self.platform)
        guard text.utf8.contains(UInt8(ascii: "$")) else { return [text] }
        // $LIB is distribution-specific: lib64 (Red Hat) or lib/<multiarch> (Debian).
        return ["lib64", "lib/" + Self.multiarch].map { lib in
            replacing("$LIB", in: replacing("${LIB}", in: text, with: lib), with: lib)
        }
    }

    /// Whether `path` is an ELF file this object could link against.
    private func isLoadable(_ path: String) -> Bool {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let ident = readBytes(fd, count: 20)
        guard ident.count == 20, ident[0] == 0x7f, ident[1] == 0x45, ident[2] == 0x4c, ident[3] == 0x46,
              ident[Int(EI_CLASS)] == elfClass, ident[Int(EI_DATA)] == dataEncoding else { return false }
        let fileMachine = dataEncoding == UInt8(ELFDATA2MSB)
            ? UInt16(ident[18]) << 8 | UInt16(ident[19])
            : UInt16(ident[18]) | UInt16(ident[19]) << 8
        return fileMachine == machine
    }

    #if arch(x86_64)
    static let platform = "x86_64"
    static let multiarch = "x86_64-linux-gnu"
    #elseif arch(arm64)
    static let platform = "aarch64"
    static let multiarch = "aarch64-linux-gnu"
    #else
    static let platform = "unknown"
    static let multiarch = "unknown-linux-gnu"
    #endif

    /// The ld.so.conf directories (includes followed), then the default ones.
    static func loadSystemDirectories() -> [String] {
        var directories: [String] = []
        var seen = Set<String>()
        func add(_ directory: String) {
            var d = directory
            while d.utf8.count > 1, d.hasSuffix("/") { d.removeLast() }
            if !d.isEmpty, seen.insert(d).inserted { directories.append(d) }
        }
        readConfiguration("/etc/ld.so.conf", depth: 0, into: add)
        for d in ["/lib/" + multiarch, "/usr/lib/" + multiarch, "/lib64", "/usr/lib64", "/lib", "/usr/lib"] { add(d) }
        return directories
    }

    private static func readConfiguration(_ path: String, depth: Int, into add: (String) -> Void) {
        guard depth < 8, let content = readSmallFile(path) else { return }
        let base = parentDirectory(of: path)
        for rawLine in content.split(separator: UInt8(ascii: "\n")) {
            var line = rawLine[...]
            if let hash = line.firstIndex(of: UInt8(ascii: "#")) { line = line[..<hash] }
            let words = line.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0d })
                .map { String(decoding: $0, as: UTF8.self) }
            guard let first = words.first else { continue }
            switch first {
            case "include":
                for pattern in words.dropFirst() {
                    let absolute = pattern.hasPrefix("/") ? pattern : base + "/" + pattern
                    for file in globPaths(absolute) { readConfiguration(file, depth: depth + 1, into: add) }
                }
            case "hwcap":
                continue
            default:
                for word in words {
                    // Old libc5 syntax "dir=TYPE": keep the directory.
                    let directory = word.split(separator: "=", maxSplits: 1).first.map(String.init) ?? word
                    if directory.hasPrefix("/") { add(directory) }
                }
            }
        }
    }

    /// `glob(3)` matches in sorted order.
    private static func globPaths(_ pattern: String) -> [String] {
        var matches = glob_t()
        defer { globfree(&matches) }
        guard glob(pattern, 0, nil, &matches) == 0 else { return [] }
        return (0..<Int(matches.gl_pathc)).compactMap { i in matches.gl_pathv[i].map { String(cString: $0) } }
    }
}

/// The shared objects loaded in this process, by file name: the loader's
/// own list (`_r_debug`'s link maps), so no file is opened. The objects
/// counted are those loaded when it was first asked (the list grows at its
/// end), as when it was a dictionary built once; it is read where asked, by
/// comparing C strings: that `[String: String]` cost ~30 µs per action
/// (perf, issue 16), for a list of ~15 objects.
enum LoadedObjects {
    /// How many objects the list held when first asked.
    static let counted: Int = {
        var count = 0
        var map = celf_loaded_objects()
        while let object = map { count += 1; map = object.pointee.l_next }
        return count
    }()

    /// The path of the loaded object whose file name is `name`
    /// (`libswiftCore.so`); the last one in the list when several are.
    static func path(named name: String) -> String? {
        name.withCString { wanted in
            var found: UnsafePointer<CChar>? = nil
            var map = celf_loaded_objects(), left = counted
            while let object = map, left > 0 {
                left -= 1
                if let path = object.pointee.l_name, path.pointee != 0 {
                    let base: UnsafePointer<CChar> = strrchr(path, Int32(UInt8(ascii: "/"))).map { UnsafePointer($0 + 1) } ?? UnsafePointer(path)
                    if strcmp(base, wanted) == 0 { found = UnsafePointer(path) }
                }
                map = object.pointee.l_next
            }
            return found.map { String(cString: $0) }
        }
    }

    /// Whether the loader has an object of that file name already (it
    /// loads nothing new for it).
    static func isLoaded(_ name: String) -> Bool { path(named: name) != nil }
}
