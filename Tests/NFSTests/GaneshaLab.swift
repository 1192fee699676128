// A private NFS-Ganesha for one test, in a network namespace the test
// creates: rpcbind and Ganesha need ports 111 and 2049, which are one per
// network namespace, so the lab never touches the machine's own. rpcbind's
// lock and socket paths are fixed (/run/rpcbind.lock, /run/rpcbind.sock,
// which Ganesha registers through), so the lab also has a private mount
// namespace with its own tmpfs on /run, held by one `sleep` process: an
// rpcbind of the machine (or of another lab or the bench) neither blocks the
// lab's nor is seen, signalled or depended on by it. fshost runs inside both
// namespaces too (`nsenter`), as a cluster manager's call would on the
// server. Everything the lab started (every process in its network
// namespace) is killed by `tearDown()`, even after a failed assertion.
import Foundation
import TestSupport
#if canImport(Glibc)
import Glibc
#endif

final class GaneshaLab {
    static let ganesha = "/usr/bin/ganesha.nfsd", rpcbind = "/usr/sbin/rpcbind", ip = "/usr/sbin/ip"
    static let rpcinfo = "/usr/sbin/rpcinfo", nsenter = "/usr/bin/nsenter", unshare = "/usr/bin/unshare"

    /// Why a lab cannot be made here, or nil.
    static var unavailableReason: String? {
        for (tool, package) in [(ganesha, "nfs-ganesha, nfs-ganesha-vfs"), (rpcbind, "rpcbind"), (rpcinfo, "rpcbind"), (ip, "iproute2"),
                                (nsenter, "util-linux"), (unshare, "util-linux")]
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
    /// The process holding the lab's mount namespace (private /run), in the
    /// lab's network namespace; every lab command enters both through it.
    private var holder: Process?

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
            try startHolder()
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

    /// The executable and arguments that run `tool ARGS` inside the lab
    /// (its network namespace and its mount namespace with the private /run).
    func inside(_ tool: String, _ arguments: [String]) -> (String, [String]) {
        let pid = holder.map { String($0.processIdentifier) } ?? "0"
        return (GaneshaLab.nsenter, ["--target", pid, "--net", "--mount", "--", tool] + arguments)
    }

    /// `fshost ARGS` inside the lab.
    @discardableResult
    func fshost(_ arguments: [String]) throws -> HostSandbox.Result {
        try run(HostSandbox.products.appendingPathComponent("fshost").path, arguments)
    }

    @discardableResult
    func run(_ tool: String, _ arguments: [String]) throws -> HostSandbox.Result {
        let (executable, argv) = inside(tool, arguments)
        return try sandbox.run(executable, argv)
    }

    private func sh(_ tool: String, _ arguments: [String]) throws {
        let r = try sandbox.run(tool, arguments)
        if r.status != 0 { throw SetupFailure("\(tool) \(arguments.joined(separator: " ")): \(r)") }
    }

    /// Starts the holder: in the network namespace, a private mount namespace
    /// whose /run is a fresh tmpfs (the mount does not propagate back), then
    /// `sleep` keeps it alive. Fails with a clear message when /run cannot be
    /// made private; never falls back to the machine's /run.
    private func startHolder() throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: GaneshaLab.ip)
        // A fixed script (no attribute reaches it): mount, then become the holder.
        p.arguments = ["netns", "exec", namespace, GaneshaLab.unshare, "--mount", "--propagation", "private", "/bin/sh", "-c",
                       "mount -t tmpfs -o mode=0755,size=4m fshost-nfs-run /run && echo ready && exec sleep 86400"]
        let ready = Pipe()
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = ready
        p.standardError = FileHandle.nullDevice
        try p.run()
        holder = p
        let line = String(decoding: ready.fileHandleForReading.readData(ofLength: 6), as: UTF8.self)
        guard line == "ready\n", p.isRunning else {
            throw SetupFailure("cannot give the lab a private /run (ip netns exec \(namespace) unshare --mount, mount -t tmpfs on /run): "
                               + "the holder answered \(line.debugDescription)")
        }
        // ip netns exec, unshare and sh all exec: the holder is p's own pid, which nsenter --target names.
    }

    func startRpcbind() throws {
        let p = Process()
        let (executable, argv) = inside(GaneshaLab.rpcbind, ["-f"])
        p.executableURL = URL(fileURLWithPath: executable)
        p.arguments = argv
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        rpcbindProcess = p
        for _ in 0..<100 {
            if try run(GaneshaLab.rpcinfo, ["-p", "127.0.0.1"]).status == 0 { return }
            if !p.isRunning {
                throw SetupFailure("the lab's rpcbind -f exited with \(p.terminationStatus) in its private /run (namespace \(namespace))")
            }
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
        holder?.waitUntilExit()
        _ = try? sandbox.run(GaneshaLab.ip, ["netns", "delete", namespace])
        return left
    }
}
