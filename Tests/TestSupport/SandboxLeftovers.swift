import Foundation

/// The sandbox directories still on disk, removed when the test process
/// exits. XCTest keeps every test case object (and so a sandbox held in a
/// property) alive until the end of the run, and ends the process without
/// releasing them: a sandbox's `deinit` alone left its directory in /tmp.
enum SandboxLeftovers {
    private static let lock = NSLock()
    nonisolated(unsafe) private static var paths: Set<String> = []
    nonisolated(unsafe) private static var installed = false

    static func remember(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.insert(path)
        if !installed {
            installed = true
            atexit { SandboxLeftovers.removeAll() }
        }
    }

    static func forget(_ path: String) {
        lock.lock(); defer { lock.unlock() }
        paths.remove(path)
    }

    private static func removeAll() {
        lock.lock(); let left = paths; paths = []; lock.unlock()
        for path in left { try? FileManager.default.removeItem(atPath: path) }
    }
}
