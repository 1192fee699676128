import CDB
import HAVocabulary
import PluginLoading
#if canImport(Glibc)
import Glibc
#endif

/// `fshost ocf <type> <action>`: fshost as an OCF resource agent (what the
/// installed `lib/ocf/resource.d/fshost/<type>` runs), for Pacemaker. The
/// rules are the OCF Resource Agent API's (ClusterLabs OCF-spec,
/// `ra/1.1/resource-agent-api.md`); the return codes are
/// ``HAVocabulary/ExitStatus/ocfCode``.
///
/// - Actions: `start`, `stop`, `monitor` (and its old name `status`),
///   `validate-all` (fshost's validate), `meta-data` (``OCFMetaData``),
///   `notify` (0: no fshost type acts on notifications), `usage`. Any other
///   (`reload`, `promote`, `migrate_to`, …): 3 `OCF_ERR_UNIMPLEMENTED`. No
///   action: the usage on stderr, 2 `OCF_ERR_ARGS`.
/// - Configuration: the `OCF_RESKEY_<attribute>` variables (not
///   `OCF_RESKEY_CRM_meta_*` nor `crm_feature_set`) are the resource's
///   attributes: the CIB is the configuration, no CDB is read. An unknown or
///   ill-typed one: 2; a missing required one: 6 `OCF_ERR_CONFIGURED`.
/// - The resource: `OCF_RESOURCE_INSTANCE`, written one to one as a resource
///   name (`_` → `__`, a clone's `:` → `_3A`: `web:1` is `web_3A1`, never
///   `web.1`'s); missing or not a resource name: 2. Its lock and state live
///   in its own directories, `$FSHOST_RUN_DIR/ocf/<name>` (`locks/`, and
///   `active`, the mark of a start not yet undone by a stop) and
///   `$FSHOST_STATE_DIR/ocf/<name>` (the plugin's state), made and read
///   through ``SafeDirectory``; a run or state directory others can write
///   (sticky or not): 1 (HA_HOST_ERROR).
/// - Timeout: `OCF_RESKEY_CRM_meta_timeout` (ms) less a margin and the
///   supervisor's grace (``CallerDeadline``), so that fshost answers before
///   Pacemaker kills it even when the worker froze; else the type's.
/// - Depth: `OCF_CHECK_LEVEL`, mapped by ``OCFLevels``.
/// - monitor: after a start and before its stop (the `active` mark), the
///   type's monitor: 0 healthy, 7 cleanly stopped, 1 failed. Without the
///   mark (never started here since boot), fshost's exclusive first: 7 when
///   the resource does not run here; when it does, the probe (interval 0)
///   answers 0 and a recurring monitor (`OCF_RESKEY_CRM_meta_interval` > 0)
///   runs the type's monitor at its level.
/// - stop of an instance never started here whose configuration cannot be
///   resolved (a missing or bad parameter, the type not installed): 0, as
///   resource-agents do (nothing of it can run); with the mark, the error.
/// - `OCF_RESKEY_trace_ra`, `trace_file`, `trace_dir` (ocf-shellfuncs') and
///   `CRM_meta_*`, `crm_feature_set` (Pacemaker's) are ignored.
/// - Type not installed: 5 `OCF_ERR_INSTALLED`.
public struct OCFAgent {
    public let paths: HostPaths
    public init(paths: HostPaths) { self.paths = paths }

    static let success: Int32 = 0, generic: Int32 = 1, args: Int32 = 2, unimplemented: Int32 = 3
    static let notInstalled: Int32 = 5, notRunning: Int32 = 7

    public static let usage = """
    usage: fshost ocf <type> {start|stop|monitor|validate-all|meta-data|notify|usage}
    An OCF resource agent for Pacemaker (installed as lib/ocf/resource.d/fshost/<type>).
    Parameters: OCF_RESKEY_<attribute>; OCF_RESOURCE_INSTANCE names the resource;
    OCF_CHECK_LEVEL 0, 10, 20, ... selects the type's first, second, third ... level.

    """

    /// Runs the words after `fshost ocf`; returns the OCF return code.
    public func main(_ arguments: [String]) -> Int32 {
        let logger = Logger(prefix: "ocf")
        guard arguments.count >= 2 else {
            Logger.writeStderr(Self.usage)
            return Self.args
        }
        let type = arguments[0], action = arguments[1]
        guard arguments.count == 2 else {
            logger.error("unexpected argument '\(Names.printable(arguments[2]))' (\(Self.usage.split(separator: "\n")[0]))")
            return Self.args
        }
        switch action {
        case "usage", "help":
            Logger.writeStdout(Self.usage)
            return Self.success
        case "notify":
            return Self.success
        case "meta-data":
            do throws(HostError) {
                let plugin = try PluginLoader.load(type: type, searchPath: PluginSearchPath(directories: paths.pluginPath))
                Logger.writeStdout(OCFMetaData.xml(plugin))
                return Self.success
            } catch {
                logger.error(error.message)
                return error.exitStatus == .notSupported ? Self.notInstalled : error.exitStatus.ocfCode
            }
        case "start", "stop", "monitor", "status", "validate-all":
            break
        default:
            logger.error("action '\(Names.printable(action))' is not implemented by ocf:fshost:\(Names.printable(type)) (actions: start, stop, monitor, validate-all, meta-data, notify)")
            return Self.unimplemented
        }
        let installed = (try? PluginSearchPath(directories: paths.pluginPath).find(type: type)) != nil
        let notInstalled = "resource type '\(Names.printable(type))' is not installed (no \(type).so in \(paths.pluginPath.joined(separator: ":")))"
        guard installed || action == "stop" else {
            logger.error(notInstalled)
            return Self.notInstalled
        }
        let request: ActionRequest
        let resource: String
        do throws(HostError) {
            (request, resource) = try Self.request(type: type, action: action == "status" ? "monitor" : action)
        } catch {
            logger.error(error.message)
            return installed ? error.exitStatus.ocfCode : Self.notInstalled
        }
        do throws(HostError) {
            try SafeDirectory.checkRoot(paths.runDirectory, variable: "FSHOST_RUN_DIR")
            try SafeDirectory.checkRoot(paths.stateDirectory, variable: "FSHOST_STATE_DIR")
        } catch {
            logger.error(error.message)
            return error.exitStatus.ocfCode
        }
        var own = paths
        own.runDirectory = paths.runDirectory + "/ocf/" + resource
        own.stateDirectory = paths.stateDirectory + "/ocf/" + resource
        let mark = ActiveMark(directory: own.runDirectory, root: paths.runDirectory)
        let marked: Bool
        do throws(HostError) { marked = try mark.isSet() } catch {
            logger.error(error.message)
            return error.exitStatus.ocfCode
        }
        guard installed else {
            logger.error(notInstalled)
            if !marked {
                logger.warning("stop: \(resource) was never started on this node: answering 0 (nothing to stop)")
                return Self.success
            }
            return Self.notInstalled
        }
        let runner = ActionRunner(paths: own)
        switch request.action {
        case .start:
            // Marked before the start: a start that fails half-way is
            // monitored (and stopped) as started, never probed as "never ran".
            // A start refused before anything ran (its configuration, the
            // plugin, the node's set-up) takes back a mark it made.
            do throws(HostError) { try mark.set() } catch {
                logger.error(error.message)
                return error.exitStatus.ocfCode
            }
            let status = runner.run(request)
            if !marked && Self.refusedBeforeRunning.contains(status) { mark.clear() }
            return status.ocfCode
        case .stop:
            let status = runner.run(request)
            if status == .success { mark.clear() }
            // resource-agents' rule: a stop whose configuration cannot be
            // resolved succeeds when nothing of the instance can run here
            // (never started on this node since boot); else Pacemaker would
            // fence the node over a resource that never ran.
            if !marked && Self.refusedBeforeRunning.contains(status) {
                logger.warning("stop: \(status.name) but \(resource) was never started on this node: answering 0 (nothing to stop)")
                return Self.success
            }
            return status.ocfCode
        case .monitor where !marked:
            // Never started here since boot. Does it run here? exclusive's
            // answer: 7 when it does not. The probe (interval 0) stops at
            // that; a recurring monitor then checks it at its level, so a
            // server that runs here but is broken never passes as healthy.
            var probe = request
            probe.action = .exclusive
            let status = runner.run(probe)
            guard status == .running else { return status == .notRunning ? Self.notRunning : status.ocfCode }
            return Self.isRecurring() ? runner.run(request).ocfCode : Self.success
        default:
            return runner.run(request).ocfCode
        }
    }

    /// Answers of an action refused before any plugin code acted: a bad or
    /// missing configuration, an unknown type, a plugin that failed its check.
    static let refusedBeforeRunning: [ExitStatus] = [.invalidArguments, .noConfigInfo, .notSupported, .pluginRefused]

    /// `OCF_RESKEY_CRM_meta_interval` > 0: a recurring monitor, not a probe
    /// (ocf-shellfuncs' `ocf_is_probe`: monitor with interval 0 or unset).
    static func isRecurring() -> Bool {
        guard let text = environment("OCF_RESKEY_CRM_meta_interval"), let ms = Int64(text) else { return false }
        return ms > 0
    }

    /// The resource's directory name from `OCF_RESOURCE_INSTANCE`: one to one
    /// (two instances never share a directory): `_` is written `__` and a
    /// clone's `:` is written `_3A`; the rest is a resource name's alphabet.
    static func directoryName(instance: String) -> String {
        var result = ""
        for character in instance {
            switch character {
            case "_": result += "__"
            case ":": result += "_3A"
            default: result.append(character)
            }
        }
        return result
    }

    /// The action request from the OCF environment, and the resource name.
    /// - Throws: ``HostError``: `invalidArguments` (2) for a missing or bad
    ///   `OCF_RESOURCE_INSTANCE`, `OCF_CHECK_LEVEL`, an attribute name that
    ///   is no attribute name.
    static func request(type: String, action: String) throws(HostError) -> (ActionRequest, String) {
        guard let instance = environment("OCF_RESOURCE_INSTANCE") else {
            throw HostError(.invalidArguments, "OCF_RESOURCE_INSTANCE is not set: it names the resource")
        }
        let resource = directoryName(instance: instance)
        guard Names.isValidResource(resource) else {
            throw HostError(.invalidArguments, "OCF_RESOURCE_INSTANCE '\(Names.printable(instance))' is not a resource name (\(Names.rule("resource")), a clone's ':' allowed; written with '_' as '__' and ':' as '_3A')")
        }
        var request = ActionRequest(type: type, action: ActionName(rawValue: action == "validate-all" ? "validate" : action)!,
                                    resource: resource)
        let supplied = attributes()
        request.suppliedAttributes = SuppliedAttributes(supplied, source: "OCF_RESKEY_*")
        // Read once, then out of the environment: every process the type
        // starts (a daemon spawned with `environ`) would inherit them, a
        // secret (`password`) readable in /proc/<pid>/environ of a server
        // that runs for months. Pacemaker's CRM_meta_* stay (read later).
        for name in supplied.keys { unsetenv("OCF_RESKEY_" + name) }
        if let text = environment("OCF_RESKEY_CRM_meta_timeout") {
            guard let ms = Int64(text), ms > 0 else {
                throw HostError(.invalidArguments, "OCF_RESKEY_CRM_meta_timeout '\(Names.printable(text))' is not a number of milliseconds")
            }
            request.timeoutMilliseconds = min(CallerDeadline.apply(ms), HostSetting.timeoutRange.upperBound)
            // Also the bound of a hang before the deadline is known (the set-up limit).
            request.deadlineCap = Deadline.now() + request.timeoutMilliseconds!
        }
        if let text = environment("OCF_CHECK_LEVEL") {
            guard let depth = UInt32(text) else {
                throw HostError(.invalidArguments, "OCF_CHECK_LEVEL '\(Names.printable(text))' is not a depth (0, 10, 20, ...)")
            }
            request.checkDepth = depth
        }
        return (request, resource)
    }

    /// `OCF_RESKEY_<name>=value` for every name but Pacemaker's own
    /// (`CRM_meta_*`, `crm_feature_set`).
    static func attributes() -> [String: String] {
        var result: [String: String] = [:]
        var entry = environ
        let prefix = "OCF_RESKEY_"
        while let pointer = entry.pointee {
            let text = String(cString: pointer)
            entry += 1
            guard text.hasPrefix(prefix), let equals = text.firstIndex(of: "=") else { continue }
            let name = String(text[text.index(text.startIndex, offsetBy: prefix.count)..<equals])
            if name.isEmpty || ignoredParameter(name) { continue }
            result[name] = String(text[text.index(after: equals)...])
        }
        return result
    }

    /// Pacemaker's and resource-agents' own keys, never a type's attribute:
    /// `CRM_meta_*`, `crm_feature_set`, and ocf-shellfuncs' tracing
    /// (`trace_ra`, `trace_file`, `trace_dir`: fshost has its own log).
    static func ignoredParameter(_ name: String) -> Bool {
        name.hasPrefix("CRM_meta_") || ["crm_feature_set", "trace_ra", "trace_file", "trace_dir"].contains(name)
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name), value.pointee != 0 else { return nil }
        return String(cString: value)
    }
}

/// `<run>/ocf/<instance>/active`: this node started the resource and has not
/// stopped it since (the run directory is a tmpfs: a reboot clears it).
/// Always looked at through the checked instance directory (``SafeDirectory``),
/// never by path: a link planted on the way must not make fshost create or
/// remove a file elsewhere.
struct ActiveMark {
    let directory: String
    /// The configured run directory (`FSHOST_RUN_DIR`).
    let root: String

    /// - Throws: ``HostError`` `hostError` (9): the directory is unsafe.
    func isSet() throws(HostError) -> Bool {
        guard let dir = try SafeDirectory.openExisting(directory, root: root, variable: "FSHOST_RUN_DIR",
                                                       what: "OCF resource directory") else { return false }
        defer { close(dir.fd) }
        var st = stat()
        return fstatat(dir.fd, "active", &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    /// - Throws: ``HostError`` `hostError` (9): the directory is unsafe or
    ///   the file cannot be made.
    func set() throws(HostError) {
        let dir = try SafeDirectory.open(directory, root: root, variable: "FSHOST_RUN_DIR",
                                         what: "OCF resource directory", mode: 0o755)
        defer { close(dir.fd) }
        // O_NONBLOCK: a FIFO named active fails (ENXIO) instead of blocking.
        let fd = openat(dir.fd, "active", O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK, 0o600)
        guard fd >= 0 else {
            throw HostError(.hostError, "cannot create \(directory)/active: \(String(cString: strerror(errno)))")
        }
        close(fd)
    }

    /// Removes the mark, relative to the checked directory (nothing when it
    /// is missing or unsafe: ``isSet()`` already refused that one).
    func clear() {
        guard let dir = try? SafeDirectory.openExisting(directory, root: root, variable: "FSHOST_RUN_DIR",
                                                        what: "OCF resource directory") else { return }
        unlinkat(dir.fd, "active", 0)
        close(dir.fd)
    }
}
