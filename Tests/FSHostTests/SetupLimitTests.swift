import ELFCheck
import Foundation
import PluginRecord
import TestSupport
import XCTest
@testable import FSHost

/// Before the worker publishes its deadline (it knows it only once the
/// plugin is loaded and the resource read) the supervisor still bounds it:
/// a worker that hangs there — here a plugin constructor that never
/// returns — is killed after ``Supervisor/setupLimitMilliseconds`` and the
/// answer is `HA_TIMEDOUT` (review of issue 16, item 2).
final class SetupLimitTests: XCTestCase {
    /// A sandbox whose plugin path holds `type`.so: a record, an entry
    /// that is never called, and `constructor` (C, after `#include`s of
    /// stdio.h and unistd.h) run when the object is loaded.
    func constructorPluginSandbox(_ type: String, constructor: (HostSandbox) -> String) throws -> HostSandbox {
        let sandbox = try HostSandbox()
        let plugins = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        sandbox.pluginPath = plugins
        guard let cc = ELFFixtures.cCompiler else {
            throw SetupFailure("no C compiler (cc, gcc or clang) in PATH: this test builds its fixture with one")
        }
        let record = PluginRecord(abiVersion: 1, compilerVersion: compilerVersion, typeName: type).bytes
        let source = "#include <stdio.h>\n#include <unistd.h>\n"
            + "__attribute__((section(\".fshost_plugin\"), used, aligned(4)))\n"
            + "static const unsigned char fshost_record[\(record.count)] = \(ELFFixtures.cArray(record));\n"
            + "void *fshost_plugin_entry(void) { return 0; }\n"
            + constructor(sandbox)
        let plugin = plugins + "/\(type).so"
        try ELFFixtures.compileC(source, compiler: cc, flags: ["-shared", "-fPIC", "-O1"], output: plugin,
                                 in: sandbox.root.path, name: type)
        try ELFFixtures.setMode(plugin, 0o755)
        return sandbox
    }

    /// A sandbox whose plugin path holds `hangsinload`, whose constructor never returns.
    func hangingPluginSandbox() throws -> HostSandbox {
        try constructorPluginSandbox("hangsinload") { _ in
            "__attribute__((constructor)) static void hang(void) { for (;;) pause(); }\n"
        }
    }

    /// A sandbox whose plugin `forksinload` has a constructor that forks
    /// a child in the worker's process group and one in a session of its
    /// own (each writes its pid to `group.pid`, `session.pid`), then hangs.
    func forkingPluginSandbox() throws -> HostSandbox {
        try constructorPluginSandbox("forksinload") { sandbox in
            "static void note(const char *path) { FILE *f = fopen(path, \"w\"); if (f) { fprintf(f, \"%d\\n\", (int)getpid()); fclose(f); } }\n"
                + "__attribute__((constructor)) static void forks(void) {\n"
                + "  if (fork() == 0) { note(\"\(sandbox.path("group.pid"))\"); for (;;) pause(); }\n"
                + "  if (fork() == 0) { setsid(); note(\"\(sandbox.path("session.pid"))\"); for (;;) pause(); }\n"
                + "  for (;;) pause();\n}\n"
        }
    }

    /// fshost SIGKILLed while its worker is still in set-up (a plugin
    /// constructor that forked, then hung): what the constructor forked
    /// ends too, in the worker's process group or in a session of its own
    /// (review of issue 16, finding 1: both lived on under init).
    func testKillingFshostInSetUpEndsWhatAConstructorForked() throws {
        let sandbox = try forkingPluginSandbox()
        let host = try XCTUnwrap(LaunchedHost(sandbox, ["forksinload", "monitor", "r", "--timeout", "60s"]))
        var pids: [Int32] = []
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 10_000) {
            pids = ["group.pid", "session.pid"].compactMap {
                ProcessFixtures.readFile(sandbox.path($0)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
            return pids.count == 2
        }, "the constructor's children did not start")
        defer { for pid in pids { kill(pid, SIGKILL) } }
        XCTAssertTrue(pids.allSatisfy(ProcessFixtures.isRunning))
        kill(host.pid, SIGKILL)
        _ = host.wait(milliseconds: 5000)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { !pids.contains(where: ProcessFixtures.isRunning) },
                      "a child of the worker's set-up outlived fshost: \(pids.filter(ProcessFixtures.isRunning))")
    }

    /// An explicit `--timeout` bounds the set-up too, plus the grace
    /// (review of issue 16, finding 2: `--timeout 1` answered after the
    /// 15 s set-up limit).
    func testAnExplicitTimeoutBoundsTheSetUp() throws {
        let sandbox = try hangingPluginSandbox()
        let r = try sandbox.fshost("hangsinload", "monitor", "r", "--timeout", "2s")
        XCTAssertEqual(r.status, 8, r.description)
        XCTAssertTrue(r.stderr.contains("did not reach its action within its set-up limit"), r.description)
        let limit = 2_000 + Int(Supervisor.graceMilliseconds)
        XCTAssertGreaterThanOrEqual(r.milliseconds, limit - 100, r.description)
        XCTAssertLessThan(r.milliseconds, limit + 2_000, r.description)
    }

    func testAHangBeforeTheDeadlineIsBounded() throws {
        let sandbox = try hangingPluginSandbox()
        let r = try sandbox.fshost("hangsinload", "monitor", "r")
        XCTAssertEqual(r.status, 8, r.description)
        XCTAssertTrue(r.stderr.contains("did not reach its action within its set-up limit (\(Supervisor.setupLimitMilliseconds) ms at most"), r.description)
        XCTAssertGreaterThanOrEqual(r.milliseconds, Int(Supervisor.setupLimitMilliseconds) - 100, r.description)
        XCTAssertLessThan(r.milliseconds, Int(Supervisor.setupLimitMilliseconds) + 5_000, r.description)
    }

    /// The set-up limit is capped at the caller's deadline (review of issue
    /// 13, item 2): a batch with `--timeout 4s` and an OCF call with
    /// `OCF_RESKEY_CRM_meta_timeout=4000` whose plugin hangs in its load
    /// answer before 4 s (OUT whole, `HA_TIMEDOUT` / OCF 1), not at 15 s.
    func testAHangBeforeTheDeadlineAnswersBeforeTheCallersTimeout() throws {
        let sandbox = try hangingPluginSandbox()
        let input = sandbox.path("in"), out = sandbox.path("out")
        try "r1\nr2\n".write(toFile: input, atomically: true, encoding: .utf8)
        let r = try sandbox.fshost("hangsinload", "monitor", input, out, "--timeout", "4s")
        XCTAssertEqual(try String(contentsOfFile: out, encoding: .utf8), "r1 8\nr2 8\n", r.description)
        XCTAssertLessThan(r.milliseconds, 4_000, r.description)

        sandbox.extraEnvironment["OCF_RESOURCE_INSTANCE"] = "r"
        sandbox.extraEnvironment["OCF_RESKEY_CRM_meta_timeout"] = "4000"
        let o = try sandbox.fshost("ocf", "hangsinload", "monitor")
        XCTAssertEqual(o.status, 1, o.description)
        XCTAssertLessThan(o.milliseconds, 4_000, o.description)
    }
}
