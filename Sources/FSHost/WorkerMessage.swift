#if canImport(Glibc)
import Glibc
#endif

/// What the worker process tells the supervisor over their pipe: a tag
/// byte, a 4-byte little-endian payload length, the payload. Small records
/// (a result is at most a few KiB: its reason is cut to
/// ``WorkerMessage/reasonShipLimit`` bytes, with the original size
/// attached so the log counts the cut right).
enum WorkerMessage: Equatable {
    /// The action's settings are known: its deadline (CLOCK_MONOTONIC ms),
    /// the timeout it came from (for the message if the supervisor must
    /// enforce it), and the monitoring level (-1: not a monitor).
    case deadline(at: Int64, timeoutMilliseconds: Int64, level: Int32)
    /// Plugin code may run from now on (the plugin is about to be loaded):
    /// a worker that dies after this is blamed on the plugin.
    case pluginCode
    /// The answer. `reason` is at most ``reasonShipLimit`` bytes of a
    /// reason of `reasonBytes` bytes.
    case result(status: Int32, level: Int32, reason: String?, reasonBytes: Int, timing: String?)

    /// Reason bytes shipped: more than ``LogText/reasonLimit`` (what is
    /// finally kept), never the whole of a 10 MB reason.
    static let reasonShipLimit = 2048

    /// A result record from an action's outcome.
    static func result(_ result: ActionResult, level: UInt32?, timing: String?) -> WorkerMessage {
        var reason = result.reason
        let bytes = reason?.utf8.count ?? 0
        if let text = reason, bytes > reasonShipLimit {
            reason = String(decoding: text.utf8.prefix(reasonShipLimit), as: UTF8.self)
        }
        return .result(status: result.status.rawValue, level: level.map { Int32(bitPattern: $0) } ?? -1,
                       reason: reason, reasonBytes: bytes, timing: timing)
    }

    var encoded: [UInt8] {
        var payload: [UInt8] = []
        let tag: UInt8
        switch self {
        case .deadline(let at, let timeout, let level):
            tag = UInt8(ascii: "D")
            put(at, into: &payload); put(timeout, into: &payload); put(Int64(level), into: &payload)
        case .pluginCode:
            tag = UInt8(ascii: "L")
        case .result(let status, let level, let reason, let reasonBytes, let timing):
            tag = UInt8(ascii: "R")
            put(Int64(status), into: &payload); put(Int64(level), into: &payload)
            put(reason == nil ? -1 : Int64(reasonBytes), into: &payload)
            let reasonUTF8 = Array((reason ?? "").utf8)
            put(Int64(reasonUTF8.count), into: &payload)
            payload += reasonUTF8
            payload += Array((timing ?? "").utf8)
        }
        var out: [UInt8] = [tag]
        let n = UInt32(payload.count)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: n >> UInt32(shift))) }
        return out + payload
    }

    /// Decodes every complete message at the front of `buffer` and removes
    /// them; an unknown tag or a malformed record ends decoding (the rest is
    /// dropped: the worker's answer is then missing, which is a failure).
    static func decode(_ buffer: inout [UInt8]) -> [WorkerMessage] {
        var messages: [WorkerMessage] = []
        while buffer.count >= 5 {
            var n = 0
            for i in 0..<4 { n |= Int(buffer[1 + i]) << (8 * i) }
            guard buffer.count >= 5 + n else { break }
            let payload = Array(buffer[5..<(5 + n)])
            let tag = buffer[0]
            buffer.removeFirst(5 + n)
            var reader = Reader(bytes: payload)
            switch tag {
            case UInt8(ascii: "D"):
                guard let at = reader.int(), let timeout = reader.int(), let level = reader.int() else {
                    buffer = []; return messages
                }
                messages.append(.deadline(at: at, timeoutMilliseconds: timeout, level: Int32(truncatingIfNeeded: level)))
            case UInt8(ascii: "L"):
                messages.append(.pluginCode)
            case UInt8(ascii: "R"):
                guard let status = reader.int(), let level = reader.int(), let total = reader.int(),
                      let length = reader.int(), length >= 0, let reasonBytes = reader.bytes(Int(length)) else {
                    buffer = []; return messages
                }
                let timing = reader.rest
                messages.append(.result(status: Int32(truncatingIfNeeded: status), level: Int32(truncatingIfNeeded: level),
                                        reason: total < 0 ? nil : String(decoding: reasonBytes, as: UTF8.self),
                                        reasonBytes: Int(max(0, total)),
                                        timing: timing.isEmpty ? nil : String(decoding: timing, as: UTF8.self)))
            default:
                buffer = []
                return messages
            }
        }
        return messages
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

/// The worker's end of the pipe to the supervisor.
struct WorkerChannel: Sendable {
    let fd: Int32

    /// Writes one message whole (retrying short writes). A supervisor that
    /// is gone makes this a no-op (SIGPIPE is ignored in the worker).
    func send(_ message: WorkerMessage) {
        let bytes = message.encoded
        bytes.withUnsafeBytes { raw in
            var done = 0
            while done < raw.count {
                let n = write(fd, raw.baseAddress! + done, raw.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { return }
            }
        }
    }
}
