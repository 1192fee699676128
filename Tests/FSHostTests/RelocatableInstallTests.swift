import Foundation
import TestSupport
import XCTest

/// Issue 14, item 6: the tree `make install` writes runs on a node without a
/// Swift toolchain. The Swift runtime goes to `<prefix>/lib/fshost/swift`,
/// every installed ELF file finds it through a RUNPATH relative to itself,
/// and host and plugins share that one runtime. The installed tree is run
/// in a mount namespace where the toolchain's library directory is an empty
/// tmpfs (`unshare -m`), so nothing of the build machine can be loaded.
final class RelocatableInstallTests: XCTestCase {
    var sandbox: HostSandbox!
    var site: NginxSite?

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
    }

    override func tearDown() {
        site?.killEverything()
        site = nil
        sandbox = nil
        super.tearDown()
    }

    /// The directory the build's `fshost` loads `libswiftCore.so` from (`ldd`).
    func toolchainLibraries() throws -> String {
        let r = try ELFFixtures.run("/usr/bin/ldd", [HostSandbox.products.appendingPathComponent("fshost").path])
        guard r.status == 0,
              let line = r.output.split(separator: "\n").first(where: { $0.contains("libswiftCore.so =>") }),
              let path = line.split(separator: " ").first(where: { $0.hasPrefix("/") }) else {
            throw SetupFailure("ldd fshost names no libswiftCore.so: \(r.output)")
        }
        return (String(path) as NSString).deletingLastPathComponent
    }

    /// `make install-files PREFIX=/usr DESTDIR=<sandbox>/dest`: the tree's
    /// prefix, and how long the install took.
    func install() throws -> (prefix: String, seconds: Double) {
        let destdir = sandbox.path("dest")
        let start = Date()
        let r = try ELFFixtures.run("/usr/bin/make", ["-s", "-C", try HostSandbox.repository(), "install-files",
                                                      "BIN=" + HostSandbox.products.path, "PREFIX=/usr",
                                                      "DESTDIR=" + destdir])
        guard r.status == 0 else { throw SetupFailure("make install-files: \(r.output)") }
        sandbox.extraEnvironment["FSHOST_PLUGIN_PATH"] = ""
        return (destdir + "/usr", Date().timeIntervalSince(start))
    }

    /// `readelf -d FILE`'s RUNPATH and RPATH values.
    func searchPaths(_ file: String) throws -> (runpath: String?, rpath: String?) {
        let r = try ELFFixtures.run("/usr/bin/readelf", ["-d", file])
        guard r.status == 0 else { throw SetupFailure("readelf -d \(file): \(r.output)") }
        func value(_ tag: String) -> String? {
            guard let line = r.output.split(separator: "\n").first(where: { $0.contains("(\(tag))") }),
                  let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
        return (value("RUNPATH"), value("RPATH"))
    }

    func testInstalledFilesCarryOnlyRelativeSearchPaths() throws {
        let toolchain = try toolchainLibraries()
        let (prefix, seconds) = try install()
        print("make install-files (debug products, DESTDIR): \(String(format: "%.2f", seconds)) s")
        let fm = FileManager.default
        var expected = ["bin/fshost": "$ORIGIN/../lib/fshost/swift",
                        "libexec/fshost/fshost-admin": "$ORIGIN/../../lib/fshost/swift"]
        let types = try fm.contentsOfDirectory(atPath: prefix + "/lib/fshost/resource_types")
        XCTAssertTrue(types.contains("template.so") && types.contains("webserver-http.so"), "\(types)")
        for so in types { expected["lib/fshost/resource_types/" + so] = "$ORIGIN/../swift" }
        for (file, runpath) in expected {
            let paths = try searchPaths(prefix + "/" + file)
            XCTAssertEqual(paths.runpath, runpath, file)
            XCTAssertNil(paths.rpath, file)
        }
        // The runtime: what the build loads from the toolchain, Foundation
        // too (fshost-admin), each a plain root file nobody else may write.
        let runtime = try fm.contentsOfDirectory(atPath: prefix + "/lib/fshost/swift")
        // Trimmed from the files, the runtime libraries stay in the tree for
        // whoever needs them (a vendor's plugin using async: libswift_Concurrency).
        for name in ["libswiftCore.so", "libswift_Concurrency.so", "libFoundation.so", "lib_FoundationICU.so", "libdispatch.so",
                     "libswift_StringProcessing.so", "libswift_RegexParser.so"] {
            XCTAssertTrue(runtime.contains(name), "\(name) not in lib/fshost/swift: \(runtime)")
        }
        for name in runtime {
            XCTAssertTrue(fm.fileExists(atPath: toolchain + "/" + name), "\(name) is not a toolchain library")
            let attributes = try fm.attributesOfItem(atPath: prefix + "/lib/fshost/swift/" + name)
            XCTAssertEqual(attributes[.posixPermissions] as? Int, 0o644, name)
            XCTAssertEqual(attributes[.type] as? FileAttributeType, .typeRegular, name)
        }
        let directory = try fm.attributesOfItem(atPath: prefix + "/lib/fshost/swift")
        XCTAssertEqual(directory[.posixPermissions] as? Int, 0o755)
        for doc in ["README.md", "ARCHITECTURE.md"] {
            XCTAssertGreaterThan(try Data(contentsOf: URL(fileURLWithPath: prefix + "/share/doc/fshost/" + doc)).count, 0, doc)
        }
    }

    /// `readelf -d FILE`'s DT_NEEDED names (AutolinkedRuntimeTests uses it too).
    static func neededLibraries(_ file: String) throws -> [String] {
        let r = try ELFFixtures.run("/usr/bin/readelf", ["-d", file])
        guard r.status == 0 else { throw SetupFailure("readelf -d \(file): \(r.output)") }
        return r.output.split(separator: "\n").filter { $0.contains("(NEEDED)") }.compactMap { line in
            guard let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
    }

    /// Issue 16: swiftc autolinks Concurrency, StringProcessing and
    /// RegexParser into every file; `make install-files` drops each runtime
    /// library a file uses no symbol of (Scripts/trim-needed.sh), and every
    /// installed ELF file still loads: `ldd -r` finds every library and
    /// every symbol.
    func testInstalledFilesNeedNoUnusedSwiftRuntimeAndStillLoad() throws {
        let (prefix, _) = try install()
        let fm = FileManager.default
        let unused = ["libswift_Concurrency.so", "libswift_StringProcessing.so", "libswift_RegexParser.so"]
        let types = try fm.contentsOfDirectory(atPath: prefix + "/lib/fshost/resource_types").filter { $0.hasSuffix(".so") }
        XCTAssertTrue(types.contains("template.so") && types.contains("ipfilter-nft.so"), "\(types)")
        // The action path and every in-tree plugin and companion: none of the three.
        for file in ["bin/fshost"] + types.map({ "lib/fshost/resource_types/" + $0 }) {
            let needed = try Self.neededLibraries(prefix + "/" + file)
            XCTAssertTrue(needed.contains("libswiftCore.so"), "\(file): \(needed)")
            for name in unused { XCTAssertFalse(needed.contains(name), "\(file) still needs \(name): \(needed)") }
        }
        let runtime = try fm.contentsOfDirectory(atPath: prefix + "/lib/fshost/swift").map { "lib/fshost/swift/" + $0 }
        for file in ["bin/fshost", "libexec/fshost/fshost-admin"] + types.map({ "lib/fshost/resource_types/" + $0 }) + runtime {
            let r = try ELFFixtures.run("/usr/bin/ldd", ["-r", prefix + "/" + file])
            XCTAssertEqual(r.status, 0, "\(file): \(r.output)")
            XCTAssertFalse(r.output.contains("undefined symbol"), "\(file): \(r.output)")
            XCTAssertFalse(r.output.contains("not found"), "\(file): \(r.output)")
            XCTAssertFalse(r.output.contains(try toolchainLibraries() + "/"), "\(file) loads from the toolchain: \(r.output)")
        }
    }

    /// The trim keeps what a file uses and refuses a file that does not
    /// load: a plugin stripped of its Swift libraries' DT_NEEDED fails with one
    /// line naming the file and an undefined symbol; a plain copy of the
    /// plugin loses only what it does not use.
    func testTrimKeepsWhatIsUsedAndRefusesAFileThatDoesNotLoad() throws {
        let toolchain = try toolchainLibraries()
        let script = try HostSandbox.repository() + "/Scripts/trim-needed.sh"
        let plugin = HostSandbox.products.appendingPathComponent("libtemplate.so").path
        let good = sandbox.path("good.so"), bad = sandbox.path("bad.so")
        for copy in [good, bad] {
            let r = try ELFFixtures.run("/usr/bin/install", ["-m", "0755", plugin, copy])
            guard r.status == 0 else { throw SetupFailure("install \(copy): \(r.output)") }
        }
        let before = try Self.neededLibraries(good)
        guard before.contains("libswift_Concurrency.so") else {
            throw SetupFailure("the build's libtemplate.so does not need libswift_Concurrency.so: \(before)")
        }
        var r = try ELFFixtures.run(script, [toolchain, good, "good.so"])
        XCTAssertEqual(r.status, 0, r.output)
        let after = try Self.neededLibraries(good)
        XCTAssertTrue(after.contains("libswiftCore.so") && after.contains("libc.so.6"), "\(after)")
        XCTAssertFalse(after.contains("libswift_Concurrency.so"), "\(after)")
        XCTAssertEqual(Set(after).subtracting(before), [], "the trim added a library")

        // Every Swift library gone: nothing brings libswiftCore in any more.
        for name in before where name.hasPrefix("libswift") {
            r = try ELFFixtures.run("/usr/bin/patchelf", ["--remove-needed", name, bad])
            guard r.status == 0 else { throw SetupFailure("patchelf: \(r.output)") }
        }
        r = try ELFFixtures.run(script, [toolchain, bad, "bad.so"])
        XCTAssertEqual(r.status, 1, r.output)
        let lines = r.output.split(separator: "\n")
        XCTAssertEqual(lines.count, 1, r.output)
        XCTAssertTrue(lines.first?.hasPrefix("make install: bad.so: undefined symbol ") ?? false, r.output)
    }

    /// Runs `steps` (name, argv) in a new mount namespace where
    /// `toolchain` is an empty tmpfs: what each printed (stdout and
    /// stderr) and its status. The namespace ends with the script; the
    /// toolchain is untouched outside it.
    func runHidden(toolchain: String, _ steps: [(String, [String])]) throws -> [String: (status: Int32, output: String)] {
        let directory = sandbox.path("steps")
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o700])
        for (index, (name, argv)) in steps.enumerated() {
            let file = directory + String(format: "/%02d-", index) + name + ".argv"
            try Data(argv.map { $0 + "\0" }.joined().utf8).write(to: URL(fileURLWithPath: file))
        }
        // argv only: each step's words are read NUL-separated, never through a shell word split.
        let script = """
        mount -t tmpfs -o size=1m,mode=0755 fshost-hidden-toolchain "$1" || exit 90
        for f in "$2"/*.argv; do
          mapfile -d '' argv < "$f"
          "${argv[@]}" > "${f%.argv}.out" 2>&1 < /dev/null
          echo $? > "${f%.argv}.status"
        done
        """
        let r = try sandbox.run("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/bash", "-c", script,
                                                     "hide", toolchain, directory])
        guard r.status == 0 else { throw SetupFailure("unshare -m with the toolchain hidden: \(r)") }
        var results: [String: (Int32, String)] = [:]
        for (index, (name, _)) in steps.enumerated() {
            let base = directory + String(format: "/%02d-", index) + name
            guard let status = (try? String(contentsOfFile: base + ".status", encoding: .utf8))
                .flatMap({ Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }) else {
                throw SetupFailure("step \(name) left no status")
            }
            results[name] = (status, (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? "")
        }
        return results
    }

    func testInstalledTreeRunsWithTheToolchainHidden() throws {
        let toolchain = try toolchainLibraries()
        let (prefix, _) = try install()
        let site = try NginxSite(name: "reloc")
        self.site = site
        let fshost = prefix + "/bin/fshost", admin = prefix + "/libexec/fshost/fshost-admin"
        let plugins = prefix + "/lib/fshost/resource_types"
        // A vendor's plugin, built with default flags and installed as it
        // is (untrimmed, its RUNPATH the build's): it names the autolinked
        // runtime libraries the trimmed fshost does not load, and fshost
        // loads them from its own runtime directory (AutolinkedRuntime).
        let vendor = HostSandbox.products.appendingPathComponent("libtestfixture.so").path
        let vendorNeeded = try Self.neededLibraries(vendor)
        guard vendorNeeded.contains("libswift_Concurrency.so"), vendorNeeded.contains("libswift_StringProcessing.so") else {
            throw SetupFailure("the build's libtestfixture.so does not name the autolinked libraries: \(vendorNeeded)")
        }
        let copied = try ELFFixtures.run("/usr/bin/install", ["-m", "0755", vendor, plugins + "/testfixture.so"])
        guard copied.status == 0 else { throw SetupFailure("install testfixture.so: \(copied.output)") }
        let results = try runHidden(toolchain: toolchain, [
            ("hidden", ["/bin/ls", "-A", toolchain]),
            ("build-tree", [HostSandbox.products.appendingPathComponent("fshost").path, "list"]),
            ("list", [fshost, "list"]),
            ("define-template", [fshost, "cdb", "define", "template", "t1"]),
            ("template-start", [fshost, "template", "start", "t1"]),
            ("template-monitor", [fshost, "template", "monitor", "t1"]),
            ("one-runtime", ["/usr/bin/env", "LD_DEBUG=libs", fshost, "template", "monitor", "t1"]),
            ("template-stop", [fshost, "template", "stop", "t1"]),
            ("define-webserver", [fshost, "cdb", "define", "webserver", "web1", "config=\(site.config)",
                                  "port=\(site.port)", "prefix=\(site.directory)"]),
            ("webserver-start", [fshost, "webserver", "start", "web1"]),
            ("webserver-monitor-3", [fshost, "webserver", "monitor", "web1", "--level", "3"]),
            ("webserver-stop", [fshost, "webserver", "stop", "web1"]),
            ("check-template", [fshost, "check", plugins + "/template.so"]),
            ("check-webserver", [fshost, "check", plugins + "/webserver.so"]),
            ("admin-describe", [admin, "describe", "webserver"]),
            ("admin-show", [admin, "cdb", "show", "webserver", "web1"]),
            ("admin-list", [admin, "list", "--names"]),
            ("define-vendor", [fshost, "cdb", "define", "testfixture", "v1", "port=1234"]),
            ("vendor-monitor", [fshost, "testfixture", "monitor", "v1"]),
        ])
        func expect(_ name: String, _ status: Int32, _ file: StaticString = #filePath, _ line: UInt = #line) -> String {
            guard let result = results[name] else { XCTFail("no step \(name)", file: file, line: line); return "" }
            XCTAssertEqual(result.status, status, "\(name): \(result.output)", file: file, line: line)
            return result.output
        }
        XCTAssertEqual(expect("hidden", 0), "", "the toolchain's libraries were not hidden")
        // The control: the build tree's fshost needs the toolchain, so here it cannot start.
        XCTAssertTrue(expect("build-tree", 127).contains("libswift"), "the build's fshost started without the toolchain")
        let list = expect("list", 0)
        XCTAssertTrue(list.contains("template") && list.contains("webserver"), list)
        _ = expect("define-template", 0)
        _ = expect("template-start", 0)
        _ = expect("template-monitor", 0)
        // One runtime: libswiftCore.so is initialised once, from the prefix
        // (the plugin's DT_NEEDED reuses the host's copy).
        let inits = expect("one-runtime", 0).split(separator: "\n").filter { $0.contains("calling init:") && $0.contains("libswiftCore.so") }
        XCTAssertEqual(inits.count, 1, "\(inits)")
        XCTAssertTrue(inits.first?.contains(prefix + "/bin/../lib/fshost/swift/libswiftCore.so") ?? false, "\(inits)")
        _ = expect("template-stop", 0)
        _ = expect("define-webserver", 0)
        _ = expect("webserver-start", 0)
        _ = expect("webserver-monitor-3", 0)  // its companion: libcurl, the plugin's runtime
        _ = expect("webserver-stop", 0)
        XCTAssertTrue(expect("check-template", 0).contains("needed-libraries"))
        XCTAssertTrue(expect("check-webserver", 0).contains("webserver-http"))
        XCTAssertTrue(expect("admin-describe", 0).contains("webserver"))
        XCTAssertTrue(expect("admin-show", 0).contains("web1"))
        XCTAssertTrue(expect("admin-list", 0).contains("template"))
        _ = expect("define-vendor", 0)
        let vendorRun = results["vendor-monitor"]
        XCTAssertNotEqual(vendorRun?.status, 7, vendorRun?.output ?? "no step vendor-monitor")
        XCTAssertFalse(vendorRun?.output.contains("refused") ?? true, vendorRun?.output ?? "no step vendor-monitor")
        XCTAssertTrue(FileManager.default.fileExists(atPath: toolchain + "/libswiftCore.so"),
                      "the tmpfs leaked out of its mount namespace")
        XCTAssertEqual(site.allPids(), [], "nginx still runs after stop")
    }

    /// The installed layout is held to the same checks as any other: a
    /// plugin directory another user may write is refused (7), naming it.
    func testInstalledPluginIsStillRefusedInAnUnsafeDirectory() throws {
        let (prefix, _) = try install()
        let plugins = prefix + "/lib/fshost/resource_types"
        var r = try sandbox.run(prefix + "/bin/fshost", ["check", plugins + "/template.so"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(chmod(plugins, 0o775), 0)
        r = try sandbox.run(prefix + "/bin/fshost", ["check", plugins + "/template.so"])
        XCTAssertEqual(r.status, 7, r.stdout + r.stderr)
        XCTAssertTrue((r.stdout + r.stderr).contains("directory-permissions"), r.stdout + r.stderr)
    }
}
