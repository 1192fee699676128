import CDB
import ELFCheck
import Foundation
import PluginRecord
import TestSupport
import XCTest

/// A plugin verified before and unchanged since is loaded without reading
/// it with libelf (issue 16); any change of the file — its bytes, its inode,
/// its owner, its mode — is verified again, and a bad cache entry costs one
/// warning and a full verification.
final class VerificationCacheTests: XCTestCase {
    var sandbox: HostSandbox!
    var plugin = ""

    override func setUpWithError() throws {
        // The sandbox's run directory is on the disk of /tmp (on a tmpfs only
        // where /tmp is one): the cache holds only this boot's entries, on any
        // file system (testTheCacheIsUsedOnADiskAndOnATmpfs).
        sandbox = try HostSandbox()
        sandbox.runDirectory = sandbox.path("run")
        let plugins = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        sandbox.pluginPath = plugins
        plugin = plugins + "/template.so"
        try ELFFixtures.copy(HostSandbox.products.appendingPathComponent("libtemplate.so").path, to: plugin)
        try ConfigurationDatabase(path: sandbox.cdb, mode: .readWrite).define(type: "template", resource: "t", attributes: [:])
    }

    override func tearDown() { sandbox = nil }

    var cacheDirectory: String { sandbox.runDirectory + "/verified" }

    /// A call of fshost (`arguments`; none: a monitor of template/t):
    /// status, stderr without the loader's lines ("  12345:\tfile=…"), and
    /// whether libelf was loaded (some file was verified in full).
    func monitor(_ arguments: String...) throws -> (status: Int32, stderr: String, verified: Bool) { try call(arguments) }

    /// ``monitor(_:)`` with its arguments in an array.
    func call(_ arguments: [String]) throws -> (status: Int32, stderr: String, verified: Bool) {
        sandbox.extraEnvironment["LD_DEBUG"] = "files"
        defer { sandbox.extraEnvironment["LD_DEBUG"] = nil }
        let r = try sandbox.fshost(arguments.isEmpty ? ["template", "monitor", "t"] : arguments)
        let lines = r.stderr.split(separator: "\n").filter { line in
            !(line.drop { $0 == " " }.first?.isNumber == true && line.contains(":\t"))
        }
        return (r.status, lines.joined(separator: "\n"), r.stderr.contains("libelf.so.1"))
    }

    /// Waits until `files` (nil: the template plugin) are old enough to be
    /// remembered, then makes sure they are: after two calls of `arguments`
    /// (as ``monitor(_:)``) answering `status`, the next one loads nothing
    /// with libelf. Returns that call.
    @discardableResult
    func remembered(_ files: [String]? = nil, call arguments: String..., status: Int32 = 0) throws -> (status: Int32, stderr: String, verified: Bool) {
        for file in files ?? [plugin] { waitUntilRememberable(file) }
        // (The first call of a fresh sandbox creates the run directory only
        // after verifying: the second one stores.)
        for _ in 0..<2 {
            let stores = try call(arguments)
            XCTAssertEqual(stores.status, status, stores.stderr)
        }
        let hit = try call(arguments)
        XCTAssertEqual(hit.status, status, hit.stderr)
        XCTAssertFalse(hit.verified, "unchanged files verified before are not read with libelf: \(hit.stderr)")
        return hit
    }

    /// Another build of fshost (here: a copy of the executable, another
    /// file) never takes this one's entries for its own: its checks may
    /// differ, and nothing else in the key need change (issue 16 review).
    func testAnotherBuildOfFshostVerifiesInFull() throws {
        try remembered()
        let directory = sandbox.path("other")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        let copy = directory + "/fshost"
        try FileManager.default.copyItem(atPath: HostSandbox.products.appendingPathComponent("fshost").path, toPath: copy)
        sandbox.extraEnvironment["LD_DEBUG"] = "files"
        defer { sandbox.extraEnvironment["LD_DEBUG"] = nil }
        let other = try sandbox.run(copy, ["template", "monitor", "t"])
        XCTAssertEqual(other.status, 0, other.stderr)
        XCTAssertTrue(other.stderr.contains("libelf.so.1"), "another fshost used this one's entry")
        let again = try sandbox.run(copy, ["template", "monitor", "t"])
        XCTAssertFalse(again.stderr.contains("libelf.so.1"), "the other fshost remembers its own")
        sandbox.extraEnvironment["LD_DEBUG"] = nil
        XCTAssertFalse(try call([]).verified, "this fshost's own entry is still a hit")
    }

    func testAYoungFileIsVerifiedEveryTime() throws {
        for _ in 0..<3 {
            let m = try monitor()
            XCTAssertEqual(m.status, 0, m.stderr)
            XCTAssertTrue(m.verified, "a file changed less than 2 s ago is not remembered")
        }
    }

    func testAChangedReplacedReownedOrRemodedFileIsVerifiedAgain() throws {
        try remembered()

        // Touched (its ctime moves; the bytes are the same): verified again, and fine.
        XCTAssertEqual(chmod(plugin, 0o755), 0)
        var m = try monitor()
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.verified, "a chmod (ctime) sends the file through the checks again")

        // Re-moded, re-owned: refused (checked on every call, cached or not).
        try remembered()
        XCTAssertEqual(chmod(plugin, 0o775), 0)
        m = try monitor()
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("permissions"), m.stderr)
        XCTAssertEqual(chmod(plugin, 0o755), 0)
        try remembered()
        XCTAssertEqual(chown(plugin, 4242, 4242), 0)
        m = try monitor()
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("owner"), m.stderr)
        XCTAssertEqual(chown(plugin, 0, 0), 0)

        // Changed in place at the same size (the record's type name): the
        // checks read it again and refuse it, before dlopen.
        try remembered()
        var bytes = try ELFFixtures.read(plugin)
        let name = Array("template".utf8)
        let at = ELFFixtures.offsets(of: name, in: bytes)
        XCTAssertFalse(at.isEmpty)
        for offset in at { bytes[offset] = UInt8(ascii: "x") }
        writeInPlace(bytes, to: plugin)
        m = try monitor()
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("type-name") || m.stderr.contains("record"), m.stderr)
        XCTAssertFalse(m.stderr.contains("dlopen"), m.stderr)

        // Replaced (renamed over: another inode) by a file that fails the checks.
        try ELFFixtures.copy(HostSandbox.products.appendingPathComponent("libtemplate.so").path, to: plugin)
        try remembered()
        let replacement = sandbox.path("plugins/.new")
        try ELFFixtures.write(bytes, to: replacement)
        XCTAssertEqual(rename(replacement, plugin), 0)
        m = try monitor()
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("type-name") || m.stderr.contains("record"), m.stderr)
    }

    /// An empty directory at an entry's name is ignored with one warning
    /// and replaced by the next full verification's entry: the call after
    /// it is remembered again, without a warning (review of issue 16, finding 3).
    func testADirectoryAtAnEntrysNameIsReplaced() throws {
        try remembered()
        let names = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(names.count, 1, "\(names)")
        let entry = cacheDirectory + "/" + (names.first ?? "?")
        try FileManager.default.removeItem(atPath: entry)
        XCTAssertEqual(mkdir(entry, 0o700), 0)
        let first = try monitor()
        XCTAssertEqual(first.status, 0, first.stderr)
        XCTAssertTrue(first.verified, "verified in full")
        XCTAssertTrue(first.stderr.contains("which is not a regular file"), first.stderr)
        let second = try monitor()
        XCTAssertEqual(second.status, 0, second.stderr)
        XCTAssertFalse(second.verified, "remembered again")
        XCTAssertFalse(second.stderr.contains("ignoring the verification cache"), second.stderr)
    }

    func testABadCacheEntryIsIgnoredWithOneWarning() throws {
        try remembered()
        func entry() throws -> String {
            let names = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory).filter { !$0.hasPrefix(".") }
            XCTAssertEqual(names.count, 1, "\(names)")
            return cacheDirectory + "/" + (names.first ?? "?")
        }
        let good = try Data(contentsOf: URL(fileURLWithPath: try entry()))
        let cases: [(String, String, (String) throws -> Void)] = [
            ("corrupt", "is not a verification entry", { try Data("garbage".utf8).write(to: URL(fileURLWithPath: $0)) }),
            ("truncated", "truncated", { try good.prefix(good.count - 7).write(to: URL(fileURLWithPath: $0)) }),
            ("newer format", "has another format", {
                try Data(String(decoding: good, as: UTF8.self).replacingOccurrences(of: "fshost-verified 3", with: "fshost-verified 4").utf8)
                    .write(to: URL(fileURLWithPath: $0)) }),
            ("another owner", "is owned by uid 4242", { XCTAssertEqual(chown($0, 4242, 4242), 0) }),
            ("writable by others", "is writable by others", { XCTAssertEqual(chmod($0, 0o666), 0) }),
            // Named as the directory, not as an entry (review of issue 16, finding 4).
            ("a directory open to others", "cache directory \(cacheDirectory), which is writable by others",
             { _ in XCTAssertEqual(chmod(self.cacheDirectory, 0o777), 0) }),
        ]
        for (name, warning, damage) in cases {
            try damage(try entry())
            let m = try monitor()
            XCTAssertEqual(m.status, 0, "\(name): \(m.stderr)")
            XCTAssertTrue(m.verified, "\(name): verified in full")
            let warnings = m.stderr.split(separator: "\n").filter { $0.contains("ignoring the verification cache ") }
            XCTAssertEqual(warnings.count, 1, "\(name): \(m.stderr)")
            XCTAssertTrue(warnings.first?.contains(warning) == true, "\(name): \(m.stderr)")
            // The action's log line (key=value, syslog too), not a bare line.
            XCTAssertTrue(warnings.first?.contains("type=template resource=t action=monitor") == true, "\(name): \(m.stderr)")
            // A clean cache again.
            XCTAssertEqual(chmod(cacheDirectory, 0o700), 0)
            try FileManager.default.removeItem(atPath: try entry())
            try remembered()
        }
    }

    // MARK: - What the plugin loads along with it (review of issue 16, item 1)

    /// Waits until `file` is old enough to be remembered (mtime and ctime ≥ 2 s ago).
    func waitUntilRememberable(_ file: String) {
        var st = stat()
        XCTAssertEqual(stat(file, &st), 0)
        let changed = max(Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9,
                          Double(st.st_ctim.tv_sec) + Double(st.st_ctim.tv_nsec) / 1e9)
        let wait = changed + 2.1 - Date().timeIntervalSince1970
        if wait > 0 { Thread.sleep(forTimeInterval: wait) }
    }

    /// The only plugin entry of the cache directory (its path and inode);
    /// `library` entries (the names of a library a plugin needs) aside.
    func onlyEntry() throws -> (path: String, inode: ino_t) {
        let names = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory).filter { name in
            !name.hasPrefix(".") && (try? String(contentsOfFile: cacheDirectory + "/" + name, encoding: .utf8))?.contains("\nlibrary\n") != true
        }
        guard names.count == 1, let name = names.first else { throw SetupFailure("expected one cache entry, found \(names)") }
        var st = stat()
        XCTAssertEqual(stat(cacheDirectory + "/" + name, &st), 0)
        return (cacheDirectory + "/" + name, st.st_ino)
    }

    /// The reviewer's case: a plugin linked against a library in a RUNPATH
    /// directory is remembered; then that directory is made 0777 and the
    /// library replaced by another user's. The next call (a cache hit) is
    /// refused by `needed-libraries`, as an uncached call is, and the
    /// library's constructor never runs. Likewise for the library alone
    /// turned another user's, in a directory left 0755.
    /// A C plugin `needsalib` (resource type; its entry returns no
    /// descriptor, so it is refused after loading, 7: not what is tested)
    /// linked against `libs/libfixtureneeded.so` through its RUNPATH, and
    /// `build/evil.so`, a library of that soname whose constructor creates
    /// `marker`. The run directory exists (the plugin never gets as far as
    /// the lock, whose call would make it).
    func needsALibFixture() throws -> (plugin: String, libs: String, build: String, marker: String) {
        guard let cc = ELFFixtures.cCompiler else {
            throw SetupFailure("no C compiler (cc, gcc or clang) in PATH: this test builds its fixture with one")
        }
        let libs = sandbox.path("libs"), build = sandbox.path("build")
        for dir in [libs, build] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o755])
        }
        let marker = sandbox.path("library-constructor-ran")
        func library(_ output: String, constructor: Bool) throws {
            var source = "#include <fcntl.h>\n#include <unistd.h>\nint fixture_needed_value(void) { return 42; }\n"
            if constructor {
                source += "__attribute__((constructor)) static void c(void) { int fd = open(\"\(marker)\", O_WRONLY | O_CREAT, 0644); if (fd >= 0) close(fd); }\n"
            }
            try ELFFixtures.compileC(source, compiler: cc, flags: ["-shared", "-fPIC", "-Wl,-soname,libfixtureneeded.so"],
                                     output: output, in: build, name: constructor ? "evil" : "good")
            try ELFFixtures.setMode(output, 0o755)
        }
        try library(libs + "/libfixtureneeded.so", constructor: false)
        try library(build + "/evil.so", constructor: true)
        let plugin = try cPlugin("needsalib", code: "int fixture_needed_value(void);\nint use_it(void) { return fixture_needed_value(); }\n",
                                 runpath: libs, libraries: ["fixtureneeded"], compiler: cc, build: build)
        try FileManager.default.createDirectory(atPath: sandbox.runDirectory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        return (plugin, libs, build, marker)
    }

    /// A C plugin of type `type` (mode 0755) in the plugin directory whose
    /// `code` uses `libraries` (`-l` names), found through its RUNPATH
    /// `runpath`; its entry returns no descriptor (refused after loading, 7).
    func cPlugin(_ type: String, code: String, runpath: String, libraries: [String], compiler cc: String, build: String) throws -> String {
        let record = PluginRecord(abiVersion: 1, compilerVersion: compilerVersion, typeName: type).bytes
        let source = "__attribute__((section(\".fshost_plugin\"), used, aligned(4)))\n"
            + "static const unsigned char fshost_record[\(record.count)] = \(ELFFixtures.cArray(record));\n"
            + code + "void *fshost_plugin_entry(void) { return 0; }\n"
        let plugin = sandbox.path("plugins/\(type).so")
        try ELFFixtures.compileC(source, compiler: cc,
                                 flags: ["-shared", "-fPIC", "-Wl,--no-as-needed", "-Wl,--enable-new-dtags", "-L" + runpath,
                                         "-Wl,-rpath," + runpath] + libraries.map { "-l" + $0 },
                                 output: plugin, in: build, name: type)
        try ELFFixtures.setMode(plugin, 0o755)
        return plugin
    }

    func testAHitJudgesTheNeededLibrariesAgain() throws {
        let (plugin, libs, build, marker) = try needsALibFixture()
        func call() throws -> HostSandbox.Result { try sandbox.fshost("needsalib", "monitor", "r") }
        // Remembered: the plugin passes every check (its null entry is refused
        // after loading: not what is tested here), and the entry is stored.
        waitUntilRememberable(plugin)
        for _ in 0..<2 { _ = try call() }
        print("needsalib, remembered: \(try call())")
        let stored = try onlyEntry()
        let text = try String(contentsOfFile: stored.path, encoding: .utf8)
        XCTAssertTrue(text.contains("\nneeded ") && text.contains("\nrunpath "), "the entry keeps the dynamic names: \(text)")
        let good = try call()
        XCTAssertFalse(good.stderr.contains("needed-libraries"), good.description)
        XCTAssertEqual(try onlyEntry().inode, stored.inode, "a hit (a miss would have stored the entry again)")

        // The RUNPATH directory opened to everyone, the library another user's.
        XCTAssertEqual(chmod(libs, 0o777), 0)
        XCTAssertEqual(rename(build + "/evil.so", libs + "/libfixtureneeded.so"), 0)
        XCTAssertEqual(chown(libs + "/libfixtureneeded.so", 12345, 12345), 0)
        var refused = try call()
        XCTAssertEqual(refused.status, 7, refused.description)
        XCTAssertTrue(refused.stderr.contains("needed-libraries") && refused.stderr.contains(libs), refused.description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the replaced library's constructor ran")
        XCTAssertEqual(try onlyEntry().inode, stored.inode, "refused on a hit, not after a miss")

        // The directory closed again; the library alone another user's.
        XCTAssertEqual(chmod(libs, 0o755), 0)
        refused = try call()
        XCTAssertEqual(refused.status, 7, refused.description)
        XCTAssertTrue(refused.stderr.contains("needed-libraries") && refused.stderr.contains("uid 12345"), refused.description)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "the replaced library's constructor ran")
    }

    // MARK: - Where the cache is used (review of issue 16, items 3 and 4)

    /// A FIFO as the entry is refused with one warning, never waited on
    /// (opened O_NONBLOCK); the call verifies in full and answers.
    func testAFIFOEntryDoesNotBlock() throws {
        try remembered()
        let entry = try onlyEntry().path
        try FileManager.default.removeItem(atPath: entry)
        XCTAssertEqual(mkfifo(entry, 0o600), 0)
        let started = Date()
        let m = try monitor()
        XCTAssertLessThan(Date().timeIntervalSince(started), 10)
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.verified, m.stderr)
        XCTAssertTrue(m.stderr.contains("ignoring the verification cache entry") && m.stderr.contains("is not a regular file"), m.stderr)
    }

    /// This boot's id, as the kernel tells it.
    func bootID() throws -> String {
        try String(contentsOfFile: "/proc/sys/kernel/random/boot_id", encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// The cache holds only this boot's entries, so it is used on any run
    /// directory, tmpfs or not (`/run` and `/tmp` are disks on many hosts,
    /// this VM and CI among them): on a disk, and on a tmpfs.
    func testTheCacheIsUsedOnADiskAndOnATmpfs() throws {
        // Beside the build products: a disk (tmp may be a tmpfs).
        let disk = HostSandbox.products.deletingLastPathComponent().appendingPathComponent("fshost-test-run-\(getpid())").path
        try FileManager.default.createDirectory(atPath: disk, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: disk) }
        guard !["tmpfs", "ramfs"].contains(try HostSandbox.fileSystemType(disk)) else {
            throw SetupFailure("\(disk) is on a tmpfs or ramfs: this test needs a run directory on a disk")
        }
        sandbox.runDirectory = disk + "/run"
        try remembered()
        let text = try String(contentsOfFile: try onlyEntry().path, encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("fshost-verified 3\nboot \(try bootID())\n"), text)

        try sandbox.useTmpfsRunDirectory()
        try remembered()
        XCTAssertEqual(try HostSandbox.fileSystemType(cacheDirectory), "tmpfs")
        XCTAssertNoThrow(try onlyEntry())
    }

    /// An entry written in another boot is a plain miss (no warning): the
    /// file is verified in full, and the entry replaced by this boot's;
    /// entries earlier boots left are swept once per boot.
    func testAnEntryOfAnotherBootIsAMissAndIsReplaced() throws {
        try remembered()
        let entry = try onlyEntry()
        let boot = try bootID()
        let text = try String(contentsOfFile: entry.path, encoding: .utf8)
        let other = "00000000-1111-2222-3333-444444444444"
        XCTAssertNotEqual(boot, other)
        try Data(text.replacingOccurrences(of: "boot \(boot)\n", with: "boot \(other)\n").utf8).write(to: URL(fileURLWithPath: entry.path))
        XCTAssertTrue(try String(contentsOfFile: entry.path, encoding: .utf8).contains("boot \(other)\n"))
        // As after a reboot on a disk: the last sweep was another boot's,
        // and an entry of an upgraded file is left from before this boot.
        XCTAssertEqual(try String(contentsOfFile: cacheDirectory + "/.boot", encoding: .utf8), boot)
        try Data(other.utf8).write(to: URL(fileURLWithPath: cacheDirectory + "/.boot"))
        let stale = cacheDirectory + "/0123456789abcdef"
        try Data("fshost-verified 3\nboot \(other)\n".utf8).write(to: URL(fileURLWithPath: stale))
        var times = [timespec(tv_sec: 946_684_800, tv_nsec: 0), timespec(tv_sec: 946_684_800, tv_nsec: 0)]
        XCTAssertEqual(utimensat(AT_FDCWD, stale, &times, 0), 0)

        let m = try monitor()
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.verified, "another boot's entry is not trusted: verified in full")
        XCTAssertFalse(m.stderr.contains("verification cache"), "a plain miss, no warning: \(m.stderr)")
        let replaced = try onlyEntry()
        XCTAssertEqual(replaced.path, entry.path, "the same file identity, the same entry name")
        XCTAssertNotEqual(replaced.inode, entry.inode, "the entry was written again")
        XCTAssertTrue(try String(contentsOfFile: replaced.path, encoding: .utf8).contains("boot \(boot)\n"))
        XCTAssertFalse(FileManager.default.fileExists(atPath: stale), "what earlier boots left is swept on this boot's first store")
        XCTAssertEqual(try String(contentsOfFile: cacheDirectory + "/.boot", encoding: .utf8), boot)
        let hit = try monitor()
        XCTAssertFalse(hit.verified, "this boot's entry again: \(hit.stderr)")
    }

    /// Writes `bytes` over the start of `path`, in place (the same inode).
    func writeInPlace(_ bytes: [UInt8], to path: String) {
        let fd = open(path, O_WRONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        XCTAssertEqual(bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }, bytes.count)
        close(fd)
    }

    // MARK: - Companions and the libraries they need (issue 16, follow-up)

    /// `file` made 0775, then (restored, remembered again) another user's
    /// (uid 4242): each time `call` is refused (7) with a line holding
    /// `context` and `mode` or `owner`; `file` is restored after each.
    func assertRefusedWhenRemodedOrReowned(_ file: String, remembered: () throws -> Void,
                                           call: () throws -> (status: Int32, stderr: String),
                                           naming context: String, mode: String, owner: String) throws {
        for (change, undo, problem) in [({ chmod(file, 0o775) }, { chmod(file, 0o755) }, mode),
                                        ({ chown(file, 4242, 4242) }, { chown(file, 0, 0) }, owner)] {
            try remembered()
            XCTAssertEqual(change(), 0)
            let m = try call()
            XCTAssertEqual(m.status, 7, m.stderr)
            XCTAssertTrue(m.stderr.contains(context) && m.stderr.contains(problem), m.stderr)
            XCTAssertEqual(undo(), 0)
        }
    }

    /// A companion is remembered as a plugin is (no libelf once both are
    /// remembered), and a changed, replaced, re-owned or re-moded companion
    /// is verified again — refused when it fails.
    func testAChangedReplacedReownedOrRemodedCompanionIsVerifiedAgain() throws {
        let plugins = sandbox.pluginPath
        let fixture = plugins + "/testfixture.so", companion = plugins + "/testfixture-echo.so"
        try ELFFixtures.copy(HostSandbox.products.appendingPathComponent("libtestfixture.so").path, to: fixture)
        let good = HostSandbox.products.appendingPathComponent("libtestfixture-echo.so").path
        try ELFFixtures.copy(good, to: companion)
        try sandbox.store("testfixture", "e", ["port": "80", "echo": "hi"])
        func start() throws -> (status: Int32, stderr: String, verified: Bool) { try monitor("testfixture", "start", "e") }
        // Plugin and companion remembered: libelf is not loaded.
        func remembered() throws { try self.remembered([fixture, companion], call: "testfixture", "start", "e") }
        try remembered()
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: cacheDirectory).filter { !$0.hasPrefix(".") }.count, 2,
                       "one entry for the plugin, one for its companion")

        // Touched (ctime): verified again, and fine.
        XCTAssertEqual(chmod(companion, 0o755), 0)
        var m = try start()
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.verified, "a chmod (ctime) sends the companion through the checks again")

        // Re-moded, re-owned: refused on every call, remembered or not.
        try assertRefusedWhenRemodedOrReowned(companion, remembered: remembered, call: { let r = try start(); return (r.status, r.stderr) },
                                              naming: "companion refused", mode: "permissions", owner: "owner")

        // Changed in place at the same size (its record's call signature):
        // read again and refused before it is loaded.
        try remembered()
        let wanted = try XCTUnwrap(PluginVerifier(expectedTypeName: nil).report(path: fixture).record?.calls.first)
        var bytes = try ELFFixtures.read(companion)
        let at = ELFFixtures.offsets(of: Array(wanted.utf8), in: bytes)
        XCTAssertFalse(at.isEmpty)
        for offset in at {
            let last = offset + wanted.utf8.count - 1
            bytes[last] = bytes[last] == UInt8(ascii: "0") ? UInt8(ascii: "1") : UInt8(ascii: "0")
        }
        writeInPlace(bytes, to: companion)
        m = try start()
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("companion refused") && m.stderr.contains("answers call"), m.stderr)

        // Replaced (renamed over: another inode) by the good one: verified again, and fine.
        let replacement = plugins + "/.new"
        try ELFFixtures.copy(good, to: replacement)
        waitUntilRememberable(replacement)
        XCTAssertEqual(rename(replacement, companion), 0)
        m = try start()
        XCTAssertEqual(m.status, 0, m.stderr)
        XCTAssertTrue(m.verified, "a replaced companion is another inode: verified again")
    }

    /// Each library a plugin or companion brings along is remembered per
    /// library identity (its dynamic names: no libelf on a hit), while its
    /// owner, mode and directories are judged on every call; a changed,
    /// replaced, re-owned or re-moded library is read again, or refused.
    func testAChangedReplacedReownedOrRemodedNeededLibraryIsReadAgain() throws {
        let (plugin, libs, build, marker) = try needsALibFixture()
        let library = libs + "/libfixtureneeded.so"
        func call() throws -> (status: Int32, stderr: String, verified: Bool) { try monitor("needsalib", "monitor", "r") }
        // The plugin and its library remembered: nothing is read with libelf.
        // (The plugin's null entry is refused after loading, 7, every time.)
        func remembered() throws {
            let hit = try self.remembered([plugin, library], call: "needsalib", "monitor", "r", status: 7)
            XCTAssertFalse(hit.stderr.contains("needed-libraries"), hit.stderr)
            XCTAssertTrue(hit.stderr.contains("no descriptor"), hit.stderr)
        }
        try remembered()
        let entries = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(entries.count, 2, "one entry for the plugin, one for its library: \(entries)")
        let texts = try entries.map { try String(contentsOfFile: cacheDirectory + "/" + $0, encoding: .utf8) }
        XCTAssertTrue(texts.contains { $0.contains("\nlibrary\n") && $0.contains("path \(library)\n") }, "\(texts)")

        // Touched (ctime): read again, and fine.
        XCTAssertEqual(chmod(library, 0o755), 0)
        var m = try call()
        XCTAssertTrue(m.verified, "a chmod (ctime) of the library: read again: \(m.stderr)")
        XCTAssertFalse(m.stderr.contains("needed-libraries"), m.stderr)

        // Re-moded, re-owned: refused on every call, remembered or not.
        try assertRefusedWhenRemodedOrReowned(library, remembered: remembered, call: { let r = try call(); return (r.status, r.stderr) },
                                              naming: "needed-libraries", mode: "writable", owner: "uid 4242")

        // Changed in place (same bytes written again: mtime and ctime move): read again.
        try remembered()
        let bytes = try ELFFixtures.read(library)
        writeInPlace(bytes, to: library)
        m = try call()
        XCTAssertTrue(m.verified, "a library written in place is read again: \(m.stderr)")
        XCTAssertFalse(m.stderr.contains("needed-libraries"), m.stderr)

        // Replaced (renamed over) by another library of that soname, which
        // needs one more library that cannot be found: read again, and the
        // new names are judged (refused), the constructor never runs.
        try remembered()
        guard let cc = ELFFixtures.cCompiler else { throw SetupFailure("no C compiler") }
        try ELFFixtures.compileC("int fixture_needed_value(void) { return 43; }\n", compiler: cc,
                                 flags: ["-shared", "-fPIC", "-Wl,-soname,libfixtureneeded.so", "-Wl,--no-as-needed",
                                         "-L" + libs, "-lfixtureneeded", "-Wl,-rpath,relative/dir"],
                                 output: build + "/replacement.so", in: build, name: "replacement")
        try ELFFixtures.setMode(build + "/replacement.so", 0o755)
        XCTAssertEqual(rename(build + "/replacement.so", library), 0)
        m = try call()
        XCTAssertTrue(m.verified, "a replaced library is another inode: read again: \(m.stderr)")
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("needed-libraries") && m.stderr.contains("relative"), m.stderr)
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
    }

    /// The closure walk judges each directory chain once per call and
    /// each library on its own (ClosureMemo): on a hit, with every entry
    /// remembered, a library re-moded or re-owned beside another one of the
    /// same directory is refused, and so is a directory above the libraries
    /// made writable, or the directory of a library one of them loads, or
    /// that library replaced by another user's — each on the next call.
    func testAHitJudgesEachLibraryAndEachDirectoryChainOfTheClosure() throws {
        guard let cc = ELFFixtures.cCompiler else {
            throw SetupFailure("no C compiler (cc, gcc or clang) in PATH: this test builds its fixture with one")
        }
        let libs = sandbox.path("libs"), upper = libs + "/a", shared = upper + "/b", deep = libs + "/c", build = sandbox.path("build")
        for dir in [libs, upper, shared, deep, build] {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false,
                                                    attributes: [.posixPermissions: 0o755])
        }
        // libthird.so in c/; libfirst.so (needs libthird, RUNPATH c/) and libsecond.so in a/b/.
        try ELFFixtures.compileC("int third(void) { return 3; }\n", compiler: cc,
                                 flags: ["-shared", "-fPIC", "-Wl,-soname,libthird.so"], output: deep + "/libthird.so", in: build, name: "third")
        try ELFFixtures.compileC("int third(void); int first(void) { return third(); }\n", compiler: cc,
                                 flags: ["-shared", "-fPIC", "-Wl,-soname,libfirst.so", "-Wl,--no-as-needed", "-Wl,--enable-new-dtags",
                                         "-L" + deep, "-Wl,-rpath," + deep, "-lthird"],
                                 output: shared + "/libfirst.so", in: build, name: "first")
        try ELFFixtures.compileC("int second(void) { return 2; }\n", compiler: cc,
                                 flags: ["-shared", "-fPIC", "-Wl,-soname,libsecond.so"], output: shared + "/libsecond.so", in: build, name: "second")
        try ELFFixtures.compileC("int third(void) { return 33; }\n", compiler: cc,
                                 flags: ["-shared", "-fPIC", "-Wl,-soname,libthird.so"], output: build + "/other.so", in: build, name: "other")
        let plugin = try cPlugin("needstwo", code: "int first(void); int second(void);\nint use_them(void) { return first() + second(); }\n",
                                 runpath: shared, libraries: ["first", "second"], compiler: cc, build: build)
        let libraries = [shared + "/libfirst.so", shared + "/libsecond.so", deep + "/libthird.so"]
        for file in libraries + [build + "/other.so"] { try ELFFixtures.setMode(file, 0o755) }
        try FileManager.default.createDirectory(atPath: sandbox.runDirectory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        func call() throws -> (status: Int32, stderr: String) { let r = try monitor("needstwo", "monitor", "r"); return (r.status, r.stderr) }
        // Every file remembered: a hit reads nothing with libelf and passes
        // needed-libraries (the null entry is refused after loading, 7).
        func remembered() throws {
            let hit = try self.remembered([plugin] + libraries, call: "needstwo", "monitor", "r", status: 7)
            XCTAssertFalse(hit.stderr.contains("needed-libraries"), hit.stderr)
            XCTAssertTrue(hit.stderr.contains("no descriptor"), hit.stderr)
        }
        try remembered()
        let entries = try FileManager.default.contentsOfDirectory(atPath: cacheDirectory).filter { !$0.hasPrefix(".") }
        XCTAssertEqual(entries.count, 4, "the plugin and its three libraries: \(entries)")

        // The second library of a/b (its directory judged fine for the first).
        try assertRefusedWhenRemodedOrReowned(shared + "/libsecond.so", remembered: remembered, call: call,
                                              naming: "libsecond.so", mode: "writable", owner: "uid 4242")
        // The library the first one loads, in its own directory.
        try assertRefusedWhenRemodedOrReowned(deep + "/libthird.so", remembered: remembered, call: call,
                                              naming: "libthird.so", mode: "writable", owner: "uid 4242")
        // A directory made writable by others: above a/b (an ancestor), and
        // c/ (the holder of the library loaded in turn). No library changed:
        // every entry is a hit, the chains alone refuse.
        for (directory, named) in [(upper, upper), (deep, deep)] {
            try remembered()
            XCTAssertEqual(chmod(directory, 0o777), 0)
            let m = try call()
            XCTAssertEqual(m.status, 7, m.stderr)
            XCTAssertTrue(m.stderr.contains("needed-libraries") && m.stderr.contains(named) && m.stderr.contains("writable by others"), m.stderr)
            XCTAssertEqual(chmod(directory, 0o755), 0)
        }
        // libthird.so replaced (renamed over) by another user's library.
        try remembered()
        XCTAssertEqual(chown(build + "/other.so", 4242, 4242), 0)
        XCTAssertEqual(rename(build + "/other.so", deep + "/libthird.so"), 0)
        let m = try call()
        XCTAssertEqual(m.status, 7, m.stderr)
        XCTAssertTrue(m.stderr.contains("needed-libraries") && m.stderr.contains("libthird.so") && m.stderr.contains("uid 4242"), m.stderr)
    }
}
