#if canImport(Glibc)
import Glibc
#endif

/// What a path names (after following symbolic links, unless asked not to).
public enum FileKind: Sendable, Equatable {
    case regular, directory, symbolicLink, socket, fifo, characterDevice, blockDevice, other

    init(mode: mode_t) {
        switch mode & S_IFMT {
        case S_IFREG: self = .regular
        case S_IFDIR: self = .directory
        case S_IFLNK: self = .symbolicLink
        case S_IFSOCK: self = .socket
        case S_IFIFO: self = .fifo
        case S_IFCHR: self = .characterDevice
        case S_IFBLK: self = .blockDevice
        default: self = .other
        }
    }

    /// "a directory", "a socket": for reasons.
    public var article: String {
        switch self {
        case .regular: return "a regular file"
        case .directory: return "a directory"
        case .symbolicLink: return "a symbolic link"
        case .socket: return "a socket"
        case .fifo: return "a FIFO"
        case .characterDevice: return "a character device"
        case .blockDevice: return "a block device"
        case .other: return "an unknown kind of file"
        }
    }
}

/// The facts `stat(2)` gives about a path.
public struct FileInfo: Sendable, Equatable {
    /// Regular file, directory, link, …
    public let kind: FileKind
    /// Permission bits (`0o7777` of `st_mode`).
    public let mode: UInt32
    /// The owner's uid.
    public let owner: UInt32
    /// The group's gid.
    public let group: UInt32
    /// Bytes.
    public let size: Int64
}

/// Checks of the files a resource names, for `validate`: each answers nil
/// when the file is fit, or one line saying why not, errno-style ("No such
/// file or directory", "is a directory", "is not executable", "is writable
/// by others (mode 0666)"), for a reason that also names the attribute.
public enum FileCheck {
    /// One thing a file must be.
    public enum Requirement: Sendable, Equatable {
        /// Of this kind.
        case kind(FileKind)
        /// Readable by this process (`access(R_OK)`).
        case readable
        /// Executable: an x bit set and `access(X_OK)` (as root `access`
        /// alone says yes when any x bit is set, even for a directory).
        case executable
        /// Owned by this uid.
        case owner(UInt32)
        /// No permission bit outside `mask` (`.modeWithin(0o755)` refuses
        /// group or world write).
        case modeWithin(UInt32)
    }

    /// `stat` (or `lstat` without `followLinks`) of `path`, or the errno text.
    public static func info(_ path: String, followLinks: Bool = true) -> Result<FileInfo, SmallFile.Problem> {
        var st = stat()
        let rc = followLinks ? stat(path, &st) : lstat(path, &st)
        if rc != 0 {
            let e = errno
            return .failure(e == ENOENT || e == ENOTDIR ? .absent : .failed(errnoText(e)))
        }
        return .success(FileInfo(kind: FileKind(mode: st.st_mode), mode: UInt32(st.st_mode) & 0o7777,
                                 owner: st.st_uid, group: st.st_gid, size: Int64(st.st_size)))
    }

    /// The path exists (a dangling symbolic link does not).
    public static func exists(_ path: String) -> Bool {
        if case .success = info(path) { return true }
        return false
    }

    /// The first requirement `path` fails, as one line; nil when it meets all.
    public static func problem(_ path: String, _ requirements: Requirement...) -> String? {
        problem(path, requirements)
    }

    /// The first requirement `path` fails, as one line; nil when it meets all
    /// (the requirements as an array).
    public static func problem(_ path: String, _ requirements: [Requirement]) -> String? {
        let info: FileInfo
        switch Self.info(path) {
        case .success(let i): info = i
        case .failure(.absent): return String(cString: strerror(ENOENT))
        case .failure(let p): return p.description
        }
        for requirement in requirements {
            switch requirement {
            case .kind(let kind):
                if info.kind != kind { return "is \(info.kind.article), not \(kind.article)" }
            case .readable:
                if access(path, R_OK) != 0 { return "is not readable: " + errnoText(errno) }
            case .executable:
                if info.kind != .regular { return "is not executable: it is \(info.kind.article)" }
                if info.mode & 0o111 == 0 || access(path, X_OK) != 0 { return "is not executable" }
            case .owner(let uid):
                if info.owner != uid { return "is owned by uid \(info.owner), not \(uid)" }
            case .modeWithin(let mask):
                let extra = info.mode & ~mask
                if extra != 0 {
                    let what = extra & 0o002 != 0 ? "is writable by others" : extra & 0o020 != 0 ? "is writable by its group"
                        : "has permission bits outside \(octal(mask))"
                    return "\(what) (mode \(octal(info.mode)))"
                }
            }
        }
        return nil
    }

    /// Where a server will write a file (a pidfile): an existing one must be
    /// a regular file; a missing one needs an existing directory.
    public static func creatableFileProblem(_ path: String) -> String? {
        switch info(path) {
        case .success(let info):
            return info.kind == .regular ? nil : "is \(info.kind.article)"
        case .failure(.absent):
            let parent = String(path[..<(path.lastIndex(of: "/") ?? path.startIndex)])
            if let problem = problem(parent.isEmpty ? "/" : parent, .kind(.directory)) {
                return "its directory \(parent.isEmpty ? "/" : parent): \(problem)"
            }
            return nil
        case .failure(let p):
            return p.description
        }
    }

    static func octal(_ mode: UInt32) -> String {
        let digits = String(mode, radix: 8)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }
}
