import FSPluginABI
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// One action, as it runs on the worker thread: lock, instance, the
/// plugin's function, the host's fallbacks, retries and process checks.
final class ActionJob: @unchecked Sendable {
    let plugin: LoadedPlugin
    let request: ActionRequest
    let settings: ActionRunner.Settings
    let context: ActionContext
    let paths: HostPaths

    /// What the job is doing, for the timeout message: written by the
    /// worker, read by the watchdog thread.
    private let currentPhase = Atomic<Int>(Phase.starting.rawValue)

    enum Phase: Int {
        case starting, waitingForLock, creatingInstance, runningPlugin, waitingForProcesses, stoppingProcesses, retrying

        var description: String {
            switch self {
            case .starting: "starting"
            case .waitingForLock: "waiting for the resource lock, held by another action"
            case .creatingInstance: "creating the plugin instance"
            case .runningPlugin: "in the plugin"
            case .waitingForProcesses: "waiting for the declared processes to appear"
            case .stoppingProcesses: "making sure the declared processes are gone"
            case .retrying: "between monitor probes"
            }
        }
    }

    var phase: Phase {
        get { Phase(rawValue: currentPhase.load(ordering: .relaxed)) ?? .starting }
        set { currentPhase.store(newValue.rawValue, ordering: .relaxed) }
    }

    init(plugin: LoadedPlugin, request: ActionRequest, attributes: [String: String], settings: ActionRunner.Settings,
         logger: Logger, paths: HostPaths, deadline: Deadline, explicit: Set<String>? = nil) {
        self.plugin = plugin
        self.request = request
        self.settings = settings
        self.paths = paths
        context = ActionContext(plugin: plugin, resource: request.resource, attributes: attributes, logger: logger,
                                stateRoot: paths.stateDirectory, deadline: deadline, explicit: explicit)
    }

    var d: fshost_plugin { plugin.descriptor.pointee }
    var deadline: Deadline { context.deadline }

    func run() -> ActionResult {
        phase = .waitingForLock
        let lock: ResourceLock
        do {
            lock = try ResourceLock.acquire(runDirectory: paths.runDirectory, type: plugin.typeName, resource: request.resource)
        } catch {
            return ActionResult(status: error.exitStatus, reason: error.message)
        }
        defer { lock.release() }

        phase = .creatingInstance
        var createStatus = ExitStatus.noConfigInfo.rawValue
        guard let instance = d.create(context.host, &createStatus) else {
            let status = ExitStatus(pluginStatus: createStatus)
            return ActionResult(status: status == .success ? .noConfigInfo : status,
                                reason: context.reason ?? "the plugin could not use the resource's attributes")
        }
        defer { d.destroy(instance) }

        phase = .runningPlugin
        let result: ActionResult = switch request.action {
        case .validate: validate(instance)
        case .start: start(instance)
        case .stop: stop(instance)
        case .monitor: monitor(instance)
        case .exclusive: exclusive(instance)
        case .restart: restart(instance)
        }
        // A state directory fshost could not use is the node's problem, not the resource's.
        // One line names both: what the plugin could not do, and why.
        if let failure = context.state.failure {
            let reason = result.reason.map { $0.contains(failure.message) ? $0 : $0 + "; " + failure.message } ?? failure.message
            return ActionResult(status: .hostError, reason: reason)
        }
        return result
    }

    /// Calls one plugin function and collects its reason.
    private func call(_ function: (UnsafeMutableRawPointer?) -> Int32, _ instance: UnsafeMutableRawPointer) -> ActionResult {
        context.reason = nil
        let status = ExitStatus(pluginStatus: function(instance))
        return ActionResult(status: status, reason: context.reason)
    }

    func validate(_ instance: UnsafeMutableRawPointer) -> ActionResult {
        guard let validate = d.validate else { return ActionResult(status: .success, reason: nil) }
        return call(validate, instance)
    }

    /// validate, start, then the declared processes must appear.
    func start(_ instance: UnsafeMutableRawPointer) -> ActionResult {
        let valid = validate(instance)
        guard valid.status == .success else { return valid }
        let started = call(d.start!, instance)
        guard started.status == .success else { return started }
        phase = .waitingForProcesses
        let missing = ProcessChecks.waitUntilPresent(ProcessChecks.declared(by: plugin, instance: instance), deadline: deadline)
        guard missing.isEmpty else {
            return ActionResult(status: .commandFailed,
                                reason: "started, but declared process \(missing.map(\.description).joined(separator: ", ")) did not appear")
        }
        return started
    }

    /// stop, then no declared process may remain (TERM → KILL).
    func stop(_ instance: UnsafeMutableRawPointer) -> ActionResult {
        let stopped = call(d.stop!, instance)
        phase = .stoppingProcesses
        let (escalation, remaining) = ProcessChecks.ensureGone(ProcessChecks.declared(by: plugin, instance: instance),
                                                               deadline: deadline)
        if let escalation { context.logger.warning("processes remained after stop: sent \(escalation)") }
        guard remaining.isEmpty else {
            return ActionResult(status: .commandFailed,
                                reason: "declared process \(remaining.map(\.description).joined(separator: ", ")) still runs after TERM and KILL")
        }
        if stopped.status != .success && escalation != nil {
            return ActionResult(status: .success, reason: "plugin's stop said \(stopped.status.name) (\(stopped.reason ?? "no reason")); the host stopped the processes")
        }
        return stopped
    }

    /// One probe: the plugin's answer, overruled when it says success while
    /// a declared process is missing.
    func probe(_ instance: UnsafeMutableRawPointer, level: UInt32) -> ActionResult {
        context.reason = nil
        let result = ActionResult(status: ExitStatus(pluginStatus: d.monitor!(instance, level)), reason: context.reason)
        guard result.status == .success else { return result }
        let missing = ProcessChecks.missing(ProcessChecks.declared(by: plugin, instance: instance))
        guard missing.isEmpty else {
            let reason = "plugin reported success but declared process \(missing.map(\.description).joined(separator: ", ")) is missing"
            context.logger.warning(reason)
            return ActionResult(status: .commandFailed, reason: reason)
        }
        return result
    }

    /// Up to 1 + retries probes; a failure is declared only when every one
    /// failed. Only a failure that may pass (HA_CMD_FAILED, HA_TIMEDOUT) is
    /// retried: a clean "not running" is an answer, and a configuration
    /// answer (HA_INVAL_ARGS, HA_NOCFGINFO, HA_NOTSUPPORTED,
    /// HA_PLUGIN_REFUSED, HA_HOST_ERROR) is the same on every probe.
    func monitor(_ instance: UnsafeMutableRawPointer) -> ActionResult {
        var attempt: UInt32 = 0
        while true {
            attempt += 1
            phase = .runningPlugin
            let result = probe(instance, level: settings.level)
            if !ActionJob.mayPassOnRetry(result.status) || attempt > settings.retries {
                return result
            }
            let pause = min(settings.retryIntervalMilliseconds, deadline.millisecondsLeft)
            guard pause >= 0, deadline.millisecondsLeft > 0 else { return result }
            context.logger.warning("probe \(attempt) failed (\(result.status.name): \(result.reason ?? "no reason")); retrying in \(pause) ms")
            phase = .retrying
            sleepMilliseconds(pause)
        }
    }

    /// Whether a probe answering `status` may answer otherwise if asked
    /// again: only a failure of the checked thing (HA_CMD_FAILED,
    /// HA_TIMEDOUT). Success, HA_NOT_RUNNING and the configuration answers
    /// are final.
    static func mayPassOnRetry(_ status: ExitStatus) -> Bool {
        status == .commandFailed || status == .timedOut
    }

    /// The plugin's own answer, or the lowest monitoring level's: running
    /// here if it succeeds or a declared process exists.
    func exclusive(_ instance: UnsafeMutableRawPointer) -> ActionResult {
        if let exclusive = d.exclusive { return call(exclusive, instance) }
        let declared = ProcessChecks.declared(by: plugin, instance: instance)
        if !declared.isEmpty && ProcessChecks.missing(declared).count < declared.count {
            return ActionResult(status: .running, reason: "a declared process runs on this node")
        }
        guard let lowest = plugin.levels.first?.number else {
            return ActionResult(status: .notRunning, reason: nil)
        }
        context.reason = nil
        let status = ExitStatus(pluginStatus: d.monitor!(instance, lowest))
        switch status {
        case .success: return ActionResult(status: .running, reason: "level \(lowest) monitor succeeds")
        case .notRunning: return ActionResult(status: .notRunning, reason: context.reason)
        default: return ActionResult(status: .commandFailed, reason: "cannot tell: level \(lowest) monitor said \(status.name) (\(context.reason ?? "no reason"))")
        }
    }

    /// The plugin's own restart, or validate, stop, then start.
    func restart(_ instance: UnsafeMutableRawPointer) -> ActionResult {
        if let restart = d.restart { return call(restart, instance) }
        // Validate before anything stops: a configuration that no longer
        // passes must not take down the server that still works.
        let valid = validate(instance)
        guard valid.status == .success else {
            return ActionResult(status: valid.status, reason: "restart: nothing stopped: \(valid.reason ?? "validate failed")")
        }
        let stopped = stop(instance)
        guard stopped.status == .success else {
            return ActionResult(status: stopped.status, reason: "restart: stop failed: \(stopped.reason ?? "no reason")")
        }
        return start(instance)
    }
}
