// FailSafe batch mode: the plugin verified once, then a pool of at most
// --parallel workers (forks of this process, which supervises them all),
// each loading the plugin once and running resources one after another
// (its own lock and deadline each); the answers in input order.
import ELFCheck
import FSHost
import HAVocabulary
import PluginLoading
#if canImport(Glibc)
import Glibc
#endif

/// `fshost <type> <action> --infile IN --outfile OUT [--paramfile P]` (or
/// `IN OUT [P]`): runs the action on every resource of IN in a pool of
/// worker processes (``BatchWorkers``: forks of this process, which
/// supervises them; each runs resources one after another exactly as the
/// worker of `fshost <type> <action> <resource>`), and writes OUT: one
/// `resource_name status` line per IN line, in IN's order. A resource whose
/// plugin crashes or hangs costs only its own line: its worker is killed at
/// that resource's deadline plus the supervisor's grace (`HA_TIMEDOUT`), or
/// answers `HA_CMD_FAILED` for it when it died, and the resources after it
/// go to a new worker.
///
/// The plugin file is found and verified once, here (``PluginLoader/verify(type:searchPath:cache:)``:
/// read only, never loaded in this process), and every worker loads that
/// same open descriptor: what is checked is what is used. A plugin that
/// fails its checks answers every line (7, or 5 when there is none), and
/// nothing is forked.
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
/// the batch (the running workers are killed with everything below them
/// and answer 3, the ones not started get 3, and OUT is still written whole).
func batchMain(_ words: [String]) -> Int32 {
    // TERM, INT, HUP and CHLD stay blocked and are taken with sigtimedwait:
    // a stop that comes at any moment is seen (no handler, no race with the
    // wait), and the batch still writes OUT.
    var waited = sigset_t()
    sigemptyset(&waited)
    for signal in [SIGTERM, SIGINT, SIGHUP, SIGCHLD] { sigaddset(&waited, signal) }
    var callerMask = sigset_t()
    sigprocmask(SIG_BLOCK, &waited, &callerMask)
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
    // Found and verified once, for every line (read only: no plugin code
    // runs in this process, whose crash would cost every line).
    var verified: VerifiedPluginFile? = nil
    if !jobs.isEmpty {
        do throws(HostError) {
            try paths.checkAbsolute()
            verified = try PluginLoader.verify(type: request.type, searchPath: PluginSearchPath(directories: paths.pluginPath),
                                               cache: VerificationCache(runDirectory: paths.runDirectory,
                                                                         warning: ActionRunner.cacheWarning(type: request.type, resource: "-",
                                                                                                         action: request.action.rawValue)))
        } catch {
            log.error("\(error.message); every resource answers \(error.exitStatus.name)")
            for index in jobs { statuses[index] = error.status }
        }
    }
    // The batch's caller (srmd) kills it at the type's timeout: --timeout,
    // else the type's default for the action. No line may outlive that:
    // each line's deadline is at most the batch's action deadline (the
    // caller's timeout less margin and grace, CallerDeadline), and a line
    // not started by then answers HA_TIMEDOUT without running.
    var actionDeadline: Int64? = nil
    if let verified, let callerTimeout = request.template.timeoutMilliseconds
        ?? ForkedAction.defaultTimeout(of: verified, action: request.action) {
        actionDeadline = batchStarted + CallerDeadline.apply(callerTimeout)
    }
    var stopping = false
    if let verified {
        let requests = jobs.map { index in
            var action = request.template
            action.resource = lines[index].name
            action.suppliedAttributes = stored[lines[index].name]
            action.deadlineCap = actionDeadline
            return (tag: index, request: action)
        }
        let workers = BatchWorkers(runner: ActionRunner(paths: paths, verifiedPlugin: verified),
                                   signals: waited, workerMask: callerMask, jobs: requests, parallel: request.parallel,
                                   closedInWorkers: output?.descriptors ?? [])
        while !workers.isDone {
            if let actionDeadline, workers.waiting > 0, !stopping, Deadline.now() >= actionDeadline {
                let late = workers.dropWaiting()
                log.error("\(late.count) resources not started before the batch's deadline answer HA_TIMEDOUT")
                for index in late { statuses[index] = ExitStatus.timedOut.rawValue }
                continue
            }
            // At most a second (a bound, not a poll: answers, ends and
            // signals wake it), less when lines wait for the batch's deadline.
            var bound: Int64 = 1000
            if let actionDeadline, workers.waiting > 0 { bound = max(1, min(1000, actionDeadline - Deadline.now())) }
            let (finished, stop) = workers.wait(bound: bound)
            for line in finished {
                statuses[line.tag] = line.status
                if let error = line.error { log.error(error) }
            }
            if let stop, !stopping {
                stopping = true
                let notStarted = workers.dropWaiting()
                log.error("received signal \(stop): \(workers.running) running resources were ended, \(notStarted.count) not started answer HA_CMD_FAILED")
                for index in notStarted { statuses[index] = ExitStatus.commandFailed.rawValue }
                for line in workers.interrupt(stop) { statuses[line.tag] = line.status }
            }
        }
        workers.finish()
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

private func environmentValue(_ name: String) -> String? {
    guard let value = getenv(name), value.pointee != 0 else { return nil }
    return String(cString: value)
}
