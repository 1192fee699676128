import CSystemShims
#if canImport(Glibc)
import Glibc
#endif

/// The mark the SDK puts on a program it starts detached (``Detach``): one
/// environment variable, `FSHOST_RESOURCE=<type>/<resource> <pidfile>`,
/// which every
/// process it starts inherits, whatever its session, process group or
/// parent. Stop finds by it what parent links no longer show: a `setsid`
/// grandchild whose parent already exited (re-parented to init), or what a
/// writer that crashed left behind. systemd marks a service's processes
/// with a cgroup for the same reason; a mark in the environment needs no
/// cgroup file system (CI runs in a PID namespace without one of its own).
///
/// Only processes of the resource's users carry weight: another local user
/// can put the same variable in their own processes' environment, so a
/// marked process counts only when owned by one of the ``processes(marked:owners:)``
/// owners (root, fshost's user, the user the resource runs as). A process
/// that clears its environment drops the mark (stop still ends what parent
/// links show, ``Descendants``).
public enum LaunchMark {
    /// The variable's name.
    public static let variable = "FSHOST_RESOURCE"

    /// `NAME=type/resource pidfile`, what ``Detach`` adds to the
    /// environment. The pidfile (one per resource on a node, an absolute
    /// path) tells apart two resources of one name under two state
    /// directories: test sandboxes, two fshost installations.
    public static func entry(type: String, resource: String, pidFile: String) -> String {
        "\(variable)=\(type)/\(resource) \(pidFile)"
    }

    /// Every live process (not a zombie, not this one nor its ancestors) whose initial
    /// environment (`/proc/PID/environ`, at most ``environmentLimit``
    /// bytes read) holds `entry` as a whole variable and whose real and
    /// effective uid (`/proc/PID/status`: a set-uid program another user
    /// started keeps their real uid) are in `owners`, with its start time
    /// (read before and after, so a pid reused meanwhile is not taken).
    /// Costs one directory scan and a few small reads per process: for
    /// stop, never for monitor.
    public static func processes(marked entry: String, owners: Set<UInt32>) -> [ProcessIdentity] {
        let needle = [UInt8](entry.utf8) + [0]
        // Never this process nor what it runs under (a writer's script
        // that calls `fshost … stop` itself must not end its caller).
        var spared: Set<Int32> = [getpid()]
        var up = getppid()
        while up > 1, spared.insert(up).inserted, let (parent, _) = Descendants.parentAndStart(up) { up = parent }
        var found: [ProcessIdentity] = []
        for pid in Descendants.processIDs() where !spared.contains(pid) {
            guard let (_, start) = Descendants.parentAndStart(pid), environment(of: pid, holds: needle),
                  let uids = userIDs(of: pid), owners.contains(uids.real), owners.contains(uids.effective),
                  Descendants.parentAndStart(pid)?.1 == start else { continue }
            found.append(ProcessIdentity(pid: pid, startTime: start))
        }
        return found
    }

    /// The real and effective uid of `pid` (`Uid:` of `/proc/PID/status`).
    static func userIDs(of pid: Int32) -> (real: UInt32, effective: UInt32)? {
        let fd = open("/proc/\(pid)/status", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        for line in buffer[..<n].split(separator: 0x0A) where line.starts(with: Array("Uid:".utf8)) {
            let fields = line.dropFirst(4).split(whereSeparator: { $0 == 0x09 || $0 == 0x20 })
            guard fields.count >= 2, let real = UInt32(String(decoding: fields[0], as: UTF8.self)),
                  let effective = UInt32(String(decoding: fields[1], as: UTF8.self)) else { return nil }
            return (real, effective)
        }
        return nil
    }

    /// The most of one process's environment read (256 KiB): more than a
    /// shell's or a server's ever is; a mark past it is not found.
    public static let environmentLimit = 256 << 10

    /// `/proc/PID/environ` holds `needle` (`NAME=VALUE\0`) at its start or
    /// just after a NUL.
    static func environment(of pid: Int32, holds needle: [UInt8]) -> Bool {
        let fd = open("/proc/\(pid)/environ", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var buffer = [UInt8](repeating: 0, count: 16 << 10)
        var bytes: [UInt8] = [0]  // a NUL before the first variable
        while bytes.count < environmentLimit {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            bytes += buffer[..<n]
        }
        if bytes.last != 0 { bytes.append(0) }
        let pattern = [0] + needle
        return bytes.withUnsafeBytes { hay in
            pattern.withUnsafeBytes { csys_memmem(hay.baseAddress, hay.count, $0.baseAddress, $0.count) != nil }
        }
    }
}
