import Foundation
import TestSupport
import XCTest

/// `make install` lays out FailSafe's directory form (issue 13):
/// `<prefix>/lib/failsafe/resource_types/<type>/{exclusive,start,stop,monitor,restart}`,
/// each a link to the installed fshost, which runs batch mode with
/// srmd's arguments. Driven here the way srmd drives it: the action's
/// executable with `INFILE OUTFILE PARAMFILE`, no fshost variable for the
/// plugins (the installed tree finds its own).
final class FailSafeLayoutTests: XCTestCase {
    func testInstalledActionScriptsAnswerLikeSrmdExpects() throws {
        let sandbox = try HostSandbox()
        let products = HostSandbox.products
        let repository = products.deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: repository + "/Makefile") else {
            return XCTFail("no Makefile in \(repository)")
        }
        let prefix = sandbox.path("usr")
        let installed = try ELFFixtures.run("/usr/bin/make", ["-s", "-C", repository, "install-files",
                                                              "BIN=" + products.path, "PREFIX=" + prefix])
        XCTAssertEqual(installed.status, 0, installed.output)
        let fm = FileManager.default
        for type in ["template", "webserver"] {
            let directory = prefix + "/lib/failsafe/resource_types/" + type
            XCTAssertEqual(try fm.contentsOfDirectory(atPath: directory).sorted(),
                           ["exclusive", "monitor", "restart", "start", "stop"])
            for action in ["exclusive", "monitor", "restart", "start", "stop"] {
                XCTAssertTrue(fm.isExecutableFile(atPath: directory + "/" + action), action)
            }
        }
        XCTAssertFalse(fm.fileExists(atPath: prefix + "/lib/failsafe/resource_types/testfixture"), "test-only types are not installed")

        for name in ["vol1", "vol2", "vol3"] { try sandbox.store("template", name, [:]) }
        sandbox.extraEnvironment["FSHOST_PLUGIN_PATH"] = ""   // an empty value counts as unset
        let input = sandbox.path("in"), output = sandbox.path("out"), parameters = sandbox.path("params")
        try "vol1 0\nvol2 0\nvol3 0\nghost 0\n".write(toFile: input, atomically: false, encoding: .utf8)
        try "ClusterName lab\n".write(toFile: parameters, atomically: false, encoding: .utf8)
        let scripts = prefix + "/lib/failsafe/resource_types/template/"
        for (action, expected, status) in [("exclusive", "1", Int32(1)), ("start", "0", 6), ("monitor", "0", 6),
                                           ("restart", "0", 6), ("stop", "0", 6)] {
            try? fm.removeItem(atPath: output)
            let r = try sandbox.run(scripts + action, [input, output, parameters])
            XCTAssertEqual(r.status, status, "\(action): \(r.description)")
            let lines = try String(contentsOfFile: output, encoding: .utf8)
            XCTAssertEqual(lines, "vol1 \(expected)\nvol2 \(expected)\nvol3 \(expected)\nghost 6\n", "\(action): \(r.stderr)")
        }
        // Without the parameters file (it is optional).
        var r = try sandbox.run(scripts + "monitor", [input, output])
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "vol1 0\nvol2 0\nvol3 0\nghost 6\n", r.stderr)
        // Found through PATH (argv[0] is the bare action name, as execvp passes it).
        try fm.removeItem(atPath: output)
        r = try sandbox.run("/bin/sh", ["-c", "PATH=\(scripts):$PATH; exec monitor \"$0\" \"$1\"", input, output])
        XCTAssertEqual(r.status, 6, r.description)
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "vol1 0\nvol2 0\nvol3 0\nghost 6\n", r.stderr)
        // IN alone (IRIX FailSafe's optional output file): the exit status answers.
        try fm.removeItem(atPath: output)
        r = try sandbox.run(scripts + "monitor", [input])
        XCTAssertEqual(r.status, 6, r.description)
        XCTAssertTrue(r.stderr.contains("type=template resource=vol1 action=monitor"), r.stderr)
        XCTAssertFalse(fm.fileExists(atPath: output))
    }
}
