// Read-only view of an ELF file through libelf: headers, sections, segments,
// the dynamic array. Nothing here maps the file executable or runs any of it.
import CElf
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// libelf refuses to work until the version handshake ran (once per process).
let libelfReady: Bool = lazy_elf_version(UInt32(EV_CURRENT)) != UInt32(EV_NONE)

/// libelf's message for its last error.
func libelfError() -> String {
    guard let message = lazy_elf_errmsg(-1) else { return "unknown libelf error" }
    return String(cString: message)
}

/// `end = offset + length`, nil on overflow.
@inline(__always)
func rangeEnd(_ offset: UInt64, _ length: UInt64) -> UInt64? {
    let (end, overflow) = offset.addingReportingOverflow(length)
    return overflow ? nil : end
}

/// Name of an `e_machine` value for messages.
func machineName(_ machine: UInt16) -> String {
    switch Int32(machine) {
    case EM_X86_64: return "x86-64"
    case EM_AARCH64: return "AArch64"
    case EM_386: return "i386"
    case EM_ARM: return "ARM"
    case EM_RISCV: return "RISC-V"
    case EM_PPC64: return "PowerPC64"
    case EM_PPC: return "PowerPC"
    case EM_S390: return "S/390"
    case EM_MIPS: return "MIPS"
    case EM_SPARCV9: return "SPARC V9"
    case 258: return "LoongArch"  // EM_LOONGARCH, absent from older <elf.h>
    default: return "e_machine \(machine)"
    }
}

/// Name of an `e_type` value for messages.
func elfTypeName(_ type: UInt16) -> String {
    switch Int32(type) {
    case ET_NONE: return "ET_NONE"
    case ET_REL: return "ET_REL"
    case ET_EXEC: return "ET_EXEC"
    case ET_DYN: return "ET_DYN"
    case ET_CORE: return "ET_CORE"
    default: return "e_type \(type)"
    }
}

/// One opened ELF file. Owns the libelf descriptor; the caller owns the fd.
final class ELFImage {
    let elf: OpaquePointer
    let fileSize: UInt64
    let header: GElf_Ehdr
    /// `e_ident[EI_CLASS]`, `e_ident[EI_DATA]`.
    let elfClass: UInt8
    let dataEncoding: UInt8
    private(set) var programHeaders: [GElf_Phdr] = []
    private(set) var sectionCount = 0
    private(set) var sectionNameIndex = 0

    private init(elf: OpaquePointer, fileSize: UInt64, header: GElf_Ehdr) {
        self.elf = elf
        self.fileSize = fileSize
        self.header = header
        let ident = withUnsafeBytes(of: header.e_ident) { Array($0) }
        elfClass = ident[Int(EI_CLASS)]
        dataEncoding = ident[Int(EI_DATA)]
    }

    deinit { lazy_elf_end(elf) }

    /// Opens the ELF file behind `fd` (of `fileSize` bytes) and checks that its
    /// headers, sections and segments all lie within the file.
    static func open(fd: Int32, fileSize: UInt64) throws(CheckFailure) -> ELFImage {
        let magic = readBytes(fd, count: 4)
        guard magic == [0x7f, 0x45, 0x4c, 0x46] else {
            if magic.isEmpty { throw CheckFailure("not an ELF file (empty)") }
            let hex = magic.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: " ")
            throw CheckFailure("not an ELF file (starts with \(hex), ELF starts with 7f 45 4c 46)")
        }
        guard libelfReady else { throw CheckFailure("libelf: version handshake failed: \(libelfError())") }
        guard let elf = celf_begin_read(fd) else { throw CheckFailure("libelf cannot read it: \(libelfError())") }
        guard lazy_elf_kind(elf) == ELF_K_ELF else {
            lazy_elf_end(elf)
            throw CheckFailure("not an ELF object (libelf: \(libelfError()))")
        }
        var header = GElf_Ehdr()
        guard lazy_gelf_getehdr(elf, &header) != nil else {
            let reason = libelfError()
            lazy_elf_end(elf)
            throw CheckFailure("truncated or invalid ELF header (\(fileSize) bytes; libelf: \(reason))")
        }
        let image = ELFImage(elf: elf, fileSize: fileSize, header: header)
        try image.checkBounds()
        return image
    }

    private func truncated(_ what: String, endsAt end: UInt64?) -> CheckFailure {
        if let end { return CheckFailure("truncated: \(what) ends at byte \(end), the file has \(fileSize) bytes") }
        return CheckFailure("corrupt: \(what) lies beyond any possible file size")
    }

    private func checkBounds() throws(CheckFailure) {
        let headerSize: UInt64 = elfClass == UInt8(ELFCLASS64) ? 64 : 52
        guard fileSize >= headerSize else { throw truncated("the ELF header", endsAt: headerSize) }

        // The header's own numbers first: libelf quietly drops a section
        // header table that lies beyond the end of the file.
        func tableEnd(_ offset: UInt64, _ count: UInt64, _ entrySize: UInt16) -> UInt64? {
            let (size, overflow) = UInt64(entrySize).multipliedReportingOverflow(by: count)
            return overflow ? nil : rangeEnd(offset, size)
        }
        if header.e_phoff != 0 || header.e_phnum != 0 {
            let end = tableEnd(header.e_phoff, UInt64(max(header.e_phnum, 1)), header.e_phentsize)
            guard let end, end <= fileSize else { throw truncated("the program header table", endsAt: end) }
        }
        if header.e_shoff != 0 {
            let end = tableEnd(header.e_shoff, UInt64(max(header.e_shnum, 1)), header.e_shentsize)
            guard let end, end <= fileSize else { throw truncated("the section header table", endsAt: end) }
        }

        var count = 0
        guard lazy_elf_getphdrnum(elf, &count) == 0 else { throw CheckFailure("program headers unreadable: \(libelfError())") }
        if count > 0 {
            let (size, overflow) = UInt64(header.e_phentsize).multipliedReportingOverflow(by: UInt64(count))
            let end = overflow ? nil : rangeEnd(header.e_phoff, size)
            guard let end, end <= fileSize else { throw truncated("the program header table", endsAt: end) }
        }
        programHeaders.reserveCapacity(count)
        for i in 0..<count {
            var ph = GElf_Phdr()
            guard lazy_gelf_getphdr(elf, Int32(i), &ph) != nil else {
                throw CheckFailure("program header \(i) unreadable: \(libelfError())")
            }
            let end = rangeEnd(ph.p_offset, ph.p_filesz)
            guard let end, end <= fileSize else { throw truncated("segment \(i) (type 0x\(String(ph.p_type, radix: 16)))", endsAt: end) }
            programHeaders.append(ph)
        }

        guard lazy_elf_getshdrnum(elf, &sectionCount) == 0 else { throw CheckFailure("section headers unreadable: \(libelfError())") }
        if header.e_shoff != 0, sectionCount == 0 {
            throw CheckFailure("section header table at byte \(header.e_shoff) unreadable: \(libelfError())")
        }
        if sectionCount > 0 {
            let (size, overflow) = UInt64(header.e_shentsize).multipliedReportingOverflow(by: UInt64(sectionCount))
            let end = overflow ? nil : rangeEnd(header.e_shoff, size)
            guard let end, end <= fileSize else { throw truncated("the section header table", endsAt: end) }
            guard lazy_elf_getshdrstrndx(elf, &sectionNameIndex) == 0 else {
                throw CheckFailure("section name table unreadable: \(libelfError())")
            }
        }
        for i in 1..<max(1, sectionCount) {
            var sh = GElf_Shdr()
            guard let scn = lazy_elf_getscn(elf, i), lazy_gelf_getshdr(scn, &sh) != nil else {
                throw CheckFailure("section header \(i) unreadable: \(libelfError())")
            }
            if sh.sh_type == UInt32(SHT_NOBITS) { continue }
            let end = rangeEnd(sh.sh_offset, sh.sh_size)
            guard let end, end <= fileSize else { throw truncated("section \(i) (\(sectionName(sh) ?? "?"))", endsAt: end) }
        }
    }

    /// The name of a section, from the section name string table.
    func sectionName(_ sh: GElf_Shdr) -> String? {
        guard let name = lazy_elf_strptr(elf, sectionNameIndex, Int(sh.sh_name)) else { return nil }
        return String(cString: name)
    }

    /// Every section called `name` (a well-formed file has at most one).
    func sections(named name: String) -> [OpaquePointer] {
        var found: [OpaquePointer] = []
        for i in 1..<max(1, sectionCount) {
            var sh = GElf_Shdr()
            guard let scn = lazy_elf_getscn(elf, i), lazy_gelf_getshdr(scn, &sh) != nil,
                  let candidate = lazy_elf_strptr(elf, sectionNameIndex, Int(sh.sh_name)),
                  strcmp(candidate, name) == 0 else { continue }
            found.append(scn)
        }
        return found
    }

    /// The first section of type `type` (e.g. `SHT_DYNSYM`).
    func section(ofType type: UInt32) -> OpaquePointer? {
        for i in 1..<max(1, sectionCount) {
            var sh = GElf_Shdr()
            if let scn = lazy_elf_getscn(elf, i), lazy_gelf_getshdr(scn, &sh) != nil, sh.sh_type == type { return scn }
        }
        return nil
    }

    /// The first program header of type `type` (e.g. `PT_GNU_STACK`).
    func programHeader(ofType type: UInt32) -> GElf_Phdr? {
        programHeaders.first { $0.p_type == type }
    }

    /// Bytes `offset..<offset+size` of the file, through libelf (freed with the image).
    func chunk(offset: UInt64, size: UInt64, type: Elf_Type = ELF_T_BYTE) -> UnsafeMutablePointer<Elf_Data>? {
        guard let end = rangeEnd(offset, size), end <= fileSize, offset <= UInt64(Int64.max) else { return nil }
        return lazy_elf_getdata_rawchunk(elf, Int64(offset), Int(size), type)
    }

    /// The NUL-terminated string at the start of a file range (e.g. `PT_INTERP`).
    func string(offset: UInt64, size: UInt64) -> String? {
        guard size > 0, let data = chunk(offset: offset, size: size), let buffer = data.pointee.d_buf else { return nil }
        let bytes = UnsafeRawBufferPointer(start: buffer, count: data.pointee.d_size)
        let end = bytes.firstIndex(of: 0) ?? bytes.count
        return String(decoding: bytes[..<end], as: UTF8.self)
    }

    /// The file offset of a virtual address, through the `PT_LOAD` segments.
    func fileOffset(ofAddress address: UInt64) -> UInt64? {
        for ph in programHeaders where ph.p_type == UInt32(PT_LOAD) {
            if address >= ph.p_vaddr, address - ph.p_vaddr < ph.p_filesz { return address - ph.p_vaddr + ph.p_offset }
        }
        return nil
    }

    /// The dynamic array as the loader sees it (`PT_DYNAMIC`), up to `DT_NULL`;
    /// nil when there is no `PT_DYNAMIC`; throws when it cannot be read.
    func dynamicEntries() throws(CheckFailure) -> [GElf_Dyn]? {
        guard let ph = programHeader(ofType: UInt32(PT_DYNAMIC)) else { return nil }
        guard ph.p_filesz > 0 else { return [] }
        guard let data = chunk(offset: ph.p_offset, size: ph.p_filesz, type: ELF_T_DYN) else {
            throw CheckFailure("dynamic segment unreadable: \(libelfError())")
        }
        let entrySize = lazy_gelf_fsize(elf, ELF_T_DYN, 1, UInt32(EV_CURRENT))
        guard entrySize > 0 else { throw CheckFailure("dynamic segment unreadable: \(libelfError())") }
        var entries: [GElf_Dyn] = []
        for i in 0..<(Int(ph.p_filesz) / entrySize) {
            var dyn = GElf_Dyn()
            guard lazy_gelf_getdyn(data, Int32(i), &dyn) != nil else { throw CheckFailure("dynamic entry \(i) unreadable: \(libelfError())") }
            if dyn.d_tag == Int64(DT_NULL) { break }
            entries.append(dyn)
        }
        return entries
    }
}
