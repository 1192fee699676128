/// A point on the monotonic clock (``monotonicMilliseconds()``) by which an
/// action must be done.
public struct Deadline: Sendable {
    /// Milliseconds on CLOCK_MONOTONIC.
    public let at: Int64

    /// `milliseconds` after `start`. Saturating: durations are bounded to
    /// 24 h where they are read (``DurationText``), but a deadline never
    /// traps on overflow whatever it is given; it is then simply never reached.
    public init(after milliseconds: Int64, from start: Int64 = Deadline.now()) {
        let (sum, overflow) = start.addingReportingOverflow(milliseconds)
        at = overflow ? (milliseconds < 0 ? .min : .max) : sum
    }

    /// Now, in milliseconds on CLOCK_MONOTONIC.
    public static func now() -> Int64 { monotonicMilliseconds() }

    public var millisecondsLeft: Int64 {
        let (left, overflow) = at.subtractingReportingOverflow(Deadline.now())
        return overflow ? (at < 0 ? .min : .max) : left
    }
    public var hasPassed: Bool { millisecondsLeft <= 0 }
}
