#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A value behind a `pthread_mutex_t`: what the host's modules use instead
/// of the standard library's `Mutex` and `Atomic`, whose module
/// (libswiftSynchronization) would be one more library for every action
/// call to load (~0.07 ms; ../shared/PERF-FLOOR.md). Uncontended, a lock and
/// an unlock cost tens of nanoseconds, which none of its users notice.
public final class Locked<Value>: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private var value: Value

    public init(_ value: Value) {
        self.value = value
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` with the value, holding the lock.
    public func withLock<Result>(_ body: (inout Value) throws -> Result) rethrows -> Result {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body(&value)
    }

    /// The value now.
    public func load() -> Value { withLock { $0 } }

    /// Replaces the value.
    public func store(_ newValue: Value) { withLock { $0 = newValue } }
}
