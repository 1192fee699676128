// The symbolic links on the way to a trusted file: checked where they are,
// not only where they lead. The directories are judged by the one walk
// (``PathTrust/walk(_:holdsFiles:)``); this adds only the last step a walk
// of directories cannot take: a link that is the file's own name.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension PathTrust {
    /// Checks the path to a file as given, before `realpath(3)`: its
    /// directory is walked (``walk(_:holdsFiles:)``: every link on the way
    /// owned by a trusted uid and held by a directory nobody else can
    /// write, so not a sticky `/tmp`); when the file's own name is a
    /// symbolic link, that link must be owned by a trusted uid too (its
    /// directory was just checked), and its target is checked the same way.
    ///
    /// Why: the checks on the resolved path see only the link's target. A
    /// link `/tmp/x -> /etc/subuid` planted by anyone resolves to a file
    /// and directories root owns, so it would pass; whoever can write the
    /// directory holding the link chooses what the path means.
    ///
    /// - Parameter path: absolute, or relative to the working directory.
    /// - Returns: nil when every link (or none) is trusted, or when a
    ///   component is missing (resolving then fails with its own `errno`);
    ///   a ``Violation`` naming the directory or the link otherwise. At most
    ///   40 links are followed (Linux's `MAXSYMLINKS`), then ELOOP.
    public func checkLinks(_ path: String) -> Violation? {
        var absolute = path
        if !path.hasPrefix("/") {
            guard let cwd = getcwd(nil, 0) else { return nil }
            absolute = String(cString: cwd) + "/" + path
            free(cwd)
        }
        for _ in 0...40 {
            let held: String
            switch walk(Self.parent(of: absolute)) {
            case .success(let real): held = real
            case .failure(let violation): return errno == ENOENT || errno == ENOTDIR ? nil : violation
            }
            let name = absolute.split(separator: "/").last.map(String.init) ?? ""
            let link = held == "/" ? "/" + name : held + "/" + name
            var st = stat()
            guard !name.isEmpty, name != ".", name != "..", lstat(link, &st) == 0, st.st_mode & S_IFMT == S_IFLNK else { return nil }
            guard trusts(st.st_uid) else {
                return Violation(role: "symbolic link", path: link,
                                 problem: "is owned by uid \(st.st_uid), not by \(ownerText)")
            }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(link, &buffer, buffer.count - 1)
            guard n > 0 else {
                return Violation(role: "symbolic link", path: link, problem: "cannot be read: \(String(cString: strerror(errno)))")
            }
            let target = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            absolute = target.hasPrefix("/") ? target : (held == "/" ? "/" + target : held + "/" + target)
        }
        return Violation(role: "symbolic link", path: path, problem: "cannot be followed: \(String(cString: strerror(ELOOP)))")
    }
}
