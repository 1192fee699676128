// ocf-tester (Debian resource-agents) against the installed OCF agent
// `lib/ocf/resource.d/fshost/ipfilter` (issue 13), with the firewall loaded
// into the server namespace of a NetworkLab the test creates and removes
// (a teardown block: also when the test fails). ocf-tester sees only return
// codes, so the test then checks what it cannot: the blocked port answers
// again and the table is gone from the namespace; and the same agent's
// start really filters there.
import Foundation
import TestSupport
import XCTest

final class IPFilterOCFTests: XCTestCase {
    var sandbox: HostSandbox!
    var lab: NetworkLab!
    let allowed = 8080, blocked = 9090
    let table = "fshost_ocf"
    var prefix: String { sandbox.path("usr") }

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        try sandbox.installTree(into: prefix)
        let lab = try NetworkLab()
        self.lab = lab
        addTeardownBlock {
            lab.remove()
            XCTAssertEqual(lab.leftovers(), [], "network namespaces left after the test")
        }
        try lab.listen(on: [allowed, blocked])
    }

    override func tearDown() {
        sandbox = nil
        super.tearDown()
    }

    func testOCFTesterPassesForIPFilterInANetworkNamespace() throws {
        let tester = "/usr/sbin/ocf-tester"
        guard FileManager.default.isExecutableFile(atPath: tester) else {
            throw SetupFailure("\(tester) is not installed (make deps: resource-agents)")
        }
        let ruleset = sandbox.path("ruleset.nft")
        try """
        table inet \(table) {
            chain input {
                type filter hook input priority filter; policy accept;
                tcp dport \(blocked) counter reject with tcp reset
            }
        }

        """.write(toFile: ruleset, atomically: true, encoding: .utf8)
        XCTAssertTrue(try lab.connects(to: blocked), "before the test every port is open")
        let r = try sandbox.run(tester, ["-n", "fw1", "-o", "ruleset=\(ruleset)", "-o", "table=\(table)",
                                         "-o", "netns=\(lab.server)",
                                         prefix + "/lib/ocf/resource.d/fshost/ipfilter"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("passed all tests"), r.stdout)
        XCTAssertFalse(try lab.nft("list", "tables").contains("inet \(table)"), "ocf-tester ends with a stop: the table must be gone")
        XCTAssertTrue(try lab.connects(to: blocked), "after the final stop the blocked port answers again")
        XCTAssertTrue(try lab.connects(to: allowed))

        // The same agent and parameters really filter in the namespace (what
        // ocf-tester's return codes cannot show), and stop takes it back.
        sandbox.extraEnvironment["OCF_RESOURCE_INSTANCE"] = "fw1"
        sandbox.extraEnvironment["OCF_RESKEY_ruleset"] = ruleset
        sandbox.extraEnvironment["OCF_RESKEY_table"] = table
        sandbox.extraEnvironment["OCF_RESKEY_netns"] = lab.server
        let agent = prefix + "/lib/ocf/resource.d/fshost/ipfilter"
        var step = try sandbox.run(agent, ["start"])
        XCTAssertEqual(step.status, 0, step.description)
        XCTAssertFalse(try lab.connects(to: blocked), "the blocked port refuses while the resource runs")
        XCTAssertTrue(try lab.connects(to: allowed))
        step = try sandbox.run(agent, ["stop"])
        XCTAssertEqual(step.status, 0, step.description)
        XCTAssertTrue(try lab.connects(to: blocked), "after stop the blocked port answers again")
        XCTAssertFalse(try lab.nft("list", "tables").contains("inet \(table)"))
    }
}
