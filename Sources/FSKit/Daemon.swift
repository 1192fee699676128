import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// A server process a resource starts, watches and stops: the generic half
/// of every daemon-backed resource type (web server, database, log writer),
/// declared once in `init` and driven by ``DaemonType``.
///
/// - **Start**: nothing of it may run and no declared port may be held by
///   another process; the start command runs (as ``launch`` says); start
///   then returns only when the readiness check (a monitoring level)
///   passes, within the start budget, and remembers the master's identity
///   (pid + start time) in state.
/// - **Identity**: the pidfile's first line names the master; it is the
///   master while it matches ``master`` by the host's rules and, when
///   remembered, still has its start time. That identity is the pid hint in
///   ``processes``, so the host checks one pid instead of scanning /proc.
/// - **Stop**: the ``StopLadder``, step by step within the stop budget; then
///   the leftovers of the master's process group, the stale pidfile, and
///   the remembered identity.
/// - **Running** is ``status()``: monitor's process level, exclusive, start
///   and stop all answer from it (``DaemonStatus``).
public struct Daemon {
    /// The resource this daemon belongs to: its state, log, host services and time budget.
    public let resource: Resource
    /// The pidfile whose first line names the master (written by the server, or by
    /// ``Detach`` when the SDK detaches it).
    public var pidFile: PidFile
    /// The master process: name and (typically) its configuration argument.
    public var master: ProcessPattern
    /// The start command (argv, never a shell string), run through ``launch``.
    public var startCommand: [String]
    /// How the start and stop commands run (user, environment, directory, detached).
    public var launch: Launch
    /// How stop ends the master, step by step within the stop budget.
    public var stopLadder: StopLadder
    /// Endpoints only this daemon may serve (TCP ports, Unix socket files):
    /// held by anyone before start is a failure naming it (another process
    /// would answer its probes).
    public var ports: [Endpoint]
    /// The attribute that sets the pidfile, named in reasons.
    public var pidFileAttribute: String
    /// State key of the remembered identity.
    public var stateKey: String
    /// How long after its start command a master of this configuration may
    /// run before the pidfile appears; past it, start refuses naming
    /// ``pidFileAttribute`` instead of waiting out its timeout. nginx writes
    /// its pidfile right after it daemonises: one second is ample.
    public var pidFileGrace: Duration
    /// The pidfile belongs to this daemon alone (PostgreSQL's
    /// `postmaster.pid`, inside its own data directory): one that names a
    /// live process that is not this master is stale (the pid was reused
    /// after a crash), and start removes it instead of refusing, as
    /// PostgreSQL documents for its lock file (docs: "Starting the Database
    /// Server": a stale lock file whose pid "is not a postmaster"). false: a
    /// shared place (nginx's `/run/nginx.pid`) where such a file may be
    /// another server's, never removed.
    public var privatePidFile: Bool
    /// Other lock files the master writes its pid into and a crash leaves
    /// behind (PostgreSQL's `<socket directory>/.s.PGSQL.<port>.lock`): at
    /// start, one naming a pid that is gone, or a live process that is not
    /// the master's program, is removed (the server would take it for a
    /// running server: `kill(pid, 0)` succeeds on an unreaped zombie too).
    /// One naming a live process of the master's program is left: another
    /// server uses it, and the server's own refusal says so.
    public var lockFiles: [PidFile] = []
    /// The by-name fallbacks (no pidfile, a pidfile naming another process,
    /// stop without a pidfile) count and signal only processes that match
    /// ``master`` AND carry this daemon's ``LaunchMark`` (started detached
    /// by the SDK for this very resource). For a generic type whose pattern
    /// cannot tell two resources of one program apart (two `python3 -m
    /// http.server` on two ports): without it, stop of a never-started
    /// resource would end the other's server and exclusive would say it
    /// runs. false: any match counts (a server started by hand is found).
    public var requireMark: Bool = false

    /// Declares the daemon; nothing runs and nothing is checked here (``problem``
    /// says what cannot work). `start`: argv; the other parameters set the
    /// properties of the same names (``pidFileGrace`` defaults to 1 s).
    public init(resource: Resource, pidFile: PidFile, master: ProcessPattern, start: [String],
                launch: Launch = Launch(), stop: StopLadder, ports: [Endpoint] = [],
                pidFileAttribute: String = "pidfile", stateKey: String = "master",
                pidFileGrace: Duration = .seconds(1), privatePidFile: Bool = false) {
        self.resource = resource
        self.pidFile = pidFile
        self.master = master
        self.startCommand = start
        self.launch = launch
        self.stopLadder = stop
        self.ports = ports
        self.pidFileAttribute = pidFileAttribute
        self.stateKey = stateKey
        self.pidFileGrace = pidFileGrace
        self.privatePidFile = privatePidFile
    }

    var processesService: Processes { resource.processes }
    var log: Log { resource.log }

    // MARK: Identity

    /// The identity remembered at the last start, if any.
    public var remembered: ProcessIdentity? { resource.state[stateKey].flatMap(ProcessIdentity.init(text:)) }

    /// The master as the host should check it: the pattern with the pidfile's
    /// pid as hint (with its remembered start time when it is that pid).
    ///
    /// With ``requireMark``: only what is this daemon's — the master the
    /// pidfile names, else one carrying its mark — and nothing when neither
    /// runs: the host's checks (after stop it scans by the pattern and
    /// ends every match) would otherwise take another resource's process
    /// of the same program for this one.
    public var processes: [ProcessPattern] {
        var pattern = master
        if requireMark {
            if case .running(let id) = status() {
                pattern.hint = id
            } else if let id = markedMasters().first {
                pattern.hint = id
            } else {
                return []
            }
            return [pattern]
        }
        if case .pid(let pid, _) = pidFile.read() {
            let known = remembered
            pattern.hint = known?.pid == pid ? known : ProcessIdentity(pid: pid, startTime: 0)
        }
        return [pattern]
    }

    /// Why the declaration cannot work (the stop ladder, the launch
    /// settings, the commands), or nil. For `validate`.
    public var problem: String? {
        if startCommand.first?.isEmpty ?? true { return "the start command is empty" }
        if let why = stopLadder.problem { return why }
        for command in [startCommand] + stopLadder.steps.compactMap({ step -> [String]? in
            if case .command(let argv) = step.action { return argv } else { return nil }
        }) {
            if let why = launch.problem(for: command) { return why }
        }
        return nil
    }

    // MARK: Running

    /// Where the daemon stands (see ``DaemonStatus``). Costs one pidfile
    /// read, one state read and one process's /proc files; a /proc scan only
    /// when the pidfile does not name a running master: every such branch
    /// (no pidfile, no pid in it, a dead pid, a pid now another process's)
    /// answers the same question — does a master of this configuration run?
    public func status() -> DaemonStatus {
        let pid: Int32
        switch pidFile.read() {
        case .unreadable(let why):
            return .unknown("pidfile \(pidFile.path) cannot be read: \(why)")
        case .absent:
            if masterRuns() {
                return .withoutPidFile("\(describeMaster) runs, but its pidfile \(pidFile.path) is missing")
            }
            return .stopped("not running (no pidfile \(pidFile.path))")
        case .malformed(let why):
            if masterRuns() {
                return .withoutPidFile("\(describeMaster) runs, but its pidfile \(pidFile.path) holds no pid (\(why))")
            }
            return .stopped("not running (pidfile \(pidFile.path) holds no pid (\(why)) and no \(describeMaster) runs)")
        case .pid(let p, _):
            pid = p
        }
        let known = remembered.flatMap { $0.pid == pid ? $0 : nil }
        // Started detached by the SDK: the identity recorded at spawn is the
        // master while that very process runs, whatever its name now.
        if launch.detach != nil, let known, known.startTime != 0, processesService.alive(pid: pid, startTime: known.startTime) {
            return .running(known)
        }
        if processesService.matches(known ?? ProcessIdentity(pid: pid, startTime: 0), master) {
            if let known { return .running(known) }
            // Read the start time after the match, then confirm it is still the same process.
            if let now = processesService.identity(pid: pid), processesService.matches(now, master) { return .running(now) }
        }
        if processesService.alive(pid: pid) {
            // A live process that is not this master: another server's
            // pidfile, or a pid reused since. Not ours — so the answer is
            // whether this master runs at all (the same scan as a missing
            // pidfile), and the file is never removed by this resource.
            let foreign = foreignPidReason(pid, remembered: known != nil)
            if masterRuns() {
                return .withoutPidFile("\(describeMaster) runs, but its pidfile \(pidFile.path) names \(foreign)")
            }
            if privatePidFile {
                // Only this master writes it: the master died and its pid
                // was reused — a crash, as when the pid is gone (no
                // leftovers: the group is the other process's).
                return .crashed(pid: pid, "pidfile \(pidFile.path) names \(foreign) (its pid reused since the master died)",
                                leftovers: [])
            }
            return .stopped("not running (pidfile \(pidFile.path) names \(foreign); "
                            + "no \(describeMaster) runs; the file is left alone)")
        }
        // The kernel hands out no pid still used as a process group id, so a
        // dead master's group is its own.
        let leftovers = processesService.groupMembers(pid, named: master.name, since: known?.startTime ?? 0) ?? []
        let why = "pid \(pid) from \(pidFile.path): no such process"
        // Nothing of the dead master's group, but a master of this
        // configuration runs (started by hand after the crash): running,
        // as for any other pidfile that does not name it.
        if leftovers.isEmpty && masterRuns() {
            return .withoutPidFile("\(describeMaster) runs, but its pidfile \(pidFile.path) names \(why)")
        }
        return .crashed(pid: pid, why, leftovers: leftovers)
    }

    /// "pid 123, a running process that is not nginx with /X/nginx.conf"
    func foreignPidReason(_ pid: Int32, remembered: Bool) -> String {
        "pid \(pid), a running process that is not \(describeMaster)" + (remembered ? " (or not of the start time remembered)" : "")
    }

    /// The pid the pidfile names when that pid runs but is not this
    /// master (another server's pidfile, a reused pid), else nil.
    func foreignPid() -> Int32? {
        guard case .pid(let pid, _) = pidFile.read(), processesService.alive(pid: pid) else { return nil }
        let known = remembered.flatMap { $0.pid == pid ? $0 : nil }
        return processesService.matches(known ?? ProcessIdentity(pid: pid, startTime: 0), master) ? nil : pid
    }

    /// A process matching ``master`` runs (with ``requireMark``: one that
    /// carries this daemon's mark). The host's snapshot; a /proc scan.
    func masterRuns() -> Bool {
        requireMark ? !markedMasters().isEmpty : processesService.exists(master)
    }

    /// Signals every process ``masterRuns()`` counts.
    func signalMasters(_ number: Int32) {
        if requireMark {
            for id in markedMasters() { _ = processesService.signal(id, number) }
        } else {
            processesService.signal(master, number)
        }
    }

    /// The processes matching ``master`` (name, argument, owner) that carry
    /// this daemon's ``LaunchMark`` by an owner of ``markOwners``: one
    /// environment read per match, not per process.
    func markedMasters() -> [ProcessIdentity] {
        let needle = [UInt8](mark.utf8) + [0]
        return processesService.find(master, owner: master.owner.map(Int64.init) ?? -1).compactMap { pid in
            guard let id = processesService.identity(pid: pid), LaunchMark.environment(of: pid, holds: needle),
                  let uids = LaunchMark.userIDs(of: pid), markOwners.contains(uids.real),
                  markOwners.contains(uids.effective), processesService.matches(id, master) else { return nil }
            return id
        }
    }

    /// "nginx with /etc/nginx/nginx.conf"
    var describeMaster: String { master.name + (master.argument.map { " with \($0)" } ?? "") }

    /// Monitor's process level.
    public func probe() -> Outcome { status().monitorOutcome }

    /// The exclusive answer.
    public func exclusive() -> Outcome { status().exclusiveOutcome }

    // MARK: Start

    /// Starts the daemon unless it runs, and returns once `ready` (a
    /// monitoring level, see ``ResourceType/check(upTo:)``) passes; the
    /// start budget is the action's time left, less half a second for the
    /// host's own process check.
    public func start(ready: () -> Outcome) -> Outcome {
        if let why = problem { return .invalid(why) }
        let status = status()
        switch status {
        case .running(let id):
            return waitUntilReady(started: "already running (pid \(id.pid))", ready: ready)
        case .withoutPidFile(let why):
            return .failed(why + "; stop it first")
        case .unknown(let why):
            return .failed(why)
        case .crashed(let pid, let why, let leftovers):
            log.info("stale pidfile (\(why)): cleaning up before start")
            cleanUp(leftovers, of: pid)
            pidFile.remove()
        case .stopped:
            if case .malformed = pidFile.read() { pidFile.remove() }
            if privatePidFile, let pid = foreignPid() {
                log.info("stale pidfile \(pidFile.path): pid \(pid) runs but is not \(describeMaster); removing it before start")
                pidFile.remove()
            }
        }
        removeStaleLockFiles()
        // A pidfile naming a running server of the same program is another
        // resource's (two configurations with nginx's compiled-in default
        // /run/nginx.pid): starting would overwrite it. A pid reused by an
        // unrelated process is left for the server to overwrite.
        let before = foreignPid()
        if let why = sharedPidFileProblem(before) { return .badConfiguration(why) }
        forget()
        for endpoint in ports where endpoint.isHeld(timeout: resource.budget(.milliseconds(500))) {
            return .failed("\(endpoint) is already in use by another process; "
                           + "not starting \(master.name) (its probes would ask that process)")
        }
        let argv = launch.argv(startCommand, mark: launch.detach == nil ? nil : mark)
        if let detach = launch.detach {
            // A command that does not daemonise: detached by the SDK, which writes the pidfile.
            let child: Int32
            switch detach.start(argv, pidFile: pidFile, mark: mark, owners: markOwners) {
            case .success(let pid): child = pid
            case .failure(let why): return .failed("start command \(startCommand.joined(separator: " ")): \(why)")
            }
            // The identity of what was started, now: it is the master
            // whatever it is called later (a wrapper that execs the
            // writer), so start, monitor, exclusive and stop do not depend
            // on when its name changes.
            if let id = processesService.identity(pid: child) {
                do throws(State.WriteError) { try resource.state.store(id.text, for: stateKey) } catch {
                    return .failed("started (pid \(child)), but its identity could not be kept: \(error)")
                }
            }
            processesService.refresh()
            let outcome = waitUntilReady(started: "started", ready: ready, pidBefore: before, child: child)
            // A start command that ended: the pidfile the SDK wrote for it
            // names nothing, and would read as a crash ("master process
            // gone") until a stop. One still running keeps it (stop ends it).
            if !outcome.isSuccess, Self.ended(child) != nil || !processesService.alive(pid: child),
               case .pid(child, _) = pidFile.read() {
                pidFile.remove()
                forget()
            }
            return outcome
        }
        let result = resource.run(argv, timeout: resource.budget(max(.seconds(1), resource.timeLeft - .milliseconds(500))),
                                  captureOutput: true)
        guard result.succeeded else {
            if result.timedOut {
                // The host killed the command's group; a daemon that already
                // left it (setsid) is still there: end it too.
                processesService.refresh()
                signalMasters(SIGKILL)
            }
            return .failed("start command \(startCommand.joined(separator: " ")) \(result.summary)"
                           + Daemon.lastLines(result.output))
        }
        processesService.refresh()
        return waitUntilReady(started: "started", ready: ready, pidBefore: before)
    }

    /// Polls until the pidfile names a live master (remembered at once) and
    /// `ready` passes, or the start budget is spent. A master that runs
    /// without writing the expected pidfile fails at once (after
    /// ``pidFileGrace``), naming the pidfile attribute: waiting would only
    /// spend the whole start timeout.
    ///
    /// After a start command (`pidBefore`: the foreign pid the pidfile
    /// named before it, if any), a pidfile that names a new, running pid
    /// that does not match ``master`` for 300 ms fails at once, naming the
    /// pid and the pattern: the server runs, but ``master`` does not
    /// describe it (a `process_name` that is not the server's), and no wait
    /// would change that.
    ///
    /// After a start command, a pidfile naming a new pid that stays dead
    /// for 300 ms fails at once too: the server wrote it and ended.
    ///
    /// `child`: the pid of a detached start command (this process's child):
    /// when it ends before ready, start fails at once with how it ended
    /// (a writer that cannot run does not cost the whole start timeout).
    func waitUntilReady(started what: String, ready: () -> Outcome, pidBefore: Int32?? = .none,
                        child: Int32? = nil) -> Outcome {
        let begun = ProbeDeadline(after: pidFileGrace)
        var seen: ProcessIdentity?
        var mismatch: (pid: Int32, since: ProbeDeadline)?
        var died: (pid: Int32, since: ProbeDeadline)?
        var lastProblem = "no pidfile \(pidFile.path) yet"
        var nextScan = ProbeDeadline(after: .zero)
        while true {
            if let child, let ended = Self.ended(child) {
                return .failed("\(what), but the start command \(startCommand.joined(separator: " ")) (pid \(child)) "
                               + "\(ended) before it was ready")
            }
            switch status() {
            case .running(let id):
                if seen != id {
                    do throws(State.WriteError) { try resource.state.store(id.text, for: stateKey) } catch {
                        return .failed("\(what) (pid \(id.pid)), but its identity could not be kept: \(error)")
                    }
                    seen = id
                }
                let outcome = ready()
                if outcome.isSuccess { return .success }
                lastProblem = outcome.reason ?? "not ready"
            case .crashed(let pid, let why, _) where seen != nil:
                return .failed("\(what), then the master (pid \(pid)) went away: \(why)")
            case .crashed(let pid, let why, _):
                lastProblem = why
                // After a start command (start removed a stale pidfile
                // first), a pidfile naming a new pid that stays dead for
                // 300 ms is the new server's, ended before it was ready
                // (it could not bind its port, a fatal configuration
                // error): no wait would change that (R10E, finding 4).
                if case .some(let before) = pidBefore, pid != before {
                    if let d = died, d.pid == pid {
                        if d.since.hasPassed {
                            return .failed("\(what), but the master it wrote to its pidfile (pid \(pid)) ended before it was ready: \(why)")
                        }
                    } else {
                        died = (pid, ProbeDeadline(after: .milliseconds(300)))
                    }
                }
            case .stopped(let why), .withoutPidFile(let why), .unknown(let why):
                lastProblem = why
                if case .some(let before) = pidBefore, let pid = foreignPid(), pid != before {
                    if let m = mismatch, m.pid == pid {
                        if m.since.hasPassed { return refuseMismatch(what, pid: pid) }
                    } else {
                        mismatch = (pid, ProbeDeadline(after: .milliseconds(300)))
                    }
                } else {
                    mismatch = nil
                }
                if begun.hasPassed, nextScan.hasPassed {
                    processesService.refresh()
                    if masterRuns() { return refuseWithoutPidFile(what) }
                    nextScan = ProbeDeadline(after: .milliseconds(250))
                }
            }
            if resource.timeLeft < .milliseconds(300) {
                return .failed("\(what), but not ready within the start timeout: \(lastProblem)")
            }
            usleep(20_000)
        }
    }

    /// See ``lockFiles``.
    func removeStaleLockFiles() {
        for file in lockFiles {
            guard case .pid(let pid, _) = file.read() else { continue }
            if processesService.alive(pid: pid) {
                let program = ProcessPattern(name: master.name, argument: nil)
                if processesService.matches(ProcessIdentity(pid: pid, startTime: 0), program) { continue }
            }
            log.info("stale lock file \(file.path): pid \(pid) is not a running \(master.name); removing it before start")
            file.remove()
        }
    }

    /// Why the pidfile is another server's, or nil: it names a running
    /// process of the master's program (`pid`: ``foreignPid()``) that is
    /// not this master — two configurations writing one pidfile (nginx's
    /// compiled-in `/run/nginx.pid`). Start refuses it (it would overwrite
    /// the other's pidfile); a type's `validate` may too. The SDK cannot see
    /// other resources, so this is found only while the other server runs.
    public func sharedPidFileProblem(_ pid: Int32?? = .none) -> String? {
        guard !privatePidFile, let foreign = pid ?? foreignPid(),
              processesService.matches(ProcessIdentity(pid: foreign, startTime: 0),
                                       ProcessPattern(name: master.name, argument: nil)) else { return nil }
        return "pidfile \(pidFile.path) names pid \(foreign), a running \(master.name) that is not "
            + "\(describeMaster): another server writes the same pidfile; each resource needs "
            + "its own pidfile (set attribute '\(pidFileAttribute)' and the server's own pidfile setting)"
    }

    /// The pidfile names a new pid that runs but does not match ``master``.
    func refuseMismatch(_ what: String, pid: Int32) -> Outcome {
        let shown = processesService.describe(pid: pid).map { " (\($0))" } ?? ""
        return .badConfiguration("\(what), but pid \(pid) from \(pidFile.path)\(shown) runs and does not match "
                                 + "the process pattern: name '\(master.name)'"
                                 + (master.argument.map { ", argument '\($0)'" } ?? "")
                                 + "; set the process name to what that process is called (comm, argv[0], its script)")
    }

    /// The master runs but did not write the pidfile this resource reads:
    /// stop it (it cannot be watched) and say which attribute to set.
    func refuseWithoutPidFile(_ what: String) -> Outcome {
        log.error("\(describeMaster) runs but did not write \(pidFile.path): stopping it")
        signalMasters(SIGTERM)
        if !resource.waitUntil(within: min(.seconds(2), resource.timeLeft / 2), every: .milliseconds(50), {
            processesService.refresh(); return !masterRuns()
        }) {
            signalMasters(SIGKILL)
        }
        return .badConfiguration("\(what), but \(describeMaster) did not write its pidfile \(pidFile.path): "
                                 + "set attribute '\(pidFileAttribute)' to the pidfile the server writes")
    }

    // MARK: Stop

    /// The ``LaunchMark`` entry of what this daemon starts detached.
    var mark: String { LaunchMark.entry(type: resource.typeName, resource: resource.name, pidFile: pidFile.path) }

    /// Who may own a marked process that stop ends: root, fshost's user,
    /// the master's declared owner (the user it runs as).
    var markOwners: Set<UInt32> { Set([0, geteuid()] + (master.owner.map { [$0] } ?? [])) }

    /// What carries this daemon's ``LaunchMark`` now (started detached
    /// only; empty otherwise).
    func marked() -> [ProcessIdentity] {
        launch.detach == nil ? [] : LaunchMark.processes(marked: mark, owners: markOwners)
    }

    /// Stops the daemon: the ladder, then leftovers, pidfile and identity.
    /// Stopping a stopped daemon succeeds. A daemon the SDK started
    /// detached: whatever still carries its ``LaunchMark`` afterwards (a
    /// `setsid` grandchild whose parent exited, what a crashed master left)
    /// is ended too, in every case.
    public func stop() -> Outcome {
        if let why = stopLadder.problem { return .invalid(why) }
        let outcome: Outcome
        switch status() {
        case .stopped:
            if case .malformed = pidFile.read() { pidFile.remove() }
            endOutsiders(marked(), of: nil)
            outcome = .success
        case .crashed(let pid, let why, let leftovers):
            log.info("stale pidfile (\(why)); removing it and any leftover processes")
            cleanUp(leftovers, of: pid)
            endOutsiders(marked(), of: pid)
            pidFile.remove()
            outcome = .success
        case .unknown(let why):
            return .failed(why)
        case .withoutPidFile(let why):
            log.warning(why + ": stopping it by name")
            outcome = climb(target: nil)
            if outcome.isSuccess { endOutsiders(marked(), of: nil) }
        case .running(let id):
            // A program the SDK started may start others in sessions of
            // their own (setsid): out of its process group, the ladder's
            // group signals miss them. What it started is taken now, by
            // parent links and by its mark, and what outlives the ladder
            // is ended too.
            let started = launch.detach != nil ? Descendants.of(id.pid) : []
            outcome = climb(target: id)
            if outcome.isSuccess {
                cleanUp(processesService.groupMembers(id.pid, named: master.name, since: id.startTime) ?? [], of: id.pid)
                let known = Set(started.map(\.pid))
                endOutsiders(started + marked().filter { !known.contains($0.pid) }, of: id.pid)
                if case .pid(id.pid, _) = pidFile.read() { pidFile.remove() }
            }
        }
        if outcome.isSuccess { forget() }
        processesService.refresh()
        return outcome
    }

    /// Runs the stop ladder against `target` (nil: every process matching
    /// the master's pattern), each step within its share of the time left
    /// less a reserve for the host's own check.
    func climb(target: ProcessIdentity?) -> Outcome {
        let gone: () -> Bool = {
            if let target { return !processesService.alive(pid: target.pid, startTime: target.startTime) }
            processesService.refresh()
            return !masterRuns()
        }
        let reserve = min(Duration.seconds(2), resource.timeLeft / 5)
        var tried: [String] = []
        for (index, step) in stopLadder.steps.enumerated() {
            if gone() { return .success }
            let budget = stopLadder.budget(ofStep: index, left: resource.timeLeft - reserve)
            if !tried.isEmpty {
                log.warning("\(describeMaster) still runs after \(tried.last!): \(step.name)")
            }
            tried.append(step.name)
            switch step.action {
            case .command(let argv) where target == nil:
                // A server's own stop command (`nginx -s quit`, `pg_ctl
                // stop`) signals the pid its pidfile names — here not this
                // master: it would stop another process.
                log.warning("stop step \(step.name) skipped: the pidfile \(pidFile.path) does not name the master")
                tried.removeLast()
                continue
            case .command(let argv):
                let result = resource.run(launch.argv(argv), timeout: resource.budget(budget), captureOutput: true)
                if !result.succeeded {
                    log.warning("stop step \(step.name): \(argv.joined(separator: " ")) \(result.summary)"
                                + Daemon.lastLines(result.output))
                    continue
                }
            case .signal(let number, let group):
                if let target {
                    processesService.signal(target, number)
                    if group {
                        for member in processesService.groupMembers(target.pid, named: master.name,
                                                                    since: target.startTime) ?? [] {
                            processesService.signal(member, number)
                        }
                    }
                } else {
                    processesService.refresh()
                    signalMasters(number)
                }
            }
            if resource.waitUntil(within: budget, every: .milliseconds(20), gone) { return .success }
        }
        if gone() { return .success }
        return .failed("\(describeMaster)" + (target.map { " (pid \($0.pid))" } ?? "")
                       + " did not exit after " + tried.joined(separator: ", "))
    }

    /// Ends what a dead master left in its process group: TERM, then KILL.
    func cleanUp(_ leftovers: [ProcessIdentity], of leader: Int32) {
        guard !leftovers.isEmpty else { return }
        log.warning("\(leftovers.count) \(master.name) process(es) of dead master \(leader) remain: "
                    + leftovers.map { String($0.pid) }.joined(separator: ",") + "; sending TERM")
        terminate(leftovers, survivors: "leftovers of \(leader)")
    }

    /// Ends the processes `master` had started (``Descendants``, taken
    /// before the stop ladder, and what carries its ``LaunchMark``) that
    /// still run after it: TERM, then KILL, each by pid and start time (a
    /// reused pid is never signalled). `master` nil: no master runs.
    func endOutsiders(_ started: [ProcessIdentity], of master: Int32?) {
        let left = started.filter { processesService.alive(pid: $0.pid, startTime: $0.startTime) }
        guard !left.isEmpty else { return }
        log.warning("\(left.count) process(es) started by \(describeMaster)" + (master.map { " (pid \($0))" } ?? "")
                    + " remain after the stop ladder (another name, out of its process group, or their parent gone): "
                    + left.map { String($0.pid) }.joined(separator: ",") + "; sending TERM")
        terminate(left, survivors: "processes started by \(describeMaster)")
    }

    /// TERM to each of `processes` (by pid and start time), up to 2 s (or a
    /// third of the time left) for all to end, then KILL and as long again;
    /// `survivors` names them in the KILL warning.
    private func terminate(_ processes: [ProcessIdentity], survivors: String) {
        let allGone = { processes.allSatisfy { !processesService.alive(pid: $0.pid, startTime: $0.startTime) } }
        for p in processes { processesService.signal(p, SIGTERM) }
        if resource.waitUntil(within: min(.seconds(2), resource.timeLeft / 3), allGone) { return }
        log.warning("\(survivors) survived TERM: sending KILL")
        for p in processes { processesService.signal(p, SIGKILL) }
        _ = resource.waitUntil(within: min(.seconds(2), resource.timeLeft / 3), allGone)
    }

    /// Drops the remembered identity (a failed removal is logged by State).
    func forget() {
        if resource.state[stateKey] != nil { resource.state[stateKey] = nil }
    }

    /// How child `pid` ended ("exited with status 3", "was killed by signal
    /// 9 (KILL)"), reaping it; nil while it runs (or is not a child).
    static func ended(_ pid: Int32) -> String? {
        var status: Int32 = 0
        guard waitpid(pid, &status, WNOHANG) == pid else { return nil }
        if status & 0x7f == 0 { return "exited with status \((status >> 8) & 0xff)" }
        let signal = status & 0x7f
        return "was killed by signal \(signal)" + (signal == SIGKILL ? " (KILL)" : signal == SIGTERM ? " (TERM)" : "")
    }

    /// ": " + the last two lines of a command's output, escaped, for a reason.
    static func lastLines(_ output: String) -> String {
        let lines = output.split(separator: "\n").suffix(2).map { LogText.escaped(String($0), limit: 200) }
        return lines.isEmpty ? "" : ": " + lines.joined(separator: " | ")
    }
}
