import ArgumentParser
import Foundation
import HAVocabulary
import PluginLoading

/// `fshost verify TYPE RESOURCE`: drives a plugin through the protocol a
/// cluster manager relies on, on a real resource defined in the CDB.
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a type against the action protocol on a real resource (starts and stops it).",
        discussion: """
        Runs, through the fshost executable: stop, monitor (expect HA_NOT_RUNNING), \
        exclusive (HA_NOT_RUNNING), start, start again (idempotent), monitor (HA_SUCCESS), \
        exclusive (HA_RUNNING), stop, stop again (idempotent), monitor (HA_NOT_RUNNING). \
        Exits 0 when every step answered as expected, else 3 (HA_CMD_FAILED).
        """)

    @Argument(help: "The resource type.")
    var type: String

    @Argument(help: "A resource of that type defined in the CDB (it will be started and stopped).")
    var resource: String

    func run() throws {
        let steps: [(String, [Int32])] = [
            ("stop", [0]), ("monitor", [1]), ("exclusive", [1]), ("start", [0]), ("start", [0]),
            ("monitor", [0]), ("exclusive", [4]), ("stop", [0]), ("stop", [0]), ("monitor", [1]),
        ]
        // It runs as root: the same lookup and trust check as cdb delete's running check.
        let binary: String
        switch RunningCheck.fshostExecutable() {
        case .success(let path): binary = path
        case .failure(let error): throw fail(error)
        }
        var failures = 0
        var stoppedButMonitorSucceeded = false
        for (action, expected) in steps {
            // Each step dies with verify (FshostChild): killed during a
            // start, verify leaves no start command running to bring the
            // daemon up later.
            let outcome = try FshostChild.run(binary, [type, action, resource],
                                              environment: ProcessInfo.processInfo.environment, captureOutput: false)
            let status = outcome.status.map { $0 } ?? -1
            let name = ExitStatus(rawValue: status)?.name ?? "status \(status)"
            let ok = expected.contains(status)
            if !ok { failures += 1 }
            if !ok, action == "monitor", expected == [1], status == 0 { stoppedButMonitorSucceeded = true }
            let want = expected.compactMap { ExitStatus(rawValue: $0)?.name }.joined(separator: "/")
            print("\(ok ? "ok  " : "FAIL") \(action.padding(toLength: 9, withPad: " ", startingAt: 0)) \(name)\(ok ? "" : " (expected \(want))")")
        }
        if stoppedButMonitorSucceeded {
            // A level that checks nothing (ipfilter's level 0, the FailSafe
            // guide's "kernel filtering: nothing to monitor") answers success
            // for a stopped resource too; the protocol needs one that can tell.
            print("hint: monitor answered HA_SUCCESS with the resource stopped: its monitoring level cannot tell stopped "
                + "from running (a level that checks nothing); set a higher one with `fshost cdb modify \(type) \(resource) "
                + "monitor_level=N` (levels: `fshost describe \(type)`)")
        }
        if failures > 0 {
            throw fail(HostError(.commandFailed, "\(type)/\(resource): \(failures) step(s) did not answer as the protocol requires"))
        }
        print("\(type)/\(resource): the protocol holds")
    }
}
