import ArgvText
import CDB
import ELFCheck
import FSPluginABI
import HAVocabulary
import PluginLoading
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
    /// The plugin file, verified already (a FailSafe batch verifies once
    /// for all its resources); nil: the worker finds and verifies it.
    let verifiedPlugin: VerifiedPluginFile?

    public init(paths: HostPaths) {
        self.paths = paths
        verifiedPlugin = nil
    }

    /// A runner whose workers load `plugin` (an open, verified descriptor
    /// inherited across the fork: `dlopen` of `/proc/self/fd/N`) instead
    /// of finding and verifying the type's file again.
    public init(paths: HostPaths, verifiedPlugin plugin: VerifiedPluginFile) {
        self.paths = paths
        verifiedPlugin = plugin
    }

    /// Where the verification cache's warnings go: this action's log line
    /// (key=value, syslog too), as every other warning of the action.
    public static func cacheWarning(_ request: ActionRequest) -> @Sendable (String) -> Void {
        cacheWarning(type: request.type, resource: request.resource, action: request.action.rawValue)
    }

    /// ``cacheWarning(_:)`` for a call that is not one resource's (a batch: resource `-`).
    public static func cacheWarning(type: String, resource: String, action: String) -> @Sendable (String) -> Void {
        { Logger.action(type: type, resource: resource, action: action).warning($0) }
    }

    /// Resolved settings for one action.
    struct Settings {
        var level: UInt32
        var timeoutMilliseconds: Int64
        var retries: UInt32
        var retryIntervalMilliseconds: Int64
    }

    /// Runs `request` in a worker process (``Supervisor``) and reports it
    /// (stderr, syslog, and JSON on stdout with `--json`): one answer
    /// however the worker ends. Returns the exit status.
    ///
    /// The worker reports its own result (log line, syslog) and ships only
    /// the status and the JSON text: fshost then touches almost none of
    /// the memory it shares with the worker after the fork (each page it
    /// wrote would be copied).
    public func run(_ request: ActionRequest) -> ExitStatus {
        let started = Deadline.now()
        let run = Supervisor.run(setupLimitMilliseconds: Self.setupLimit(request, from: started)) { channel in
            perform(request, channel: channel, started: started)
        }
        if let answer = run.answer {
            if let json = answer.json { Logger.writeStdout(json) }
            return ExitStatus(rawValue: answer.status) ?? .commandFailed
        }
        // No answer (the worker died, or was killed): its orphans came
        // here. End them, then give the answer that stands for it.
        let result = answer(run, request: request)
        Supervisor.endLeftovers()
        if let json = report(result, request: request, level: run.level, started: started, timing: nil) {
            Logger.writeStdout(json)
        }
        return result.status
    }

    /// How long `request`'s worker may go without publishing its deadline
    /// (ms from `started`): ``Supervisor/setupLimitMilliseconds``, capped at
    /// an explicit `--timeout` (the action's deadline counts from the call,
    /// set-up included: past it there is no action left to run) and at the
    /// request's ``ActionRequest/deadlineCap``, each plus the grace (W's
    /// own answer at its timeout, a CDB locked that long, comes first), so
    /// that a hang before the deadline is known (a plugin constructor)
    /// still answers about when the caller expects it (the command line's
    /// timeout, OCF's, a batch's; review of issue 16, finding 2).
    static func setupLimit(_ request: ActionRequest, from started: Int64) -> Int64 {
        var limit = Supervisor.setupLimitMilliseconds
        if let timeout = request.timeoutMilliseconds {
            limit = max(1, min(limit, timeout + Supervisor.graceMilliseconds))
        }
        guard let cap = request.deadlineCap else { return limit }
        return max(1, min(limit, cap + Supervisor.graceMilliseconds - started))
    }

    /// The answer from what the supervisor saw: the worker's result, or
    /// the failure that stands for it.
    func answer(_ run: Supervisor.Run, request: ActionRequest) -> ActionResult {
        let action = request.action.rawValue
        if let signal = run.interruption {
            return ActionResult(status: .commandFailed,
                reason: "fshost received \(Supervisor.signalName(signal)) during \(action); the action was ended and every command it started was killed")
        }
        if run.unanswered && run.timeoutMilliseconds == nil {
            return ActionResult(status: .timedOut,
                reason: "\(action) did not reach its action within its set-up limit (\(Supervisor.setupLimitMilliseconds) ms at most, less when --timeout or the caller's deadline comes first: finding, verifying and loading plugin \(request.type), reading the resource); its worker was killed with every command it started")
        }
        if run.unanswered {
            return ActionResult(status: .timedOut,
                reason: "\(action) did not finish within \(run.timeoutMilliseconds ?? 0) ms and its worker did not answer; it was killed with every command it started")
        }
        if let error = run.startError {
            return ActionResult(status: .hostError,
                                reason: "cannot start the worker process: \(String(cString: strerror(error)))")
        }
        let how = run.waitStatus.map(Supervisor.describe(waitStatus:)) ?? "ended"
        // SIGKILL is what the OOM killer and an operator send; plugin code
        // crashing or aborting ends with its own signal (review of issue 16).
        if let status = run.waitStatus, status & 0x7F == SIGKILL {
            return ActionResult(status: .commandFailed,
                                reason: "fshost's worker for plugin \(request.type) was \(how) during \(action), sent from outside fshost (the kernel's OOM killer, an operator?)")
        }
        if run.pluginCodeRan {
            return ActionResult(status: .commandFailed,
                                reason: "plugin \(request.type) ended the process during \(action): \(how)")
        }
        return ActionResult(status: .hostError, reason: "fshost's worker ended during \(action) before any plugin code ran: \(how)")
    }

    /// In the worker: loads and verifies the plugin, reads the resource,
    /// runs the action against its deadline, reports, and answers.
    /// `pool`: a batch's pool worker (``PoolWorker``), which runs jobs one
    /// after another: the plugin it loaded for its first job serves the
    /// next ones. A worker that times out, whose start or restart left
    /// its daemon, or whose namespaces or working directory the action
    /// left changed (``WorkerSurroundings``), says it is retiring before it answers.
    func perform(_ request: ActionRequest, channel: WorkerChannel, started: Int64, pool: PoolWorker? = nil) {
        PhaseTimer.begin()
        // A monitor's level is the command line's until the CDB's is known:
        // one that fails before (an undefined resource) still names it.
        var level: UInt32? = request.action == .monitor ? request.level : nil
        var logger = Logger.action(type: request.type, resource: request.resource, action: request.action.rawValue,
                                   level: level)
        let result: ActionResult
        do {
            try paths.checkAbsolute()
            channel.pluginCodeRuns()
            let plugin = if let loaded = pool?.plugin {
                loaded
            } else if let verifiedPlugin {
                try PluginLoader.load(verified: verifiedPlugin, cache: VerificationCache(runDirectory: paths.runDirectory, warning: Self.cacheWarning(request)),
                                      phase: PhaseTimer.mark)
            } else {
                try PluginLoader.load(type: request.type, searchPath: PluginSearchPath(directories: paths.pluginPath),
                                      cache: VerificationCache(runDirectory: paths.runDirectory, warning: Self.cacheWarning(request)),
                                      phase: PhaseTimer.mark)
            }
            pool?.plugin = plugin
            var explicit: Set<String> = []
            let attributes = try resolveAttributes(plugin: plugin, request: request, explicit: &explicit)
            var settings = try resolveSettings(plugin: plugin, attributes: attributes, request: request)
            if let cap = request.deadlineCap {
                settings.timeoutMilliseconds = max(1, min(settings.timeoutMilliseconds, cap - started))
            }
            PhaseTimer.mark("cdb")
            if request.action == .monitor {
                level = settings.level
                logger = Logger.action(type: request.type, resource: request.resource, action: request.action.rawValue,
                                       level: settings.level)
            }
            let deadline = Deadline(after: settings.timeoutMilliseconds, from: started)
            channel.deadlineKnown(at: deadline.at, timeoutMilliseconds: settings.timeoutMilliseconds, level: level)
            let job = ActionJob(plugin: plugin, request: request, attributes: attributes, settings: settings,
                                logger: logger, paths: paths, deadline: deadline, explicit: explicit)
            let reported = level
            result = Watchdog.run(job, deadline: deadline, onTimeout: { phase in
                // At the deadline: kill every command the action started, answer, and end.
                ProcessGroups.shutDown()
                ProcessTree.killDescendants()
                let timedOut = ActionResult(status: .timedOut,
                    reason: "\(request.action.rawValue) did not finish within \(settings.timeoutMilliseconds) ms (\(phase)); its commands were killed")
                // The action's thread is abandoned in plugin code: this
                // process runs nothing more.
                channel.retiring()
                channel.answer(timedOut.status, json: report(timedOut, request: request, level: reported,
                                                             started: started, timing: PhaseTimer.summary))
                Supervisor.afterAnswer()
            }, onOrphaned: Supervisor.orphaned,  // fshost was killed: nothing the action started may outlive it
               wakeWhenDone: pool != nil)
        } catch {
            result = ActionResult(status: error.exitStatus, reason: error.message)
        }
        PhaseTimer.mark("action")
        if !leavesDaemon(result, request) {
            ProcessGroups.shutDown()
            Supervisor.endLeftovers()
        } else {
            // Its daemon is below this process: a later job's clean-up
            // would kill it.
            channel.retiring()
        }
        if let pool, WorkerSurroundings.current() != pool.surroundings {
            // A setns, unshare or chdir the action did not undo would be
            // the next resource's: this worker takes no other.
            logger.warning("the action left this worker's namespaces or working directory changed: the next resource goes to a new worker")
            channel.retiring()
        }
        // A plugin's buffered stdio output goes out (to stderr) before the
        // answer, so the answer's line comes last. (Not in the timeout path:
        // a plugin hung inside stdio holds its lock.)
        fflush(nil)
        channel.answer(result.status, json: report(result, request: request, level: level, started: started,
                                                   timing: PhaseTimer.summary))
    }

    /// A successful start or restart leaves its daemon running; after
    /// anything else, nothing the action started may remain.
    func leavesDaemon(_ result: ActionResult, _ request: ActionRequest) -> Bool {
        result.status == .success && (request.action == .start || request.action == .restart)
    }

    /// The resource's attributes from the CDB (or as the request supplies
    /// them: OCF mode, a batch), checked against the schema, in canonical
    /// text with defaults applied; `explicit` receives the names set there
    /// (resource or type level), not by a default.
    func resolveAttributes(plugin: LoadedPlugin, request: ActionRequest,
                           explicit: inout Set<String>) throws(HostError) -> [String: String] {
        if let supplied = request.suppliedAttributes {
            explicit = Set(supplied.values.keys)
            return try resolve(supplied.values, plugin: plugin, request: request)
        }
        let stored: [String: String]
        // A CDB another process keeps locked is waited for no longer than
        // the action may take (the deadline is not known before the CDB is
        // read: the command line's, else the type's).
        let wait = min(Int64(ConfigurationDatabase.defaultBusyTimeoutMilliseconds),
                       request.timeoutMilliseconds ?? plugin.defaultTimeoutMilliseconds(request.action))
        do {
            // The snapshot while the CDB is unchanged since it was written;
            // SQLite (loaded only now) when there is none, or on any doubt.
            switch try CDBSnapshot.lookup(cdbPath: paths.cdb, type: request.type, resource: request.resource) {
            case .found(let found):
                explicit = Set(found.keys)
                return try resolve(found, plugin: plugin, request: request)
            case .unavailable(let warning):
                if let warning { Logger.action(type: request.type, resource: request.resource, action: request.action.rawValue).warning(warning) }
            }
            let cdb = try ConfigurationDatabase(path: paths.cdb, mode: .readOnly, busyTimeoutMilliseconds: Int32(wait))
            guard let found = try cdb.attributes(type: request.type, resource: request.resource) else {
                throw HostError(.noConfigInfo, "resource '\(request.resource)' of type \(request.type) is not defined in \(paths.cdb)")
            }
            stored = found
        } catch let error as HostError {
            throw error
        } catch CDBError.locked(let path, _) {
            throw HostError(.timedOut, "the CDB \(path) stayed locked by another process for \(wait) ms, the action's whole timeout")
        } catch {
            throw HostError(.noConfigInfo, "\(error)")
        }
        explicit = Set(stored.keys)
        return try resolve(stored, plugin: plugin, request: request)
    }

    /// `stored` checked against the plugin's schema, defaults applied.
    func resolve(_ stored: [String: String], plugin: LoadedPlugin, request: ActionRequest) throws(HostError) -> [String: String] {
        let source = request.suppliedAttributes?.source ?? paths.cdb
        var values = stored
        while true {
            switch plugin.schema.resolve(values) {
            case .success(let resolved):
                return resolved
            case .failure(let violation):
                // A bad value of a host setting this action does not use (left
                // by a hand edit of the CDB) must not keep an operator from
                // stopping the resource: it is said, and left out.
                // A secret's value put in the wrong attribute (the password
                // as the port) would be quoted by the schema's message.
                let secrets = SecretRedaction.values(of: plugin.attributes, in: values)
                if case .wrongType(let key, let problem) = violation, Self.unusedHostSettings(by: request.action).contains(key) {
                    Logger.action(type: request.type, resource: request.resource, action: request.action.rawValue)
                        .warning(SecretRedaction.redact("ignoring attribute '\(key)', which \(request.action.rawValue) does not use: \(problem)", secrets: secrets))
                    values[key] = nil
                    continue
                }
                let status: ExitStatus = if case .missingRequired = violation { .noConfigInfo } else { .invalidArguments }
                throw HostError(status, SecretRedaction.redact("resource '\(request.resource)' in \(source): \(violation)", secrets: secrets))
            }
        }
    }

    /// The host settings `action` does not read: a stored value of one of
    /// them that breaks its bounds is skipped with a warning, not refused.
    /// Validate, start and restart check the whole configuration (a
    /// resource whose settings are broken is not started); stop, monitor and
    /// exclusive read only their own timeout, and monitor and exclusive the
    /// level (monitor its retries too), so a stop is never refused over a
    /// monitor setting.
    static func unusedHostSettings(by action: ActionName) -> Set<String> {
        if action == .validate || action == .start || action == .restart { return [] }
        var used: Set<String> = [HostSetting.timeout(action.rawValue)]
        if action == .monitor { used.formUnion([HostSetting.retries, HostSetting.retryInterval]) }
        if action == .monitor || action == .exclusive { used.insert(HostSetting.monitorLevel) }
        return Set(HostSetting.specs.map(\.name)).subtracting(used)
    }

    /// Level, timeout and retries: the command line over the resource over
    /// the type's defaults.
    func resolveSettings(plugin: LoadedPlugin, attributes: [String: String], request: ActionRequest) throws(HostError) -> Settings {
        let level = request.level ?? request.checkDepth.map { OCFLevels.level(depth: $0, of: plugin) }
            ?? attributes[HostSetting.monitorLevel].flatMap { UInt32($0) } ?? plugin.defaultLevel
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
            retries: request.retries ?? attributes[HostSetting.retries].flatMap { UInt32($0) } ?? plugin.defaultRetries,
            retryIntervalMilliseconds: attributes[HostSetting.retryInterval].flatMap(milliseconds)
                ?? plugin.defaultRetryIntervalMilliseconds)
    }

    private func milliseconds(_ canonical: String) -> Int64? { AttributeKind.milliseconds(canonical) }

    /// Logs the outcome (one line: stderr, and syslog unless routine) and
    /// returns the `--json` object's line (nil without `--json`): the
    /// caller writes it to fshost's stdout.
    func report(_ result: ActionResult, request: ActionRequest, level: UInt32?, started: Int64,
                timing: String?) -> String? {
        let elapsed = Deadline.now() - started
        let logger = Logger.action(type: request.type, resource: request.resource, action: request.action.rawValue, level: level)
        // The reason is escaped and bounded (LogText) for the log line and the JSON alike.
        let reason = result.reason.map { LogText.reason($0) }
        // `status= ms=`, the phases when timed, the reason last (free text to the end of the line).
        let line = LogFields.field("status", result.status.name) + " " + LogFields.field("ms", String(elapsed))
            + (timing.map { " " + LogFields.field("timing", $0) } ?? "") + (reason.map { " reason=" + $0 } ?? "")
        switch (result.status, request.action) {
        case (.success, .monitor), (.notRunning, .monitor), (.running, .exclusive), (.notRunning, .exclusive):
            logger.logFields(LOG_INFO, line, syslog: false)  // routine: stderr only
        case (.success, _), (.notRunning, _), (.running, _):
            logger.logFields(LOG_INFO, line)
        default:
            logger.logFields(LOG_ERR, line)
        }
        guard request.json else { return nil }
        return JSONLine.object([
            ("type", .string(request.type)), ("resource", .string(request.resource)),
            ("action", .string(request.action.rawValue)), ("level", level.map { .number(Int64($0)) } ?? .null),
            ("status", .string(result.status.name)), ("code", .number(Int64(result.status.rawValue))),
            ("reason", reason.map { .string($0) } ?? .null), ("elapsed_ms", .number(elapsed)),
        ]) + "\n"
    }
}
