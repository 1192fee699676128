#if canImport(Glibc)
import Glibc
#endif

/// How the worker process tells the supervisor what it needs to know.
///
/// - Progress (the deadline once known, "plugin code may run from now
///   on") goes into a page shared across the fork (``WorkerProgress``):
///   plain stores, so the supervisor is not woken for it. It reads the
///   page when it wakes for another reason (the answer, the worker's end,
///   a signal, a periodic check).
/// - The answer (``WorkerAnswer``) goes over a pipe and wakes it: one
///   wake-up per call.
struct WorkerChannel {
    /// The worker's end of the answer pipe.
    let fd: Int32
    let progress: UnsafeMutablePointer<WorkerProgress>

    /// The action's settings are known: its deadline (CLOCK_MONOTONIC ms),
    /// the timeout it came from (for the message if the supervisor must
    /// enforce it), and the monitoring level (nil: not a monitor).
    func deadlineKnown(at: Int64, timeoutMilliseconds: Int64, level: UInt32?) {
        progress.pointee.timeoutMilliseconds = timeoutMilliseconds
        progress.pointee.level = level.map { Int64($0) } ?? -1
        progress.pointee.deadline = at
    }

    /// Plugin code may run from now on (the plugin is about to be loaded):
    /// a worker that dies after this is blamed on the plugin.
    func pluginCodeRuns() { progress.pointee.pluginCode = 1 }

    /// Writes the answer whole (retrying short writes). A supervisor that
    /// is gone makes this a no-op (SIGPIPE is ignored in the worker).
    func answer(_ result: ActionResult, level: UInt32?, timing: String?) {
        let bytes = WorkerAnswer(result, level: level, timing: timing).encoded
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}

/// The page the worker writes and the supervisor reads (MAP_SHARED,
/// anonymous, mapped before the fork). Written by one process only.
struct WorkerProgress {
    /// CLOCK_MONOTONIC ms; 0 while unknown.
    var deadline: Int64 = 0
    var timeoutMilliseconds: Int64 = 0
    /// -1: not a monitor.
    var level: Int64 = -1
    /// 1 once plugin code may have run.
    var pluginCode: Int64 = 0

    /// A fresh shared page, or nil (mmap failed).
    static func map() -> UnsafeMutablePointer<WorkerProgress>? {
        let size = MemoryLayout<WorkerProgress>.size
        guard let raw = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0),
              raw != MAP_FAILED else { return nil }
        let page = raw.bindMemory(to: WorkerProgress.self, capacity: 1)
        page.initialize(to: WorkerProgress())
        return page
    }
}

/// The worker's answer on the pipe: a 4-byte little-endian length, then
/// status, level (-1: none), the reason's size in bytes (-1: no reason),
/// the shipped reason's length and bytes, and the timing summary. The
/// reason is cut to ``reasonShipLimit`` bytes, with the original size
/// attached so the log counts the cut right.
struct WorkerAnswer: Equatable {
    var status: Int32
    var level: Int32
    var reason: String?
    var reasonBytes: Int
    var timing: String?

    /// Reason bytes shipped: more than ``LogText/reasonLimit`` (what is
    /// finally kept), never the whole of a 10 MB reason.
    static let reasonShipLimit = 2048

    init(status: Int32, level: Int32, reason: String?, reasonBytes: Int, timing: String?) {
        self.status = status
        self.level = level
        self.reason = reason
        self.reasonBytes = reasonBytes
        self.timing = timing
    }

    init(_ result: ActionResult, level: UInt32?, timing: String?) {
        var reason = result.reason
        let bytes = reason?.utf8.count ?? 0
        if let text = reason, bytes > WorkerAnswer.reasonShipLimit {
            reason = String(decoding: text.utf8.prefix(WorkerAnswer.reasonShipLimit), as: UTF8.self)
        }
        self.init(status: result.status.rawValue, level: level.map { Int32(bitPattern: $0) } ?? -1,
                  reason: reason, reasonBytes: bytes, timing: timing)
    }

    /// The action's result as the supervisor reports it.
    var result: ActionResult {
        ActionResult(status: ExitStatus(rawValue: status) ?? .commandFailed, reason: reason,
                     reasonBytes: reason.map { $0.utf8.count < reasonBytes ? reasonBytes : nil } ?? nil)
    }

    var encoded: [UInt8] {
        var payload: [UInt8] = []
        put(Int64(status), into: &payload)
        put(Int64(level), into: &payload)
        put(reason == nil ? -1 : Int64(reasonBytes), into: &payload)
        let reasonUTF8 = Array((reason ?? "").utf8)
        put(Int64(reasonUTF8.count), into: &payload)
        payload += reasonUTF8
        payload += Array((timing ?? "").utf8)
        var out: [UInt8] = []
        let n = UInt32(payload.count)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: n >> UInt32(shift))) }
        return out + payload
    }

    /// The answer at the front of `buffer` once it is complete; nil while
    /// it is not (or when it is malformed: the answer is then missing,
    /// which is a failure).
    static func decode(_ buffer: [UInt8]) -> WorkerAnswer? {
        guard buffer.count >= 4 else { return nil }
        var n = 0
        for i in 0..<4 { n |= Int(buffer[i]) << (8 * i) }
        guard buffer.count >= 4 + n else { return nil }
        var reader = Reader(bytes: Array(buffer[4..<(4 + n)]))
        guard let status = reader.int(), let level = reader.int(), let total = reader.int(),
              let length = reader.int(), length >= 0, let reasonBytes = reader.bytes(Int(length)) else { return nil }
        let timing = reader.rest
        return WorkerAnswer(status: Int32(truncatingIfNeeded: status), level: Int32(truncatingIfNeeded: level),
                            reason: total < 0 ? nil : String(decoding: reasonBytes, as: UTF8.self),
                            reasonBytes: Int(max(0, total)),
                            timing: timing.isEmpty ? nil : String(decoding: timing, as: UTF8.self))
    }

    private func put(_ value: Int64, into bytes: inout [UInt8]) {
        for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> Int64(shift))) }
    }

    private struct Reader {
        let bytes: [UInt8]
        var at = 0
        mutating func int() -> Int64? {
            guard at + 8 <= bytes.count else { return nil }
            var value: Int64 = 0
            for i in 0..<8 { value |= Int64(bytes[at + i]) << Int64(8 * i) }
            at += 8
            return value
        }
        mutating func bytes(_ n: Int) -> ArraySlice<UInt8>? {
            guard n <= bytes.count - at else { return nil }
            defer { at += n }
            return bytes[at..<(at + n)]
        }
        var rest: ArraySlice<UInt8> { bytes[at...] }
    }
}
