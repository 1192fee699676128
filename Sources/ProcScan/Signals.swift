import CSystemShims
#if canImport(Glibc)
import Glibc
#endif

/// The start time (field 22 of `/proc/<pid>/stat`, clock ticks since boot)
/// of `pid`, read directly without a scan; nil when there is no such
/// process (or only its zombie is left).
public func processStartTime(pid: Int32) -> UInt64? {
    guard let f = readStat(pid: pid), !isDead(f.state) else { return nil }
    return f.startTime
}

/// Whether `pid` still runs (a zombie does not). With `startTime`, it must
/// also be the same process: the same pid with another start time is a
/// newer process that reuses the number, and counts as not alive.
public func processAlive(pid: Int32, startTime: UInt64?) -> Bool {
    guard let f = readStat(pid: pid), !isDead(f.state) else { return false }
    if let startTime, f.startTime != startTime { return false }
    return true
}

/// The state letter of `pid` (field 3 of `/proc/<pid>/stat`, proc(5): `R`
/// running, `S` sleeping, `D` disk wait, `T` stopped by a signal, `t`
/// stopped by a tracer, …) while it runs; with `startTime`, only while it
/// is that same process. nil when it does not run (a zombie does not).
public func processState(pid: Int32, startTime: UInt64?) -> UInt8? {
    guard let f = readStat(pid: pid), !isDead(f.state) else { return nil }
    if let startTime, f.startTime != startTime { return nil }
    return f.state
}

@inline(__always)
private func isDead(_ state: UInt8) -> Bool {
    state == 0x5A /* Z */ || state == 0x58 /* X */ || state == 0x78 /* x */
}

/// What happened to one process in ``sendSignal(_:to:)``.
public enum SignalOutcome: Sendable, Equatable {
    /// `kill` succeeded (for signal 0: the process exists and may be signalled).
    case delivered
    /// The process is gone (ESRCH), or its pid now belongs to another
    /// process (the start time changed): nothing was sent.
    case gone
    /// EPERM: the process exists but this user may not signal it.
    case notPermitted
    /// Not attempted, with the reason: pid 1, this process itself, a pid
    /// that is not a process id (0 or negative: `kill` would hit a whole
    /// group), or another `kill` error.
    case refused(String)
}

/// Sends `signal` to each entry and says what happened to each.
///
/// Each through ``signalProcess(pid:startTime:signal:)`` with the entry's
/// start time: a process that has gone, or whose pid was reused since the
/// snapshot, is reported `.gone` and not signalled. Pid 1 and this process
/// itself are always refused, whatever the signal.
public func sendSignal(_ signal: Int32, to entries: [ProcessEntry]) -> [(pid: Int32, outcome: SignalOutcome)] {
    let me = getpid()
    return entries.map { e in
        if e.pid <= 0 { return (e.pid, .refused("pid \(e.pid) is not a process id")) }
        if e.pid == 1 { return (e.pid, .refused("pid 1 (init) is never signalled")) }
        if e.pid == me { return (e.pid, .refused("pid \(e.pid) is this process itself")) }
        return (e.pid, signalProcess(pid: e.pid, startTime: e.startTime, signal: signal))
    }
}

/// Sends `signal` to `pid` only if it is still the process that started at
/// `startTime` (clock ticks since boot; nil: whichever process has the pid).
///
/// Where the kernel has pidfds (Linux 5.3), the pid is pinned first
/// (`pidfd_open`), its start time is read after that, and the signal goes
/// through the pidfd (`pidfd_send_signal`): a process that ends after the
/// check is not replaced by a newer one with the same pid, the signal then
/// fails with ESRCH. Without pidfds: the start time check, then `kill` (the
/// window left is microseconds, and reusing a pid in it needs the kernel to
/// cycle through every other free pid first).
///
/// Refused, without a system call: pid 1, this process, and a pid that is
/// not a process id (0 or negative: `kill` would hit a whole group).
/// Signal 0 asks only whether it could be sent.
public func signalProcess(pid: Int32, startTime: UInt64?, signal: Int32) -> SignalOutcome {
    if pid <= 0 { return .refused("pid \(pid) is not a process id") }
    if pid == 1 { return .refused("pid 1 (init) is never signalled") }
    if pid == getpid() { return .refused("pid \(pid) is this process itself") }
    let pidfd = csys_pidfd_open(pid)
    if pidfd < 0 && errno == ESRCH { return .gone }
    defer { if pidfd >= 0 { close(pidfd) } }
    guard processAlive(pid: pid, startTime: startTime) else { return .gone }
    let sent = pidfd >= 0 ? csys_pidfd_send_signal(pidfd, signal) : kill(pid, signal)
    if sent == 0 { return .delivered }
    switch errno {
    case ESRCH: return .gone
    case EPERM: return .notPermitted
    case let code: return .refused(String(cString: strerror(code)))
    }
}

/// A signal by number or name, as `kill -s` takes it: `"0"`, `"9"`,
/// `"TERM"`, `"SIGTERM"`, `"term"`, `"kill"`, `"RTMIN+2"`. Numbers from 0 to
/// the highest real-time signal; names without or with `SIG`, in any case.
/// nil for anything else (negative numbers, unknown names, `"9x"`).
public func parseSignal(_ text: String) -> Int32? {
    let max = __libc_current_sigrtmax()
    if let first = text.utf8.first, first >= 0x30, first <= 0x39 {
        guard text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), text.utf8.count <= 3,
              let n = Int32(text), n >= 0, n <= max else { return nil }
        return n
    }
    var name = String(decoding: text.utf8.map { $0 >= 0x61 && $0 <= 0x7A ? $0 - 0x20 : $0 }, as: UTF8.self)
    if name.hasPrefix("SIG") { name.removeFirst(3) }
    if let n = signalNames[name] { return n }
    // Real-time signals: RTMIN, RTMIN+n, RTMAX, RTMAX-n.
    let min = __libc_current_sigrtmin()
    func offset(_ prefix: String, _ sign: Character) -> Int32? {
        guard name.hasPrefix(prefix) else { return nil }
        let rest = name.dropFirst(prefix.count)
        if rest.isEmpty { return 0 }
        guard rest.first == sign, rest.count >= 2, rest.dropFirst().allSatisfy({ $0.isASCII && $0.isNumber }),
              let n = Int32(rest.dropFirst()) else { return nil }
        return n
    }
    if let k = offset("RTMIN", "+"), min + k <= max { return min + k }
    if let k = offset("RTMAX", "-"), max - k >= min { return max - k }
    return nil
}

/// The standard signal names of Linux (x86_64, and the aliases kill(1) knows).
private let signalNames: [String: Int32] = [
    "HUP": SIGHUP, "INT": SIGINT, "QUIT": SIGQUIT, "ILL": SIGILL, "TRAP": SIGTRAP,
    "ABRT": SIGABRT, "IOT": SIGABRT, "BUS": SIGBUS, "FPE": SIGFPE, "KILL": SIGKILL,
    "USR1": SIGUSR1, "SEGV": SIGSEGV, "USR2": SIGUSR2, "PIPE": SIGPIPE, "ALRM": SIGALRM,
    "TERM": SIGTERM, "STKFLT": 16, "CHLD": SIGCHLD, "CLD": SIGCHLD, "CONT": SIGCONT,
    "STOP": SIGSTOP, "TSTP": SIGTSTP, "TTIN": SIGTTIN, "TTOU": SIGTTOU, "URG": SIGURG,
    "XCPU": SIGXCPU, "XFSZ": SIGXFSZ, "VTALRM": SIGVTALRM, "PROF": SIGPROF,
    "WINCH": SIGWINCH, "IO": SIGIO, "POLL": SIGIO, "PWR": 30, "SYS": SIGSYS,
]
