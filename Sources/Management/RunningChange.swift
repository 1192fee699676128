import CDB

/// Which attribute changes need a resource that does not run on this node:
/// the rule `cdb modify`, `modify-type` and `import` follow.
///
/// The action path finds and stops a resource through its attributes (a
/// pidfile, a command line, a port, a marker). Changed while it runs, the
/// next `stop` looks in the new place, answers success, and the old
/// processes run on with nothing able to stop them (a webserver's
/// `pidfile=` changed while nginx ran: stop 0, monitor 1, nginx up). So a
/// change of any plugin attribute of a resource that runs is refused
/// unless forced, as `cdb delete` refuses one. The host settings
/// (``HostSetting``: `monitor_level`, `retries`, `retry_interval`,
/// `<action>_timeout`) only say how long and how deep fshost looks, never
/// where: they may change at any time. So may a plugin attribute its type
/// declares monitor-only (``AttributeSpec/isMonitorOnly``, the SDK's
/// `.monitorOnly`: a check's own timeout, a probe's protocol): the plugin's
/// declaration is the one place that says so.
public enum RunningChange {
    /// Whether changing `key` of a running resource could change how it
    /// is found or stopped: every key but the host settings and those
    /// `spec` (the type's schema entry for `key`; nil: unknown) declares
    /// monitor-only.
    public static func needsStopped(_ key: String, spec: AttributeSpec? = nil) -> Bool {
        !HostSetting.specs.contains { $0.name == key } && spec?.isMonitorOnly != true
    }

    /// The keys of `keys` that ``needsStopped(_:spec:)`` for `type`'s
    /// `schema` (nil: unknown, only the host settings are free).
    public static func keysNeedingStopped(_ keys: some Sequence<String>, schema: AttributeSchema?) -> [String] {
        keys.filter { needsStopped($0, spec: schema?.spec($0)) }.sorted()
    }

    /// The keys whose values differ between `old` and `new` (set, changed
    /// or removed) and that ``needsStopped(_:spec:)`` under `schema`, sorted.
    public static func keysNeedingStopped(from old: [String: String], to new: [String: String],
                                          schema: AttributeSchema?) -> [String] {
        keysNeedingStopped(Set(old.keys).union(new.keys).filter { old[$0] != new[$0] }, schema: schema)
    }
}
