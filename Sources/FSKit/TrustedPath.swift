import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// The host's trust rule (``PathTrust``: sshd's `StrictModes`, checked at
/// the resolved path and on every directory up to `/`) for the paths a
/// resource type hands to root or to its service account: programs it runs,
/// secrets it reads, directories whose sockets it trusts. Each check answers
/// nil when the path is fit, or one line naming the path at fault and why
/// ("directory /srv/bin is writable by others (mode 0777)"), for a reason
/// that also names the attribute. A symbolic link is followed: what counts
/// is the file it leads to and every directory above that.
public enum TrustedPath {
    /// A program root (or a service account) runs: a regular executable
    /// file owned by root (or the host's uid), not writable by its group or
    /// others, in directories that pass the same rule up to `/`. Another
    /// user who could replace it would run their code as the account.
    public static func executableProblem(_ path: String) -> String? {
        guard let real = PathTrust.resolve(path) else { return "cannot be resolved: " + String(cString: strerror(errno)) }
        var st = stat()
        guard lstat(real, &st) == 0 else { return "cannot be inspected: " + String(cString: strerror(errno)) }
        let trust = PathTrust()
        if let v = trust.checkFile(st, path: real, role: "executable") { return v.description }
        if st.st_mode & 0o111 == 0 { return "executable \(real) is not executable (mode \(PathTrust.octal(st.st_mode)))" }
        return linkProblem(path, real: real, trust: trust) ?? trust.checkDirectory(PathTrust.parent(of: real))?.description
    }

    /// When `path` is not where it leads (`real`): who may change that —
    /// the link's owner and the directories that hold the path as given —
    /// must pass the rule too.
    static func linkProblem(_ path: String, real: String, trust: PathTrust) -> String? {
        guard real != path else { return nil }
        var st = stat()
        if lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFLNK && !trust.trusts(st.st_uid) {
            return "\(path) is a symbolic link owned by uid \(st.st_uid), not by root"
        }
        guard let directory = PathTrust.resolve(PathTrust.parent(of: path)) else { return nil }
        return trust.checkDirectory(directory)?.description
    }

    /// A file of secrets root reads (a password file): a regular file owned
    /// by root (or the host's uid), of mode 0600 or less, in directories
    /// that pass the rule up to `/`. A link another user planted to a
    /// root-only file is judged at its target's directories, and a file
    /// another user owns is refused: root would read it and send its
    /// contents where the resource says.
    public static func secretFileProblem(_ path: String) -> String? {
        guard let real = PathTrust.resolve(path) else { return "cannot be resolved: " + String(cString: strerror(errno)) }
        var st = stat()
        guard lstat(real, &st) == 0 else { return "cannot be inspected: " + String(cString: strerror(errno)) }
        let trust = PathTrust()
        if let v = trust.checkFile(st, path: real, role: "file") { return v.description }
        if st.st_mode & 0o077 != 0 { return "file \(real) has group or other bits (mode \(PathTrust.octal(st.st_mode))); it must be 0600" }
        return linkProblem(path, real: real, trust: trust) ?? trust.checkDirectory(PathTrust.parent(of: real))?.description
    }

    /// A directory where a service `account` makes a socket that root then
    /// trusts (sends credentials to): owned by root, the host's uid or the
    /// account; not writable by others, nor by its group unless that group
    /// is the account's own (Debian's `/run/postgresql`, `postgres:postgres`
    /// mode 2775); a sticky world-writable directory (`/tmp`) is refused —
    /// anyone may create the socket first. The directories above it pass the
    /// rule as ancestors (owned by root or the host's uid; sticky allowed).
    public static func serviceDirectoryProblem(_ path: String, account: Launch.Account) -> String? {
        guard let real = PathTrust.resolve(path) else { return "cannot be resolved: " + String(cString: strerror(errno)) }
        var st = stat()
        guard lstat(real, &st) == 0 else { return "cannot be inspected: " + String(cString: strerror(errno)) }
        guard st.st_mode & S_IFMT == S_IFDIR else { return "directory \(real) is not a directory" }
        if st.st_uid != 0 && st.st_uid != geteuid() && st.st_uid != account.uid {
            return "directory \(real) is owned by uid \(st.st_uid), not by root or \(account.name) (uid \(account.uid))"
        }
        if st.st_mode & S_IWOTH != 0 {
            return "directory \(real) is writable by others (mode \(PathTrust.octal(st.st_mode))): another user could put a socket there"
        }
        if st.st_mode & S_IWGRP != 0 && st.st_gid != account.gid {
            return "directory \(real) is writable by its group \(st.st_gid), not \(account.name)'s (mode \(PathTrust.octal(st.st_mode)))"
        }
        if real == "/" { return nil }
        return PathTrust().checkDirectory(PathTrust.parent(of: real), holdsFiles: false)?.description
    }
}
