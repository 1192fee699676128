import ArgvText
import CDB
import FSPluginABI
import ProcScan
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// The result of one action: status, the reason, and what it cost.
public struct ActionResult: Sendable {
    public var status: ExitStatus
    public var reason: String?
}

/// Runs one action on one resource: loads and verifies the plugin, reads
/// and validates the resource's attributes, serialises on the resource's
/// lock, enforces the deadline, retries monitor probes and checks declared
/// processes.
public struct ActionRunner {
    public let paths: HostPaths
    public init(paths: HostPaths) { self.paths = paths }

    /// Resolved settings for one action.
    struct Settings {
        var level: UInt32
        var timeoutMilliseconds: Int64
        var retries: UInt32
        var retryIntervalMilliseconds: Int64
    }

    /// Runs `request` and reports it (stderr, syslog, and JSON on stdout
    /// with `--json`). Returns the exit status; a timed-out action never
    /// returns: the process ends at the deadline.
    public func run(_ request: ActionRequest) -> ExitStatus {
        let started = Deadline.now()
        PhaseTimer.begin()
        var logger = Logger(prefix: "\(request.type)/\(request.resource) \(request.action.rawValue)")
        let result: ActionResult
        var level: UInt32?
        do {
            try paths.checkAbsolute()
            let plugin = try PluginLoader.load(type: request.type, searchPath: PluginSearchPath(directories: paths.pluginPath))
            let attributes = try resolveAttributes(plugin: plugin, request: request)
            let settings = try resolveSettings(plugin: plugin, attributes: attributes, request: request)
            PhaseTimer.mark("cdb")
            if request.action == .monitor {
                level = settings.level
                logger.prefix += " level=\(settings.level)"
            }
            let deadline = Deadline(after: settings.timeoutMilliseconds, from: started)
            let job = ActionJob(plugin: plugin, request: request, attributes: attributes, settings: settings,
                                logger: logger, paths: paths, deadline: deadline)
            result = Watchdog.run(job, deadline: deadline) { phase in
                // At the deadline: kill every command the action spawned, report, and end.
                ProcessGroups.killAll(signal: SIGKILL)
                let timedOut = ActionResult(status: .timedOut,
                    reason: "\(request.action.rawValue) did not finish within \(settings.timeoutMilliseconds) ms (\(phase)); its commands were killed")
                report(timedOut, request: request, level: level, logger: logger, started: started)
                _exit(timedOut.status.rawValue)
            }
        } catch {
            result = ActionResult(status: error.exitStatus, reason: error.message)
        }
        PhaseTimer.mark("action")
        report(result, request: request, level: level, logger: logger, started: started)
        return result.status
    }

    /// The resource's attributes from the CDB, checked against the schema,
    /// in canonical text with defaults applied.
    func resolveAttributes(plugin: LoadedPlugin, request: ActionRequest) throws(HostError) -> [String: String] {
        let stored: [String: String]
        do {
            let cdb = try ConfigurationDatabase(path: paths.cdb, mode: .readOnly)
            guard let found = try cdb.attributes(type: request.type, resource: request.resource) else {
                throw HostError(.noConfigInfo, "resource '\(request.resource)' of type \(request.type) is not defined in \(paths.cdb)")
            }
            stored = found
        } catch let error as HostError {
            throw error
        } catch {
            throw HostError(.noConfigInfo, "\(error)")
        }
        switch plugin.schema.resolve(stored) {
        case .success(let values):
            return values
        case .failure(let violation):
            let status: ExitStatus = if case .missingRequired = violation { .noConfigInfo } else { .invalidArguments }
            throw HostError(status, "resource '\(request.resource)' in \(paths.cdb): \(violation)")
        }
    }

    /// Level, timeout and retries: the command line over the resource over
    /// the type's defaults.
    func resolveSettings(plugin: LoadedPlugin, attributes: [String: String], request: ActionRequest) throws(HostError) -> Settings {
        let level = request.level ?? attributes[HostSetting.monitorLevel].flatMap { UInt32($0) } ?? plugin.defaultLevel
        if request.action == .monitor || request.action == .exclusive {
            guard plugin.levels.contains(where: { $0.number == level }) || request.action == .exclusive else {
                throw HostError(.invalidArguments, "level \(level) is not a monitoring level of \(plugin.typeName) (levels: \(plugin.levels.map { String($0.number) }.joined(separator: ", ")))")
            }
        }
        let timeout = request.timeoutMilliseconds
            ?? attributes[HostSetting.timeout(request.action.rawValue)].flatMap(milliseconds)
            ?? plugin.defaultTimeoutMilliseconds(request.action)
        return Settings(
            level: level,
            timeoutMilliseconds: max(1, timeout),
            retries: attributes[HostSetting.retries].flatMap { UInt32($0) } ?? plugin.defaultRetries,
            retryIntervalMilliseconds: attributes[HostSetting.retryInterval].flatMap(milliseconds)
                ?? plugin.defaultRetryIntervalMilliseconds)
    }

    private func milliseconds(_ canonical: String) -> Int64? { AttributeKind.milliseconds(canonical) }

    func report(_ result: ActionResult, request: ActionRequest, level: UInt32?, logger: Logger, started: Int64) {
        let elapsed = Deadline.now() - started
        let line = "\(result.status.name)" + (result.reason.map { ": " + $0 } ?? "") + " (\(elapsed) ms)"
            + (PhaseTimer.summary.map { "; " + $0 } ?? "")
        switch (result.status, request.action) {
        case (.success, .monitor), (.notRunning, .monitor), (.running, .exclusive), (.notRunning, .exclusive):
            logger.log(LOG_INFO, line, syslog: false)  // routine: stderr only
        case (.success, _), (.notRunning, _), (.running, _):
            logger.info(line)
        default:
            logger.error(line)
        }
        if request.json {
            Logger.writeStdout(JSONLine.object([
                ("type", .string(request.type)), ("resource", .string(request.resource)),
                ("action", .string(request.action.rawValue)), ("level", level.map { .number(Int64($0)) } ?? .null),
                ("status", .string(result.status.name)), ("code", .number(Int64(result.status.rawValue))),
                ("reason", result.reason.map { .string($0) } ?? .null), ("elapsed_ms", .number(elapsed)),
            ]) + "\n")
        }
    }
}

/// A tiny JSON writer for the one line `--json` prints (Foundation would
/// double the start-up cost of every call).
enum JSONLine {
    case string(String), number(Int64), null

    static func object(_ fields: [(String, JSONLine)]) -> String {
        "{" + fields.map { "\"\($0.0)\":" + $0.1.text }.joined(separator: ",") + "}"
    }

    var text: String {
        switch self {
        case .null: return "null"
        case .number(let n): return String(n)
        case .string(let s): return ArgvText.quote(s)
        }
    }
}
