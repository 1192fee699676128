import ELFCheck
import Foundation
import PluginRecord
import TestSupport
import XCTest

/// Pre-load verification of plugin files: the real `libtemplate.so` built by
/// SwiftPM, and bad variants derived from it or built with `cc`.
final class ELFCheckTests: XCTestCase {
    /// A fresh 0755 directory per test, removed afterwards.
    var directory = ""

    override func setUpWithError() throws {
        directory = try ELFFixtures.makeTemporaryDirectory(prefix: "elfcheck")
    }

    override func tearDown() {
        if !directory.isEmpty {
            // Restore permissions first so the tree can be removed.
            _ = try? ELFFixtures.run("/bin/chmod", ["-R", "u+rwX", directory])
            ELFFixtures.remove(directory)
        }
    }

    // MARK: - Fixtures

    /// `libtemplate.so` from the products directory, copied into `dir` (mode 0755).
    func templateCopy(named name: String = "template.so", in dir: String? = nil) throws -> String {
        guard let built = ELFFixtures.product("libtemplate.so") else {
            XCTFail("libtemplate.so not found in \(ELFFixtures.productsDirectory): build with `swift build --build-tests` first")
            throw ELFFixtures.FixtureError("libtemplate.so not built")
        }
        let destination = (dir ?? directory) + "/" + name
        try ELFFixtures.copy(built, to: destination)
        return destination
    }

    /// The C compiler, or a set-up failure naming why the test cannot run.
    func cc() throws -> String {
        guard let compiler = ELFFixtures.cCompiler else {
            throw SetupFailure("no C compiler (cc, gcc or clang) in PATH: this test builds its fixture with one")
        }
        return compiler
    }

    enum Entry { case function, object, none }

    /// A C shared object: optional record (from `PluginRecord.bytes`), entry
    /// symbol, constructor that writes `marker`, extra source and flags.
    func cPlugin(_ name: String, record: PluginRecord? = PluginRecord(abiVersion: 1, compilerVersion: compilerVersion, typeName: "cplugin"),
                 recordBytes: [UInt8]? = nil, entry: Entry = .function, marker: String? = nil,
                 extraSource: String = "", flags: [String] = [], in dir: String? = nil) throws -> String {
        let compiler = try cc()
        var source = "#include <fcntl.h>\n#include <unistd.h>\n"
        source += "typedef struct { const void *plugin; } fshost_entry;\n"
        if let bytes = recordBytes ?? record?.bytes {
            source += "__attribute__((section(\".fshost_plugin\"), used, aligned(4)))\n"
            source += "static const unsigned char fshost_record[\(bytes.count)] = \(ELFFixtures.cArray(bytes));\n"
        }
        switch entry {
        case .function: source += "fshost_entry fshost_plugin_entry(void) { fshost_entry e = { 0 }; return e; }\n"
        case .object: source += "const fshost_entry fshost_plugin_entry = { 0 };\n"
        case .none: source += "int not_the_entry(void) { return 1; }\n"
        }
        if let marker {
            source += """
            __attribute__((constructor)) static void fixture_constructor(void) {
                int fd = open("\(marker)", O_WRONLY | O_CREAT | O_TRUNC, 0644);
                if (fd >= 0) { (void)!write(fd, "ran\\n", 4); close(fd); }
            }

            """
        }
        source += extraSource
        let output = (dir ?? directory) + "/" + name
        try ELFFixtures.compileC(source, compiler: compiler, flags: ["-shared", "-fPIC", "-O1"] + flags,
                                 output: output, in: directory, name: name)
        try ELFFixtures.setMode(output, 0o755)
        return output
    }

    /// Expects `verify` to refuse `path` at `check` with a reason naming every one of `mentions`.
    func assertRefused(_ path: String, check: String, mentioning mentions: [String],
                       verifier: PluginVerifier = PluginVerifier(expectedTypeName: nil),
                       file: StaticString = #filePath, line: UInt = #line) {
        do {
            let record = try verifier.verify(path: path)
            XCTFail("\(path) was accepted (record \(record)), expected a refusal by \(check)", file: file, line: line)
        } catch {
            XCTAssertEqual(error.check, check, "wrong check refused it: \(error)", file: file, line: line)
            XCTAssertEqual(error.path, path, file: file, line: line)
            XCTAssertFalse(error.reason.contains("\n"), "reason must be one line: \(error.reason)", file: file, line: line)
            for word in mentions {
                XCTAssertTrue(error.reason.contains(word), "reason does not name '\(word)': \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.description, "\(path): \(check): \(error.reason)", file: file, line: line)
        }
    }

    /// Offset of the only plugin record ("FSHP" + record version 1) in a file.
    func recordOffset(in bytes: [UInt8]) throws -> Int {
        let found = ELFFixtures.offsets(of: [0x46, 0x53, 0x48, 0x50, 0x01, 0x00], in: bytes)
        XCTAssertEqual(found.count, 1, "expected exactly one plugin record in the file")
        guard let offset = found.first else { throw ELFFixtures.FixtureError("no record found") }
        return offset
    }

    /// A copy of libtemplate.so with `patch` applied to its bytes.
    func patchedTemplate(_ name: String, _ patch: (inout [UInt8]) throws -> Void) throws -> String {
        let path = try templateCopy(named: name)
        var bytes = try ELFFixtures.read(path)
        try patch(&bytes)
        try ELFFixtures.write(bytes, to: path)
        return path
    }

    static let allCheckNames = [
        "file", "symlink", "owner", "permissions", "directory-permissions", "elf-header", "shared-object",
        "machine", "record", "abi-version", "compiler-version", "type-name", "role", "entry-symbol", "exec-stack",
        "text-relocations", "needed-libraries",
    ]

    // MARK: - Accepted files

    func testTemplatePluginPassesEveryCheck() throws {
        let path = try templateCopy()
        let verifier = PluginVerifier(expectedTypeName: "template", pluginDirectory: directory)
        let record = try verifier.verify(path: path)
        XCTAssertEqual(record.typeName, "template")
        XCTAssertEqual(record.compilerVersion, compilerVersion)
        XCTAssertEqual(record.abiVersion, 1)

        let report = verifier.report(path: path)
        XCTAssertEqual(report.checks.map(\.name), Self.allCheckNames)
        for check in report.checks { XCTAssertTrue(check.passed, "\(check.name): \(check.detail)") }
        XCTAssertEqual(report.record, record)
        let needed = try XCTUnwrap(report.checks.first { $0.name == "needed-libraries" })
        XCTAssertTrue(needed.detail.contains("libswiftCore.so (/opt/swift/usr/lib/swift/linux)") || !FileManager.default.fileExists(atPath: "/opt/swift/usr/lib/swift/linux/libswiftCore.so"),
                      "libswiftCore.so should come from the plugin's RUNPATH: \(needed.detail)")
        for check in report.checks { print("  \(check.passed ? "ok  " : "FAIL") \(check.name): \(check.detail)") }
    }

    func testTemplatePluginInTheProductsDirectory() throws {
        let path = try XCTUnwrap(ELFFixtures.product("libtemplate.so"))
        let record = try PluginVerifier(expectedTypeName: "template").verify(path: path)
        XCTAssertEqual(record, PluginRecord(abiVersion: 1, compilerVersion: compilerVersion, typeName: "template"))
    }

    func testCPluginWithValidRecordPasses() throws {
        let path = try cPlugin("cplugin.so")
        let record = try PluginVerifier(expectedTypeName: "cplugin", pluginDirectory: directory).verify(path: path)
        XCTAssertEqual(record.typeName, "cplugin")
    }

    func testSymlinkInsideThePluginDirectoryIsAccepted() throws {
        try FileManager.default.createDirectory(atPath: directory + "/versions", withIntermediateDirectories: false)
        try ELFFixtures.setMode(directory + "/versions", 0o755)
        let real = try templateCopy(named: "template-1.2.so", in: directory + "/versions")
        let link = directory + "/template.so"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "versions/template-1.2.so")
        let verifier = PluginVerifier(expectedTypeName: "template", pluginDirectory: directory)
        XCTAssertEqual(try verifier.verify(path: link).typeName, "template")
        let symlink = try XCTUnwrap(verifier.report(path: link).checks.first { $0.name == "symlink" })
        XCTAssertTrue(symlink.detail.contains("symlink to \(real)"), symlink.detail)
    }

    // MARK: - Not a plugin file

    func testMissingFileIsRefused() {
        assertRefused(directory + "/absent.so", check: "file", mentioning: ["No such file"])
    }

    func testDirectoryAndFIFOAreRefused() throws {
        try FileManager.default.createDirectory(atPath: directory + "/dir.so", withIntermediateDirectories: false)
        assertRefused(directory + "/dir.so", check: "file", mentioning: ["directory", "not a regular file"])
        XCTAssertEqual(mkfifo(directory + "/fifo.so", 0o644), 0)
        // Opening must not block on a FIFO without a writer.
        assertRefused(directory + "/fifo.so", check: "file", mentioning: ["FIFO"])
    }

    func testTextFileIsNotELF() throws {
        let path = directory + "/notes.so"
        try ELFFixtures.write(Array("#!/bin/sh\necho this is not a plugin\n".utf8), to: path)
        assertRefused(path, check: "elf-header", mentioning: ["not an ELF file", "23 21 2f 62"])
        let report = PluginVerifier(expectedTypeName: nil).report(path: path)
        XCTAssertEqual(report.checks.last?.name, "elf-header", "report stops after a non-ELF file")
        XCTAssertNil(report.record)
    }

    func testEmptyFileIsNotELF() throws {
        let path = directory + "/empty.so"
        try ELFFixtures.write([], to: path)
        assertRefused(path, check: "elf-header", mentioning: ["not an ELF file", "empty"])
    }

    func testTruncatedToHundredBytes() throws {
        let path = try patchedTemplate("short.so") { $0 = Array($0.prefix(100)) }
        assertRefused(path, check: "elf-header", mentioning: ["truncated"])
    }

    func testTruncatedInTheMiddle() throws {
        let path = try patchedTemplate("half.so") { $0 = Array($0.prefix($0.count / 2)) }
        assertRefused(path, check: "elf-header", mentioning: ["truncated", "bytes"])
    }

    func testSectionBeyondTheEndOfTheFile() throws {
        let path = try patchedTemplate("section.so") { bytes in
            func u64(_ o: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[o + $1]) << (8 * $1) } }
            func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
            let shoff = u64(40), shentsize = u16(58)
            // Section 1's sh_size (offset 32 in an Elf64_Shdr) → 256 MiB.
            let size = shoff + shentsize + 32
            for k in 0..<8 { bytes[size + k] = k == 3 ? 0x10 : 0 }
        }
        assertRefused(path, check: "elf-header", mentioning: ["truncated", "section 1"])
    }

    func testOtherArchitecture() throws {
        let path = try patchedTemplate("arm.so") { bytes in
            bytes[18] = 183; bytes[19] = 0  // EM_AARCH64
        }
        assertRefused(path, check: "machine", mentioning: ["AArch64", "x86-64"])
    }

    func testExecutableIsNotASharedObject() throws {
        let compiler = try cc()
        let path = directory + "/exec.so"
        try ELFFixtures.compileC("int main(void) { return 0; }\n", compiler: compiler, flags: ["-no-pie"],
                                 output: path, in: directory, name: "exec")
        assertRefused(path, check: "shared-object", mentioning: ["an executable", "ET_EXEC", "not a shared object"])
    }

    func testPIEExecutableIsNotASharedObject() throws {
        let path = "/bin/true"
        guard FileManager.default.fileExists(atPath: path) else { throw SetupFailure("/bin/true does not exist") }
        assertRefused(path, check: "shared-object", mentioning: ["an executable", "interpreter", "not a shared object"])
        let copy = directory + "/true.so"
        try ELFFixtures.copy(path, to: copy)
        assertRefused(copy, check: "shared-object", mentioning: ["an executable", "interpreter"])
    }

    // MARK: - The record

    func testMissingRecordSection() throws {
        let path = try cPlugin("norecord.so", record: nil)
        assertRefused(path, check: "record", mentioning: [".fshost_plugin"])
    }

    func testReportWithoutRecordSkipsTheRecordFields() throws {
        let path = try cPlugin("norecord-report.so", record: nil)
        let report = PluginVerifier(expectedTypeName: "cplugin").report(path: path)
        XCTAssertNil(report.record)
        XCTAssertEqual(report.checks.map(\.name), Self.allCheckNames.filter { !["abi-version", "compiler-version", "type-name", "role"].contains($0) })
        XCTAssertEqual(report.checks.filter { !$0.passed }.map(\.name), ["record"])
    }

    func testShortRecordSection() throws {
        let path = try cPlugin("short-record.so", recordBytes: Array(PluginRecord(abiVersion: 1, compilerVersion: compilerVersion, typeName: "x").bytes.prefix(16)))
        assertRefused(path, check: "record", mentioning: [".fshost_plugin", "16 bytes"])
    }

    func testBadRecordMagic() throws {
        let path = try patchedTemplate("magic.so") { bytes in
            let at = try recordOffset(in: bytes)
            bytes[at] = UInt8(ascii: "X")
        }
        assertRefused(path, check: "record", mentioning: [".fshost_plugin", "magic"])
    }

    func testWrongABIVersion() throws {
        let path = try patchedTemplate("abi.so") { bytes in
            let at = try recordOffset(in: bytes)
            bytes[at + 6] = 2; bytes[at + 7] = 0
        }
        assertRefused(path, check: "abi-version", mentioning: ["ABI version 2", "ABI 1"])
    }

    func testOtherCompilerVersion() throws {
        let path = try patchedTemplate("swift62.so") { bytes in
            let at = try recordOffset(in: bytes)
            let other: UInt32 = 6_02_00
            for i in 0..<4 { bytes[at + 8 + i] = UInt8(truncatingIfNeeded: other >> (8 * UInt32(i))) }
        }
        assertRefused(path, check: "compiler-version",
                      mentioning: ["built by Swift 6.2.0", "this fshost by Swift \(compilerVersionString(compilerVersion))"])
    }

    func testWrongTypeName() throws {
        let path = try templateCopy()
        assertRefused(path, check: "type-name", mentioning: ["'template'", "'webserver'"],
                      verifier: PluginVerifier(expectedTypeName: "webserver"))
    }

    func testInvalidTypeNameInRecord() throws {
        let path = try cPlugin("badname.so", record: PluginRecord(abiVersion: 1, compilerVersion: compilerVersion, typeName: "../evil"))
        assertRefused(path, check: "type-name", mentioning: ["../evil", "not a valid type name"])
    }

    // MARK: - The entry symbol

    func testMissingEntrySymbol() throws {
        let path = try cPlugin("noentry.so", entry: .none)
        assertRefused(path, check: "entry-symbol", mentioning: ["fshost_plugin_entry", "not exported"])
    }

    func testEntrySymbolThatIsNotAFunction() throws {
        let path = try cPlugin("objentry.so", entry: .object)
        assertRefused(path, check: "entry-symbol", mentioning: ["fshost_plugin_entry", "OBJECT", "FUNC"])
    }

    func testUndefinedEntrySymbol() throws {
        // References the entry without defining it: undefined in .dynsym.
        let path = try cPlugin("undefentry.so", entry: .none,
                               extraSource: "extern fshost_entry fshost_plugin_entry(void);\nvoid *use_it(void) { return (void *)fshost_plugin_entry; }\n")
        assertRefused(path, check: "entry-symbol", mentioning: ["fshost_plugin_entry", "undefined"])
    }

    // MARK: - Ownership, permissions, symlinks

    func testGroupWritableFile() throws {
        let path = try templateCopy()
        try ELFFixtures.setMode(path, 0o775)
        assertRefused(path, check: "permissions", mentioning: ["group-writable", "0775"])
    }

    func testWorldWritableFile() throws {
        let path = try templateCopy()
        try ELFFixtures.setMode(path, 0o757)
        assertRefused(path, check: "permissions", mentioning: ["world-writable", "0757"])
    }

    func testWorldWritableDirectory() throws {
        let path = try templateCopy()
        try ELFFixtures.setMode(directory, 0o777)
        assertRefused(path, check: "directory-permissions", mentioning: ["directory \(directory)", "writable by others", "0777"])
    }

    func testWorldWritablePluginDirectoryAboveTheFile() throws {
        let sub = directory + "/sub"
        try FileManager.default.createDirectory(atPath: sub, withIntermediateDirectories: false)
        try ELFFixtures.setMode(sub, 0o755)
        let path = try templateCopy(in: sub)
        try ELFFixtures.setMode(directory, 0o777)
        assertRefused(path, check: "directory-permissions", mentioning: ["parent directory \(directory)", "writable by others"],
                      verifier: PluginVerifier(expectedTypeName: nil, pluginDirectory: directory))
    }

    /// Every directory above the plugin directory, up to /, counts too (sshd's
    /// StrictModes): one writable by others could swap the whole tree.
    func testWorldWritableDirectoryAboveThePluginDirectory() throws {
        let open = directory + "/open"
        let plugins = open + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true)
        try ELFFixtures.setMode(plugins, 0o755)
        let path = try templateCopy(in: plugins)
        try ELFFixtures.setMode(open, 0o777)
        let verifier = PluginVerifier(expectedTypeName: "template", pluginDirectory: plugins)
        assertRefused(path, check: "directory-permissions", mentioning: ["parent directory \(open)", "writable by others", "0777"],
                      verifier: verifier)
        // A sticky ancestor (like /tmp) is fine: nobody else can rename what lies below it.
        try ELFFixtures.setMode(open, 0o1777)
        XCTAssertEqual(try verifier.verify(path: path).typeName, "template")
        // But never as the directory that holds the plugin: anyone could have created the file.
        try ELFFixtures.setMode(open, 0o755)
        try ELFFixtures.setMode(plugins, 0o1777)
        assertRefused(path, check: "directory-permissions", mentioning: ["directory \(plugins)", "writable by others", "1777"],
                      verifier: verifier)
    }

    /// The directory checked is the one that really holds the opened file:
    /// a symlink inside the plugin directory leading into a world-writable
    /// subdirectory is refused, naming that subdirectory.
    func testDirectoryThatReallyHoldsTheFileIsChecked() throws {
        let versions = directory + "/versions"
        try FileManager.default.createDirectory(atPath: versions, withIntermediateDirectories: false)
        let real = try templateCopy(named: "template-2.so", in: versions)
        try ELFFixtures.setMode(versions, 0o777)
        let link = directory + "/template.so"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: "versions/template-2.so")
        let verifier = PluginVerifier(expectedTypeName: "template", pluginDirectory: directory)
        assertRefused(link, check: "directory-permissions", mentioning: ["directory \(versions)", "writable by others"],
                      verifier: verifier)
        try ELFFixtures.setMode(versions, 0o755)
        let file = try verifier.open(path: link)
        defer { file.close() }
        XCTAssertEqual(file.resolvedPath, real)
        XCTAssertEqual(file.loadPath, "/proc/self/fd/\(file.descriptor)")
    }

    /// `open` hands over the descriptor the checks read: after a rename over
    /// the path it still is the checked file (same inode, same record).
    func testOpenKeepsTheCheckedFileAcrossARename() throws {
        let path = try templateCopy()
        let verifier = PluginVerifier(expectedTypeName: "template", pluginDirectory: directory)
        let file = try verifier.open(path: path)
        defer { file.close() }
        var checked = stat()
        XCTAssertEqual(fstat(file.descriptor, &checked), 0)
        let other = try cPlugin("other.so")
        XCTAssertEqual(rename(other, path), 0)
        var now = stat()
        XCTAssertEqual(stat(file.loadPath, &now), 0)
        XCTAssertEqual(now.st_ino, checked.st_ino, "/proc/self/fd/N still names the checked file")
        XCTAssertEqual(file.record.typeName, "template")
        XCTAssertTrue(file.resolvedPath.hasPrefix(path), file.resolvedPath)
        // A refusal closes the descriptor it opened.
        let before = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count
        XCTAssertThrowsError(try verifier.open(path: path))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count, before)
    }

    func testUntrustedOwner() throws {
        let path = try templateCopy()
        let uid = getuid()
        assertRefused(path, check: "owner", mentioning: ["uid \(uid)", "not a trusted owner", "4242"],
                      verifier: PluginVerifier(expectedTypeName: nil, trustedOwners: [4242]))
        if uid == 0 {
            // As root: a file owned by someone else.
            XCTAssertEqual(chown(path, 4242, 4242), 0)
            assertRefused(path, check: "owner", mentioning: ["uid 4242"])
        }
    }

    func testSymlinkOutOfThePluginDirectory() throws {
        let elsewhere = try ELFFixtures.makeTemporaryDirectory(prefix: "elfcheck-elsewhere")
        defer { ELFFixtures.remove(elsewhere) }
        let real = try templateCopy(in: elsewhere)
        let plugins = directory + "/plugins"
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: false)
        try ELFFixtures.setMode(plugins, 0o755)
        let link = plugins + "/template.so"
        try FileManager.default.createSymbolicLink(atPath: link, withDestinationPath: real)
        assertRefused(link, check: "symlink", mentioning: [real, "outside the plugin directory", plugins],
                      verifier: PluginVerifier(expectedTypeName: "template", pluginDirectory: plugins))
        // Without a plugin directory the link's own directory confines it.
        assertRefused(link, check: "symlink", mentioning: [real, "outside"])
    }

    // MARK: - Stack, text relocations, needed libraries

    func testExecutableStack() throws {
        let path = try cPlugin("execstack.so", flags: ["-Wl,-z,execstack"])
        assertRefused(path, check: "exec-stack", mentioning: ["PT_GNU_STACK", "PF_X"])
    }

    func testMissingGNUStackHeader() throws {
        let path = try cPlugin("nostack.so")
        var bytes = try ELFFixtures.read(path)
        func u64(_ o: Int) -> Int { (0..<8).reduce(0) { $0 | Int(bytes[o + $1]) << (8 * $1) } }
        func u16(_ o: Int) -> Int { Int(bytes[o]) | Int(bytes[o + 1]) << 8 }
        let phoff = u64(32), phentsize = u16(54), phnum = u16(56)
        var patched = false
        for i in 0..<phnum {
            let at = phoff + i * phentsize
            if bytes[at..<(at + 4)].elementsEqual([0x51, 0xe5, 0x74, 0x64]) {  // PT_GNU_STACK
                for k in 0..<4 { bytes[at + k] = 0 }  // PT_NULL
                patched = true
            }
        }
        XCTAssertTrue(patched, "the fixture has no PT_GNU_STACK to remove")
        try ELFFixtures.write(bytes, to: path)
        #if arch(x86_64)
        assertRefused(path, check: "exec-stack", mentioning: ["no PT_GNU_STACK"])
        #endif
    }

    /// x86-64 assembly whose .text holds an absolute address: a text relocation.
    static let textRelocationAssembly = """
        .text
        .globl fshost_plugin_entry
        .type fshost_plugin_entry, @function
    fshost_plugin_entry:
        movabs $counter, %rax
        ret
        .data
        .globl counter
    counter: .quad 0
        .section .fshost_plugin, "a"
        .balign 4
    """

    func textRelocationPlugin() throws -> String {
        #if !arch(x86_64)
        throw XCTSkip("the text-relocation fixture is x86-64 assembly")
        #else
        let compiler = try cc()
        let bytes = PluginRecord(abiVersion: 1, compilerVersion: compilerVersion, typeName: "textrel").bytes
        let source = Self.textRelocationAssembly + "\n    .byte " + bytes.map(String.init).joined(separator: ", ")
            + "\n    .section .note.GNU-stack, \"\", @progbits\n"
        let path = directory + "/textrel.so"
        try ELFFixtures.compileAssembly(source, compiler: compiler, flags: ["-shared", "-Wl,-z,notext"],
                                        output: path, in: directory, name: "textrel")
        try ELFFixtures.setMode(path, 0o755)
        return path
        #endif
    }

    func testTextRelocations() throws {
        let path = try textRelocationPlugin()
        assertRefused(path, check: "text-relocations", mentioning: ["DT_TEXTREL"])
    }

    func testTextRelocationFlagOnly() throws {
        // Drop DT_TEXTREL (turn it into DT_DEBUG) so only DF_TEXTREL in DT_FLAGS remains.
        let path = try textRelocationPlugin()
        var bytes = try ELFFixtures.read(path)
        let entry: [UInt8] = [0x16, 0, 0, 0, 0, 0, 0, 0] + [UInt8](repeating: 0, count: 8)
        let found = ELFFixtures.offsets(of: entry, in: bytes).filter { $0 % 8 == 0 }
        XCTAssertEqual(found.count, 1, "expected one DT_TEXTREL entry")
        let at = try XCTUnwrap(found.first)
        bytes[at] = 0x15  // DT_DEBUG
        try ELFFixtures.write(bytes, to: path)
        assertRefused(path, check: "text-relocations", mentioning: ["DF_TEXTREL"])
    }

    /// fshost loads a plugin through its verified descriptor (/proc/self/fd/N),
    /// where the loader expands `$ORIGIN` to /proc/self/fd: a library found
    /// only through `$ORIGIN` would not load, so the check refuses it, naming why.
    func testNeededLibraryOnlyThroughOriginIsRefused() throws {
        let compiler = try cc()
        let libs = directory + "/libs"
        try FileManager.default.createDirectory(atPath: libs, withIntermediateDirectories: false)
        try ELFFixtures.setMode(libs, 0o755)
        try ELFFixtures.compileC("int gone_value(void) { return 42; }\n", compiler: compiler,
                                 flags: ["-shared", "-fPIC", "-Wl,-soname,libfixturegone.so"],
                                 output: libs + "/libfixturegone.so", in: directory, name: "gone")
        let path = try cPlugin("needs.so", extraSource: "int gone_value(void);\nint use_gone(void) { return gone_value(); }\n",
                               flags: ["-Wl,--no-as-needed", "-L" + libs, "-Wl,-rpath,$ORIGIN/libs", "-lfixturegone"])
        let verifier = PluginVerifier(expectedTypeName: "cplugin", pluginDirectory: directory)
        assertRefused(path, check: "needed-libraries", mentioning: ["libfixturegone.so", libs, "$ORIGIN", "/proc/self/fd"],
                      verifier: verifier)
        // Control: that is really what the loader does with such a file.
        XCTAssertEqual(verifier.report(path: path).record?.typeName, "cplugin")
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        XCTAssertGreaterThanOrEqual(fd, 0)
        defer { close(fd) }
        XCTAssertNil(dlopen("/proc/self/fd/\(fd)", RTLD_NOW | RTLD_LOCAL), "loaded through the descriptor, $ORIGIN finds nothing")

        ELFFixtures.remove(libs + "/libfixturegone.so")
        assertRefused(path, check: "needed-libraries", mentioning: ["libfixturegone.so", "not found", "$ORIGIN/libs"],
                      verifier: verifier)
    }

    func testUnresolvableNeededLibrary() throws {
        let compiler = try cc()
        let build = try ELFFixtures.makeTemporaryDirectory(prefix: "elfcheck-build")
        defer { ELFFixtures.remove(build) }
        try ELFFixtures.compileC("int vanished_value(void) { return 7; }\n", compiler: compiler,
                                 flags: ["-shared", "-fPIC", "-Wl,-soname,libfixturevanished.so"],
                                 output: build + "/libfixturevanished.so", in: build, name: "vanished")
        let path = try cPlugin("vanished.so", extraSource: "int vanished_value(void);\nint use_it(void) { return vanished_value(); }\n",
                               flags: ["-Wl,--no-as-needed", "-L" + build, "-lfixturevanished"])
        ELFFixtures.remove(build)
        assertRefused(path, check: "needed-libraries", mentioning: ["libfixturevanished.so", "not found"])
    }

    // MARK: - Nothing runs

    func testConstructorNeverRunsWithWrongCompilerVersion() throws {
        let marker = directory + "/constructor-ran"
        let path = try cPlugin("ctor.so", record: PluginRecord(abiVersion: 1, compilerVersion: 6_02_00, typeName: "cplugin"),
                               marker: marker)
        assertRefused(path, check: "compiler-version", mentioning: ["6.2.0"])
        _ = PluginVerifier(expectedTypeName: nil).report(path: path)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "verification ran the plugin's constructor")
    }

    func testConstructorNeverRunsWhenOnlyPermissionsAreWrong() throws {
        let marker = directory + "/constructor-ran"
        let path = try cPlugin("ctor-ok.so", marker: marker)
        try ELFFixtures.setMode(path, 0o664)
        let verifier = PluginVerifier(expectedTypeName: "cplugin", pluginDirectory: directory)
        assertRefused(path, check: "permissions", mentioning: ["group-writable"], verifier: verifier)
        let report = verifier.report(path: path)
        XCTAssertEqual(report.checks.map(\.name), Self.allCheckNames, "report goes on after a permission failure")
        XCTAssertEqual(report.checks.filter { !$0.passed }.map(\.name), ["permissions"])
        XCTAssertEqual(report.record?.typeName, "cplugin")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "verification ran the plugin's constructor")

        // Control: the fixture's constructor does run when the file is loaded.
        try ELFFixtures.setMode(path, 0o755)
        XCTAssertEqual(try verifier.verify(path: path).typeName, "cplugin")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "verification ran the plugin's constructor")
        let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL)
        XCTAssertNotNil(handle, String(cString: dlerror()))
        XCTAssertTrue(FileManager.default.fileExists(atPath: marker), "control: dlopen should have run the constructor")
    }

    // MARK: - Errors and timing

    func testErrorDescription() {
        let error = PluginVerificationError(check: "owner", path: "/p/x.so", reason: "owned by uid 7")
        XCTAssertEqual(error.description, "/p/x.so: owner: owned by uid 7")
    }

    func testVerifyTime() throws {
        let path = try templateCopy()
        let verifier = PluginVerifier(expectedTypeName: "template", pluginDirectory: directory)
        _ = try verifier.verify(path: path)
        let rounds = 200
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<rounds { _ = try verifier.verify(path: path) }
        let average = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(rounds) / 1000
        print("ELFCheck: verify(libtemplate.so) takes \(Int(average)) µs on average over \(rounds) rounds")
    }
}
