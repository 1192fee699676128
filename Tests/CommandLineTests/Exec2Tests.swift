import Foundation
import HAVocabulary
import ProcScan
import TestSupport
import XCTest
@testable import fshost

/// `fshost exec2`, in-process (exec2Run with captured output).
final class Exec2Tests: XCTestCase {
    private var children: [ChildProcess] = []

    override func tearDown() {
        for child in children { child.stop() }
        children = []
    }

    private struct Run { let status: Int32; let out: String; let err: String }

    private func exec2(_ arguments: String...) -> Run { exec2(arguments) }

    private func exec2(_ arguments: [String]) -> Run {
        var out = ""
        var err = ""
        let status = exec2Run(arguments, output: { out += $0 }, errors: { err += $0 })
        return Run(status: status, out: out, err: err)
    }

    /// A `sleep` with a unique duration (the marker), seen by the scanner.
    private func sleeper(file: StaticString = #filePath, line: UInt = #line) throws -> (ChildProcess, String) {
        let marker = "3000.\(Int.random(in: 100_000...999_999))"
        let child = try XCTUnwrap(ChildProcess(["sleep", marker]), file: file, line: line)
        children.append(child)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            // comm changes before the new argv is in place: wait for the argv.
            ProcessTable().entry(pid: child.pid)?.arguments == ["sleep", marker]
        }, file: file, line: line)
        return (child, marker)
    }

    // MARK: -s SIGNAL -t STRING

    func testExistence() throws {
        let (child, marker) = try sleeper()
        XCTAssertEqual(exec2("-s", "0", "-t", marker).status, 0)
        XCTAssertEqual(exec2("-t", marker, "-s", "0").status, 0, "options in any order")
        XCTAssertEqual(exec2("-t", marker).status, 0, "signal 0 is the default")
        XCTAssertEqual(exec2("-s0", "-t\(marker)").status, 0, "attached values")
        XCTAssertEqual(exec2("-s", "0", "-t", "sleep \(marker)").status, 0, "the space-joined command line")
        XCTAssertEqual(exec2("-s", "0", "-t", ProcessFixtures.uniqueMarker("none")).status, 1)
        XCTAssertTrue(processAlive(pid: child.pid, startTime: nil))
    }

    func testTextIsSearchedInTheCommandLineAndCommOnlyWithoutOne() throws {
        // comm "my (odd) sleep", argv[0] "x": the command line is "x 30 MARKER".
        // As for pgrep -f and ps -o args, the command line is what is searched.
        let dir = ProcessFixtures.makeTemporaryDirectory(prefix: "exec2")
        defer { ProcessFixtures.removeTree(dir) }
        let path = "\(dir)/my (odd) sleep"
        XCTAssertTrue(ProcessFixtures.copyExecutable(from: try XCTUnwrap(ProcessFixtures.which("sleep")), to: path))
        let marker = "3000.\(Int.random(in: 100_000...999_999))"
        let child = try XCTUnwrap(ChildProcess(["bash", "-c", "exec -a x \"$0\" \(marker)", path]))
        children.append(child)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) {
            ProcessTable().entry(pid: child.pid)?.comm == "my (odd) sleep"
        })
        XCTAssertEqual(exec2("-s", "0", "-t", "x \(marker)").status, 0, "argv joined by spaces")
        XCTAssertEqual(exec2("-s", "0", "-t", "odd) sl").status, 1, "comm of a process with a command line is not searched")
        // A kernel thread has no command line: its comm is searched.
        let kthread = try XCTUnwrap(ProcessTable().entries.first { $0.isKernelThread && $0.comm.count > 4 },
                                    "no kernel thread visible in /proc")
        XCTAssertEqual(exec2("-s", "0", "-t", kthread.comm).status, 0, "kernel thread \(kthread.comm)")
    }

    func testSignalByNameAndNumber() throws {
        let (a, markerA) = try sleeper()
        let r = exec2("-s", "TERM", "-t", markerA)
        XCTAssertEqual(r.status, 0, r.err)
        XCTAssertEqual(a.reap() & 0x7F, SIGTERM)
        let (b, markerB) = try sleeper()
        XCTAssertEqual(exec2("-s", "9", "-t", markerB).status, 0)
        XCTAssertEqual(b.reap() & 0x7F, SIGKILL)
        XCTAssertEqual(exec2("-s", "9", "-t", markerB).status, 1, "nothing left to signal")
    }

    func testAncestorsAndSelfNeverMatch() throws {
        // The test process's own command line holds this marker (argv of a
        // child shell that runs nothing else would, too): exec2 is run from
        // a shell whose argv contains the marker; it must not find the shell.
        let marker = ProcessFixtures.uniqueMarker("ancestor")
        guard let exe = Exec2Tests.fshostBinary else { throw SetupFailure("no fshost binary next to the tests") }
        let shell = try XCTUnwrap(ChildProcess(["sh", "-c", "\"$0\" exec2 -s 0 -t \(marker); echo $? > \"$1\"; : \(marker)",
                                                exe, "/tmp/\(marker).rc"]))
        children.append(shell)
        shell.reap()
        defer { unlink("/tmp/\(marker).rc") }
        XCTAssertEqual(ProcessFixtures.readFile("/tmp/\(marker).rc"), "1\n",
                       "the calling shell has the marker in its argv but is an ancestor")
    }

    /// Runs `script` with `shell -c`, the fshost binary as $0; returns its stdout.
    private func shell(_ shell: String, _ script: String, file: StaticString = #filePath, line: UInt = #line) throws -> String {
        let exe = try XCTUnwrap(Exec2Tests.fshostBinary, "no fshost binary next to the tests", file: file, line: line)
        let out = "/tmp/\(ProcessFixtures.uniqueMarker("pipeline")).out"
        defer { unlink(out) }
        let child = try XCTUnwrap(ChildProcess([shell, "-c", "{ " + script + "; } > \"$1\"", exe, out]), file: file, line: line)
        children.append(child)
        child.reap()
        return ProcessFixtures.readFile(out) ?? ""
    }

    func testOwnPipelineNeverMatches() throws {
        // The case: `fshost exec2 -s 0 -t X | grep X` matched its own grep.
        let marker = ProcessFixtures.uniqueMarker("pipe")
        XCTAssertEqual(try shell("bash", "\"$0\" exec2 -s 0 -t \(marker) | grep \(marker); echo ${PIPESTATUS[@]}"), "1 1\n",
                       "exec2 answers not running; grep read nothing")
        XCTAssertEqual(try shell("sh", "\"$0\" exec2 -s 0 -t \(marker) | cat | grep \(marker); echo $?"), "1\n",
                       "further down the pipeline too")
        XCTAssertEqual(try shell("bash", "grep \(marker) /dev/null | \"$0\" exec2 -s 0 -t \(marker); echo $?"), "1\n",
                       "upstream too")
        // With a real signal the grep would have been killed (status 143).
        XCTAssertEqual(try shell("sh", "\"$0\" exec2 -s TERM -t \(marker) | grep \(marker); echo $?"), "1\n")
        XCTAssertEqual(try shell("bash", "{ \"$0\" exec2 -s TERM -t \(marker); } | grep \(marker); echo ${PIPESTATUS[@]}"),
                       "1 1\n", "a subshell in the pipeline")
    }

    func testProcessOfTheSameGroupOutsideThePipelineStillMatches() throws {
        // A script that starts its daemon in the background (same process
        // group, same stdout) and then checks for it must find it.
        let marker = "3000.\(Int.random(in: 100_000...999_999))"
        // The background child is bash until it has exec'd sleep: wait for
        // that (under load it can take longer than starting exec2), so the
        // test is about the process group, not about exec's timing.
        let started = "sleep \(marker) & until grep -qs \(marker) /proc/$!/cmdline; do :; done; "
        let script = started + "\"$0\" exec2 -s 0 -t \(marker) | cat; echo ${PIPESTATUS[0]}; kill $!"
        XCTAssertEqual(try shell("bash", script), "0\n")
        XCTAssertEqual(try shell("bash", started + "\"$0\" exec2 -s 0 -t \(marker); echo $?; kill $!"), "0\n")
    }

    func testPidOneIsNeverSignalled() throws {
        let initComm = try XCTUnwrap(ProcessTable().entry(pid: 1)).comm
        XCTAssertEqual(exec2("-s", "0", "-t", initComm).status, 0, "for 0, pid 1 exists")
        let table = ProcessTable()
        // Only if pid 1 is the one process with that name can we check the refusal safely.
        guard table.containing(initComm).map(\.pid) == [1] else { throw XCTSkip("pid 1's name is shared with other processes here, so no name selects pid 1 alone") }
        let r = exec2("-s", "CONT", "-t", initComm)
        XCTAssertEqual(r.status, 3)
        XCTAssertTrue(r.err.contains("pid 1"), r.err)
        XCTAssertTrue(r.err.contains("refused"), r.err)
    }

    func testBadSignalForms() {
        for args in [["-s", "0", "-t", ""], ["-s", "BOGUS", "-t", "x"], ["-s", "99", "-t", "x"], ["-s", "-1", "-t", "x"],
                     ["-s", "0"], ["-s"], ["-s", "0", "-t"], ["-s", "0", "-t", "x", "extra"], ["-s", "1", "-s", "2", "-t", "x"],
                     ["-t", "a", "-t", "b"]] {
            let r = exec2(args)
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertTrue(r.err.hasPrefix("exec2: "), "\(args): \(r.err)")
            XCTAssertEqual(r.err.filter { $0 == "\n" }.count, 1, "one line: \(r.err)")
        }
        XCTAssertTrue(exec2("-s", "0", "-t", "").err.contains("empty"))
        XCTAssertTrue(exec2("-s", "BOGUS", "-t", "x").err.contains("BOGUS"))
    }

    // MARK: [-p WAITPERIOD] TIMEOUT RETRIES COMMAND

    func testRunsCommandAndReturnsItsStatus() {
        XCTAssertEqual(exec2("5", "0", "true").status, 0)
        XCTAssertEqual(exec2("5", "0", "sh", "-c", "exit 4").status, 4)
        XCTAssertEqual(exec2("5", "0", "--", "sh", "-c", "exit 6").status, 6)
        XCTAssertEqual(exec2("5s", "0", "sh", "-c", "kill -TERM $$").status, 128 + SIGTERM)
    }

    func testRetriesWhileItFails() throws {
        let dir = ProcessFixtures.makeTemporaryDirectory(prefix: "exec2")
        defer { ProcessFixtures.removeTree(dir) }
        let log = "\(dir)/tries"
        let t0 = ProcessFixtures.now()
        XCTAssertEqual(exec2("-p", "100ms", "5", "2", "sh", "-c", "echo x >> \(log); exit 3").status, 3)
        XCTAssertGreaterThanOrEqual(ProcessFixtures.now() - t0, 0.2, "two waits of 100 ms")
        XCTAssertEqual(ProcessFixtures.readFile(log), "x\nx\nx\n", "1 try + 2 retries")

        // Succeeds on the second try: stops there.
        let count = "\(dir)/count"
        let script = "n=$(cat \(count) 2>/dev/null || echo 0); n=$((n+1)); echo $n > \(count); [ $n -ge 2 ]"
        XCTAssertEqual(exec2("-p0.1", "5", "5", "sh", "-c", script).status, 0)
        XCTAssertEqual(ProcessFixtures.readFile(count), "2\n")
    }

    func testTimeoutKillsAndReportsTimedOut() {
        let marker = "100.\(Int.random(in: 100_000...999_999))"
        let t0 = ProcessFixtures.now()
        let r = exec2("250ms", "1", "sh", "-c", "sleep \(marker) & sleep \(marker)")
        let elapsed = ProcessFixtures.now() - t0
        XCTAssertEqual(r.status, 8, "HA_TIMEDOUT")
        XCTAssertEqual(ExitStatus.timedOut.rawValue, 8)
        XCTAssertGreaterThanOrEqual(elapsed, 0.5, "two tries of 250 ms")
        XCTAssertLessThan(elapsed, 2.0)
        XCTAssertEqual(r.err.filter { $0 == "\n" }.count, 2, r.err)
        XCTAssertTrue(r.err.contains("timed out"), r.err)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 1000) {
            ProcessTable().matching(ProcessPattern(argument: .anchored(marker))).isEmpty
        })
        XCTAssertEqual(exec2("0.3", "0", "sleep", "5").status, 8, "plain seconds with a fraction")
    }

    func testMissingCommandIsNotRetried() {
        let r = exec2("-p", "5", "1", "3", "fshost-no-such-command")
        XCTAssertEqual(r.status, 127)
        XCTAssertTrue(r.err.contains("fshost-no-such-command"), r.err)
        let dir = ProcessFixtures.makeTemporaryDirectory(prefix: "exec2")
        defer { ProcessFixtures.removeTree(dir) }
        ProcessFixtures.writeFile("\(dir)/not-executable", "true\n")
        XCTAssertEqual(exec2("1", "0", "\(dir)/not-executable").status, 126)
    }

    func testBadRunForms() {
        for args in [["abc", "1", "true"], ["5", "x", "true"], ["5", "-1", "true"], ["5", "1"], ["5"], ["0", "1", "true"],
                     ["5", "1", ""], ["-p", "bogus", "5", "1", "true"], ["-p"], ["-x", "5", "1", "true"], ["5ms5", "1", "true"],
                     ["1.", "1", "true"], [".5", "1", "true"], ["5", "1.5", "true"], ["5", "1", "--"], ["99999999999", "0", "true"],
                     []] {
            let r = exec2(args)
            XCTAssertEqual(r.status, 2, "\(args): \(r.err)")
            XCTAssertTrue(r.err.hasPrefix("exec2: "), "\(args): \(r.err)")
            XCTAssertEqual(r.err.filter { $0 == "\n" }.count, 1, "one line: \(r.err)")
        }
        XCTAssertTrue(exec2("abc", "1", "true").err.contains("abc"))
        XCTAssertTrue(exec2("5", "1").err.contains("COMMAND"))
    }

    /// exec2's TIMEOUT and WAITPERIOD use fshost's one duration grammar: a
    /// bare number is seconds, as for --timeout and the CDB.
    func testDurations() {
        XCTAssertEqual(exec2ParseDuration("5"), 5000)
        XCTAssertEqual(exec2ParseDuration("30"), 30_000)
        XCTAssertEqual(exec2ParseDuration("0"), 0)
        XCTAssertEqual(exec2ParseDuration("5s"), 5000)
        XCTAssertEqual(exec2ParseDuration("250ms"), 250)
        XCTAssertEqual(exec2ParseDuration("0.5"), 500)
        XCTAssertEqual(exec2ParseDuration("1.25s"), 1250)
        XCTAssertEqual(exec2ParseDuration("5m"), 300_000)
        XCTAssertEqual(exec2ParseDuration("1h"), 3_600_000)
        for bad in ["", "s", "ms", "-5", "5 s", "1e3", "1.2.3", "+5", "5sms", "1.5ms", "25h", "9223372036854775807"] {
            XCTAssertNil(exec2ParseDuration(bad), bad)
        }
    }

    func testDurationsOutOfRangeNameTheArgumentAndTheRange() {
        for (args, expected) in [(["25h", "0", "true"], "exec2: TIMEOUT is out of range: '25h' (allowed: from 1ms to 24h)\n"),
                                 (["0", "0", "true"], "exec2: TIMEOUT is out of range: '0' (allowed: from 1ms to 24h)\n"),
                                 (["-p", "99999999999999999999", "5", "0", "true"],
                                  "exec2: WAITPERIOD is out of range: '99999999999999999999' (allowed: from 100ms to 24h)\n"),
                                 (["1.5ms", "0", "true"], "exec2: TIMEOUT is finer than a millisecond: '1.5ms'\n")] {
            let r = exec2(args)
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertEqual(r.err, expected)
        }
    }

    func testHelpAndScanStats() {
        let help = exec2("--help")
        XCTAssertEqual(help.status, 0)
        for word in ["-s SIGNAL -t STRING", "TIMEOUT RETRIES COMMAND", "HA_TIMEDOUT", "HA_INVAL_ARGS", "HA_NOT_RUNNING",
                     "127", "128+N", "--scan-stats"] {
            XCTAssertTrue(help.out.contains(word), word)
        }
        let stats = exec2("--scan-stats", "-n", "2", "sleep")
        XCTAssertEqual(stats.status, 0)
        XCTAssertTrue(stats.out.hasPrefix("processes "), stats.out)
        XCTAssertTrue(stats.out.contains("scan_median_us "), stats.out)
        XCTAssertTrue(stats.out.contains("matched "), stats.out)
        XCTAssertEqual(exec2("--scan-stats", "-n", "0").status, 2)
    }

    /// RETRIES 0–100 and WAITPERIOD ≥ 100 ms, the host's bounds on retries
    /// and retry_interval, named with the range (before: a hidden cap of
    /// 1,000,000 and a WAITPERIOD of 0 fork-flooded: 2,411 lines in 3 s).
    func testRetriesAndWaitPeriodAreBoundedAndTheMessageNamesTheRange() {
        for (args, expected) in [
            (["1", "2147483647", "false"], "exec2: RETRIES is out of range: '2147483647' (allowed: from 0 to 100)\n"),
            (["1", "101", "false"], "exec2: RETRIES is out of range: '101' (allowed: from 0 to 100)\n"),
            (["1", "x", "false"], "exec2: RETRIES is not a whole number: 'x' (allowed: from 0 to 100)\n"),
            (["-p", "0", "1", "100", "false"], "exec2: WAITPERIOD is out of range: '0' (allowed: from 100ms to 24h)\n"),
            (["-p", "99ms", "1ms", "3", "sleep", "1"], "exec2: WAITPERIOD is out of range: '99ms' (allowed: from 100ms to 24h)\n"),
        ] {
            let r = exec2(args)
            XCTAssertEqual(r.status, 2, "\(args)")
            XCTAssertEqual(r.err, expected)
        }
        // The default wait is the floor: 3 retries of `false` take 3 × 100 ms, not a busy loop.
        let t0 = ProcessFixtures.now()
        let r = exec2("1", "3", "false")
        XCTAssertEqual(r.status, 1)
        XCTAssertGreaterThanOrEqual(ProcessFixtures.now() - t0, 0.3)
        XCTAssertEqual(exec2("-p", "100ms", "1", "100", "true").status, 0, "the bounds themselves are allowed")
    }

    /// Every exec2 message goes through LogText: a value with a newline
    /// cannot write a second line that reads like fshost's, and a 100 KB
    /// COMMAND is cut.
    func testMessagesAreEscapedAndBounded() {
        let forged = "/no\nfshost: webserver/w1 start: HA_SUCCESS (1 ms)"
        let r = exec2("1", "0", forged)
        XCTAssertEqual(r.status, 127)
        XCTAssertEqual(r.err, "exec2: cannot run /no\\nfshost: webserver/w1 start: HA_SUCCESS (1 ms): No such file or directory\n")
        let signal = exec2("-s", "X\nfshost: forged", "-t", "x")
        XCTAssertEqual(signal.err, "exec2: unknown signal 'X\\nfshost: forged'\n")
        let text = exec2("-t", "a\u{1B}[2Jb", "-s", "0", "extra")
        XCTAssertEqual(text.err.filter { $0 == "\n" }.count, 1, text.err)
        let huge = exec2("1", "0", "/" + String(repeating: "a", count: 100_000))
        XCTAssertEqual(huge.err.filter { $0 == "\n" }.count, 1)
        XCTAssertLessThan(huge.err.utf8.count, 4200, "bounded like a log line")
        XCTAssertTrue(huge.err.contains("bytes cut"), huge.err)
    }

    /// The pipeline rule covers every descriptor exec2 shares by pipe:
    /// stderr into grep (before: `-s TERM` killed it, PIPESTATUS 0 143), and
    /// bash's process substitution, whose reader is exec2's parent's child
    /// (same session; with job control, another process group).
    func testOwnPipelineOnAnyDescriptorNeverMatches() throws {
        let marker = ProcessFixtures.uniqueMarker("pipefd")
        XCTAssertEqual(try shell("bash", "\"$0\" exec2 -s TERM -t \(marker) 2>&1 >/dev/null | grep \(marker); echo ${PIPESTATUS[@]}"),
                       "1 1\n", "stderr into the pipeline's grep")
        XCTAssertEqual(try shell("bash", "grep \(marker) <(sleep 0.3; \"$0\" exec2 -s 0 -t \(marker); echo \"rc=$? \(marker)\")"),
                       "rc=1 \(marker)\n", "process substitution: the grep that reads exec2's output")
        XCTAssertEqual(try shell("bash", "\"$0\" exec2 -s 0 -t \(marker) 3>&1 >/dev/null | grep \(marker); echo ${PIPESTATUS[0]}"),
                       "1\n", "any descriptor (3)")
        // Under job control (an interactive bash on a terminal: script(1)
        // gives it one) the reader of a process substitution is in the job's
        // own process group, exec2 in the shell's: the session decides.
        let exe = try XCTUnwrap(Exec2Tests.fshostBinary)
        let base = "/tmp/\(ProcessFixtures.uniqueMarker("jobs"))"
        defer { unlink(base + ".sh"); unlink(base + ".out") }
        ProcessFixtures.writeFile(base + ".sh",
            "grep \(marker) <(sleep 0.3; '\(exe)' exec2 -s 0 -t \(marker); echo \"rc=$? \(marker)\") > '\(base).out'\nexit\n")
        let child = try XCTUnwrap(ChildProcess(["script", "-qec", "bash --norc -i \(base).sh", "/dev/null"]))
        children.append(child)
        child.reap()
        XCTAssertEqual(ProcessFixtures.readFile(base + ".out"), "rc=1 \(marker)\n", "with job control")
    }

    /// CI's case: a runner started with `unshare --pid` and no `setsid`, so
    /// the session leader is outside the PID namespace and getsid(2) reads
    /// 0 for every process of the session. The pipeline must still be
    /// found (before: every pipeline case matched its own grep there).
    func testPipelineInASessionLedFromOutsideThePIDNamespace() throws {
        let exe = try XCTUnwrap(Exec2Tests.fshostBinary, "no fshost binary next to the tests")
        let marker = ProcessFixtures.uniqueMarker("pidns")
        let base = "/tmp/\(ProcessFixtures.uniqueMarker("ns"))"  // not the marker: it is pid 1's argv
        let out = base + ".out", file = base + ".sh"
        defer { unlink(out); unlink(file) }
        // The marker only in the script's text: bash runs as the namespace's
        // pid 1 with `bash FILE` as its command line.
        ProcessFixtures.writeFile(file, "{ python3 -c 'import os; print(os.getsid(0))'; "
            + "\"$1\" exec2 -s TERM -t \(marker) | grep \(marker); echo ${PIPESTATUS[@]}; "
            + "\"$1\" exec2 -s 0 -t \(marker) 2>&1 >/dev/null | grep \(marker); echo ${PIPESTATUS[@]}; } > \"$2\"\n")
        let child = try XCTUnwrap(ChildProcess(["unshare", "--pid", "--fork", "--mount-proc", "bash", file, exe, out]))
        children.append(child)
        let status = child.reap()
        guard status == 0, let text = ProcessFixtures.readFile(out) else {
            throw SetupFailure("unshare --pid --fork --mount-proc bash failed (status \(status)): this test needs root and PID namespaces")
        }
        XCTAssertEqual(text, "0\n1 1\n1 1\n", "getsid reads 0 inside; exec2 still leaves its own pipeline out")
    }

    /// The built `fshost` (or the scratch stand-in) next to the test bundle, if any.
    static var fshostBinary: String? {
        var dir = CommandLine.arguments.first ?? ""
        if let xctest = dir.range(of: ".xctest") { dir = String(dir[..<xctest.lowerBound]) }
        dir = String(dir[..<(dir.lastIndex(of: "/") ?? dir.startIndex)])
        for name in ["fshost", "exec2cli"] where access("\(dir)/\(name)", X_OK) == 0 {
            return name == "fshost" ? "\(dir)/fshost" : "\(dir)/exec2cli"
        }
        return nil
    }
}
