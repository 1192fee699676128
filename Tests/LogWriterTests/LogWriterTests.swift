// The logwriter plugin with a real writer: every test starts a shell loop
// that appends lines to a log in its own sandbox, drives it through `fshost`
// subprocesses (as a cluster manager does) with a private CDB, run and state
// directory, and leaves nothing running.
import Foundation
import TestSupport
import XCTest

final class LogWriterTests: XCTestCase {
    var sandbox: HostSandbox!

    let success: Int32 = 0, notRunning: Int32 = 1, invalidArguments: Int32 = 2, commandFailed: Int32 = 3
    let running: Int32 = 4, noConfigInfo: Int32 = 6

    override func setUpWithError() throws {
        for product in ["fshost", "fshost-admin", "liblogwriter.so"] {
            let path = HostSandbox.products.appendingPathComponent(product).path
            guard FileManager.default.fileExists(atPath: path) else { throw SetupFailure("\(path) is not built") }
        }
        sandbox = try HostSandbox()
        sandbox.extraEnvironment["FSHOST_DEBUG"] = "1"
        try FileManager.default.createDirectory(atPath: logDirectory, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
    }

    override func tearDown() {
        // Whatever a failed assertion left running: the writer's whole process group.
        if sandbox != nil {
            for pid in writerPids() { kill(-pid, SIGCONT); kill(-pid, SIGKILL) }
            XCTAssertTrue(wait(seconds: 3) { self.writerPids().isEmpty }, "a writer still runs after tearDown")
        }
        sandbox = nil
        super.tearDown()
    }

    // MARK: Helpers

    var logDirectory: String { sandbox.path("logs") }
    var log: String { logDirectory + "/writer.log" }
    var pidfile: String { sandbox.path("writer.pid") }

    /// A writer: one line every `interval` seconds (`tick N ok`), to stdout
    /// (appended to the log by fshost). The sandbox path in the script makes
    /// its process (and only it) findable.
    func loop(_ line: String = "tick $i ok", every interval: String = "0.1") -> String {
        ": \(sandbox.root.path); i=0; while :; do i=$((i+1)); echo \"\(line)\"; sleep \(interval); done"
    }

    /// `fshost cdb define logwriter NAME start_command=[sh -c LOOP] log_file=… pidfile=… EXTRA…`.
    func define(_ name: String = "w1", script: String? = nil, command argv: [String]? = nil, logFile: String? = nil,
                _ extra: [String] = []) throws {
        let command = try String(decoding: JSONSerialization.data(withJSONObject: argv ?? ["/bin/sh", "-c", script ?? loop()]),
                                 as: UTF8.self)
        let r = try sandbox.fshost(["cdb", "define", "logwriter", name, "start_command=\(command)", "log_file=\(logFile ?? log)",
                                    "pidfile=\(pidfile)"] + (extra.contains { $0.hasPrefix("retries=") } ? [] : ["retries=0"]) + extra)
        if r.status != 0 { throw SetupFailure("`fshost cdb define logwriter \(name)` answered \(r.status): \(r.stderr)") }
    }

    @discardableResult
    func run(_ arguments: String...) throws -> HostSandbox.Result { try sandbox.fshost(arguments) }

    func monitor(_ level: Int, _ name: String = "w1") throws -> HostSandbox.Result {
        try sandbox.fshost(["logwriter", "monitor", name, "--level", String(level)])
    }

    func start(_ name: String = "w1") throws {
        let r = try run("logwriter", "start", name)
        XCTAssertEqual(r.status, success, "start: \(r)")
    }

    /// Processes whose command line carries this sandbox's path (the writers).
    func writerPids() -> [Int32] {
        let marker = Data(sandbox.root.path.utf8)
        let me = getpid()
        return ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { entry in
            guard let pid = Int32(entry), pid != me,
                  let cmdline = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                  cmdline.range(of: marker) != nil,
                  let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")"), stat[stat.index(close, offsetBy: 2)] != "Z" else { return nil }
            return pid
        }
    }

    func writerPid() throws -> Int32 {
        let text = try String(contentsOfFile: pidfile, encoding: .utf8)
        return try XCTUnwrap(Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), "pidfile: '\(text)'")
    }

    func wait(seconds: Double, _ condition: () -> Bool) -> Bool {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            if condition() { return true }
            usleep(20_000)
        }
        return condition()
    }

    func append(_ text: String, to path: String? = nil) throws {
        let handle = try XCTUnwrap(FileHandle(forWritingAtPath: path ?? log))
        handle.seekToEndOfFile()
        handle.write(Data(text.utf8))
        handle.closeFile()
    }

    func create(_ path: String, _ text: String = "") throws {
        guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else { throw SetupFailure("cannot create \(path)") }
    }

    func size(_ path: String) -> Int64 {
        ((try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber)?.int64Value ?? -1
    }

    /// The bytes level 3 read, from its debug line.
    func bytesRead(_ r: HostSandbox.Result) -> Int? {
        guard let range = r.stderr.range(of: "level 3 read ") else { return nil }
        return Int(r.stderr[range.upperBound...].prefix { $0.isNumber })
    }

    // MARK: The life cycle

    func testStartMonitorEveryLevelStop() throws {
        try define("w1", ["expected_message=tick [0-9]+ ok", "error_pattern=ERROR|FATAL", "growth_window=3s"])
        for level in 1...3 { XCTAssertEqual(try monitor(level).status, notRunning, "monitor \(level) before start") }
        XCTAssertEqual(try run("logwriter", "exclusive", "w1").status, notRunning)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success, "stop of a stopped writer")

        try start()
        let pid = try writerPid()
        XCTAssertEqual(writerPids(), [pid], "one writer (the shell loop), the pidfile names it")
        // Its own session, not the caller's: nothing of fshost's holds it.
        XCTAssertEqual(getsid(pid), pid, "the writer leads its own session")
        let again = try run("logwriter", "start", "w1")
        XCTAssertEqual(again.status, success, "a second start: \(again)")
        XCTAssertEqual(try writerPid(), pid, "a second start starts no second writer")
        XCTAssertTrue(wait(seconds: 3) { self.size(self.log) > 0 }, "the writer's output goes to the log")
        usleep(300_000)
        for level in 1...3 {
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "monitor level \(level): \(r)")
        }
        XCTAssertEqual(try run("logwriter", "exclusive", "w1").status, running)

        let stopped = try run("logwriter", "stop", "w1")
        XCTAssertEqual(stopped.status, success, "stop: \(stopped)")
        XCTAssertTrue(wait(seconds: 2) { self.writerPids().isEmpty }, "left running: \(writerPids())")
        XCTAssertFalse(FileManager.default.fileExists(atPath: pidfile), "pidfile left behind")
        for level in 1...3 { XCTAssertEqual(try monitor(level).status, notRunning, "monitor \(level) after stop") }
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success, "a second stop")
    }

    // MARK: Failures each level catches

    func testLevel1CatchesAKilledWriter() throws {
        try define()
        try start()
        let pid = try writerPid()
        XCTAssertEqual(try monitor(1).status, success)
        kill(-pid, SIGKILL)
        XCTAssertTrue(wait(seconds: 2) { self.writerPids().isEmpty })
        let r = try monitor(1)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("no such process"), r.stderr)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success, "stop cleans up after the crash")
        XCTAssertEqual(try monitor(1).status, notRunning)
    }

    /// A writer stopped with SIGSTOP still exists (level 1 passes) but its
    /// log stops growing: level 2 fails once the growth window has passed;
    /// stop still ends it (CONT lets the pending TERM in), in seconds.
    func testLevel2CatchesAStoppedWriter() throws {
        try define("w1", ["growth_window=1s"])
        try start()
        let pid = try writerPid()
        usleep(300_000)
        XCTAssertEqual(try monitor(2).status, success)
        kill(-pid, SIGSTOP)
        usleep(300_000)
        XCTAssertEqual(try monitor(2).status, success, "within the window")
        usleep(1_300_000)
        XCTAssertEqual(try monitor(1).status, success, "a stopped process still exists")
        let r = try monitor(2)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("has not changed for") && r.stderr.contains("growth_window"), r.stderr)
        let stopped = try run("logwriter", "stop", "w1")
        XCTAssertEqual(stopped.status, success, stopped.description)
        XCTAssertLessThan(stopped.milliseconds, 8000, "a stopped writer is stopped without waiting out the timeout")
        XCTAssertTrue(wait(seconds: 2) { self.writerPids().isEmpty }, "left: \(writerPids())")
    }

    /// An error line fails level 3, and keeps failing it (a retry reads
    /// only newer lines and must not hide it) until the next start.
    func testLevel3CatchesAnErrorLine() throws {
        try define("w1", ["error_pattern=ERROR|FATAL", "retries=1", "retry_interval=200ms"])
        try start()
        usleep(300_000)
        XCTAssertEqual(try monitor(3).status, success)
        try append("2026-11-30 FATAL disk full\n")
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("FATAL disk full"), r.stderr)
        XCTAssertEqual(try monitor(3).status, commandFailed, "still failing: the error is kept until the next start")
        XCTAssertEqual(try monitor(2).status, success, "level 2 does not read lines")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
        try start()
        usleep(300_000)
        XCTAssertEqual(try monitor(3).status, success, "a new start forgets the old error line")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    func testLevel3CatchesAMissingExpectedMessage() throws {
        // Writes "working" lines; "heartbeat" only when told to (a file appears).
        let flag = sandbox.path("beat")
        let script = ": \(sandbox.root.path); while :; do if [ -e \(flag) ]; then echo heartbeat; else echo working; fi; sleep 0.1; done"
        try define("w1", script: script, ["expected_message=^heartbeat$", "growth_window=1s"])
        try create(flag)
        try start()
        usleep(400_000)
        XCTAssertEqual(try monitor(3).status, success, "heartbeats written")
        try FileManager.default.removeItem(atPath: flag)
        usleep(300_000)
        _ = try monitor(3)   // reads what was written up to the switch
        usleep(400_000)
        XCTAssertEqual(try monitor(3).status, success, "seen less than growth_window ago")
        usleep(1_000_000)
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("expected_message '^heartbeat$' was not written") && r.stderr.contains("within growth_window (1 s)"),
                      r.stderr)
        XCTAssertEqual(try monitor(2).status, success, "the log still grows")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    // MARK: Rotation is never a failure

    /// logrotate's default: the log renamed to log.1, a new log. The writer
    /// keeps writing to its open descriptor (log.1) for a while: those
    /// lines are read before the new file's.
    func testRotationByRenameIsNotAFailure() throws {
        try define("w1", ["expected_message=tick", "error_pattern=ERROR", "growth_window=2s"])
        try start()
        usleep(300_000)
        XCTAssertEqual(try monitor(3).status, success)
        XCTAssertEqual(rename(log, log + ".1"), 0)
        // Only the old file gets an error line after the rename: it must still be seen.
        try append("ERROR written to the old file after the rename\n", to: log + ".1")
        try create(log, "tick in the new file\n")
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, "the old file's rest is read first: \(r)")
        XCTAssertTrue(r.stderr.contains("written to the old file"), r.stderr)
        XCTAssertTrue(r.stderr.contains("rotated"), r.stderr)
        // Without an error: a rotation alone passes every level.
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
        try start()
        usleep(300_000)
        XCTAssertEqual(try monitor(3).status, success)
        XCTAssertEqual(rename(log, log + ".1"), 0)
        try create(log, "tick after rotation\n")
        for level in 2...3 { XCTAssertEqual(try monitor(level).status, success, "level \(level) after a rename rotation") }
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// Renamed with no new log yet (the writer has not reopened): it still
    /// writes to log.1, and is followed there: no failure at any level.
    func testARenamedLogWithoutANewOneIsFollowedInLog1() throws {
        try define("w1", ["expected_message=tick", "growth_window=1s"])
        try start()
        usleep(300_000)
        XCTAssertEqual(try monitor(3).status, success)
        XCTAssertEqual(rename(log, log + ".1"), 0)
        usleep(1_200_000)
        for level in 2...3 {
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "level \(level), the writer still writing to log.1: \(r)")
        }
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// logrotate's copytruncate: the log copied to log.1, then cut to 0.
    func testRotationByCopyTruncateIsNotAFailure() throws {
        try define("w1", ["expected_message=tick", "growth_window=2s"])
        try start()
        usleep(300_000)
        XCTAssertEqual(try monitor(3).status, success)
        usleep(200_000)
        try FileManager.default.copyItem(atPath: log, toPath: log + ".1")
        XCTAssertEqual(truncate(log, 0), 0)
        for level in 2...3 {
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "level \(level) after copy-truncate: \(r)")
        }
        usleep(300_000)
        XCTAssertEqual(try monitor(3).status, success, "and the next check reads the refilled file")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// A rotation whose new file has exactly the old file's length, with
    /// the writer quiet (output to /dev/null; the test writes the log):
    /// size alone would call it stuck; the new inode says it changed.
    func testSameLengthRotationIsNotAFailure() throws {
        try create(log, "line one\n")
        try define("w1", script: ": \(sandbox.root.path); while :; do sleep 0.1; done", ["output=null", "growth_window=1s"])
        try start()
        XCTAssertEqual(try monitor(2).status, success)
        usleep(1_200_000)
        XCTAssertEqual(try monitor(2).status, commandFailed, "unchanged past the window: stuck")
        XCTAssertEqual(rename(log, log + ".1"), 0)
        try create(log, "line two\n")
        XCTAssertEqual(size(log), size(log + ".1"), "the same length")
        let r = try monitor(2)
        XCTAssertEqual(r.status, success, "a same-length rotation is activity: \(r)")
        XCTAssertTrue(r.stderr.contains("rotated"), r.stderr)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// A line being written is judged once it is complete.
    func testAPartialLastLineIsKeptForTheNextCheck() throws {
        try define("w1", script: ": \(sandbox.root.path); while :; do sleep 0.1; done", ["output=null", "error_pattern=FATAL error"])
        try create(log)
        try start()
        try append("ok\nFATAL")
        XCTAssertEqual(try monitor(3).status, success, "'FATAL' alone is no complete line yet")
        try append(" error: gone\n")
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("FATAL error: gone"), "the line is read whole: \(r.stderr)")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// expected_message is matched only until it is first seen; the error
    /// pattern is still matched in every line after it: in the same block
    /// of the read and in a later one (more than LogFollower.blockSize
    /// further on). An expected message that comes only in a later block
    /// is found there.
    func testTheErrorPatternIsCaughtAfterTheExpectedMessageWasSeen() throws {
        try define("w1", script: ": \(sandbox.root.path); while :; do sleep 0.1; done",
                   ["output=null", "expected_message=heartbeat", "error_pattern=FATAL|PANIC", "growth_window=1h"])
        try create(log)
        // 384 KiB: three of LogFollower.blockSize (128 KiB).
        let filler = String(repeating: "INFO all quiet here, nothing to see\n", count: 3 * (128 << 10) / 36)
        for (text, caught) in [("INFO heartbeat\nFATAL near\n", "FATAL near"),
                               ("INFO heartbeat\n" + filler + "PANIC far\nINFO heartbeat\n", "PANIC far")] {
            try start()
            try append(text)
            let r = try monitor(3)
            XCTAssertEqual(r.status, commandFailed, r.description)
            XCTAssertTrue(r.stderr.contains("an error line was written") && r.stderr.contains(caught), r.stderr)
            XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
        }
        try start()
        try append(filler + "INFO heartbeat late\n")
        let r = try monitor(3)
        XCTAssertEqual(r.status, success, "the expected message in a later block is found: \(r)")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// A 1 GiB log (sparse: made with ftruncate) with 1 MiB appended: level
    /// 3 reads the 1 MiB, not the GiB.
    func testA1GiBLogIsReadInProportionToWhatWasAppended() throws {
        let fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        guard fd >= 0, ftruncate(fd, 1 << 30) == 0 else { throw SetupFailure("cannot make a 1 GiB sparse log: errno \(errno)") }
        close(fd)
        try define("w1", script: ": \(sandbox.root.path); while :; do sleep 0.1; done",
                   ["output=null", "expected_message=heartbeat", "error_pattern=FATAL"])
        try start()
        let line = String(repeating: "x", count: 90) + " heartbeat\n"   // 101 bytes
        var text = ""
        while text.utf8.count + line.utf8.count <= 1 << 20 { text += line }
        try append(text)
        let r = try monitor(3)
        XCTAssertEqual(r.status, success, r.description)
        let read = try XCTUnwrap(bytesRead(r), "no debug line: \(r.stderr)")
        XCTAssertEqual(read, text.utf8.count, "read exactly what was appended (\(text.utf8.count) bytes) of a \(size(log))-byte log")
        XCTAssertEqual(bytesRead(try monitor(3)), 0, "nothing new: nothing read")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// A check slower than its level's timeout is a failure, not health
    /// (here 8 MiB to match against a 1 ms read_timeout; the pattern has
    /// no required literal, so every line goes through regexec, ~12 ms).
    func testALevelSlowerThanItsTimeoutFails() throws {
        try define("w1", script: ": \(sandbox.root.path); while :; do sleep 0.1; done",
                   ["output=null", "error_pattern=(FATAL|PANIC)", "read_timeout=1ms"])
        try create(log)
        try start()
        try append(String(repeating: String(repeating: "y", count: 99) + "\n", count: 80_000))
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("read_timeout (1 ms)"), r.stderr)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// A writer that ignores TERM is killed within the stop timeout.
    func testStopEscalatesToKillForAWriterIgnoringTerm() throws {
        try define("w1", script: ": \(sandbox.root.path); trap '' TERM; while :; do echo tick; sleep 0.1; done",
                   ["stop_timeout=3s"])
        try start()
        let stopped = try run("logwriter", "stop", "w1")
        XCTAssertEqual(stopped.status, success, stopped.description)
        XCTAssertTrue(stopped.stderr.contains("KILL"), stopped.stderr)
        XCTAssertTrue(wait(seconds: 2) { self.writerPids().isEmpty }, "left: \(writerPids())")
    }

    // MARK: Bad input

    func testMissingLogDirectoryIsNoConfigInfo() throws {
        let r = try sandbox.fshost(["cdb", "define", "logwriter", "w1", "start_command=[\"/bin/true\"]",
                                    "log_file=\(sandbox.path("nowhere"))/writer.log", "pidfile=\(pidfile)"])
        XCTAssertEqual(r.status, success, r.description)
        for action in ["validate", "start"] {
            let v = try run("logwriter", action, "w1")
            XCTAssertEqual(v.status, noConfigInfo, "\(action): \(v)")
            XCTAssertTrue(v.stderr.contains("attribute 'log_file': directory") && v.stderr.contains("No such file"), v.stderr)
        }
        XCTAssertEqual(writerPids(), [], "nothing started")
    }

    func testLogDirectoryOthersCanWriteIsRefused() throws {
        chmod(logDirectory, 0o777)
        try define()
        let v = try run("logwriter", "start", "w1")
        XCTAssertEqual(v.status, noConfigInfo, v.description)
        XCTAssertTrue(v.stderr.contains("writable by others"), v.stderr)
        XCTAssertEqual(writerPids(), [], "nothing started")
    }

    /// Refused by `cdb define`/`modify` (the host's regex flag, finding 8);
    /// stored unchecked (a hand edit), refused by every action, saying where.
    func testInvalidRegularExpressionSaysWhere() throws {
        for bad in ["ok(ERROR|FATAL", "(a|aa)*\\1x"] {
            let d = try sandbox.fshost(["cdb", "define", "logwriter", "w1", "start_command=[\"/bin/true\"]",
                                        "log_file=\(log)", "error_pattern=\(bad)"])
            XCTAssertEqual(d.status, invalidArguments, "define with \(bad): \(d)")
            XCTAssertTrue(d.stderr.contains("error_pattern") && d.stderr.contains("regular expression"), d.stderr)
        }
        try define("w1")
        let m = try run("cdb", "modify", "logwriter", "w1", "expected_message=[z-a]")
        XCTAssertEqual(m.status, invalidArguments, "modify: \(m)")
        XCTAssertTrue(m.stderr.contains("expected_message") && m.stderr.contains("Invalid range end"), m.stderr)
        try sandbox.store("logwriter", "w2", ["start_command": "[\"/bin/sh\",\"-c\",\"sleep 1\"]", "log_file": log,
                                              "pidfile": pidfile, "error_pattern": "ok(ERROR|FATAL"])
        for (action, level) in [("validate", nil), ("start", nil), ("monitor", "1"), ("monitor", "3")] as [(String, String?)] {
            let r = try sandbox.fshost(["logwriter", action, "w2"] + (level.map { ["--level", $0] } ?? []))
            XCTAssertEqual(r.status, invalidArguments, "\(action) \(level ?? ""): \(r)")
            XCTAssertTrue(r.stderr.contains("error_pattern"), r.stderr)
            XCTAssertTrue(r.stderr.contains("Unmatched ( or \\(") && r.stderr.contains("at byte 2"), r.stderr)
        }
        XCTAssertEqual(writerPids(), [], "nothing started")
    }

    func testGrowthWindowOfZeroOrLessIsRefused() throws {
        for value in ["0", "0s", "-5s"] {
            let r = try sandbox.fshost(["cdb", "define", "logwriter", "w1", "start_command=[\"/bin/true\"]",
                                        "log_file=\(log)", "growth_window=\(value)"])
            XCTAssertEqual(r.status, invalidArguments, "growth_window=\(value): \(r)")
            XCTAssertTrue(r.stderr.contains("growth_window"), r.stderr)
        }
        // Stored unchecked (a hand edit): refused before any action runs.
        try sandbox.store("logwriter", "w1", ["start_command": "[\"/bin/true\"]", "log_file": log, "growth_window": "0ms"])
        let r = try monitor(2)
        XCTAssertEqual(r.status, invalidArguments, r.description)
        XCTAssertTrue(r.stderr.contains("growth_window"), r.stderr)
    }

    /// A state file that does not parse is reset with a warning (the
    /// window and the read position start again), never a crash.
    func testCorruptedStateIsResetWithAWarning() throws {
        try define("w1", ["expected_message=tick"])
        try start()
        usleep(300_000)
        let state = sandbox.path("state") + "/logwriter/w1/"
        for level in [2, 3] {
            // Every part of the watch (growth mark, read position, when expected_message was seen) unreadable.
            try Data("grow1 garbage|log1 garbage \u{1}|x\n".utf8).write(to: URL(fileURLWithPath: state + "watch"))
            chmod(state + "watch", 0o600)
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "level \(level) with a corrupted state: \(r)")
            XCTAssertTrue(r.stderr.contains("is corrupted") && r.stderr.contains("starts again"), r.stderr)
        }
        usleep(300_000)
        let next = try monitor(3)
        XCTAssertEqual(next.status, success, next.description)
        XCTAssertFalse(next.stderr.contains("corrupted"), "reset once: \(next.stderr)")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// Monitors at once (a cluster manager's probe and an operator's) take
    /// turns on the host's resource lock: every one answers, and the state
    /// they leave parses (no corrupted-state warning afterwards).
    func testConcurrentMonitorsCannotCorruptTheState() throws {
        try define("w1", ["error_pattern=FATAL"])
        try start()
        usleep(300_000)
        let monitors = try (0..<8).map { _ -> Process in
            let p = Process()
            p.executableURL = HostSandbox.products.appendingPathComponent("fshost")
            p.arguments = ["logwriter", "monitor", "w1", "--level", "3"]
            p.environment = sandbox.environment
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            return p
        }
        for p in monitors { p.waitUntilExit() }
        XCTAssertEqual(monitors.map(\.terminationStatus), Array(repeating: success, count: 8), "every concurrent monitor passes")
        let after = try monitor(3)
        XCTAssertEqual(after.status, success, after.description)
        XCTAssertFalse(after.stderr.contains("corrupted"), after.stderr)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// A writer killed between writing a new state and renaming it over the
    /// old leaves a temporary file: the old state stays the one read.
    func testATemporaryLeftByACrashedWriteLeavesTheOldStateValid() throws {
        try define("w1", ["error_pattern=FATAL"])
        try start()
        usleep(300_000)
        XCTAssertEqual(try monitor(3).status, success)
        let directory = sandbox.path("state") + "/logwriter/w1/"
        let old = try String(contentsOfFile: directory + "watch", encoding: .utf8)
        // What a write killed before its rename leaves (the host names temporaries .tmp.KEY.PID).
        try Data("grow1 1 2|log1 half-writ".utf8).write(to: URL(fileURLWithPath: directory + ".tmp.watch.999999"))
        try append("FATAL after the crash\n")
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, "read on from the old position: \(r)")
        XCTAssertTrue(r.stderr.contains("FATAL after the crash") && !r.stderr.contains("corrupted"), r.stderr)
        XCTAssertNotEqual(try String(contentsOfFile: directory + "watch", encoding: .utf8), old, "the position moved on")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// A position that cannot be stored fails the check with the reason:
    /// never a silent reread of the same lines.
    func testAStateWriteThatFailsIsAFailure() throws {
        try define("w1", ["expected_message=tick"])
        try start()
        usleep(300_000)
        let state = sandbox.path("state") + "/logwriter/w1/watch"
        try FileManager.default.removeItem(atPath: state)
        try FileManager.default.createDirectory(atPath: state + "/blocker", withIntermediateDirectories: true)
        let r = try monitor(3)
        XCTAssertEqual(r.status, 9, "HA_HOST_ERROR: the node's state directory, not the writer: \(r)")
        XCTAssertTrue(r.stderr.contains("the read position could not be remembered: state 'watch' not written; "), r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "is not a regular file").count, 2, "the cause named once: \(r.stderr)")
        try FileManager.default.removeItem(atPath: state)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    // MARK: Found by review (each finding a test)

    /// Finding 1: the log and every directory above it are held to the
    /// host's trust rule on every level 2 and 3 check, not only at start:
    /// a mode or owner changed on a running resource fails the check,
    /// naming where the file really is (a symbolic link's target).
    func testTheLogsTrustIsCheckedOnEveryMonitor() throws {
        let inner = logDirectory + "/inner", log = logDirectory + "/inner/writer.log"
        try FileManager.default.createDirectory(atPath: inner, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try define("w1", logFile: log, ["expected_message=tick", "error_pattern=ERROR"])
        try start()
        usleep(300_000)
        for level in [2, 3] { XCTAssertEqual(try monitor(level).status, success) }
        for (what, spoil, mend): (String, () -> Void, () -> Void) in [
            ("log 0666", { chmod(log, 0o666) }, { chmod(log, 0o644) }),
            ("log owned by another user", { chown(log, 4242, 4242) }, { chown(log, 0, 0) }),
            ("directory 0777", { chmod(inner, 0o777) }, { chmod(inner, 0o755) }),
            ("directory 1777", { chmod(inner, 0o1777) }, { chmod(inner, 0o755) }),
            ("parent directory 0777", { chmod(self.logDirectory, 0o777) }, { chmod(self.logDirectory, 0o755) }),
        ] {
            spoil()
            for level in [2, 3] {
                let r = try monitor(level)
                XCTAssertEqual(r.status, commandFailed, "\(what), level \(level): \(r)")
                XCTAssertTrue(r.stderr.contains("writable by") || r.stderr.contains("owned by uid 4242"), "\(what): \(r.stderr)")
            }
            mend()
            let mended = try monitor(3)
            XCTAssertEqual(mended.status, success, "\(what) mended: \(mended)")
        }
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)

        // A log that is a symbolic link to another user's file: refused, naming the target.
        let other = sandbox.path("other.log")
        try create(other)
        chown(other, 4242, 4242)
        let link = logDirectory + "/linked.log"
        XCTAssertEqual(symlink(other, link), 0)
        try define("w2", logFile: link, ["output=null"])
        let v = try run("logwriter", "validate", "w2")
        XCTAssertEqual(v.status, noConfigInfo, v.description)
        XCTAssertTrue(v.stderr.contains(other) && v.stderr.contains("owned by uid 4242"), v.stderr)

        // A parent directory others can write (not sticky): refused by validate.
        let open = logDirectory + "/open"
        try FileManager.default.createDirectory(atPath: open + "/inner", withIntermediateDirectories: true)
        chmod(open, 0o777)
        try define("w3", logFile: open + "/inner/writer.log")
        let p = try run("logwriter", "validate", "w3")
        XCTAssertEqual(p.status, noConfigInfo, p.description)
        XCTAssertTrue(p.stderr.contains("parent directory \(open) is writable by others"), p.stderr)
        XCTAssertEqual(writerPids(), [], "nothing started")
    }

    /// Finding 2: the program runs as root: its path is absolute (no
    /// lookup in the caller's directory or PATH) and it passes the host's
    /// trust rule (owner, mode, every directory up to /), at validate and
    /// start; nothing runs otherwise.
    func testTheProgramMustBeAbsoluteAndTrusted() throws {
        let script = logDirectory + "/writer.sh"
        try create(script, "#!/bin/sh\n: \(sandbox.root.path); while :; do echo tick; sleep 0.1; done\n")
        chmod(script, 0o755)
        for (name, argv) in [("rel", ["./writer.sh"]), ("bare", ["sh", "-c", "echo"])] {
            try define(name, command: argv, ["working_directory=\(logDirectory)"])
            for action in ["validate", "start"] {
                let r = try run("logwriter", action, name)
                XCTAssertEqual(r.status, invalidArguments, "\(name) \(action): \(r)")
                XCTAssertTrue(r.stderr.contains("must be an absolute path"), r.stderr)
            }
        }
        chown(script, 4242, 4242)
        try define("owned", command: [script])
        for action in ["validate", "start"] {
            let r = try run("logwriter", action, "owned")
            XCTAssertEqual(r.status, noConfigInfo, "\(action): \(r)")
            XCTAssertTrue(r.stderr.contains("executable \(script) is owned by uid 4242"), r.stderr)
        }
        chown(script, 0, 0)
        chmod(script, 0o777)
        XCTAssertEqual(try run("logwriter", "validate", "owned").status, noConfigInfo, "a program others can write")
        // In a sticky world-writable directory (/tmp itself): another user could have put it there.
        let inTmp = "/tmp/logwriter-test-\(getpid()).sh"
        try create(inTmp, "#!/bin/sh\nexit 0\n")
        defer { unlink(inTmp) }
        chmod(inTmp, 0o755)
        try define("tmp", command: [inTmp])
        let t = try run("logwriter", "validate", "tmp")
        XCTAssertEqual(t.status, noConfigInfo, t.description)
        XCTAssertTrue(t.stderr.contains("directory /tmp is writable by others"), t.stderr)
        XCTAssertEqual(writerPids(), [], "nothing started")
        // Trusted: runs.
        chmod(script, 0o755)
        XCTAssertEqual(try run("logwriter", "validate", "owned").status, success)
    }

    /// Finding 3: a back-reference (exponential matching in glibc) is
    /// refused with the reason wherever the pattern is used.
    func testABackReferenceIsRefused() throws {
        try sandbox.store("logwriter", "w1", ["start_command": "[\"/bin/sh\",\"-c\",\"sleep 1\"]", "log_file": log,
                                              "pidfile": pidfile, "error_pattern": "(a|aa)*\\1\\1x"])
        for arguments in [["validate", "w1"], ["start", "w1"], ["monitor", "w1", "--level", "3"]] {
            let r = try sandbox.fshost(["logwriter"] + arguments)
            XCTAssertEqual(r.status, invalidArguments, "\(arguments): \(r)")
            XCTAssertTrue(r.stderr.contains("error_pattern") && r.stderr.contains("back-reference"), r.stderr)
        }
        XCTAssertEqual(writerPids(), [], "nothing started")
    }

    /// Finding 4: lines not judged within read_timeout are not taken as
    /// read: the error line behind them is reported by the next check.
    func testLinesNotJudgedInTimeAreReadAgain() throws {
        try define("w1", script: ": \(sandbox.root.path); while :; do sleep 0.1; done",
                   // Parenthesised: no required literal, so every line goes
                   // through regexec (8 MB: ~12 ms); the memchr search for
                   // FATAL would judge them all within the 1 ms.
                   ["output=null", "error_pattern=(FATAL|PANIC)", "read_timeout=1ms"])
        try create(log)
        try start()
        try append(String(repeating: String(repeating: "y", count: 99) + "\n", count: 80_000) + "FATAL behind the slow lines\n")
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("read_timeout (1 ms)") && r.stderr.contains("read again next time"), r.stderr)
        let m = try run("cdb", "modify", "logwriter", "w1", "read_timeout=10s", "--force")
        XCTAssertEqual(m.status, success, m.description)
        let again = try monitor(3)
        XCTAssertEqual(again.status, commandFailed, again.description)
        XCTAssertTrue(again.stderr.contains("FATAL behind the slow lines"), again.stderr)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// Finding 6: a writer that exits at once fails start at once, with
    /// how it ended, not after the whole start timeout.
    func testAWriterThatExitsAtOnceFailsStartAtOnce() throws {
        try define("w1", script: ": \(sandbox.root.path); echo bye; exit 7")
        let r = try run("logwriter", "start", "w1")
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("exited with status 7"), r.stderr)
        XCTAssertLessThan(r.milliseconds, 5000, "not the start timeout")
    }

    /// Finding 7: output=null and a writer that creates its log later:
    /// missing within growth_window after start is no failure; missing
    /// longer is, saying so; its appearing is activity.
    func testALogNotCreatedYetIsGivenTheGrowthWindow() throws {
        try define("w1", script: ": \(sandbox.root.path); while :; do sleep 0.1; done", ["output=null", "growth_window=1s"])
        try start()
        XCTAssertFalse(FileManager.default.fileExists(atPath: log))
        let early = try monitor(2)
        XCTAssertEqual(early.status, success, "within growth_window: \(early)")
        usleep(1_200_000)
        let late = try monitor(2)
        XCTAssertEqual(late.status, commandFailed, late.description)
        XCTAssertTrue(late.stderr.contains("does not exist") && late.stderr.contains("after start"), late.stderr)
        try create(log, "hello\n")
        XCTAssertEqual(try monitor(2).status, success, "it appeared")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// Finding 11: two level-3 checks at once (an operator's and the
    /// cluster manager's) cannot eat each other's expected message: seen
    /// within growth_window passes.
    func testAConcurrentCheckDoesNotEatTheExpectedMessage() throws {
        try define("w1", script: loop("working"), ["expected_message=^heartbeat ok$", "growth_window=1s"])
        try start()
        usleep(200_000)
        try append("heartbeat ok\n")
        XCTAssertEqual(try monitor(3).status, success, "the operator's check reads the heartbeat")
        let next = try monitor(3)
        XCTAssertEqual(next.status, success, "the manager's check: seen within growth_window: \(next)")
        usleep(1_200_000)
        let stale = try monitor(3)
        XCTAssertEqual(stale.status, commandFailed, stale.description)
        XCTAssertTrue(stale.stderr.contains("last seen 1 s ago"), stale.stderr)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// Finding 10: a missing working directory is missing configuration
    /// (6, like a missing program), naming its attribute.
    func testAMissingWorkingDirectoryIsNoConfigInfo() throws {
        try define("w1", ["working_directory=\(sandbox.path("nowhere"))"])
        for action in ["validate", "start"] {
            let r = try run("logwriter", action, "w1")
            XCTAssertEqual(r.status, noConfigInfo, "\(action): \(r)")
            XCTAssertTrue(r.stderr.contains("attribute 'working_directory'") && r.stderr.contains("No such file"), r.stderr)
        }
    }

    /// Finding 5: a writer started through a wrapper that execs it keeps
    /// the pid and start time recorded at start, not its name: start,
    /// monitor, exclusive and stop all treat it as the resource's own.
    func testAWriterThatExecsAnotherProgramIsStillTheResource() throws {
        let wrapper = logDirectory + "/wrap.sh"
        try create(wrapper, "#!/bin/sh\nexec /bin/sh -c '\(loop())'\n")
        chmod(wrapper, 0o755)
        try define("w1", command: [wrapper], ["growth_window=3s"])
        try start()
        let pid = try writerPid()
        XCTAssertTrue(wait(seconds: 2) {
            ((try? String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)) ?? "").hasPrefix("/bin/sh\u{0}-c")
        }, "the wrapper exec'd the loop")
        usleep(300_000)
        for level in 1...3 {
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "level \(level): \(r)")
        }
        XCTAssertEqual(try run("logwriter", "exclusive", "w1").status, running)
        let stopped = try run("logwriter", "stop", "w1")
        XCTAssertEqual(stopped.status, success, stopped.description)
        XCTAssertTrue(wait(seconds: 2) { self.writerPids().isEmpty }, "left running: \(writerPids())")
        XCTAssertEqual(try monitor(1).status, notRunning)
    }

    /// Finding 10: more than max_read without a newline: the reason and
    /// the debug line count what was not judged once, consistently.
    func testALongLineWithoutNewlineIsCountedOnceAsNotJudged() throws {
        try define("w1", script: loop("working"), ["expected_message=^heartbeat$", "max_read=65536"])
        try start()
        usleep(300_000)
        XCTAssertEqual(try monitor(2).status, success)
        _ = try monitor(3)
        // Stop the writer's lines from mixing in: SIGSTOP it, then one 200 KB line without a newline.
        let pid = try writerPid()
        kill(-pid, SIGSTOP)
        defer { kill(-pid, SIGCONT) }
        usleep(100_000)
        try append(String(repeating: "x", count: 204_800))
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        func number(after text: String) -> Int? {
            guard let range = r.stderr.range(of: text) else { return nil }
            return Int(r.stderr[range.upperBound...].prefix { $0.isNumber })
        }
        let inReason = try XCTUnwrap(number(after: "this check judged 0 bytes of new complete lines ("), r.stderr)
        let inDebug = try XCTUnwrap(number(after: "read 65536 bytes; judging 0 bytes of complete lines; "), r.stderr)
        XCTAssertEqual(inReason, inDebug, "one count of what was not judged: \(r.stderr)")
        XCTAssertGreaterThanOrEqual(inReason, 204_800, "every byte of the long line counted: \(r.stderr)")
        XCTAssertLessThan(inReason, 204_800 + 4096, "counted once, not twice: \(r.stderr)")
        kill(-pid, SIGCONT)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    /// Finding 9: a process the writer starts in a session of its own
    /// (setsid) is out of its process group; stop ends it too (what the
    /// writer started is taken by parent links before the stop ladder).
    func testStopEndsWhatTheWriterStartedInItsOwnSession() throws {
        let (pid, child) = try startAWriterLeavingASessionLeader("setsid /bin/sh -c 'sleep 1000; : \(sandbox.root.path) child' & ")
        XCTAssertNotEqual(getsid(child), pid, "not in the writer's session")
        XCTAssertNotEqual(getpgid(child), pid, "not in the writer's process group")
        try stopEndsWhatRemains()
    }

    /// Finding 3: an ambiguous error_pattern (no back-reference) against
    /// long lines fails at read_timeout with the reason, not at the
    /// monitor timeout.
    func testASlowPatternFailsAtReadTimeout() throws {
        try define("w1", script: ": \(sandbox.root.path); while :; do sleep 0.1; done",
                   ["output=null", "error_pattern=(a|aa)*x", "read_timeout=1s"])
        try create(log)
        try start()
        // An x at each line's end: a candidate for the literal search, whose
        // regexec on the line's head (4 KiB of a's) is the slow part.
        try append(String(repeating: String(repeating: "a", count: 8191) + "x\n", count: 60))
        let r = try monitor(3)
        XCTAssertEqual(r.status, commandFailed, r.description)
        XCTAssertTrue(r.stderr.contains("read_timeout (1000 ms)"), r.stderr)
        XCTAssertLessThan(r.milliseconds, 4000, "about read_timeout, not monitor_timeout")
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }

    // MARK: The process it runs as (attribute `user`)

    /// The real uid of `pid` (`Uid:` of /proc/PID/status), or nil.
    func realUid(_ pid: Int32) -> UInt32? {
        guard let status = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") }) else { return nil }
        return line.split(whereSeparator: { $0 == "\t" || $0 == " " }).dropFirst().first.flatMap { UInt32($0) }
    }

    /// A system account every Debian has (`nobody`, `daemon`), or a failing setup.
    func account(_ name: String) throws -> (uid: UInt32, gid: UInt32) {
        guard let entry = getpwnam(name) else { throw SetupFailure("no user \(name) on this node") }
        return (entry.pointee.pw_uid, entry.pointee.pw_gid)
    }

    /// `user=nobody`: the writer runs with nobody's uid, its log (owned by
    /// nobody) is accepted, every level passes, stop ends it.
    func testAWriterRunsAsItsUserAndItsLogOwnedByThatUserIsAccepted() throws {
        let nobody = try account("nobody")
        try create(log)
        XCTAssertEqual(chown(log, nobody.uid, nobody.gid), 0, "chown: \(errno)")
        try define("w1", ["user=nobody", "expected_message=tick", "error_pattern=ERROR"])
        XCTAssertEqual(try run("logwriter", "validate", "w1").status, success)
        try start()
        let pid = try writerPid()
        XCTAssertEqual(realUid(pid), nobody.uid, "the writer runs as nobody")
        usleep(400_000)
        for level in 1...3 {
            let r = try monitor(level)
            XCTAssertEqual(r.status, success, "level \(level): \(r)")
        }
        XCTAssertEqual(try run("logwriter", "exclusive", "w1").status, running)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
        XCTAssertTrue(wait(seconds: 2) { self.writerPids().isEmpty }, "left running: \(writerPids())")
    }

    /// The log owned by a third user (neither root nor `user`) is refused
    /// at validate and start, in one line naming the file; and without
    /// `user`, a log owned by any other user is refused too.
    func testALogOwnedByAThirdUserIsRefused() throws {
        let daemon = try account("daemon")
        try create(log)
        XCTAssertEqual(chown(log, daemon.uid, daemon.gid), 0, "chown: \(errno)")
        try define("w1", ["user=nobody"])
        for action in ["validate", "start"] {
            let r = try run("logwriter", action, "w1")
            XCTAssertEqual(r.status, noConfigInfo, "\(action): \(r)")
            XCTAssertTrue(r.stderr.contains("attribute 'log_file'") && r.stderr.contains(log), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("attribute 'log_file'") }.count, 1, r.stderr)
        }
        XCTAssertEqual(writerPids(), [], "nothing started")
        let nobody = try account("nobody")
        XCTAssertEqual(chown(log, nobody.uid, nobody.gid), 0)
        try define("w2", [])
        XCTAssertEqual(try run("logwriter", "validate", "w2").status, noConfigInfo, "without user, nobody is a third user")
    }

    /// A user this node does not know: `cdb define` stores the name (no
    /// directory service on its path), `validate`, `start` and `monitor`
    /// answer HA_INVAL_ARGS naming the attribute; nothing starts.
    func testAnUnknownUserIsInvalidArguments() throws {
        try define("w1", ["user=fsh-no-such-user"])
        for arguments in [["validate", "w1"], ["start", "w1"], ["monitor", "w1", "--level", "1"]] {
            let r = try sandbox.fshost(["logwriter"] + arguments)
            XCTAssertEqual(r.status, invalidArguments, "\(arguments): \(r)")
            XCTAssertTrue(r.stderr.contains("attribute 'user': no user 'fsh-no-such-user'"), r.stderr)
        }
        let bad = try sandbox.fshost(["cdb", "define", "logwriter", "w2", "start_command=[\"/bin/true\"]",
                                      "log_file=\(log)", "user=-x"])
        XCTAssertNotEqual(bad.status, success, "not a user name: refused by define: \(bad)")
        XCTAssertEqual(writerPids(), [], "nothing started")
    }

    // MARK: What the writer started, found by its mark

    /// The processes of this sandbox whose parent is not `pid` and which
    /// lead a session of their own: the orphan the scripts below leave.
    func orphans(of pid: Int32) -> [Int32] {
        writerPids().filter { $0 != pid && getsid($0) == $0 }
    }

    /// Stop succeeds, says it ended processes that outlived the ladder, and
    /// nothing of the sandbox runs afterwards.
    func stopEndsWhatRemains(file: StaticString = #filePath, line: UInt = #line) throws {
        let stopped = try run("logwriter", "stop", "w1")
        XCTAssertEqual(stopped.status, success, stopped.description, file: file, line: line)
        XCTAssertTrue(stopped.stderr.contains("remain after the stop ladder"), stopped.stderr, file: file, line: line)
        XCTAssertTrue(wait(seconds: 2) { self.writerPids().isEmpty }, "left running: \(writerPids())", file: file, line: line)
    }

    /// Starts w1, a writer whose first act leaves a `setsid` grandchild
    /// (`sleep 1000`) whose parent exits at once; the writer's and the
    /// orphan's pids, or a failing setup.
    func startAWriterLeavingAnOrphan() throws -> (writer: Int32, orphan: Int32) {
        let root = sandbox.root.path
        return try startAWriterLeavingASessionLeader("/bin/sh -c 'setsid /bin/sh -c \"sleep 1000; : \(root) orphan\" &'; ")
    }

    /// Starts w1, a writer that runs `first` (a shell command leaving a
    /// process in a session of its own), then ticks; the writer's and that
    /// process's pids, or a failing setup.
    func startAWriterLeavingASessionLeader(_ first: String) throws -> (writer: Int32, orphan: Int32) {
        let script = ": \(sandbox.root.path); " + first + "while :; do echo tick; sleep 0.1; done"
        try define("w1", script: script)
        try start()
        let pid = try writerPid()
        var orphan: Int32 = 0
        guard wait(seconds: 3, { orphan = self.orphans(of: pid).first ?? 0; return orphan != 0 }) else {
            throw SetupFailure("no orphan in its own session: \(writerPids())")
        }
        return (pid, orphan)
    }

    /// A `setsid` grandchild whose parent exited at once (re-parented: no
    /// parent link leads from the writer to it) is ended by stop: it
    /// carries the writer's mark (FSHOST_RESOURCE=logwriter/w1 PIDFILE).
    func testStopEndsASetsidGrandchildWhoseParentExited() throws {
        let (pid, orphan) = try startAWriterLeavingAnOrphan()
        let environ = try String(decoding: Data(contentsOf: URL(fileURLWithPath: "/proc/\(orphan)/environ")), as: UTF8.self)
        XCTAssertTrue(environ.split(separator: "\0").contains("FSHOST_RESOURCE=logwriter/w1 \(pidfile)"), "marked")
        let stat = try String(contentsOfFile: "/proc/\(orphan)/stat", encoding: .utf8)
        let parent = stat[stat.index(after: stat.lastIndex(of: ")")!)...].split(separator: " ")[1]
        XCTAssertNotEqual(Int32(parent), pid, "its parent is not the writer")
        try stopEndsWhatRemains()
    }

    /// The writer crashed (KILL) and left its orphan: stop ends it (the
    /// stale pidfile's case), and a marked process of another user is
    /// never signalled.
    func testStopEndsWhatACrashedWriterLeftButNotAnotherUsersLookalike() throws {
        let root = sandbox.root.path
        let (pid, orphan) = try startAWriterLeavingAnOrphan()
        // Another user's process carrying the same mark: not the resource's.
        let nobody = try account("nobody")
        let lookalike = Process()
        lookalike.executableURL = URL(fileURLWithPath: "/usr/bin/setpriv")
        lookalike.arguments = ["--reuid=\(nobody.uid)", "--regid=\(nobody.gid)", "--clear-groups", "--",
                               "/bin/sh", "-c", "while :; do /bin/sleep 0.2; done; : \(root) lookalike"]
        lookalike.environment = ["FSHOST_RESOURCE": "logwriter/w1 \(pidfile)"]
        try lookalike.run()
        defer { lookalike.terminate(); lookalike.waitUntilExit() }
        kill(-pid, SIGKILL)
        XCTAssertTrue(wait(seconds: 2) { !self.writerPids().contains(pid) }, "the writer is gone")
        let stopped = try run("logwriter", "stop", "w1")
        XCTAssertEqual(stopped.status, success, stopped.description)
        XCTAssertTrue(wait(seconds: 2) { !self.writerPids().contains(orphan) }, "the orphan was ended: \(writerPids())")
        XCTAssertTrue(lookalike.isRunning, "another user's process with the mark is left alone")
    }

    /// The mark names the pidfile too: stopping a resource of the same
    /// name under another state directory (another sandbox, another
    /// installation) never ends this one's writer.
    func testStopLeavesAResourceOfTheSameNameElsewhereAlone() throws {
        try define("w1")
        try start()
        let mine = try writerPid()
        let other = try HostSandbox()
        let otherLogs = other.path("logs")
        try FileManager.default.createDirectory(atPath: otherLogs, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let otherScript = ": \(other.root.path); while :; do echo tick; sleep 0.1; done"
        let command = try String(decoding: JSONSerialization.data(withJSONObject: ["/bin/sh", "-c", otherScript]), as: UTF8.self)
        let defined = try other.fshost(["cdb", "define", "logwriter", "w1", "start_command=\(command)",
                                        "log_file=\(otherLogs)/writer.log", "pidfile=\(other.path("writer.pid"))", "retries=0"])
        XCTAssertEqual(defined.status, success, defined.description)
        XCTAssertEqual(try other.fshost(["logwriter", "start", "w1"]).status, success)
        XCTAssertEqual(try other.fshost(["logwriter", "stop", "w1"]).status, success)
        XCTAssertTrue(kill(mine, 0) == 0 && writerPids().contains(mine), "this sandbox's w1 still runs")
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
    }
}
