import HAVocabulary
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// The host's trust rule (``PathTrust``: sshd's `StrictModes`, resolved,
/// every directory up to `/`) for the files a resource type judges by or
/// runs as root: a log whose lines decide health, a program the SDK
/// starts. The same rule the host holds plugins and its own executables to
/// (`TrustedExecutable`); this is its form for a plugin, which has no
/// descriptor of the host's to run.
///
/// Every answer is one line naming the resolved path at fault (a symbolic
/// link's target, not the link) and why, or nil when trusted.
public enum TrustedFile {
    /// Why `path` (a regular file, resolved) or a directory above it up to
    /// `/` could have been written by another user; nil when trusted.
    /// A missing file: its directory (resolved) is checked, and nil when
    /// that passes and `mayBeMissing`, else "no such file".
    ///
    /// - Parameter owners: the trusted uids; default root and the effective uid.
    public static func problem(_ path: String, role: String = "file", mayBeMissing: Bool,
                               owners: Set<UInt32> = [0, geteuid()]) -> String? {
        let trust = PathTrust(trustedOwners: owners)
        guard let real = PathTrust.resolve(path) else {
            let e = errno
            guard e == ENOENT else { return "\(path): " + errnoText(e) }
            // Missing: the directory that would hold it must be trusted (nobody else can create it there).
            guard let directory = PathTrust.resolve(PathTrust.parent(of: path)) else {
                return "directory \(PathTrust.parent(of: path)): " + errnoText(errno)
            }
            if let violation = trust.checkDirectory(directory) { return violation.description }
            return mayBeMissing ? nil : "\(path): " + errnoText(ENOENT)
        }
        var st = stat()
        guard lstat(real, &st) == 0 else { return "\(real): " + errnoText(errno) }
        return (trust.checkFile(st, path: real, role: role) ?? trust.checkDirectory(PathTrust.parent(of: real)))?.description
    }

    /// Why the open file `fd` (whose name was `path`) or a directory above
    /// where it really is (`/proc/self/fd`) could have been written by
    /// another user; nil when trusted. Checks what was opened, so a file
    /// swapped in after a path check is still caught.
    public static func problem(descriptor fd: Int32, path: String, role: String = "file",
                               owners: Set<UInt32> = [0, geteuid()]) -> String? {
        var st = stat()
        guard fstat(fd, &st) == 0 else { return "\(path): " + errnoText(errno) }
        let real = descriptorName(fd) ?? path
        let trust = PathTrust(trustedOwners: owners)
        return (trust.checkFile(st, path: real, role: role) ?? trust.checkDirectory(PathTrust.parent(of: real)))?.description
    }

    /// Why `argv0` cannot be run as root by the SDK: not an absolute path
    /// (a relative one means another file in every working directory, a
    /// bare name whatever `PATH` finds first), missing, not an executable
    /// regular file, or writable by another user (the file or a directory
    /// up to `/`, resolved); nil when fit. The rule of the host's
    /// `TrustedExecutable`.
    public static func executableProblem(_ argv0: String, owners: Set<UInt32> = [0, geteuid()]) -> String? {
        guard argv0.hasPrefix("/") else {
            return "'\(LogText.escaped(argv0))' must be an absolute path (it would be looked up in "
                + (argv0.contains("/") ? "the caller's working directory" : "PATH") + ")"
        }
        if let problem = problem(argv0, role: "executable", mayBeMissing: false, owners: owners) { return problem }
        guard access(argv0, X_OK) == 0, let real = PathTrust.resolve(argv0) else { return "\(argv0): " + errnoText(errno) }
        var st = stat()
        if stat(real, &st) == 0, st.st_mode & 0o111 == 0 {
            return "executable \(real) is not executable (mode \(PathTrust.octal(st.st_mode)))"
        }
        return nil
    }

    /// `readlink` of `/proc/self/fd/N`: where the file behind `fd` is.
    static func descriptorName(_ fd: Int32) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let n = readlink("/proc/self/fd/" + String(fd), &buffer, buffer.count - 1)
        guard n > 0 else { return nil }
        return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}
