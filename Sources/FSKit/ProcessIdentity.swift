/// A process as it ran when it was last seen well: pid and start time
/// (clock ticks since boot, field 22 of `/proc/PID/stat`). Kept in the
/// resource's state after a start, it is the exact pid-reuse guard for the
/// pid a pidfile names later, and the hint that lets the host check that
/// pid directly instead of scanning /proc.
public struct ProcessIdentity: Sendable, Equatable, Hashable {
    /// The process id.
    public var pid: Int32
    /// 0 means unknown: the host then checks the pid without its start time.
    public var startTime: UInt64

    /// An identity; `startTime` in clock ticks since boot, 0 when unknown.
    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// `"<pid> <start time>"`, the form kept in state.
    public var text: String { "\(pid) \(startTime)" }

    /// Parses ``text``; nil for anything else.
    public init?(text: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 2, let pid = Int32(parts[0]), let start = UInt64(parts[1]), pid > 0 else { return nil }
        self.init(pid: pid, startTime: start)
    }
}
