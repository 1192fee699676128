import Foundation
import TestSupport
import XCTest

/// The drop-in `scriptlib` (issue 13, section 1) `make install` puts at
/// `<prefix>/lib/failsafe/common_scripts/scriptlib`: a FailSafe-style
/// action script sources it and uses each function against the sandbox's
/// real CDB, the installed fshost and its resource locks. Scripts run under
/// `/bin/sh` (dash: POSIX sh, no bash features).
final class ScriptlibTests: XCTestCase {
    var sandbox: HostSandbox!
    var scriptlib = ""

    override func setUpWithError() throws {
        sandbox = try HostSandbox()
        let prefix = sandbox.path("usr")
        try sandbox.installTree(into: prefix)
        scriptlib = prefix + "/lib/failsafe/common_scripts/scriptlib"
        guard FileManager.default.fileExists(atPath: scriptlib) else { throw SetupFailure("make install put no \(scriptlib)") }
        sandbox.extraEnvironment["SCRIPTLIB"] = scriptlib
        sandbox.extraEnvironment["FSHOST"] = prefix + "/bin/fshost"
    }

    override func tearDown() {
        sandbox = nil
        super.tearDown()
    }

    /// A FailSafe-style monitor over IN/OUT using every function: the HA_*
    /// numbers are fshost's, names from IN (an invalid one answered at once,
    /// never looped over), ha_get_info/ha_get_field from the CDB (exact
    /// hostile values, absent fields non-zero), ha_exec2, ha_execute_lock,
    /// ha_log on one line.
    func testAScriptUsesEachFunctionAgainstTheCDB() throws {
        let marker = sandbox.path("PWNED")
        let hostile = "a  b \"q\" 'x' $(touch \(marker)) `touch \(marker)` ${HOME} * \\ \n line2\t\n\n"
        try sandbox.store("template", "vol1", ["note": hostile])
        try sandbox.store("template", "vol2", [:])
        let dump = sandbox.path("dump")
        try FileManager.default.createDirectory(atPath: dump, withIntermediateDirectories: false)
        sandbox.extraEnvironment["DUMP"] = dump
        let path = try sandbox.script("monitor", """
            echo "$HA_SUCCESS $HA_NOT_RUNNING $HA_INVAL_ARGS $HA_CMD_FAILED $HA_RUNNING $HA_NOTSUPPORTED $HA_NOCFGINFO $HA_TIMEDOUT $HA_HOST_ERROR" > "$DUMP/numbers"
            ha_check_args "$@" || exit_script $?
            ha_read_infile || exit_script $?
            for r in $HA_RES_NAMES; do
                echo "$r" >> "$DUMP/looped"
                if ! ha_get_info template "$r"; then
                    ha_write_status_for_resource "$r" "$HA_NOCFGINFO"; continue
                fi
                echo "$HA_STRING" > "$DUMP/$r.record"
                ha_get_field "$HA_STRING" note || { ha_write_status_for_resource "$r" "$HA_NOCFGINFO"; continue; }
                printf '%s' "$HA_FIELD_VALUE" > "$DUMP/$r.note"
                ha_execute_lock template "$r" /bin/sh -c 'printf "%s" "$1" > "$2"' sh "$HA_FIELD_VALUE" "$DUMP/$r.locked"
                ha_log "value: $HA_FIELD_VALUE"
                ha_get_field "$HA_STRING" no_such_field; echo "$?" > "$DUMP/$r.nosuch"
                ha_get_field "not a record" note; echo "$?" > "$DUMP/$r.badrecord"
                ha_exec2 5 0 /bin/true; echo "$?" > "$DUMP/$r.exec2"
                ha_write_status_for_resource "$r" "$HA_SUCCESS"
            done
            exit_script "$HA_SUCCESS"

            """)
        let input = sandbox.path("in"), output = sandbox.path("out")
        try "vol1 0\nghost 0 flags\n\nbad*name 0\nvol2 0 x y\n".write(toFile: input, atomically: false, encoding: .utf8)
        let r = try sandbox.run("/bin/sh", [path, input, output])
        XCTAssertEqual(r.status, 0, r.description)
        func read(_ name: String) -> String? { try? String(contentsOfFile: dump + "/" + name, encoding: .utf8) }
        XCTAssertEqual(read("numbers"), "0 1 2 3 4 5 6 8 9\n")
        XCTAssertEqual(try String(contentsOfFile: output, encoding: .utf8), "bad*name 2\nvol1 0\nghost 6\nvol2 0\n")
        XCTAssertEqual(read("looped"), "vol1\nghost\nvol2\n", "the invalid name is never looped over")
        XCTAssertEqual(read("vol1.record"), "template vol1\n")
        XCTAssertEqual(read("vol1.note"), hostile, "the value survives byte for byte, trailing newlines included")
        XCTAssertEqual(read("vol1.locked"), hostile, "passed as one argument under the lock")
        XCTAssertEqual(read("vol2.note"), "", "the plugin's default")
        XCTAssertEqual(read("vol1.nosuch"), "2\n", "a field the type does not have: HA_INVAL_ARGS")
        XCTAssertEqual(read("vol1.badrecord"), "2\n")
        XCTAssertEqual(read("vol1.exec2"), "0\n")
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker), "a value was evaluated")
        let logged = r.stderr.split(separator: "\n").filter { $0.hasPrefix("ha_script: monitor: value: ") }
        XCTAssertEqual(logged.count, 2, r.stderr)
        XCTAssertTrue(logged.first?.contains("line2") == true, "one line per message, newlines shown as '?': \(r.stderr)")
        XCTAssertTrue(r.stderr.contains("invalid resource name"), r.stderr)

        // Bad arguments: HA_INVAL_ARGS.
        let missing = try sandbox.run("/bin/sh", [path, sandbox.path("no-such-in"), output])
        XCTAssertEqual(missing.status, 2, missing.description)
        XCTAssertTrue(missing.stderr.contains("is not a readable file"), missing.stderr)
    }

    /// Two scripts wrapping the same resource's work in ha_execute_lock
    /// never overlap; fshost's own action on that resource waits for it
    /// (one lock file); HA_LOCK_TIMEOUT gives up with HA_TIMEDOUT and runs
    /// nothing.
    func testExecuteLockSerialisesTwoScripts() throws {
        try sandbox.store("template", "vol1", [:])
        let trace = sandbox.path("trace")
        sandbox.extraEnvironment["TRACE"] = trace
        let path = try sandbox.script("critical", """
            ha_execute_lock template vol1 /bin/sh -c 'echo "start $1" >> "$TRACE"; sleep 0.6; echo "end $1" >> "$TRACE"' sh "$1"

            """)
        let both = try sandbox.run("/bin/sh", ["-c", "/bin/sh \"$0\" A & /bin/sh \"$0\" B & wait", path])
        XCTAssertEqual(both.status, 0, both.description)
        let lines = try String(contentsOfFile: trace, encoding: .utf8).split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, lines.description)
        if lines.count == 4 {
            XCTAssertTrue(lines[0].hasPrefix("start") && lines[1].hasPrefix("end") && lines[2].hasPrefix("start"),
                          "the two critical sections overlapped: \(lines)")
            XCTAssertEqual(lines[0].dropFirst(6), lines[1].dropFirst(4))
        }
        XCTAssertGreaterThanOrEqual(both.milliseconds, 1200, "two 0.6 s sections, one after the other")

        // While a script holds it, fshost's monitor of the resource waits; a
        // bounded wait gives up.
        let holder = try sandbox.script("hold", "ha_execute_lock template vol1 /bin/sleep 1\n")
        sandbox.extraEnvironment["HOLDER"] = holder
        let waited = try sandbox.run("/bin/sh", ["-c", """
            /bin/sh "$HOLDER" & sleep 0.3
            HA_LOCK_TIMEOUT=100ms; export HA_LOCK_TIMEOUT
            /bin/sh "$0" C; echo "bounded $?"
            "$FSHOST" template monitor vol1; echo "monitor $?"
            wait
            """, path])
        XCTAssertTrue(waited.stdout.contains("bounded 8"), waited.description + waited.stdout)
        XCTAssertTrue(waited.stderr.contains("still held by another process after 100ms"), waited.stderr)
        XCTAssertTrue(waited.stdout.contains("monitor 0"), waited.stdout)
        XCTAssertFalse(try String(contentsOfFile: trace, encoding: .utf8).contains("C"), "run though the lock was held")
        XCTAssertGreaterThanOrEqual(waited.milliseconds, 1000, "the monitor waited for the script's lock")
    }

    /// `fshost lock`'s bad command lines: one line, status 2, nothing run.
    func testLockCommandRefusesBadCommandLines() throws {
        let marker = sandbox.path("ran")
        for (arguments, expected) in [
            (["template", "vol1", "/bin/touch", marker], "no '--'"),
            (["template", "bad name", "--", "/bin/touch", marker], "invalid resource name"),
            (["Bad", "vol1", "--", "/bin/touch", marker], "invalid type name"),
            (["template", "vol1", "--timeout", "soon", "--", "/bin/touch", marker], "--timeout"),
            (["template", "vol1", "--"], "no command"),
        ] {
            let r = try sandbox.fshost(["lock"] + arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r)")
            XCTAssertTrue(r.stderr.contains(expected), "\(arguments): \(r.stderr)")
        }
        XCTAssertFalse(FileManager.default.fileExists(atPath: marker))
        let r = try sandbox.fshost("lock", "template", "vol1", "--", "/bin/sh", "-c", "exit 7")
        XCTAssertEqual(r.status, 7, "the command's status")
        XCTAssertEqual(try sandbox.fshost("lock", "template", "vol1", "--", "no-such-command-x").status, 127)
    }
}

extension HostSandbox {
    /// A script in the sandbox that sources scriptlib (`$SCRIPTLIB`) and runs `body`.
    func script(_ name: String, _ body: String) throws -> String {
        let path = self.path(name)
        try (". \"$SCRIPTLIB\"\n" + body).write(toFile: path, atomically: false, encoding: .utf8)
        return path
    }
}
