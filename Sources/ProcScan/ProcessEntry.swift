#if canImport(Glibc)
import Glibc
#endif

/// One process of a ``ProcessTable`` snapshot.
///
/// The fields from `/proc/<pid>/stat` and the raw command line are read
/// during the scan. Three fields are derived on access, so that a scan of
/// 10,000 processes does not pay for what few callers need:
/// ``arguments`` (split from the command line read at scan time),
/// ``uid`` (a `/proc/<pid>/status` read only for a process whose
/// `/proc/<pid>` is owned by root) and ``exe`` (a `readlink` each time).
/// The last two check the start time again, so they never describe a newer
/// process that reuses the pid.
public struct ProcessEntry: Sendable {
    /// The process id (the thread-group id: threads are not listed).
    public let pid: Int32
    /// The parent's pid (field 4 of `/proc/<pid>/stat`); 0 for pid 1 and kthreadd.
    public let ppid: Int32
    /// The process group (field 5 of stat).
    public let processGroup: Int32
    /// The state letter of field 3: `R` running, `S` sleeping, `D` disk wait,
    /// `T` stopped, `t` traced, `I` idle kernel thread. Zombies (`Z`) and
    /// dead (`X`) processes are never in a table.
    public let state: UInt8
    /// Field 22 of stat: when the process started, in clock ticks since boot.
    /// Together with ``pid`` it names one process: a pid reused later gets
    /// another start time.
    public let startTime: UInt64
    /// The kernel's name of the process (`/proc/<pid>/comm`): the basename
    /// of the executed file, cut at 15 bytes, or what the process set with
    /// `prctl(PR_SET_NAME)`.
    public let comm: String
    /// The flags of field 9 of stat.
    let flags: UInt32
    /// Owner of `/proc/<pid>` at scan time (see ``uid``).
    let owner: UInt32
    /// `/proc/<pid>/cmdline` without its final NUL: the arguments separated by NUL.
    let commandLineBytes: [UInt8]

    init(pid: Int32, ppid: Int32, processGroup: Int32, state: UInt8, startTime: UInt64, comm: String,
         flags: UInt32, owner: UInt32, commandLineBytes: [UInt8]) {
        self.pid = pid
        self.ppid = ppid
        self.processGroup = processGroup
        self.state = state
        self.startTime = startTime
        self.comm = comm
        self.flags = flags
        self.owner = owner
        self.commandLineBytes = commandLineBytes
    }

    /// Reads one process directly (its stat and cmdline), without a scan:
    /// for a pid the caller already knows (one it spawned, one from a pid
    /// file). nil when there is no such process, only its zombie, or its
    /// files cannot be read.
    public init?(pid: Int32) {
        guard pid > 0 else { return nil }
        let procfd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard procfd >= 0 else { return nil }
        defer { close(procfd) }
        var skipped = 0
        guard let entry = ProcessTable.read(pid: pid, in: procfd, buffer: ProcFileBuffer(capacity: 4096),
                                            skipped: &skipped) else { return nil }
        self = entry
    }

    /// True for a kernel thread (`PF_KTHREAD`): it has no command line.
    public var isKernelThread: Bool { flags & kernelThreadFlag != 0 }

    /// argv as the process holds it now-ish (`/proc/<pid>/cmdline`, read at
    /// scan time, split at NUL bytes on each access). Empty for kernel
    /// threads and for a process whose memory was already gone. A program
    /// that rewrites its title (`nginx: worker process`) shows it as one
    /// argument.
    public var arguments: [String] {
        guard !commandLineBytes.isEmpty else { return [] }
        return commandLineBytes.withUnsafeBufferPointer { b in
            var result: [String] = []
            var start = 0
            for i in 0...b.count where i == b.count || b[i] == 0 {
                result.append(String(decoding: UnsafeBufferPointer(rebasing: b[start..<i]), as: UTF8.self))
                start = i + 1
            }
            return result
        }
    }

    /// The command line as `ps -o args` shows it: the arguments joined by
    /// single spaces; for a kernel thread, comm in brackets (`[kworker/0:1]`).
    public var commandLine: String {
        if commandLineBytes.isEmpty { return "[" + comm + "]" }
        return String(decoding: commandLineBytes.lazy.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self)
    }

    /// What the process is, for a reason or a log line: `comm 'NAME',
    /// command line 'ARGS'` (``commandLine``), each cut at `limit` bytes
    /// (then `…`), control bytes shown as `?` so it stays one line.
    public func description(limit: Int) -> String {
        func shown(_ text: String) -> String {
            let bytes = Array(text.utf8)
            let cut = bytes.prefix(limit).map { $0 < 0x20 || $0 == 0x7F ? UInt8(ascii: "?") : $0 }
            return String(decoding: cut, as: UTF8.self) + (bytes.count > limit ? "…" : "")
        }
        return "comm '\(shown(comm))', command line '\(shown(commandLine))'"
    }

    /// The real uid of the process.
    ///
    /// Read cheaply from the owner of `/proc/<pid>` (an `fstat` of the stat
    /// file during the scan): for an ordinary (dumpable) process that is its
    /// effective uid, which equals the real uid after every `execve` that
    /// did not gain privileges. The kernel shows root as owner of a process
    /// that is *not* dumpable (a daemon's worker after `setuid()` without
    /// exec, a set-uid program), so for a root-owned entry the real uid is
    /// read on access from the `Uid:` line of `/proc/<pid>/status`. If that
    /// process is gone by then (or its pid was reused), the owner (0) stays.
    public var uid: UInt32 {
        if owner != 0 || isKernelThread { return owner }
        guard let real = readRealUid(pid: pid), processStartTime(pid: pid) == startTime else { return owner }
        return real
    }

    /// The executable (`readlink /proc/<pid>/exe`), read on each access;
    /// nil for kernel threads, when it cannot be read (another user's
    /// process when not root) or when the pid now belongs to another
    /// process. The kernel appends ` (deleted)` when the file was removed or
    /// replaced since the process started.
    public var exe: String? {
        guard !isKernelThread, let path = readExe(pid: pid), processStartTime(pid: pid) == startTime else { return nil }
        return path
    }

    /// `ha_exec2 -t` for one process: its command line as `ps -o args` and
    /// `pgrep -f` show it — the arguments joined by single spaces (NUL
    /// padding after a rewritten title reads as spaces, trailing ones
    /// dropped) — contains `text`; for a process without a command line (a
    /// kernel thread, one whose memory is gone) its comm does. Bytes,
    /// case-sensitive; an empty text matches nothing. See
    /// ``CommandLineSearch``, which answers the same question for every
    /// process while reading as little as it can.
    public func commandLineContains(_ text: String) -> Bool {
        let needle = Array(text.utf8)
        return !needle.isEmpty && commandLineContains(needle)
    }

    /// The same with the text as UTF-8 bytes (converted once, for a loop
    /// over many entries).
    public func commandLineContains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return false }
        return needle.withUnsafeBufferPointer { n in
            if commandLineBytes.isEmpty {
                var name = comm
                return name.withUTF8 { bytesContain(UnsafeBufferPointer(start: $0.baseAddress, count: $0.count), n) }
            }
            return commandLineBytes.withUnsafeBufferPointer { line in
                var end = line.count
                while end > 0 && line[end - 1] == 0 { end -= 1 }
                return bytesContain(UnsafeBufferPointer(rebasing: line[0..<end]), n, nulAsSpace: true)
            }
        }
    }

    // MARK: byte-level helpers for matching (no String work per entry)

    /// Bytes of argv[0]: up to the first NUL.
    var argv0: ArraySlice<UInt8> {
        let end = commandLineBytes.firstIndex(of: 0) ?? commandLineBytes.endIndex
        return commandLineBytes[..<end]
    }

    /// Bytes of argv[`index`], nil when the command line has fewer arguments.
    func argument(_ index: Int) -> ArraySlice<UInt8>? {
        var start = commandLineBytes.startIndex
        var k = 0
        var i = start
        while i <= commandLineBytes.endIndex {
            if i == commandLineBytes.endIndex || commandLineBytes[i] == 0 {
                if k == index { return commandLineBytes[start..<i] }
                k += 1
                start = i + 1
            }
            i += 1
        }
        return nil
    }

    /// Bytes of argv[1...] (NUL-separated), empty when there is none.
    var argumentsAfterFirst: ArraySlice<UInt8> {
        guard let nul = commandLineBytes.firstIndex(of: 0) else { return [] }
        return commandLineBytes[(nul + 1)...]
    }
}

/// Bytes after the last `/`.
@inline(__always)
func basename<C: BidirectionalCollection>(_ path: C) -> C.SubSequence where C.Element == UInt8 {
    if let slash = path.lastIndex(of: 0x2F) { return path[path.index(after: slash)...] }
    return path[...]
}

/// Does `haystack` contain `needle` (bytes)? With `nulAsSpace`, a NUL in the
/// haystack compares equal to a space, so a NUL-separated command line is
/// searched as its space-joined text without building it.
@inline(__always)
func bytesContain(_ haystack: UnsafeBufferPointer<UInt8>, _ needle: UnsafeBufferPointer<UInt8>,
                  nulAsSpace: Bool = false) -> Bool {
    let m = needle.count
    let n = haystack.count
    if m == 0 { return true }
    if m > n { return false }
    let first = needle[0]
    var i = 0
    let last = n - m
    while i <= last {
        var h = haystack[i]
        if nulAsSpace && h == 0 { h = 0x20 }
        if h == first {
            var k = 1
            while k < m {
                var c = haystack[i + k]
                if nulAsSpace && c == 0 { c = 0x20 }
                if c != needle[k] { break }
                k += 1
            }
            if k == m { return true }
        }
        i += 1
    }
    return false
}
