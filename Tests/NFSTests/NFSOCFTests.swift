// ocf-tester (Debian resource-agents) against the installed OCF agent
// `lib/ocf/resource.d/fshost/nfs` (issue 13) with a real NFS-Ganesha: the
// test's GaneshaLab (a network namespace with its own rpcbind; Ganesha is
// started by the agent's first start), ocf-tester run inside the namespace
// as a cluster manager's call on the server would be. ocf-tester sees only
// return codes, so the test then checks what it cannot: the export's file is
// gone and the server no longer lists the path (the server itself stays:
// it is shared by the node's exports, and stop withdraws one export); and
// the same agent's start really exports the path.
import Foundation
import TestSupport
import XCTest

final class NFSOCFTests: XCTestCase {
    var sandbox: HostSandbox!
    var lab: GaneshaLab!
    var prefix: String { sandbox.path("usr") }

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        try sandbox.installTree(into: prefix)
        lab = try GaneshaLab(sandbox: sandbox)
    }

    override func tearDown() {
        if let lab {
            lab.tearDown()  // kills the lab's rpcbind and Ganesha (expected to run until here)
            XCTAssertEqual(lab.processesInNamespace(), [], "processes still run in \(lab.namespace)")
        }
        lab = nil
        sandbox = nil
        super.tearDown()
    }

    func testOCFTesterPassesForNFSOnGanesha() throws {
        let tester = "/usr/sbin/ocf-tester"
        guard FileManager.default.isExecutableFile(atPath: tester) else {
            throw SetupFailure("\(tester) is not installed (make deps: resource-agents)")
        }
        let path = try lab.makeExportDirectory("e1")
        let options = (["path=\(path)", "export_id=101", "clients=127.0.0.1", "retries=0"] + lab.serverAttributes)
            .flatMap { ["-o", $0] }
        let r = try lab.run(tester, ["-n", "e1"] + options + [prefix + "/lib/ocf/resource.d/fshost/nfs"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("passed all tests"), r.stdout)
        XCTAssertEqual(lab.exportsSnapshot(), [:], "ocf-tester ends with a stop: the export's file must be gone")
        XCTAssertTrue(lab.ganeshaRuns, "the agent's first start started Ganesha; stop withdraws the export only")
        let listed = try lab.run("/usr/sbin/showmount", ["-e", "127.0.0.1"])
        XCTAssertEqual(listed.status, 0, "showmount -e: \(listed)")
        XCTAssertFalse(listed.stdout.contains(path), "e1 withdrawn from the MOUNT list: \(listed.stdout)")

        // The same agent and parameters really export (what ocf-tester's
        // return codes cannot show), and stop withdraws the export.
        for option in stride(from: 1, to: options.count, by: 2) {
            let pair = options[option].split(separator: "=", maxSplits: 1).map(String.init)
            sandbox.extraEnvironment["OCF_RESKEY_" + pair[0]] = pair[1]
        }
        sandbox.extraEnvironment["OCF_RESOURCE_INSTANCE"] = "e1"
        let agent = prefix + "/lib/ocf/resource.d/fshost/nfs"
        var step = try lab.run(agent, ["start"])
        XCTAssertEqual(step.status, 0, step.description)
        XCTAssertTrue(try lab.run("/usr/sbin/showmount", ["-e", "127.0.0.1"]).stdout.contains(path), "e1 served after start")
        step = try lab.run(agent, ["stop"])
        XCTAssertEqual(step.status, 0, step.description)
        XCTAssertFalse(try lab.run("/usr/sbin/showmount", ["-e", "127.0.0.1"]).stdout.contains(path), "e1 withdrawn after stop")
        XCTAssertEqual(lab.exportsSnapshot(), [:])
    }
}
