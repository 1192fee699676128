import CDB
import Foundation

/// A private fshost installation for one test: its own CDB, run and state
/// directories in a temporary directory, and the plugins and executables of
/// this build. Runs `fshost` as a separate process, the way a cluster
/// manager does.
public final class HostSandbox {
    /// The build's products directory (where fshost, fshost-admin and the
    /// plugins are): the directory of the running test executable.
    public static let products: URL = {
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        var dir = exe.deletingLastPathComponent()
        // swift test runs <products>/fshostPackageTests.xctest
        if dir.lastPathComponent.hasSuffix(".xctest") { dir = dir.deletingLastPathComponent() }
        return dir
    }()

    public let root: URL
    public var cdb: String { root.appendingPathComponent("cdb.sqlite").path }

    /// Stores `attributes` of `type`/`resource` straight into this sandbox's
    /// CDB, unchecked (as an older fshost or a hand edit could): what the
    /// action path must check itself.
    public func store(_ type: String, _ resource: String, _ attributes: [String: String]) throws {
        try ConfigurationDatabase(path: cdb, mode: .readWrite).define(type: type, resource: resource, attributes: attributes)
    }
    public var pluginPath: String
    public var extraEnvironment: [String: String] = [:]
    /// FSHOST_RUN_DIR: `<root>/run` unless set (``useTmpfsRunDirectory()``).
    public var runDirectory: String = ""
    /// A directory of this sandbox in /dev/shm (removed with it), if made.
    private var tmpfsRoot: String?

    /// Puts the run directory on a tmpfs (`/dev/shm/fshost-test-…/run`), as
    /// `/run` is on most hosts. Throws if /dev/shm is not a tmpfs.
    public func useTmpfsRunDirectory() throws {
        guard try HostSandbox.fileSystemType("/dev/shm") == "tmpfs" else {
            throw SetupFailure("/dev/shm is not a tmpfs: the verification cache cannot be tested")
        }
        let dir = "/dev/shm/" + root.lastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o755])
        tmpfsRoot = dir
        SandboxLeftovers.remember(dir)
        runDirectory = dir + "/run"
    }

    public init(pluginPath: String? = nil) throws {
        root = URL(fileURLWithPath: NSTemporaryDirectory())
            .appendingPathComponent("fshost-test-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        self.pluginPath = pluginPath ?? HostSandbox.products.path
        SandboxLeftovers.remember(root.path)
    }

    /// The name of the file system holding `path` (`stat -f -c %T`: `tmpfs`, `ext2/ext3`…).
    public static func fileSystemType(_ path: String) throws -> String {
        let r = try ELFFixtures.run("/usr/bin/stat", ["-f", "-c", "%T", path])
        guard r.status == 0 else { throw SetupFailure("stat -f \(path): \(r.output)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    deinit {
        try? FileManager.default.removeItem(at: root)
        if let tmpfsRoot { try? FileManager.default.removeItem(atPath: tmpfsRoot) }
        SandboxLeftovers.forget(root.path)
        if let tmpfsRoot { SandboxLeftovers.forget(tmpfsRoot) }
    }

    /// The environment every fshost call of this sandbox gets.
    public var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["FSHOST_PLUGIN_PATH"] = pluginPath
        env["FSHOST_CDB"] = cdb
        env["FSHOST_RUN_DIR"] = runDirectory.isEmpty ? root.appendingPathComponent("run").path : runDirectory
        env["FSHOST_STATE_DIR"] = root.appendingPathComponent("state").path
        for (k, v) in extraEnvironment { env[k] = v }
        return env
    }

    /// What one command did.
    public struct Result: CustomStringConvertible {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        public let milliseconds: Int
        public var description: String { "status \(status) in \(milliseconds) ms; stderr: \(stderr)" }
    }

    /// Runs `fshost ARGS…` and waits for it.
    @discardableResult
    public func fshost(_ arguments: String...) throws -> Result { try fshost(arguments) }

    /// `input`: what fshost reads on standard input (nil: /dev/null).
    @discardableResult
    public func fshost(_ arguments: [String], input: String? = nil) throws -> Result {
        try run(HostSandbox.products.appendingPathComponent("fshost").path, arguments, input: input)
    }

    /// Runs any executable with the sandbox's environment.
    public func run(_ executable: String, _ arguments: [String], input: String? = nil) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = environment
        // Output goes to files, not pipes: a chatty child can never block on a full pipe.
        let outPath = path("out.\(UUID().uuidString)"), errPath = path("err.\(UUID().uuidString)")
        FileManager.default.createFile(atPath: outPath, contents: nil)
        FileManager.default.createFile(atPath: errPath, contents: nil)
        defer { try? FileManager.default.removeItem(atPath: outPath); try? FileManager.default.removeItem(atPath: errPath) }
        process.standardOutput = FileHandle(forWritingAtPath: outPath)
        process.standardError = FileHandle(forWritingAtPath: errPath)
        if let input {
            let inPath = path("in.\(UUID().uuidString)")
            FileManager.default.createFile(atPath: inPath, contents: Data(input.utf8), attributes: [.posixPermissions: 0o600])
            defer { try? FileManager.default.removeItem(atPath: inPath) }
            process.standardInput = FileHandle(forReadingAtPath: inPath)
        } else {
            process.standardInput = FileHandle.nullDevice
        }
        let start = DispatchTime.now()
        try process.run()
        process.waitUntilExit()
        let ms = Int((DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1_000_000)
        let outData = FileManager.default.contents(atPath: outPath) ?? Data()
        let errData = FileManager.default.contents(atPath: errPath) ?? Data()
        return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errData, as: UTF8.self), milliseconds: ms)
    }

    /// A path inside the sandbox.
    public func path(_ name: String) -> String { root.appendingPathComponent(name).path }
}
