import Foundation
import HAVocabulary
import TrustedPaths

/// Creates a directory of new files all at once: everything is written into
/// a temporary directory beside the destination
/// (`.<name>.scaffold-<pid>-XXXXXX`, same parent, so the same file system),
/// which is renamed to the destination at the end. A failure at any step
/// removes the temporary directory: the destination is either complete or
/// untouched, never half created.
///
/// Run as root into a directory another user can write, a path-based writer
/// could be sent anywhere: that user swaps the temporary directory for a
/// symbolic link between two steps. So the parent must pass ``PathTrust``'s
/// rule (as an ancestor: owned by root or the caller, writable by nobody
/// else unless sticky), and every step after it is relative to descriptors:
/// the parent opened once, the temporary directory made with `mkdirat` and
/// opened `O_NOFOLLOW`, `fchmod`, each file `openat(O_CREAT|O_EXCL|O_NOFOLLOW)`,
/// and `renameat` only when the name still holds the directory written.
///
/// A scaffold killed midway leaves its temporary directory: the pid in its
/// name lets the next scaffold into the same parent remove it once that
/// process is gone (`kill(pid, 0)` fails with `ESRCH`) and it is ours (owned
/// by the effective uid).
///
/// Refusals (one line each): a destination that is not a directory or is a
/// non-empty one, or whose last component is `.`, `..` or `/`,
/// `HA_INVAL_ARGS` (2) — `rename(2)` replaces only an empty directory, so a
/// non-empty one made meanwhile still fails; a parent that is missing, not
/// writable or not trusted (``PathTrust``), or a write that fails,
/// `HA_CMD_FAILED` (3).
struct ScaffoldDirectory {
    /// The directory to create, as given (relative to the working directory or absolute).
    let destination: String

    /// The destination split into its parent (`.` when none) and last
    /// component; nil when that component is `.`, `..` or empty (`/`),
    /// which can never be renamed into.
    static func split(_ path: String) -> (parent: String, base: String)? {
        var bytes = Array(path.utf8)
        while bytes.count > 1, bytes.last == UInt8(ascii: "/") { bytes.removeLast() }
        let slash = bytes.lastIndex(of: UInt8(ascii: "/"))
        let base = String(decoding: slash.map { bytes[($0 + 1)...] } ?? bytes[...], as: UTF8.self)
        guard !base.isEmpty, base != ".", base != ".." else { return nil }
        let parent = slash.map { $0 == 0 ? "/" : String(decoding: bytes[..<$0], as: UTF8.self) } ?? "."
        return (parent, base)
    }

    /// Refuses an existing destination that is a file or a non-empty directory.
    func checkFree() throws(HostError) {
        guard Self.split(destination) != nil else {
            throw HostError(.invalidArguments, "'\(destination)' names no new directory (its last component is '.', '..' or '/'); give DIR as a name")
        }
        var info = stat()
        guard lstat(destination, &info) == 0 else { return }
        guard info.st_mode & S_IFMT == S_IFDIR else {
            throw HostError(.invalidArguments, "\(destination) exists and is not a directory; not overwriting it")
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: destination)) ?? ["?"]
        guard entries.isEmpty else {
            throw HostError(.invalidArguments, "\(destination) exists and is not empty; not overwriting it")
        }
    }

    /// Writes `files` (paths relative to the destination) and renames the
    /// whole into place. Directories are 0755, files 0644.
    func create(_ files: [(path: String, text: String)]) throws(HostError) {
        try checkFree()
        guard let (parentPath, base) = Self.split(destination) else { return }
        let parent = try openTrustedParent(parentPath)
        defer { close(parent) }
        Self.removeStale(in: parent, base: base)
        let (temporary, directory) = try makeTemporary(in: parent, base: base)
        var renamed = false
        defer {
            close(directory)
            if !renamed { Self.removeTree(in: parent, name: temporary) }
        }
        for file in files {
            if let problem = Self.write(file.text, to: file.path, in: directory) {
                throw HostError(.commandFailed, "cannot write \(destination)/\(file.path): \(problem)")
            }
        }
        // The name must still hold the directory written (an inode check;
        // the trusted parent is what keeps it so).
        var held = stat(), written = stat()
        guard fstatat(parent, temporary, &held, AT_SYMLINK_NOFOLLOW) == 0, fstat(directory, &written) == 0,
              held.st_dev == written.st_dev, held.st_ino == written.st_ino else {
            throw HostError(.commandFailed, "cannot create \(destination): its temporary directory \(parentPath)/\(temporary) was replaced")
        }
        guard renameat(parent, temporary, parent, base) == 0 else {
            let code = errno
            if code == ENOTEMPTY || code == EEXIST || code == ENOTDIR {
                throw HostError(.invalidArguments, "\(destination) exists and is not empty; not overwriting it")
            }
            throw HostError(.commandFailed, "cannot create \(destination): \(String(cString: strerror(code)))")
        }
        renamed = true
    }

    /// The parent, opened `O_DIRECTORY`, after ``PathTrust``'s check as an
    /// ancestor (a sticky directory is fine: the entry made in it is ours).
    private func openTrustedParent(_ parentPath: String) throws(HostError) -> Int32 {
        guard let resolved = PathTrust.resolve(parentPath) else {
            throw HostError(.commandFailed, "cannot create \(destination): \(parentPath): \(String(cString: strerror(errno)))")
        }
        if let violation = PathTrust().checkDirectory(resolved, holdsFiles: false) {
            throw HostError(.commandFailed, "cannot create \(destination): \(violation) (PathTrust: another user could swap what is written there)")
        }
        let fd = open(resolved, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw HostError(.commandFailed, "cannot create \(destination): \(parentPath): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// `.<base>.scaffold-<pid>-XXXXXX` made in `parent` (0700 as mkdtemp,
    /// then 0755 by `fchmod`: the package is for its author's tools too) and
    /// its descriptor, opened `O_NOFOLLOW`.
    private func makeTemporary(in parent: Int32, base: String) throws(HostError) -> (String, Int32) {
        let letters = Array("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        for _ in 0..<100 {
            let name = ".\(base).scaffold-\(getpid())-" + String((0..<6).map { _ in letters.randomElement()! })
            if mkdirat(parent, name, 0o700) != 0 {
                if errno == EEXIST { continue }
                throw HostError(.commandFailed, "cannot create \(destination): \(String(cString: strerror(errno)))")
            }
            let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                let problem = String(cString: strerror(errno))
                throw HostError(.commandFailed, "cannot create \(destination): its temporary directory \(name): \(problem)")
            }
            fchmod(fd, 0o755)
            return (name, fd)
        }
        throw HostError(.commandFailed, "cannot create \(destination): no free temporary name")
    }

    /// Writes a new file at `path` (relative, `/`-separated) under
    /// `directory`: each directory on the way made 0755 by `mkdirat` and
    /// entered `O_NOFOLLOW`, the file 0644, never an existing one; nil, or
    /// why not (`strerror`).
    private static func write(_ text: String, to path: String, in directory: Int32) -> String? {
        var parts = path.split(separator: "/").map(String.init)
        guard let name = parts.popLast() else { return "empty path" }
        var current = dup(directory)
        guard current >= 0 else { return String(cString: strerror(errno)) }
        defer { close(current) }
        for part in parts {
            if mkdirat(current, part, 0o755) != 0 && errno != EEXIST {
                return String(cString: strerror(errno))
            }
            let next = openat(current, part, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard next >= 0 else { return String(cString: strerror(errno)) }
            fchmod(next, 0o755)  // whatever the umask
            close(current)
            current = next
        }
        let fd = openat(current, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return String(cString: strerror(errno)) }
        defer { close(fd) }
        fchmod(fd, 0o644)  // whatever the umask
        var bytes = Array(text.utf8)[...]
        while !bytes.isEmpty {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { return String(cString: strerror(n < 0 ? errno : EIO)) }
            bytes = bytes.dropFirst(n)
        }
        return nil
    }

    /// Removes `.<base>.scaffold-<pid>-*` directories in `parent` that are
    /// ours (owned by the effective uid) and whose process is gone.
    private static func removeStale(in parent: Int32, base: String) {
        let prefix = ".\(base).scaffold-"
        for name in entries(of: parent) where name.hasPrefix(prefix) {
            let rest = name.dropFirst(prefix.count)
            guard let dash = rest.firstIndex(of: "-"), let pid = pid_t(rest[..<dash]), pid > 0, pid != getpid() else { continue }
            var st = stat()
            guard fstatat(parent, name, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFDIR,
                  st.st_uid == geteuid() else { continue }
            if kill(pid, 0) != 0 && errno == ESRCH { removeTree(in: parent, name: name) }
        }
    }

    /// The names in a directory (a descriptor, not consumed), `.` and `..` left out.
    private static func entries(of directory: Int32) -> [String] {
        let copy = openat(directory, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard copy >= 0, let stream = fdopendir(copy) else { return [] }
        defer { closedir(stream) }
        var names: [String] = []
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes `name` in `parent` and everything under it, never following
    /// a symbolic link (a link is removed, not entered).
    private static func removeTree(in parent: Int32, name: String) {
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if fd >= 0 {
            for entry in entries(of: fd) where unlinkat(fd, entry, 0) != 0 && (errno == EISDIR || errno == EPERM) {
                removeTree(in: fd, name: entry)
            }
            close(fd)
            unlinkat(parent, name, AT_REMOVEDIR)
        } else {
            unlinkat(parent, name, 0)
        }
    }
}
