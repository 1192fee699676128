// Two logwriter resources running the same program with the same last word:
// each one's checks and stop ladder judge only its own writer.
import Foundation
import TestSupport
import XCTest

extension LogWriterTests {
    /// The same writer script for both (each appends to its own log, given by
    /// `log_file` with `output=log`), so name and last word match both writers:
    /// exclusive and stop of the resource never started must not take the
    /// other's writer for theirs (the by-name fallbacks count only a process
    /// carrying the resource's own launch mark, as the daemon type's do).
    func testAResourceNeverStartedDoesNotClaimAnotherResourcesWriter() throws {
        try define("w1")
        let command = try String(decoding: JSONSerialization.data(withJSONObject: ["/bin/sh", "-c", loop()]), as: UTF8.self)
        let w2 = try sandbox.fshost(["cdb", "define", "logwriter", "w2", "start_command=\(command)",
                                     "log_file=\(sandbox.path("logs/w2.log"))", "pidfile=\(sandbox.path("w2.pid"))", "retries=0"])
        XCTAssertEqual(w2.status, success, w2.stderr)
        try start("w1")
        let pid = try writerPid()

        XCTAssertEqual(try run("logwriter", "exclusive", "w2").status, notRunning, "w1's writer taken for w2's")
        XCTAssertEqual(try monitor(1, "w2").status, notRunning, "w1's writer taken for w2's")
        XCTAssertEqual(try run("logwriter", "stop", "w2").status, success)
        XCTAssertEqual(kill(pid, 0), 0, "stop of w2 ended w1's writer")
        XCTAssertEqual(try monitor(1, "w1").status, success)
        XCTAssertEqual(try run("logwriter", "stop", "w1").status, success)
        XCTAssertTrue(wait(seconds: 3) { self.writerPids().isEmpty })
    }
}
