import CSystemShims
import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// Log lines to stderr and syslog (facility daemon, ident `fshost`). Each
/// line names type, resource, action and level; the final line the outcome.
public struct Logger: Sendable {
    /// `webserver/web1 monitor level=3`
    public var prefix: String
    /// Debug lines are written only when `FSHOST_DEBUG` is set.
    public var debug: Bool
    /// Values of the resource's secret attributes: written as `(secret)`
    /// in every line (see `SecretRedaction.swift`).
    public var secrets: [String] = []

    public init(prefix: String) {
        self.prefix = prefix
        self.debug = getenv("FSHOST_DEBUG") != nil
    }

    public func log(_ priority: Int32, _ message: String) {
        log(priority, message, syslog: true)
    }

    /// `syslog: false` keeps a line on stderr only: the routine "healthy"
    /// answer of a monitor that runs every few seconds would drown the lines
    /// an operator needs in the system log.
    public func log(_ priority: Int32, _ message: String, syslog: Bool) {
        if priority == Int32(LOG_DEBUG) && !debug { return }
        // Secrets replaced, then escaped and bounded (LogText): one event is
        // one line, whatever the message holds.
        let message = redacted(message)
        let line = LogText.line(prefix.isEmpty ? message : prefix + ": " + message)
        Logger.writeStderr("fshost: " + line + "\n")
        if syslog { Logger.openSyslog(); csys_syslog(priority, line) }
    }

    public func error(_ message: String) { log(Int32(LOG_ERR), message) }
    public func warning(_ message: String) { log(Int32(LOG_WARNING), message) }
    public func info(_ message: String) { log(Int32(LOG_INFO), message) }

    nonisolated(unsafe) private static var syslogOpen = false

    /// openlog once; syslog itself connects on the first line. A race
    /// between the worker and the main thread only calls openlog twice
    /// with the same arguments.
    private static func openSyslog() {
        if !syslogOpen {
            openlog("fshost", LOG_PID, LOG_DAEMON)
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
