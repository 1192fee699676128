// The fshost processes the admin tool runs (`exclusive` before a delete,
// the steps of `verify`) die with it: the cluster manager or an operator
// that kills the admin tool must not leave an fshost action running, holding
// a resource's lock or starting a daemon nobody asked for any more.
import CSystemShims
import Foundation

enum FshostChild {
    /// How one run ended.
    struct Outcome {
        /// The exit status, or nil when a signal ended it.
        var status: Int32?
        /// What it wrote on stdout (empty unless captured).
        var output: Data
    }

    /// Runs `executable ARGUMENTS…` with `environment`, stdin from
    /// /dev/null, stderr to /dev/null unless `keepStandardError`, stdout
    /// captured or inherited, and waits for it.
    ///
    /// The child has `PR_SET_PDEATHSIG` = SIGKILL (``csys_spawn_dying_with_parent``):
    /// when the admin tool ends, however (SIGKILL included), so does the
    /// fshost it runs, and that fshost's worker sees its lifeline hang up
    /// and kills every command of the action (``Supervisor``). Call from the
    /// main thread: the signal follows the thread that forked, not the
    /// process.
    ///
    /// - Throws: the `errno` of a failed pipe, open or fork, as a POSIXError.
    static func run(_ executable: String, _ arguments: [String], environment: [String: String],
                    captureOutput: Bool, keepStandardError: Bool = false) throws -> Outcome {
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        guard null >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        defer { close(null) }
        var fds: [Int32] = [-1, -1]
        if captureOutput {
            guard csys_pipe_cloexec(&fds) == 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        let envp = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer { for p in argv + envp { free(p) } }
        let pid = csys_spawn_dying_with_parent(executable, argv, envp, null, captureOutput ? fds[1] : -1,
                                               keepStandardError ? -1 : null)
        let spawnError = errno
        if captureOutput { close(fds[1]) }
        guard pid > 0 else {
            if captureOutput { close(fds[0]) }
            throw POSIXError(POSIXErrorCode(rawValue: spawnError) ?? .EIO)
        }
        var output = Data()
        if captureOutput {
            var buffer = [UInt8](repeating: 0, count: 8192)
            while true {
                let n = read(fds[0], &buffer, buffer.count)
                if n > 0 { output.append(contentsOf: buffer[0..<n]); continue }
                if n < 0 && errno == EINTR { continue }
                break
            }
            close(fds[0])
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        let exited = status & 0x7F == 0
        return Outcome(status: exited ? (status >> 8) & 0xFF : nil, output: output)
    }
}
