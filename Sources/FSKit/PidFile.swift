#if canImport(Glibc)
import Glibc
#endif

/// A daemon's pidfile: the file a server writes its (master) pid into.
///
/// Reading never blocks and never follows anything but the path: one
/// `open`, one `fstat`, one `read` of at most 64 bytes.
public struct PidFile: Sendable {
    public let path: String

    public init(_ path: String) { self.path = path }

    /// What the file holds.
    public enum Content: Sendable, Equatable {
        /// There is no such file (ENOENT, or a directory on the way is missing).
        case absent
        /// It exists but cannot be read as a pidfile: a directory, a socket,
        /// EACCES, EIO. The text says which.
        case unreadable(String)
        /// It was read but holds no pid ("empty", "not a pid: 'abc'").
        case malformed(String)
        /// The pid it names.
        case pid(Int32)
    }

    /// Reads the file: a decimal pid (1…Int32.max), surrounding white space ignored.
    public func read() -> Content {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            let e = errno
            if e == ENOENT { return .absent }
            return .unreadable(errnoText(e))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .unreadable(errnoText(errno)) }
        guard st.st_mode & S_IFMT == S_IFREG else {
            return .unreadable(st.st_mode & S_IFMT == S_IFDIR ? "is a directory" : "is not a regular file")
        }
        var buffer = [UInt8](repeating: 0, count: 64)
        var n: Int
        repeat { n = Glibc.read(fd, &buffer, buffer.count) } while n < 0 && errno == EINTR
        guard n >= 0 else { return .unreadable(errnoText(errno)) }
        let text = buffer.prefix(n)
        let digits = text.drop { isSpace($0) }.reversed().drop { isSpace($0) }.reversed()
        guard !digits.isEmpty else { return .malformed("empty") }
        var value: Int64 = 0
        for c in digits {
            guard c >= 0x30, c <= 0x39, value <= Int64(Int32.max) else {
                return .malformed("not a pid: '\(String(decoding: text.prefix(20), as: UTF8.self))'")
            }
            value = value * 10 + Int64(c - 0x30)
        }
        guard value > 0, value <= Int64(Int32.max) else { return .malformed("not a pid: \(value)") }
        return .pid(Int32(value))
    }

    /// Removes the file, if it is a regular file. True when it is gone.
    @discardableResult
    public func remove() -> Bool {
        var st = stat()
        if lstat(path, &st) != 0 { return errno == ENOENT }
        guard st.st_mode & S_IFMT == S_IFREG else { return false }
        return unlink(path) == 0 || errno == ENOENT
    }

    private func isSpace(_ c: UInt8) -> Bool { c == 0x20 || c == 0x0A || c == 0x09 || c == 0x0D }
}

/// What a pidfile says about its process, after the host's pid-reuse guard.
public enum PidFileStatus: Sendable, Equatable {
    /// No pidfile: the server is (cleanly) stopped, or never ran.
    case absent
    /// The pidfile cannot be read (see ``PidFile/Content/unreadable(_:)``).
    case unreadable(String)
    /// The pidfile holds no pid.
    case malformed(String)
    /// The pidfile names a process that does not run any more, or a pid now
    /// used by another process. The text says which.
    case stale(pid: Int32, String)
    /// The process runs, and is the one the pidfile was written for (as far
    /// as the guards tell).
    case running(pid: Int32, startTime: UInt64)

    /// One line for a reason.
    public func summary(_ file: PidFile) -> String {
        switch self {
        case .absent: return "no pidfile \(file.path)"
        case .unreadable(let why): return "pidfile \(file.path) cannot be read: \(why)"
        case .malformed(let why): return "pidfile \(file.path) holds no pid (\(why))"
        case .stale(let pid, let why): return "pid \(pid) from \(file.path): \(why)"
        case .running(let pid, _): return "pid \(pid) from \(file.path) runs"
        }
    }
}

/// A process as it ran when it was last seen well: pid and start time
/// (clock ticks since boot). Saved in the resource's state after a start,
/// it is the exact pid-reuse guard for the pid a pidfile names later.
public struct ProcessIdentity: Sendable, Equatable {
    public var pid: Int32
    public var startTime: UInt64

    public init(pid: Int32, startTime: UInt64) {
        self.pid = pid
        self.startTime = startTime
    }

    /// `"<pid> <start time>"`, the form kept in state.
    public var text: String { "\(pid) \(startTime)" }

    public init?(text: String) {
        let parts = text.split(separator: " ")
        guard parts.count == 2, let pid = Int32(parts[0]), let start = UInt64(parts[1]), pid > 0 else { return nil }
        self.init(pid: pid, startTime: start)
    }
}

extension Processes {
    /// Reads `file` and checks the process it names.
    ///
    /// Guards against a pid that now belongs to another process (a crashed
    /// server's pidfile stays behind; the kernel hands its pid out again):
    /// - `known`: when it names the same pid, the process must still have
    ///   that start time (the host's exact guard, ``alive(pid:startTime:)``);
    /// - `pattern`: otherwise, the process must match it: its name equals
    ///   `comm` or the basename of argv[0], and its command line (arguments
    ///   joined by spaces, argv[0] included, so it also finds a server that
    ///   rewrote its title, as nginx's `nginx: master process … -c CONF`)
    ///   contains the argument.
    ///
    /// Costs one pidfile read and one `/proc/<pid>/stat` read; with a
    /// pattern and no matching `known`, two more small `/proc/<pid>` reads.
    public func check(_ file: PidFile, known: ProcessIdentity? = nil, pattern: ProcessPattern? = nil) -> PidFileStatus {
        let pid: Int32
        switch file.read() {
        case .absent: return .absent
        case .unreadable(let why): return .unreadable(why)
        case .malformed(let why): return .malformed(why)
        case .pid(let p): pid = p
        }
        if let known, known.pid == pid {
            guard alive(pid: pid, startTime: known.startTime) else {
                return .stale(pid: pid, alive(pid: pid) ? "the pid now belongs to another process (start time differs)"
                                                        : "no such process")
            }
            return .running(pid: pid, startTime: known.startTime)
        }
        guard let started = startTime(pid: pid) else { return .stale(pid: pid, "no such process") }
        if let pattern, !ProcessProbe.matches(pid: pid, pattern) {
            return .stale(pid: pid, "the pid now belongs to another process (not \(pattern.name)"
                          + (pattern.argument.map { " with \($0)" } ?? "") + ")")
        }
        // The pattern was read after the start time: make sure it described the same process.
        guard alive(pid: pid, startTime: started) else { return .stale(pid: pid, "no such process") }
        return .running(pid: pid, startTime: started)
    }
}

/// Looks at one process directly in /proc (no scan).
enum ProcessProbe {
    /// `pid` matches `pattern` (see ``Processes/check(_:known:pattern:)``).
    static func matches(pid: Int32, _ pattern: ProcessPattern) -> Bool {
        guard let command = readSmall("/proc/\(pid)/cmdline", limit: 8192) else { return false }
        var line = command
        while line.last == 0 { line.removeLast() }
        let argv0 = line.prefix { $0 != 0 }
        let comm = readSmall("/proc/\(pid)/comm", limit: 64).map { bytes in
            Array(bytes.last == 0x0A ? bytes.dropLast() : bytes[...])
        } ?? []
        let name = Array(pattern.name.utf8)
        // argv[0] of a rewritten title ("nginx: master process …") is compared up to its first space.
        let firstWord = argv0.prefix { $0 != 0x20 }
        let base = firstWord.split(separator: 0x2F, omittingEmptySubsequences: false).last.map(Array.init) ?? []
        let nameOK = comm == name || base == name || (base.last == 0x3A && Array(base.dropLast()) == name)
        guard nameOK else { return false }
        guard let argument = pattern.argument else { return true }
        let needle = Array(argument.utf8)
        if needle.isEmpty { return true }
        let hay = line.map { $0 == 0 ? 0x20 : $0 }
        guard hay.count >= needle.count else { return false }
        for i in 0...(hay.count - needle.count) where hay[i] == needle[0] {
            if hay[i..<(i + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }

    /// A small file's bytes, nil when it cannot be read.
    static func readSmall(_ path: String, limit: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 4096)
        while out.count < limit {
            let n = Glibc.read(fd, &buffer, min(buffer.count, limit - out.count))
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { break }
            out.append(contentsOf: buffer[0..<n])
        }
        return out
    }
}
