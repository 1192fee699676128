import HAVocabulary
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

    /// A batch's pool worker has taken job `tag` (``BatchWorkers``): from
    /// here its end is that job's answer, not a job never begun.
    func began(job tag: Int) { progress.pointee.job = Int64(tag) + 1 }

    /// This worker ends after its answer (the action timed out, or a start
    /// left its daemon below it): a batch's pool gives it no other job.
    /// Written before the answer, which the supervisor reads after it.
    func retiring() { progress.pointee.retiring = 1 }

    /// Writes the answer whole (retrying short writes): the exit status
    /// and the `--json` line (nil without `--json`). A supervisor that is
    /// gone makes this a no-op (SIGPIPE is ignored in the worker).
    func answer(_ status: ExitStatus, json: String?) { answer(code: status.rawValue, json: json) }

    /// ``answer(_:json:)`` with any exit status (`fshost exec2` answers
    /// its command's own: 0–255).
    func answer(code: Int32, json: String?) {
        let bytes = WorkerAnswer(status: code, json: json).encoded
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
/// anonymous, mapped before the fork). Written by one process at a time:
/// the worker while it works, a batch's supervisor only while its pool
/// worker waits for its next job (``resetForNextJob()``, before it is sent).
struct WorkerProgress {
    /// CLOCK_MONOTONIC ms; 0 while unknown.
    var deadline: Int64 = 0
    var timeoutMilliseconds: Int64 = 0
    /// -1: not a monitor.
    var level: Int64 = -1
    /// 1 once plugin code may have run.
    var pluginCode: Int64 = 0
    /// A batch's pool worker: 1 + the tag of the job it has taken; 0: none
    /// taken since the supervisor sent one.
    var job: Int64 = 0
    /// 1: the worker exits after the answer it is about to give.
    var retiring: Int64 = 0

    /// The supervisor, before it sends a pool worker its next job: the
    /// deadline and level are the next job's, unknown yet. `pluginCode`
    /// stays: once plugin code has run in a process, its end may be the
    /// plugin's.
    mutating func resetForNextJob() {
        deadline = 0
        timeoutMilliseconds = 0
        level = -1
        job = 0
        retiring = 0
    }

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
/// the exit status (8 bytes) and the `--json` line (absent without
/// `--json`). The worker has already logged the outcome; the JSON line is
/// at most a few KiB (its reason is bounded by ``LogText``).
struct WorkerAnswer: Equatable {
    var status: Int32
    var json: String?

    var encoded: [UInt8] {
        var payload: [UInt8] = []
        for shift in stride(from: 0, to: 64, by: 8) { payload.append(UInt8(truncatingIfNeeded: Int64(status) >> Int64(shift))) }
        payload.append(json == nil ? 0 : 1)
        payload += Array((json ?? "").utf8)
        var out: [UInt8] = []
        let n = UInt32(payload.count)
        for shift in stride(from: 0, to: 32, by: 8) { out.append(UInt8(truncatingIfNeeded: n >> UInt32(shift))) }
        return out + payload
    }

    /// The bytes the answer at the front of `buffer` takes, once complete.
    static func length(_ buffer: [UInt8]) -> Int? {
        guard buffer.count >= 4 else { return nil }
        var n = 0
        for i in 0..<4 { n |= Int(buffer[i]) << (8 * i) }
        return buffer.count >= 4 + n ? 4 + n : nil
    }

    /// The answer at the front of `buffer` once it is complete; nil while
    /// it is not, or when it is malformed (the answer is then missing,
    /// which is a failure).
    static func decode(_ buffer: [UInt8]) -> WorkerAnswer? {
        guard buffer.count >= 4 else { return nil }
        var n = 0
        for i in 0..<4 { n |= Int(buffer[i]) << (8 * i) }
        guard n >= 9, buffer.count >= 4 + n else { return nil }
        var status: Int64 = 0
        for i in 0..<8 { status |= Int64(buffer[4 + i]) << Int64(8 * i) }
        let hasJSON = buffer[12]
        guard hasJSON <= 1 else { return nil }
        let json = hasJSON == 1 ? String(decoding: buffer[13..<(4 + n)], as: UTF8.self) : nil
        return WorkerAnswer(status: Int32(truncatingIfNeeded: status), json: json)
    }
}
