import Foundation
import TestSupport
import XCTest

/// A plugin written outside this tree, for real (issue 14, item 3):
/// `fshost scaffold Greeter --package DIR` in a temporary directory, `swift
/// build` of that package against this checkout (by path: FSKit and the
/// record plugin as another package's dependencies, so nothing of them may
/// need `unsafeFlags`), the host installed with `make install-files` (the
/// copy step of `make install`, from this build) and the plugin with the
/// package's own `make install`, both with PREFIX and DESTDIR; then the
/// installed `fshost` finds the plugin next to itself, verifies it, and runs
/// its actions. Last, an old plugin (another ABI version in its record) is
/// refused before load, naming both versions.
///
/// Cost: the package's debug build compiles the SDK's modules and the record
/// generator once more (about a minute on 2 cores); the time is printed.
final class OutOfTreeTests: XCTestCase {
    func testScaffoldedPackageBuildsInstallsAndRunsFromTheInstalledTree() throws {
        let sandbox = try HostSandbox()
        let repository = try HostSandbox.repository()
        guard let swift = ELFFixtures.findExecutable(["swift"]) else { throw SetupFailure("no swift in PATH") }
        let package = sandbox.path("greeter")
        let scaffold = try sandbox.fshost("scaffold", "Greeter", "--package", package)
        XCTAssertEqual(scaffold.status, 0, scaffold.stderr)

        // SwiftPM leaves its lock files in TMPDIR: the sandbox's own, removed with it.
        let tmp = sandbox.path("tmp")
        try FileManager.default.createDirectory(atPath: tmp, withIntermediateDirectories: false)
        sandbox.extraEnvironment["TMPDIR"] = tmp

        // The minimum build: the plugin's product only, debug, no tests.
        let started = Date()
        let build = try sandbox.run(swift, ["build", "--package-path", package, "--product", "greeter"])
        let seconds = Date().timeIntervalSince(started)
        print("OutOfTreeTests: swift build of the scaffolded package: \(String(format: "%.1f", seconds)) s")
        guard build.status == 0 else { throw SetupFailure("swift build of the scaffolded package: \(build.stdout)\(build.stderr)") }

        // Install: the host from this build, the plugin by its package's Makefile.
        let destdir = sandbox.path("root"), prefix = "/opt/fshost"
        let host = try ELFFixtures.run("/usr/bin/make", ["-s", "-C", repository, "install-files",
                                                         "BIN=" + HostSandbox.products.path, "PREFIX=" + prefix,
                                                         "DESTDIR=" + destdir])
        XCTAssertEqual(host.status, 0, "make install-files: \(host.output)")
        let plugin = try sandbox.run("/usr/bin/make", ["-s", "-C", package, "install", "CONFIG=debug",
                                                       "PREFIX=" + prefix, "DESTDIR=" + destdir, "SWIFT=" + swift])
        XCTAssertEqual(plugin.status, 0, "make install of the package: \(plugin) stdout: \(plugin.stdout)")
        let installed = destdir + prefix + "/lib/fshost/resource_types/greeter.so"
        let attributes = try FileManager.default.attributesOfItem(atPath: installed)
        XCTAssertEqual((attributes[.posixPermissions] as? Int).map { $0 & 0o777 }, 0o755)
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: destdir + prefix + "/lib/fshost/resource_types")
                        .filter { $0.hasPrefix(".") }, [], "no temporary file left")
        // Its RUNPATH reaches the runtime the host's install ships, as the host's own plugins' do:
        // no toolchain path of this machine (a node without it would refuse the plugin).
        let runpath = try ELFFixtures.run("/usr/bin/patchelf", ["--print-rpath", installed])
        XCTAssertEqual(runpath.status, 0, runpath.output)
        XCTAssertEqual(runpath.output.trimmingCharacters(in: .whitespacesAndNewlines), "$ORIGIN/../swift")

        // From the installed tree: no FSHOST_PLUGIN_PATH, the host's own directory.
        sandbox.extraEnvironment["FSHOST_PLUGIN_PATH"] = ""
        let fshost = destdir + prefix + "/bin/fshost"
        let list = try sandbox.run(fshost, ["list", "--names"])
        XCTAssertEqual(list.status, 0, list.stderr)
        XCTAssertTrue(list.stdout.split(separator: "\n").contains("greeter"), list.stdout)
        let check = try sandbox.run(fshost, ["check", installed])
        XCTAssertEqual(check.status, 0, check.stdout + check.stderr)
        let define = try sandbox.run(fshost, ["cdb", "define", "greeter", "g1", "greeting=hi"])
        XCTAssertEqual(define.status, 0, define.stderr)
        // The report's node: the build machine's toolchain directory hidden by a
        // tmpfs of mode 1777 (a RUNPATH into it would be refused as writable by
        // others), in a mount namespace of its own that ends with the script.
        let built = HostSandbox.products.appendingPathComponent("fshost").path
        let ldd = try ELFFixtures.run("/usr/bin/ldd", [built])
        guard let core = ldd.output.split(separator: "\n").first(where: { $0.contains("libswiftCore.so =>") }),
              let library = core.split(separator: " ").first(where: { $0.hasPrefix("/") }) else {
            throw SetupFailure("the built fshost does not load libswiftCore.so: \(ldd.output)")
        }
        let toolchain = (String(library) as NSString).deletingLastPathComponent
        let hidden = try sandbox.run("/usr/bin/unshare", ["-m", "--propagation", "private", "/bin/bash", "-c", """
            mount -t tmpfs -o size=1m,mode=1777 fshost-hidden-toolchain "$1" || exit 90
            "$2" check "$3" > /dev/null || exit 91
            "$2" greeter monitor g1; echo "monitor=$?"
            """, "hide", toolchain, fshost, installed])
        XCTAssertEqual(hidden.status, 0, "with the toolchain hidden: \(hidden)")
        XCTAssertTrue(hidden.stdout.contains("monitor=1"), "the plugin runs, not running yet: \(hidden)")
        let steps: [(String, Int32)] = [("monitor", 1), ("exclusive", 1), ("start", 0), ("start", 0), ("monitor", 0),
                                        ("exclusive", 4), ("restart", 0), ("monitor", 0), ("stop", 0), ("stop", 0),
                                        ("monitor", 1), ("validate", 0)]
        for (action, status) in steps {
            let result = try sandbox.run(fshost, ["greeter", action, "g1"])
            XCTAssertEqual(result.status, status, "greeter \(action): \(result)")
        }
        let verify = try sandbox.run(fshost, ["verify", "greeter", "g1"])
        XCTAssertEqual(verify.status, 0, "fshost verify of the package as scaffolded: \(verify.stdout)\(verify.stderr)")

        // An old plugin: its record says ABI 0. Replaced by rename, as an upgrade would.
        var bytes = try ELFFixtures.read(installed)
        let records = ELFFixtures.offsets(of: [0x46, 0x53, 0x48, 0x50, 0x01, 0x00], in: bytes)  // "FSHP", record layout 1
        XCTAssertEqual(records.count, 1, "one plugin record in the file")
        let record = try XCTUnwrap(records.first)
        bytes[record + 6] = 0; bytes[record + 7] = 0
        try ELFFixtures.write(bytes, to: installed + ".old")
        XCTAssertEqual(rename(installed + ".old", installed), 0)
        let refused = try sandbox.run(fshost, ["greeter", "monitor", "g1"])
        XCTAssertEqual(refused.status, 7, "HA_PLUGIN_REFUSED: \(refused)")
        XCTAssertTrue(refused.stderr.contains("ABI version 0") && refused.stderr.contains("ABI 1"),
                      "the refusal names both versions: \(refused.stderr)")
    }
}
