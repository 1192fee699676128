import ArgvText
import FSPluginABI
#if canImport(Glibc)
import Glibc
#endif

/// One resource as a plugin sees it during one action: its attributes and
/// the host's services (log, processes, commands, state, deadline). Valid
/// only for the action it was given for.
public struct Resource {
    let host: UnsafePointer<fshost_host>

    init(host: UnsafePointer<fshost_host>) { self.host = host }

    /// The resource's name.
    public var name: String { String(cString: host.pointee.resource_name) }
    /// The type's name.
    public var typeName: String { String(cString: host.pointee.type_name) }

    /// The action fshost was asked for, of which this call is part: the
    /// validate the host runs before start answers `.start` (before
    /// restart, `.restart`), the `validate` action itself `.validate`. For
    /// a check that costs as much as the action (a kernel dry run), which
    /// start's own step makes anyway. Nil from a host older than
    /// `fshost_host.action`.
    public var action: Action? {
        guard Int(host.pointee.struct_size) >= MemoryLayout<fshost_host>.offset(of: \fshost_host.action)! + 4 else {
            return nil
        }
        let index = Int(host.pointee.action)
        return Action.allCases.first { $0.abiIndex == index }
    }

    // MARK: Attributes (already validated and canonical; defaults applied)

    /// The attribute's canonical text, nil when unset.
    public func string(_ key: String) -> String? {
        guard let value = host.pointee.attribute(host.pointee.context, key) else { return nil }
        return String(cString: value)
    }

    /// Whether the CDB sets `key` (for the resource or its type) rather than
    /// the value being the declared default: true/false, nil when the host
    /// cannot tell (a host older than `attribute_is_set`). For an attribute
    /// known under two names, to refuse both set to different values even
    /// when one of them is set to its default.
    public func isSet(_ key: String) -> Bool? {
        guard Int(host.pointee.struct_size) >= MemoryLayout<fshost_host>.offset(of: \fshost_host.attribute_is_set)!
                + MemoryLayout<UnsafeRawPointer>.size,
              let call = host.pointee.attribute_is_set else { return nil }
        switch call(host.pointee.context, key) {
        case 1: return true
        case 0: return false
        default: return nil
        }
    }

    /// ``isSet(_:)`` of a typed attribute.
    public func isSet<Value>(_ attribute: TypedAttribute<Value>) -> Bool? { isSet(attribute.name) }

    /// The attribute's text, or a configuration error naming it.
    public func required(_ key: String) throws(ConfigurationError) -> String {
        guard let value = string(key) else { throw .missing(key) }
        return value
    }

    /// The attribute as a decimal integer; nil when unset or not a number.
    public func integer(_ key: String) -> Int? { string(key).flatMap { Int($0) } }
    /// The attribute as `true`/`false` (canonical text); nil when unset.
    public func boolean(_ key: String) -> Bool? { string(key).map { $0 == "true" } }
    /// Durations are stored as `<n>ms`.
    public func duration(_ key: String) -> Duration? {
        string(key).flatMap(Attribute.decodeDuration)
    }
    /// An argv attribute (a JSON array of strings).
    public func command(_ key: String) -> [String]? { string(key).flatMap(ArgvText.parse) }

    // MARK: Log and outcome

    /// Log lines go to stderr and syslog, prefixed with type, resource, action and level.
    public var log: Log { Log(host: host) }

    // MARK: Deadline

    /// Time left before the action's deadline.
    public var timeLeft: Duration { .milliseconds(host.pointee.time_left_ms(host.pointee.context)) }

    /// `limit`, cut to the time left (never below one millisecond).
    public func budget(_ limit: Duration) -> Duration {
        max(.milliseconds(1), min(limit, timeLeft))
    }

    // MARK: Commands

    /// Runs `argv` (no shell) in its own process group, killed at
    /// min(`timeout`, time left). `captureOutput` keeps stdout and stderr.
    public func run(_ argv: [String], timeout: Duration? = nil, captureOutput: Bool = false) -> CommandResult {
        let limit = timeout.map(budget) ?? timeLeft
        var status: Int32 = 0
        var length = 0
        var buffer = [CChar](repeating: 0, count: captureOutput ? 16384 : 0)
        let code = withCStrings(argv) { cArgv in
            buffer.withUnsafeMutableBufferPointer { out in
                host.pointee.spawn(host.pointee.context, cArgv, limit.milliseconds, &status,
                                   captureOutput ? out.baseAddress : nil, out.count, &length)
            }
        }
        let output = captureOutput
            ? String(decoding: buffer.prefix(min(length, buffer.count)).map { UInt8(bitPattern: $0) }, as: UTF8.self)
            : ""
        return CommandResult(code: code, status: status, output: output)
    }

    /// Polls `condition` every `interval` until it holds or `limit` (cut to
    /// the time left) has passed; returns its last answer. For what a start
    /// or stop waits for: a port that accepts, a process that is gone.
    public func waitUntil(within limit: Duration, every interval: Duration = .milliseconds(20),
                          _ condition: () -> Bool) -> Bool {
        let deadline = ProbeDeadline(after: min(limit, timeLeft))
        while !condition() {
            if deadline.hasPassed { return condition() }
            usleep(UInt32(clamping: max(0, interval.milliseconds) * 1000))
        }
        return true
    }

    // MARK: Processes (the host's one process matcher)

    /// The host's process checks and signals.
    public var processes: Processes { Processes(host: host) }

    // MARK: State kept between calls

    /// Per-resource state, kept under the host's state directory and written
    /// atomically; a write that fails says so (``State/store(_:for:)``).
    public var state: State { State(host: host) }

    // MARK: Companion objects

    /// Loads `<type>-<name>.so` beside the plugin (verified like a plugin)
    /// and returns its C function `symbol` as `type`. Keeps heavy client
    /// libraries off the cheap monitoring levels: they load only when the
    /// level that needs them runs.
    @available(*, deprecated, message: "declare a CompanionCall and use companion(_:): typed, and its signature is checked before load")
    public func companion<Function>(_ name: String, symbol: String, as type: Function.Type) -> Function? {
        guard let pointer = host.pointee.companion(host.pointee.context, name, symbol) else { return nil }
        return unsafeBitCast(pointer, to: Function.self)
    }
}

/// How a command run by ``Resource/run(_:timeout:captureOutput:)`` ended.
public struct CommandResult: Sendable {
    let code: Int32
    let status: Int32
    /// Standard output and error, when captured.
    public let output: String

    /// Exited with status 0.
    public var succeeded: Bool { code == Int32(FSHOST_SPAWN_EXITED) && status == 0 }
    /// The exit status, when it exited.
    public var exitStatus: Int32? { code == Int32(FSHOST_SPAWN_EXITED) ? status : nil }
    /// Killed at its timeout.
    public var timedOut: Bool { code == Int32(FSHOST_SPAWN_TIMED_OUT) }

    /// One line for a reason: "exited with status 1", "timed out", ….
    public var summary: String {
        switch code {
        case Int32(FSHOST_SPAWN_EXITED): return "exited with status \(status)"
        case Int32(FSHOST_SPAWN_SIGNALED): return "killed by signal \(status)"
        case Int32(FSHOST_SPAWN_TIMED_OUT): return "timed out"
        default: return "could not be started (errno \(status))"
        }
    }
}

/// Log lines through the host.
public struct Log {
    let host: UnsafePointer<fshost_host>
    func write(_ priority: Int32, _ message: String) { host.pointee.log(host.pointee.context, priority, message) }
    /// A line at priority error: stderr and syslog (`msg=` in the action's line).
    public func error(_ message: String) { write(Int32(FSHOST_LOG_ERROR), message) }
    /// A line at priority warning: stderr and syslog.
    public func warning(_ message: String) { write(Int32(FSHOST_LOG_WARNING), message) }
    /// A line at priority info: stderr and syslog.
    public func info(_ message: String) { write(Int32(FSHOST_LOG_INFO), message) }
    /// A line written only when `FSHOST_DEBUG` is set (stderr and syslog).
    public func debug(_ message: String) { write(Int32(FSHOST_LOG_DEBUG), message) }
}

extension Duration {
    /// Whole milliseconds (rounded down): what timeouts in the C ABI and in
    /// C libraries (curl, poll) take.
    public var milliseconds: Int64 {
        let (seconds, attoseconds) = components
        return seconds * 1000 + attoseconds / 1_000_000_000_000_000
    }
}

/// Calls `body` with a NULL-terminated C argv for `words`.
func withCStrings<R>(_ words: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>) -> R) -> R {
    let pointers = words.map { strdupOrAbort($0) }
    defer { pointers.forEach { free($0) } }
    var argv: [UnsafePointer<CChar>?] = pointers.map { UnsafePointer($0) } + [nil]
    return argv.withUnsafeMutableBufferPointer { body(UnsafePointer($0.baseAddress!)) }
}
