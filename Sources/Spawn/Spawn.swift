import CSystemShims
import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// How a spawned command ended.
public enum Termination: Sendable, Equatable {
    /// It exited with this status (0–255).
    case exited(Int32)
    /// A signal ended it (from outside, or from ``ProcessGroups/killAll(signal:)``).
    case signaled(Int32)
    /// It was still running at the deadline; its whole process group was killed.
    case timedOut
    /// It could not be started: `posix_spawnp`'s error (ENOENT: no such
    /// command in PATH; EACCES: not executable; EINVAL: empty argv), or
    /// ECANCELED after ``ProcessGroups/shutDown()``.
    case failed(errno: Int32)
}

/// The result of ``spawn(_:timeoutMilliseconds:captureOutput:outputLimit:)``.
public struct SpawnResult: Sendable {
    /// How it ended.
    public let termination: Termination
    /// Standard output and standard error interleaved as written, cut after
    /// `outputLimit` bytes (the rest is read and dropped, so the command never
    /// blocks on a full pipe). Empty unless `captureOutput` was set.
    public let output: [UInt8]
    /// The pid of the command, which was also its process group id; 0 when
    /// it could not be started.
    public let pid: Int32
}

/// How long a killed group gets to die before `spawn` stops waiting for it
/// (a process in uninterruptible sleep, say on a dead NFS server, ignores
/// even SIGKILL until the kernel lets go; fshost must not hang with it).
let killGraceMilliseconds: Int64 = 2_000

/// Runs `argv` with a deadline and waits for it.
///
/// - `argv[0]` is searched in `PATH` when it has no slash (`posix_spawnp`);
///   there is no shell: pass `["sh", "-c", text]` to get one.
/// - The command runs in its own process group (`POSIX_SPAWN_SETPGROUP`),
///   with standard input from `/dev/null`, every other descriptor of this
///   process closed (so a lock file's descriptor never leaks into a daemon),
///   an empty signal mask and default signal dispositions. Standard output
///   and error are captured into ``SpawnResult/output`` with `captureOutput`,
///   else inherited.
/// - At the deadline (`timeoutMilliseconds` after the start; 0 or less means
///   no deadline) the whole group gets SIGKILL and the result is `.timedOut`.
/// - When the command exits on its own, what it left running is left alone
///   (a daemon's child has not always left the group yet). With
///   `captureOutput`, a daemon must stop writing to the inherited
///   stdout/stderr (daemons point them at /dev/null): the pipe is closed
///   when `spawn` returns.
/// - The wait uses `pidfd_open` + `poll`; where pidfd is unavailable
///   (kernel < 5.3, seccomp) it polls `waitid(WNOWAIT)` with short sleeps.
/// - The group is registered in ``ProcessGroups`` while it runs, so
///   ``ProcessGroups/killAll(signal:)`` can end it from another thread.
public func spawn(_ argv: [String], timeoutMilliseconds: Int64, captureOutput: Bool = false,
                  outputLimit: Int = 65536) -> SpawnResult {
    spawn(argv, timeoutMilliseconds: timeoutMilliseconds, captureOutput: captureOutput, outputLimit: outputLimit,
          usePidfd: true)
}

/// `spawn`, with the pidfd wait switchable off (tests of the fallback).
func spawn(_ argv: [String], timeoutMilliseconds: Int64, captureOutput: Bool = false, outputLimit: Int = 65536,
           usePidfd: Bool) -> SpawnResult {
    guard !argv.isEmpty else { return SpawnResult(termination: .failed(errno: EINVAL), output: [], pid: 0) }
    let start = monotonicMilliseconds()
    let end = start.addingReportingOverflow(timeoutMilliseconds)
    let deadline: Int64? = timeoutMilliseconds > 0 && !end.overflow ? end.partialValue : nil

    var pipeFds: [Int32] = [-1, -1]
    if captureOutput {
        guard csys_pipe_cloexec(&pipeFds) == 0 else {
            return SpawnResult(termination: .failed(errno: errno), output: [], pid: 0)
        }
    }
    let (pid, spawnError) = startChild(argv, outputFd: captureOutput ? pipeFds[1] : -1)
    if captureOutput { close(pipeFds[1]) }
    guard spawnError == 0 else {
        if captureOutput { close(pipeFds[0]) }
        return SpawnResult(termination: .failed(errno: spawnError), output: [], pid: 0)
    }

    var collector = OutputCollector(fd: captureOutput ? pipeFds[0] : -1, limit: max(0, outputLimit))
    let pidfd = usePidfd ? csys_pidfd_open(pid) : -1
    defer {
        if pidfd >= 0 { close(pidfd) }
        collector.close()
    }

    var exited = waitForExit(pid: pid, pidfd: pidfd, until: deadline, collector: &collector)
    var timedOut = false
    if !exited {
        timedOut = true
        kill(-pid, SIGKILL)
        exited = waitForExit(pid: pid, pidfd: pidfd, until: monotonicMilliseconds() + killGraceMilliseconds,
                             collector: &collector)
    }
    // A command that exits on its own keeps what it left behind: a daemon
    // forks and exits before its child calls setsid(), so killing the rest of
    // the group here would race with (and sometimes kill) every daemon start
    // (`nginx`, `setsid -f`). Only a deadline kills the group.
    guard exited else {
        // Unkillable for now (uninterruptible sleep). Leave it registered,
        // so a later killAll still reaches the group; it will be a zombie
        // of this process until the process exits.
        return SpawnResult(termination: .timedOut, output: collector.bytes, pid: pid)
    }
    ProcessGroups.unregister(pid)
    var status: Int32 = 0
    var reaped: pid_t
    repeat { reaped = waitpid(pid, &status, 0) } while reaped < 0 && errno == EINTR
    collector.drain()
    if timedOut { return SpawnResult(termination: .timedOut, output: collector.bytes, pid: pid) }
    guard reaped == pid else {
        // Someone else reaped it (a SIGCHLD handler with waitpid(-1)).
        return SpawnResult(termination: .failed(errno: ECHILD), output: collector.bytes, pid: pid)
    }
    return SpawnResult(termination: decodeWaitStatus(status), output: collector.bytes, pid: pid)
}

/// `WIFEXITED`/`WEXITSTATUS`/`WTERMSIG` (macros, not imported into Swift).
func decodeWaitStatus(_ status: Int32) -> Termination {
    let low = status & 0x7F
    if low == 0 { return .exited((status >> 8) & 0xFF) }
    return .signaled(low)
}

/// posix_spawnp with the attributes `spawn` documents. Returns (pid, 0) or (0, errno).
private func startChild(_ argv: [String], outputFd: Int32) -> (pid_t, Int32) {
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
    cArgs.append(nil)
    defer { for p in cArgs { free(p) } }

    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    if outputFd >= 0 {
        posix_spawn_file_actions_adddup2(&actions, outputFd, 1)
        posix_spawn_file_actions_adddup2(&actions, outputFd, 2)
    }
    csys_spawn_addclosefrom(&actions, 3)

    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
    posix_spawnattr_setpgroup(&attributes, 0)
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attributes, &mask)
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in 1..<32 where signal != SIGKILL && signal != SIGSTOP { sigaddset(&defaults, Int32(signal)) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)

    var error: Int32 = 0
    guard let pid = ProcessGroups.register({
        var pid: pid_t = 0
        error = posix_spawnp(&pid, cArgs[0]!, &actions, &attributes, cArgs, environ)
        return error == 0 ? pid : 0
    }) else { return (0, ECANCELED) }
    return (pid, error)
}

/// Waits until `pid` has terminated (not reaped) or `until` passes (nil:
/// no deadline), reading output meanwhile. True when it terminated.
private func waitForExit(pid: pid_t, pidfd: Int32, until: Int64?, collector: inout OutputCollector) -> Bool {
    var backoff: Int64 = 1
    while true {
        if pidfd < 0 {
            let r = csys_child_exited(pid)
            if r == 1 { return true }
            if r < 0 && errno != EINTR { return true }   // ECHILD: nothing left to wait for
        }
        var wait: Int64 = -1
        if let until {
            let left = until - monotonicMilliseconds()
            if left <= 0 { return false }
            wait = left
        }
        if pidfd < 0 {
            wait = wait < 0 ? backoff : min(wait, backoff)
            backoff = min(backoff * 2, 50)
        }
        var fds: [pollfd] = []
        if pidfd >= 0 { fds.append(pollfd(fd: pidfd, events: Int16(POLLIN), revents: 0)) }
        if collector.fd >= 0 { fds.append(pollfd(fd: collector.fd, events: Int16(POLLIN), revents: 0)) }
        let timeout = Int32(clamping: wait)
        if fds.isEmpty {
            sleepMilliseconds(Int64(timeout))
            continue
        }
        let n = poll(&fds, nfds_t(fds.count), timeout)
        if n < 0 {
            if errno == EINTR { continue }
            return true   // cannot wait: treat as ended; waitpid tells the truth
        }
        for p in fds where p.revents != 0 && p.fd == collector.fd { collector.drain() }
        if pidfd >= 0, let first = fds.first, first.fd == pidfd, first.revents != 0 { return true }
    }
}

/// Reads a non-blocking pipe into a buffer that stops growing at `limit`.
struct OutputCollector {
    private(set) var fd: Int32
    private let limit: Int
    private(set) var bytes: [UInt8] = []

    init(fd: Int32, limit: Int) {
        self.fd = fd
        self.limit = limit
        if fd >= 0 {
            let flags = csys_fcntl_int(fd, F_GETFL, 0)
            _ = csys_fcntl_int(fd, F_SETFL, flags | O_NONBLOCK)
        }
    }

    /// Reads what is there now; closes the pipe at end of file.
    mutating func drain() {
        guard fd >= 0 else { return }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 16384) { buf in
            while true {
                let n = read(fd, buf.baseAddress!, buf.count)
                if n > 0 {
                    let keep = min(n, limit - bytes.count)
                    if keep > 0 { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: buf[0..<keep])) }
                    continue
                }
                if n < 0 && errno == EINTR { continue }
                if n == 0 { Glibc.close(fd); fd = -1 }
                return   // EAGAIN (nothing more now), EOF, or an error
            }
        }
    }

    mutating func close() {
        if fd >= 0 { Glibc.close(fd); fd = -1 }
    }
}
