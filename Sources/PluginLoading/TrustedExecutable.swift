// An executable fshost runs as root (the admin tool, and the fshost the admin
// tool runs to ask whether a resource runs) is held to the same rule as a
// plugin: nobody else could have written it, nor swapped it. No Foundation.
import HAVocabulary
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// An executable opened once (`O_PATH | O_CLOEXEC`, symlinks followed) and
/// checked through that descriptor under ``PathTrust``'s rule: a regular
/// file, owned by root or the effective uid, not group- or world-writable,
/// in a directory (up to `/`) that passes ``PathTrust/checkDirectory(_:holdsFiles:)``,
/// and every symbolic link on the way judged where it sits (``PathTrust/checkLinks(_:)``).
/// ``exec(_:)`` runs exactly the checked inode (`execveat(fd, "",
/// AT_EMPTY_PATH)`), so a file renamed over the path after the check is
/// never run.
public struct TrustedExecutable: Sendable {
    /// The path as given.
    public let path: String
    /// Where the opened file really is (the kernel's name for the descriptor).
    public let resolvedPath: String
    /// The `O_PATH | O_CLOEXEC` descriptor the checks ran on.
    public let descriptor: Int32

    /// Opens and checks `path`.
    ///
    /// - Parameters:
    ///   - path: must be absolute (a relative one would mean another file in
    ///     every working directory).
    ///   - what: names the executable in the message (`"FSHOST_ADMIN (the
    ///     management executable)"`).
    /// - Throws: ``HostError`` with `hostError` (9): relative, missing, not a
    ///   regular executable file, or writable by another user (the
    ///   ``PathTrust/Violation`` text).
    public static func open(_ path: String, what: String,
                            trust: PathTrust = PathTrust()) throws(HostError) -> TrustedExecutable {
        guard path.hasPrefix("/") else {
            throw HostError(.hostError, "\(what) must be an absolute path, not '\(path)'")
        }
        let fd = Glibc.open(path, openPathOnly | O_CLOEXEC)
        guard fd >= 0 else {
            throw HostError(.hostError, "\(what) \(path) cannot be opened: \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw HostError(.hostError, "\(what) \(path) cannot be inspected: \(why)")
        }
        let real = descriptorName(fd) ?? path
        var violation = trust.checkFile(st, path: real, role: "executable")
        if violation == nil, st.st_mode & 0o111 == 0 {
            violation = PathTrust.Violation(role: "executable", path: real, problem: "is not executable (mode \(PathTrust.octal(st.st_mode)))")
        }
        if violation == nil { violation = trust.checkDirectory(PathTrust.parent(of: real)) }
        // Each link on the way, where it sits: a trusted target reached
        // through a link another user could re-point is not trusted.
        if violation == nil { violation = trust.checkLinks(path) }
        if let violation {
            close(fd)
            throw HostError(.hostError, "\(what) refused: \(violation)")
        }
        return TrustedExecutable(path: path, resolvedPath: real, descriptor: fd)
    }

    /// Replaces this process with the checked file (`fexecve`, i.e. `execveat` with
    /// `AT_EMPTY_PATH` on the descriptor), the environment as it is now.
    /// Returns only on failure, with `errno` set.
    public func exec(_ arguments: [String]) {
        var cArgv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        // glibc's fexecve is execveat(fd, "", argv, envp, AT_EMPTY_PATH),
        // which runs an O_PATH descriptor's file. The descriptor stays open
        // across the exec: for a script the kernel hands the interpreter
        // /dev/fd/N, which must still name the checked file then.
        _ = fcntl(descriptor, F_SETFD, 0)
        _ = fexecve(descriptor, &cArgv, environ)
        let saved = errno
        for p in cArgv { free(p) }
        errno = saved
    }
}

/// Linux's `O_PATH` (asm-generic value): Glibc's Swift module leaves it out.
private let openPathOnly: Int32 = 0o10000000

/// `readlink` of `/proc/self/fd/N`: where the file behind `fd` is.
private func descriptorName(_ fd: Int32) -> String? {
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    let n = readlink("/proc/self/fd/" + String(fd), &buffer, buffer.count - 1)
    guard n > 0 else { return nil }
    return String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
