import CSystemShims
import ELFCheck
import HAVocabulary
import PluginLoading
#if canImport(Glibc)
import Glibc
#endif

/// One action in a forked copy of this process, for FailSafe's batch mode:
/// the isolation of a child per resource (its own process, lock, deadline,
/// supervisor and worker: a plugin that crashes or hangs costs only its own
/// answer) without the exec and runtime start-up of a new `fshost` (about
/// 3.8 ms of a 5.5 ms `template monitor`).
///
/// The caller must be single-threaded and have loaded no plugin (the
/// batch's process before any action: the same condition as the
/// ``Supervisor``'s own fork).
public enum ForkedAction {
    /// Forks; the child runs `request` as `fshost <type> <action> <resource>`
    /// would (``ActionRunner/run(_:)``) and exits with its status. Its stdin
    /// and stdout are /dev/null (the batch's output file is the answer),
    /// stderr is shared; TERM, INT and HUP are back to their defaults
    /// (the supervisor takes them over); it gets TERM when the batch's
    /// process dies, so an action never outlives a killed batch by more
    /// than its own ending.
    ///
    /// - Returns: the child's pid, or `hostError` (9) naming why the fork failed.
    public static func start(_ request: ActionRequest, paths: HostPaths) -> Result<pid_t, HostError> {
        // TERM, INT and HUP wait (blocked) until the child has its default
        // handlers back: one sent to it in between is not lost to the
        // batch's handler, which only sets a flag.
        var ending = sigset_t(), previous = sigset_t()
        sigemptyset(&ending)
        for signal in [SIGTERM, SIGINT, SIGHUP] { sigaddset(&ending, signal) }
        sigprocmask(SIG_BLOCK, &ending, &previous)
        let parent = getpid()
        let pid = csys_fork()
        if pid != 0 {
            let error = errno
            sigprocmask(SIG_SETMASK, &previous, nil)
            return pid > 0 ? .success(pid)
                : .failure(HostError(.hostError, "cannot fork for \(request.resource): \(String(cString: strerror(error)))"))
        }
        _ = csys_set_parent_death_signal(SIGTERM)
        if getppid() != parent { _exit(ExitStatus.commandFailed.rawValue) }   // the batch died before the line above
        for signal in [SIGTERM, SIGINT, SIGHUP] { Glibc.signal(signal, SIG_DFL) }
        var empty = sigset_t()
        sigemptyset(&empty)
        sigprocmask(SIG_SETMASK, &empty, nil)   // a signal that came meanwhile ends the child now
        let null = open("/dev/null", O_RDWR | O_CLOEXEC)
        if null >= 0 {
            dup2(null, 0)
            dup2(null, 1)
            if null > 1 { close(null) }
        }
        _exit(ActionRunner(paths: paths).run(request).rawValue)
    }

    /// The type's default timeout for `action` (ms), learnt in a forked
    /// child that loads the plugin (this process must load none: the
    /// actions are forked from it), or nil when the plugin cannot be loaded
    /// (each line then answers that error itself). About one plugin load.
    public static func defaultTimeout(type: String, action: ActionName, paths: HostPaths) -> Int64? {
        var ends: [Int32] = [-1, -1]
        guard pipe2(&ends, O_CLOEXEC) == 0 else { return nil }
        let pid = csys_fork()
        if pid == 0 {
            close(ends[0])
            var value: Int64 = -1
            if let plugin = try? PluginLoader.load(type: type, searchPath: PluginSearchPath(directories: paths.pluginPath),
                                                   cache: VerificationCache(runDirectory: paths.runDirectory)) {
                value = plugin.defaultTimeoutMilliseconds(action)
            }
            _ = write(ends[1], &value, 8)
            _exit(0)
        }
        close(ends[1])
        defer { close(ends[0]) }
        guard pid > 0 else { return nil }
        var value: Int64 = -1
        var got = 0
        while true {
            got = read(ends[0], &value, 8)
            if got < 0 && errno == EINTR { continue }
            break
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        return got == 8 && value > 0 ? value : nil
    }
}
