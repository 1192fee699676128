// Which processes may stand for a resource: a name and an argument are
// text any local user can put on a command line (a copy of python3 named
// nginx, `exec -a nginx`), so a declared process is also judged by who runs
// it and what it runs. No Foundation: this runs on every monitor.
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// The owner rule of a declared process (``ProcessPattern/declared(name:argument:)``,
/// the host's process services and its start/stop/monitor checks).
///
/// A process that matches the name and argument counts only when
/// 1. its real *and* effective uid (`/proc/PID/status`, `Uid:`) are each
///    root or the host's effective uid — what fshost started, or anything
///    root runs; a set-uid program another user started (real uid theirs)
///    does not count; or
/// 2. it runs as another user (a service account: nginx's workers as
///    `www-data`, PostgreSQL as `postgres`) *and* its executable
///    (`/proc/PID/exe`) is that very program — its basename is the declared
///    name's basename — in a file ``PathTrust`` accepts (owned by root or the
///    host's uid, not writable by others, in directories up to `/` that
///    pass). A program replaced since it started (` (deleted)`) cannot be
///    judged and does not count; neither does a pattern without a name.
///
/// So another local user's `cp /usr/bin/python3 /tmp/x/nginx; /tmp/x/nginx
/// -c /etc/nginx/nginx.conf` (their uid, an untrusted file) and
/// `exec -a nginx python3 … -c /etc/nginx/nginx.conf` (their uid, a trusted
/// file that is not nginx) are not the resource: not running for exclusive
/// and monitor, never signalled by stop. Cost: one `/proc/PID/status` read
/// per process that already matched name and argument; rule 2 adds a
/// `readlink`, a `realpath` and one `lstat` per directory of the executable.
public enum ProcessOwnerRule {
    /// The host's effective uid (root, in production).
    static let hostUid = geteuid()

    /// Whether `e` may stand for a declared process named `base` (the
    /// name's basename as bytes; nil: the pattern has no name).
    static func admits(_ e: ProcessEntry, name base: [UInt8]?) -> Bool {
        guard let uids = readUids(pid: e.pid), processStartTime(pid: e.pid) == e.startTime else { return false }
        func trusted(_ uid: UInt32) -> Bool { uid == 0 || uid == hostUid }
        if trusted(uids.real) && trusted(uids.effective) { return true }
        guard let base, !base.isEmpty, let exe = e.exe else { return false }
        return isDeclaredProgram(exe: exe, name: base)
    }

    /// Rule 2's test of the executable: `exe` (as `/proc/PID/exe` reads)
    /// is the program named `base` in a file ``PathTrust`` accepts.
    static func isDeclaredProgram(exe: String, name base: [UInt8]) -> Bool {
        guard !exe.hasSuffix(" (deleted)"), basename(Array(exe.utf8)).elementsEqual(base) else { return false }
        guard let real = PathTrust.resolve(exe) else { return false }
        var st = stat()
        guard lstat(real, &st) == 0 else { return false }
        let trust = PathTrust()
        // The kernel's name for the file has no links when it is read, but a
        // directory on it may be swapped for one since (a rename, then a
        // link in its place): each link is judged where it sits too.
        return trust.checkFile(st, path: real, role: "executable") == nil
            && trust.checkDirectory(PathTrust.parent(of: real)) == nil
            && trust.checkLinks(exe) == nil
    }
}
