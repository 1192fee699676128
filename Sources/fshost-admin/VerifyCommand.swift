import ArgumentParser
import CDB
import Foundation
import HAVocabulary
import Management
import PluginLoading
import PluginRecord

/// `fshost verify TYPE RESOURCE`: the conformance kit a vendor runs before
/// shipping a plugin (what ocf-tester is for an OCF agent, stricter):
/// the host's pre-load checks of the file, the descriptor's sanity
/// (``VerifyStaticChecks``), then the behaviour a cluster manager relies on,
/// on a real resource defined in the CDB (``VerifySequence``), each lie a
/// plugin can tell named (``VerifyLie``).
struct VerifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Check a type against the action protocol on a real resource (starts and stops it).",
        discussion: """
        First the plugin file's pre-load checks (as fshost check) and its descriptor: levels \
        numbered and described, the default level one of them, every attribute's default \
        valid against its own constraints. Then, each step a real `fshost TYPE ACTION RESOURCE \
        --json` with the host's process checks on, each bounded by its own timeout: stop; \
        monitor says HA_NOT_RUNNING; exclusive HA_NOT_RUNNING; start; the deepest level \
        passes right after start (--retries 0: no waiting); start again; every level passes; \
        exclusive HA_RUNNING; stop (the declared processes gone without the host's help); \
        stop again; monitor and exclusive HA_NOT_RUNNING; restart; monitor passes; stop. \
        After each stop, processes that appeared carrying the resource's launch mark \
        (FSHOST_RESOURCE=TYPE/RESOURCE, the SDK's detach) are looked for, and ended when verify \
        ends. The resource is left stopped. Lies are named: monitor always says success, stop \
        leaves its process running, stop leaves the resource running, start returns before the \
        resource answers, exclusive always says not running. Every type runs every step, \
        whatever its levels are named: the template (a seed) fails.

        Prints a table (step, what it runs, expected, answer, milliseconds, result, reason) \
        when standard output is a terminal, else one JSON object with the keys holds, code, status, failed_step, \
        lies ([{lie, step}]), hints, summary and steps ([{step, runs, expected, answer, code, \
        level, result, ms, reason, lie}]); --json or \
        --table choose. On a terminal, the step running is shown on stderr.

        EXIT STATUS
          0 every step passed
          2 HA_INVAL_ARGS: an invalid type or resource name, a bad command line;
            or a step answered it (the resource's attributes)
          3 HA_CMD_FAILED: a step did not answer as the protocol requires, or
            a lie was caught (the message names the first failing step)
          5 HA_NOTSUPPORTED: no plugin of TYPE is installed
          6 HA_NOCFGINFO: RESOURCE is not defined in the CDB, or the CDB is
            missing, unreadable or insecure
          7 HA_PLUGIN_REFUSED: the file failed a pre-load check, or its
            descriptor is not sane
          8 HA_TIMEDOUT: a step did not answer within its timeout (the
            sequence ends there; a last stop is tried if a start ran)
          9 HA_HOST_ERROR: a relative FSHOST_* path, fshost not runnable,
            or a step answered it
          128+N interrupted by signal N (SIGINT 130, SIGTERM 143, SIGHUP 129)
            during the sequence: the step running ends (within its timeout),
            the resource is stopped, and the report so far is printed
        """)

    @OptionGroup var options: CDBOptions

    @Argument(help: "The resource type.")
    var type: String

    @Argument(help: "A resource of that type defined in the CDB (it will be started and stopped).")
    var resource: String

    @Flag(help: "Print one JSON object (the default when standard output is not a terminal).")
    var json = false

    @Flag(help: "Print the table (the default on a terminal).")
    var table = false

    func validate() throws {
        if json && table { throw ValidationError("--json and --table exclude each other") }
    }

    func run() throws {
        guard PluginRecord.isValidTypeName(type) else {
            throw fail(HostError(.invalidArguments, "verify: '\(type)' is not a type name"))
        }
        guard Names.isValidResource(resource) else {
            throw fail(HostError(.invalidArguments, "verify: invalid resource name '\(resource)' (1-64 of A-Z a-z 0-9 _ . -, not . or ..)"))
        }
        let searchPath = PluginSearchPath.fromEnvironment()
        let found: (path: String, directory: String)
        do throws(HostError) {
            guard let located = try searchPath.find(type: type) else {
                throw HostError(.notSupported, "verify: no plugin of type '\(type)' is installed (no \(type).so in "
                    + "\(searchPath.directories.joined(separator: ":")))")
            }
            found = located
        } catch {
            throw fail(error)
        }
        let progress = TerminalProgress()
        defer { progress.clear() }
        var steps: [VerifyStep] = []
        progress.show("verify \(type): ELF checks")
        steps.append(VerifyStaticChecks.elf(path: found.path, directory: found.directory, type: type))
        guard steps.last?.result == .passed else { return try finish(steps, found.path, progress) }
        let plugin: LoadedPlugin
        do {
            plugin = try BoundedPluginLoad.load(path: found.path, directory: found.directory, type: type)
        } catch {
            throw fail(HostError(error.exitStatus, "verify: " + error.message))
        }
        steps.append(VerifyStaticChecks.descriptor(plugin))
        guard steps.last?.result == .passed else { return try finish(steps, found.path, progress) }

        // The resource must be defined: verify never invents one (it would
        // start something nobody configured).
        let fshost: String
        do throws(AdminError) {
            let editor = try CDBRun.editor(options, .readOnly)
            guard try editor.exists(type: type, resource: resource) else {
                throw AdminError.database(.resourceNotFound(type: type, name: resource))
            }
            switch RunningCheck.fshostExecutable() {
            case .success(let path): fshost = path
            case .failure(let error): throw AdminError.host(error.message)
            }
        } catch {
            progress.clear()
            printError("verify: " + error.description)
            throw ExitCode(error.exitStatus)
        }
        var environment = ProcessInfo.processInfo.environment
        environment["FSHOST_CDB"] = options.resolvedPath
        let sequence = VerifySequence(fshost: fshost, type: type, resource: resource, environment: environment,
                                      levels: plugin.levels)
        // From here a signal stops the resource and prints what ran.
        let (ran, signal) = sequence.run(progress: progress, interrupt: Interrupt.install())
        try finish(steps + ran, found.path, progress, interruptedBy: signal)
    }

    /// Prints the report (table or JSON), and on a failure one line on
    /// stderr naming the failing step; exits with the report's status.
    private func finish(_ steps: [VerifyStep], _ path: String, _ progress: TerminalProgress,
                        interruptedBy: Int32? = nil) throws {
        progress.clear()
        let report = VerifyReport(type: type, resource: resource, plugin: path, steps: steps, interruptedBy: interruptedBy)
        let asJSON = json || (!table && isatty(1) != 1)
        do throws(AdminError) {
            try StandardOutput.write(asJSON ? report.json() + "\n" : report.table())
        } catch {
            printError(error.description)
            throw ExitCode(error.exitStatus)
        }
        let status = report.exitStatus
        guard status == 0 else {
            printError("verify " + report.summary)
            throw ExitCode(status)
        }
    }
}
