import CSystemShims
import ELFCheck
import HAVocabulary
import PluginLoading
#if canImport(Glibc)
import Glibc
#endif

/// Questions a FailSafe batch must ask the plugin, asked in a forked child
/// that loads it: the batch's own process never loads plugin code (a
/// crash or hang there would cost every line), and it forks its workers
/// (``BatchWorkers``) only while it has loaded none.
public enum ForkedAction {
    /// The type's default timeout for `action` (ms), learnt in a forked
    /// child that loads `plugin` (the batch's verified descriptor,
    /// ``PluginLoader/load(verified:cache:phase:)``), or nil when it cannot be
    /// loaded (each line then answers that error itself). About one plugin
    /// load and one fork.
    public static func defaultTimeout(of plugin: VerifiedPluginFile, action: ActionName) -> Int64? {
        var ends: [Int32] = [-1, -1]
        guard pipe2(&ends, O_CLOEXEC) == 0 else { return nil }
        let pid = csys_fork()
        if pid == 0 {
            close(ends[0])
            _ = csys_set_parent_death_signal(SIGKILL)
            var value: Int64 = -1
            if let loaded = try? PluginLoader.load(verified: plugin) {
                value = loaded.defaultTimeoutMilliseconds(action)
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
