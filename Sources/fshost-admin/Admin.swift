// fshost-admin: the management commands. `fshost` execs it for any first word
// that is not an installed resource type, so users type `fshost list`,
// `fshost cdb show`. It may use Foundation, swift-argument-parser and
// TOMLKit: it is not on the monitor path.
import ArgumentParser
import Foundation
import HAVocabulary
import PluginLoading

@main
struct Admin: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fshost",
        abstract: "Manage fshost resource types, plugins and the configuration database.",
        discussion: """
        Actions are run with `fshost <type> <action> <resource>`; see `fshost --help` \
        for them and for every exit status. Management commands exit with the same codes: \
        2 HA_INVAL_ARGS (usage, bad value), 5 HA_NOTSUPPORTED (unknown type), \
        6 HA_NOCFGINFO (unknown resource, CDB unusable), 7 HA_PLUGIN_REFUSED (plugin file refused).
        """,
        version: "fshost 0.1.0",
        subcommands: [ListCommand.self, DescribeCommand.self, CheckCommand.self, CDBCommand.self,
                      ScaffoldCommand.self, VerifyCommand.self, StatusCommand.self, ManualCommand.self,
                      CompletionCommand.self])

    /// ArgumentParser exits 64 (EX_USAGE) on a bad command line; fshost's
    /// documented status for that is 2 (HA_INVAL_ARGS), the same as the
    /// action path's.
    ///
    /// Output that could not be written (a full disk, `> /dev/full`) is a
    /// failure: one line and status 3 (HA_CMD_FAILED), never a silent 0.
    static func main() {
        var status: Int32 = 0
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch let code as ExitCode {
            status = code.rawValue
        } catch {
            let status = exitCode(for: error)
            guard status == .validationFailure else { exit(withError: error) }
            let first = fullMessage(for: error).split(separator: "\n").first.map(String.init) ?? "invalid command line"
            printError(first.hasPrefix("Error: ") ? String(first.dropFirst(7)) : first)
            FileHandle.standardError.write(Data("Run 'fshost help' for the commands.\n".utf8))
            Glibc.exit(ExitStatus.invalidArguments.rawValue)
        }
        if let problem = StandardOutput.finish() {
            printError(problem)
            Glibc.exit(status == 0 ? ExitStatus.commandFailed.rawValue : status)
        }
        Glibc.exit(status)
    }
}

/// Prints `fshost: <message>` on stderr and exits with the host's status, so
/// every management error is one line with a documented code.
func fail(_ error: HostError) -> ExitCode {
    printError(error.message)
    return ExitCode(error.status)
}

/// One line on stderr, prefixed like every fshost message. Every error and
/// warning of the admin tool goes through here, and through the host's
/// ``LogText/line(_:)``: a value, key or file name in the message (from the
/// command line, an import file, the CDB) has its control characters
/// escaped, so it can never start a second line that reads like another
/// message (`fshost: template/t1 start: HA_SUCCESS`) or drive the terminal
/// (ESC), and the line is cut after 4 KiB, so a 100 KB value is not echoed
/// whole.
func printError(_ message: String) {
    TerminalProgress.clearCurrent()
    FileHandle.standardError.write(Data((LogText.line("fshost: " + message) + "\n").utf8))
}
