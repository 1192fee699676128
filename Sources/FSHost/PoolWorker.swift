import HAVocabulary
import PluginLoading
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// A FailSafe batch's pool worker: a fork of the batch (``BatchWorkers``)
/// that loads the plugin once and runs the batch's resources one after
/// another, each told over its job pipe, as one FailSafe action script
/// process handled every resource of its call. Each job is exactly the
/// worker of `fshost <type> <action> <resource>`
/// (``ActionRunner/perform(_:channel:started:pool:)``): its own lock,
/// deadline and watchdog, its commands killed before it answers.
///
/// The worker ends (and takes no further job) when the job pipe reaches
/// its end (no job left, or the batch is gone), and after an answer it
/// marked as its last (``WorkerChannel/retiring()``): a timed-out action
/// (its thread is abandoned in plugin code, holding its lock) and a start
/// or restart that left its daemon below this process (a later job's
/// clean-up would kill it), and a job that left the worker's namespaces or
/// working directory changed (``WorkerSurroundings``).
final class PoolWorker {
    /// The plugin the first job loaded; it serves the next ones.
    var plugin: LoadedPlugin?
    /// The worker's namespaces and working directory before its first job:
    /// a job that leaves them changed is this worker's last.
    let surroundings = WorkerSurroundings.current()

    /// One job on the pipe: the index of the job in the batch's list (both
    /// processes hold that list: the worker is a fork of the batch) and
    /// when the batch gave it (``Deadline/now()`` ms; the action's timeout
    /// counts from then). 16 bytes, little-endian: one atomic pipe write.
    struct Job: Equatable {
        var index: Int
        var started: Int64

        var encoded: [UInt8] {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16)
            for value in [Int64(index), started] {
                for shift in stride(from: 0, to: 64, by: 8) { bytes.append(UInt8(truncatingIfNeeded: value >> Int64(shift))) }
            }
            return bytes
        }

        /// The job in `bytes` (16 of them), or nil.
        static func decode(_ bytes: [UInt8]) -> Job? {
            guard bytes.count == 16 else { return nil }
            var values: [Int64] = [0, 0]
            for i in 0..<16 { values[i / 8] |= Int64(bytes[i]) << Int64(8 * (i % 8)) }
            guard values[0] >= 0, values[0] <= Int64(Int32.max) else { return nil }
            return Job(index: Int(values[0]), started: values[1])
        }
    }

    /// The worker's loop, in the forked child; never returns. `requests`:
    /// the batch's jobs (the same list the batch indexes); `jobs`: the read
    /// end of the job pipe.
    static func run(runner: ActionRunner, requests: [ActionRequest], jobs: Int32, channel: WorkerChannel) -> Never {
        let pool = PoolWorker()
        while let job = next(jobs), job.index < requests.count {
            channel.began(job: job.index)
            runner.perform(requests[job.index], channel: channel, started: job.started, pool: pool)
            if channel.progress.pointee.retiring != 0 { Supervisor.afterAnswer() }
            // The job's groups were killed and its leftovers reaped before
            // it answered: the next job's commands start from none.
            ProcessGroups.reopen()
        }
        _exit(0)
    }

    /// Blocks for the next job; nil at the pipe's end (the batch closed it,
    /// or is gone) or on a malformed one.
    static func next(_ fd: Int32) -> Job? {
        var bytes = [UInt8](repeating: 0, count: 16)
        var got = 0
        while got < 16 {
            let n = bytes.withUnsafeMutableBytes { read(fd, $0.baseAddress! + got, 16 - got) }
            if n > 0 { got += n } else if n < 0 && errno == EINTR { continue } else { return nil }
        }
        return Job.decode(bytes)
    }
}
