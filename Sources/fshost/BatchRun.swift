// FailSafe batch mode: one child per resource (a fork of this process: its
// own lock, deadline, supervisor and worker), at most --parallel at once; the
// answers in input order.
import FSHost
import HAVocabulary
import PluginLoading
#if canImport(Glibc)
import Glibc
#endif

/// `fshost <type> <action> --infile IN --outfile OUT [--paramfile P]` (or
/// `IN OUT [P]`): runs the action on every resource of IN, each in its own
/// child process (``ForkedAction``: as `fshost <type> <action> <resource>`
/// would), and writes OUT: one
/// `resource_name status` line per IN line, in IN's order. A child that
/// crashes or hangs costs only its own line: it ends at its own deadline
/// (the child's supervisor kills it), and a child that died by a signal
/// answers `HA_CMD_FAILED`.
///
/// Time: the batch's caller timeout is `--timeout`, else the type's default
/// for the action (what srmd's per-type timeout stands for). Every line's
/// deadline is capped at that less a margin and the supervisor's grace
/// (``CallerDeadline``), and lines still waiting for a free slot (`--parallel`)
/// by then answer `HA_TIMEDOUT` (8) without running: OUT is written before
/// the caller's timeout however many lines hang.
///
/// Returns the exit status: 0 when every line is 0, else the first
/// non-zero line's status; 2 for a bad command line or IN/P file, 9 when
/// OUT cannot be written (nothing was run); 3 when TERM, INT or HUP ended
/// the batch (the running children are sent TERM and answer, the ones not
/// started get 3, and OUT is still written whole).
func batchMain(_ words: [String]) -> Int32 {
    // TERM, INT, HUP and CHLD stay blocked and are taken with sigtimedwait:
    // a stop that comes at any moment is seen (no handler, no race with the
    // wait), and the batch still writes OUT.
    var waited = sigset_t()
    sigemptyset(&waited)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&waited, signal) }
    sigprocmask(SIG_BLOCK, &waited, nil)
    var stopSignal: Int32 = 0
    let batchStarted = Deadline.now()
    let logger = Logger(prefix: "batch")
    let request: BatchRequest
    let lines: [BatchLine]
    let output: BatchOutput?
    do throws(HostError) {
        request = try BatchRequest.parse(words, environment: environmentValue("FSHOST_BATCH_PARALLEL"))
        lines = try BatchInput.read(request.infile)
        if let paramfile = request.paramfile {
            // Nothing fshost runs needs the cluster's name: a parameters
            // file that cannot be used costs a warning, not the batch.
            do throws(HostError) {
                if let cluster = try BatchInput.clusterName(paramfile) { setenv("FSHOST_CLUSTER_NAME", cluster, 1) }
            } catch {
                logger.error("warning: \(error.message); going on without it")
            }
        }
        output = try request.outfile.map { (path: String) throws(HostError) in try BatchOutput.prepare(path) }
    } catch {
        logger.error(error.message)
        return error.status
    }
    let log = Logger(prefix: "\(request.type) \(request.action.rawValue) batch")
    var statuses = [Int32](repeating: ExitStatus.commandFailed.rawValue, count: lines.count)
    for (i, line) in lines.enumerated() {
        if let problem = line.problem {
            statuses[i] = ExitStatus.invalidArguments.rawValue
            log.error("\(Names.printable(request.infile)) line \(i + 1): \(problem)")
        }
    }
    let jobs = lines.indices.filter { lines[$0].problem == nil }
    let paths = HostPaths.fromEnvironment()
    let stored = BatchConfiguration.read(type: request.type, resources: jobs.map { lines[$0].name }, paths: paths)
    // The batch's caller (srmd) kills it at the type's timeout: --timeout,
    // else the type's default for the action. No line may outlive that:
    // each line's deadline is at most the batch's action deadline (the
    // caller's timeout less margin and grace, CallerDeadline), and a line
    // not started by then answers HA_TIMEDOUT without running.
    var actionDeadline: Int64? = nil
    if !jobs.isEmpty, let callerTimeout = request.template.timeoutMilliseconds
        ?? ForkedAction.defaultTimeout(type: request.type, action: request.action, paths: paths) {
        actionDeadline = batchStarted + CallerDeadline.apply(callerTimeout)
    }
    var running: [pid_t: Int] = [:]
    var next = 0
    var stopping = false
    while next < jobs.count || !running.isEmpty {
        if let actionDeadline, next < jobs.count, !stopping, Deadline.now() >= actionDeadline {
            log.error("\(jobs.count - next) resources not started before the batch's deadline answer HA_TIMEDOUT")
            for index in jobs[next...] { statuses[index] = ExitStatus.timedOut.rawValue }
            next = jobs.count
        }
        if stopSignal != 0 && !stopping {
            stopping = true
            log.error("received signal \(stopSignal): \(running.count) running resources were sent TERM, \(jobs.count - next) not started answer HA_CMD_FAILED")
            for pid in running.keys { kill(pid, SIGTERM) }
            next = jobs.count
        }
        while !stopping && running.count < request.parallel && next < jobs.count {
            let index = jobs[next]
            next += 1
            var action = request.template
            action.resource = lines[index].name
            action.suppliedAttributes = stored[lines[index].name]
            action.deadlineCap = actionDeadline
            switch ForkedAction.start(action, paths: paths) {
            case .success(let pid): running[pid] = index
            case .failure(let error):
                statuses[index] = error.status
                log.error(error.message)
            }
        }
        if running.isEmpty { continue }
        var status: Int32 = 0
        let pid = waitpid(-1, &status, WNOHANG)
        if pid > 0 {
            if let index = running.removeValue(forKey: pid) { statuses[index] = childStatus(status) }
            continue
        }
        if pid < 0 && errno != EINTR {
            // No child left to wait for (cannot happen while `running` is
            // not empty): the remaining lines answer HA_HOST_ERROR.
            for index in running.values { statuses[index] = ExitStatus.hostError.rawValue }
            running.removeAll()
            continue
        }
        // Nothing ended yet: sleep until a child ends or a stop signal
        // comes (the second is a bound, not a poll: CHLD wakes it).
        var info = siginfo_t()
        var bound = timespec(tv_sec: 1, tv_nsec: 0)
        if let actionDeadline, next < jobs.count {
            let left = max(1, min(1000, actionDeadline - Deadline.now()))
            bound = timespec(tv_sec: 0, tv_nsec: Int(left) * 1_000_000)
        }
        let signal = sigtimedwait(&waited, &info, &bound)
        if signal == SIGTERM || signal == SIGINT || signal == SIGHUP { stopSignal = signal }
    }
    var text = ""
    text.reserveCapacity(lines.count * 16)
    for (line, status) in zip(lines, statuses) { text += line.name + " " + String(status) + "\n" }
    do throws(HostError) {
        try output?.commit(text)
    } catch {
        log.error(error.message)
        return error.status
    }
    if stopping { return ExitStatus.commandFailed.rawValue }
    return statuses.first { $0 != 0 } ?? 0
}

/// A child's wait status as a FailSafe status: its exit status when it is
/// one of fshost's (0-9), else `HA_CMD_FAILED` (a signal, an unknown code).
func childStatus(_ status: Int32) -> Int32 {
    let exited = status & 0x7f == 0
    let code = (status >> 8) & 0xff
    return exited && ExitStatus(rawValue: code) != nil ? code : ExitStatus.commandFailed.rawValue
}

private func environmentValue(_ name: String) -> String? {
    guard let value = getenv(name), value.pointee != 0 else { return nil }
    return String(cString: value)
}
