import FSPluginABI
#if canImport(Glibc)
import Glibc
#endif
@testable import FSKit

/// A host-services table for SDK unit tests, without a host: attributes
/// from a dictionary, log lines and the reason kept for the test to read,
/// no processes, no companions. One at a time (the SDK's C callbacks
/// cannot capture, so its state is global).
enum FakeHost {
    nonisolated(unsafe) static var values: [String: UnsafeMutablePointer<CChar>] = [:]
    nonisolated(unsafe) static var logLines: [String] = []
    nonisolated(unsafe) static var reason: String?
    /// Names `attribute_is_set` reports as set in the CDB (nil: the host cannot tell).
    nonisolated(unsafe) static var explicit: Set<String>?
    nonisolated(unsafe) static var table: UnsafeMutablePointer<fshost_host>?

    /// A `Resource` whose attributes (canonical text, as the host hands
    /// them over) are `attributes`.
    static func resource(_ attributes: [String: String]) -> Resource {
        values.values.forEach { free($0) }
        values = attributes.mapValues { strdup($0)! }
        explicit = nil
        logLines = []
        reason = nil
        if table == nil {
            table = .allocate(capacity: 1)
            table!.initialize(to: makeTable())
        }
        return Resource(host: UnsafePointer(table!))
    }

    private static func makeTable() -> fshost_host {
        fshost_host(
            abi_version: FSHOST_ABI_VERSION, struct_size: UInt32(MemoryLayout<fshost_host>.size), context: nil,
            type_name: UnsafePointer(strdup("fake")!), resource_name: UnsafePointer(strdup("r1")!),
            log: { _, _, message in FakeHost.logLines.append(message.map { String(cString: $0) } ?? "") },
            set_reason: { _, reason in FakeHost.reason = reason.map { String(cString: $0) } },
            attribute: { _, name in
                guard let name else { return nil }
                return FakeHost.values[String(cString: name)].map { UnsafePointer($0) }
            },
            time_left_ms: { _ in 10_000 },
            state_get: { _, _, _, _, _ in 1 },
            state_put: { _, _, _, _ in 0 },
            spawn: { _, _, _, status, _, _, length in
                status?.pointee = 0
                length?.pointee = 0
                return Int32(FSHOST_SPAWN_EXITED)
            },
            process_count: { _, _, _ in 0 },
            process_signal: { _, _, _, _ in 0 },
            process_alive: { _, _, _ in 0 },
            process_start_time: { _, _ in 0 },
            process_refresh: { _ in },
            companion: { _, _, _ in nil },
            process_matches: { _, _, _, _, _ in 0 },
            group_members: { _, _, _, _, _, _ in 0 },
            signal_process: { _, _, _, _ in 1 },
            companion_call: { _, _, _ in nil },
            attribute_is_set: { _, name in
                guard let name else { return -1 }
                return FakeHost.explicit.map { $0.contains(String(cString: name)) ? 1 : 0 } ?? -1
            },
            process_describe: { _, _, _, _ in -1 },
            process_matches_owned: { _, _, _, _, _, _ in 0 },
            process_find: { _, _, _, _, _, _ in 0 },
            shared_lock: { _, _, _ in -1 },
            action: UInt32(FSHOST_ACTION_VALIDATE), reserved_action: 0, state_put_unsynced: nil,
            process_state: nil)
    }
}
