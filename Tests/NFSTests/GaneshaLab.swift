// A private NFS-Ganesha for one test, in a network namespace the test
// creates: rpcbind and Ganesha need ports 111 and 2049, which are one per
// network namespace, so the lab never touches the machine's own. fshost
// runs inside it too (`ip netns exec`), as a cluster manager's call would
// on the server. Everything the lab started (every process in its
// namespace) is killed by `tearDown()`, even after a failed assertion.
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class GaneshaLab {
    static let ganesha = "/usr/bin/ganesha.nfsd", rpcbind = "/usr/sbin/rpcbind", ip = "/usr/sbin/ip"
    static let rpcinfo = "/usr/sbin/rpcinfo"

    /// Why a lab cannot be made here, or nil.
    static var unavailableReason: String? {
        for (tool, package) in [(ganesha, "nfs-ganesha, nfs-ganesha-vfs"), (rpcbind, "rpcbind"), (rpcinfo, "rpcbind"), (ip, "iproute2")]
        where !FileManager.default.isExecutableFile(atPath: tool) {
            return "\(tool) is not installed (Debian package \(package))"
        }
        return nil
    }

    let sandbox: HostSandbox
    let namespace: String
    let directory: String
    var config: String { directory + "/ganesha.conf" }
    var exportsDir: String { directory + "/exports" }
    var pidFile: String { directory + "/ganesha.pid" }
    var logFile: String { directory + "/ganesha.log" }
    private var rpcbindProcess: Process?

    init(sandbox: HostSandbox) throws {
        if let why = GaneshaLab.unavailableReason { throw SetupFailure(why) }
        self.sandbox = sandbox
        namespace = "fshost-nfs-" + String(UUID().uuidString.prefix(8)).lowercased()
        directory = sandbox.path("nfs")
        let fm = FileManager.default
        for dir in [directory, exportsDir, directory + "/recovery"] {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        try """
        # fshost test (Tests/NFSTests/GaneshaLab.swift): one Ganesha in its own network namespace.
        NFS_CORE_PARAM { Enable_NLM = false; Enable_RQUOTA = false; Protocols = 3, 4; }
        NFSV4 { RecoveryBackend = fs_ng; RecoveryRoot = "\(directory)/recovery"; Graceless = true; Lease_Lifetime = 10; }
        %dir \(exportsDir)

        """.write(toFile: config, atomically: true, encoding: .utf8)
        try sh(GaneshaLab.ip, ["netns", "add", namespace])
        do {
            try sh(GaneshaLab.ip, ["-n", namespace, "link", "set", "lo", "up"])
            try startRpcbind()
        } catch {
            // The test's tearDown never sees a lab that failed here: clean up now.
            tearDown()
            throw error
        }
    }

    /// Makes `name` (a directory with one file) under the lab.
    func makeExportDirectory(_ name: String) throws -> String {
        let path = directory + "/" + name
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        try "hello from \(name)\n".write(toFile: path + "/hello.txt", atomically: true, encoding: .utf8)
        return path
    }

    /// The attributes every resource of this lab shares.
    var serverAttributes: [String] {
        ["config=\(config)", "exports_dir=\(exportsDir)", "pidfile=\(pidFile)", "log_file=\(logFile)"]
    }

    // MARK: Running things inside the namespace

    /// `fshost ARGS` inside the namespace.
    @discardableResult
    func fshost(_ arguments: [String]) throws -> HostSandbox.Result {
        try sandbox.run(GaneshaLab.ip, ["netns", "exec", namespace, HostSandbox.products.appendingPathComponent("fshost").path] + arguments)
    }

    @discardableResult
    func run(_ tool: String, _ arguments: [String]) throws -> HostSandbox.Result {
        try sandbox.run(GaneshaLab.ip, ["netns", "exec", namespace, tool] + arguments)
    }

    private func sh(_ tool: String, _ arguments: [String]) throws {
        let r = try sandbox.run(tool, arguments)
        if r.status != 0 { throw SetupFailure("\(tool) \(arguments.joined(separator: " ")): \(r)") }
    }

    func startRpcbind() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: GaneshaLab.ip)
        p.arguments = ["netns", "exec", namespace, GaneshaLab.rpcbind, "-f"]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        rpcbindProcess = p
        for _ in 0..<100 {
            if try run(GaneshaLab.rpcinfo, ["-p", "127.0.0.1"]).status == 0 { return }
            if !p.isRunning { throw SetupFailure("rpcbind -f exited with \(p.terminationStatus) (another rpcbind on this machine holds /run/rpcbind.lock?)") }
            usleep(20_000)
        }
        throw SetupFailure("rpcbind in namespace \(namespace) does not answer rpcinfo -p 127.0.0.1 within 2 s")
    }

    // MARK: What a test does to the server

    /// Ganesha's pid from its pidfile, nil when none.
    var ganeshaPid: Int32? {
        (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    var ganeshaRuns: Bool { ganeshaPid.map { kill($0, 0) == 0 && !isZombie($0) } ?? false }

    func isZombie(_ pid: Int32) -> Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return stat[stat.index(close, offsetBy: 2)] == "Z"
    }

    func signalGanesha(_ signal: Int32) { if let pid = ganeshaPid { kill(pid, signal) } }

    func killRpcbind() {
        for pid in processesInNamespace() where comm(pid) == "rpcbind" { kill(pid, SIGKILL) }
        rpcbindProcess?.waitUntilExit()
    }

    /// Every file of the exports directory, name → bytes.
    func exportsSnapshot() -> [String: Data] {
        var out: [String: Data] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: exportsDir)) ?? [] {
            out[name] = FileManager.default.contents(atPath: exportsDir + "/" + name) ?? Data()
        }
        return out
    }

    // MARK: Clean-up

    func comm(_ pid: Int32) -> String {
        ((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Pids whose network namespace is the lab's.
    func processesInNamespace() -> [Int32] {
        var st = stat()
        guard stat("/run/netns/" + namespace, &st) == 0 else { return [] }
        var found: [Int32] = []
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = Int32(entry), pid != getpid() else { continue }
            var ns = stat()
            if stat("/proc/\(pid)/ns/net", &ns) == 0, ns.st_ino == st.st_ino, ns.st_dev == st.st_dev { found.append(pid) }
        }
        return found
    }

    /// Kills everything in the namespace (SIGCONT first: a stopped server
    /// must see its KILL at once), deletes it, and says what was still running.
    @discardableResult
    func tearDown() -> [String] {
        var left: [String] = []
        for _ in 0..<3 {
            let pids = processesInNamespace()
            if pids.isEmpty { break }
            left = pids.map { "\($0) (\(comm($0)))" }
            for pid in pids { kill(pid, SIGCONT); kill(pid, SIGKILL) }
            usleep(100_000)
        }
        rpcbindProcess?.waitUntilExit()
        _ = try? sandbox.run(GaneshaLab.ip, ["netns", "delete", namespace])
        return left
    }
}
