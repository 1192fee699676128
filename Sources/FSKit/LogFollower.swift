#if canImport(Glibc)
import Glibc
#endif

/// Where a reader of a log stopped: the file (device, inode), the offset
/// just after the last complete line read, and a fingerprint of the bytes
/// before that offset. Kept in state between calls (``text``).
public struct LogPosition: Sendable, Equatable {
    /// `st_dev` of the file read.
    public var device: UInt64
    /// `st_ino` of the file read.
    public var inode: UInt64
    /// Bytes of the file already read: always just after a newline (or 0),
    /// so a partial last line is read again, whole, next time.
    public var offset: Int64
    /// FNV-1a (64 bits) of the up to ``LogPosition/fingerprintLength`` bytes
    /// before ``offset``: tells that the file under this inode still holds
    /// what was read (not truncated and rewritten past the offset), and
    /// finds a copy of it (`log.1` after a copy-truncate rotation).
    public var fingerprint: UInt64

    /// Bytes hashed into ``fingerprint``.
    public static let fingerprintLength = 64

    /// A position; every parameter sets the property of its name.
    public init(device: UInt64, inode: UInt64, offset: Int64, fingerprint: UInt64) {
        self.device = device
        self.inode = inode
        self.offset = offset
        self.fingerprint = fingerprint
    }

    /// `log1 DEVICE INODE OFFSET FINGERPRINT` (decimal), what state keeps.
    public var text: String { "log1 \(device) \(inode) \(offset) \(fingerprint)" }

    /// Parses ``text``; nil for anything else (a corrupted state file).
    public init?(text: String) {
        let words = text.split(separator: " ", omittingEmptySubsequences: false)
        guard words.count == 5, words[0] == "log1", let device = UInt64(words[1]), let inode = UInt64(words[2]),
              let offset = Int64(words[3]), offset >= 0, let fingerprint = UInt64(words[4]) else { return nil }
        self.init(device: device, inode: inode, offset: offset, fingerprint: fingerprint)
    }
}

/// Reads only what was appended to a log since the last call, the way
/// `tail -F` follows a file, for a monitor that runs as a fresh process
/// each time (the position lives in state, ``LogPosition``):
///
/// - **New bytes only**: one `pread` from the remembered offset to the end
///   (never the whole file): a 1 GiB log with 1 MiB appended costs 1 MiB.
/// - **Complete lines only**: the bytes after the last newline (a line
///   being written) stay unread; the next call reads them whole.
/// - **Rotation by rename** (`log` → `log.1`, a new `log`): the remembered
///   inode is looked for at ``rotatedPath``; the bytes left in it after the
///   offset are read first (its last line too: nothing more comes), then
///   the new file from its start.
///   When the log is gone and ``rotatedPath`` holds the remembered inode
///   (renamed, the writer not reopened yet), it is read there.
/// - **Truncation** (copy-truncate: the size went below the offset, or the
///   bytes before the offset changed): when ``rotatedPath`` holds the
///   remembered fingerprint at the offset (the copy), its rest is read
///   first; then the file from its start.
/// - **Bounded**: at most ``maxBytes`` per call. When more is waiting, the
///   oldest bytes are skipped (counted in ``Chunk/skipped``) and reading
///   starts at the next line start: a monitor judges the newest lines and
///   never falls further behind.
///
/// Rotation and truncation are never failures; they are reported in
/// ``Chunk/events`` for the log.
public struct LogFollower: Sendable {
    /// The log's absolute path.
    public let path: String
    /// Where a rotation moves the log (logrotate's first generation).
    public let rotatedPath: String
    /// The most bytes one call reads.
    public let maxBytes: Int
    /// Set: every file read (the log, ``rotatedPath``) must pass the host's
    /// trust rule with these owners (``TrustedFile``, checked on the open
    /// descriptor), else ``Problem/untrusted(_:)``: lines another user
    /// could write must not judge a resource. Nil: not checked.
    public let trustedOwners: Set<UInt32>?

    /// A follower of `path`; `rotatedPath` defaults to `path` + `.1`; `maxBytes` > 0.
    public init(path: String, rotatedPath: String? = nil, maxBytes: Int, trustedOwners: Set<UInt32>? = nil) {
        self.path = path
        self.rotatedPath = rotatedPath ?? path + ".1"
        self.maxBytes = max(1, maxBytes)
        self.trustedOwners = trustedOwners
    }

    /// Opens `path` for reading, checked under ``trustedOwners``.
    func open(_ path: String) -> Result<OpenFile, Problem> {
        let opened = OpenFile.open(path)
        guard let owners = trustedOwners, case .success(let file) = opened else { return opened }
        if let why = TrustedFile.problem(descriptor: file.fd, path: path, owners: owners) {
            close(file.fd)
            return .failure(.untrusted(why))
        }
        return opened
    }

    /// What one call read.
    public struct Chunk: Sendable {
        /// Complete lines (each ending with a newline, except possibly the
        /// last line of a rotated-away file), oldest first.
        public var bytes: [UInt8]
        /// Where the next call starts: store it in state.
        public var position: LogPosition
        /// Bytes read from disk (what the call cost).
        public var bytesRead: Int
        /// Bytes skipped because more than ``LogFollower/maxBytes`` waited.
        public var skipped: Int64
        /// What happened to the file since the last call ("rotated: …").
        public var events: [String]
    }

    /// Why the log cannot be read.
    public enum Problem: Error, Sendable, Equatable, CustomStringConvertible {
        case absent
        case notRegular(String)
        case failed(String)
        /// Another user could have written it (``TrustedFile``'s text).
        case untrusted(String)
        /// One phrase for a reason (`no such file`).
        public var description: String {
            switch self {
            case .absent: return "no such file"
            case .notRegular(let kind): return "is \(kind), not a regular file"
            case .failed(let why): return why
            case .untrusted(let why): return "refused: \(why): another user could write the lines that judge it"
            }
        }
    }

    /// A position at the current end of the log (at the start of its last,
    /// incomplete line): what start remembers, so the first monitor judges
    /// only what was written after it. A missing log gives a position that
    /// reads the file from its start once it appears.
    public func baseline() -> Result<LogPosition, Problem> {
        let file: OpenFile
        switch open(path) {
        case .success(let f): file = f
        case .failure(.absent): return .success(LogPosition(device: 0, inode: 0, offset: 0, fingerprint: 0))
        case .failure(let p): return .failure(p)
        }
        defer { close(file.fd) }
        // Back up to the last newline within the last 4 KiB.
        let window = min(file.size, 4096)
        var tail = [UInt8](repeating: 0, count: Int(window))
        let got = file.read(into: &tail, at: file.size - window)
        var offset = file.size
        if got == Int(window), let newline = tail.lastIndex(of: 0x0A) {
            offset = file.size - window + Int64(newline) + 1
        }
        return .success(file.position(at: offset))
    }

    /// The complete lines appended since `since` (nil: none remembered,
    /// read nothing and start at the current end; see ``baseline()``), in
    /// one array: ``scanNew(since:bufferSize:_:)`` with a buffer that holds
    /// them all.
    public func readNew(since: LogPosition?) -> Result<Chunk, Problem> {
        var bytes: [UInt8] = []
        return scanNew(since: since, bufferSize: nil) { block in bytes.append(contentsOf: block); return true }
            .map { Chunk(bytes: bytes, position: $0.position!, bytesRead: $0.bytesRead, skipped: $0.skipped, events: $0.events) }
    }

    /// What one ``scanNew(since:bufferSize:_:)`` did.
    public struct Pass: Sendable {
        /// Where the next call starts (store it in state); nil when the
        /// judge stopped the pass (what followed was not read).
        public var position: LogPosition?
        /// Bytes read from disk (what the call cost).
        public var bytesRead: Int
        /// Bytes given to the judge (complete lines, and the head of a line
        /// longer than the buffer).
        public var bytesJudged: Int
        /// Bytes skipped because more than ``LogFollower/maxBytes`` waited.
        public var skipped: Int64
        /// What happened to the file since the last call ("rotated: …").
        public var events: [String]
    }

    /// The buffer ``scanNew(since:bufferSize:_:)`` reads through by
    /// default, in bytes (128 KiB): measured on the bench VM, reading 1 MiB
    /// of a log through it costs 0.14 ms in a fresh process against 0.56 ms
    /// for one 1 MiB buffer, whose 256 new pages each fault on first touch;
    /// and a block is still in the CPU's cache when its lines are matched.
    public static let blockSize = 128 << 10

    /// Reads what was appended since `since` (the pieces ``readNew(since:)``
    /// describes: the rest of a rotated file first, at most ``maxBytes``)
    /// through one buffer of `bufferSize` bytes (nil: one buffer for all;
    /// at least ``LinePattern/longestLine``), giving `judge` each block of
    /// complete lines in place, oldest first, until it answers false.
    ///
    /// - A block ends with a newline, except the head (`bufferSize` bytes)
    ///   of a line longer than the buffer: the rest of that line is not
    ///   read by `judge` (a pattern matches only a long line's head anyway,
    ///   ``LinePattern/longestLine``). If that line is the current file's
    ///   incomplete last line, its head may be judged again next time.
    /// - The current file's incomplete last line is left for next time
    ///   (unless it alone fills ``maxBytes``); a rotated file's last line
    ///   gets its newline.
    /// - `judge` answering false stops the pass: ``Pass/position`` is nil.
    public func scanNew(since: LogPosition?, bufferSize: Int? = LogFollower.blockSize,
                        _ judge: (UnsafeRawBufferPointer) -> Bool) -> Result<Pass, Problem> {
        guard let since else {
            return baseline().map { Pass(position: $0, bytesRead: 0, bytesJudged: 0, skipped: 0,
                                         events: ["no position remembered: starting at the end"]) }
        }
        var events: [String] = []
        let file: OpenFile
        switch open(path) {
        case .success(let f): file = f
        case .failure(.absent):
            // Renamed away and no new log yet (the writer has not reopened):
            // it still writes to the old file; follow it there.
            guard since.inode != 0 else { return .failure(.absent) }
            let opened = open(rotatedPath)
            if case .failure(.untrusted(let why)) = opened { return .failure(.untrusted(why)) }
            guard case .success(let old) = opened else { return .failure(.absent) }
            guard old.device == since.device && old.inode == since.inode else { close(old.fd); return .failure(.absent) }
            file = old
            events.append("moved to \(rotatedPath) and no new log yet: reading it there")
        case .failure(let p): return .failure(p)
        }
        defer { close(file.fd) }

        /// Pieces to read, oldest first: (descriptor, from, to, final piece of a rotated file).
        var pieces: [(fd: Int32, from: Int64, to: Int64, rotated: Bool)] = []
        var rotated: OpenFile?
        defer { if let rotated { close(rotated.fd) } }
        var start: Int64 = 0
        let sameFile = since.device == file.device && since.inode == file.inode && since.inode != 0
        if sameFile && file.size >= since.offset && file.fingerprint(before: since.offset) == since.fingerprint {
            start = since.offset
        } else if since.inode == 0 {
            // The log did not exist when the position was taken: all of it is new.
            if file.size > 0 { events.append("log appeared") }
        } else {
            // Rotated (another inode) or truncated (same inode, shorter or rewritten).
            let opened = open(rotatedPath)
            if case .failure(.untrusted(let why)) = opened { return .failure(.untrusted(why)) }
            if case .success(let old) = opened {
                let isOld = old.device == since.device && old.inode == since.inode
                let isCopy = !isOld && old.size >= since.offset && old.fingerprint(before: since.offset) == since.fingerprint
                if (isOld || isCopy) && old.size >= since.offset {
                    rotated = old
                    if old.size > since.offset { pieces.append((old.fd, since.offset, old.size, true)) }
                    events.append((sameFile ? "truncated (copy-truncate)" : "rotated")
                                  + "; read \(old.size - since.offset) bytes left in \(rotatedPath)")
                } else {
                    close(old.fd)
                }
            }
            if rotated == nil {
                events.append(sameFile ? "truncated to \(file.size) bytes (was read up to \(since.offset)); reading from its start"
                                       : "rotated; the old file is not at \(rotatedPath): reading the new one from its start")
            }
        }
        if file.size > start { pieces.append((file.fd, start, file.size, false)) }

        // Bound: keep the newest maxBytes.
        var skipped: Int64 = 0
        var excess = pieces.reduce(Int64(0)) { $0 + ($1.to - $1.from) } - Int64(maxBytes)
        while excess > 0, !pieces.isEmpty {
            let length = pieces[0].to - pieces[0].from
            if length <= excess {
                skipped += length; excess -= length; pieces.removeFirst()
            } else {
                pieces[0].from += excess; skipped += excess; excess = 0
            }
        }

        // Read through one buffer (no zero-fill); after each pread the
        // complete lines in it go to `judge` in place and the partial line
        // after them moves to the buffer's front.
        let total = pieces.reduce(0) { $0 + Int($1.to - $1.from) }
        let size = max(bufferSize.map { min(max($0, LinePattern.longestLine), total) } ?? total, 1)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: size + 1, alignment: 16)  // + a rotated file's newline
        defer { buffer.deallocate() }
        let base = buffer.baseAddress!
        var bytesRead = 0, judged = 0
        var nextOffset = start  // unless the current file is read below
        // Dropping bytes up to the next newline: the rest of a line whose
        // start the bound skipped (counted as skipped), or of a line longer
        // than the buffer whose head was judged.
        var discarding = skipped > 0, skipping = skipped > 0
        func give(_ from: Int, _ to: Int) -> Bool {
            judged += to - from
            return judge(UnsafeRawBufferPointer(start: base + from, count: to - from))
        }
        func stopped() -> Result<Pass, Problem> {
            .success(Pass(position: nil, bytesRead: bytesRead, bytesJudged: judged, skipped: skipped, events: events))
        }
        for piece in pieces {
            var head = 0, fill = 0          // buffer[head..<fill]: the line in progress
            var offset = piece.from         // the next byte to read
            var lineStart = piece.from      // the file offset of that line's start
            var endedLine = false           // a line of this piece ended (judged)
            let file = OpenFile(fd: piece.fd)
            while offset < piece.to {
                if head > 0 {
                    memmove(base, base + head, fill - head)
                    fill -= head; head = 0
                }
                let want = min(size - fill, Int(piece.to - offset))
                let got = file.read(into: UnsafeMutableRawBufferPointer(start: base + fill, count: want), at: offset)
                if got < 0 { return .failure(.failed("read: " + errnoText(errno))) }
                if got == 0 { break }   // shorter than fstat said: cut meanwhile
                bytesRead += got
                offset += Int64(got)
                let new = fill
                fill += got
                if discarding {
                    guard let newline = memchr(base + new, 0x0A, fill - new) else {
                        if skipping { skipped += Int64(got) }
                        fill = 0
                        continue
                    }
                    head = base.distance(to: newline) + 1
                    if skipping { skipped += Int64(head - new) } else { endedLine = true }
                    discarding = false; skipping = false
                    lineStart = offset - Int64(fill - head)
                }
                // The last newline is at most a line from the end: look back for it.
                var end = fill
                while end > max(new, head) && base.load(fromByteOffset: end - 1, as: UInt8.self) != 0x0A { end -= 1 }
                if end > max(new, head) {
                    guard give(head, end) else { return stopped() }
                    head = end
                    lineStart = offset - Int64(fill - head)
                    endedLine = true
                } else if head == 0 && fill == size && offset < piece.to {
                    // A line longer than the buffer: its head is judged, the rest dropped.
                    guard give(0, fill) else { return stopped() }
                    discarding = true
                    fill = 0
                }
            }
            let pending = discarding ? 0 : fill - head
            if piece.rotated {
                // Nothing more comes to a rotated file: its last line is complete.
                if pending > 0 {
                    base.storeBytes(of: 0x0A, toByteOffset: fill, as: UInt8.self)
                    guard give(head, fill + 1) else { return stopped() }
                }
            } else if !endedLine && offset - piece.from >= Int64(maxBytes) {
                // One incomplete line fills the bound: judged as it is.
                if pending > 0 { guard give(head, fill) else { return stopped() } }
                nextOffset = offset
            } else {
                // The incomplete last line waits for next time.
                nextOffset = lineStart
            }
            discarding = false; skipping = false
        }
        if skipped > 0 { events.append("\(skipped) bytes skipped (more than \(maxBytes) waited)") }
        return .success(Pass(position: file.position(at: nextOffset), bytesRead: bytesRead, bytesJudged: judged,
                             skipped: skipped, events: events))
    }
}

/// An open log file and its `fstat` facts.
struct OpenFile {
    let fd: Int32
    var device: UInt64 = 0
    var inode: UInt64 = 0
    var size: Int64 = 0

    init(fd: Int32) { self.fd = fd }

    /// Opens `path` read-only without blocking (a FIFO is refused after
    /// `fstat`, before any read).
    static func open(_ path: String) -> Result<OpenFile, LogFollower.Problem> {
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        if fd < 0 {
            let e = errno
            return .failure(e == ENOENT || e == ENOTDIR ? .absent : .failed(errnoText(e)))
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { let e = errno; close(fd); return .failure(.failed(errnoText(e))) }
        let kind = FileKind(mode: st.st_mode)
        guard kind == .regular else { close(fd); return .failure(.notRegular(kind.article)) }
        var file = OpenFile(fd: fd)
        file.device = UInt64(st.st_dev)
        file.inode = UInt64(st.st_ino)
        file.size = Int64(st.st_size)
        return .success(file)
    }

    /// `pread` until `buffer` is full or end of file; bytes read, -1 on error.
    func read(into buffer: UnsafeMutableRawBufferPointer, at offset: Int64) -> Int {
        var done = 0
        while done < buffer.count {
            let n = pread(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return -1 }
            if n == 0 { break }
            done += n
        }
        return done
    }

    func read(into buffer: inout [UInt8], at offset: Int64) -> Int {
        buffer.withUnsafeMutableBytes { read(into: $0, at: offset) }
    }

    /// FNV-1a of the bytes before `offset` (see ``LogPosition/fingerprint``); 0 at offset 0.
    func fingerprint(before offset: Int64) -> UInt64 {
        let length = Int(min(offset, Int64(LogPosition.fingerprintLength)))
        guard length > 0 else { return 0 }
        var bytes = [UInt8](repeating: 0, count: length)
        guard read(into: &bytes, at: offset - Int64(length)) == length else { return 1 }  // cannot match a real hash
        return LogPosition.fnv1a(bytes)
    }

    func position(at offset: Int64) -> LogPosition {
        LogPosition(device: device, inode: inode, offset: offset, fingerprint: fingerprint(before: offset))
    }
}

extension LogPosition {
    static func fnv1a<C: Collection>(_ bytes: C) -> UInt64 where C.Element == UInt8 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return hash
    }
}
