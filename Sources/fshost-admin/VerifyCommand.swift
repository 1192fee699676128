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
        let fshost = Bundle.main.executableURL!.resolvingSymlinksInPath().deletingLastPathComponent()
        let candidates = [fshost.appendingPathComponent("fshost").path,
                          fshost.appendingPathComponent("../../bin/fshost").path]
        guard let binary = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw fail(HostError(.noConfigInfo, "the fshost executable was not found next to fshost-admin"))
        }
        var failures = 0
        for (action, expected) in steps {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: binary)
            process.arguments = [type, action, resource]
            process.standardError = FileHandle.nullDevice
            try process.run()
            process.waitUntilExit()
            let status = process.terminationStatus
            let name = ExitStatus(rawValue: status)?.name ?? "status \(status)"
            let ok = expected.contains(status)
            if !ok { failures += 1 }
            let want = expected.compactMap { ExitStatus(rawValue: $0)?.name }.joined(separator: "/")
            print("\(ok ? "ok  " : "FAIL") \(action.padding(toLength: 9, withPad: " ", startingAt: 0)) \(name)\(ok ? "" : " (expected \(want))")")
        }
        if failures > 0 {
            throw fail(HostError(.commandFailed, "\(type)/\(resource): \(failures) step(s) did not answer as the protocol requires"))
        }
        print("\(type)/\(resource): the protocol holds")
    }
}
