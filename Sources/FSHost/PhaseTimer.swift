import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// Where one call's time goes, for `FSHOST_TIMING=1`: microseconds per
/// phase (verify, load, cdb, action; a companion's first load splits the
/// action: `action …, companion …, action …`), logged with the outcome.
/// Off by default; when off, marking costs one branch.
enum PhaseTimer {
    nonisolated(unsafe) static var enabled = getenv("FSHOST_TIMING") != nil
    nonisolated(unsafe) private static var last = monotonicMicroseconds()
    nonisolated(unsafe) private static var phases: [(String, Int64)] = []

    /// Starts the clock (before the plugin is located), forgetting the
    /// phases of an action this process ran before (a pool worker's).
    static func begin() {
        guard enabled else { return }
        phases.removeAll(keepingCapacity: true)
        last = monotonicMicroseconds()
    }

    /// Ends the current phase, naming it. Main thread only (before and after
    /// the worker runs).
    static func mark(_ phase: String) {
        guard enabled else { return }
        let now = monotonicMicroseconds()
        phases.append((phase, now - last))
        last = now
    }

    /// `verify 180us, load 420us, …` (the log line's `timing="…"`), or nil when off.
    static var summary: String? {
        guard enabled else { return nil }
        return phases.map { "\($0.0) \($0.1)us" }.joined(separator: ", ")
    }
}
