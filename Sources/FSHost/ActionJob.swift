import HAVocabulary
import PluginLoading

/// The protocol of one action, top to bottom, as it runs on the worker
/// thread against its deadline: the resource's lock, the plugin's instance,
/// then per action what the plugin does and what the host adds: validate
/// before start, the declared processes after start and stop (TERM → KILL),
/// monitor's retries and its overruled success, and the host's own
/// exclusive and restart when the plugin has none. The C calls are
/// ``PluginInstance``'s; the phase the watchdog names is ``ActionPhase``.
final class ActionJob: @unchecked Sendable {
    let plugin: LoadedPlugin
    let request: ActionRequest
    let settings: ActionRunner.Settings
    let context: ActionContext
    let paths: HostPaths
    private let tracker = ActionPhaseTracker()

    /// What the job is doing, for the timeout message.
    var phase: ActionPhase {
        get { tracker.phase }
        set { tracker.phase = newValue }
    }
    var deadline: Deadline { context.deadline }

    init(plugin: LoadedPlugin, request: ActionRequest, attributes: [String: String], settings: ActionRunner.Settings,
         logger: Logger, paths: HostPaths, deadline: Deadline, explicit: Set<String>? = nil) {
        self.plugin = plugin
        self.request = request
        self.settings = settings
        self.paths = paths
        context = ActionContext(plugin: plugin, resource: request.resource, attributes: attributes, logger: logger,
                                stateRoot: paths.stateDirectory, deadline: deadline, explicit: explicit,
                                runDirectory: paths.runDirectory, action: request.action)
    }

    /// Lock, instance, the action, and a state directory that failed.
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
        let instance: PluginInstance
        switch PluginInstance.create(plugin, context: context) {
        case .success(let created): instance = created
        case .failure(let refusal): return refusal.result
        }
        defer { instance.destroy() }

        phase = .runningPlugin
        let result: ActionResult = switch request.action {
        case .validate: instance.validate()
        case .start: start(instance)
        case .stop: stop(instance)
        case .monitor: monitor(instance)
        case .exclusive: exclusive(instance)
        case .restart: restart(instance)
        }
        // A state directory fshost could not use is the node's problem, not the resource's.
        // One line names both: what the plugin could not do, and why.
        if let failure = context.state.failure {
            let reason = result.reason.map { $0.containsText(failure.message) ? $0 : $0 + "; " + failure.message } ?? failure.message
            return ActionResult(status: .hostError, reason: reason)
        }
        // A companion the host could not load is not a broken resource: the
        // host's answer (5 missing, 7 refused) replaces the failure the
        // plugin reported for lack of it. A plugin that got by without it
        // (success, or an exclusive answer) keeps its answer.
        if let failure = context.companionFailure, ![.success, .running, .notRunning].contains(result.status) {
            let reason = result.reason.map { $0.containsText(failure.message) ? $0 : $0 + "; " + failure.message } ?? failure.message
            return ActionResult(status: failure.exitStatus, reason: reason)
        }
        return result
    }

    /// validate, start, then the declared processes must appear.
    func start(_ instance: PluginInstance) -> ActionResult {
        let valid = instance.validate()
        guard valid.status == .success else { return valid }
        let started = instance.start()
        guard started.status == .success else { return started }
        phase = .waitingForProcesses
        let missing = ProcessChecks.waitUntilPresent(instance.declaredProcesses(), deadline: deadline)
        guard missing.isEmpty else {
            return ActionResult(status: .commandFailed,
                                reason: "started, but declared process \(missing.map(\.description).joined(separator: ", ")) did not appear")
        }
        return started
    }

    /// stop, then no declared process may remain (TERM → KILL).
    func stop(_ instance: PluginInstance) -> ActionResult {
        let stopped = instance.stop()
        phase = .stoppingProcesses
        let declared = instance.declaredProcesses()
        let (escalation, remaining) = ProcessChecks.ensureGone(declared, deadline: deadline)
        if let escalation { context.logger.warning("processes remained after stop: sent \(escalation)") }
        guard remaining.isEmpty else {
            return ActionResult(status: .commandFailed,
                                reason: "declared process \(remaining.map(\.description).joined(separator: ", ")) still runs after TERM and KILL")
        }
        if stopped.status != .success && escalation != nil {
            return ActionResult(status: .success, reason: "plugin's stop said \(stopped.status.name) (\(stopped.reason ?? "no reason")); the host stopped the processes")
        }
        // A stop that said success and left its process is stopped all the
        // same (the host did it), but the answer says so: `fshost verify`
        // names the lie by these words (PluginLie).
        if let escalation, stopped.status == .success {
            return ActionResult(status: .success, reason: "\(PluginLie.stopLeftProcess) \(declared.map(\.description).joined(separator: ", ")) running; the host sent \(escalation)")
        }
        return stopped
    }

    /// One probe: the plugin's answer, overruled when it says success while
    /// a declared process is missing.
    func probe(_ instance: PluginInstance, level: UInt32) -> ActionResult {
        let result = instance.monitor(level: level)
        guard result.status == .success else { return result }
        let missing = ProcessChecks.missing(instance.declaredProcesses())
        guard missing.isEmpty else {
            let reason = "\(PluginLie.monitorSuccessWithoutProcess) \(missing.map(\.description).joined(separator: ", ")) is missing"
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
    func monitor(_ instance: PluginInstance) -> ActionResult {
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
    func exclusive(_ instance: PluginInstance) -> ActionResult {
        if let own = instance.exclusive() { return own }
        let declared = instance.declaredProcesses()
        if !declared.isEmpty && ProcessChecks.missing(declared).count < declared.count {
            return ActionResult(status: .running, reason: "a declared process runs on this node")
        }
        guard let lowest = plugin.levels.first?.number else {
            return ActionResult(status: .notRunning, reason: nil)
        }
        let probe = instance.monitor(level: lowest)
        switch probe.status {
        case .success: return ActionResult(status: .running, reason: "level \(lowest) monitor succeeds")
        case .notRunning: return ActionResult(status: .notRunning, reason: probe.reason)
        default: return ActionResult(status: .commandFailed, reason: "cannot tell: level \(lowest) monitor said \(probe.status.name) (\(probe.reason ?? "no reason"))")
        }
    }

    /// The plugin's own restart, or validate, stop, then start.
    func restart(_ instance: PluginInstance) -> ActionResult {
        if let own = instance.restart() { return own }
        // Validate before anything stops: a configuration that no longer
        // passes must not take down the server that still works.
        let valid = instance.validate()
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
