import HostLock
#if canImport(Glibc)
import Glibc
#endif

/// A snapshot of the processes on this machine, read from `/proc`.
///
/// The scan reads two files per process: `/proc/<pid>/stat` (pid, ppid,
/// state, start time, comm; plus an `fstat` for the owner) and
/// `/proc/<pid>/cmdline` (skipped for kernel threads). Nothing else is read
/// unless asked for (see ``ProcessEntry``). Zombies and the scanning
/// process itself are left out. A process that vanishes mid-scan, or whose
/// files cannot be read, is counted in ``unreadable`` — never an error.
///
/// One snapshot per invocation is the rule (docs/ARCHITECTURE.md §5): use ``shared``,
/// taken on first use, and ``refreshShared()`` when a later look must see
/// changes (after a start or a stop). For a yes/no question,
/// ``first(where:)`` reads only until it finds a match.
public final class ProcessTable: @unchecked Sendable {
    // @unchecked: every stored property is a `let` written only in init.

    /// The processes, ordered by pid.
    public let entries: [ProcessEntry]
    /// How many `/proc/<pid>` entries were skipped: the process vanished
    /// between the directory listing and the read, or its files could not
    /// be read (EACCES under `hidepid`), or its stat line did not parse.
    public let unreadable: Int

    /// Scans `/proc` now.
    public convenience init() {
        self.init(procRoot: "/proc", excluding: getpid())
    }

    /// Scans `procRoot` (a directory laid out like `/proc`; tests use fake
    /// ones), leaving out `excluding`.
    init(procRoot: String, excluding selfPid: Int32) {
        var list: [ProcessEntry] = []
        list.reserveCapacity(512)
        var skipped = 0
        Self.forEachProcess(procRoot: procRoot, excluding: selfPid, skipped: &skipped) { entry in
            list.append(entry)
            return true
        }
        var sorted = true
        for i in list.indices.dropFirst() where list[i - 1].pid >= list[i].pid { sorted = false; break }
        if !sorted { list.sort { $0.pid < $1.pid } }
        entries = list
        unreadable = skipped
    }

    /// The first process (in `/proc`'s order, ascending pids) for which
    /// `predicate` holds, scanning only until it is found; nil when none
    /// does. No snapshot is kept. For a yes/no question (`exec2 -s 0`), this
    /// stops as soon as the answer is known instead of reading every process.
    /// Zombies and this process are left out, as in a table.
    public static func first(where predicate: (ProcessEntry) -> Bool) -> ProcessEntry? {
        first(procRoot: "/proc", excluding: getpid(), where: predicate)
    }

    static func first(procRoot: String, excluding selfPid: Int32,
                      where predicate: (ProcessEntry) -> Bool) -> ProcessEntry? {
        var found: ProcessEntry?
        var skipped = 0
        forEachProcess(procRoot: procRoot, excluding: selfPid, skipped: &skipped) { entry in
            if predicate(entry) { found = entry; return false }
            return true
        }
        return found
    }

    /// The processes of process group `group` (field 5 of stat), ordered by
    /// pid: only those started at or after `since` (clock ticks since boot)
    /// when it is given, and only those matching `pattern` when it is given.
    /// One pass over `/proc` that reads `stat` of every process and the
    /// command line only of the group's members. Zombies and this process
    /// are left out.
    public static func members(ofGroup group: Int32, matching pattern: ProcessPattern? = nil,
                               startedSince since: UInt64? = nil) -> [ProcessEntry] {
        members(ofGroup: group, matching: pattern, startedSince: since, procRoot: "/proc", excluding: getpid())
    }

    static func members(ofGroup group: Int32, matching pattern: ProcessPattern?, startedSince since: UInt64?,
                        procRoot: String, excluding selfPid: Int32) -> [ProcessEntry] {
        guard group > 0 else { return [] }
        let compiled = pattern.map(CompiledPattern.init)
        var found: [ProcessEntry] = []
        var skipped = 0
        forEachProcess(procRoot: procRoot, excluding: selfPid, skipped: &skipped,
                       accept: { f in f.processGroup == group && f.startTime >= (since ?? 0) }) { entry in
            if compiled?.matches(entry) ?? true { found.append(entry) }
            return true
        }
        return found.sorted { $0.pid < $1.pid }
    }

    /// Reads the processes under `procRoot` one by one until `body` returns
    /// false; with `accept`, a process whose stat fields it refuses is
    /// skipped before its command line is read.
    private static func forEachProcess(procRoot: String, excluding selfPid: Int32, skipped: inout Int,
                                       accept: ((StatFields) -> Bool)? = nil,
                                       _ body: (ProcessEntry) -> Bool) {
        guard let dir = opendir(procRoot) else { return }
        defer { closedir(dir) }
        let dfd = dirfd(dir)
        let buffer = ProcFileBuffer(capacity: 4096)
        while let ent = readdir(dir) {
            // The name: digits only, else not a process.
            let pid: Int32? = withUnsafeBytes(of: &ent.pointee.d_name) { raw in
                var value: Int64 = 0
                var i = 0
                while i < raw.count, raw[i] != 0 {
                    let c = raw[i]
                    guard c >= 0x30, c <= 0x39, value < Int64(Int32.max) else { return nil }
                    value = value * 10 + Int64(c - 0x30)
                    i += 1
                }
                return i > 0 && value > 0 && value <= Int64(Int32.max) ? Int32(value) : nil
            }
            guard let pid, pid != selfPid else { continue }
            if let entry = read(pid: pid, in: dfd, buffer: buffer, skipped: &skipped, accept: accept), !body(entry) {
                return
            }
        }
    }

    /// One process: stat, then cmdline. nil for a zombie (not counted) or a
    /// process that could not be read (counted in `skipped`).
    /// With `accept`, nil (not counted) when it refuses the stat fields.
    static func read(pid: Int32, in dfd: Int32, buffer: ProcFileBuffer, skipped: inout Int,
                     accept: ((StatFields) -> Bool)? = nil) -> ProcessEntry? {
        var owner: UInt32 = 0
        let n = withProcPath(pid, "stat") { buffer.read(at: dfd, $0, owner: &owner) }
        guard n > 0, let f = parseStat(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<n])) else {
            skipped += 1
            return nil
        }
        if isDeadState(f.state) { return nil }
        if let accept, !accept(f) { return nil }
        let comm = String(decoding: UnsafeRawBufferPointer(rebasing: buffer.bytes[f.commStart..<f.commEnd]), as: UTF8.self)
        var commandLine: [UInt8] = []
        if f.flags & kernelThreadFlag == 0 {
            let m = withProcPath(pid, "cmdline") { buffer.read(at: dfd, $0) }
            if m < 0 {
                let e = errno
                if e == ENOENT || e == ESRCH {   // gone between the two reads
                    skipped += 1
                    return nil
                }
            } else if m > 0 {
                let end = buffer.bytes[m - 1] == 0 ? m - 1 : m
                commandLine = Array(UnsafeRawBufferPointer(rebasing: buffer.bytes[0..<end]))
            }
        }
        return ProcessEntry(pid: pid, ppid: f.ppid, processGroup: f.processGroup,
                            state: f.state, startTime: f.startTime, comm: comm, flags: f.flags,
                            owner: owner, commandLineBytes: commandLine)
    }

    /// The entries that match `p`, ordered by pid.
    public func matching(_ p: ProcessPattern) -> [ProcessEntry] {
        let compiled = CompiledPattern(p)
        return entries.filter { compiled.matches($0) }
    }

    /// `ha_exec2 -t TEXT`: the entries whose command line contains `text`
    /// (``ProcessEntry/commandLineContains(_:)``: argv joined by single
    /// spaces, as `ps -o args` and `pgrep -f` see it, so a text with a space
    /// can span two arguments, `"sleep 600"`; comm for a process without a
    /// command line). Bytes, case-sensitive; an empty text matches nothing.
    public func containing(_ text: String) -> [ProcessEntry] {
        let needle = Array(text.utf8)
        guard !needle.isEmpty else { return [] }
        return entries.filter { $0.commandLineContains(needle) }
    }

    /// The entry of `pid`, if it was in the snapshot.
    public func entry(pid: Int32) -> ProcessEntry? {
        var low = 0
        var high = entries.count - 1
        while low <= high {
            let mid = (low + high) / 2
            let p = entries[mid].pid
            if p == pid { return entries[mid] }
            if p < pid { low = mid + 1 } else { high = mid - 1 }
        }
        return nil
    }

    /// The snapshot of this process, scanned on first use and then shared by
    /// the host and every plugin call, until ``refreshShared()``.
    public static var shared: ProcessTable {
        sharedTable.withLock { shared in
            if let table = shared { return table }
            let table = ProcessTable()
            shared = table
            return table
        }
    }

    /// Drops the shared snapshot: the next access to ``shared`` scans again.
    public static func refreshShared() {
        sharedTable.withLock { $0 = nil }
    }
}

/// The process-wide snapshot behind `ProcessTable.shared`: one scan per
/// invocation, shared by host and plugins, guarded by the stdlib's mutex.
private let sharedTable = Locked<ProcessTable?>(nil)
