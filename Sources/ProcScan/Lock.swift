#if canImport(Glibc)
import Glibc
#endif

/// A pthread mutex on the heap (a `pthread_mutex_t` must not move, so it is
/// never stored inline in a Swift value). Used for the few process-global
/// registries of this module; Foundation's `NSLock` is not available here.
final class ProcScanLock: @unchecked Sendable {
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}
