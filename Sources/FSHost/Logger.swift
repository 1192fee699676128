import CSystemShims
import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// Log lines to stderr and syslog (facility daemon, ident `fshost`). An
/// action's lines start with its ``LogFields`` (`type= resource= action=
/// level=`), then `msg=` and the message; its final line carries `status=
/// ms=` and the reason last (ActionRunner's report).
public struct Logger: Sendable {
    /// An action's `type=webserver resource=web1 action=monitor level=3`, or
    /// a free word (`batch`, `ocf`), or empty.
    public var prefix: String
    /// What joins the prefix and a message: `": "` after a free word,
    /// `" msg="` after an action's fields.
    public var separator = ": "
    /// Debug lines are written only when `FSHOST_DEBUG` is set.
    public var debug: Bool
    /// Values of the resource's secret attributes: written as `(secret)`
    /// in every line (see `SecretRedaction.swift`).
    public var secrets: [String] = []

    public init(prefix: String) {
        self.prefix = prefix
        self.debug = getenv("FSHOST_DEBUG") != nil
    }

    /// The logger of one action: its lines start with ``LogFields/action(type:resource:action:level:)``.
    public static func action(type: String, resource: String, action: String, level: UInt32? = nil) -> Logger {
        var logger = Logger(prefix: LogFields.action(type: type, resource: resource, action: action, level: level))
        logger.separator = " msg="
        return logger
    }

    /// A line of `key=value` fields right after the prefix (no `msg=`): the
    /// action's final line. Redacted, escaped and bounded like any line.
    public func logFields(_ priority: Int32, _ fields: String, syslog: Bool = true) {
        emit(priority, prefix.isEmpty ? redacted(fields) : prefix + " " + redacted(fields), syslog: syslog)
    }

    public func log(_ priority: Int32, _ message: String) {
        log(priority, message, syslog: true)
    }

    /// `syslog: false` keeps a line on stderr only: the routine "healthy"
    /// answer of a monitor that runs every few seconds would drown the lines
    /// an operator needs in the system log.
    public func log(_ priority: Int32, _ message: String, syslog: Bool) {
        emit(priority, prefix.isEmpty ? redacted(message) : prefix + separator + redacted(message), syslog: syslog)
    }

    private func emit(_ priority: Int32, _ text: String, syslog: Bool) {
        if priority == Int32(LOG_DEBUG) && !debug { return }
        // Secrets replaced (by the callers: the message, never the prefix),
        // then escaped and bounded (LogText): one event is one line,
        // whatever the message holds.
        let line = LogText.line(text)
        Logger.writeStderr("fshost: " + line + "\n")
        if syslog { Logger.openSyslog(); csys_syslog(priority, line) }
    }

    public func error(_ message: String) { log(Int32(LOG_ERR), message) }
    public func warning(_ message: String) { log(Int32(LOG_WARNING), message) }
    public func info(_ message: String) { log(Int32(LOG_INFO), message) }

    nonisolated(unsafe) private static var syslogOpen = false
    /// openlog keeps the ident's pointer for every later syslog call (glibc
    /// does not copy it): a Swift string argument is a temporary buffer,
    /// freed after the call, and later lines went out under garbage. This
    /// one lives as long as the process.
    nonisolated(unsafe) private static let syslogIdent: UnsafeMutablePointer<CChar> = strdup("fshost")!

    /// openlog once; syslog itself connects on the first line. A race
    /// between the worker and the main thread only calls openlog twice
    /// with the same arguments.
    private static func openSyslog() {
        if !syslogOpen {
            openlog(syslogIdent, LOG_PID, LOG_DAEMON)
            syslogOpen = true
        }
    }

    /// One write(2): lines from the worker and the watchdog never interleave.
    package static func writeStderr(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(2, $0.baseAddress, $0.count) }
    }

    package static func writeStdout(_ text: String) {
        var text = text
        text.withUTF8 { _ = write(1, $0.baseAddress, $0.count) }
    }
}
