// The log writer resource type: a program judged by the log it writes,
// after the FailSafe guide: "For a resource that writes to a log file,
// check that the size of the log file is increasing or use the grep
// command to check for a particular message."
//
//   level 1  process  the writer runs (the SDK's Daemon: its pid and start
//                     time, checked by the host)
//   level 2  growth   the log changed within growth_window (grew, or was
//                     rotated or truncated: activity, never a failure)
//   level 3  content  no line since the last check matches error_pattern
//                     (the new bytes only), and expected_message was seen
//                     within growth_window
//
// The log, its directories and the writer's program are held to the
// host's trust rule (PathTrust) at validate, start and every level 2/3
// check: another local user must not write the lines that judge it.
//
// The writer need not daemonise: the SDK starts it detached (own session,
// output appended to the log or to /dev/null) and writes its pidfile.
// Stop is TERM, then KILL, to the writer and its process group.
import FSKit
#if canImport(Glibc)
import Glibc
#endif

struct LogWriter: DaemonType, CustomMonitor {
    // MARK: Description

    static let summary = "A program judged by the log it writes: process, log growth, expected and error messages"

    /// Where the writer's stdout and stderr go.
    enum Output: String, CaseIterable, Sendable { case log, null }

    static let startCommand = Attribute.command("start_command",
        "the writer (argv, no shell word splitting; the program an absolute path to a file only root or fshost's user can write); runs in the foreground: fshost detaches it").required
    static let logFile = Attribute.path("log_file",
        "the log the writer writes; its directory must exist and be writable only by its owner (root or fshost's user)").required
    static let output = Attribute.choice("output", default: Output.log,
        "where the writer's stdout and stderr go: log (appended to log_file) or null (/dev/null: it writes the log itself)")
    static let workingDirectory = Attribute.path("working_directory", "the writer's working directory (default: fshost's)")
    static let user = Attribute.user("user",
        "the OS user the writer runs as (least privilege; default: as fshost runs, root): the owner of its process in the host's checks; the log and its directories may be owned by root or this user, never another")
    static let processName = Attribute.string("process_name",
        "the writer's process name for the host's checks (comm, argv[0], or the script an interpreter runs); default: the basename of start_command's first word")
    static let processArgument = Attribute.string("process_argument",
        "a whole argument the writer's process carries, so another process of the same name is not taken for it; default: start_command's last word when it has more than one; empty: none")
    static let pidfile = Attribute.path("pidfile",
        "where fshost writes the writer's pid; default /run/logwriter.RESOURCE.pid")
    static let growthWindow = Attribute.positiveDuration("growth_window", default: .seconds(30),
        "level 2: how long the log may stay unchanged (same size, inode and mtime) before the writer counts as stuck")
    static let expectedMessage = Attribute.pattern("expected_message",
        "level 3: a POSIX extended regular expression (grep -E, bytes, no back-references) that must have appeared in a line within growth_window")
    static let errorPattern = Attribute.pattern("error_pattern",
        "level 3: a POSIX extended regular expression (no back-references); a line written since the last check that matches it fails the resource until the next start")
    static let maxRead = Attribute.integer("max_read", default: 16 << 20, in: 4096...(1 << 30),
        "level 3: the most bytes read per check; when more waited, the oldest are skipped (logged)")
    static let growthTimeout = Attribute.positiveDuration("growth_timeout", default: .seconds(2),
        "level 2 fails when its stat of the log takes longer (a hung file system)").monitorOnly
    static let readTimeout = Attribute.positiveDuration("read_timeout", default: .seconds(5),
        "level 3 fails when reading and matching the new bytes takes longer").monitorOnly

    static let attributes: [Attribute] = [
        startCommand, logFile, output, workingDirectory, user, processName, processArgument, pidfile, growthWindow,
        expectedMessage, errorPattern, maxRead, growthTimeout, readTimeout,
    ]

    static let levels = [
        MonitorLevel(1, "process", checks: "the writer runs (its pid and start time)",
                     cost: "one pidfile read and one process's /proc files"),
        MonitorLevel(2, "growth", checks: "the log changed (grew, rotated, truncated) within growth_window",
                     cost: "one stat; a state write when it changed"),
        MonitorLevel(3, "content", checks: "since the last check expected_message appeared and error_pattern did not",
                     cost: "reads only the bytes appended since the last check (at most max_read); one state write"),
    ]

    static let defaults = ActionDefaults(
        timeouts: [.exclusive: .seconds(5), .start: .seconds(15), .stop: .seconds(15), .monitor: .seconds(15),
                   .restart: .seconds(30), .validate: .seconds(5)],
        level: 2, retries: 1, retryInterval: .milliseconds(500))

    /// Start returns once the writer runs.
    static let readinessLevel: UInt32 = 1

    /// State keys (the daemon's identity is "master"): the ``Watch`` (growth
    /// mark, read position, when expected_message was last seen: level 3
    /// passes while that is within growth_window, so a second monitor that
    /// read the line first, an operator's check, does not fail the next
    /// one), and the latched error line.
    static let watchKey = "watch", errorKey = "error"
    /// Keys of fshost before the watch was one value: removed by stop.
    static let formerKeys = ["growth", "position", "expected_seen"]

    /// Who may own the writer's program: root and fshost's user (the
    /// host's rule, ``TrustedFile``): fshost starts it.
    static var trustedOwners: Set<UInt32> { [0, geteuid()] }

    /// The uid of attribute `user` (nil: not set, or no such user; the
    /// latter is refused by validate and every action, HA_INVAL_ARGS).
    let userId: UInt32?

    /// Who may own the log, `log.1` and every directory above them:
    /// root, fshost's user and, when set, `user` — a writer running as
    /// `user` owns the log it creates, and may own the directory it
    /// creates its log in. Never a third user, and nothing group- or
    /// world-writable (``TrustedFile``): another account could write the
    /// lines that judge the resource.
    var logOwners: Set<UInt32> { Self.trustedOwners.union(userId.map { [$0] } ?? []) }

    // MARK: Configuration

    let resource: Resource
    var daemon: Daemon
    let logFile: String
    let growthWindow: Duration, growthTimeout: Duration, readTimeout: Duration
    let follower: LogFollower
    /// The compiled patterns, or why one does not compile.
    let expected: Result<LinePattern?, LinePattern.CompileError>
    let error: Result<LinePattern?, LinePattern.CompileError>

    init(resource: Resource) throws(ConfigurationError) {
        self.resource = resource
        let command = resource[Self.startCommand]
        logFile = resource[Self.logFile]
        growthWindow = resource[Self.growthWindow]
        growthTimeout = resource[Self.growthTimeout]
        readTimeout = resource[Self.readTimeout]
        let userName = resource[Self.user]
        let account = userName.flatMap(Launch.Account.init)
        userId = account?.uid
        follower = LogFollower(path: logFile, maxBytes: resource[Self.maxRead],
                               trustedOwners: Self.trustedOwners.union(account.map { [$0.uid] } ?? []))
        expected = Self.compile(resource[Self.expectedMessage])
        error = Self.compile(resource[Self.errorPattern])
        let name = resource[Self.processName] ?? String((command.first ?? "").split(separator: "/").last ?? "")
        let argument = resource[Self.processArgument].map { $0.isEmpty ? nil : $0 } ?? (command.count > 1 ? command.last : nil)
        // setpriv --reuid/--regid/--init-groups, then the writer (the pid
        // stays the one spawned). An unknown user: refused (checkValues).
        let launch = Launch(user: userName, workingDirectory: resource[Self.workingDirectory],
                            detach: Detach(output: resource[Self.output] == .log ? logFile : nil))
        daemon = Daemon(resource: resource, pidFile: PidFile(resource[Self.pidfile] ?? "/run/logwriter.\(resource.name).pid"),
                        // Run as `user`: only a process of that uid is the writer for
                        // the host's checks (an unknown user: a uid no process has).
                        master: ProcessPattern(name: name, argument: argument,
                                               owner: userName == nil ? nil : (account?.uid ?? UInt32.max)),
                        start: command, launch: launch,
                        // A shell loop has no graceful stop of its own: TERM to it and its
                        // children (a `sleep` between lines); CONT, so that a stopped
                        // (SIGSTOP) writer, which dash leaves TERM pending for, gets it;
                        // then KILL.
                        stop: StopLadder(.signal("TERM", SIGTERM, share: 1, group: true),
                                         .signal("CONT", SIGCONT, share: 2, group: true),
                                         .signal("KILL", SIGKILL, share: 1, group: true)))
        // Name and last word do not tell apart two resources running one
        // writer program (the same script, each with its own log_file): without
        // the pidfile's writer, only a process carrying this resource's launch
        // mark is its writer (as for the daemon type).
        daemon.requireMark = true
    }

    static func compile(_ text: String?) -> Result<LinePattern?, LinePattern.CompileError> {
        guard let text else { return .success(nil) }
        do throws(LinePattern.CompileError) { return .success(try LinePattern(text)) } catch { return .failure(error) }
    }

    // MARK: Validation

    /// What the schema cannot say: the patterns compile, the process name
    /// is not empty. HA_INVAL_ARGS naming the attribute, at every level.
    func checkValues() -> Outcome {
        if case .failure(let why) = expected { return .invalid("attribute 'expected_message': invalid regular expression \(why)") }
        if case .failure(let why) = error { return .invalid("attribute 'error_pattern': invalid regular expression \(why)") }
        if daemon.master.name.isEmpty { return .invalid("attribute 'process_name' is empty") }
        if let name = resource[Self.user], userId == nil {
            return .invalid("attribute 'user': no user '\(LogText.escaped(name))' on this node (getpwnam)")
        }
        let program = resource[Self.startCommand].first ?? ""
        if !program.hasPrefix("/") {
            return .invalid("attribute 'start_command': the program '\(LogText.escaped(program))' must be an absolute path "
                            + "(it runs as root; a relative path or bare name would run whatever the caller's directory or PATH holds)")
        }
        // A missing directory is missing configuration (6), like a missing program, not a bad value.
        if let directory = resource[Self.workingDirectory], directory.hasPrefix("/"),
           let problem = FileCheck.problem(directory, .kind(.directory)) {
            return .badConfiguration("attribute 'working_directory': \(directory): \(problem)")
        }
        if let problem = daemon.problem { return .invalid("attribute 'start_command': \(problem)") }
        return .success
    }

    /// Why the log (resolved, when it exists) or a directory above it up to
    /// `/` could be written by another user, or the directory is missing;
    /// nil when trusted. Checked by validate, start and every level 2 and 3
    /// check: a directory swapped or a mode changed while the writer runs
    /// must not let another user write the lines that judge it.
    func logTrustProblem() -> String? {
        TrustedFile.problem(logFile, role: "log file", mayBeMissing: true, owners: logOwners)
    }

    /// Before start and on `validate`: the values, the log's directory
    /// (exists, writable by its owner only, owned by root or fshost's
    /// user: another user could otherwise write the lines that judge the
    /// resource), the log if it exists, the pidfile's place, the program.
    func validate() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        if let problem = logTrustProblem() {
            return .badConfiguration("attribute 'log_file': \(problem)")
        }
        return daemon.setupProblem(owners: Self.trustedOwners)
    }

    // MARK: Start and stop

    /// Unless it runs: the growth window and the read position start at
    /// the log's current end, an earlier error is forgotten, then the
    /// writer starts (the daemon's start). Running: nothing changes.
    func start() -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        if case .running = daemon.status() { return daemon.start { check(upTo: Self.readinessLevel) } }
        let reset = resetWatch()
        guard reset.isSuccess else { return reset }
        return daemon.start { check(upTo: Self.readinessLevel) }
    }

    /// The daemon's stop, then the watch state is dropped (the next start
    /// takes a new baseline).
    func stop() -> Outcome {
        let stopped = daemon.stop()
        guard stopped.isSuccess else { return stopped }
        for key in [Self.watchKey, Self.errorKey] + Self.formerKeys where resource.state[key] != nil {
            do throws(State.WriteError) { try resource.state.store(nil, for: key) } catch {
                return .failed("stopped, but the log watch could not be reset: \(error)")
            }
        }
        return .success
    }

    /// A new baseline: the log's facts and its end, now; no error latched.
    func resetWatch() -> Outcome {
        var watch = Watch()
        switch LogGrowth.mark(logFile) {
        case .success(let mark): watch.growth = mark
        // Not there yet (output=null: the writer creates it): level 2
        // waits growth_window for it, as for a log that stopped growing.
        case .failure(.absent): watch.growth = LogGrowth.Mark.absent(since: LogGrowth.now())
        case .failure(let p): return .failed("log_file \(logFile): \(p)")
        }
        switch follower.baseline() {
        case .success(let position): watch.position = position
        case .failure(let p): return .failed("log_file \(logFile): \(p)")
        }
        do throws(State.WriteError) {
            try resource.state.store(watch.text, for: Self.watchKey)
            try resource.state.store(nil, for: Self.errorKey)
        } catch {
            return .failed("the log watch could not be kept: \(error)")
        }
        return .success
    }

    // MARK: Monitoring

    /// One level alone (the SDK's contract); ``monitor(upTo:)`` is what a
    /// monitor runs.
    func probe(level: UInt32) -> Outcome {
        switch level {
        case 1:
            let values = checkValues()
            return values.isSuccess ? daemon.probe() : values
        case 2, 3: return monitor(only: level)
        default: return .invalid("no monitoring level \(level)")
        }
    }

    /// Levels 1 to `level` in order, the first failure answering; levels 2
    /// and 3 share one ``Watch`` read from state and write it back once, at
    /// the end (only when it changed), so a level-3 monitor costs one
    /// fsync'd state write, not one per level.
    func monitor(upTo level: UInt32) -> Outcome {
        guard level >= 1 else { return .success }
        let first = probe(level: 1)
        guard first.isSuccess, level >= 2 else { return first }
        return monitor(only: min(level, 3), from: 2)
    }

    /// Levels `from`…`level` (2, 3) on one watch, stored once.
    func monitor(only level: UInt32, from lowest: UInt32? = nil) -> Outcome {
        let values = checkValues()
        guard values.isSuccess else { return values }
        if let problem = logTrustProblem() { return .failed("log_file: \(problem): its lines cannot judge the writer") }
        let (loaded, corrupted) = Watch.parse(resource.state[Self.watchKey])
        for part in corrupted {
            resource.log.warning("state '\(Self.watchKey)' is corrupted (its \(part): '"
                                 + LogText.escaped(resource.state[Self.watchKey] ?? "", limit: 80) + "'): "
                                 + (part == "growth" ? "the growth window starts again now"
                                    : "reading starts again at the end of the log"))
        }
        var watch = loaded
        var outcome = Outcome.success
        if (lowest ?? level) <= 2 {
            outcome = timed(growthTimeout, "growth_timeout") { probeGrowth(&watch) }
        }
        if outcome.isSuccess && level >= 3 {
            let deadline = LogGrowth.now() + readTimeout.milliseconds
            outcome = timed(readTimeout, "read_timeout") { probeContent(&watch, deadline: deadline) }
        }
        if watch != loaded || !corrupted.isEmpty {
            do throws(State.WriteError) { try resource.state.store(watch.text, for: Self.watchKey) } catch {
                return .failed("log_file \(logFile): " + (watch.position != loaded.position
                    ? "the read position could not be remembered" : "its size could not be remembered") + ": \(error)")
            }
        }
        return outcome
    }

    /// `body`'s answer, or a failure when it took longer than `limit`: a
    /// read of a log on a hung file system cannot be interrupted, but it
    /// must not pass as healthy.
    func timed(_ limit: Duration, _ name: String, _ body: () -> Outcome) -> Outcome {
        let begun = LogGrowth.now()
        let outcome = body()
        let took = LogGrowth.now() - begun
        if outcome.isSuccess && Duration.milliseconds(took) > limit {
            return .failed("the check took \(took) ms, longer than \(name) (\(limit.milliseconds) ms)")
        }
        return outcome
    }

    /// Level 2: the log changed within the growth window; a change moves
    /// `watch`'s mark.
    func probeGrowth(_ watch: inout Watch) -> Outcome {
        switch LogGrowth.check(logFile, window: growthWindow, remembered: watch.growth) {
        case .failure(let problem):
            return .failed("log_file \(logFile): \(problem)")
        case .success((let verdict, let mark)):
            let remembered = watch.growth
            if let mark { watch.growth = mark }
            switch verdict {
            case .active(let what):
                if what.hasPrefix("rotated") || what.hasPrefix("truncated") { resource.log.info("log_file \(logFile) \(what)") }
                return .success
            case .quiet: return .success
            case .stale(let quiet) where remembered?.inode == 0:
                return .failed("log_file \(logFile) does not exist \(quiet.milliseconds / 1000) s after start "
                               + "(growth_window \(growthWindow.milliseconds / 1000) s): does the writer create it?")
            case .stale(let quiet):
                return .failed("log_file \(logFile) has not changed for \(quiet.milliseconds / 1000) s "
                               + "(growth_window \(growthWindow.milliseconds / 1000) s): is the writer stuck?")
            }
        }
    }

    /// Level 3: the new lines hold no error line, and expected_message was
    /// seen within growth_window (in these lines or, by an earlier check,
    /// recently). The lines are judged block by block as they are read
    /// (``LogFollower/scanNew(since:bufferSize:_:)``): each block against
    /// error_pattern, and against expected_message until it is first seen
    /// (once is enough). `watch`'s position moves only when every new line
    /// was judged: lines not judged by `deadline` (read_timeout) are read
    /// again next time, never taken as read.
    func probeContent(_ watch: inout Watch, deadline: Int64) -> Outcome {
        if let latched = resource.state[Self.errorKey] {
            return .failed("an error line was written (kept until the next start): \(latched)")
        }
        let errorPattern = (try? error.get()) ?? nil, expectedPattern = (try? expected.get()) ?? nil
        var errorLine: String?
        var seen = false
        /// Bytes judged before the current block, and where matching ran out of time.
        var before = 0
        var outOfTime: (judged: Int, attribute: String)?
        let scanned = follower.scanNew(since: watch.position) { block in
            if let errorPattern {
                switch errorPattern.scan(block, deadline: deadline) {
                case .matched(let line):
                    errorLine = "'" + LogText.escaped(String(decoding: UnsafeRawBufferPointer(rebasing: block[line]), as: UTF8.self),
                                                      limit: 300) + "'"
                    return false
                case .none: break
                case .outOfTime(let judged): outOfTime = (before + judged, "error_pattern"); return false
                }
            }
            if !seen, let expectedPattern {
                switch expectedPattern.scan(block, deadline: deadline) {
                case .matched: seen = true
                case .none: break
                case .outOfTime(let judged): outOfTime = (before + judged, "expected_message"); return false
                }
            }
            before += block.count
            return true
        }
        let pass: LogFollower.Pass
        switch scanned {
        case .success(let p): pass = p
        case .failure(let problem): return .failed("log_file \(logFile): \(problem)")
        }
        for event in pass.events { resource.log.info("log_file \(logFile): \(event)") }
        // `skipped` counts every new byte not judged: those past max_read
        // never read, and those read but dropped as the rest of a line
        // whose start was skipped.
        resource.log.debug("level 3 read \(pass.bytesRead) bytes; judging \(pass.bytesJudged) bytes of complete lines; "
                           + "\(pass.skipped) bytes not judged" + (pass.skipped > 0 ? " (more than max_read waited)" : "")
                           + (pass.position.map { "; next offset \($0.offset)" } ?? "; stopped early"))
        if let outOfTime {
            return .failed("the check ran out of read_timeout (\(readTimeout.milliseconds) ms) matching \(outOfTime.attribute) "
                           + "after \(outOfTime.judged) of \(pass.bytesRead) new bytes read: they are read again next time")
        }
        if watch.position == nil { watch.position = pass.position; return .success }   // a first baseline

        let now = LogGrowth.now()
        if let errorLine {
            // Latched first: a position stored without it would let a retry pass
            // over the line. The position stays: the latch answers until the next
            // start, which takes a new baseline.
            do throws(State.WriteError) { try resource.state.store(errorLine, for: Self.errorKey) } catch {
                return .failed("an error line was written: \(errorLine) (and could not be kept: \(error))")
            }
            return .failed("an error line was written to \(logFile): \(errorLine)")
        }
        let last = watch.seen
        if seen { watch.seen = now }
        watch.position = pass.position
        if let expectedPattern, !seen {
            if let last, last <= now, now - last <= growthWindow.milliseconds {
                resource.log.debug("expected_message not in the new lines; seen \(now - last) ms ago, within growth_window")
                return .success
            }
            let since = last.flatMap { $0 <= now ? " (last seen \((now - $0) / 1000) s ago)" : nil } ?? ""
            return .failed("expected_message '\(LogText.escaped(expectedPattern.text, limit: 120))' was not written to \(logFile) "
                           + "within growth_window (\(growthWindow.milliseconds / 1000) s)\(since); "
                           + "this check judged \(pass.bytesJudged) bytes of new complete lines"
                           + (pass.skipped > 0 ? " (\(pass.skipped) bytes not judged: more than max_read waited)" : ""))
        }
        return .success
    }
}

// The entry point `fshost_plugin_entry` is generated by the build from the
// target's name (FSPluginRecordPlugin), like the ELF record.
