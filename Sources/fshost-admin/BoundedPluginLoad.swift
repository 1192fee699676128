// Loading a plugin runs its code: the entry point computes the descriptor
// (summary, attributes, levels) in the caller's process. A plugin that
// blocks there (a sleep, a lock, a network call in a static initialiser)
// would hang `verify`, `list`, `describe` and `cdb define` with no limit,
// where the action path is bounded by its supervisor's deadline. So the
// admin commands load each plugin first in a forked child with a deadline:
// only a plugin that loads there within the deadline is loaded here (the
// same verified file, the same deterministic entry). A child that crashes
// is a refused plugin rather than a crashed admin tool.
import HAVocabulary
import PluginLoading
#if canImport(Glibc)
import Glibc
#endif

enum BoundedPluginLoad {
    /// How long loading may take, in seconds: the action path's default
    /// deadline. A descriptor is computed in microseconds to milliseconds
    /// (`FSHOST_TIMING=1`: verify and dlopen phases), so anything near this
    /// is a plugin stuck in its entry.
    static let seconds: UInt32 = 15

    /// ``PluginLoader/load(type:searchPath:cache:phase:)``, bounded.
    /// - Throws: ``HostError`` as the loader; `.timedOut` (8) when loading
    ///   did not finish within ``seconds``; `.pluginRefused` (7) when it
    ///   killed the child; `.hostError` (9) when no child can be forked.
    static func load(type: String, searchPath: PluginSearchPath) throws(HostError) -> LoadedPlugin {
        // Not found: the loader's own error is the answer. (Refused by the
        // pre-load checks: nothing of it runs in the child either.)
        guard let found = try searchPath.find(type: type) else {
            return try PluginLoader.load(type: type, searchPath: searchPath)
        }
        try loadsInChild(type: type, path: found.path) { _ = try? PluginLoader.load(type: type, searchPath: searchPath) }
        return try PluginLoader.load(type: type, searchPath: searchPath)
    }

    /// ``PluginLoader/load(path:directory:type:cache:phase:)``, bounded (as above).
    static func load(path: String, directory: String, type: String) throws(HostError) -> LoadedPlugin {
        try loadsInChild(type: type, path: path) { _ = try? PluginLoader.load(path: path, directory: directory, type: type) }
        return try PluginLoader.load(path: path, directory: directory, type: type)
    }

    /// Runs `body` (a load) in a forked child, killed (KILL: a plugin can
    /// neither catch nor block it) when not done within ``seconds``.
    private static func loadsInChild(type: String, path: String, _ body: () -> Void) throws(HostError) {
        let pid = fork()
        if pid < 0 {
            throw HostError(.hostError, "\(type): cannot load \(path) in a child: fork: \(String(cString: strerror(errno)))")
        }
        if pid == 0 {
            // The parent says what matters, in one line.
            let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
            if null >= 0 { dup2(null, 1); dup2(null, 2) }
            var noCore = rlimit(rlim_cur: 0, rlim_max: 0)
            setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &noCore)
            body()
            _exit(0)
        }
        var status: Int32 = 0
        let deadline = monotonicMilliseconds() + Int64(seconds) * 1000
        var pause: useconds_t = 500
        while true {
            let reaped = waitpid(pid, &status, WNOHANG)
            if reaped == pid { break }
            if reaped < 0 && errno != EINTR {
                throw HostError(.hostError, "\(type): waitpid: \(String(cString: strerror(errno)))")
            }
            if monotonicMilliseconds() >= deadline {
                kill(pid, SIGKILL)
                while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
                throw HostError(.timedOut, "\(type): loading \(path) did not finish within \(seconds) s "
                    + "(the plugin's entry, computing its descriptor, hangs)")
            }
            usleep(pause)
            pause = min(pause * 2, 50_000)
        }
        let signalled = status & 0x7f
        if signalled == 0 { return }
        throw HostError(.pluginRefused, "\(type): loading \(path) killed the process (signal \(signalled))")
    }
}
