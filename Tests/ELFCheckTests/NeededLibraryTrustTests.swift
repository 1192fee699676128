@testable import ELFCheck
import TrustedPaths
import Foundation
import TestSupport
import XCTest

/// What the loader loads along with a plugin passes PathTrust where it
/// resolves (issue 7, item 2): the real companion `libwebserver-http.so`
/// with its RUNPATH rewritten, as an attacker's copy would have it.
final class NeededLibraryTrustTests: XCTestCase {
    var directory = ""
    let nobody: uid_t = 65534

    override func setUpWithError() throws {
        directory = try ELFFixtures.makeTemporaryDirectory(prefix: "elftrust")
    }

    override func tearDown() {
        if !directory.isEmpty { ELFFixtures.remove(directory) }
    }

    /// The companion copied as `<directory>/webserver-http.so` with its
    /// RUNPATH replaced by `runpath` (same length or shorter, NUL-padded).
    func companion(runpath: String) throws -> String {
        let built = try XCTUnwrap(ELFFixtures.product("libwebserver-http.so"), "libwebserver-http.so not built")
        var bytes = try ELFFixtures.read(built)
        let old = Array("/opt/swift/usr/lib/swift/linux:$ORIGIN".utf8)
        let at = ELFFixtures.offsets(of: old, in: bytes)
        guard at.count == 1 else { throw SetupFailure("the companion's RUNPATH is not /opt/swift/usr/lib/swift/linux:$ORIGIN (found \(at.count) times)") }
        let new = Array(runpath.utf8)
        guard new.count <= old.count else { throw SetupFailure("RUNPATH \(runpath) is longer than the original") }
        bytes.replaceSubrange(at[0]..<(at[0] + old.count), with: new + [UInt8](repeating: 0, count: old.count - new.count))
        let path = directory + "/webserver-http.so"
        try ELFFixtures.write(bytes, to: path)
        return path
    }

    /// libcurl, copied (not linked) into `dir`, owned by `owner`.
    func plantLibcurl(in dir: String, owner: uid_t) throws {
        let system = try XCTUnwrap(["/usr/lib/x86_64-linux-gnu/libcurl.so.4", "/usr/lib/aarch64-linux-gnu/libcurl.so.4"]
            .first { FileManager.default.fileExists(atPath: $0) }, "no system libcurl.so.4")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try ELFFixtures.setMode(dir, 0o755)
        try ELFFixtures.copy(URL(fileURLWithPath: system).resolvingSymlinksInPath().path, to: dir + "/libcurl.so.4", mode: 0o755)
        XCTAssertEqual(chown(dir + "/libcurl.so.4", owner, 0), 0)
    }

    func verifier() -> PluginVerifier {
        PluginVerifier(expectedTypeName: "webserver-http", pluginDirectory: directory)
    }

    func neededCheck(_ path: String) -> PluginFileCheck? {
        verifier().report(path: path).checks.first { $0.name == "needed-libraries" }
    }

    /// The case of the report: RUNPATH to a directory holding another
    /// user's libcurl.so.4 — refused, and `open` (what the host loads
    /// through) throws before anything is loaded.
    func testALibraryOfAnotherUserIsRefused() throws {
        let path = try companion(runpath: directory + "/lb")
        try plantLibcurl(in: directory + "/lb", owner: nobody)
        let check = try XCTUnwrap(neededCheck(path))
        XCTAssertFalse(check.passed, check.detail)
        XCTAssertTrue(check.detail.contains("libcurl.so.4 would be loaded from \(directory)/lb/libcurl.so.4, which is not trusted")
                      && check.detail.contains("owned by uid 65534"), check.detail)
        XCTAssertThrowsError(try verifier().open(path: path)) { error in
            XCTAssertEqual((error as? PluginVerificationError)?.check, "needed-libraries")
        }
        // `fshost check` says so too (it used to print "all checks passed").
        let sandbox = try HostSandbox()
        let r = try sandbox.fshost("check", path)
        XCTAssertEqual(r.status, 7, r.description)
        XCTAssertTrue(r.stdout.contains("FAIL needed-libraries") && !r.stdout.contains("all checks passed"), r.stdout)
        // The same file owned by root passes: the rule, not the RUNPATH, refused it.
        XCTAssertEqual(chown(directory + "/lb/libcurl.so.4", 0, 0), 0)
        let passed = try XCTUnwrap(neededCheck(path))
        XCTAssertTrue(passed.passed, passed.detail)
        XCTAssertTrue(passed.detail.contains("libcurl.so.4 (\(directory)/lb)"), passed.detail)
    }

    /// A RUNPATH directory another user can write is refused even while the
    /// library is found elsewhere: a file dropped there later would be loaded.
    func testARunpathDirectoryOthersCanWriteIsRefused() throws {
        let path = try companion(runpath: directory + "/lb")
        try FileManager.default.createDirectory(atPath: directory + "/lb", withIntermediateDirectories: true)
        try ELFFixtures.setMode(directory + "/lb", 0o1777)
        let check = try XCTUnwrap(neededCheck(path))
        XCTAssertFalse(check.passed, check.detail)
        XCTAssertTrue(check.detail.contains("RUNPATH entry \(directory)/lb: directory \(directory)/lb is writable by others"), check.detail)
        // Missing, in a directory another user could create it in: refused too.
        let missing = try companion(runpath: "/tmp/no-such-lb")
        let check2 = try XCTUnwrap(neededCheck(missing))
        XCTAssertFalse(check2.passed, check2.detail)
        XCTAssertTrue(check2.detail.contains("another user could create it"), check2.detail)
    }

    func testARelativeRunpathIsRefused() throws {
        let path = try companion(runpath: "lb")
        let check = try XCTUnwrap(neededCheck(path))
        XCTAssertFalse(check.passed, check.detail)
        XCTAssertTrue(check.detail.contains("RUNPATH entry 'lb' is relative"), check.detail)
        // $LIB expands to a relative word (lib64, lib/<multiarch>).
        let token = try XCTUnwrap(neededCheck(try companion(runpath: "$LIB/lb")))
        XCTAssertFalse(token.passed, token.detail)
        XCTAssertTrue(token.detail.contains("RUNPATH entry '$LIB/lb' is relative"), token.detail)
    }

    /// What a trusted library loads in turn is held to the same rule: a
    /// root-owned stand-in libcurl.so.4 whose own RUNPATH finds another
    /// user's libinner.so.
    func testALibraryLoadedByALibraryIsChecked() throws {
        guard let cc = ELFFixtures.cCompiler else { throw SetupFailure("no C compiler: this test builds its libraries") }
        let inner = directory + "/in", outer = directory + "/lb"
        for d in [inner, outer] {
            try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
            try ELFFixtures.setMode(d, 0o755)
        }
        try ELFFixtures.compileC("int inner(void) { return 1; }\n", compiler: cc, flags: ["-shared", "-fPIC"],
                                 output: inner + "/libinner.so", in: directory, name: "inner")
        try ELFFixtures.compileC("int inner(void); int outer(void) { return inner(); }\n", compiler: cc,
                                 flags: ["-shared", "-fPIC", "-Wl,--enable-new-dtags", "-Wl,-rpath," + inner,
                                         "-Wl,-soname,libcurl.so.4", "-L" + inner, "-Wl,--no-as-needed", "-linner"],
                                 output: outer + "/libcurl.so.4", in: directory, name: "outer")
        XCTAssertEqual(chown(inner + "/libinner.so", nobody, 0), 0)
        let path = try companion(runpath: outer)
        let check = try XCTUnwrap(neededCheck(path))
        XCTAssertFalse(check.passed, check.detail)
        XCTAssertTrue(check.detail.contains("libinner.so would be loaded from \(inner)/libinner.so, which is not trusted"), check.detail)
    }

    /// What the rule costs: verify of the template (every DT_NEEDED loaded:
    /// only its RUNPATH entry is checked) and of the companion (libcurl and
    /// what it loads, ~30 libraries), with the closure walk timed alone.
    func testCostOfTheRule() throws {
        let template = try XCTUnwrap(ELFFixtures.product("libtemplate.so"))
        let http = try XCTUnwrap(ELFFixtures.product("libwebserver-http.so"))
        func microseconds(_ rounds: Int, _ body: () throws -> Void) rethrows -> Int {
            try body()
            let start = DispatchTime.now().uptimeNanoseconds
            for _ in 0..<rounds { try body() }
            return Int(Double(DispatchTime.now().uptimeNanoseconds - start) / Double(rounds) / 1000)
        }
        let verifyTemplate = try microseconds(200) { _ = try PluginVerifier(expectedTypeName: "template").verify(path: template) }
        let verifyHTTP = try microseconds(50) { _ = try PluginVerifier(expectedTypeName: "webserver-http").verify(path: http) }
        // One rule per check, as the verifier makes it: its memo (each
        // directory chain judged once, each name searched once) lives for one check.
        func fresh() -> NeededLibraryTrust { NeededLibraryTrust(trust: PathTrust(), elfClass: 2, dataEncoding: 1, machine: 62) }
        let curl = URL(fileURLWithPath: "/usr/lib/x86_64-linux-gnu/libcurl.so.4").resolvingSymlinksInPath().path
        let closure = microseconds(50) { XCTAssertNil(fresh().checkClosure([("libcurl.so.4", curl)])) }
        let runpath = microseconds(500) {
            XCTAssertNil(fresh().checkSearchPath(DynamicNames(needed: [], rpath: nil, runpath: "/opt/swift/usr/lib/swift/linux:$ORIGIN"), object: nil))
        }
        print("NeededLibraryTrust: verify(libtemplate.so) \(verifyTemplate) µs (its RUNPATH check \(runpath) µs); "
              + "verify(libwebserver-http.so) \(verifyHTTP) µs (libcurl's closure \(closure) µs)")
    }
}
