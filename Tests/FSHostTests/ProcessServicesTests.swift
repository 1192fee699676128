import CDB
import Foundation
import FSPluginABI
import PluginRecord
import ProcScan
import TestSupport
import XCTest
@testable import FSHost
@testable import PluginLoading

/// The host's process rules and services through the C boundary: a C plugin
/// (Tests/Fixtures/ProcessPlugin/cproc.c) built by the test against the
/// first published header (`cprocold`) and against the current one
/// (`cproc`), run by the real `fshost`, against real processes and a real
/// nginx.
final class ProcessServicesTests: XCTestCase {
    var sandbox: HostSandbox!
    var plugins = ""
    var children: [ChildProcess] = []

    static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures").path
    static let currentHeaderDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Sources/FSPluginABI/include").path

    override func setUpWithError() throws {
        plugins = try ELFFixtures.makeTemporaryDirectory(prefix: "cproc")
        let compiler = try XCTUnwrap(ELFFixtures.cCompiler, "no C compiler (cc, gcc or clang) in PATH: the fixture plugin is built with one")
        try Self.buildPlugin(type: "cprocold", header: Self.fixtures + "/ABI1", current: false, compiler: compiler, into: plugins)
        try Self.buildPlugin(type: "cproc", header: Self.currentHeaderDirectory, current: true, compiler: compiler, into: plugins)
        sandbox = try HostSandbox(pluginPath: plugins)
    }

    override func tearDown() {
        for child in children { child.stop() }
        children = []
        sandbox = nil
        ELFFixtures.remove(plugins)
    }

    /// Compiles cproc.c against the header in `header` into `<type>.so`, with the ELF record of this host.
    static func buildPlugin(type: String, header: String, current: Bool, compiler: String, into directory: String,
                            extraFlags: [String] = []) throws {
        let record = PluginRecord(abiVersion: 1, compilerVersion: compilerVersion, typeName: type).bytes
        var flags = ["-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-I", header,
                     "-DCPROC_TYPE_NAME=\"\(type)\"", "-DCPROC_RECORD_SIZE=\(record.count)",
                     "-DCPROC_RECORD=\(ELFFixtures.cArray(record))"]
        if current { flags.append("-DCPROC_CURRENT_ABI") }
        flags += extraFlags
        let output = directory + "/\(type).so"
        let result = try ELFFixtures.run(compiler, flags + ["-o", output, fixtures + "/ProcessPlugin/cproc.c"])
        guard result.status == 0 else { throw ELFFixtures.FixtureError("building \(type).so failed: \(result.output)") }
        try ELFFixtures.setMode(output, 0o755)
    }

    func define(_ type: String, _ resource: String, _ attributes: [String: String]) throws {
        try sandbox.store(type, resource, attributes)
    }

    /// A `sleep` with a unique argument, running (exec done) when this returns.
    func sleeper(file: StaticString = #filePath, line: UInt = #line) throws -> (child: ChildProcess, marker: String, start: UInt64) {
        let marker = "3000.\(Int.random(in: 100_000...999_999))"
        let child = try XCTUnwrap(ChildProcess(["sleep", marker]), file: file, line: line)
        children.append(child)
        // The kernel sets comm before the new argv is in place: wait for the argv.
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { ProcessEntry(pid: child.pid)?.arguments == ["sleep", marker] },
                      file: file, line: line)
        return (child, marker, try XCTUnwrap(processStartTime(pid: child.pid), file: file, line: line))
    }

    // MARK: A plugin built against the first header

    func testPluginBuiltAgainstTheFirstHeaderLoadsDeclaresAndAnswers() throws {
        let (child, marker, _) = try sleeper()
        try define("cprocold", "old", ["process_name": "sleep", "argument": marker])
        var r = try sandbox.fshost("cprocold", "monitor", "old")
        XCTAssertEqual(r.status, 0, r.description)
        r = try sandbox.fshost("cprocold", "exclusive", "old")
        XCTAssertEqual(r.status, 4, "its declared process runs: \(r)")
        r = try sandbox.fshost("cprocold", "monitor", "old", "--level", "2")
        XCTAssertEqual(r.status, 5, r.description)
        XCTAssertTrue(r.stderr.contains("level 1 only"), r.stderr)
        child.stop()
        r = try sandbox.fshost("cprocold", "monitor", "old")
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertTrue(r.stderr.contains("declared process sleep (argument \(marker)) is missing"), r.stderr)
        let d = try PluginLoader.load(path: plugins + "/cprocold.so", directory: plugins, type: "cprocold")
        XCTAssertEqual(ProcessPatternLayout.stride(of: d.descriptor), 16)
    }

    func testSecondDeclaredProcessIsReadWithThePluginsStride() throws {
        // Two declared processes: the second is found only at the plugin's own stride (16 or 32 bytes).
        for type in ["cprocold", "cproc"] {
            let (a, markerA, _) = try sleeper()
            let (b, markerB, _) = try sleeper()
            try define(type, "two", ["process_name": "sleep", "argument": markerA, "second_argument": markerB])
            XCTAssertEqual(try sandbox.fshost(type, "monitor", "two").status, 0, type)
            b.stop()
            let r = try sandbox.fshost(type, "monitor", "two")
            XCTAssertEqual(r.status, 3, "\(type): \(r)")
            XCTAssertTrue(r.stderr.contains("declared process sleep (argument \(markerB)) is missing"), "\(type): \(r.stderr)")
            a.stop()
        }
    }

    func testWrongPatternStrideIsRefusedBeforeAnyAction() throws {
        let compiler = try XCTUnwrap(ELFFixtures.cCompiler)
        try Self.buildPlugin(type: "cprocbad", header: Self.currentHeaderDirectory, current: true, compiler: compiler,
                             into: plugins, extraFlags: ["-DCPROC_PATTERN_SIZE=12"])
        let r = try sandbox.fshost("cprocbad", "monitor", "any")
        XCTAssertEqual(r.status, 7, r.description)
        XCTAssertTrue(r.stderr.contains("process_pattern_size 12"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)")
    }

    // MARK: The pid hint

    func testHintThatHoldsAnswersWithoutAScan() throws {
        let (child, marker, start) = try sleeper()
        let hinted = ProcessChecks.Declared(name: "sleep", argument: marker, pid: child.pid, startTime: start)
        let snapshot = ProcessTable.shared
        XCTAssertTrue(ProcessChecks.missing([hinted]).isEmpty)
        XCTAssertTrue(ProcessTable.shared === snapshot, "a hint that holds must not scan /proc")
        // A hint that fails (another start time, another process) falls back to the scan.
        for bad in [ProcessChecks.Declared(name: "sleep", argument: marker, pid: child.pid, startTime: start + 1),
                    ProcessChecks.Declared(name: "sleep", argument: marker, pid: 1, startTime: 0)] {
            XCTAssertTrue(ProcessChecks.missing([bad]).isEmpty, "\(bad.pid): the scan still finds it")
        }
        XCTAssertFalse(ProcessTable.shared === snapshot, "a failed hint scans")
        child.stop()
        XCTAssertEqual(ProcessChecks.missing([hinted]).count, 1)
    }

    func testCurrentPluginPassesItsHintThroughItsStride() throws {
        let (child, marker, start) = try sleeper()
        try define("cproc", "hinted", ["process_name": "sleep", "argument": marker, "pid": "\(child.pid)",
                                       "start_time": "\(start)"])
        XCTAssertEqual(try sandbox.fshost("cproc", "monitor", "hinted").status, 0)
        XCTAssertEqual(try sandbox.fshost("cproc", "exclusive", "hinted").status, 4)
        let d = try PluginLoader.load(path: plugins + "/cproc.so", directory: plugins, type: "cproc")
        XCTAssertEqual(ProcessPatternLayout.stride(of: d.descriptor), MemoryLayout<fshost_process_pattern>.size)
        child.stop()
        let r = try sandbox.fshost("cproc", "monitor", "hinted")
        XCTAssertEqual(r.status, 3, "the hinted process is gone and no other matches: \(r)")
    }

    // MARK: The services

    func testProcessMatches() throws {
        let (child, marker, start) = try sleeper()
        var n = 0
        func level2(_ attributes: [String: String]) throws -> HostSandbox.Result {
            n += 1
            try define("cproc", "m\(n)", attributes)
            return try sandbox.fshost("cproc", "monitor", "m\(n)", "--level", "2")
        }
        let pid = "\(child.pid)"
        XCTAssertEqual(try level2(["pid": pid, "start_time": "\(start)", "process_name": "sleep", "argument": marker]).status, 0)
        XCTAssertEqual(try level2(["pid": pid]).status, 0, "NULL name and argument: any process")
        XCTAssertEqual(try level2(["pid": pid, "start_time": "\(start + 1)"]).status, 1, "another start time")
        XCTAssertEqual(try level2(["pid": pid, "process_name": "sleeper"]).status, 1, "another name")
        XCTAssertEqual(try level2(["pid": pid, "argument": String(marker.dropFirst())]).status, 1,
                       "a part of an argument is not the argument")
        child.stop()
        XCTAssertEqual(try level2(["pid": pid, "start_time": "\(start)"]).status, 1, "gone")
    }

    func testGroupMembers() throws {
        let marker = "3000.\(Int.random(in: 100_000...999_999))"
        // The group leader is sh; two sleeps in its group, then `wait`.
        let leader = try XCTUnwrap(ChildProcess(["sh", "-c", "sleep \(marker) & sleep \(marker) & wait"]))
        children.append(leader)
        var sleeps: [ProcessEntry] = []
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            sleeps = ProcessTable().entries.filter { $0.processGroup == leader.pid && $0.arguments == ["sleep", marker] }
            return sleeps.count == 2
        })
        try define("cproc", "g", ["pid": "\(leader.pid)", "process_name": "sleep"])
        var r = try sandbox.fshost("cproc", "monitor", "g", "--level", "3")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertTrue(r.stderr.contains("group_members: 2: \(sleeps[0].pid) \(sleeps[1].pid)"), r.stderr)
        try define("cproc", "g2", ["pid": "\(leader.pid)"])
        r = try sandbox.fshost("cproc", "monitor", "g2", "--level", "3")
        XCTAssertTrue(r.stderr.contains("group_members: 3: \(leader.pid) "), "sh and its two sleeps: \(r.stderr)")
        let later = sleeps.map(\.startTime).max()!
        XCTAssertEqual(ProcessTable.members(ofGroup: leader.pid, matching: ProcessPattern(name: "sleep"),
                                            startedSince: later).map(\.pid),
                       sleeps.filter { $0.startTime >= later }.map(\.pid), "since: started at or after")
        XCTAssertEqual(ProcessTable.members(ofGroup: leader.pid, startedSince: later + 1_000_000).count, 0)
    }

    func testSignalProcessOnlyToTheSameProcess() throws {
        let (child, _, start) = try sleeper()
        var n = 0
        func stop(_ attributes: [String: String]) throws -> HostSandbox.Result {
            n += 1
            try define("cproc", "s\(n)", attributes)
            return try sandbox.fshost("cproc", "stop", "s\(n)")
        }
        var r = try stop(["pid": "\(child.pid)", "start_time": "\(start + 1)", "signal": "15"])
        XCTAssertTrue(r.stderr.contains("signal_process: 1 errno 0"), "another start time: nothing sent: \(r.stderr)")
        XCTAssertTrue(processAlive(pid: child.pid, startTime: start))
        r = try stop(["pid": "1", "signal": "15"])
        XCTAssertTrue(r.stderr.contains("signal_process: -1 errno \(EINVAL)"), "pid 1 is refused: \(r.stderr)")
        r = try stop(["pid": "\(child.pid)", "start_time": "\(start)", "signal": "15"])
        XCTAssertTrue(r.stderr.contains("signal_process: 0 errno 0"), r.stderr)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { child.hasExited })
        XCTAssertEqual(signalProcess(pid: child.pid, startTime: start, signal: 0), .gone, "a zombie is gone")
    }

    // MARK: The cases found by trying it as a user would, at the host's level

    /// A copy of nginx named `name` in `directory`, run in the foreground
    /// with `config` (no listeners): a master and one worker.
    func nginx(named name: String, config: String, in directory: String) throws -> ChildProcess {
        if let reason = NginxSite.unavailableReason { throw SetupFailure(reason) }
        let binary = "\(directory)/\(name)"
        XCTAssertTrue(ProcessFixtures.copyExecutable(from: NginxSite.binary, to: binary))
        try FileManager.default.createDirectory(atPath: (config as NSString).deletingLastPathComponent,
                                                withIntermediateDirectories: true)
        try """
        daemon off;
        worker_processes 1;
        pid \(directory)/\(name).pid;
        error_log \(directory)/\(name).error.log;
        events { worker_connections 16; }

        """.write(toFile: config, atomically: true, encoding: .utf8)
        let child = try XCTUnwrap(ChildProcess([binary, "-e", "\(directory)/\(name).error.log", "-p", directory, "-c", config]))
        children.append(child)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            ProcessEntry(pid: child.pid)?.arguments.first?.hasPrefix("nginx: master process") == true
        })
        return child
    }

    func testConfigThatIsASuffixOfTheRunningOnesIsAnotherResource() throws {
        // /X/nginx.conf and <dir>/srv/ha/X/nginx.conf; only the second runs.
        let directory = ProcessFixtures.makeTemporaryDirectory(prefix: "suffix")
        defer { ProcessFixtures.removeTree(directory) }
        let running = "\(directory)/srv/ha/X/nginx.conf"
        let master = try nginx(named: "nginx", config: running, in: directory)
        try define("cproc", "first", ["process_name": "nginx", "argument": "/X/nginx.conf"])
        try define("cproc", "second", ["process_name": "nginx", "argument": running])
        var r = try sandbox.fshost("cproc", "monitor", "first")
        XCTAssertEqual(r.status, 3, "its declared process is not the running nginx: \(r)")
        XCTAssertTrue(r.stderr.contains("declared process nginx (argument /X/nginx.conf) is missing"), r.stderr)
        r = try sandbox.fshost("cproc", "stop", "first")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertFalse(r.stderr.contains("TERM"), "stop of the first touches nothing: \(r.stderr)")
        XCTAssertFalse(master.hasExited)
        XCTAssertEqual(try sandbox.fshost("cproc", "monitor", "second").status, 0)
        XCTAssertEqual(try sandbox.fshost("cproc", "exclusive", "second").status, 4)
        r = try sandbox.fshost("cproc", "stop", "second")
        XCTAssertEqual(r.status, 0, r.description)
        XCTAssertTrue(r.stderr.contains("TERM to 1 process(es) \(master.pid)"), "the host stops the second's master: \(r.stderr)")
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { master.hasExited })
    }

    func testBinaryNamedLongerThanCommIsFound() throws {
        // `binary` = a copy of nginx named nginx-frontend-proxy (20 bytes; comm holds 15).
        let directory = ProcessFixtures.makeTemporaryDirectory(prefix: "longname")
        defer { ProcessFixtures.removeTree(directory) }
        let config = "\(directory)/front.conf"
        let master = try nginx(named: "nginx-frontend-proxy", config: config, in: directory)
        let start = try XCTUnwrap(processStartTime(pid: master.pid))
        try define("cproc", "front", ["process_name": "nginx-frontend-proxy", "argument": config])
        let r = try sandbox.fshost("cproc", "start", "front")
        XCTAssertEqual(r.status, 0, "start waits for the declared process and finds it: \(r)")
        XCTAssertLessThan(r.milliseconds, 3000, "not after the whole start timeout")
        XCTAssertEqual(try sandbox.fshost("cproc", "monitor", "front").status, 0)
        XCTAssertEqual(try sandbox.fshost("cproc", "exclusive", "front").status, 4)
        try define("cproc", "fronthint", ["process_name": "nginx-frontend-proxy", "argument": config,
                                          "pid": "\(master.pid)", "start_time": "\(start)"])
        XCTAssertEqual(try sandbox.fshost("cproc", "monitor", "fronthint", "--level", "2").status, 0, "process_matches")
    }
}
