import FSPluginABI
import HAVocabulary
import PluginLoading
import ProcScan
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// Everything the host lends a plugin for one action on one resource, and
/// the `fshost_host` struct that hands it over the C boundary.
final class ActionContext {
    let plugin: LoadedPlugin
    let type: String
    let resource: String
    var logger: Logger
    /// Canonical attribute values, defaults applied.
    let attributes: [String: String]
    /// The attributes the CDB sets (resource or type level), not a default;
    /// nil when unknown.
    let explicit: Set<String>?
    let state: StateStore
    let deadline: Deadline
    /// The last reason a plugin gave.
    var reason: String?
    /// A command was killed because the action's deadline came, not its own
    /// timeout: whatever the plugin answers after that, the action ran out
    /// of time. Written by the worker, read after it is joined.
    var deadlineKilledCommand = false
    /// The first companion the host could not hand the plugin (missing:
    /// `notSupported`; refused by a pre-load check or dlopen:
    /// `pluginRefused`). The host knows why; the plugin only sees NULL, so
    /// the host's answer wins over a failure the plugin reports after it
    /// (see ``ActionJob``).
    var companionFailure: HostError?
    /// The host's run directory (`<run>/locks` holds shared locks); nil: none.
    let runDirectory: String?

    /// C copies of attribute values handed out, alive until the action ends.
    private var attributeCStrings: [String: UnsafeMutablePointer<CChar>] = [:]
    private let typeCString: UnsafeMutablePointer<CChar>
    private let resourceCString: UnsafeMutablePointer<CChar>
    /// The struct given to the plugin (its address is stable).
    let host: UnsafeMutablePointer<fshost_host>

    /// `action`: the action fshost was asked for, handed to the plugin as
    /// `fshost_host.action` (the validate run before start says start).
    init(plugin: LoadedPlugin, resource: String, attributes: [String: String], logger: Logger,
         stateRoot: String, deadline: Deadline, explicit: Set<String>? = nil, runDirectory: String? = nil,
         action: ActionName = .validate) {
        self.plugin = plugin
        self.runDirectory = runDirectory
        self.explicit = explicit
        self.type = plugin.typeName
        self.resource = resource
        self.attributes = attributes
        // At its final size: grown from empty, one rehash per doubling
        // cost ~50 µs for a type of 20 attributes (perf, first use).
        attributeCStrings.reserveCapacity(attributes.count)
        self.logger = logger
        self.logger.secrets = SecretRedaction.values(of: plugin.attributes, in: attributes)
        self.state = StateStore(root: stateRoot, type: plugin.typeName, resource: resource)
        self.deadline = deadline
        typeCString = strdup(plugin.typeName)
        resourceCString = strdup(resource)
        host = .allocate(capacity: 1)
        host.initialize(to: ActionContext.makeHost(context: nil, type: typeCString, resource: resourceCString))
        host.pointee.context = Unmanaged.passUnretained(self).toOpaque()
        host.pointee.action = UInt32(action.abiIndex)
    }

    deinit {
        attributeCStrings.values.forEach { free($0) }
        free(typeCString)
        free(resourceCString)
        host.deallocate()
    }

    static func from(_ context: UnsafeMutableRawPointer?) -> ActionContext {
        Unmanaged<ActionContext>.fromOpaque(context!).takeUnretainedValue()
    }

    func attributeCString(_ name: String) -> UnsafePointer<CChar>? {
        if let cached = attributeCStrings[name] { return UnsafePointer(cached) }
        guard let value = attributes[name] else { return nil }
        let copy = strdup(value)!
        attributeCStrings[name] = copy
        return UnsafePointer(copy)
    }

    /// The table of host services. Every function recovers this context from
    /// its first argument; none keeps a pointer past the action.
    private static func makeHost(context: UnsafeMutableRawPointer?, type: UnsafeMutablePointer<CChar>,
                                 resource: UnsafeMutablePointer<CChar>) -> fshost_host {
        fshost_host(
            abi_version: FSHOST_ABI_VERSION,
            struct_size: UInt32(MemoryLayout<fshost_host>.size),
            context: context,
            type_name: type,
            resource_name: resource,
            log: { context, priority, message in
                guard let message else { return }
                let syslogPriority: Int32 = switch priority {
                case Int32(FSHOST_LOG_ERROR): LOG_ERR
                case Int32(FSHOST_LOG_WARNING): LOG_WARNING
                case Int32(FSHOST_LOG_INFO): LOG_INFO
                default: LOG_DEBUG
                }
                ActionContext.from(context).logger.log(syslogPriority, String(cString: message))
            },
            set_reason: { context, reason in
                let this = ActionContext.from(context)
                this.reason = reason.map { this.logger.redacted(String(cString: $0)) }
            },
            attribute: { context, name in
                guard let name else { return nil }
                return ActionContext.from(context).attributeCString(String(cString: name))
            },
            time_left_ms: { context in ActionContext.from(context).deadline.millisecondsLeft },
            state_get: { context, key, buffer, capacity, length in
                guard let key else { return -1 }
                let state = ActionContext.from(context).state
                // -1 (the ABI's "error") when the directory or file is unsafe
                // or unreadable, so a plugin can tell that from "absent".
                guard let value = state.get(String(cString: key)) else { return state.failure != nil ? -1 : 1 }
                length?.pointee = value.count
                if let buffer {
                    for i in 0..<min(capacity, value.count) { buffer[i] = CChar(bitPattern: value[i]) }
                }
                return 0
            },
            state_put: { context, key, value, length in
                guard let key else { return -1 }
                let bytes = value.map { v in (0..<length).map { UInt8(bitPattern: v[$0]) } }
                return ActionContext.from(context).state.put(String(cString: key), bytes) ? 0 : -1
            },
            spawn: { context, argv, timeout, exitStatus, output, capacity, length in
                guard let argv else { return Int32(FSHOST_SPAWN_FAILED) }
                var words: [String] = []
                var i = 0
                while let word = argv[i] { words.append(String(cString: word)); i += 1 }
                let this = ActionContext.from(context)
                guard !words.isEmpty else { return Int32(FSHOST_SPAWN_FAILED) }
                let left = this.deadline.millisecondsLeft
                let limit = max(1, min(timeout, left))
                this.logger.log(LOG_DEBUG, "run \(words.joined(separator: " ")) (timeout \(limit) ms)")
                let result = spawn(words, timeoutMilliseconds: limit, captureOutput: output != nil,
                                   outputLimit: max(0, capacity))
                if let output {
                    let n = min(capacity, result.output.count)
                    for j in 0..<n { output[j] = CChar(bitPattern: result.output[j]) }
                    length?.pointee = n
                }
                switch result.termination {
                case .exited(let code): exitStatus?.pointee = code; return Int32(FSHOST_SPAWN_EXITED)
                case .signaled(let signal): exitStatus?.pointee = signal; return Int32(FSHOST_SPAWN_SIGNALED)
                case .timedOut:
                    if limit >= left { this.deadlineKilledCommand = true }
                    return Int32(FSHOST_SPAWN_TIMED_OUT)
                case .failed(let error): exitStatus?.pointee = error; return Int32(FSHOST_SPAWN_FAILED)
                }
            },
            process_count: { _, name, argument in
                Int32(ProcessTable.shared.matching(ProcessChecks.pattern(name, argument)).count)
            },
            process_signal: { _, name, argument, signal in
                let matches = ProcessTable.shared.matching(ProcessChecks.pattern(name, argument))
                return Int32(sendSignal(signal, to: matches).filter { $0.outcome == .delivered }.count)
            },
            process_alive: { _, pid, startTime in
                processAlive(pid: pid, startTime: startTime == 0 ? nil : startTime) ? 1 : 0
            },
            process_start_time: { _, pid in processStartTime(pid: pid) ?? 0 },
            process_refresh: { _ in ProcessTable.refreshShared() },
            companion: { context, name, symbol in
                guard let name, let symbol else { return nil }
                let this = ActionContext.from(context)
                // FSHOST_TIMING: finding, verifying and loading it is a phase of its own.
                PhaseTimer.mark("action")
                defer { PhaseTimer.mark("companion") }
                do throws(HostError) {
                    return try PluginLoader.companion(of: this.plugin, name: String(cString: name),
                                                      symbol: String(cString: symbol))
                } catch {
                    this.reason = error.message
                    this.logger.error(error.message)
                    if this.companionFailure == nil { this.companionFailure = error }
                    return nil
                }
            },
            process_matches: { _, pid, startTime, name, argument in
                ProcessChecks.pattern(name, argument).matches(pid: pid, startTime: startTime == 0 ? nil : startTime) ? 1 : 0
            },
            group_members: { _, group, name, since, out, capacity in
                guard group > 0 else { errno = EINVAL; return -1 }
                let members = ProcessTable.members(ofGroup: group, matching: name.map { _ in ProcessChecks.pattern(name, nil) },
                                                   startedSince: since == 0 ? nil : since)
                if let out {
                    for (i, member) in members.prefix(Int(capacity)).enumerated() { out[i] = member.pid }
                }
                return Int32(clamping: members.count)
            },
            signal_process: { context, pid, startTime, signal in
                let outcome = signalProcess(pid: pid, startTime: startTime == 0 ? nil : startTime, signal: signal)
                ActionContext.from(context).logger.log(LOG_DEBUG, "signal \(signal) to pid \(pid): \(outcome)")
                switch outcome {
                case .delivered: return 0
                case .gone: return 1
                case .notPermitted: errno = EPERM; return -1
                case .refused: errno = EINVAL; return -1
                }
            },
            companion_call: { context, name, signature in
                guard let name, let signature else { return nil }
                let this = ActionContext.from(context)
                // FSHOST_TIMING: finding, verifying and loading it is a phase of its own.
                PhaseTimer.mark("action")
                defer { PhaseTimer.mark("companion") }
                do throws(HostError) {
                    return try PluginLoader.companionCall(of: this.plugin, name: String(cString: name),
                                                          signature: String(cString: signature))
                } catch {
                    this.reason = error.message
                    this.logger.error(error.message)
                    if this.companionFailure == nil { this.companionFailure = error }
                    return nil
                }
            },
            attribute_is_set: { context, name in
                guard let name, let explicit = ActionContext.from(context).explicit else { return -1 }
                return explicit.contains(String(cString: name)) ? 1 : 0
            },
            process_describe: { _, pid, out, capacity in
                guard pid > 0, let entry = ProcessEntry(pid: pid) else { return -1 }
                let text = Array(entry.description(limit: 160).utf8)
                if let out, capacity > 0 {
                    let n = min(Int(capacity) - 1, text.count)
                    for i in 0..<n { out[i] = CChar(bitPattern: text[i]) }
                    out[n] = 0
                }
                return Int32(clamping: text.count)
            },
            process_matches_owned: { _, pid, startTime, name, argument, owner in
                ProcessChecks.pattern(name, argument, owner: owner)
                    .matches(pid: pid, startTime: startTime == 0 ? nil : startTime) ? 1 : 0
            },
            process_find: { _, name, argument, owner, out, capacity in
                let matches = ProcessTable.shared.matching(ProcessChecks.pattern(name, argument, owner: owner))
                if let out {
                    for (i, entry) in matches.prefix(Int(capacity)).enumerated() { out[i] = entry.pid }
                }
                return Int32(clamping: matches.count)
            },
            shared_lock: { context, key, timeoutMs in
                guard let key else { errno = EINVAL; return -1 }
                let this = ActionContext.from(context)
                guard let runDirectory = this.runDirectory else {
                    this.reason = "the host has no run directory for shared locks"
                    return -1
                }
                let limit = min(timeoutMs, this.deadline.millisecondsLeft)
                do throws(HostError) {
                    return try SharedLock.acquire(runDirectory: runDirectory, type: this.type, key: String(cString: key),
                                                  timeoutMs: limit)
                } catch {
                    this.reason = error.message
                    this.logger.error(error.message)
                    return -1
                }
            },
            action: UInt32(ActionName.validate.abiIndex), reserved_action: 0,
            state_put_unsynced: { context, key, value, length in
                guard let key else { return -1 }
                let bytes = value.map { v in (0..<length).map { UInt8(bitPattern: v[$0]) } }
                return ActionContext.from(context).state.put(String(cString: key), bytes, synced: false) ? 0 : -1
            },
            process_state: { _, pid, startTime in
                guard pid > 0, let state = processState(pid: pid, startTime: startTime == 0 ? nil : startTime) else { return -1 }
                return Int32(state)
            })
    }
}
