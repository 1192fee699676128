// FailSafe batch mode: one fshost child per resource (its own process, lock,
// deadline and worker), at most --parallel at once; the answers in input order.
import FSHost
import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// The signal that asked the batch to end (TERM, INT, HUP), 0 until then.
/// Written by the handler only.
nonisolated(unsafe) private var batchStopSignal: sig_atomic_t = 0

/// `fshost <type> <action> --infile IN --outfile OUT [--paramfile P]` (or
/// `IN OUT [P]`): runs the action on every resource of IN, each as its own
/// `fshost <type> <action> <resource>` child, and writes OUT: one
/// `resource_name status` line per IN line, in IN's order. A child that
/// crashes or hangs costs only its own line: it ends at its own deadline
/// (the child's supervisor kills it), and a child that died by a signal
/// answers `HA_CMD_FAILED`.
///
/// Returns the exit status: 0 when every line is 0, else the first
/// non-zero line's status; 2 for a bad command line or IN/P file, 9 when
/// OUT cannot be written (nothing was run); 3 when TERM, INT or HUP ended
/// the batch (the running children are sent TERM and answer, the ones not
/// started get 3, and OUT is still written whole).
func batchMain(_ words: [String]) -> Int32 {
    let logger = Logger(prefix: "batch")
    let request: BatchRequest
    let lines: [BatchLine]
    let output: BatchOutput
    do throws(HostError) {
        request = try BatchRequest.parse(words, environment: environmentValue("FSHOST_BATCH_PARALLEL"))
        lines = try BatchInput.read(request.infile)
        if let paramfile = request.paramfile, let cluster = try BatchInput.clusterName(paramfile) {
            setenv("FSHOST_CLUSTER_NAME", cluster, 1)
        }
        output = try BatchOutput.prepare(request.outfile)
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
    installStopHandlers()
    var running: [pid_t: Int] = [:]
    var next = 0
    var stopping = false
    while next < jobs.count || !running.isEmpty {
        if batchStopSignal != 0 && !stopping {
            stopping = true
            log.error("received signal \(batchStopSignal): \(running.count) running resources were sent TERM, \(jobs.count - next) not started answer HA_CMD_FAILED")
            for pid in running.keys { kill(pid, SIGTERM) }
            next = jobs.count
        }
        while !stopping && running.count < request.parallel && next < jobs.count {
            let index = jobs[next]
            next += 1
            let argv = ["fshost", request.type, request.action.rawValue, lines[index].name] + request.passed
            switch spawnSelf(argv) {
            case .success(let pid): running[pid] = index
            case .failure(let error):
                statuses[index] = ExitStatus.hostError.rawValue
                log.error("\(lines[index].name): cannot start its fshost: \(String(cString: strerror(error.code)))")
            }
        }
        if running.isEmpty { continue }
        var status: Int32 = 0
        let pid = waitpid(-1, &status, 0)
        if pid < 0 {
            if errno == EINTR { continue }
            // No child left to wait for (cannot happen while `running` is
            // not empty): the remaining lines answer HA_HOST_ERROR.
            for index in running.values { statuses[index] = ExitStatus.hostError.rawValue }
            running.removeAll()
            continue
        }
        guard let index = running.removeValue(forKey: pid) else { continue }
        statuses[index] = childStatus(status)
    }
    var text = ""
    text.reserveCapacity(lines.count * 16)
    for (line, status) in zip(lines, statuses) { text += line.name + " " + String(status) + "\n" }
    do throws(HostError) {
        try output.commit(text)
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

struct SpawnError: Error { let code: Int32 }

/// Starts this executable (`/proc/self/exe`) with `argv`: stdin and stdout
/// on /dev/null (OUT is the answer), stderr shared (the children's log
/// lines), default signal dispositions and an empty mask.
private func spawnSelf(_ argv: [String]) -> Result<pid_t, SpawnError> {
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    var attributes = posix_spawnattr_t()
    posix_spawnattr_init(&attributes)
    defer { posix_spawnattr_destroy(&attributes) }
    var defaults = sigset_t()
    sigemptyset(&defaults)
    for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&defaults, signal) }
    posix_spawnattr_setsigdefault(&attributes, &defaults)
    var mask = sigset_t()
    sigemptyset(&mask)
    posix_spawnattr_setsigmask(&attributes, &mask)
    posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))
    var cArguments = argv.map { strdup($0) } + [nil]
    defer { cArguments.forEach { free($0) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, "/proc/self/exe", &actions, &attributes, &cArguments, environ)
    return rc == 0 ? .success(pid) : .failure(SpawnError(code: rc))
}

/// TERM, INT and HUP set ``batchStopSignal`` and interrupt `waitpid`
/// (no SA_RESTART), so the batch can end its children and still write OUT.
private func installStopHandlers() {
    for signal in [SIGTERM, SIGINT, SIGHUP] {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { batchStopSignal = $0 }
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(signal, &action, nil)
    }
}

private func environmentValue(_ name: String) -> String? {
    guard let value = getenv(name), value.pointee != 0 else { return nil }
    return String(cString: value)
}
