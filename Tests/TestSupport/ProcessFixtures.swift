// Test helpers for tests that start real processes (ProcScan, Spawn, exec2).
// Glibc only, so any test target can use them.
#if canImport(Glibc)
import Glibc
#endif

/// A child process a test started: its own process group, stdin from
/// /dev/null, stdout/stderr inherited. Killed (its whole group) and reaped by
/// ``stop()`` or, at the latest, when the object goes away.
public final class ChildProcess {
    /// The child's pid (also its process group id).
    public let pid: Int32
    private var reaped = false

    /// Starts `argv` (`argv[0]` searched in PATH); nil when it cannot start.
    public init?(_ argv: [String]) {
        var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) }
        cArgs.append(nil)
        defer { for p in cArgs { free(p) } }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)
        var child: pid_t = 0
        guard !argv.isEmpty, posix_spawnp(&child, cArgs[0]!, &actions, &attributes, cArgs, environ) == 0 else {
            return nil
        }
        pid = child
    }

    deinit { stop() }

    /// Whether the child has exited (it is then a zombie until ``stop()`` or ``reap()``).
    public var hasExited: Bool {
        var info = siginfo_t()
        return waitid(P_PID, id_t(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info._sifields._sigchld.si_pid == pid
    }

    /// SIGKILL to the child's process group, then reap the child.
    public func stop() {
        guard !reaped else { return }
        kill(-pid, SIGKILL)
        kill(pid, SIGKILL)
        reap()
    }

    /// Waits for the child to end and reaps it; returns the raw wait status.
    @discardableResult
    public func reap() -> Int32 {
        guard !reaped else { return 0 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        reaped = true
        return status
    }
}

/// Small file-system and timing helpers for process tests.
public enum ProcessFixtures {
    /// A new empty directory under /tmp (mkdtemp); remove it with ``removeTree(_:)``.
    public static func makeTemporaryDirectory(prefix: String = "fshost-test") -> String {
        var template = Array("/tmp/\(prefix).XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        precondition(made != nil, "mkdtemp failed: errno \(errno)")
        return String(cString: made!)
    }

    /// `rm -rf path` (no shell; a spawned rm).
    public static func removeTree(_ path: String) {
        guard path.hasPrefix("/tmp/"), let rm = ChildProcess(["rm", "-rf", "--", path]) else { return }
        rm.reap()
    }

    /// Copies `source` to `destination` with mode 0755.
    @discardableResult
    public static func copyExecutable(from source: String, to destination: String) -> Bool {
        let input = open(source, O_RDONLY | O_CLOEXEC)
        guard input >= 0 else { return false }
        defer { close(input) }
        let output = open(destination, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o755)
        guard output >= 0 else { return false }
        defer { close(output) }
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(input, $0.baseAddress!, $0.count) }
            if n == 0 { break }
            guard n > 0 else { return false }
            let written = buffer.withUnsafeBytes { write(output, $0.baseAddress!, n) }
            guard written == n else { return false }
        }
        return fchmod(output, 0o755) == 0
    }

    /// Writes `text` to `path` (mode 0644), replacing it.
    public static func writeFile(_ path: String, _ text: String) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        precondition(fd >= 0, "cannot create \(path)")
        defer { close(fd) }
        let bytes = Array(text.utf8)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
    }

    /// The contents of `path`, or nil.
    public static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var data: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n <= 0 { break }
            data.append(contentsOf: buffer[0..<n])
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// The full path of `name` in PATH, or nil.
    public static func which(_ name: String) -> String? {
        let path = getenv("PATH").map { String(cString: $0) } ?? "/usr/bin:/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }

    /// Polls `condition` every 10 ms until it holds or `milliseconds` pass.
    @discardableResult
    public static func waitUntil(milliseconds: Int, _ condition: () -> Bool) -> Bool {
        let end = now() + Double(milliseconds) / 1000
        while true {
            if condition() { return true }
            if now() >= end { return false }
            usleep(10_000)
        }
    }

    /// CLOCK_MONOTONIC in seconds.
    public static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// The live (not zombie) processes other than this one whose command
    /// line (`/proc/PID/cmdline`, NULs included) contains `marker`: what a
    /// test started with its sandbox path in an argument.
    public static func pids(withCommandLineContaining marker: String) -> [Int32] {
        let me = getpid()
        guard let proc = opendir("/proc") else { return [] }
        defer { closedir(proc) }
        var pids: [Int32] = []
        while let entry = readdir(proc) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            guard let pid = Int32(name), pid != me, let cmdline = readFile("/proc/\(pid)/cmdline"),
                  cmdline.contains(marker), isRunning(pid) else { continue }
            pids.append(pid)
        }
        return pids.sorted()
    }

    /// Whether `pid` exists and is not a zombie (the CI's pid 1 may not
    /// reap what is re-parented to it): its state in `/proc/PID/stat`.
    public static func isRunning(_ pid: Int32) -> Bool {
        guard let stat = readFile("/proc/\(pid)/stat"), let close = stat.lastIndex(of: ")"),
              stat.index(close, offsetBy: 2) < stat.endIndex else { return false }
        return stat[stat.index(close, offsetBy: 2)] != "Z"
    }

    /// A marker unlikely to appear in any other process's command line.
    public static func uniqueMarker(_ label: String = "fshost") -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return "\(label)-\(getpid())-\(ts.tv_nsec % 1_000_000_007)-\(random() % 100_000)"
    }
}
