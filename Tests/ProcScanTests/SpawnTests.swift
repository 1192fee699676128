import Foundation
import ProcScan
@testable import Spawn
import TestSupport
import XCTest

/// spawn-with-timeout, on real commands.
final class SpawnTests: XCTestCase {
    /// Processes whose arguments include `marker` (exactly), from a fresh scan.
    private func withMarker(_ marker: String) -> [ProcessEntry] {
        ProcessTable().matching(ProcessPattern(argument: .anchored(marker)))
    }

    /// A sleep duration that doubles as a unique marker.
    private func marker() -> String { "100.\(Int.random(in: 100_000...999_999))" }

    func testExitStatus() {
        XCTAssertEqual(spawn(["true"], timeoutMilliseconds: 5000).termination, .exited(0))
        XCTAssertEqual(spawn(["false"], timeoutMilliseconds: 5000).termination, .exited(1))
        let r = spawn(["sh", "-c", "exit 42"], timeoutMilliseconds: 5000)
        XCTAssertEqual(r.termination, .exited(42))
        XCTAssertGreaterThan(r.pid, 0)
        XCTAssertTrue(r.output.isEmpty, "nothing captured unless asked")
        XCTAssertEqual(spawn(["/bin/sh", "-c", "exit 7"], timeoutMilliseconds: 0).termination, .exited(7),
                       "a path, and no deadline")
        XCTAssertEqual(spawn(["true"], timeoutMilliseconds: .max).termination, .exited(0), "no overflow")
    }

    func testSignaled() {
        XCTAssertEqual(spawn(["sh", "-c", "kill -TERM $$"], timeoutMilliseconds: 5000).termination, .signaled(SIGTERM))
        XCTAssertEqual(spawn(["sh", "-c", "kill -KILL $$"], timeoutMilliseconds: 5000).termination, .signaled(SIGKILL))
    }

    func testOutputCaptureAndLimit() {
        let r = spawn(["sh", "-c", "echo out; echo err >&2; echo more"], timeoutMilliseconds: 5000, captureOutput: true)
        XCTAssertEqual(r.termination, .exited(0))
        XCTAssertEqual(String(decoding: r.output, as: UTF8.self), "out\nerr\nmore\n")

        // More than a pipe holds: cut at the limit, and the writer never blocks.
        let big = spawn(["sh", "-c", "head -c 300000 /dev/zero; echo done >&2"], timeoutMilliseconds: 10_000,
                        captureOutput: true, outputLimit: 1000)
        XCTAssertEqual(big.termination, .exited(0))
        XCTAssertEqual(big.output.count, 1000)

        let empty = spawn(["sh", "-c", "echo x"], timeoutMilliseconds: 5000, captureOutput: true, outputLimit: 0)
        XCTAssertEqual(empty.output, [])
    }

    func testStandardInputIsDevNullAndDescriptorsDoNotLeak() throws {
        // cat reads stdin: /dev/null gives it end-of-file at once.
        XCTAssertEqual(spawn(["cat"], timeoutMilliseconds: 5000, captureOutput: true).termination, .exited(0))
        // A descriptor without O_CLOEXEC in this process stays here.
        let fd = open("/dev/null", O_RDONLY)
        XCTAssertGreaterThanOrEqual(fd, 0)
        let leaked = dup2(fd, 57)
        close(fd)
        defer { close(leaked) }
        let r = spawn(["sh", "-c", "[ -e /proc/self/fd/57 ] && echo leaked || echo closed"], timeoutMilliseconds: 5000,
                      captureOutput: true)
        XCTAssertEqual(String(decoding: r.output, as: UTF8.self), "closed\n")
    }

    func testTimeoutKillsTheWholeGroup() {
        let m = marker()
        final class Box: @unchecked Sendable { var result: SpawnResult?; var elapsed = 0.0 }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Thread {
            let t0 = ProcessFixtures.now()
            box.result = spawn(["sh", "-c", "sleep \(m) & sleep \(m)"], timeoutMilliseconds: 300)
            box.elapsed = ProcessFixtures.now() - t0
            done.signal()
        }.start()
        // Both sleeps exist while it runs…
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 250) { self.withMarker(m).count == 2 },
                      "both sleeps seen: \(withMarker(m).map(\.pid))")
        done.wait()
        let result = box.result!
        XCTAssertEqual(result.termination, .timedOut)
        XCTAssertGreaterThanOrEqual(box.elapsed, 0.29)
        XCTAssertLessThan(box.elapsed, 1.0, "timed out within ~0.5 s")
        // …and none after: the background one was in the group too.
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 1000) { self.withMarker(m).isEmpty },
                      "left over: \(withMarker(m).map(\.pid))")
        XCTAssertFalse(ProcessGroups.live.contains(result.pid))
    }

    /// A daemon's start forks and exits before the child leaves the group:
    /// a command that exits on its own must keep what it started (nginx's
    /// start would otherwise be killed now and then).
    func testNormalExitLeavesWhatTheCommandStarted() {
        let m = marker()
        let r = spawn(["setsid", "-f", "sleep", m], timeoutMilliseconds: 5000)
        XCTAssertEqual(r.termination, .exited(0))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 1000) { self.withMarker(m).count == 1 },
                      "the daemon survives its starter")
        _ = sendSignal(SIGKILL, to: withMarker(m))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 1000) { self.withMarker(m).isEmpty })
    }

    func testNonexistentCommand() {
        let r = spawn(["fshost-no-such-command-\(Int.random(in: 0...99999))"], timeoutMilliseconds: 1000)
        XCTAssertEqual(r.termination, .failed(errno: ENOENT))
        XCTAssertEqual(r.pid, 0)
        XCTAssertEqual(spawn(["/nonexistent/x"], timeoutMilliseconds: 1000).termination, .failed(errno: ENOENT))
        XCTAssertEqual(spawn([], timeoutMilliseconds: 1000).termination, .failed(errno: EINVAL))
        // Not executable: EACCES; executable but not a program (no #! line): ENOEXEC, and no shell is tried.
        let dir = ProcessFixtures.makeTemporaryDirectory(prefix: "spawn")
        defer { ProcessFixtures.removeTree(dir) }
        ProcessFixtures.writeFile("\(dir)/text", "echo hi\n")
        XCTAssertEqual(spawn(["\(dir)/text"], timeoutMilliseconds: 1000).termination, .failed(errno: EACCES))
        chmod("\(dir)/text", 0o755)
        XCTAssertEqual(spawn(["\(dir)/text"], timeoutMilliseconds: 1000).termination, .failed(errno: ENOEXEC))
    }

    func testKillAllFromAnotherThread() {
        let m = marker()
        final class Box: @unchecked Sendable { var result: SpawnResult? }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        Thread {
            box.result = spawn(["sh", "-c", "sleep \(m) & sleep \(m)"], timeoutMilliseconds: 20_000)
            done.signal()
        }.start()
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 5000) { self.withMarker(m).count == 2 })
        XCTAssertEqual(ProcessGroups.live.count, 1)
        let t0 = ProcessFixtures.now()
        ProcessGroups.killAll(signal: SIGKILL)
        XCTAssertEqual(done.wait(timeout: .now() + 5), .success)
        XCTAssertLessThan(ProcessFixtures.now() - t0, 1.0)
        XCTAssertEqual(box.result?.termination, .signaled(SIGKILL))
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 1000) { self.withMarker(m).isEmpty })
        XCTAssertTrue(ProcessGroups.live.isEmpty)
        ProcessGroups.killAll(signal: SIGKILL)   // nothing registered: a no-op
    }

    func testFallbackWithoutPidfd() {
        XCTAssertEqual(spawn(["sh", "-c", "exit 5"], timeoutMilliseconds: 5000, usePidfd: false).termination, .exited(5))
        let r = spawn(["sh", "-c", "echo hi"], timeoutMilliseconds: 5000, captureOutput: true, usePidfd: false)
        XCTAssertEqual(String(decoding: r.output, as: UTF8.self), "hi\n")
        let m = marker()
        let t0 = ProcessFixtures.now()
        XCTAssertEqual(spawn(["sh", "-c", "sleep \(m) & sleep \(m)"], timeoutMilliseconds: 300, usePidfd: false).termination,
                       .timedOut)
        XCTAssertLessThan(ProcessFixtures.now() - t0, 1.0)
        XCTAssertTrue(ProcessFixtures.waitUntil(milliseconds: 1000) { self.withMarker(m).isEmpty })
    }

    func testWaitStatusDecoding() {
        XCTAssertEqual(decodeWaitStatus(0), .exited(0))
        XCTAssertEqual(decodeWaitStatus(3 << 8), .exited(3))
        XCTAssertEqual(decodeWaitStatus(9), .signaled(9))
        XCTAssertEqual(decodeWaitStatus(15 | 0x80), .signaled(15), "core dumped")
    }
}
