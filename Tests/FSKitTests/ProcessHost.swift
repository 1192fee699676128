import FSPluginABI
import ProcScan
import Spawn
#if canImport(Glibc)
import Glibc
#endif
@testable import FSKit

/// A host-services table for SDK tests of the daemon lifecycle, built from
/// the host's own parts: process questions and signals answered by ProcScan
/// (the host's one matcher, its pid + start-time guarded signals), commands
/// run by Spawn (argv, own process group, killed at the timeout), a real
/// deadline. Only what a daemon test does not need is left out (attributes,
/// companions); state is kept in memory, and a write can be made to fail.
/// One at a time (the C callbacks cannot capture, so its state is global).
enum ProcessHost {
    nonisolated(unsafe) static var logLines: [String] = []
    nonisolated(unsafe) static var state: [String: String] = [:]
    /// Every state write fails while set.
    nonisolated(unsafe) static var failStateWrites = false
    nonisolated(unsafe) static var deadline: Int64 = 0
    nonisolated(unsafe) static var table: UnsafeMutablePointer<fshost_host>?

    /// A `Resource` for one action that has `timeLeft`.
    static func resource(timeLeft: Duration) -> Resource {
        logLines = []
        deadline = nowMilliseconds() + timeLeft.milliseconds
        if table == nil {
            table = .allocate(capacity: 1)
            table!.initialize(to: makeTable())
        }
        return Resource(host: UnsafePointer(table!))
    }

    static func nowMilliseconds() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    private static func pattern(_ name: UnsafePointer<CChar>?, _ argument: UnsafePointer<CChar>?,
                                owner: Int64 = -1) -> ProcScan.ProcessPattern {
        var p = ProcScan.ProcessPattern.declared(name: name.map { String(cString: $0) }, argument: argument.map { String(cString: $0) })
        if owner >= 0 { p.uid = UInt32(owner) }
        return p
    }

    private static func makeTable() -> fshost_host {
        fshost_host(
            abi_version: FSHOST_ABI_VERSION, struct_size: UInt32(MemoryLayout<fshost_host>.size), context: nil,
            type_name: UnsafePointer(strdup("daemon-test")!), resource_name: UnsafePointer(strdup("r1")!),
            log: { _, _, message in ProcessHost.logLines.append(message.map { String(cString: $0) } ?? "") },
            set_reason: { _, _ in },
            attribute: { _, _ in nil },
            time_left_ms: { _ in ProcessHost.deadline - ProcessHost.nowMilliseconds() },
            state_get: { _, key, buffer, capacity, length in
                guard let key, let value = ProcessHost.state[String(cString: key)] else { return 1 }
                let bytes = Array(value.utf8)
                length?.pointee = bytes.count
                for i in 0..<min(capacity, bytes.count) { buffer?[i] = CChar(bitPattern: bytes[i]) }
                return 0
            },
            state_put: { _, key, value, length in
                guard let key, !ProcessHost.failStateWrites else { return -1 }
                ProcessHost.state[String(cString: key)] = value.map {
                    String(decoding: UnsafeRawBufferPointer(start: $0, count: length), as: UTF8.self)
                }
                return 0
            },
            spawn: { _, argv, timeout, status, output, capacity, length in
                guard let argv else { return Int32(FSHOST_SPAWN_FAILED) }
                var words: [String] = []
                var i = 0
                while let word = argv[i] { words.append(String(cString: word)); i += 1 }
                let left = ProcessHost.deadline - ProcessHost.nowMilliseconds()
                let result = spawn(words, timeoutMilliseconds: max(1, min(timeout, left)), captureOutput: output != nil,
                                   outputLimit: max(0, capacity))
                if let output {
                    for (j, b) in result.output.prefix(capacity).enumerated() { output[j] = CChar(bitPattern: b) }
                    length?.pointee = min(capacity, result.output.count)
                }
                switch result.termination {
                case .exited(let code): status?.pointee = code; return Int32(FSHOST_SPAWN_EXITED)
                case .signaled(let signal): status?.pointee = signal; return Int32(FSHOST_SPAWN_SIGNALED)
                case .timedOut: return Int32(FSHOST_SPAWN_TIMED_OUT)
                case .failed(let error): status?.pointee = error; return Int32(FSHOST_SPAWN_FAILED)
                }
            },
            process_count: { _, name, argument in
                Int32(ProcessTable().matching(ProcessHost.pattern(name, argument)).count)
            },
            process_signal: { _, name, argument, signal in
                let matches = ProcessTable().matching(ProcessHost.pattern(name, argument))
                return Int32(sendSignal(signal, to: matches).filter { $0.outcome == .delivered }.count)
            },
            process_alive: { _, pid, startTime in processAlive(pid: pid, startTime: startTime == 0 ? nil : startTime) ? 1 : 0 },
            process_start_time: { _, pid in processStartTime(pid: pid) ?? 0 },
            process_refresh: { _ in },
            companion: { _, _, _ in nil },
            process_matches: { _, pid, startTime, name, argument in
                ProcessHost.pattern(name, argument).matches(pid: pid, startTime: startTime == 0 ? nil : startTime) ? 1 : 0
            },
            group_members: { _, group, name, since, out, capacity in
                let members = ProcessTable.members(ofGroup: group, matching: name.map { _ in ProcessHost.pattern(name, nil) },
                                                   startedSince: since == 0 ? nil : since)
                for (i, m) in members.prefix(Int(capacity)).enumerated() { out?[i] = m.pid }
                return Int32(clamping: members.count)
            },
            signal_process: { _, pid, startTime, signal in
                switch signalProcess(pid: pid, startTime: startTime == 0 ? nil : startTime, signal: signal) {
                case .delivered: return 0
                case .gone: return 1
                default: return -1
                }
            },
            companion_call: { _, _, _ in nil },
            attribute_is_set: { _, _ in -1 },
            process_describe: { _, pid, out, capacity in
                guard pid > 0, let entry = ProcessEntry(pid: pid) else { return -1 }
                let text = Array(entry.description(limit: 160).utf8)
                if let out, capacity > 0 {
                    let n = min(Int(capacity) - 1, text.count)
                    for i in 0..<n { out[i] = CChar(bitPattern: text[i]) }
                    out[n] = 0
                }
                return Int32(clamping: text.count)
            },
            process_matches_owned: { _, pid, startTime, name, argument, owner in
                ProcessHost.pattern(name, argument, owner: owner)
                    .matches(pid: pid, startTime: startTime == 0 ? nil : startTime) ? 1 : 0
            },
            process_find: { _, name, argument, owner, out, capacity in
                let matches = ProcessTable().matching(ProcessHost.pattern(name, argument, owner: owner))
                for (i, m) in matches.prefix(Int(capacity)).enumerated() { out?[i] = m.pid }
                return Int32(clamping: matches.count)
            },
            shared_lock: { _, _, _ in -1 },
            action: UInt32(FSHOST_ACTION_VALIDATE), reserved_action: 0, state_put_unsynced: nil,
            process_state: { _, pid, startTime in
                guard pid > 0, let state = processState(pid: pid, startTime: startTime == 0 ? nil : startTime) else { return -1 }
                return Int32(state)
            })
    }
}
