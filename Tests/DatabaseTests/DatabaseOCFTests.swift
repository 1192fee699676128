// ocf-tester (Debian resource-agents) against the installed OCF agent
// `lib/ocf/resource.d/fshost/database` (issue 13) with a real PostgreSQL 15
// cluster: the class's initdb template (PostgresFixture, its own OS user)
// copied for the test, the password given as OCF_RESKEY_password as a CIB
// would. ocf-tester sees only return codes, so the test then checks what it
// cannot: no postmaster of the data directory is left, the port refuses,
// and the password appears in no output.
import Foundation
import TestSupport
import XCTest

final class DatabaseOCFTests: XCTestCase {
    nonisolated(unsafe) static var shared: Result<PostgresTemplate, Error>?

    var template: PostgresTemplate!
    var sandbox: HostSandbox!
    var cluster: PostgresCluster?
    var prefix: String { sandbox.path("usr") }

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        try sandbox.installTree(into: prefix)
        if Self.shared == nil { Self.shared = PostgresTemplate.make() }
        template = try Self.shared!.get()
    }

    override func tearDown() {
        if let template {
            PostgresTemplate.killProcesses(of: template.uid)
            XCTAssertEqual(PostgresTemplate.processes(of: template.uid), [], "processes of the test user remain")
        }
        cluster?.remove()
        cluster = nil
        sandbox = nil
        super.tearDown()
    }

    override class func tearDown() {
        if case .success(let template)? = shared { template.remove() }
        shared = nil
        super.tearDown()
    }

    func testOCFTesterPassesForDatabaseOnPostgreSQL() throws {
        let tester = "/usr/sbin/ocf-tester"
        guard FileManager.default.isExecutableFile(atPath: tester) else {
            throw SetupFailure("\(tester) is not installed (make deps: resource-agents)")
        }
        let cluster = try PostgresCluster(template)
        self.cluster = cluster
        let options = (cluster.attributes + ["table=\(PostgresTemplate.table)"]).flatMap { ["-o", $0] }
        let r = try sandbox.run(tester, ["-n", "db1"] + options + [prefix + "/lib/ocf/resource.d/fshost/database"])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("passed all tests"), r.stdout)
        XCTAssertFalse((r.stdout + r.stderr).contains(PostgresTemplate.password), "the password appears in ocf-tester's output")
        XCTAssertEqual(cluster.postmasters(), [], "ocf-tester ends with a stop: no postmaster of the data directory may run")
        XCTAssertFalse(FileManager.default.fileExists(atPath: cluster.pidFile), "postmaster.pid left behind")
        XCTAssertNotEqual(try cluster.psql("SELECT 1").status, 0, "the server still answers after the final stop")

        // The same agent and parameters really serve (what ocf-tester's
        // return codes cannot show), the password (OCF_RESKEY_password in the
        // agent's environment) reaches no process of the server, and stop
        // leaves no postmaster.
        for attribute in cluster.attributes + ["table=\(PostgresTemplate.table)"] {
            let pair = attribute.split(separator: "=", maxSplits: 1).map(String.init)
            sandbox.extraEnvironment["OCF_RESKEY_" + pair[0]] = pair[1]
        }
        sandbox.extraEnvironment["OCF_RESOURCE_INSTANCE"] = "db1"
        let agent = prefix + "/lib/ocf/resource.d/fshost/database"
        var step = try sandbox.run(agent, ["start"])
        XCTAssertEqual(step.status, 0, step.description)
        XCTAssertEqual(cluster.postmasters().count, 1, "one postmaster of this data directory")
        XCTAssertEqual(try cluster.psql("SELECT count(*) FROM \(PostgresTemplate.table)").output, "1")
        for pid in PostgresTemplate.processes(of: template.uid) {
            for file in ["cmdline", "environ"] {
                let bytes = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/\(file)"))) ?? Data()
                let leaked = bytes.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
                    .filter { $0.contains(PostgresTemplate.password) }
                    .map { $0.replacingOccurrences(of: PostgresTemplate.password, with: "<password>") }
                let comm = (try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "?"
                XCTAssertEqual(leaked, [], "the password is in /proc/\(pid)/\(file) of \(comm)")
            }
        }
        step = try sandbox.run(agent, ["monitor"])
        XCTAssertEqual(step.status, 0, step.description)
        step = try sandbox.run(agent, ["stop"])
        XCTAssertEqual(step.status, 0, step.description)
        XCTAssertEqual(cluster.postmasters(), [], "no postmaster after the agent's stop")
        XCTAssertFalse((step.stdout + step.stderr).contains(PostgresTemplate.password))
    }
}
