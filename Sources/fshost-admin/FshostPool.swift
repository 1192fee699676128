// Many fshost children at once, at most `limit` running: `fshost status`
// asks every resource's monitor, and a node with 200 resources must not
// fork 200 actions at once, nor wait for them one after the other.
// Everything runs on the main thread (spawn, poll, reap): the children's
// PR_SET_PDEATHSIG follows the thread that forked them (FshostChild), so a
// worker thread that ended would kill its children with it.
import CSystemShims
import Foundation
import HAVocabulary

extension FshostChild {
    /// One run to make: `executable ARGUMENTS…`.
    struct Job {
        var executable: String
        var arguments: [String]
    }

    /// A finished run of ``runAll(_:environment:limit:wake:)``.
    struct Finished {
        /// Its status and captured stdout (stderr goes to /dev/null).
        var outcome: Outcome
        /// Wall time from fork to reap, in milliseconds.
        var milliseconds: Int
    }

    /// Runs every job (stdout captured, stdin and stderr /dev/null), at most
    /// `limit` (≥ 1) at a time, and returns their results in `jobs`' order.
    /// Each child keeps its own lock, timeout and containment: they are
    /// whole `fshost` actions, which end at their own timeout.
    ///
    /// `wake`, when given, is a descriptor watched with the pipes: when it
    /// becomes readable (a signal handler wrote to it) the wait stops and
    /// nil is returned; the children still running are killed (SIGKILL,
    /// what they would get from PR_SET_PDEATHSIG anyway) and reaped.
    ///
    /// - Throws: the `errno` of a failed pipe or fork, as a POSIXError,
    ///   after killing and reaping what was started.
    static func runAll(_ jobs: [Job], environment: [String: String], limit: Int,
                       wake: Int32? = nil) throws -> [Finished]? {
        struct Running { var index: Int; var pid: pid_t; var fd: Int32; var output: Data; var started: Int64 }
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(null) }
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in envp { free(p) } }
        var results = [Finished?](repeating: nil, count: jobs.count)
        var running: [Running] = []
        var next = 0
        func stopAll() {
            for child in running {
                kill(child.pid, SIGKILL)
                close(child.fd)
                var status: Int32 = 0
                while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
            }
            running.removeAll()
        }
        func now() -> Int64 { monotonicNanoseconds() }
        var buffer = [UInt8](repeating: 0, count: 8192)
        while next < jobs.count || !running.isEmpty {
            while next < jobs.count && running.count < max(1, limit) {
                let job = jobs[next]
                var fds: [Int32] = [-1, -1]
                guard csys_pipe_cloexec(&fds) == 0 else {
                    let code = errno
                    stopAll()
                    throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
                }
                let argv = ([job.executable] + job.arguments).map { strdup($0) } + [nil]
                let started = now()
                let pid = csys_spawn_dying_with_parent(job.executable, argv, envp, null, fds[1], null)
                let spawnError = errno
                for p in argv { free(p) }
                close(fds[1])
                guard pid > 0 else {
                    close(fds[0])
                    stopAll()
                    throw POSIXError(POSIXErrorCode(rawValue: spawnError) ?? .EIO)
                }
                running.append(Running(index: next, pid: pid, fd: fds[0], output: Data(), started: started))
                next += 1
            }
            var polled = running.map { pollfd(fd: $0.fd, events: Int16(POLLIN), revents: 0) }
            if let wake { polled.append(pollfd(fd: wake, events: Int16(POLLIN), revents: 0)) }
            if poll(&polled, nfds_t(polled.count), -1) < 0 {
                if errno == EINTR { continue }
                let code = errno
                stopAll()
                throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
            }
            if wake != nil, polled.last!.revents != 0 {
                stopAll()
                return nil
            }
            var ended: [Int] = []
            for (slot, entry) in polled.prefix(running.count).enumerated() where entry.revents != 0 {
                let n = read(running[slot].fd, &buffer, buffer.count)
                if n > 0 {
                    // Bounded: a monitor's one JSON line is small; a
                    // runaway child cannot grow this without limit.
                    if running[slot].output.count < 1 << 20 { running[slot].output.append(contentsOf: buffer[0..<n]) }
                } else if n == 0 || errno != EINTR {
                    ended.append(slot)
                }
            }
            for slot in ended.reversed() {
                let child = running.remove(at: slot)
                close(child.fd)
                var status: Int32 = 0
                while waitpid(child.pid, &status, 0) < 0 && errno == EINTR {}
                let exited = status & 0x7F == 0
                results[child.index] = Finished(
                    outcome: Outcome(status: exited ? (status >> 8) & 0xFF : nil, output: child.output),
                    milliseconds: Int((now() - child.started) / 1_000_000))
            }
        }
        return results.map { $0! }
    }
}
