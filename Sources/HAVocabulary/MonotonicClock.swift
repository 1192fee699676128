#if canImport(Glibc)
import Glibc
#endif

// The one clock of fshost: CLOCK_MONOTONIC (never steps with the wall
// clock), read by deadlines, spawn's timeouts, phase timings, exec2's scan
// statistics and the SDK's probe deadlines.

/// CLOCK_MONOTONIC in nanoseconds.
public func monotonicNanoseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
}

/// CLOCK_MONOTONIC in microseconds.
public func monotonicMicroseconds() -> Int64 { monotonicNanoseconds() / 1000 }

/// CLOCK_MONOTONIC in milliseconds.
public func monotonicMilliseconds() -> Int64 { monotonicNanoseconds() / 1_000_000 }

/// Sleeps `milliseconds` (nanosleep, resumed after signals); nothing for 0
/// or less.
public func sleepMilliseconds(_ milliseconds: Int64) {
    guard milliseconds > 0 else { return }
    var request = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}
