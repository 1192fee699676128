// The symbolic links on the way to a trusted path: checked where they are,
// not only where they lead.
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

extension PathTrust {
    /// Checks every symbolic link met while resolving `path` (the path as
    /// given, before `realpath(3)`), the way `realpath` meets them: the
    /// directory that holds the link must pass ``checkDirectory(_:holdsFiles:)``
    /// as a directory holding trusted files (so not a sticky `/tmp`: there
    /// another user can plant the link first), and the link itself must be
    /// owned by a trusted uid.
    ///
    /// Why: the checks on the resolved path see only the link's target. A
    /// link `/tmp/x -> /etc/subuid` planted by anyone resolves to a file
    /// and directories root owns, so it would pass; whoever can write the
    /// directory holding the link chooses what the path means.
    ///
    /// - Returns: nil when every link (or none) is trusted, or when a
    ///   component is missing (resolving then fails with its own `errno`);
    ///   a ``Violation`` naming the link's directory or the link otherwise.
    ///   At most 40 links are followed (Linux's `MAXSYMLINKS`), then ELOOP.
    public func checkLinks(_ path: String) -> Violation? {
        var current: String
        if path.hasPrefix("/") {
            current = "/"
        } else {
            guard let cwd = getcwd(nil, 0) else { return nil }
            current = String(cString: cwd)
            free(cwd)
        }
        // Components still to walk, the next one last.
        var pending = path.split(separator: "/").reversed().map(String.init)
        var followed = 0
        while let name = pending.popLast() {
            if name == "." { continue }
            if name == ".." { current = Self.parent(of: current); continue }
            let next = current == "/" ? "/" + name : current + "/" + name
            var st = stat()
            guard lstat(next, &st) == 0 else { return nil }
            guard st.st_mode & S_IFMT == S_IFLNK else { current = next; continue }
            if let held = checkDirectory(current) {
                return Violation(role: held.role, path: held.path,
                                 problem: "\(held.problem), and holds the symbolic link \(next)")
            }
            if !trustedOwners.contains(st.st_uid) {
                let owners = trustedOwners.sorted().map { $0 == 0 ? "root" : "uid \($0)" }
                return Violation(role: "symbolic link", path: next,
                                 problem: "is owned by uid \(st.st_uid), not by \(owners.joined(separator: " or "))")
            }
            followed += 1
            guard followed <= 40 else {
                return Violation(role: "symbolic link", path: next, problem: "cannot be followed: \(String(cString: strerror(ELOOP)))")
            }
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            let n = readlink(next, &buffer, buffer.count - 1)
            guard n >= 0 else {
                return Violation(role: "symbolic link", path: next, problem: "cannot be read: \(String(cString: strerror(errno)))")
            }
            let target = String(decoding: buffer[..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if target.hasPrefix("/") { current = "/" }
            pending.append(contentsOf: target.split(separator: "/").reversed().map(String.init))
        }
        return nil
    }
}
