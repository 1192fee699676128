// Pre-load verification of a plugin shared object (docs/ARCHITECTURE.md §4).
//
// Everything here only *reads* the file (open O_RDONLY, fstat, libelf): a
// refused file never runs a constructor. No Foundation: this runs on every
// action call.
import CElf
import FSPluginABI
import PluginRecord
import TrustedPaths
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The outcome of one pre-load check of a plugin file.
public struct PluginFileCheck: Sendable, Equatable {
    /// Short stable identifier of the check: `file`, `symlink`, `owner`,
    /// `permissions`, `directory-permissions`, `elf-header`, `shared-object`,
    /// `machine`, `record`, `abi-version`, `compiler-version`, `type-name`,
    /// `entry-symbol`, `exec-stack`, `text-relocations`, `needed-libraries`.
    public let name: String
    /// Whether the file passed this check.
    public let passed: Bool
    /// One line saying what was found (`"ET_DYN, no program interpreter"`,
    /// `"group-writable (mode 0664)"`).
    public let detail: String

    /// Makes a check result.
    public init(name: String, passed: Bool, detail: String) {
        self.name = name
        self.passed = passed
        self.detail = detail
    }
}

/// Why a plugin file was refused: the first check it failed.
public struct PluginVerificationError: Error, CustomStringConvertible, Equatable {
    /// The failing check's name (see ``PluginFileCheck/name``).
    public let check: String
    /// The path as given to ``PluginVerifier/verify(path:)``.
    public let path: String
    /// One line naming the problem.
    public let reason: String

    /// Makes a verification error.
    public init(check: String, path: String, reason: String) {
        self.check = check
        self.path = path
        self.reason = reason
    }

    /// `"<path>: <check>: <reason>"`.
    public var description: String { "\(path): \(check): \(reason)" }
}

/// The host's compiler version (a module-level alias: inside `PluginVerifier`
/// the parameter `compilerVersion` would shadow the global of that name).
@usableFromInline let hostCompilerVersion: UInt32 = compilerVersion

/// Checks a plugin shared object before it is loaded, reading it only.
///
/// Checks, in order: `file` (opens, a regular file), `symlink` (the opened
/// file lies inside the plugin directory), `owner` (a trusted uid),
/// `permissions` (not group- or world-writable), `directory-permissions`
/// (the directory that holds the opened file and every one above it up to
/// `/`: ``PathTrust``'s rule, as sshd's StrictModes),
/// `elf-header` (ELF magic, readable by libelf, headers, sections and segments
/// within the file), `shared-object` (`ET_DYN` without `PT_INTERP`),
/// `machine` (this machine's class, byte order and `e_machine`), `record`
/// (section `.fshost_plugin`, decoded), `abi-version`, `compiler-version`,
/// `type-name`, `role` (the record says resource type or companion, as the
/// caller asked; a companion's call signature), `entry-symbol` (the symbol
/// the record implies — `fshost_plugin_entry`, or a companion's
/// `fshost_companion_call` — defined, global or weak, a function, in `.dynsym`), `exec-stack` (`PT_GNU_STACK` without `PF_X`),
/// `text-relocations` (no `DT_TEXTREL`, no `DF_TEXTREL`) and
/// `needed-libraries` (every `DT_NEEDED` found where the loader would look;
/// a library reachable only through `$ORIGIN` is refused, see below; every
/// RPATH/RUNPATH entry absolute and trusted, and every library the loader
/// would load — not loaded in this process yet — and what it loads in turn
/// trusted where it resolves: ``NeededLibraryTrust``, PathTrust's rule).
///
/// The file is opened once and every check applies to that open file: the
/// owner and mode are the descriptor's (`fstat`), libelf reads the
/// descriptor, and the directories checked are those that really hold it
/// (the kernel's name for the descriptor, `/proc/self/fd/N`), each up to `/`
/// under the rule of ``PathTrust``. ``open(path:)`` hands the descriptor to
/// the loader, which loads `/proc/self/fd/N`: a file renamed over the path
/// after the checks is never loaded. For the same reason `$ORIGIN` in the
/// plugin's RUNPATH cannot find anything at load time (the loader expands it
/// to `/proc/self/fd`), and the `needed-libraries` check says so.
public struct PluginVerifier: Sendable {
    /// The type name the record must carry; nil: not compared.
    public let expectedTypeName: String?
    /// The compiler version the record must carry.
    public let compilerVersion: UInt32
    /// The ABI version the record must carry.
    public let abiVersion: UInt16
    /// The directory the file must resolve into; nil: the directory of the path as given.
    public let pluginDirectory: String?
    /// Owners (uids) the file and its directories may have (``PathTrust``'s
    /// list: no `Set` built on the action path).
    public let trust: PathTrust
    /// ``trust``'s owners as a set.
    public var trustedOwners: Set<UInt32> { trust.trustedOwners }
    /// The function the file must export.
    public let entrySymbol: String
    /// What the record must say the file is; nil: whatever it says, with
    /// the entry symbol its record names (`fshost check FILE`).
    public var expectedRole: PluginRole? = nil
    /// Where ``open(path:)`` remembers files that passed (the action path
    /// sets it); nil: every call verifies in full.
    public var cache: VerificationCache? = nil

    /// Makes a verifier.
    ///
    /// - Parameters:
    ///   - expectedTypeName: the type name the record must carry; nil to accept
    ///     any (valid) name, as `fshost check FILE` does.
    ///   - compilerVersion: the Swift compiler version (major·10000 + minor·100
    ///     + patch) the plugin must have been built with; the host's own by default.
    ///   - abiVersion: the plugin ABI version the record must carry.
    ///   - pluginDirectory: if set, the file must resolve (realpath of both) to
    ///     inside this directory; if nil, to inside the directory of the path
    ///     as given, so a symlink may not lead elsewhere either.
    ///   - trustedOwners: uids that may own the file and its directories:
    ///     root and the invoking user when nil (the default).
    ///   - entrySymbol: the function the file must export: a plugin's entry,
    ///     or the symbol the host will look up in a companion object.
    public init(expectedTypeName: String?,
                compilerVersion: UInt32 = hostCompilerVersion,
                abiVersion: UInt16 = UInt16(FSHOST_ABI_VERSION),
                pluginDirectory: String? = nil,
                trustedOwners: Set<UInt32>? = nil,
                entrySymbol: String = FSHOST_ENTRY_SYMBOL) {
        self.entrySymbol = entrySymbol
        self.expectedTypeName = expectedTypeName
        self.compilerVersion = compilerVersion
        self.abiVersion = abiVersion
        self.pluginDirectory = pluginDirectory
        trust = trustedOwners.map { PathTrust(trustedOwners: $0) } ?? PathTrust(owners: [0, getuid()])
    }

    /// Runs every check in order, stops at the first failure and throws it.
    /// Returns the plugin's record when every check passed. The file is
    /// closed again: to load it, use ``open(path:)``.
    public func verify(path: String) throws(PluginVerificationError) -> PluginRecord {
        let file = try open(path: path)
        file.close()
        return file.record
    }

    /// Opens the file once, runs every check on that descriptor (as
    /// ``verify(path:)``) and hands the descriptor over: load
    /// ``VerifiedPluginFile/loadPath`` and exactly the checked file is
    /// loaded, whatever is renamed over `path` meanwhile.
    ///
    /// - Throws: the first failed check; the descriptor is closed then.
    public func open(path: String) throws(PluginVerificationError) -> VerifiedPluginFile {
        var run = Run(stopAtFirstFailure: true)
        var opened: OpenedFile? = nil
        let record = evaluate(path: path, into: &run, opened: &opened)
        if let failed = run.checks.last(where: { !$0.passed }) {
            if let opened { close(opened.fd) }
            throw PluginVerificationError(check: failed.name, path: path, reason: failed.detail)
        }
        guard let record, let opened else {
            if let opened { close(opened.fd) }
            throw PluginVerificationError(check: "record", path: path, reason: "no plugin record was read")
        }
        if let cache, let key = opened.cacheKey, !opened.fromCache, let names = opened.names {
            cache.store(key, entry: VerificationCache.Entry(record: record, names: names), file: opened.identity)
        }
        return VerifiedPluginFile(path: path, resolvedPath: opened.resolvedPath, descriptor: opened.fd, record: record)
    }

    /// Runs every check it can, for `fshost check FILE`: returns all results
    /// in order. It stops after a failure that makes later checks meaningless
    /// (the file cannot be opened, is not ELF or is truncated, is not a shared
    /// object) and skips the record's fields when there is no record. `record`
    /// is the decoded record whenever it could be read, even if other checks failed.
    public func report(path: String) -> (checks: [PluginFileCheck], record: PluginRecord?) {
        var run = Run(stopAtFirstFailure: false)
        var opened: OpenedFile? = nil
        let record = evaluate(path: path, into: &run, opened: &opened)
        if let opened { close(opened.fd) }
        return (run.checks, record)
    }
}

/// The results gathered so far, and whether to stop at a failure.
struct Run {
    let stopAtFirstFailure: Bool
    var checks: [PluginFileCheck] = []

    init(stopAtFirstFailure: Bool) {
        self.stopAtFirstFailure = stopAtFirstFailure
        checks.reserveCapacity(16)
    }

    /// Records one result; true when the run must stop here. A run that
    /// stops at the first failure (loading a plugin: every action) keeps
    /// failures only, and never builds a passed check's text.
    mutating func add(_ name: String, _ passed: Bool, _ detail: @autoclosure () -> String) -> Bool {
        if passed && stopAtFirstFailure { return false }
        checks.append(PluginFileCheck(name: name, passed: passed, detail: detail()))
        return !passed && stopAtFirstFailure
    }
}

/// The file `evaluate` opened: the descriptor every check read, and where
/// the file really is (the kernel's name for that descriptor).
struct OpenedFile {
    let fd: Int32
    let resolvedPath: String
    /// `fstat` of `fd`: the identity a cache entry is keyed on.
    var identity = stat()
    /// The ``VerificationCache`` key of this file and check (nil: no cache).
    var cacheKey: String? = nil
    /// The ELF checks were skipped: the cache remembered this file.
    var fromCache = false
    /// The plugin's dynamic names, once read (what a cache entry keeps).
    var names: DynamicNames? = nil
}

extension PluginVerifier {
    /// Runs the checks into `run`; returns the decoded record if there is
    /// one. `opened` is set as soon as the file is open: the caller closes
    /// it, or keeps it to load exactly the file that was checked.
    func evaluate(path: String, into run: inout Run, opened: inout OpenedFile?) -> PluginRecord? {
        // ---- file: open once, a regular file. O_PATH resolves the path
        // (symlinks followed) without opening the file itself, so a FIFO
        // cannot block and a device cannot act; the descriptor for reading
        // is then opened from that very inode (/proc/self/fd/N of an O_PATH
        // descriptor names the file, not a path that could be renamed over).
        guard !path.isEmpty else { _ = run.add("file", false, "empty path"); return nil }
        let handle = openDescriptor(path, openPathOnly | O_CLOEXEC)
        guard handle >= 0 else {
            _ = run.add("file", false, "cannot open \(path): \(errnoString())")
            return nil
        }
        defer { close(handle) }
        var st = stat()
        guard fstat(handle, &st) == 0 else {
            _ = run.add("file", false, "cannot stat \(path): \(errnoString())")
            return nil
        }
        let real = descriptorPath(handle) ?? path
        guard st.st_mode & mode_t(S_IFMT) == mode_t(S_IFREG) else {
            _ = run.add("file", false, "\(real) is \(fileKind(st.st_mode)), not a regular file")
            return nil
        }
        let fd = openDescriptor(procDescriptorPath(handle), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            _ = run.add("file", false, "cannot open \(real): \(errnoString())")
            return nil
        }
        opened = OpenedFile(fd: fd, resolvedPath: real)
        var reopened = stat()
        guard fstat(fd, &reopened) == 0, reopened.st_dev == st.st_dev, reopened.st_ino == st.st_ino else {
            _ = run.add("file", false, "\(real) changed while it was being opened")
            return nil
        }
        if run.add("file", true, "regular file, \(st.st_size) bytes" + (real == path ? "" : ", resolves to \(real)")) { return nil }

        // ---- symlink: the opened file lies inside the plugin directory.
        let directoryGiven = pluginDirectory ?? parentDirectory(of: path)
        let directoryReal = realPath(directoryGiven)
        var isLink = false
        var lst = stat()
        if lstat(path, &lst) == 0 { isLink = lst.st_mode & mode_t(S_IFMT) == mode_t(S_IFLNK) }
        if let directoryReal {
            let inside = isInside(real, directory: directoryReal)
            func detail() -> String {
                let what = isLink ? "symlink to \(real)" : (real == path ? "not a symlink" : "resolves to \(real)")
                return inside ? "\(what), inside \(directoryReal)" : "\(what), outside the plugin directory \(directoryReal)"
            }
            if run.add("symlink", inside, detail()) { return nil }
        } else {
            if run.add("symlink", false, "plugin directory \(directoryGiven) does not resolve: \(errnoString())") { return nil }
        }

        // ---- owner and permissions of the open file.
        if trust.trusts(st.st_uid) {
            if run.add("owner", true, "owned by uid \(st.st_uid)") { return nil }
        } else {
            let owners = trust.owners.map(String.init).joined(separator: ", ")
            if run.add("owner", false, "owned by uid \(st.st_uid), not a trusted owner (uid \(owners))") { return nil }
        }
        if let problem = writableByOthers(st.st_mode) {
            if run.add("permissions", false, problem) { return nil }
        } else {
            if run.add("permissions", true, "mode \(octalMode(st.st_mode))") { return nil }
        }

        // ---- the directory that really holds the opened file, and every one above it up to /.
        let holder = parentDirectory(of: real)
        if let violation = trust.checkDirectory(holder) {
            if run.add("directory-permissions", false, violation.description) { return nil }
        } else {
            if run.add("directory-permissions", true, "\(holder) and every directory above it: trusted owners, not writable by others (sticky ancestors allowed)") { return nil }
        }

        // ---- a file verified before, unchanged since (same identity, same
        // checks asked for): its record, without reading it again.
        if let cache, run.stopAtFirstFailure {
            let key = cache.key(file: reopened, resolvedPath: real, verifier: self)
            opened?.identity = reopened
            opened?.cacheKey = key
            if let entry = cache.lookup(key), let record = entry.record {
                opened?.fromCache = true
                _ = run.add("cache", true, "verified before, unchanged since (\(cache.directory))")
                // What the plugin loads along with it lies in other files:
                // judged again, as on a miss (the entry's names stand in
                // for the dynamic section; machine was checked on store).
                _ = run.add(neededLibrariesCheck(entry.names, elfClass: Self.hostClass, dataEncoding: Self.hostData,
                                                 machine: Self.hostMachine, origin: parentDirectory(of: real), detailed: false))
                return record
            }
        }

        // ---- ELF: magic, libelf, bounds.
        let image: ELFImage
        do throws(CheckFailure) {
            image = try ELFImage.open(fd: fd, fileSize: UInt64(st.st_size))
        } catch {
            _ = run.add("elf-header", false, error.reason)
            return nil
        }
        if run.add("elf-header", true, "ELF, \(image.programHeaders.count) segments, \(image.sectionCount) sections, all within \(image.fileSize) bytes") { return nil }

        // ---- shared-object: ET_DYN and no program interpreter.
        let type = image.header.e_type
        if type == UInt16(ET_DYN) {
            if let interp = image.programHeader(ofType: UInt32(PT_INTERP)) {
                let interpreter = image.string(offset: interp.p_offset, size: interp.p_filesz) ?? "?"
                _ = run.add("shared-object", false, "an executable (position-independent, ET_DYN with interpreter \(interpreter)), not a shared object")
                return nil
            }
            if run.add("shared-object", true, "ET_DYN, no program interpreter") { return nil }
        } else {
            let what = type == UInt16(ET_EXEC) ? "an executable (ET_EXEC)"
                : type == UInt16(ET_REL) ? "a relocatable object (ET_REL)"
                : type == UInt16(ET_CORE) ? "a core dump (ET_CORE)" : "an ELF file of type \(elfTypeName(type))"
            _ = run.add("shared-object", false, "\(what), not a shared object")
            return nil
        }

        // ---- machine: class, byte order, e_machine.
        if run.add(machineCheck(image)) { return nil }

        // ---- record and its fields.
        var record: PluginRecord? = nil
        switch readRecord(image) {
        case .failure(let failure):
            if run.add("record", false, failure.reason) { return nil }
        case .success(let decoded):
            record = decoded
            if run.add("record", true, "type \(decoded.typeName), ABI \(decoded.abiVersion), Swift \(compilerVersionString(decoded.compilerVersion)) (in \(FSHOST_RECORD_SECTION))") { return record }
            if run.add(decoded.abiVersion == abiVersion ? PluginFileCheck(name: "abi-version", passed: true, detail: "ABI \(decoded.abiVersion)")
                : PluginFileCheck(name: "abi-version", passed: false, detail: "plugin ABI version \(decoded.abiVersion), this fshost speaks ABI \(abiVersion)")) { return record }
            if run.add(decoded.compilerVersion == compilerVersion
                ? PluginFileCheck(name: "compiler-version", passed: true, detail: "Swift \(compilerVersionString(decoded.compilerVersion))")
                : PluginFileCheck(name: "compiler-version", passed: false, detail: "built by Swift \(compilerVersionString(decoded.compilerVersion)), this fshost by Swift \(compilerVersionString(compilerVersion))")) { return record }
            if run.add(typeNameCheck(decoded.typeName)) { return record }
            if run.add(roleCheck(decoded)) { return record }
        }

        // ---- entry symbol, stack, text relocations, needed libraries.
        if run.add(entrySymbolCheck(image, record: record)) { return record }
        if run.add(execStackCheck(image)) { return record }
        let dynamic: [GElf_Dyn]?
        do throws(CheckFailure) {
            dynamic = try image.dynamicEntries()
        } catch {
            _ = run.add("text-relocations", false, error.reason)
            return record
        }
        if run.add(textRelocationCheck(dynamic)) { return record }
        switch DynamicNames.read(image, dynamic ?? []) {
        case .failure(let failure):
            _ = run.add("needed-libraries", false, failure.reason)
        case .success(let names):
            opened?.names = names
            _ = run.add(neededLibrariesCheck(names, elfClass: image.elfClass, dataEncoding: image.dataEncoding,
                                             machine: image.header.e_machine, origin: parentDirectory(of: real),
                                             detailed: !run.stopAtFirstFailure))
        }
        return record
    }

    #if arch(x86_64)
    static let hostMachine = UInt16(EM_X86_64)
    #elseif arch(arm64)
    static let hostMachine = UInt16(EM_AARCH64)
    #else
    #error("ELFCheck: add this architecture's e_machine")
    #endif
    static let hostClass = UInt8(MemoryLayout<Int>.size == 8 ? ELFCLASS64 : ELFCLASS32)
    static let hostData = UInt8(ELFDATA2LSB)  // both supported architectures are little-endian

    private func machineCheck(_ image: ELFImage) -> PluginFileCheck {
        let hostMachine = Self.hostMachine, hostClass = Self.hostClass, hostData = Self.hostData
        func className(_ c: UInt8) -> String {
            c == UInt8(ELFCLASS64) ? "ELFCLASS64" : c == UInt8(ELFCLASS32) ? "ELFCLASS32" : "EI_CLASS \(c)"
        }
        func dataName(_ d: UInt8) -> String {
            d == UInt8(ELFDATA2LSB) ? "little-endian" : d == UInt8(ELFDATA2MSB) ? "big-endian" : "EI_DATA \(d)"
        }
        let machine = image.header.e_machine
        if image.elfClass != hostClass {
            return PluginFileCheck(name: "machine", passed: false, detail: "\(className(image.elfClass)) (\(machineName(machine))), this machine needs \(className(hostClass))")
        }
        if image.dataEncoding != hostData {
            return PluginFileCheck(name: "machine", passed: false, detail: "\(dataName(image.dataEncoding)) (\(machineName(machine))), this machine is \(dataName(hostData))")
        }
        if machine != hostMachine {
            return PluginFileCheck(name: "machine", passed: false, detail: "built for \(machineName(machine)) (e_machine \(machine)), this machine is \(machineName(hostMachine))")
        }
        return PluginFileCheck(name: "machine", passed: true, detail: "\(className(image.elfClass)), \(dataName(image.dataEncoding)), \(machineName(machine))")
    }

    private func readRecord(_ image: ELFImage) -> Result<PluginRecord, CheckFailure> {
        let name = FSHOST_RECORD_SECTION
        let found = image.sections(named: name)
        guard let scn = found.first else {
            return .failure(CheckFailure("no section \(name): not an fshost plugin (or built without the SDK's record)"))
        }
        guard found.count == 1 else { return .failure(CheckFailure("\(found.count) sections named \(name), expected one")) }
        var sh = GElf_Shdr()
        guard lazy_gelf_getshdr(scn, &sh) != nil else { return .failure(CheckFailure("section \(name) unreadable: \(libelfError())")) }
        guard sh.sh_type != UInt32(SHT_NOBITS) else { return .failure(CheckFailure("section \(name) has no contents in the file (SHT_NOBITS)")) }
        guard sh.sh_size >= UInt64(PluginRecord.size) else {
            return .failure(CheckFailure("section \(name) is \(sh.sh_size) bytes, a record is \(PluginRecord.size)"))
        }
        guard let data = lazy_elf_rawdata(scn, nil), let buffer = data.pointee.d_buf, data.pointee.d_size >= PluginRecord.size else {
            return .failure(CheckFailure("section \(name) unreadable: \(libelfError())"))
        }
        // A record grows by appending: read the fields the section holds.
        let count = min(data.pointee.d_size, PluginRecord.extendedSize)
        do throws(PluginRecord.DecodingError) {
            return .success(try PluginRecord(bytes: UnsafeRawBufferPointer(start: buffer, count: count)))
        } catch {
            return .failure(CheckFailure("section \(name): \(error.description)"))
        }
    }

    /// The record's kind (resource type or companion) and a companion's
    /// call signature against what the caller asked for.
    private func roleCheck(_ record: PluginRecord) -> PluginFileCheck {
        let what = record.isCompanion ? "companion, call \(record.signature.isEmpty ? "(none)" : record.signature)"
            : "resource type" + (record.calls.isEmpty ? "" : ", calls \(record.calls.joined(separator: ", "))")
        let testOnly = record.isTestOnly ? ", test-only" : ""
        switch expectedRole {
        case nil:
            return PluginFileCheck(name: "role", passed: true, detail: what + testOnly)
        case .resourceType?:
            guard !record.isCompanion else {
                return PluginFileCheck(name: "role", passed: false, detail: "'\(record.typeName)' is a companion object (loaded by its plugin for one call), not a resource type")
            }
            return PluginFileCheck(name: "role", passed: true, detail: what + testOnly)
        case .companion(let signature)?:
            guard record.isCompanion else {
                return PluginFileCheck(name: "role", passed: false, detail: "record says resource type '\(record.typeName)', the plugin asks for a companion with call \(signature)")
            }
            guard record.signature == signature else {
                return PluginFileCheck(name: "role", passed: false, detail: "companion '\(record.typeName)' answers call \(record.signature.isEmpty ? "(no signature)" : record.signature), the plugin asks for \(signature)")
            }
            return PluginFileCheck(name: "role", passed: true, detail: what + testOnly)
        }
    }

    private func typeNameCheck(_ typeName: String) -> PluginFileCheck {
        guard PluginRecord.isValidTypeName(typeName) else {
            var shown = ""
            for scalar in typeName.unicodeScalars { shown += scalar.escaped(asASCII: true) }
            return PluginFileCheck(name: "type-name", passed: false, detail: "record names type '\(shown)', not a valid type name (1-31 of a-z 0-9 _ -, starting with a letter)")
        }
        guard let expected = expectedTypeName else {
            return PluginFileCheck(name: "type-name", passed: true, detail: "\(typeName) (not compared)")
        }
        guard typeName == expected else {
            return PluginFileCheck(name: "type-name", passed: false, detail: "record names type '\(typeName)', expected '\(expected)'")
        }
        return PluginFileCheck(name: "type-name", passed: true, detail: typeName)
    }

    private func entrySymbolCheck(_ image: ELFImage, record: PluginRecord?) -> PluginFileCheck {
        // An explicit symbol (a legacy companion's function) wins; else the
        // one the record's kind implies, so a record that disagrees with the
        // file's symbols is refused here, before anything of it runs.
        let name = entrySymbol != FSHOST_ENTRY_SYMBOL ? entrySymbol : (record?.entrySymbol ?? entrySymbol)
        let said = record.map { " (its record says \($0.isCompanion ? "companion" : "resource type") '\($0.typeName)', which exports \(name))" } ?? ""
        func fail(_ why: String) -> PluginFileCheck { PluginFileCheck(name: "entry-symbol", passed: false, detail: why + said) }
        guard let dynsym = image.section(ofType: UInt32(SHT_DYNSYM)) else {
            return fail("\(name) not exported: the file has no dynamic symbol table (.dynsym)")
        }
        var sym = GElf_Sym()
        let index = celf_find_symbol(image.elf, dynsym, name, &sym)
        guard index >= 0 else { return fail("dynamic symbol table unreadable: \(libelfError())") }
        guard index > 0 else { return fail("\(name) is not exported (not in .dynsym)") }
        let type = celf_st_type(sym.st_info), bind = celf_st_bind(sym.st_info), visibility = celf_st_visibility(sym.st_other)
        let typeText: String = switch Int32(type) {
            case STT_FUNC: "FUNC"
            case STT_OBJECT: "OBJECT"
            case STT_NOTYPE: "NOTYPE"
            case STT_GNU_IFUNC: "GNU_IFUNC"
            case STT_TLS: "TLS"
            default: "type \(type)"
        }
        let bindText: String = switch Int32(bind) {
            case STB_GLOBAL: "GLOBAL"
            case STB_WEAK: "WEAK"
            case STB_LOCAL: "LOCAL"
            case STB_GNU_UNIQUE: "GNU_UNIQUE"
            default: "binding \(bind)"
        }
        let visibilityText: String = switch Int32(visibility) {
            case STV_DEFAULT: "DEFAULT"
            case STV_PROTECTED: "PROTECTED"
            case STV_HIDDEN: "HIDDEN"
            default: "INTERNAL"
        }
        guard sym.st_shndx != UInt16(SHN_UNDEF) else { return fail("\(name) is undefined here (imported, not defined by this file)") }
        guard bind == UInt8(STB_GLOBAL) || bind == UInt8(STB_WEAK) else { return fail("\(name) is \(bindText), expected GLOBAL or WEAK") }
        guard type == UInt8(STT_FUNC) else { return fail("\(name) is \(typeText), expected FUNC") }
        guard visibility == UInt8(STV_DEFAULT) || visibility == UInt8(STV_PROTECTED) else {
            return fail("\(name) is \(visibilityText), not visible to dlsym")
        }
        return PluginFileCheck(name: "entry-symbol", passed: true, detail: "\(name): \(typeText) \(bindText) \(visibilityText)")
    }

    private func execStackCheck(_ image: ELFImage) -> PluginFileCheck {
        guard let stack = image.programHeader(ofType: UInt32(PT_GNU_STACK)) else {
            #if arch(x86_64)
            return PluginFileCheck(name: "exec-stack", passed: false, detail: "no PT_GNU_STACK: the loader would make the stack executable")
            #else
            return PluginFileCheck(name: "exec-stack", passed: true, detail: "no PT_GNU_STACK (the stack stays non-executable on this architecture)")
            #endif
        }
        if stack.p_flags & UInt32(PF_X) != 0 {
            return PluginFileCheck(name: "exec-stack", passed: false, detail: "executable stack requested (PT_GNU_STACK has PF_X)")
        }
        return PluginFileCheck(name: "exec-stack", passed: true, detail: "PT_GNU_STACK without PF_X")
    }

    private func textRelocationCheck(_ dynamic: [GElf_Dyn]?) -> PluginFileCheck {
        guard let dynamic else { return PluginFileCheck(name: "text-relocations", passed: true, detail: "no dynamic segment") }
        if dynamic.contains(where: { $0.d_tag == Int64(DT_TEXTREL) }) {
            return PluginFileCheck(name: "text-relocations", passed: false, detail: "text relocations (DT_TEXTREL): code would be patched writable at load")
        }
        if dynamic.contains(where: { $0.d_tag == Int64(DT_FLAGS) && $0.d_un.d_val & UInt64(DF_TEXTREL) != 0 }) {
            return PluginFileCheck(name: "text-relocations", passed: false, detail: "text relocations (DF_TEXTREL in DT_FLAGS): code would be patched writable at load")
        }
        return PluginFileCheck(name: "text-relocations", passed: true, detail: "no DT_TEXTREL, no DF_TEXTREL")
    }

    /// `needed-libraries` for the object whose dynamic names are `names`
    /// (read from its dynamic section, or remembered by the cache).
    /// `detailed`: false when only a failure is kept (the action path):
    /// a pass then costs no text.
    private func neededLibrariesCheck(_ names: DynamicNames, elfClass: UInt8, dataEncoding: UInt8, machine: UInt16,
                                      origin: String, detailed: Bool) -> PluginFileCheck {
        func fail(_ why: String) -> PluginFileCheck { PluginFileCheck(name: "needed-libraries", passed: false, detail: why) }
        // The action path (not `fshost check`) remembers each library's names.
        let trust = NeededLibraryTrust(trust: self.trust, elfClass: elfClass,
                                       dataEncoding: dataEncoding, machine: machine, cache: detailed ? nil : cache)
        if let problem = trust.checkSearchPath(names, object: nil) { return fail(problem) }
        guard !names.needed.isEmpty else { return PluginFileCheck(name: "needed-libraries", passed: true, detail: "no DT_NEEDED") }
        var search = LibrarySearch(origin: origin, rpath: names.rpath, runpath: names.runpath, elfClass: elfClass,
                                   dataEncoding: dataEncoding, machine: machine, memo: trust.memo)
        var found: [String] = [], missing: [String] = []
        var toLoad: [(name: String, path: String)] = []
        for name in names.needed {
            if let path = search.resolve(name) {
                if detailed { found.append("\(name) (\(parentDirectory(of: path)))") }
                if !LoadedObjects.isLoaded(name) { toLoad.append((name, path)) }
            } else {
                missing.append(name)
            }
        }
        if let name = missing.first(where: { search.onlyThroughOrigin[$0] != nil }), let path = search.onlyThroughOrigin[name] {
            return fail("\(name) is only in \(parentDirectory(of: path)), reached through $ORIGIN, which the loader cannot use: fshost loads a plugin through its verified descriptor (/proc/self/fd/N, so $ORIGIN is /proc/self/fd); install \(name) in a system directory or link it statically")
        }
        guard missing.isEmpty else {
            return fail("\(missing.joined(separator: ", ")) not found (searched \(search.searchedDescription))")
        }
        if let problem = trust.checkClosure(toLoad) { return fail(problem) }
        guard detailed else { return PluginFileCheck(name: "needed-libraries", passed: true, detail: "") }
        let loadedNote = toLoad.isEmpty ? "" : "; \(toLoad.count) to load, each with what it loads trusted where it resolves"
        return PluginFileCheck(name: "needed-libraries", passed: true, detail: "\(names.needed.count) found: " + found.joined(separator: ", ") + loadedNote)
    }
}

extension Run {
    /// Records one result; true when the run must stop here.
    mutating func add(_ check: PluginFileCheck) -> Bool { add(check.name, check.passed, check.detail) }
}
