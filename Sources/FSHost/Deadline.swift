#if canImport(Glibc)
import Glibc
#endif

/// A point on the monotonic clock by which an action must be done.
struct Deadline: Sendable {
    /// Milliseconds on CLOCK_MONOTONIC.
    let at: Int64

    /// `milliseconds` after `start`. Saturating: durations are bounded to
    /// 24 h where they are read (``DurationText``), but a deadline never
    /// traps on overflow whatever it is given; it is then simply never reached.
    init(after milliseconds: Int64, from start: Int64 = Deadline.now()) {
        let (sum, overflow) = start.addingReportingOverflow(milliseconds)
        at = overflow ? (milliseconds < 0 ? .min : .max) : sum
    }

    static func now() -> Int64 { monotonicMicroseconds() / 1000 }

    var millisecondsLeft: Int64 {
        let (left, overflow) = at.subtractingReportingOverflow(Deadline.now())
        return overflow ? (at < 0 ? .min : .max) : left
    }
    var hasPassed: Bool { millisecondsLeft <= 0 }
}

/// CLOCK_MONOTONIC in microseconds: the one clock of the host (deadlines,
/// phase timings, exec2's scan statistics).
func monotonicMicroseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000 + Int64(ts.tv_nsec) / 1000
}

/// Sleeps `milliseconds` (restarting after signals).
func sleepMilliseconds(_ milliseconds: Int64) {
    guard milliseconds > 0 else { return }
    var request = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
