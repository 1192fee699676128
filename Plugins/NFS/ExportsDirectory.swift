// The directory Ganesha's config includes with `%dir`: one file per export.
// This resource owns exactly one file in it, `fshost-nfs-<resource>.conf`,
// and never writes anything else there — not even a temporary file:
// Ganesha reads *every* file of a `%dir` on reload (dot files included,
// measured), so a half-written file in it would be read by a reload that
// another resource's start triggers. The file is written beside the
// directory (in its parent) and renamed into it, so a reload sees the old
// file or the new one, never a part. Both directories are opened once and
// checked on their descriptors (``ExportsDirectory/open()``); the write
// and the rename go through those descriptors.
import FSKit
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

struct ExportsDirectory {
    let path: String
    let resourceName: String

    /// This resource's file in the directory.
    var filePath: String { path + "/" + ExportsDirectory.fileName(resourceName) }
    static func fileName(_ resource: String) -> String { "fshost-nfs-\(resource).conf" }

    /// The temporary file's name in the directory's parent (the same file
    /// system, outside the `%dir`).
    var temporaryName: String { ".fshost-nfs-\(resourceName).tmp" }
    var parentPath: String { PathTrust.parent(of: path) }

    /// Why the directory cannot hold exports safely: see ``open()``. nil when fit.
    var problem: String? {
        switch open() {
        case .success(let handles): handles.close(); return nil
        case .failure(let why): return why.text
        }
    }

    /// The directory and its parent, opened once, checked on the opened
    /// descriptors: every write and rename goes through them, so what was
    /// checked is what is used.
    struct Handles {
        let parent: Int32, directory: Int32
        func close() { Glibc.close(parent); Glibc.close(directory) }
    }
    struct Refusal: Error { let text: String }

    /// Opens the path component by component from `/` (`O_DIRECTORY |
    /// O_NOFOLLOW`: a symlink anywhere in it is refused — the path as given
    /// is what another user must not be able to redirect) and applies the
    /// host's trust rule (``PathTrust``, sshd's StrictModes) to each opened
    /// directory: the exports directory and its parent (where the temporary
    /// file is written) as directories that hold files — root's (or the
    /// effective uid's), writable by neither group nor others, never sticky
    /// — and every directory above as an ancestor.
    func open() -> Result<Handles, Refusal> {
        switch Self.openChain(path) {
        case .failure(let why): return .failure(why)
        case .success(let chain):
            return .success(Handles(parent: chain.parent, directory: chain.directory))
        }
    }

    /// See ``open()``: the descriptors of `path` and its parent; the last
    /// `holding` directories are checked as directories that hold files
    /// (2: the exports directory and its parent; 1: the config's directory).
    static func openChain(_ path: String, holding: Int = 2) -> Result<(parent: Int32, directory: Int32), Refusal> {
        guard path.hasPrefix("/") else { return .failure(Refusal(text: "is not an absolute path")) }
        let components = path.split(separator: "/").map(String.init)
        guard !components.isEmpty else { return .failure(Refusal(text: "must not be /")) }
        if components.contains(where: { $0 == "." || $0 == ".." }) {
            return .failure(Refusal(text: "must not contain . or .. components"))
        }
        let trust = PathTrust()
        var opened: [Int32] = []
        func fail(_ text: String) -> Result<(parent: Int32, directory: Int32), Refusal> {
            opened.forEach { Glibc.close($0) }
            return .failure(Refusal(text: text))
        }
        let root = Glibc.open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard root >= 0 else { return fail("/ cannot be opened") }
        opened.append(root)
        var prefix = ""
        for component in components {
            prefix += "/" + component
            let fd = openat(opened.last!, component, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else {
                let e = errno
                var st = stat()
                if fstatat(opened.last!, component, &st, AT_SYMLINK_NOFOLLOW) == 0, st.st_mode & S_IFMT == S_IFLNK {
                    return fail("\(prefix) is a symbolic link (refused: the path as given must be the trusted one)")
                }
                return fail("\(prefix): \(String(cString: strerror(e)))")
            }
            opened.append(fd)
        }
        // opened[i] is the directory of prefix i (0: /); the last two hold files.
        var prefixes = ["/"]
        var p = ""
        for component in components { p += "/" + component; prefixes.append(p) }
        for (i, fd) in opened.enumerated() {
            var st = stat()
            guard fstat(fd, &st) == 0 else { return fail("\(prefixes[i]) cannot be inspected") }
            let holds = i >= opened.count - holding
            let role = holds ? "directory" : "parent directory"
            if holds, st.st_mode & S_ISVTX != 0, st.st_mode & (S_IWOTH | S_IWGRP) != 0 {
                return fail("\(prefixes[i]) is a sticky directory writable by others (mode \(PathTrust.octal(st.st_mode))): files written there are not trusted")
            }
            if let violation = trust.checkFile(st, path: prefixes[i], role: role) {
                return fail(violation.description)
            }
        }
        let directory = opened.removeLast()
        let parent = opened.removeLast()
        opened.forEach { Glibc.close($0) }
        return .success((parent, directory))
    }

    /// The bytes of a file that must be trusted (Ganesha's config): its
    /// directory chain opened and checked as in ``openChain(_:holding:)``,
    /// the file opened relative to it without following a symlink, and
    /// checked on its descriptor (root's, a regular file, not writable by
    /// group or others); what is read is what was checked. At most 1 MiB.
    static func readTrusted(_ file: String) -> Result<[UInt8], Refusal> {
        let name = String(file.split(separator: "/").last ?? "")
        guard !name.isEmpty, name != ".", name != ".." else { return .failure(Refusal(text: "is not a file path")) }
        let chain: (parent: Int32, directory: Int32)
        switch openChain(PathTrust.parent(of: file), holding: 1) {
        case .success(let c): chain = c
        case .failure(let why): return .failure(why)
        }
        defer { close(chain.parent); close(chain.directory) }
        let fd = openat(chain.directory, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else {
            return .failure(Refusal(text: errno == ELOOP ? "is a symbolic link" : String(cString: strerror(errno))))
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { return .failure(Refusal(text: "cannot be inspected")) }
        if let violation = PathTrust().checkFile(st, path: file) { return .failure(Refusal(text: violation.description)) }
        var bytes: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = buffer.withUnsafeMutableBytes { read(fd, $0.baseAddress!, $0.count) }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return .failure(Refusal(text: "cannot be read: \(String(cString: strerror(errno)))")) }
            if n == 0 { return .success(bytes) }
            bytes += buffer[0..<n]
            if bytes.count > 1 << 20 { return .failure(Refusal(text: "is larger than 1 MiB, the most fshost reads of a configuration file")) }
        }
    }

    // MARK: This resource's file

    /// What the file holds now.
    enum Current: Equatable { case absent, text(String), unreadable(String) }

    func current() -> Current {
        switch SmallFile.read(filePath, limit: 65536) {
        case .success(let bytes): return .text(String(decoding: bytes, as: UTF8.self))
        case .failure(.absent): return .absent
        case .failure(let why): return .unreadable(why.description)
        }
    }

    /// Writes `text` as this resource's file, atomically (see the file's
    /// comment): written in the parent, renamed into the directory, both
    /// through the checked descriptors (`openat`, `renameat`); nil on
    /// success, else why (nothing is left behind).
    func place(_ text: String) -> String? {
        let handles: Handles
        switch open() {
        case .success(let h): handles = h
        case .failure(let why): return "exports directory \(path) \(why.text)"
        }
        defer { handles.close() }
        let temp = parentPath + "/" + temporaryName
        unlinkat(handles.parent, temporaryName, 0)
        let fd = openat(handles.parent, temporaryName, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o644)
        guard fd >= 0 else { return "cannot create \(temp): \(String(cString: strerror(errno)))" }
        var bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + written, $0.count - written) }
            if n < 0 && errno == EINTR { continue }
            if n <= 0 {
                let why = String(cString: strerror(errno))
                close(fd); unlinkat(handles.parent, temporaryName, 0)
                return "cannot write \(temp): \(why)"
            }
            written += n
        }
        bytes.removeAll()
        if fchmod(fd, 0o644) != 0 || fsync(fd) != 0 {
            let why = String(cString: strerror(errno))
            close(fd); unlinkat(handles.parent, temporaryName, 0)
            return "cannot write \(temp): \(why)"
        }
        close(fd)
        if renameat(handles.parent, temporaryName, handles.directory, ExportsDirectory.fileName(resourceName)) != 0 {
            let why = String(cString: strerror(errno))
            unlinkat(handles.parent, temporaryName, 0)
            return "cannot rename \(temp) to \(filePath): \(why)"
        }
        fsync(handles.directory)
        return nil
    }

    /// Removes this resource's file (through the checked descriptor); nil
    /// when it is gone (or was never there).
    func remove() -> String? {
        let handles: Handles
        switch open() {
        case .success(let h): handles = h
        case .failure(let why): return "exports directory \(path) \(why.text)"
        }
        defer { handles.close() }
        if unlinkat(handles.directory, ExportsDirectory.fileName(resourceName), 0) != 0 && errno != ENOENT {
            return "cannot remove \(filePath): \(String(cString: strerror(errno)))"
        }
        fsync(handles.directory)
        return nil
    }

    // MARK: The other exports

    /// The check-then-place of a start (two starts must not both find an
    /// export id free) runs under a lock shared by every nfs resource on
    /// this directory: a root-only file in the host's run directory
    /// (``Resource/sharedLock(_:within:)``), never an flock on the
    /// directory itself — any local user can open a world-readable
    /// directory and flock it, blocking every start.
    func lock(_ resource: Resource, within limit: Duration) -> Int32? {
        resource.sharedLock(Resource.sharedLockKey("exports", path), within: limit)
    }
}

/// The `Export_Id`, `Pseudo` and `Path` values (and `%dir` directives) written in
/// a Ganesha config file: a tokenizer for its syntax (comments, quoted
/// strings, `=`, `;`, braces), enough to find `KEY = VALUE` statements at
/// any depth. The server's full grammar is Ganesha's business.
struct GaneshaConfigScan {
    var exportIDs: [Int] = []
    var pseudoPaths: [String] = []
    /// `Path` values: the exported directories.
    var paths: [String] = []
    var directories: [String] = []
    /// `%include` files.
    var includes: [String] = []
    /// `NFS_CORE_PARAM { Mount_Path_Pseudo = … }`: true for Ganesha's
    /// TRUE tokens (yes, true, on, any case: conf_lex.l), false for any
    /// other value; nil when not set here (Ganesha's default is false).
    var mountPathPseudo: Bool?

    init(_ bytes: [UInt8]) {
        let tokens = GaneshaConfigScan.tokens(bytes)
        var blocks: [String] = []
        var i = 0
        while i < tokens.count {
            let key = tokens[i].lowercased()
            if key == "%dir" || key == "%include", i + 1 < tokens.count {
                if key == "%dir" { directories.append(tokens[i + 1]) } else { includes.append(tokens[i + 1]) }
                i += 2
                continue
            }
            if i + 1 < tokens.count, tokens[i + 1] == "{" { blocks.append(key); i += 2; continue }
            if key == "}" { _ = blocks.popLast() }
            if i + 2 < tokens.count, tokens[i + 1] == "=" {
                if key == "export_id", let n = Int(tokens[i + 2]) { exportIDs.append(n) }
                if key == "pseudo" { pseudoPaths.append(tokens[i + 2]) }
                if key == "path" { paths.append(tokens[i + 2]) }
                if key == "mount_path_pseudo", blocks == ["nfs_core_param"] {
                    mountPathPseudo = ["yes", "true", "on"].contains(tokens[i + 2].lowercased())
                }
            }
            i += 1
        }
    }

    /// Mount_Path_Pseudo as the server reads it from `config` and its
    /// `%include` files (the reload's walk, ``ReloadSet``, without `%dir`s:
    /// every file read through the trust rule); the last setting wins. A
    /// file that cannot be read or is not trusted is the failure, naming it.
    static func mountPathPseudo(config: String) -> Result<Bool, ExportsDirectory.Refusal> {
        switch ReloadSet.read(config: config, directories: false) {
        case .failure(let why): return .failure(why)
        case .success(let set):
            return .success(set.files.compactMap { GaneshaConfigScan($0.bytes).mountPathPseudo }.last ?? false)
        }
    }

    static func tokens(_ bytes: [UInt8]) -> [String] {
        var out: [String] = []
        var token: [UInt8] = []
        func flush() { if !token.isEmpty { out.append(String(decoding: token, as: UTF8.self)); token.removeAll() } }
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            switch c {
            case UInt8(ascii: "#"):
                flush()
                while i < bytes.count && bytes[i] != 0x0A { i += 1 }
            case UInt8(ascii: "\""), UInt8(ascii: "'"):
                flush()
                i += 1
                while i < bytes.count && bytes[i] != c { token.append(bytes[i]); i += 1 }
                out.append(String(decoding: token, as: UTF8.self))
                token.removeAll()
            case 0x20, 0x09, 0x0A, 0x0D:
                flush()
            case UInt8(ascii: "="), UInt8(ascii: ";"), UInt8(ascii: "{"), UInt8(ascii: "}"), UInt8(ascii: ","):
                flush()
                out.append(String(decoding: [c], as: UTF8.self))
            default:
                token.append(c)
            }
            i += 1
        }
        flush()
        return out
    }
}
