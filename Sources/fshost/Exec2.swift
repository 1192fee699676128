// `fshost exec2 …`: FailSafe's ha_exec2 for existing shell action scripts,
// backed by the shared /proc scanner (ProcScan) and Spawn. No Foundation.
import CDB
import FSHost
import HAVocabulary
import ProcScan
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// `fshost exec2 ARGUMENTS…` (the words after `exec2`): FailSafe's
/// `ha_exec2`. Returns the exit status; see ``exec2Usage`` for both forms
/// and every status.
func exec2Main(_ arguments: [String]) -> Int32 {
    exec2Run(arguments, output: { exec2Write(1, $0) }, errors: { exec2Write(2, $0) }, supervised: true)
}

/// The help text of `fshost exec2 --help`.
let exec2Usage = """
usage: fshost exec2 -s SIGNAL -t STRING
       fshost exec2 [-p WAITPERIOD] TIMEOUT RETRIES COMMAND [ARGUMENT...]
       fshost exec2 --scan-stats [-n COUNT] [STRING]
       fshost exec2 --help

FailSafe's ha_exec2, on fshost's /proc scanner.

fshost exec2 -s SIGNAL -t STRING
  Send SIGNAL to every process whose command line contains STRING: argv
  joined by single spaces, as ps -o args and pgrep -f see it; for a process
  without one (a kernel thread), its name (comm). Case-sensitive. SIGNAL is
  a number or a name (0, 9, TERM, SIGTERM, kill); 0, the default, sends
  nothing and only asks whether such a process exists. Zombies, this
  process, its ancestors (the script that runs it) and their subshells, and
  the other commands of its own pipeline (same session, connected by a
  pipe on any descriptor, directly or through each other: the grep of
  "fshost exec2 -s 0 -t X | grep X", of "... 2>&1 >/dev/null | grep X",
  of "grep X <(fshost exec2 -s 0 -t X)") never match. Pid 1 is never
  signalled (for 0 it counts as existing); a process whose pid was reused
  since the scan is not signalled.
  0  a process matched (and, for a real signal, received it)
  1  no process matched (HA_NOT_RUNNING)
  3  processes matched but none could be signalled (not permitted, pid 1)

fshost exec2 [-p WAITPERIOD] TIMEOUT RETRIES COMMAND [ARGUMENT...]
  Run COMMAND (searched in PATH; no shell: use sh -c for one) in its own
  process group, stdin from /dev/null, output passed through. While it
  fails, run it again, up to RETRIES more times (0 to 100), WAITPERIOD
  apart (100ms to 24h; default 100ms).
  Nothing it starts outlives exec2: at TIMEOUT, after a try that fails,
  and when exec2 itself is ended (SIGKILL, TERM, HUP, INT, to it or to its
  process group), COMMAND and every process below it (also one that
  called setsid) are killed. Only after a try that succeeds is what it
  left running kept (the daemon a start command starts).
  N    the exit status of the last try (0: it succeeded)
  128+N  signal N ended the last try, or ended exec2 (TERM, HUP, INT)
  8    the last try timed out (HA_TIMEDOUT)
  126  COMMAND could not be run; 127 COMMAND not found (not retried)
  9    exec2 could not start or keep its worker process (HA_HOST_ERROR)

Durations (TIMEOUT, WAITPERIOD): fshost's one grammar, as for --timeout and
the CDB: a bare number is seconds as FailSafe wrote it ("5", "0.5"), or
"250ms", "5s", "2m", "1h"; at most 24h. TIMEOUT is at least 1ms.

fshost exec2 --scan-stats [-n COUNT] [STRING]
  Diagnostic: scan /proc COUNT times (default 5) and print the process
  count and the median and fastest scan in microseconds; with STRING, also
  the -t match time and how many processes matched.

Bad input (unknown option or signal, empty STRING, a TIMEOUT, RETRIES or
WAITPERIOD out of its range, no COMMAND): a one-line message on stderr
naming the argument and its range, and status 2 (HA_INVAL_ARGS). Every
message is one line: control characters in a value (a COMMAND, a STRING,
a process's name) are escaped and a long value is cut (fshost's log rule).
"""

/// exec2 with its output and error text going to the given sinks (one
/// call per line, newline included); `exec2Main` writes them to fd 1 and 2.
/// Every error line passes through ``LogText/line(_:)`` (escaped, bounded):
/// a COMMAND or STRING with a newline cannot write a second line.
/// `supervised`: the TIMEOUT RETRIES COMMAND form runs its tries in a
/// worker process (``SupervisedWork``: the fshost executable); without it
/// they run in this process and only each try's process group is killed
/// (the in-process tests, which must not fork a multithreaded process).
func exec2Run(_ arguments: [String], output: (String) -> Void, errors rawErrors: @escaping (String) -> Void,
              supervised: Bool = false) -> Int32 {
    let invalid = ExitStatus.invalidArguments.rawValue
    let errors: (String) -> Void = { line in
        let text = line.hasSuffix("\n") ? String(line.dropLast()) : line
        rawErrors(LogText.line(text) + "\n")
    }
    func fail(_ message: String) -> Int32 {
        errors("exec2: \(message)\n")
        return invalid
    }
    guard let first = arguments.first else {
        return fail("missing arguments: -s SIGNAL -t STRING, or TIMEOUT RETRIES COMMAND (see fshost exec2 --help)")
    }
    switch first {
    case "--help", "-h", "help":
        output(exec2Usage.hasSuffix("\n") ? exec2Usage : exec2Usage + "\n")
        return ExitStatus.success.rawValue
    case "--scan-stats":
        return exec2ScanStats(Array(arguments.dropFirst()), output: output, fail: fail)
    default:
        break
    }
    if first.hasPrefix("-s") || first.hasPrefix("-t") {
        return exec2Signal(arguments, errors: errors, fail: fail)
    }
    return exec2Run(command: arguments, errors: errors, fail: fail, supervised: supervised)
}

// MARK: - exec2 -s SIGNAL -t STRING

private func exec2Signal(_ arguments: [String], errors: (String) -> Void, fail: (String) -> Int32) -> Int32 {
    var signalText: String?
    var text: String?
    var i = 0
    while i < arguments.count {
        let word = arguments[i]
        let option = String(word.prefix(2))
        guard option == "-s" || option == "-t" else {
            return fail("unexpected argument '\(word)': the form is -s SIGNAL -t STRING")
        }
        var value: String
        if word.count > 2 {
            value = String(word.dropFirst(2))
        } else {
            guard i + 1 < arguments.count else { return fail("\(option) needs a value") }
            i += 1
            value = arguments[i]
        }
        if option == "-s" {
            guard signalText == nil else { return fail("-s given twice") }
            signalText = value
        } else {
            guard text == nil else { return fail("-t given twice") }
            text = value
        }
        i += 1
    }
    guard let text else { return fail("missing -t STRING: what to look for") }
    guard !text.isEmpty else { return fail("empty -t STRING: it would match every process") }
    let signal: Int32
    if let signalText {
        guard let parsed = parseSignal(signalText) else { return fail("unknown signal '\(signalText)'") }
        signal = parsed
    } else {
        signal = 0
    }

    let needle = Array(text.utf8)
    let isExcluded = exec2Exclusions()
    if signal == 0 {
        // A yes/no question: stop reading /proc at the first match.
        var found = false
        CommandLineSearch.forEachMatch(needle) { entry in
            if isExcluded(entry) { return true }
            found = true
            return false
        }
        return found ? ExitStatus.success.rawValue : ExitStatus.notRunning.rawValue
    }
    // This is the one look of this invocation: every match, read now.
    var matches: [ProcessEntry] = []
    CommandLineSearch.forEachMatch(needle) { entry in
        if !isExcluded(entry) { matches.append(entry) }
        return true
    }
    if matches.isEmpty { return ExitStatus.notRunning.rawValue }
    let names = Dictionary(matches.map { ($0.pid, $0.comm) }, uniquingKeysWith: { a, _ in a })

    var delivered = 0
    var gone = 0
    for (pid, outcome) in sendSignal(signal, to: matches) {
        let comm = names[pid] ?? "?"
        switch outcome {
        case .delivered:
            delivered += 1
        case .gone:
            gone += 1
        case .notPermitted:
            errors("exec2: pid \(pid) (\(comm)): not permitted to send signal \(signal)\n")
        case .refused(let reason):
            errors("exec2: pid \(pid) (\(comm)): refused: \(reason)\n")
        }
    }
    if delivered > 0 { return ExitStatus.success.rawValue }
    if gone == matches.count { return ExitStatus.notRunning.rawValue }
    return ExitStatus.commandFailed.rawValue
}

/// What `-t` never matches: this process (the scan leaves it out), its
/// ancestors, copies of an ancestor, and the other commands of its own
/// pipeline. pgrep excludes only itself; but a check that finds the filter
/// of its own output is no answer, and with a real signal it would kill it.
/// - An ancestor is the calling script: its command line holds the text.
/// - A copy of an ancestor is a child of it with the very same command line:
///   a subshell (`{ …; } | grep X`), or the fork that is about to become the
///   next command of the pipeline and has not run `execve` yet.
/// - The pipeline (``Pipeline``): the same session, connected to this
///   process by pipes on any descriptor — the `grep X` of
///   `fshost exec2 -s 0 -t X | grep X`, of `… 2>&1 >/dev/null | grep X`,
///   and of `grep X <(fshost exec2 -s 0 -t X)`. It is worked out only when
///   a match is in this session (one more /proc pass). Another process of
///   the session that is not in the pipeline (a daemon the calling script
///   started in the background) still matches.
private func exec2Exclusions() -> (ProcessEntry) -> Bool {
    let ancestors = exec2Ancestors()
    var pipeline: Set<Int32>?
    return { entry in
        if ancestors[entry.pid] != nil { return true }
        if let parent = ancestors[entry.ppid], entry.arguments == parent.arguments { return true }
        guard Pipeline.inSession(entry.pid) else { return false }
        if pipeline == nil { pipeline = Pipeline.members() }
        return pipeline!.contains(entry.pid)
    }
}

/// This process's ancestors (parent, grandparent, …) below pid 1: the shell
/// script that runs `fshost exec2 -t nginx` has "nginx" in its own command
/// line and must not count as the process it looks for. Read directly, one
/// stat and cmdline per ancestor, before any scan.
private func exec2Ancestors() -> [Int32: ProcessEntry] {
    var result: [Int32: ProcessEntry] = [:]
    var pid = getppid()
    while pid > 1, result[pid] == nil {
        guard let entry = ProcessEntry(pid: pid) else { break }
        result[pid] = entry
        pid = entry.ppid
    }
    return result
}

// MARK: - exec2 [-p WAITPERIOD] TIMEOUT RETRIES COMMAND [ARGUMENT...]

/// One parsed `[-p WAITPERIOD] TIMEOUT RETRIES COMMAND [ARGUMENT...]`.
struct Exec2Job {
    var waitMilliseconds: Int64
    var timeoutMilliseconds: Int64
    var retries: Int
    var command: [String]
}

/// RETRIES: 0 to 100, the host's bound on `retries` (``HostSetting/retriesRange``):
/// more tries never change an answer 100 could not, and each may log a line.
let exec2RetriesRange: ClosedRange<Int64> = HostSetting.retriesRange
/// WAITPERIOD: 100 ms to 24 h, the host's `retry_interval` (``HostSetting/retryIntervalRange``):
/// the floor keeps a failing command from being forked in a busy loop. It
/// is also the default.
let exec2WaitRange: ClosedRange<Int64> = HostSetting.retryIntervalRange

private func exec2Run(command arguments: [String], errors: @escaping (String) -> Void, fail: (String) -> Int32,
                      supervised: Bool) -> Int32 {
    var rest = arguments[...]
    var waitMilliseconds: Int64 = exec2WaitRange.lowerBound
    if let word = rest.first, word.hasPrefix("-"), word != "--" {
        let value: String
        if word == "-p" {
            rest = rest.dropFirst()
            guard let next = rest.first else { return fail("-p needs a WAITPERIOD") }
            value = next
        } else if word.hasPrefix("-p"), word.count > 2 {
            value = String(word.dropFirst(2))
        } else {
            return fail("unknown option '\(word)' (see fshost exec2 --help)")
        }
        switch exec2Duration("WAITPERIOD", value, range: exec2WaitRange) {
        case .success(let ms): waitMilliseconds = ms
        case .failure(let refusal): return fail(refusal.message)
        }
        rest = rest.dropFirst()
    }
    guard let timeoutText = rest.first else { return fail("missing TIMEOUT, RETRIES and COMMAND") }
    let timeout: Int64
    switch exec2Duration("TIMEOUT", timeoutText, range: HostSetting.timeoutRange) {
    case .success(let ms): timeout = ms
    case .failure(let refusal): return fail(refusal.message)
    }
    rest = rest.dropFirst()
    guard let retriesText = rest.first else { return fail("missing RETRIES and COMMAND") }
    let allowed = "(allowed: from \(exec2RetriesRange.lowerBound) to \(exec2RetriesRange.upperBound))"
    guard !retriesText.isEmpty, retriesText.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }) else {
        return fail("RETRIES is not a whole number: '\(retriesText)' \(allowed)")
    }
    guard let retries = Int64(retriesText), exec2RetriesRange.contains(retries) else {
        return fail("RETRIES is out of range: '\(retriesText)' \(allowed)")
    }
    rest = rest.dropFirst()
    if rest.first == "--" { rest = rest.dropFirst() }
    guard let name = rest.first, !name.isEmpty else { return fail("missing COMMAND") }
    let job = Exec2Job(waitMilliseconds: waitMilliseconds, timeoutMilliseconds: timeout, retries: Int(retries),
                       command: Array(rest))
    return supervised ? exec2Supervised(job, errors: errors)
                      : exec2Tries(job, errors: errors, endLeftovers: nil)
}

/// The tries in a worker process, as an action runs (``SupervisedWork``),
/// so that nothing COMMAND starts outlives exec2:
/// - the worker is a subreaper: whatever the command forks, even through
///   `setsid`, stays below it. At a try's TIMEOUT and after a failed try it
///   kills it all before the next try or the answer, so the caller's pipe
///   is not held open by a leftover;
/// - exec2 killed outright (SIGKILL, its process group): the worker sees
///   its lifeline hang up and kills everything below it;
/// - exec2 gets TERM, HUP or INT: it kills the worker and what was below
///   it, and answers 128+N.
private func exec2Supervised(_ job: Exec2Job, errors: @escaping (String) -> Void) -> Int32 {
    let outcome = SupervisedWork.run(keepingStandardOutput: true) { endLeftovers in
        exec2Tries(job, errors: errors, endLeftovers: endLeftovers)
    }
    let name = job.command[0]
    switch outcome {
    case .answered(let status):
        return status
    case .interrupted(let signal, let signalName):
        errors("exec2: received \(signalName); \(name) and every process it started were killed\n")
        return 128 + signal
    case .failed(let why):
        errors("exec2: \(why) while running \(name); every process it started was killed\n")
        return ExitStatus.hostError.rawValue
    }
}

/// Runs the tries; `endLeftovers` (nil: in-process, nothing below this
/// process is touched) ends what a timed-out or failed try left behind.
private func exec2Tries(_ job: Exec2Job, errors: (String) -> Void, endLeftovers: (() -> Void)?) -> Int32 {
    let name = job.command[0]
    let killed = endLeftovers == nil ? "its process group was killed" : "it and every process it started were killed"
    var last: Int32 = 0
    for attempt in 0...job.retries {
        if attempt > 0 { exec2Sleep(milliseconds: job.waitMilliseconds) }
        let result = spawn(job.command, timeoutMilliseconds: job.timeoutMilliseconds)
        switch result.termination {
        case .exited(0):
            return ExitStatus.success.rawValue
        case .exited(let code):
            last = code
        case .signaled(let signal):
            last = 128 + signal
        case .timedOut:
            errors("exec2: \(name) timed out after \(exec2Format(milliseconds: job.timeoutMilliseconds)) (try \(attempt + 1) of \(job.retries + 1)); \(killed)\n")
            last = ExitStatus.timedOut.rawValue
        case .failed(let code):
            errors("exec2: cannot run \(name): \(String(cString: strerror(code)))\n")
            return code == ENOENT ? 127 : 126
        }
        endLeftovers?()
    }
    return last
}

/// TIMEOUT and WAITPERIOD in milliseconds: fshost's one duration grammar
/// (``DurationText``: "5" is seconds as FailSafe wrote it, "0.5", "250ms",
/// "5s", "2m", "1h"), at most 24 h; nil for anything else.
func exec2ParseDuration(_ text: String) -> Int64? {
    try? DurationText.milliseconds(text).get()
}

/// `what` (TIMEOUT or WAITPERIOD) read from `text`, within `range`, or the
/// one-line reason naming `what` and the allowed range.
func exec2Duration(_ what: String, _ text: String, range: ClosedRange<Int64>) -> Result<Int64, Exec2Refusal> {
    switch DurationText.milliseconds(text) {
    case .success(let ms) where range.contains(ms):
        return .success(ms)
    case .success:
        return .failure(Exec2Refusal(message: "\(what) " + DurationText.explain(.tooLarge, text, range: range)))
    case .failure(let problem):
        return .failure(Exec2Refusal(message: "\(what) " + DurationText.explain(problem, text, range: range)))
    }
}

/// Why an exec2 argument was refused: one line.
struct Exec2Refusal: Error {
    let message: String
}

private func exec2Format(milliseconds: Int64) -> String {
    milliseconds % 1000 == 0 ? "\(milliseconds / 1000) s" : "\(milliseconds) ms"
}

private func exec2Sleep(milliseconds: Int64) {
    guard milliseconds > 0 else { return }
    var request = timespec(tv_sec: Int(milliseconds / 1000), tv_nsec: Int(milliseconds % 1000) * 1_000_000)
    var remaining = timespec()
    while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
}

// MARK: - exec2 --scan-stats

private func exec2ScanStats(_ arguments: [String], output: (String) -> Void, fail: (String) -> Int32) -> Int32 {
    var count = 5
    var text: String?
    var i = 0
    while i < arguments.count {
        if arguments[i] == "-n" {
            guard i + 1 < arguments.count, let n = Int(arguments[i + 1]), n > 0, n <= 10_000 else {
                return fail("-n needs a count from 1 to 10000")
            }
            count = n
            i += 2
        } else {
            guard text == nil, !arguments[i].isEmpty else { return fail("unexpected argument '\(arguments[i])'") }
            text = arguments[i]
            i += 1
        }
    }
    var scans: [Int64] = []
    var matchTimes: [Int64] = []
    var processes = 0
    var unreadable = 0
    var matched = 0
    for _ in 0..<count {
        let t0 = monotonicMicroseconds()
        let table = ProcessTable()
        let t1 = monotonicMicroseconds()
        scans.append(t1 - t0)
        processes = table.entries.count
        unreadable = table.unreadable
        if let text {
            let t2 = monotonicMicroseconds()
            matched = table.containing(text).count
            matchTimes.append(monotonicMicroseconds() - t2)
        }
    }
    func median(_ values: [Int64]) -> Int64 {
        let s = values.sorted()
        return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
    }
    var line = "processes \(processes) unreadable \(unreadable) scans \(count) scan_median_us \(median(scans)) scan_min_us \(scans.min() ?? 0)"
    if text != nil {
        line += " matched \(matched) match_median_us \(median(matchTimes))"
    }
    output(line + "\n")
    return ExitStatus.success.rawValue
}

private func exec2Write(_ fd: Int32, _ text: String) {
    var text = text
    text.withUTF8 { buffer in
        var offset = 0
        while offset < buffer.count {
            let n = write(fd, buffer.baseAddress! + offset, buffer.count - offset)
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return }
            offset += n
        }
    }
}
