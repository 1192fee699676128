import CDB
import HAVocabulary
#if canImport(Glibc)
import Glibc
#endif

/// Where fshost finds its plugins, configuration database, locks and state.
/// Every directory can be moved by an environment variable, so tests and
/// the demo run unprivileged in a temporary directory.
public struct HostPaths: Sendable {
    /// Directories searched for `<type>.so` / `lib<type>.so`, in order.
    public var pluginPath: [String]
    /// The CDB file.
    public var cdb: String
    /// Lock files (`<run>/locks`).
    public var runDirectory: String
    /// Plugin state (`<state>/<type>/<resource>/<key>`).
    public var stateDirectory: String
    /// Where this executable lives (the build tree, or the installed `bin`
    /// or `libexec/fshost`).
    public var executableDirectory: String

    /// The management executable `fshost` execs for its commands:
    /// `FSHOST_ADMIN`, the installed one, or the one beside this
    /// executable. Looked up only when needed, not on every action.
    public var admin: String {
        if let path = HostPaths.environment("FSHOST_ADMIN") { return path }
        let installed = HostPaths.prefix(of: executableDirectory) + "/libexec/fshost/fshost-admin"
        return access(installed, X_OK) == 0 ? installed : executableDirectory + "/fshost-admin"
    }

    /// Defaults (FHS places, or relative to the executable) overridden by
    /// `FSHOST_PLUGIN_PATH`, `FSHOST_CDB`, `FSHOST_RUN_DIR`,
    /// `FSHOST_STATE_DIR`, `FSHOST_ADMIN`.
    public static func fromEnvironment() -> HostPaths {
        let exeDir = executableDirectory()
        let pluginPath = environment("FSHOST_PLUGIN_PATH").map { $0.split(separator: ":").map(String.init) }
            ?? [prefix(of: exeDir) + "/lib/fshost/resource_types", exeDir]
        return HostPaths(
            pluginPath: pluginPath,
            cdb: ConfigurationDatabase.defaultPath(),
            runDirectory: environment("FSHOST_RUN_DIR") ?? "/run/fshost",
            stateDirectory: environment("FSHOST_STATE_DIR") ?? "/var/lib/fshost/state",
            executableDirectory: exeDir)
    }

    /// Refuses a relative path in the plugin path, the CDB, the run or the
    /// state directory. A relative path would mean something else in every
    /// working directory the cluster manager happens to use (and `mkdir -p`
    /// of one used to create it at `/`): a problem of the node's set-up.
    ///
    /// - Throws: ``HostError`` with `hostError` (9), naming the variable.
    public func checkAbsolute() throws(HostError) {
        func check(_ path: String, _ variable: String, _ what: String) throws(HostError) {
            guard path.hasPrefix("/") else {
                throw HostError(.hostError, "\(variable) (\(what)) must be an absolute path, not '\(path)'")
            }
        }
        for directory in pluginPath { try check(directory, "FSHOST_PLUGIN_PATH", "plugin directories") }
        try check(cdb, "FSHOST_CDB", "the configuration database")
        try check(runDirectory, "FSHOST_RUN_DIR", "lock files")
        try check(stateDirectory, "FSHOST_STATE_DIR", "plugin state")
    }

    /// bin/fshost and libexec/fshost/fshost-admin share one prefix.
    static func prefix(of executableDirectory: String) -> String {
        executableDirectory.hasSuffix("/libexec/fshost")
            ? parent(parent(executableDirectory)) : parent(executableDirectory)
    }

    /// Hands these paths to a child (the admin executable) through the
    /// environment, without overriding what the caller set.
    public func export() {
        setenv("FSHOST_PLUGIN_PATH", pluginPath.joined(separator: ":"), 0)
        setenv("FSHOST_CDB", cdb, 0)
        setenv("FSHOST_RUN_DIR", runDirectory, 0)
        setenv("FSHOST_STATE_DIR", stateDirectory, 0)
    }

    static func environment(_ name: String) -> String? {
        guard let value = getenv(name) else { return nil }
        let text = String(cString: value)
        return text.isEmpty ? nil : text
    }

    /// The directory of the running executable (the build tree or the
    /// installed `bin`).
    static func executableDirectory() -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard n > 0 else { return "." }
        return parent(String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self))
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "." }
        return slash == path.startIndex ? "/" : String(path[..<slash])
    }
}
