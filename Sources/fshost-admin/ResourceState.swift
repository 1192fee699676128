// A resource's plugin state (pidfiles, offsets) lives in
// `<FSHOST_STATE_DIR>/<type>/<resource>/`, StateStore's layout. It belongs to
// the resource: when the resource leaves the CDB it goes too, so a new
// resource of the same name starts clean instead of inheriting it.
import CDB
import Management
import PluginLoading
#if canImport(Glibc)
import Glibc
#endif

enum ResourceState {
    /// `<state>/<type>/<resource>`, as StateStore lays it out.
    static func directory(type: String, resource: String) -> String {
        HostPaths.fromEnvironment().stateDirectory + "/" + type + "/" + resource
    }

    /// Removes the state directory of a resource and everything in it,
    /// never following a symbolic link (a link in the tree is removed, not
    /// what it points to). Nothing there is fine.
    ///
    /// - Throws: ``AdminError/host(_:)`` (`HA_HOST_ERROR`, 9) naming the
    ///   path and the reason.
    static func remove(type: String, resource: String) throws(AdminError) {
        let root = HostPaths.fromEnvironment().stateDirectory
        let path = root + "/" + type + "/" + resource
        let rootFD = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if rootFD < 0 {
            if errno == ENOENT { return }
            throw failure(path, "open \(root)")
        }
        defer { close(rootFD) }
        let typeFD = openat(rootFD, type, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        if typeFD < 0 {
            if errno == ENOENT { return }
            throw failure(path, "open \(root)/\(type)")
        }
        defer { close(typeFD) }
        if let (what, code) = removeTree(parent: typeFD, name: resource) {
            errno = code
            throw failure(path, what)
        }
    }

    private static func failure(_ path: String, _ what: String) -> AdminError {
        .host("cannot remove the state directory \(path): \(what): \(String(cString: strerror(errno)))")
    }

    /// Removes `name` under the directory `parent`: a file or link by
    /// `unlinkat`, a directory by emptying it first. Returns what failed.
    private static func removeTree(parent: Int32, name: String) -> (String, Int32)? {
        if unlinkat(parent, name, 0) == 0 || errno == ENOENT { return nil }
        guard errno == EISDIR else { return ("unlink \(name)", errno) }
        let fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { return ("open \(name)", errno) }
        guard let dir = fdopendir(fd) else {
            close(fd)
            return ("read \(name)", errno)
        }
        var names: [String] = []
        while let entry = readdir(dir) {
            let entryName = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if entryName != "." && entryName != ".." { names.append(entryName) }
        }
        var failed: (String, Int32)?
        for entryName in names where failed == nil {
            failed = removeTree(parent: dirfd(dir), name: entryName).map { ("\(name)/\($0.0)", $0.1) }
        }
        closedir(dir)
        if let failed { return failed }
        if unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT { return ("rmdir \(name)", errno) }
        return nil
    }
}
