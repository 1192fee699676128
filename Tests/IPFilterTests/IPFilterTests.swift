// The ipfilter plugin against the kernel's nftables, inside network
// namespaces each test creates (NetworkLab): a real TCP listener in the
// server namespace, connections from the client namespace, the firewall
// loaded by `fshost ipfilter …` subprocesses with `netns=` the server. The
// namespaces and the listener are removed in a teardown block, which runs
// when a test fails too.
import Foundation
import TestSupport
import XCTest

final class IPFilterTests: XCTestCase {
    var sandbox: HostSandbox!
    var lab: NetworkLab!

    let success: Int32 = 0, notRunning: Int32 = 1, invalidArguments: Int32 = 2, commandFailed: Int32 = 3
    let running: Int32 = 4, notSupported: Int32 = 5, noConfigInfo: Int32 = 6

    /// The port the ruleset lets through, and the one it rejects.
    let allowed = 8080, blocked = 9090
    let table = "fshost_test"

    /// Counters (anonymous and a named counter object), a named set, a
    /// variable and a service name the kernel lists as a number (`ssh` → 22);
    /// a comment and a string that mention other tables (not commands).
    var ruleset: String {
        """
        #!/usr/sbin/nft -f
        # the test's firewall; not a command: table ip other { flush ruleset }
        define web = \(allowed)
        table inet \(table) {
            set blocked_ports {
                type inet_service
                elements = { \(blocked), 9999 }
            }
            counter web_hits { }
            chain input {
                type filter hook input priority filter; policy accept;
                tcp dport @blocked_ports counter reject with tcp reset
                tcp dport $web counter name web_hits accept
                tcp dport ssh counter accept comment "ssh; not {table ip other}"
            }
        }

        """
    }

    override func setUpWithError() throws {
        for product in ["fshost", "fshost-admin", "libipfilter.so", "libipfilter-nft.so"] {
            let path = HostSandbox.products.appendingPathComponent(product).path
            guard FileManager.default.fileExists(atPath: path) else { throw SetupFailure("\(path) is not built") }
        }
        sandbox = try HostSandbox()
        let lab = try NetworkLab()
        self.lab = lab
        addTeardownBlock {
            lab.remove()
            XCTAssertEqual(lab.leftovers(), [], "network namespaces left after the test")
        }
        try lab.listen(on: [allowed, blocked])
        try write(ruleset)
        try define()
    }

    override func tearDown() {
        sandbox = nil
        super.tearDown()
    }

    // MARK: Helpers

    var rulesetPath: String { sandbox.path("ruleset.nft") }

    func write(_ text: String, to path: String? = nil, mode: Int = 0o644) throws {
        let path = path ?? rulesetPath
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        guard chmod(path, mode_t(mode)) == 0 else { throw SetupFailure("chmod \(path)") }
    }

    func define(_ name: String = "fw1", _ extra: [String] = []) throws {
        let r = try sandbox.fshost(["cdb", "define", "ipfilter", name, "ruleset=\(rulesetPath)", "table=\(table)",
                                    "netns=\(lab.server)"] + extra)
        if r.status != 0 { throw SetupFailure("`fshost cdb define ipfilter \(name)` answered \(r.status): \(r.stderr)") }
    }

    /// The resource's attributes with `changes`, stored straight into the
    /// CDB, unchecked (as an older fshost could have): what the action path
    /// must refuse itself.
    func plant(_ changes: [String: String]) throws {
        let gone = try sandbox.fshost(["cdb", "delete", "ipfilter", "fw1", "--force"])
        if gone.status != 0 { throw SetupFailure("`fshost cdb delete ipfilter fw1` answered \(gone.status): \(gone.stderr)") }
        try sandbox.store("ipfilter", "fw1", ["ruleset": rulesetPath, "table": table, "netns": lab.server]
            .merging(changes) { $1 })
    }

    /// `cdb modify` refuses `setting` with status 2 in one line holding
    /// `words`, and the stored value stays.
    func modifyIsRefused(_ setting: String, _ words: [String], file: StaticString = #filePath, line: UInt = #line) throws {
        let before = try sandbox.fshost(["cdb", "show", "ipfilter", "fw1"])
        let r = try sandbox.fshost(["cdb", "modify", "ipfilter", "fw1", setting, "--force"])
        XCTAssertEqual(r.status, invalidArguments, "\(setting): \(r)", file: file, line: line)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(setting): one line: \(r.stderr)", file: file, line: line)
        for word in words { XCTAssertTrue(r.stderr.contains(word), "\(setting): '\(word)' not in \(r.stderr)", file: file, line: line) }
        XCTAssertEqual(try sandbox.fshost(["cdb", "show", "ipfilter", "fw1"]).stdout, before.stdout,
                       "\(setting): the CDB changed", file: file, line: line)
    }

    func modify(_ settings: String...) throws {
        let r = try sandbox.fshost(["cdb", "modify", "ipfilter", "fw1"] + settings + ["--force"])
        if r.status != 0 { throw SetupFailure("`fshost cdb modify ipfilter fw1 \(settings)` answered \(r.status): \(r.stderr)") }
    }

    @discardableResult
    func run(_ action: String, _ extra: String...) throws -> HostSandbox.Result {
        try sandbox.fshost(["ipfilter", action, "fw1"] + extra)
    }

    func monitor(_ level: Int) throws -> HostSandbox.Result {
        try sandbox.fshost(["ipfilter", "monitor", "fw1", "--level", String(level)])
    }

    // MARK: The firewall works, and stop removes it

    func testBlockedPortFailsAllowedPortWorksAndAfterStopBothWork() throws {
        XCTAssertTrue(try lab.connects(to: blocked), "before start every port is open")
        var r = try run("start")
        XCTAssertEqual(r.status, success, "\(r)")
        XCTAssertTrue(try lab.connects(to: allowed), "the allowed port accepts with the resource started")
        XCTAssertFalse(try lab.connects(to: blocked), "the blocked port refuses with the resource started")
        XCTAssertEqual(try run("start").status, success, "start is idempotent")
        XCTAssertFalse(try lab.connects(to: blocked))
        for level in [0, 1] { r = try monitor(level); XCTAssertEqual(r.status, success, "level \(level): \(r)") }
        r = try run("exclusive")
        XCTAssertEqual(r.status, running, "\(r)")

        // The table lives in the namespace, not in the test's own.
        let own = try NetworkLab.command(["nft", "list", "tables"])
        XCTAssertFalse(own.output.contains(table), "the table leaked into the caller's namespace: \(own.output)")

        r = try run("stop")
        XCTAssertEqual(r.status, success, "\(r)")
        XCTAssertTrue(try lab.connects(to: allowed), "after stop")
        XCTAssertTrue(try lab.connects(to: blocked), "after stop the blocked port works again")
        XCTAssertEqual(try run("stop").status, success, "stop is idempotent")
        XCTAssertEqual(try run("exclusive").status, notRunning)
        XCTAssertEqual(try monitor(1).status, notRunning)
        XCTAssertEqual(try monitor(0).status, success, "level 0 checks nothing (the guide's kernel-filtering example)")
        XCTAssertFalse(try lab.ruleset().contains(table))
    }

    func testRestartReplacesTheTableWithoutAGap() throws {
        XCTAssertEqual(try run("start").status, success)
        try write(ruleset.replacingOccurrences(of: "elements = { \(blocked), 9999 }", with: "elements = { 9999 }"))
        XCTAssertEqual(try monitor(1).status, commandFailed, "a file changed since start is drift")
        let r = try run("restart")
        XCTAssertEqual(r.status, success, "\(r)")
        XCTAssertTrue(try lab.connects(to: blocked), "restart loaded the new file")
        XCTAssertEqual(try monitor(1).status, success)
    }

    // MARK: Bad rulesets change nothing

    func testSyntaxErrorIsRefusedWithItsLineAndTheRunningRulesStay() throws {
        XCTAssertEqual(try run("start").status, success)
        let before = try lab.ruleset()
        // Line 13 gets a typo.
        try write(ruleset.replacingOccurrences(of: "counter name web_hits accept", with: "counter name web_hits acept"))
        for action in ["validate", "start", "restart"] {
            let r = try run(action)
            XCTAssertEqual(r.status, noConfigInfo, "\(action): \(r)")
            XCTAssertTrue(r.stderr.contains("\(rulesetPath):13:"), "the message names the file and line 13: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains("syntax error"), r.stderr)
            XCTAssertTrue(r.stderr.contains("nothing changed"), r.stderr)
            XCTAssertEqual(try lab.ruleset(), before, "\(action) of a bad file changed the kernel's rules")
        }
        XCTAssertFalse(try lab.connects(to: blocked), "the old rules still filter")
        XCTAssertTrue(try lab.connects(to: allowed))
    }

    func testAKernelRefusalAfterTheSyntaxCheckStillChangesNothing() throws {
        XCTAssertEqual(try run("start").status, success)
        let before = try lab.ruleset()
        // Parses, but the kernel refuses it (a jump to a chain that does not exist).
        try write(ruleset.replacingOccurrences(of: "tcp dport ssh counter accept", with: "tcp dport ssh jump nowhere"))
        for action in ["validate", "start"] {
            let r = try run(action)
            XCTAssertEqual(r.status, noConfigInfo, "\(action): \(r)")
            XCTAssertTrue(r.stderr.contains("\(rulesetPath):14:"), r.stderr)
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)")
            XCTAssertEqual(try lab.ruleset(), before)
        }
    }

    // MARK: Monitoring

    func testARuleDeletedByHandFailsLevel1() throws {
        XCTAssertEqual(try run("start").status, success)
        XCTAssertEqual(try monitor(1).status, success)
        let listing = try lab.nft("-a", "list", "chain", "inet", table, "input")
        guard let line = listing.split(separator: "\n").first(where: { $0.contains("dport 22") }),
              let handle = line.split(separator: " ").last else {
            throw SetupFailure("no ssh rule with a handle in: \(listing)")
        }
        try lab.nft("delete", "rule", "inet", table, "input", "handle", String(handle))
        let r = try monitor(1)
        XCTAssertEqual(r.status, commandFailed, "\(r)")
        XCTAssertTrue(r.stderr.contains("differs from what start loaded"), r.stderr)
        XCTAssertTrue(r.stderr.contains("tcp dport 22 counter accept"), "the reason shows the missing rule: \(r.stderr)")
        XCTAssertEqual(try monitor(0).status, success, "level 0 looks at nothing")
        XCTAssertEqual(try run("exclusive").status, running, "the table is still there")
        // start of the same file compares first: the table differs, so it reloads.
        XCTAssertEqual(try run("start").status, success)
        XCTAssertEqual(try monitor(1).status, success, "start put the deleted rule back")
        let again = try lab.nft("-a", "list", "chain", "inet", table, "input")
        guard let line2 = again.split(separator: "\n").first(where: { $0.contains("dport 22") }),
              let handle2 = line2.split(separator: " ").last else {
            throw SetupFailure("no ssh rule with a handle in: \(again)")
        }
        try lab.nft("delete", "rule", "inet", table, "input", "handle", String(handle2))

        try lab.nft("add", "rule", "inet", table, "input", "tcp dport 22 counter accept comment \"ssh; not {table ip other}\"")
        XCTAssertEqual(try monitor(1).status, success, "the same rule put back (a new handle) is no drift")
        try lab.nft("add", "rule", "inet", table, "input", "tcp", "dport", "23", "drop")
        XCTAssertEqual(try monitor(1).status, commandFailed, "a rule added by hand is drift")
        try lab.nft("delete", "table", "inet", table)
        XCTAssertEqual(try monitor(1).status, notRunning, "the table deleted by hand: not running")
    }

    func test200MonitorsOfAnUntouchedRulesetWithCountersAndANamedSetAllSucceed() throws {
        XCTAssertEqual(try run("start").status, success)
        var failures: [String] = []
        for i in 0..<200 {
            // Traffic moves the counters (anonymous and named) between monitors.
            if i % 20 == 0 {
                XCTAssertTrue(try lab.connects(to: allowed))
                XCTAssertFalse(try lab.connects(to: blocked))
            }
            let r = try monitor(1)
            if r.status != success { failures.append("monitor \(i): \(r)") }
        }
        XCTAssertEqual(failures, [], "level 1 flapped on an untouched ruleset")
        let counters = try lab.nft("list", "counter", "inet", table, "web_hits")
        XCTAssertFalse(counters.contains("packets 0 "), "traffic counted, so the counters did move: \(counters)")
    }

    // MARK: Level 1 lists the table only when the namespace's nftables generation moved

    /// The state level 1 keeps after an equal comparison: boot, namespace
    /// cookie, generation, fingerprint of start's listing.
    func verifiedState() throws -> [Substring] {
        let path = sandbox.path("state/ipfilter/fw1/verified")
        return try String(contentsOfFile: path, encoding: .utf8).split(separator: " ")
    }

    /// Level 1 without its companion (libnftables): a plugin directory
    /// holding ipfilter.so alone, so a monitor that needs the listing
    /// answers "not supported" (5) instead of comparing.
    func withoutCompanion<T>(_ body: () throws -> T) throws -> T {
        let plugins = sandbox.path("plugin-alone")
        if !FileManager.default.fileExists(atPath: plugins) {
            try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o755])
            try FileManager.default.copyItem(atPath: HostSandbox.products.path + "/libipfilter.so",
                                             toPath: plugins + "/ipfilter.so")
        }
        let saved = sandbox.pluginPath
        sandbox.pluginPath = plugins
        defer { sandbox.pluginPath = saved }
        return try body()
    }

    func testLevel1SkipsTheListingOnlyWhileNoCommitCameSinceAnEqualOne() throws {
        XCTAssertEqual(try run("start").status, success)
        XCTAssertEqual(try withoutCompanion { try monitor(1).status }, notSupported,
                       "the first level 1 after start compares the listing")
        XCTAssertEqual(try monitor(1).status, success)
        var r = try withoutCompanion { try monitor(1) }
        XCTAssertEqual(r.status, success, "nothing committed since an equal listing: no listing needed: \(r)")

        // A commit anywhere in the namespace (another table) moves the
        // generation: compared again, and equal.
        try lab.nft("add table ip bump; delete table ip bump")
        XCTAssertEqual(try withoutCompanion { try monitor(1).status }, notSupported, "the generation moved: listed again")
        XCTAssertEqual(try monitor(1).status, success, "another table's commit is no drift")
        XCTAssertEqual(try withoutCompanion { try monitor(1).status }, success)

        // The ruleset file is compared on every call.
        try write(ruleset + "add rule inet \(table) input tcp dport 24 drop\n")
        r = try withoutCompanion { try monitor(1) }
        XCTAssertEqual(r.status, commandFailed, "\(r)")
        XCTAssertTrue(r.stderr.contains("changed since start"), r.stderr)
        try write(ruleset)

        // A rule added by hand is a commit: never answered from the kept generation.
        try lab.nft("add", "rule", "inet", table, "input", "tcp", "dport", "23", "drop")
        XCTAssertEqual(try withoutCompanion { try monitor(1).status }, notSupported)
        XCTAssertEqual(try monitor(1).status, commandFailed, "a rule added by hand is drift")
        XCTAssertEqual(try withoutCompanion { try monitor(1).status }, notSupported, "drift keeps nothing")

        // restart is a commit and a new listing: compared again.
        XCTAssertEqual(try run("restart").status, success)
        XCTAssertEqual(try withoutCompanion { try monitor(1).status }, notSupported)
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertEqual(try run("stop").status, success)
        XCTAssertFalse(FileManager.default.fileExists(atPath: sandbox.path("state/ipfilter/fw1/verified")),
                       "stop forgets the generation")
        XCTAssertEqual(try monitor(1).status, notRunning)
    }

    func testANamespaceMadeAgainAtTheSameGenerationIsComparedAgain() throws {
        XCTAssertEqual(try run("start").status, success)
        XCTAssertEqual(try monitor(1).status, success)
        let before = try verifiedState()
        guard before.count == 7, let generation = Int(before[2]), generation >= 2 else {
            throw SetupFailure("verified state is not 'BOOT COOKIE GENERATION FINGERPRINT FAMILY TABLE NETNS': \(before)")
        }
        // The same name, a new namespace (its generation counts from 1
        // again), and by hand a table of the same name with other rules,
        // reaching the generation kept for the old namespace.
        try NetworkLab.must(["ip", "netns", "del", lab.server])
        try NetworkLab.must(["ip", "netns", "add", lab.server])
        let other = sandbox.path("other.nft")
        try write("table inet \(table) {\n    chain input { type filter hook input priority filter; policy drop; }\n}\n", to: other)
        try lab.nft("-f", other)
        for _ in 0..<(generation - 2) { try lab.nft("add table ip bump; delete table ip bump") }
        let r = try monitor(1)
        XCTAssertEqual(r.status, commandFailed, "another namespace's table at the kept generation is compared: \(r)")

        // One more commit, the file's own rules: equal, and the kept state
        // names the new namespace at the next generation (so the one above
        // was the old namespace's number).
        let replace = sandbox.path("replace.nft")
        try write("add table inet \(table)\ndelete table inet \(table)\n" + ruleset, to: replace)
        try lab.nft("-f", replace)
        XCTAssertEqual(try monitor(1).status, success)
        let after = try verifiedState()
        XCTAssertEqual(after[0], before[0], "same boot")
        XCTAssertNotEqual(after[1], before[1], "another namespace cookie")
        XCTAssertEqual(Int(after[2]), generation + 1, "the new namespace was at the kept generation before this commit")
    }

    func testANamespaceGoneAfterAnEqualListingIsNotRunning() throws {
        XCTAssertEqual(try run("start").status, success)
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertEqual(try withoutCompanion { try monitor(1).status }, success, "the generation was kept")
        try NetworkLab.must(["ip", "netns", "del", lab.server])
        let r = try monitor(1)
        XCTAssertEqual(r.status, notRunning, "no namespace, no generation: listed, and nothing there: \(r)")
        XCTAssertTrue(r.stderr.contains("network namespace"), r.stderr)
    }

    /// The test's ruleset with `rule` first in its input chain.
    func withRule(_ rule: String) -> String {
        ruleset.replacingOccurrences(of: "policy accept;\n", with: "policy accept;\n        \(rule)\n")
    }

    /// What the kernel changes without a commit is always listed: a chain
    /// hooked to a device (gone with the device), elements with a timeout
    /// in a set the file fills (they expire), a rule or set holding an
    /// interface index or a cgroup id (resolved from a name at load). A
    /// dynamic set's elements are left out of the comparison anyway, and an
    /// interface name is kept as written, so those keep the shortcut.
    func testTablesTheKernelChangesWithoutACommitAreAlwaysListed() throws {
        let device = "fsvb\(lab.tag)"
        let cases: [(String, String, Bool)] = [
            ("a chain hooked to a device", ruleset.replacingOccurrences(of: "    counter web_hits { }", with: """
                    counter web_hits { }
                    chain ingress { type filter hook ingress device "\(device)" priority 0; policy accept; }
                """), false),
            ("elements with a timeout", ruleset.replacingOccurrences(of: "    counter web_hits { }", with: """
                    counter web_hits { }
                    set recent { type ipv4_addr; flags timeout; elements = { 10.231.0.9 timeout 1h } }
                """), false),
            ("iif", withRule("iif \"\(device)\" tcp dport 5555 drop"), false),
            ("meta oif", withRule("meta oif \"\(device)\" tcp dport 5555 drop"), false),
            ("a set of iface_index", ruleset.replacingOccurrences(of: "    counter web_hits { }", with: """
                    counter web_hits { }
                    set ports_in { type iface_index; elements = { "\(device)" } }
                """), false),
            ("meta cgroup", withRule("meta cgroup 5 tcp dport 5555 drop"), false),
            ("socket cgroupv2", withRule("socket cgroupv2 level 1 \"/\" tcp dport 5555 drop"), false),
            ("iifname (a name, kept by the kernel)", withRule("iifname \"\(device)\" tcp dport 5555 drop"), true),
            ("a dynamic set with a timeout", ruleset.replacingOccurrences(of: "    counter web_hits { }", with: """
                    set seen { type ipv4_addr; flags dynamic, timeout; timeout 1h; }
                    counter web_hits { }
                """).replacingOccurrences(of: "policy accept;\n", with: "policy accept;\n        add @seen { ip saddr }\n"), true),
        ]
        for (what, text, shortcut) in cases {
            try write(text)
            var r = try run("restart")
            XCTAssertEqual(r.status, success, "\(what): \(r)")
            r = try monitor(1)
            XCTAssertEqual(r.status, success, "\(what): \(r)")
            r = try withoutCompanion { try monitor(1) }
            XCTAssertEqual(r.status, shortcut ? success : notSupported, "\(what): listed again: \(!shortcut): \(r)")
        }
    }

    /// `iif "v0"` holds v0's index: v0 deleted and made again under its
    /// name makes the rule match nothing, and the kernel lists `iif N`,
    /// with no commit in the namespace. Level 1 still sees it (review of
    /// issue 11: the generation shortcut answered success).
    func testADeviceMadeAgainUnderItsNameIsDrift() throws {
        let device = "fsv0\(lab.tag)", peer = "fsv1\(lab.tag)"
        func makeDevice() throws {
            try NetworkLab.must(["ip", "-n", lab.server, "link", "add", device, "type", "veth", "peer", "name", peer])
        }
        try makeDevice()
        try write(withRule("iif \"\(device)\" tcp dport 5555 drop"))
        XCTAssertEqual(try run("start").status, success)
        XCTAssertEqual(try monitor(1).status, success)
        var r = try monitor(1)
        XCTAssertEqual(r.status, success, "\(r)")
        try NetworkLab.must(["ip", "-n", lab.server, "link", "del", device])
        try makeDevice()
        r = try monitor(1)
        XCTAssertEqual(r.status, commandFailed, "the rule now names another index: \(r)")
        XCTAssertTrue(r.stderr.contains("iif \"\(device)\""), r.stderr)
    }

    /// The kept generation names the table and namespace it was compared
    /// in: a resource modified to another family or table (or namespace)
    /// is listed there, never answered from the old table's comparison.
    func testAResourceModifiedToAnotherTableIsListedThere() throws {
        XCTAssertEqual(try run("start").status, success)
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertEqual(try withoutCompanion { try monitor(1).status }, success, "the generation was kept")
        let kept = try verifiedState()
        XCTAssertEqual(kept.suffix(3), ["inet", Substring(table), Substring(lab.server)], "\(kept)")
        for setting in ["family=ip", "table=nosuch", "netns=fsipf-none-\(lab.tag)"] {
            try modify(setting)
            XCTAssertEqual(try run("exclusive").status, notRunning, setting)
            let r = try monitor(1)
            XCTAssertEqual(r.status, notRunning, "\(setting): listed where the resource now points: \(r)")
            try modify("family=inet", "table=\(table)", "netns=\(lab.server)")
        }
        XCTAssertEqual(try monitor(1).status, success)
    }

    /// A state directory fshost refuses is named as the cause (its
    /// permissions), not "not started by fshost … restart it".
    func testAnUnsafeStateDirectoryIsNamedAsTheCause() throws {
        XCTAssertEqual(try run("start").status, success)
        XCTAssertEqual(try monitor(1).status, success)
        let directory = sandbox.path("state/ipfilter/fw1")
        XCTAssertEqual(chmod(directory, 0o770), 0)
        defer { chmod(directory, 0o700) }
        let r = try monitor(1)
        XCTAssertEqual(r.status, 9, "HA_HOST_ERROR: \(r)")
        XCTAssertTrue(r.stderr.contains("writable by its group"), r.stderr)
        XCTAssertFalse(r.stderr.contains("restart it"), r.stderr)
        XCTAssertFalse(r.stderr.contains("not started by fshost"), r.stderr)
    }

    // MARK: Only its own table

    func testAnotherTableInTheSameNamespaceIsNeverTouched() throws {
        // Another table, and one of the same name in another family.
        let others = """
            table ip other {
                set hosts { type ipv4_addr; elements = { 10.9.9.9 } }
                chain c {
                    type filter hook input priority 10; policy accept;
                    counter
                }
            }
            table ip \(table) {
                chain c { type filter hook input priority 20; policy accept; }
            }

            """
        let path = sandbox.path("others.nft")
        try write(others, to: path)
        try lab.nft("-f", path)
        func othersNow() throws -> String {
            try lab.nft("-a", "-s", "list", "table", "ip", "other") + lab.nft("-a", "-s", "list", "table", "ip", table)
        }
        let before = try othersNow()

        XCTAssertEqual(try run("start").status, success)
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertEqual(try run("restart").status, success)
        XCTAssertEqual(try run("exclusive").status, running)
        XCTAssertEqual(try othersNow(), before)
        try write(ruleset + "add rule ip other c drop\n")
        XCTAssertEqual(try run("start").status, noConfigInfo)
        try write(ruleset)
        XCTAssertEqual(try run("stop").status, success)
        XCTAssertEqual(try run("stop").status, success)
        XCTAssertEqual(try othersNow(), before, "stop deleted only its own table")
        XCTAssertFalse(try lab.nft("list", "tables").contains("inet \(table)"))
    }

    /// Every command form nft has for objects of one table is accepted when
    /// it names the resource's own table (RulesetScope is not a second,
    /// stricter nft).
    func testEveryCommandFormOnItsOwnTableIsAccepted() throws {
        try write(ruleset + """
            add rule inet \(table) input tcp dport 1 drop
            insert rule inet \(table) input tcp dport 2 drop; add element inet \(table) blocked_ports { 1234 }
            chain inet \(table) extra {
                tcp dport 3 drop
            }
            create chain inet \(table) other
            flush chain inet \(table) other
            delete chain inet \(table) other
            add set inet \(table) empty { type ipv4_addr; }
            add counter inet \(table) more
            add quota inet \(table) q { over 1 mbytes }
            add rule inet \(table) extra \\
                tcp dport 4 drop

            """)
        let r = try run("start")
        XCTAssertEqual(r.status, success, "\(r)")
        let listing = try lab.nft("list", "table", "inet", table)
        for word in ["dport 1 drop", "dport 2 drop", "1234", "chain extra", "dport 4 drop", "set empty", "quota q"] {
            XCTAssertTrue(listing.contains(word), "\(word) not loaded: \(listing)")
        }
        XCTAssertFalse(listing.contains("chain other"), listing)
        XCTAssertEqual(try monitor(1).status, success)
    }

    /// A file that never names its table (empty, `;;;`, comments or
    /// definitions only, cut before its first command) is refused: loading
    /// it would be an empty table, the firewall off, and start's success
    /// (fail-open). The running rules stay.
    func testAFileThatNeverNamesItsTableIsRefusedAndTheRunningRulesStay() throws {
        XCTAssertEqual(try run("start").status, success)
        let before = try lab.ruleset()
        for text in ["# nothing yet\n", "", ";;;\n", "#!/usr/sbin/nft -f\ndefine web = 80\n", "\n\n  \n"] {
            try write(text)
            for action in ["start", "restart", "validate"] {
                let r = try run(action)
                XCTAssertEqual(r.status, noConfigInfo, "\(action) \(text.debugDescription): \(r)")
                XCTAssertTrue(r.stderr.contains("never names table inet \(table)"), r.stderr)
            }
            XCTAssertEqual(try lab.ruleset(), before, text.debugDescription)
            XCTAssertFalse(try lab.connects(to: blocked), "the old rules still filter")
        }
    }

    // MARK: Findings of the review (issue 11)

    /// A table of ~20k rules (≈1 MiB listing) loaded behind fshost's back:
    /// level 1 lists it, fails (no listing kept by start), and the retry
    /// lists it again in the same worker. That retry died of SIGSEGV in
    /// strlen (a libnftables output buffer read after it was gone); now
    /// every answer is the plugin's, three times over, and a start and
    /// monitor of the same big file succeed.
    func testARetriedMonitorOfABigTableAnswersWithoutACrash() throws {
        var lines = ["table inet \(table) {", "  chain input {", "    type filter hook input priority 0; policy accept;"]
        for i in 0..<20_000 {
            lines.append("    ip saddr 10.\(i / 65536 % 256).\(i / 256 % 256).\(i % 256) tcp dport \(1000 + i % 60000) counter accept")
        }
        lines += ["  }", "}", ""]
        try write(lines.joined(separator: "\n"))
        try lab.nft("-f", rulesetPath)
        try modify("retries=1", "retry_interval=100ms", "monitor_timeout=120s")
        for attempt in 1...3 {
            let r = try monitor(1)
            XCTAssertEqual(r.status, commandFailed, "attempt \(attempt): \(r)")
            XCTAssertTrue(r.stderr.contains("no listing was kept by start"), r.stderr)
            XCTAssertFalse(r.stderr.contains("signal"), "attempt \(attempt): the worker died: \(r.stderr)")
        }
        var r = try run("start")
        XCTAssertEqual(r.status, success, "\(r)")
        r = try monitor(1)
        XCTAssertEqual(r.status, success, "\(r)")
    }

    /// `netns=` set but empty is not "unset": refused (2) by `cdb modify`,
    /// and, stored by an older fshost, by every action; nothing lands in
    /// the test's own namespace.
    func testAnEmptyNetnsIsRefusedNotTheNodesOwnNamespace() throws {
        try modifyIsRefused("netns=", ["attribute 'netns' must be a file name under /run/netns", "''"])
        try plant(["netns": ""])
        for action in ["start", "stop", "exclusive", "validate"] {
            let r = try run(action)
            XCTAssertEqual(r.status, invalidArguments, "\(action): \(r)")
            XCTAssertTrue(r.stderr.contains("attribute 'netns'"), r.stderr)
        }
        XCTAssertEqual(try monitor(1).status, invalidArguments)
        let own = try NetworkLab.command(["nft", "list", "tables"])
        XCTAssertFalse(own.output.contains(table), "the table landed in the test's own namespace: \(own.output)")
    }

    /// A symbolic link in a directory others can write (sticky 1777, like
    /// /tmp) to a trusted file: whoever can write that directory chooses
    /// what the path means, so it is refused (6), by the host's rule
    /// (PathTrust.checkLinks). A link in a trusted directory is fine.
    func testASymlinkPlantedInADirectoryOthersCanWriteIsRefused() throws {
        let open = sandbox.path("open")
        try FileManager.default.createDirectory(atPath: open, withIntermediateDirectories: false)
        guard chmod(open, 0o1777) == 0 else { throw SetupFailure("chmod 1777 \(open)") }
        try FileManager.default.createSymbolicLink(atPath: open + "/fw.nft", withDestinationPath: rulesetPath)
        try modify("ruleset=\(open)/fw.nft")
        for action in ["start", "validate"] {
            let r = try run(action)
            XCTAssertEqual(r.status, noConfigInfo, "\(action): \(r)")
            XCTAssertTrue(r.stderr.contains("directory \(open) is writable by others"), r.stderr)
        }
        XCTAssertFalse(try lab.ruleset().contains(table), "nothing loaded")

        try FileManager.default.createSymbolicLink(atPath: sandbox.path("link.nft"), withDestinationPath: rulesetPath)
        try modify("ruleset=\(sandbox.path("link.nft"))")
        let r = try run("start")
        XCTAssertEqual(r.status, success, "a link in a trusted directory: \(r)")
    }

    /// A set the ruleset's own rules fill from the packet path (`add
    /// @seen { ip saddr }`) holds traffic, not rules: level 1 does not
    /// call its elements drift. A start of the unchanged file keeps them
    /// (compared first, not reloaded); restart reloads (empty set). An
    /// element added by hand to a set the file defines is still drift.
    func testElementsOfADynamicSetAreTrafficNotDrift() throws {
        try write(ruleset.replacingOccurrences(of: "    counter web_hits { }", with: """
                set seen { type ipv4_addr; flags dynamic, timeout; timeout 1h; }
                counter web_hits { }
            """).replacingOccurrences(of: "policy accept;\n", with: "policy accept;\n        add @seen { ip saddr }\n"))
        XCTAssertEqual(try run("start").status, success)
        XCTAssertEqual(try monitor(1).status, success)
        XCTAssertTrue(try lab.connects(to: allowed))
        XCTAssertTrue(try lab.nft("list", "set", "inet", table, "seen").contains(lab.clientAddress), "traffic filled the set")
        var r = try monitor(1)
        XCTAssertEqual(r.status, success, "learned elements are no drift: \(r)")

        r = try run("start")
        XCTAssertEqual(r.status, success, "\(r)")
        XCTAssertTrue(try lab.nft("list", "set", "inet", table, "seen").contains(lab.clientAddress),
                      "a start of the same file keeps what the set learned")
        XCTAssertFalse(try lab.nft("list", "counter", "inet", table, "web_hits").contains("packets 0 "),
                       "and the counters")
        XCTAssertEqual(try monitor(1).status, success)

        XCTAssertEqual(try run("restart").status, success)
        XCTAssertFalse(try lab.nft("list", "set", "inet", table, "seen").contains(lab.clientAddress), "restart reloads")
        try lab.nft("add", "element", "inet", table, "blocked_ports", "{ 7777 }")
        r = try monitor(1)
        XCTAssertEqual(r.status, commandFailed, "an element added by hand to a set the file defines: \(r)")
    }

    /// A file missing its closing brace: the message names the file's own
    /// line (as `nft -c -f FILE` does) and never quotes fshost's own
    /// commands (`add table …`).
    func testAMissingClosingBraceNamesTheFilesLineNotFshostsCommands() throws {
        var text = ruleset
        text.removeLast(2)  // the final "}\n"
        text += "\n"
        try write(String(text))
        for action in ["start", "restart"] {
            let r = try run(action)
            XCTAssertEqual(r.status, noConfigInfo, "\(action): \(r)")
            XCTAssertTrue(r.stderr.contains("\(rulesetPath):"), r.stderr)
            XCTAssertTrue(r.stderr.contains("end of file"), r.stderr)
            XCTAssertFalse(r.stderr.contains("add table"), "fshost's own command quoted: \(r.stderr)")
            XCTAssertFalse(r.stderr.contains("/proc/self/fd"), r.stderr)
        }
        XCTAssertFalse(try lab.ruleset().contains(table))
    }

    /// Table names nft reads as keywords (it has no quoted names) are
    /// refused by `cdb modify` (2, the schema's refused words) and, stored
    /// by an older fshost, by every action alike: stop never fails for a
    /// name the check let through.
    func testTableNamesThatAreNftKeywordsAreRefused() throws {
        for name in ["ip", "inet", "table", "ruleset", "add", "counter", "tables", "sets"] {
            try modifyIsRefused("table=\(name)", ["attribute 'table' must be an nft table name", "not an nft keyword",
                                                 "'\(name)': one of the 153 words refused there"])
            try plant(["table": name])
            for action in ["validate", "start", "stop", "exclusive"] {
                let r = try run(action)
                XCTAssertEqual(r.status, invalidArguments, "\(name) \(action): \(r)")
                XCTAssertTrue(r.stderr.contains("nft keyword"), r.stderr)
            }
        }
        try plant([:])
        // A word nft does not read as a keyword there is a fine name.
        try write(ruleset.replacingOccurrences(of: "table inet \(table)", with: "table inet ip4"))
        try modify("table=ip4")
        let r = try run("start")
        XCTAssertEqual(r.status, success, "\(r)")
        XCTAssertEqual(try run("stop").status, success)
    }

    /// `fshost cdb define` refuses a malformed table or namespace name
    /// (status 2, one line naming the attribute and the rule in words),
    /// before any action, and defines nothing.
    func testCdbDefineRefusesABadTableOrNetnsName() throws {
        let cases: [(String, String)] = [
            ("table=1abc", "attribute 'table' must be an nft table name"),
            ("table=fw;flush", "attribute 'table' must be an nft table name"),
            ("table=ip", "one of the 153 words refused there"),
            ("table=" + String(repeating: "t", count: 256), "at most 255 bytes"),
            ("netns=../\(lab.server)", "attribute 'netns' must be a file name under /run/netns"),
            ("netns=a/b", "attribute 'netns' must be a file name under /run/netns"),
            ("netns=..", "one of the 2 words refused there"),
            ("netns=", "attribute 'netns' must be a file name under /run/netns"),
        ]
        for (setting, words) in cases {
            let key = setting.hasPrefix("table=") ? "netns=\(lab.server)" : "table=\(table)"
            let r = try sandbox.fshost(["cdb", "define", "ipfilter", "fw2", "ruleset=\(rulesetPath)", key, setting])
            XCTAssertEqual(r.status, invalidArguments, "\(setting): \(r)")
            XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "\(setting): one line: \(r.stderr)")
            XCTAssertTrue(r.stderr.contains(words), "\(setting): '\(words)' not in \(r.stderr)")
            XCTAssertNotEqual(try sandbox.fshost(["cdb", "show", "ipfilter", "fw2"]).status, success, "\(setting): fw2 was defined")
        }
        // The rule in words is what `fshost describe` shows too.
        let d = try sandbox.fshost(["describe", "ipfilter"])
        XCTAssertTrue(d.stdout.contains("an nft table name: letters, digits"), d.stdout)
        XCTAssertTrue(d.stdout.contains("a file name under /run/netns"), d.stdout)
    }

    /// A NUL byte is named with its line, not cut off in the reason.
    func testANulByteIsNamedWithItsLine() throws {
        try write("table inet \(table) {\n\0 }\n")
        let r = try run("start")
        XCTAssertEqual(r.status, noConfigInfo, "\(r)")
        XCTAssertTrue(r.stderr.contains("NUL byte at line 2"), r.stderr)
    }

    /// validate needs the namespace (6), dry-runs start's batch with
    /// libnftables (a bad line is 6 naming FILE:LINE, in one line), and
    /// commits nothing: neither a first load nor a change of the running
    /// table.
    func testValidateDryRunsTheFileAndCommitsNothing() throws {
        var r = try run("validate")
        XCTAssertEqual(r.status, success, "\(r)")
        XCTAssertFalse(try lab.ruleset().contains(table), "validate loads nothing")

        XCTAssertEqual(try run("start").status, success)
        let before = try lab.ruleset()
        try write(ruleset.replacingOccurrences(of: "elements = { \(blocked), 9999 }", with: "elements = { 9999 }"))
        r = try run("validate")
        XCTAssertEqual(r.status, success, "a good new file: \(r)")
        XCTAssertEqual(try lab.ruleset(), before, "validate's dry run changed the running table")
        XCTAssertFalse(try lab.connects(to: blocked), "the running rules still filter")

        try write(ruleset.replacingOccurrences(of: "policy accept;", with: "policy acept;"))
        r = try run("validate")
        XCTAssertEqual(r.status, noConfigInfo, "\(r)")
        XCTAssertTrue(r.stderr.contains("\(rulesetPath):11:"), r.stderr)
        XCTAssertTrue(r.stderr.contains("dry run (nothing changed)"), r.stderr)
        XCTAssertFalse(r.stderr.contains("/proc/self/fd") || r.stderr.contains("add table"), r.stderr)
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, "one line: \(r.stderr)")
        XCTAssertEqual(try lab.ruleset(), before)

        try write(ruleset)
        try modify("netns=fsipf-none-\(lab.tag)")
        r = try run("validate")
        XCTAssertEqual(r.status, noConfigInfo, "\(r)")
        XCTAssertTrue(r.stderr.contains("network namespace fsipf-none-\(lab.tag)"), r.stderr)
        XCTAssertTrue(r.stderr.contains("No such file or directory"), r.stderr)
    }

    // MARK: Bad input: one clear line, nothing changed in the kernel

    func testBadInputIsAClearErrorAndChangesNothing() throws {
        XCTAssertEqual(try run("start").status, success)
        let before = try lab.ruleset()
        func refused(_ status: Int32, _ words: [String], _ what: String) throws {
            let r = try run("start")
            XCTAssertEqual(r.status, status, "\(what): \(r)")
            for word in words { XCTAssertTrue(r.stderr.contains(word), "\(what): '\(word)' not in: \(r.stderr)") }
            XCTAssertEqual(r.stderr.split(separator: "\n").filter { $0.contains("type=ipfilter resource=fw1 action=start ") }.count, 1,
                           "\(what): one line: \(r.stderr)")
            XCTAssertEqual(try lab.ruleset(), before, "\(what) changed the kernel's rules")
        }

        try modify("ruleset=\(sandbox.path("missing.nft"))")
        try refused(noConfigInfo, ["missing.nft", "No such file or directory"], "a missing file")
        try modify("ruleset=\(rulesetPath)")

        try write(ruleset.replacingOccurrences(of: "policy accept;", with: "policy acept;"))
        try refused(noConfigInfo, ["\(rulesetPath):11:", "Error"], "a syntax error")

        let foreign: [(String, String)] = [
            ("table inet other { }\n", "touches table inet other"),
            ("add rule ip other c drop\n", "touches table ip other"),
            ("table ip \(table) { }\n", "touches table ip \(table)"),  // same name, another family
            ("flush ruleset\n", "'flush ruleset'"),
            ("delete table inet other\n", "touches table inet other"),
            ("include \"/etc/nftables.conf\"\n", "'include' is not allowed"),
            ("list ruleset\n", "'list ruleset'"),
            ("define t = other\ntable inet $t { }\n", "is a variable"),
            // nft's strings have no escapes: the string ends at the second quote.
            ("add rule inet \(table) input tcp dport 5 drop comment \"x\\\" ; table ip other { }\n", "touches table ip other"),
            // A backslash in a comment does not continue the line.
            ("table inet \(table) { } # \\\ntable ip other { }\n", "touches table ip other"),
            // A table owned by the loading process: libnftables refuses it
            // from a file with no line (6, "Operation not supported").
            ("table inet \(table) { flags owner; }\n", "'flags owner' is not allowed"),
            ("table inet \(table) {\n  flags dormant,owner\n}\n", "'flags owner' is not allowed"),
        ]
        for (extra, why) in foreign {
            try write(ruleset + extra)
            let line = ruleset.split(separator: "\n", omittingEmptySubsequences: false).count
                + (extra.hasPrefix("define") || extra.contains("# \\") || extra.contains("{\n  flags") ? 1 : 0)
            try refused(noConfigInfo, ["line \(line): ", why], "a file with \(extra)")
        }

        try write(ruleset, mode: 0o666)
        try refused(noConfigInfo, ["writable by others"], "a file anyone can write")
        try write(ruleset)

        try modify("netns=fsipf-none-\(lab.tag)")
        try refused(noConfigInfo, ["network namespace fsipf-none-\(lab.tag)", "No such file or directory"], "a missing namespace")
        XCTAssertEqual(try run("stop").status, success, "no namespace: nothing of ours to delete")
        try modify("netns=\(lab.server)")
        XCTAssertEqual(try monitor(1).status, success, "after all that, the first start's rules run unchanged")
        // Malformed names: refused by `cdb modify` (the schema's pattern) and,
        // stored by an older fshost, by the action.
        try modifyIsRefused("netns=../\(lab.server)", ["attribute 'netns' must be a file name under /run/netns"])
        try plant(["netns": "../\(lab.server)"])
        try refused(invalidArguments, ["attribute 'netns'"], "a namespace name with a slash")
        try modifyIsRefused("table=bad table", ["attribute 'table' must be an nft table name", "'bad table'"])
        try plant(["table": "bad table"])
        try refused(invalidArguments, ["attribute 'table'"], "a table name nft cannot parse")
        XCTAssertEqual(try lab.ruleset(), before, "the malformed names changed the kernel's rules")
        XCTAssertFalse(try lab.connects(to: blocked))
    }

    /// `fshost verify` drives the whole protocol; it needs a level that can
    /// tell "not running" (level 0 answers success always, as the guide says).
    func testVerifyHoldsTheProtocolAtLevel1() throws {
        // At level 0 (the default) it fails, and says why and what to set.
        let zero = try sandbox.fshost(["verify", "ipfilter", "fw1"])
        XCTAssertEqual(zero.status, commandFailed, "\(zero) \(zero.stdout)")
        XCTAssertTrue(zero.stdout.contains("hint: monitor answered HA_SUCCESS with the resource stopped"), zero.stdout)
        XCTAssertTrue(zero.stdout.contains("monitor_level=N"), zero.stdout)
        try modify("monitor_level=1")
        let r = try sandbox.fshost(["verify", "ipfilter", "fw1"])
        XCTAssertEqual(r.status, success, "\(r) \(r.stdout)")
        XCTAssertTrue(r.stdout.contains("the protocol holds"), r.stdout)
        XCTAssertFalse(try lab.ruleset().contains(table), "verify ends stopped")
    }

    // MARK: Level 0 costs nothing

    func testLevel0NeitherLinksNorLoadsLibnftables() throws {
        let products = HostSandbox.products.path
        // `fshost check` lists the file's DT_NEEDED libraries (what `readelf -d` shows).
        let plugin = try sandbox.fshost("check", products + "/libipfilter.so")
        XCTAssertEqual(plugin.status, success, "\(plugin) \(plugin.stdout)")
        let needed = plugin.stdout.split(separator: "\n").filter { $0.contains("needed-libraries") }
        XCTAssertEqual(needed.count, 1, plugin.stdout)
        XCTAssertFalse(needed.joined().contains("libnftables"), "the plugin links libnftables: \(needed)")
        let companion = try sandbox.fshost("check", products + "/libipfilter-nft.so")
        XCTAssertTrue(companion.stdout.contains("libnftables.so.1"), companion.stdout)

        // Without its companion the plugin still answers level 0; what needs
        // libnftables answers "not supported" (the host's status for a missing companion).
        let plugins = sandbox.path("plugins")
        try FileManager.default.createDirectory(atPath: plugins, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        try FileManager.default.copyItem(atPath: products + "/libipfilter.so", toPath: plugins + "/ipfilter.so")
        sandbox.pluginPath = plugins
        var r = try monitor(0)
        XCTAssertEqual(r.status, success, "\(r)")
        r = try run("start")
        XCTAssertEqual(r.status, notSupported, "\(r)")
        XCTAssertFalse(try lab.ruleset().contains(table))
    }
}
