// `fshost lock`: a command run under one resource's lock, the lock fshost's
// own actions take (FSHost.ResourceLock: one rule, one file), so scriptlib's
// ha_execute_lock and fshost's actions on the same resource exclude each
// other. No Foundation.
import FSHost
import HAVocabulary
import PluginLoading
import Spawn
#if canImport(Glibc)
import Glibc
#endif

/// The help text of `fshost lock --help`.
let lockUsage = """
usage: fshost lock TYPE RESOURCE [--timeout DURATION] -- COMMAND [ARGUMENT...]

Runs COMMAND (argv, no shell; searched in PATH) while holding the lock
fshost's actions on TYPE/RESOURCE hold: <FSHOST_RUN_DIR>/locks/TYPE.RESOURCE.lock.
Waits for the lock as long as it takes, or at most DURATION (\(DurationText.grammar)).
RESOURCE may be any resource name, defined or not (a script's own lock name).
COMMAND gets standard input from /dev/null, its own process group, and
not the lock's descriptor: what it leaves running does not hold the lock.

Exit status: COMMAND's; 128+N when signal N ended it; 126 when it could not
be run, 127 when it was not found (as env(1)); 2 bad command line or name;
8 the lock was still held after DURATION (COMMAND not run); 9 the lock could
not be taken (unsafe run directory, lock file).
"""

/// `fshost lock ARGUMENTS…` (the words after `lock`). Returns the exit status.
func lockMain(_ arguments: [String]) -> Int32 {
    let log = Logger(prefix: "fshost lock: ")
    if arguments.first == "--help" || arguments.first == "-h" {
        Logger.writeStdout(lockUsage)
        return 0
    }
    func usage(_ problem: String) -> Int32 {
        log.error(problem)
        Logger.writeStderr("usage: fshost lock TYPE RESOURCE [--timeout DURATION] -- COMMAND [ARGUMENT...]\n")
        return ExitStatus.invalidArguments.rawValue
    }
    guard let separator = arguments.firstIndex(of: "--") else { return usage("no '--' before the command") }
    let command = Array(arguments[(separator + 1)...])
    var words = Array(arguments[..<separator])
    var wait: Int64?
    if let i = words.firstIndex(of: "--timeout") {
        guard i + 1 < words.count else { return usage("--timeout needs a duration") }
        switch DurationText.milliseconds(words[i + 1]) {
        case .success(let ms): wait = ms
        case .failure(let problem): return usage("--timeout: " + DurationText.explain(problem, words[i + 1]))
        }
        words.removeSubrange(i...(i + 1))
    }
    guard words.count == 2 else { return usage("expected TYPE RESOURCE before '--', got \(words.count) words") }
    guard Names.isValidType(words[0]) else { return usage("invalid type name '\(Names.printable(words[0]))': " + Names.rule("type")) }
    guard Names.isValidResource(words[1]) else {
        return usage("invalid resource name '\(Names.printable(words[1]))': " + Names.rule("resource"))
    }
    guard !command.isEmpty else { return usage("no command after '--'") }

    let paths = HostPaths.fromEnvironment()
    let lock: ResourceLock
    do {
        try paths.checkAbsolute()
        lock = try ResourceLock.acquire(runDirectory: paths.runDirectory, type: words[0], resource: words[1],
                                        waitMilliseconds: wait)
    } catch {
        log.error(error.message)
        return error.status
    }
    defer { lock.release() }
    switch spawn(command, timeoutMilliseconds: 0).termination {
    case .exited(let status): return status
    case .signaled(let signal): return 128 + signal
    case .timedOut: return ExitStatus.timedOut.rawValue   // no deadline was set: not reached
    case .failed(let code):
        log.error("cannot run \(Names.printable(command[0])): \(String(cString: strerror(code)))")
        return code == ENOENT ? 127 : 126
    }
}
