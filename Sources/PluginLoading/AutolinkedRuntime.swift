#if canImport(Glibc)
import Glibc
#endif

/// The Swift runtime libraries swiftc autolinks into every binary from its
/// implicit imports, and which the installed `fshost` does not load:
/// `make install-files` drops each one a file uses no symbol of
/// (Scripts/trim-needed.sh; about a third of a Swift process's start,
/// docs/ARCHITECTURE.md §7). A plugin built elsewhere with default flags
/// still names them (`DT_NEEDED`), and the loader cannot find them for it:
/// fshost loads a plugin through `/proc/self/fd/N`, so its `$ORIGIN`
/// RUNPATH reaches nothing, and the host's RUNPATH serves only the host.
/// So before a plugin is verified, the ones it names are loaded by the host
/// from the host's own runtime directory (`dlopen` of the bare name searches
/// the caller's RUNPATH: `<prefix>/lib/fshost/swift`, or the toolchain for a
/// build tree); the verifier then finds them loaded, as it did when the host
/// linked them. Only these fixed names are ever loaded here, never a path
/// the plugin names.
enum AutolinkedRuntime {
    /// The autolinked libraries (and what Concurrency loads) a trimmed host lacks.
    static let names = [
        "libswift_Concurrency.so", "libswift_StringProcessing.so", "libswift_RegexParser.so",
        "libdispatch.so", "libBlocksRuntime.so", "libswiftDispatch.so", "libswiftSynchronization.so", "libswift_Builtin_float.so",
    ]

    /// Loads (global, never unloaded) each library of ``names`` that the
    /// ELF file at `path` names in `DT_NEEDED`. Nothing when the file cannot
    /// be read as a 64-bit little-endian ELF file: the verifier then says why.
    /// Cost for a plugin that names none: one open and a few small reads.
    static func load(for path: String) {
        guard let needed = neededNames(path) else { return }
        for name in needed where names.contains(name) {
            _ = dlopen(name, RTLD_NOW | RTLD_GLOBAL | RTLD_NODELETE)
        }
    }

    /// The `DT_NEEDED` names of the ELF file at `path` (ELF64, little
    /// endian: this host's), read from its dynamic segment; nil on any doubt.
    static func neededNames(_ path: String) -> [String]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let size = UInt64(st.st_size)
        func read(_ offset: UInt64, _ count: Int) -> [UInt8]? {
            guard count > 0, count <= 1 << 20, offset <= size, UInt64(count) <= size - offset else { return nil }
            var bytes = [UInt8](repeating: 0, count: count)
            let n = bytes.withUnsafeMutableBytes { pread(fd, $0.baseAddress, count, off_t(offset)) }
            return n == count ? bytes : nil
        }
        // Little-endian fields by hand and no arrays but of bytes and
        // names: an array of another element type (tuples, UInt64) has its
        // metadata built from its mangled name on first use (~25 µs per
        // action each, perf, issue 16).
        func field(_ b: [UInt8], _ at: Int, _ width: Int) -> UInt64 {
            var value: UInt64 = 0
            for i in stride(from: width - 1, through: 0, by: -1) { value = value << 8 | UInt64(b[at + i]) }
            return value
        }
        func u16(_ b: [UInt8], _ at: Int) -> UInt64 { field(b, at, 2) }
        func u32(_ b: [UInt8], _ at: Int) -> UInt64 { field(b, at, 4) }
        func u64(_ b: [UInt8], _ at: Int) -> UInt64 { field(b, at, 8) }
        // ELF header: magic, ELFCLASS64, ELFDATA2LSB; program headers of 56 bytes.
        guard let header = read(0, 64), header[0] == 0x7f, header[1] == 0x45, header[2] == 0x4c, header[3] == 0x46,
              header[4] == 2, header[5] == 1, u16(header, 54) == 56 else { return nil }
        let count = Int(u16(header, 56))
        guard count > 0, count <= 256, let table = read(u64(header, 32), count * 56) else { return nil }
        var dynamicOffset: UInt64 = 0, dynamicSize: UInt64 = 0
        for i in 0..<count where u32(table, i * 56) == 2 {                          // PT_DYNAMIC
            dynamicOffset = u64(table, i * 56 + 8); dynamicSize = u64(table, i * 56 + 32)
        }
        guard dynamicSize >= 16, dynamicSize <= 1 << 16,
              let entries = read(dynamicOffset, Int(dynamicSize / 16) * 16) else { return nil }
        // Up to DT_NULL: the string table's address (DT_STRTAB), then
        // (second pass, below) the names of DT_NEEDED.
        var stringTable: UInt64?, used = entries.count
        for at in stride(from: 0, to: entries.count, by: 16) {
            let tag = u64(entries, at)
            if tag == 0 { used = at; break }                    // DT_NULL
            if tag == 5 { stringTable = u64(entries, at + 8) }  // DT_STRTAB (an address)
        }
        // The first PT_LOAD segment that maps the string table's address.
        var tableOffset: UInt64?
        for i in 0..<count where tableOffset == nil && u32(table, i * 56) == 1 {  // PT_LOAD
            let vaddr = u64(table, i * 56 + 16), offset = u64(table, i * 56 + 8), size = u64(table, i * 56 + 32)
            if let stringTable, stringTable >= vaddr && stringTable - vaddr < size { tableOffset = offset + (stringTable - vaddr) }
        }
        guard let tableOffset else { return nil }
        // One small read per name: the names may lie far apart in a large string table.
        var names: [String] = []
        for at in stride(from: 0, to: used, by: 16) where u64(entries, at) == 1 {  // DT_NEEDED
            let start = tableOffset &+ u64(entries, at + 8)
            guard start >= tableOffset, start < size,
                  let bytes = read(start, Int(min(256, size - start))),
                  let end = bytes.firstIndex(of: 0) else { return nil }
            names.append(String(decoding: bytes[..<end], as: UTF8.self))
        }
        return names
    }
}
