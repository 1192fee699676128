#if canImport(Glibc)
import Glibc
#endif

/// Whether a log shows activity within a growth window, judged across
/// calls of fresh processes: the file's facts and when they last changed
/// are kept in state (``Mark``).
///
/// Activity is any change of the file's identity or content: it grew; it
/// was rotated (another inode, whatever its length — a new file exactly as
/// long as the old one counts); it was truncated (shorter); it was
/// rewritten in place (same length, newer mtime: a copy-truncate whose new
/// file reached the old length between two checks). Rotation and
/// truncation are activity, never a failure. Only a file that stays the
/// same for longer than the window is stale.
///
/// Time is `CLOCK_BOOTTIME` (milliseconds since boot, suspend included):
/// wall-clock steps cannot make a log look stale or fresh, and a mark from
/// a previous boot (later than now) starts the window again.
public enum LogGrowth {
    /// The remembered facts: `grow1 DEVICE INODE SIZE MTIME_NS CHANGED_MS`.
    public struct Mark: Sendable, Equatable {
        /// `st_dev`; 0 for a log that does not exist yet.
        public var device: UInt64
        /// `st_ino`; 0 for a log that does not exist yet.
        public var inode: UInt64
        /// Bytes.
        public var size: Int64
        /// st_mtim in nanoseconds.
        public var modified: Int64
        /// ``LogGrowth/now()`` when the facts last changed.
        public var changedAt: Int64

        /// A mark; every parameter sets the property of its name.
        public init(device: UInt64, inode: UInt64, size: Int64, modified: Int64, changedAt: Int64) {
            self.device = device
            self.inode = inode
            self.size = size
            self.modified = modified
            self.changedAt = changedAt
        }

        /// The mark of a log that does not exist yet (device and inode 0):
        /// the window runs from `now` until it appears (see ``check``).
        public static func absent(since now: Int64) -> Mark {
            Mark(device: 0, inode: 0, size: 0, modified: 0, changedAt: now)
        }

        /// The form kept in state (see the type's comment).
        public var text: String { "grow1 \(device) \(inode) \(size) \(modified) \(changedAt)" }

        /// Parses ``text``; nil for anything else (a corrupted state file).
        public init?(text: String) {
            let w = text.split(separator: " ", omittingEmptySubsequences: false)
            guard w.count == 6, w[0] == "grow1", let device = UInt64(w[1]), let inode = UInt64(w[2]),
                  let size = Int64(w[3]), size >= 0, let modified = Int64(w[4]), let changedAt = Int64(w[5]) else { return nil }
            self.init(device: device, inode: inode, size: size, modified: modified, changedAt: changedAt)
        }
    }

    /// The answer of one check.
    public enum Verdict: Sendable, Equatable {
        /// Something changed now (what, for the log), or the window starts now.
        case active(String)
        /// Unchanged for this long, within the window.
        case quiet(Duration)
        /// Unchanged for this long, longer than the window.
        case stale(Duration)
    }

    /// Milliseconds of `CLOCK_BOOTTIME`.
    public static func now() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_BOOTTIME, &ts)
        return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec) / 1_000_000
    }

    /// The file's facts now, marked as changed at `now`.
    public static func mark(_ path: String, now: Int64 = now()) -> Result<Mark, LogFollower.Problem> {
        var st = stat()
        if stat(path, &st) != 0 {
            let e = errno
            return .failure(e == ENOENT || e == ENOTDIR ? .absent : .failed(errnoText(e)))
        }
        let kind = FileKind(mode: st.st_mode)
        guard kind == .regular else { return .failure(.notRegular(kind.article)) }
        return .success(Mark(device: UInt64(st.st_dev), inode: UInt64(st.st_ino), size: Int64(st.st_size),
                             modified: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
                             changedAt: now))
    }

    /// Checks `path` against `remembered` (nil, or from another boot: the
    /// window starts now). A missing `path` whose remembered inode is at
    /// `rotatedPath` (default `path.1`) is judged there (renamed, the
    /// writer not reopened yet). Returns the verdict and the mark to store (nil:
    /// nothing changed, nothing to write).
    public static func check(_ path: String, window: Duration, remembered: Mark?, rotatedPath: String? = nil,
                             now: Int64 = now()) -> Result<(Verdict, Mark?), LogFollower.Problem> {
        let current: Mark
        switch mark(path, now: now) {
        case .success(let m): current = m
        case .failure(.absent) where remembered?.inode == 0:
            // Not created yet (a writer that opens its log itself): missing
            // within the window is quiet, after it stale.
            guard let old = remembered, old.changedAt <= now else { return .failure(.absent) }
            let quiet = Duration.milliseconds(now - old.changedAt)
            return .success((quiet > window ? .stale(quiet) : .quiet(quiet), nil))
        case .failure(.absent):
            // Renamed to the rotated path and no new log yet: the writer
            // still writes to the old file, judged there.
            guard let remembered, case .success(let old) = mark(rotatedPath ?? path + ".1", now: now),
                  old.device == remembered.device && old.inode == remembered.inode else { return .failure(.absent) }
            current = old
        case .failure(let p): return .failure(p)
        }
        guard let old = remembered, old.changedAt <= now else {
            return .success((.active("no earlier size remembered: the growth window starts now"), current))
        }
        let what: String?
        if old.inode == 0 {
            what = "appeared (\(current.size) bytes)"
        } else if old.device != current.device || old.inode != current.inode {
            what = "rotated (a new file of \(current.size) bytes, was \(old.size))"
        } else if current.size < old.size {
            what = "truncated to \(current.size) bytes (was \(old.size))"
        } else if current.size > old.size {
            what = "grew by \(current.size - old.size) bytes"
        } else if current.modified != old.modified {
            what = "rewritten at the same length (\(current.size) bytes)"
        } else {
            what = nil
        }
        if let what { return .success((.active(what), current)) }
        let quiet = Duration.milliseconds(now - old.changedAt)
        return .success((quiet > window ? .stale(quiet) : .quiet(quiet), nil))
    }
}
