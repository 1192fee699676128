import Foundation
import HAVocabulary

/// Creates a directory of new files all at once: everything is written into
/// a temporary directory beside the destination (`.<name>.scaffold-XXXXXX`,
/// same parent, so the same file system), which is renamed to the
/// destination at the end. A failure at any step removes the temporary
/// directory: the destination is either complete or untouched, never half
/// created.
///
/// Refusals (one line each): a destination that is not a directory or is a
/// non-empty one, `HA_INVAL_ARGS` (2) — `rename(2)` replaces only an empty
/// directory, so a non-empty one made meanwhile still fails; a parent that
/// is missing or not writable, or a write that fails, `HA_CMD_FAILED` (3).
struct ScaffoldDirectory {
    /// The directory to create, as given (relative to the working directory or absolute).
    let destination: String

    /// Refuses an existing destination that is a file or a non-empty directory.
    func checkFree() throws(HostError) {
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
        let trimmed = destination.hasSuffix("/") && destination.count > 1 ? String(destination.dropLast()) : destination
        let parent = (trimmed as NSString).deletingLastPathComponent
        let base = (trimmed as NSString).lastPathComponent
        let parentPath = parent.isEmpty ? "." : parent
        var template = Array((parentPath + "/." + base + ".scaffold-XXXXXX").utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        guard made != nil else {
            throw HostError(.commandFailed, "cannot create \(destination): \(parentPath): \(String(cString: strerror(errno)))")
        }
        let temporary = String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        var renamed = false
        defer { if !renamed { try? FileManager.default.removeItem(atPath: temporary) } }
        // mkdtemp makes 0700; the package is for its author's tools and tests too.
        chmod(temporary, 0o755)
        for file in files {
            let path = temporary + "/" + file.path
            let directory = (path as NSString).deletingLastPathComponent
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true,
                                                        attributes: [.posixPermissions: 0o755])
            } catch {
                throw HostError(.commandFailed, "cannot write \(destination)/\(file.path): \(error.localizedDescription)")
            }
            if let problem = Self.write(file.text, to: path) {
                throw HostError(.commandFailed, "cannot write \(destination)/\(file.path): \(problem)")
            }
        }
        guard rename(temporary, trimmed) == 0 else {
            let code = errno
            if code == ENOTEMPTY || code == EEXIST || code == ENOTDIR {
                throw HostError(.invalidArguments, "\(destination) exists and is not empty; not overwriting it")
            }
            throw HostError(.commandFailed, "cannot create \(destination): \(String(cString: strerror(code)))")
        }
        renamed = true
    }

    /// Writes a new file (0644, never an existing one); nil, or why not (`strerror`).
    private static func write(_ text: String, to path: String) -> String? {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
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
}
