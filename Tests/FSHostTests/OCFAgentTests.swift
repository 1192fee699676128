import Foundation
import TestSupport
import XCTest

/// fshost as a Pacemaker OCF resource agent (issue 13): the installed
/// `lib/ocf/resource.d/fshost/<type>` driven by the real tools —
/// `ocf-tester` (resource-agents), `crm_resource --force-*` (pacemaker-cli-utils)
/// with `CIB_file`, `xmllint --valid` against resource-agents' `ra-api-1.dtd` —
/// plus what they cannot see: the port answers, nothing is left after stop.
final class OCFAgentTests: XCTestCase {
    var sandbox: HostSandbox!
    var sites: [NginxSite] = []
    var prefix: String { sandbox.path("usr") }

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        try sandbox.installTree(into: prefix)
    }

    override func tearDown() {
        for site in sites { site.killEverything() }
        sites = []
        sandbox = nil
    }

    func agent(_ type: String) -> String { prefix + "/lib/ocf/resource.d/fshost/" + type }

    func tool(_ path: String) throws -> String {
        guard FileManager.default.isExecutableFile(atPath: path) else {
            throw SetupFailure("\(path) is not installed (make deps: resource-agents, pacemaker-cli-utils, libxml2-utils)")
        }
        return path
    }

    /// Runs the agent with `environment` added (OCF_RESKEY_*, …).
    func ocf(_ type: String, _ action: String, _ environment: [String: String]) throws -> HostSandbox.Result {
        let saved = sandbox.extraEnvironment
        defer { sandbox.extraEnvironment = saved }
        for (k, v) in environment { sandbox.extraEnvironment[k] = v }
        return try sandbox.run(agent(type), [action])
    }

    func makeSite() throws -> NginxSite {
        if let why = NginxSite.unavailableReason { throw SetupFailure(why) }
        let site = try NginxSite()
        sites.append(site)
        return site
    }

    // MARK: meta-data

    /// The meta-data of every installed type is valid against ra-api-1.dtd
    /// (`xmllint --valid`, in the DTD's directory, as ocf-tester runs it),
    /// with one monitor per level at depths 0, 10, 20.
    func testMetaDataIsValidAgainstTheDTD() throws {
        let dtd = "/usr/share/resource-agents/ra-api-1.dtd"
        guard FileManager.default.fileExists(atPath: dtd) else { throw SetupFailure("\(dtd) missing (Debian resource-agents)") }
        let xmllint = try tool("/usr/bin/xmllint")
        for type in ["template", "webserver"] {
            let r = try ocf(type, "meta-data", [:])
            XCTAssertEqual(r.status, 0, r.description)
            let file = sandbox.path("\(type).xml")
            try r.stdout.write(toFile: file, atomically: false, encoding: .utf8)
            let lint = try ELFFixtures.run("/bin/sh", ["-c", "cd /usr/share/resource-agents && \(xmllint) --noout --valid - < \(file)"])
            XCTAssertEqual(lint.status, 0, "\(type): \(lint.output)")
        }
        let web = try ocf("webserver", "meta-data", [:]).stdout
        XCTAssertTrue(web.contains("<parameter name=\"port\" required=\"1\" unique=\"0\">"), web)
        XCTAssertTrue(web.contains("<content type=\"integer\"/>"), web)
        XCTAssertTrue(web.contains("<content type=\"string\" default=\"/usr/sbin/nginx\"/>"), web)
        for depth in [0, 10, 20] {
            XCTAssertTrue(web.contains("<action name=\"monitor\" timeout=\"15s\" interval=\"\(depth + 10)s\" depth=\"\(depth)\"/>"), web)
        }
        XCTAssertFalse(web.contains("name=\"reload\""), "no fshost type can reload")
        // A secret (the test-only type, run from the build): marked, no default shown.
        sandbox.extraEnvironment["FSHOST_PLUGIN_PATH"] = HostSandbox.products.path
        let fixture = try sandbox.fshost("ocf", "testfixture", "meta-data").stdout
        XCTAssertTrue(fixture.contains("<shortdesc lang=\"en\">a secret: never printed by the host (secret)</shortdesc>"), fixture)
    }

    // MARK: ocf-tester

    func testOCFTesterPassesForTemplate() throws {
        let tester = try tool("/usr/sbin/ocf-tester")
        let r = try sandbox.run(tester, ["-n", "t1", agent("template")])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("passed all tests"), r.stdout)
    }

    /// ocf-tester against a real nginx; then the port is free and no
    /// process of the site is left.
    func testOCFTesterPassesForWebserverOnNginx() throws {
        let tester = try tool("/usr/sbin/ocf-tester")
        let site = try makeSite()
        let r = try sandbox.run(tester, ["-n", "web1", "-o", "config=\(site.config)", "-o", "port=\(site.port)",
                                         "-o", "prefix=\(site.directory)", agent("webserver")])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("passed all tests"), r.stdout)
        XCTAssertEqual(site.allPids(), [], "ocf-tester ends with a stop: nothing of the site may run")
        XCTAssertFalse(site.accepts(), "the port still answers after stop")
    }

    /// ocf-tester against a real writer (a shell loop appending lines to
    /// its log, started by fshost's logwriter type); after the final stop no
    /// writer of this sandbox is left.
    func testOCFTesterPassesForLogwriter() throws {
        let tester = try tool("/usr/sbin/ocf-tester")
        let log = sandbox.path("writer.log")
        let loop = ": \(sandbox.root.path); while :; do echo \"heartbeat ok\"; sleep 0.2; done"
        let argv = "[\"/bin/sh\",\"-c\",\"\(loop.replacingOccurrences(of: "\"", with: "\\\""))\"]"
        let r = try sandbox.run(tester, ["-n", "logw1", "-o", "start_command=\(argv)", "-o", "log_file=\(log)",
                                         "-o", "pidfile=\(sandbox.path("writer.pid"))", "-o", "expected_message=heartbeat ok",
                                         agent("logwriter")])
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("passed all tests"), r.stdout)
        let left = try ELFFixtures.run("/usr/bin/pgrep", ["-f", ": \(sandbox.root.path); while"])
        XCTAssertEqual(left.output.trimmingCharacters(in: .whitespacesAndNewlines), "", "ocf-tester ends with a stop: no writer may run")
    }

    // MARK: crm_resource

    /// `crm_resource --force-start/--force-check/--force-stop` with a CIB
    /// file the test writes (no cluster): the webserver through its life.
    /// Pacemaker 2.1 finds OCF agents only under /usr/lib/ocf/resource.d, so
    /// the test links its installed agent there under a provider of its own
    /// and removes it at the end.
    func testCrmResourceDrivesTheWebserverThroughItsLife() throws {
        let crm = try tool("/usr/sbin/crm_resource")
        let site = try makeSite()
        let provider = "fshost-test-\(UUID().uuidString.prefix(8))"
        let providerDirectory = "/usr/lib/ocf/resource.d/" + provider
        try FileManager.default.createDirectory(atPath: providerDirectory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: providerDirectory) }
        try FileManager.default.createSymbolicLink(atPath: providerDirectory + "/webserver", withDestinationPath: agent("webserver"))
        let cib = sandbox.path("cib.xml")
        try """
        <cib crm_feature_set="3.16.2" validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
          <configuration>
            <crm_config/>
            <nodes/>
            <resources>
              <primitive id="web1" class="ocf" provider="\(provider)" type="webserver">
                <instance_attributes id="web1-params">
                  <nvpair id="web1-config" name="config" value="\(site.config)"/>
                  <nvpair id="web1-port" name="port" value="\(site.port)"/>
                  <nvpair id="web1-prefix" name="prefix" value="\(site.directory)"/>
                </instance_attributes>
                <operations>
                  <op id="web1-monitor" name="monitor" interval="10s" timeout="15s"/>
                </operations>
              </primitive>
            </resources>
            <constraints/>
          </configuration>
          <status/>
        </cib>
        """.write(toFile: cib, atomically: false, encoding: .utf8)
        sandbox.extraEnvironment["CIB_file"] = cib
        func crmResource(_ operation: String) throws -> HostSandbox.Result {
            try sandbox.run(crm, ["--" + operation, "-r", "web1"])
        }
        var r = try crmResource("force-check")
        XCTAssertEqual(r.status, 7, "a probe before any start: not running; \(r.stdout) \(r.stderr)")
        r = try crmResource("force-start")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("returned 0 (ok)"), r.stdout)
        XCTAssertTrue(site.accepts(), "the port does not answer after force-start")
        XCTAssertEqual(site.httpStatus(), 200)
        site.rememberGroups()
        r = try crmResource("force-check")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        r = try crmResource("force-stop")
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(site.allPids(), [], "processes of the site left after force-stop")
        XCTAssertFalse(site.accepts(), "the port still answers after force-stop")
        r = try crmResource("force-check")
        XCTAssertEqual(r.status, 7, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains("returned 7 (not running)"), r.stdout)
    }

    // MARK: OCF semantics and bad input

    /// Return codes: unknown action 3, no action 2, missing required
    /// OCF_RESKEY_* 6 (validate-all and start: nothing starts), an unknown
    /// parameter 2, no OCF_RESOURCE_INSTANCE 2, notify 0, type not installed 5.
    func testBadInputGetsTheOCFCodes() throws {
        let site = try makeSite()
        let base = ["OCF_RESOURCE_INSTANCE": "web1", "OCF_RESKEY_config": site.config, "OCF_RESKEY_prefix": site.directory]
        var r = try ocf("webserver", "frobnicate", base)
        XCTAssertEqual(r.status, 3, r.description)
        XCTAssertTrue(r.stderr.contains("action 'frobnicate' is not implemented by ocf:fshost:webserver"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        r = try sandbox.run(agent("webserver"), [])
        XCTAssertEqual(r.status, 2, r.description)
        for action in ["validate-all", "start"] {
            r = try ocf("webserver", action, base)
            XCTAssertEqual(r.status, 6, "\(action) without OCF_RESKEY_port: OCF_ERR_CONFIGURED; \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("in OCF_RESKEY_*: required attribute 'port' is not set"), r.stderr)
        }
        XCTAssertEqual(site.allPids(), [], "nothing may start without its port")
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.path("run/ocf/web1/active")),
                       "a start refused over its configuration leaves the resource never started")
        var with = base
        with["OCF_RESKEY_port"] = String(site.port)
        with["OCF_RESKEY_colour"] = "blue"
        r = try ocf("webserver", "validate-all", with)
        XCTAssertEqual(r.status, 2, "an unknown parameter: OCF_ERR_ARGS; \(r.stderr)")
        with["OCF_RESKEY_colour"] = nil
        with["OCF_RESKEY_port"] = "http"
        r = try ocf("webserver", "validate-all", with)
        XCTAssertEqual(r.status, 2, "an ill-typed parameter: OCF_ERR_ARGS; \(r.stderr)")
        with["OCF_RESKEY_port"] = String(site.port)
        r = try ocf("webserver", "validate-all", with)
        XCTAssertEqual(r.status, 0, r.stderr)
        with["OCF_RESOURCE_INSTANCE"] = nil
        r = try sandbox.run("/usr/bin/env", ["-u", "OCF_RESOURCE_INSTANCE"] + with.map { "\($0)=\($1)" } + [agent("webserver"), "monitor"])
        XCTAssertEqual(r.status, 2, r.description)
        XCTAssertTrue(r.stderr.contains("OCF_RESOURCE_INSTANCE is not set"), r.stderr)
        r = try ocf("webserver", "notify", base)
        XCTAssertEqual(r.status, 0)
        r = try sandbox.run(HostSandbox.products.appendingPathComponent("fshost").path, ["ocf", "nosuchtype", "start"])
        XCTAssertEqual(r.status, 5, r.description)
    }

    /// Probe semantics and the per-instance directories: monitor before
    /// any start answers 7 (also with interval 0), after start 0, after stop
    /// 7; the lock and the mark live under run/ocf/<instance>, a clone's
    /// `tmpl:1` as `tmpl_3A1` (one to one: `tmpl.1` is another directory).
    func testProbeAnswersNotRunningAndStateIsPerInstance() throws {
        let env = ["OCF_RESOURCE_INSTANCE": "tmpl:1", "OCF_RESKEY_CRM_meta_interval": "0"]
        XCTAssertEqual(try ocf("template", "monitor", env).status, 7)
        XCTAssertEqual(try ocf("template", "start", env).status, 0)
        let directory = sandbox.path("run/ocf/tmpl_3A1")
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/active"))
        XCTAssertTrue(FileManager.default.fileExists(atPath: directory + "/locks/template.tmpl_3A1.lock"))
        XCTAssertEqual(try ocf("template", "monitor", ["OCF_RESOURCE_INSTANCE": "tmpl.1"]).status, 7,
                       "tmpl.1 is not tmpl:1: its own directory, never started")
        XCTAssertEqual(try ocf("template", "monitor", ["OCF_RESOURCE_INSTANCE": "tmpl_3A1"]).status, 7,
                       "an instance named like the escape is escaped itself (tmpl__3A1)")
        XCTAssertEqual(try ocf("template", "monitor", env).status, 0)
        XCTAssertEqual(try ocf("template", "monitor", ["OCF_RESOURCE_INSTANCE": "other"]).status, 7, "another instance")
        XCTAssertEqual(try ocf("template", "stop", env).status, 0)
        XCTAssertEqual(try ocf("template", "monitor", env).status, 7)
        XCTAssertFalse(FileManager.default.fileExists(atPath: directory + "/active"))
    }

    /// OCF_CHECK_LEVEL picks the type's levels by depth (0 → the first,
    /// 10 → the second, deeper → the deepest), and OCF_RESKEY_CRM_meta_timeout
    /// is the action's deadline: a start that hangs answers 1 within it.
    func testCheckLevelMappingAndMetaTimeout() throws {
        sandbox.extraEnvironment["FSHOST_PLUGIN_PATH"] = HostSandbox.products.path
        let fshost = HostSandbox.products.appendingPathComponent("fshost").path
        func run(_ action: String, _ env: [String: String]) throws -> HostSandbox.Result {
            try sandbox.run("/usr/bin/env", env.map { "\($0)=\($1)" } + [fshost, "ocf", "testfixture", action])
        }
        let marker = sandbox.path("marker")
        var env = ["OCF_RESOURCE_INSTANCE": "fx", "OCF_RESKEY_port": "80", "OCF_RESKEY_marker": marker]
        XCTAssertEqual(try run("start", env).status, 0)
        for (depth, level) in [("0", 1), ("10", 2), ("30", 2)] {
            env["OCF_CHECK_LEVEL"] = depth
            let r = try run("monitor", env)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertTrue(r.stderr.contains("action=monitor level=\(level) "), "depth \(depth): \(r.stderr)")
        }
        env["OCF_CHECK_LEVEL"] = "deep"
        XCTAssertEqual(try run("monitor", env).status, 2)
        env["OCF_CHECK_LEVEL"] = nil
        XCTAssertEqual(try run("stop", env).status, 0)

        env["OCF_RESKEY_hang"] = "30s"
        env["OCF_RESKEY_CRM_meta_timeout"] = "2000"
        let r = try run("start", env)
        XCTAssertEqual(r.status, 1, "timed out: OCF_ERR_GENERIC; \(r.stderr)")
        // 2000 ms less the margin and the grace (CallerDeadline), counted from when
        // the call was read: the ms fshost spent before its action starts
        // come off it, so the figure is 1425 or a few below.
        let budget = r.stderr.components(separatedBy: "did not finish within ").dropFirst().first
            .flatMap { Int($0.prefix(while: \.isNumber)) }
        XCTAssertNotNil(budget, r.stderr)
        XCTAssertTrue((1_400...1_425).contains(budget ?? 0), "budget \(budget ?? 0) ms: \(r.stderr)")
        XCTAssertLessThan(r.milliseconds, 2000)
    }
}
