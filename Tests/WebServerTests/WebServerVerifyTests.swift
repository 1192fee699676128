// `fshost verify` on a good plugin with a real backend: webserver on nginx
// passes every step, and leaves nginx stopped.
import Foundation
import TestSupport
import XCTest

extension WebServerTests {
    func testVerifyPassesOnNginxAndLeavesItStopped() throws {
        let site = try makeSite()
        try define(site)
        let r = try sandbox.fshost(["verify", "webserver", "web1", "--json"])
        XCTAssertEqual(r.status, success, "\(r) \(r.stdout)")
        let report = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any], r.stdout)
        XCTAssertEqual(report["holds"] as? Bool, true, r.stdout)
        XCTAssertEqual((report["lies"] as? [Any])?.count, 0, r.stdout)
        let steps = try XCTUnwrap(report["steps"] as? [[String: Any]])
        let names = steps.map { $0["step"] as? String ?? "" }
        // Every level of the type ran after start, and the deepest at once.
        for wanted in ["ELF checks", "descriptor", "monitor (stopped)", "start", "level 3 right after start",
                       "level 1 (process)", "level 2 (port)", "level 3 (http)", "exclusive (running)", "stop again",
                       "restart", "stop (to end stopped)"] {
            XCTAssertTrue(names.contains(wanted), "no step \(wanted): \(names)")
        }
        XCTAssertTrue(steps.allSatisfy { $0["result"] as? String == "passed" }, r.stdout)
        XCTAssertTrue(steps.allSatisfy { $0["ms"] is Int }, "each step's time")
        XCTAssertFalse(site.accepts(), "verify leaves the resource stopped")
        XCTAssertEqual(site.allPids(), [], "no nginx of this site after verify")
    }
}
