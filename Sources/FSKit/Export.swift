import FSPluginABI
#if canImport(Glibc)
import Glibc
#endif

/// What a plugin's entry symbol returns. The build generates the entry
/// (`FSPluginRecordPlugin`): for target `WebServer` it exports the
/// `ResourceType` named `WebServer`, under the type name `webserver` that
/// it also writes into the ELF record, so the two cannot disagree:
///
/// ```swift
/// @_cdecl("fshost_plugin_entry")
/// public func fshostPluginEntry() -> PluginEntry { PluginEntry(exporting: WebServer.self, typeName: "webserver") }
/// ```
public typealias PluginEntry = fshost_entry

extension PluginEntry {
    /// Builds (once) the C descriptor of `type`, named `typeName`, and returns it.
    public init<T: ResourceType>(exporting type: T.Type, typeName: String) {
        if Exported.descriptor == nil {
            Exported.typeName = typeName
            Exported.factory = { resource throws(ConfigurationError) in
                // The host checked the schema; a value the SDK cannot read
                // means a host that did not: refuse before init reads it.
                if let bad = unreadableAttribute(T.attributes, in: resource) {
                    if resource.string(bad.name) == nil { throw .missing(bad.name) }
                    throw ConfigurationError(.invalid("attribute '\(bad.name)' is not a valid \(bad.kind) value"))
                }
                return try T(resource: resource)
            }
            Exported.descriptor = makeDescriptor(T.self, typeName: typeName)
        }
        self.init(plugin: UnsafePointer(Exported.descriptor))
    }

    /// The first SDK's hand-written entry: the type name is `T.name`.
    public init<T: ResourceType>(exporting type: T.Type) {
        self.init(exporting: type, typeName: T.name)
    }
}

/// The one exported type of this plugin (each plugin links its own copy of
/// the SDK, so one slot per process image is exact). Written once, by the
/// entry symbol, before the host calls anything else.
enum Exported {
    nonisolated(unsafe) static var descriptor: UnsafeMutablePointer<fshost_plugin>?
    nonisolated(unsafe) static var factory: ((Resource) throws(ConfigurationError) -> any ResourceType)?
    /// The type name the build derived from the target (and wrote into the record).
    nonisolated(unsafe) static var typeName: String?
}

/// A resource value and what the host may read from it.
final class Instance {
    let resource: Resource
    let value: any ResourceType
    /// C copies of the declared process patterns, alive until destroy.
    var patterns: [(name: UnsafeMutablePointer<CChar>, argument: UnsafeMutablePointer<CChar>?, hint: ProcessIdentity?,
                    owner: UInt32?)] = []

    init(resource: Resource, value: any ResourceType) {
        self.resource = resource
        self.value = value
    }

    deinit {
        for p in patterns { free(p.name); free(p.argument) }
    }

    /// Reports the outcome's reason to the host and returns its status.
    func report(_ outcome: Outcome) -> Int32 {
        if let reason = outcome.reason { resource.host.pointee.set_reason(resource.host.pointee.context, reason) }
        return outcome.status.rawValue
    }

    static func from(_ pointer: UnsafeMutableRawPointer?) -> Instance {
        Unmanaged<Instance>.fromOpaque(pointer!).takeUnretainedValue()
    }
}

/// A C string that lives as long as the process (descriptor strings).
func strdupOrAbort(_ text: String) -> UnsafeMutablePointer<CChar> {
    guard let copy = strdup(text) else { fatalError("fshost SDK: out of memory") }
    return copy
}

private func makeDescriptor<T: ResourceType>(_ type: T.Type, typeName: String) -> UnsafeMutablePointer<fshost_plugin> {
    let levels = UnsafeMutablePointer<fshost_level>.allocate(capacity: max(1, T.levels.count))
    for (i, level) in T.levels.enumerated() {
        levels[i] = fshost_level(number: level.number, name: strdupOrAbort(level.name),
                                 description: strdupOrAbort(level.description), cost: strdupOrAbort(level.cost))
    }
    let attributes = UnsafeMutablePointer<fshost_attribute>.allocate(capacity: max(1, T.attributes.count))
    for (i, a) in T.attributes.enumerated() {
        attributes[i] = cAttribute(a)
    }
    let defaults = T.defaults
    var timeouts: (UInt32, UInt32, UInt32, UInt32, UInt32, UInt32) = (0, 0, 0, 0, 0, 0)
    withUnsafeMutableBytes(of: &timeouts) { raw in
        let slots = raw.bindMemory(to: UInt32.self)
        for action in Action.allCases {
            slots[action.abiIndex] = UInt32(clamping: defaults.timeout(action).milliseconds)
        }
    }

    let plugin = UnsafeMutablePointer<fshost_plugin>.allocate(capacity: 1)
    plugin.initialize(to: fshost_plugin(
        abi_version: FSHOST_ABI_VERSION,
        struct_size: UInt32(MemoryLayout<fshost_plugin>.size),
        type_name: strdupOrAbort(typeName),
        summary: strdupOrAbort(T.summary),
        level_count: UInt32(T.levels.count), levels: levels,
        attribute_count: UInt32(T.attributes.count), attributes: attributes,
        default_timeout_ms: timeouts,
        default_level: defaults.level,
        default_retries: defaults.retries,
        default_retry_interval_ms: UInt32(clamping: defaults.retryInterval.milliseconds),
        create: { host, status in
            guard let host, let factory = Exported.factory else { return nil }
            let resource = Resource(host: host)
            do throws(ConfigurationError) {
                let value = try factory(resource)
                return Unmanaged.passRetained(Instance(resource: resource, value: value)).toOpaque()
            } catch {
                if let reason = error.outcome.reason { host.pointee.set_reason(host.pointee.context, reason) }
                status?.pointee = error.outcome.status.rawValue
                return nil
            }
        },
        destroy: { pointer in
            guard let pointer else { return }
            Unmanaged<Instance>.fromOpaque(pointer).release()
        },
        validate: { p in
            let i = Instance.from(p)
            if let missing = missingUser(Swift.type(of: i.value).attributes, in: i.resource) { return i.report(missing) }
            return i.report(i.value.validate())
        },
        exclusive: T.self is any ExclusiveCheck.Type
            ? { p in let i = Instance.from(p); return i.report((i.value as! any ExclusiveCheck).exclusive()) }
            : nil,
        start: { p in let i = Instance.from(p); return i.report(i.value.start()) },
        stop: { p in let i = Instance.from(p); return i.report(i.value.stop()) },
        monitor: { p, level in
            let i = Instance.from(p)
            if let custom = i.value as? any CustomMonitor { return i.report(custom.monitor(upTo: level)) }
            return i.report(runLevels(of: i.value, upTo: level, declared: Swift.type(of: i.value).levels))
        },
        restart: T.self is any CustomRestart.Type
            ? { p in let i = Instance.from(p); return i.report((i.value as! any CustomRestart).restart()) }
            : nil,
        processes: { p, out, capacity in
            let i = Instance.from(p)
            if i.patterns.isEmpty {
                i.patterns = i.value.processes.map {
                    (strdupOrAbort($0.name), $0.argument.map(strdupOrAbort), $0.hint, $0.owner)
                }
            }
            for (n, pattern) in i.patterns.prefix(Int(capacity)).enumerated() {
                out?[n] = fshost_process_pattern(name: pattern.name, argument: pattern.argument,
                                                 pid: pattern.hint?.pid ?? 0, reserved: 0,
                                                 start_time: pattern.hint?.startTime ?? 0,
                                                 has_owner: pattern.owner == nil ? 0 : 1, owner: pattern.owner ?? 0)
            }
            return UInt32(i.patterns.count)
        },
        attribute_size: UInt32(MemoryLayout<fshost_attribute>.size),
        process_pattern_size: UInt32(MemoryLayout<fshost_process_pattern>.size)))
    return plugin
}

/// Deeper levels include the shallower ones: run every declared level up to
/// `level`, shallowest first, and stop at the first that is not a success.
func runLevels(of value: any ResourceType, upTo level: UInt32, declared: [MonitorLevel]) -> Outcome {
    for l in declared.map(\.number).sorted() where l <= level {
        let outcome = value.probe(level: l)
        if !outcome.isSuccess { return outcome }
    }
    return .success
}

/// The C form of one attribute, appended fields included (the host reads
/// them because `attribute_size` covers them).
private func cAttribute(_ a: Attribute) -> fshost_attribute {
    var flags: UInt32 = 0
    if a.isSecret { flags |= UInt32(FSHOST_ATTR_FLAG_SECRET) }
    if a.constraint.minimum != nil { flags |= UInt32(FSHOST_ATTR_FLAG_MINIMUM) }
    if a.constraint.maximum != nil { flags |= UInt32(FSHOST_ATTR_FLAG_MAXIMUM) }
    if a.constraint.isRegex { flags |= UInt32(FSHOST_ATTR_FLAG_REGEX) }
    if a.isMonitorOnly { flags |= UInt32(FSHOST_ATTR_FLAG_MONITOR_ONLY) }
    let allowed = cStringList(a.constraint.allowedValues)
    return fshost_attribute(name: strdupOrAbort(a.name), type: a.kind.rawValue,
                            required: a.isRequired ? 1 : 0,
                            default_value: a.defaultValue.map { UnsafePointer(strdupOrAbort($0)) },
                            description: strdupOrAbort(a.description),
                            flags: flags, allowed_count: UInt32(a.constraint.allowedValues.count),
                            allowed_values: allowed,
                            minimum: a.constraint.minimum ?? 0, maximum: a.constraint.maximum ?? 0,
                            pattern: a.constraint.pattern.map { UnsafePointer(strdupOrAbort($0)) },
                            pattern_description: a.constraint.patternDescription.map { UnsafePointer(strdupOrAbort($0)) },
                            refused_count: UInt32(a.constraint.refusedValues.count), reserved_refused: 0,
                            refused_values: cStringList(a.constraint.refusedValues))
}

/// C copies of `values` (kept for the process's life, like the
/// descriptor), nil when there are none.
private func cStringList(_ values: [String]) -> UnsafePointer<UnsafePointer<CChar>?>? {
    guard !values.isEmpty else { return nil }
    let list = UnsafeMutablePointer<UnsafePointer<CChar>?>.allocate(capacity: values.count)
    for (n, value) in values.enumerated() { list[n] = UnsafePointer(strdupOrAbort(value)) }
    return UnsafePointer(list)
}

/// A user attribute naming a user this node does not know: what `validate`
/// (and so start) answers before the plugin's own checks. Not on the
/// monitor path: getpwnam may ask a directory service.
func missingUser(_ attributes: [Attribute], in resource: Resource) -> Outcome? {
    for a in attributes where a.kind == .user {
        guard let name = resource.string(a.name), !name.isEmpty else { continue }
        if getpwnam(name) == nil {
            return .invalid("attribute '\(a.name)': no user '\(name)' on this node (getpwnam)")
        }
    }
    return nil
}
