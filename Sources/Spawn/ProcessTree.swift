import CSystemShims
import HAVocabulary
import HostLock
#if canImport(Glibc)
import Glibc
#endif

/// The processes below this one, read from `/proc`, and how to end them
/// all. With `PR_SET_CHILD_SUBREAPER` set, every orphan of the tree is
/// re-parented to this process, so the tree is exactly "everything this
/// process started, however it forked" (double-forked daemons included).
public enum ProcessTree {
    /// One process as `/proc/<pid>/stat` shows it.
    struct Entry {
        let pid: pid_t
        let parent: pid_t
        /// The state letter (`R`, `S`, `D`, `Z`, …).
        let state: UInt8
        /// Its process group and session (0 when unknown, or outside
        /// this pid namespace).
        var group: pid_t = 0
        var session: pid_t = 0
    }

    /// One walk or kill at a time in a process. In fshost's worker two
    /// threads may end what an action or `exec2` started at once (the
    /// lifeline's watcher and the thread running the tries); two threads
    /// running this code for the first time at once were seen to spin
    /// forever inside the Swift runtime (both in the once of the same
    /// generic metadata, `swift_getCanonicalPrespecializedGenericMetadata`),
    /// and two killers would race anyway. Not reentrant.
    private static let walking = Locked<Void>(())

    /// The pids of every living (non-zombie) descendant of `root`, parents
    /// before their children. Reads `/proc/*/stat` once; O(processes).
    public static func descendants(of root: pid_t) -> [pid_t] {
        walking.withLock { _ in walk(from: root) }
    }

    /// Runs the walk once on an empty table (no /proc read) and takes the
    /// lock: call while the process has one thread, before threads that may
    /// clean up exist, so that the first run of this code (its lazily made
    /// globals and generic metadata) is never in two threads at once.
    public static func prepare() {
        walking.withLock { _ in _ = walk(from: 0, table: []) }
    }

    /// ``descendants(of:)`` without the lock.
    private static func walk(from root: pid_t) -> [pid_t] {
        walk(from: root, table: readTable())
    }

    /// The session and process group of `pid` (`/proc/<pid>/stat`), or nil
    /// when it is gone.
    public static func groupAndSession(of pid: pid_t) -> (group: pid_t, session: pid_t)? {
        readEntry(pid).map { ($0.group, $0.session) }
    }

    private static func walk(from root: pid_t, table: [Entry], sparing spared: Set<pid_t> = [],
                             groups: Set<pid_t> = [], sessions: Set<pid_t> = []) -> [pid_t] {
        var children: [pid_t: [Entry]] = [:]
        for entry in table { children[entry.parent, default: []].append(entry) }
        var found: [pid_t] = []
        var queue: [pid_t] = [root]
        var seen: Set<pid_t> = spared.union([root])
        while let parent = queue.popLast() {
            for child in children[parent] ?? [] where seen.insert(child.pid).inserted {
                if groups.contains(child.group) || sessions.contains(child.session) { continue }
                if child.state != UInt8(ascii: "Z") { found.append(child.pid) }
                queue.append(child.pid)
            }
        }
        return found
    }

    /// Sends SIGKILL to every descendant of this process, reaps what
    /// becomes its zombies, and repeats (a process may fork between the
    /// scan and the kill; its orphans then come to this process) until
    /// none is left or `milliseconds` pass (a process in uninterruptible
    /// sleep dies only when the kernel lets go). Returns how many were
    /// still alive at the end: 0 when the tree is gone.
    ///
    /// Each process is signalled through a pidfd opened before its parent
    /// is checked again, so a pid reused between the scan and the kill is
    /// never signalled.
    @discardableResult
    public static func killDescendants(within milliseconds: Int64 = 2_000) -> Int {
        walking.withLock { _ in killAll(within: milliseconds) }
    }

    /// ``killDescendants(within:)`` for a process that supervises several
    /// workers at once (a FailSafe batch): SIGKILL to every descendant
    /// except the processes in `spared` and everything below them, until
    /// none is left or `milliseconds` pass. Zombies are not reaped here
    /// (a spared child's status belongs to its supervisor's `waitpid`):
    /// the caller reaps. Returns how many were still alive at the end.
    /// `groups`, `sessions`: a descendant in one of these process groups or
    /// sessions is spared too, with everything below it: what a spared
    /// daemon forked later and orphaned (reparented here, its ancestry
    /// lost) stays, as it would after a single call.
    @discardableResult
    public static func killDescendants(sparing spared: Set<pid_t>, groups: Set<pid_t> = [], sessions: Set<pid_t> = [],
                                       within milliseconds: Int64 = 2_000) -> Int {
        walking.withLock { _ in
            let me = getpid()
            let end = monotonicMilliseconds() + milliseconds
            var pause: UInt32 = 200
            while true {
                let living = walk(from: me, table: readTable(), sparing: spared, groups: groups, sessions: sessions)
                if living.isEmpty { return 0 }
                for pid in living { kill(pid, verifiedAgainst: me) }
                if monotonicMilliseconds() >= end {
                    return walk(from: me, table: readTable(), sparing: spared, groups: groups, sessions: sessions).count
                }
                usleep(pause)
                pause = min(pause * 2, 20_000)
            }
        }
    }

    /// ``killDescendants(within:)`` without the lock.
    private static func killAll(within milliseconds: Int64) -> Int {
        let me = getpid()
        let end = monotonicMilliseconds() + milliseconds
        var pause: UInt32 = 200
        while true {
            reapZombies()
            let living = walk(from: me)
            if living.isEmpty { return 0 }
            for pid in living { kill(pid, verifiedAgainst: me) }
            reapZombies()
            if monotonicMilliseconds() >= end { return walk(from: me).count }
            usleep(pause)
            pause = min(pause * 2, 20_000)
        }
    }

    /// Whether this process has a child (living or a zombie), in one
    /// system call: the fast path that makes the tree walk unnecessary
    /// after almost every action.
    public static var hasChildren: Bool {
        var info = siginfo_t()
        return waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0
    }

    /// Reaps every terminated child without waiting.
    public static func reapZombies() {
        var status: Int32 = 0
        while waitpid(-1, &status, WNOHANG) > 0 {}
    }

    /// SIGKILL `pid` if it is still in the tree below `root`: the pid is
    /// pinned with a pidfd first, then its ancestry is read again.
    private static func kill(_ pid: pid_t, verifiedAgainst root: pid_t) {
        let pidfd = csys_pidfd_open(pid)
        guard pidfd >= 0 else {
            if errno == ENOSYS { _ = Glibc.kill(pid, SIGKILL) }   // kernel < 5.3: best effort
            return
        }
        defer { close(pidfd) }
        guard isDescendant(pid, of: root) else { return }
        _ = csys_pidfd_send_signal(pidfd, SIGKILL)
    }

    /// Walks `pid`'s parents through /proc up to `root` (or init).
    private static func isDescendant(_ pid: pid_t, of root: pid_t) -> Bool {
        var current = pid
        for _ in 0..<4096 {
            guard let entry = readEntry(current) else { return false }
            if entry.parent == root { return true }
            if entry.parent <= 1 { return false }
            current = entry.parent
        }
        return false
    }

    /// Every process in /proc.
    static func readTable() -> [Entry] {
        guard let directory = opendir("/proc") else { return [] }
        defer { closedir(directory) }
        var entries: [Entry] = []
        while let item = readdir(directory) {
            let pid: pid_t? = withUnsafeBytes(of: item.pointee.d_name) { raw in
                var value: pid_t = 0
                for byte in raw {
                    if byte == 0 { break }
                    guard byte >= 48 && byte <= 57 else { return nil }
                    value = value &* 10 &+ pid_t(byte - 48)
                }
                return value > 0 ? value : nil
            }
            if let pid, let entry = readEntry(pid) { entries.append(entry) }
        }
        return entries
    }

    /// `/proc/<pid>/stat`: state and parent follow the last `)` (the
    /// command name in parentheses may itself contain `)` and spaces).
    static func readEntry(_ pid: pid_t) -> Entry? {
        var path: [CChar] = Array("/proc/\(pid)/stat".utf8CString)
        let fd = open(&path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        return withUnsafeTemporaryAllocation(of: UInt8.self, capacity: 1024) { buffer -> Entry? in
            let n = read(fd, buffer.baseAddress!, buffer.count)
            guard n > 0 else { return nil }
            let bytes = UnsafeBufferPointer(rebasing: buffer[0..<n])
            guard let close = bytes.lastIndex(of: UInt8(ascii: ")")), close + 4 < n else { return nil }
            let state = bytes[close + 2]
            var parent: pid_t = 0
            var i = close + 4
            while i < n, bytes[i] >= 48, bytes[i] <= 57 {
                parent = parent &* 10 &+ pid_t(bytes[i] - 48)
                i += 1
            }
            // Then the process group and the session, each after a space.
            var ids: [pid_t] = [0, 0]
            for k in 0..<2 {
                guard i < n, bytes[i] == UInt8(ascii: " ") else { break }
                i += 1
                while i < n, bytes[i] >= 48, bytes[i] <= 57 {
                    ids[k] = ids[k] &* 10 &+ pid_t(bytes[i] - 48)
                    i += 1
                }
            }
            return Entry(pid: pid, parent: parent, state: state, group: ids[0], session: ids[1])
        }
    }
}
