import HAVocabulary
import TrustedPaths
#if canImport(Glibc)
import Glibc
#endif

/// srmd's files (IN, P, OUT) as fshost, running as root, may use them: in a
/// directory ``PathTrust/walk(_:holdsFiles:)`` accepts (the path as given,
/// its links included: owned by root or fshost's user, writable by nobody
/// else, sticky or not), reached relative to that directory's descriptor
/// without following a link. Another user can then neither swap OUT's
/// temporary file (a false status for srmd) nor point IN at a file only root
/// may read (`IN -> /etc/shadow` would be copied into OUT and the log).
struct BatchFile {
    /// The checked directory (`O_DIRECTORY`; the caller closes it).
    let directoryFD: Int32
    /// The resolved directory, for messages and names.
    let directory: String
    /// The file's name in it.
    let name: String

    /// - Parameter what: `"input file"`, `"output file"`, `"parameters file"`.
    /// - Throws: ``HostError`` `hostError` (9): the directory is unsafe or
    ///   cannot be opened; the path names a directory.
    static func locate(_ path: String, what: String) throws(HostError) -> BatchFile {
        var absolute = path
        if !path.hasPrefix("/") {
            var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
            guard getcwd(&buffer, buffer.count) != nil else {
                throw HostError(.hostError, "cannot use \(what) \(Names.printable(path)): the working directory: \(String(cString: strerror(errno)))")
            }
            absolute = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) + "/" + path
        }
        let name = String(absolute[absolute.index(after: absolute.lastIndex(of: "/")!)...])
        guard !name.isEmpty, name != ".", name != ".." else {
            throw HostError(.hostError, "\(what) \(Names.printable(path)) names a directory")
        }
        let real: String
        switch PathTrust().walk(PathTrust.parent(of: absolute), holdsFiles: true) {
        case .success(let r): real = r
        case .failure(let violation):
            let missing = errno == ENOENT || errno == ENOTDIR
            throw HostError(.hostError, "\(missing ? "cannot use" : "unsafe") \(what) \(Names.printable(path)): \(Names.printable(violation.description))")
        }
        let fd = open(real, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else {
            throw HostError(.hostError, "cannot use \(what) \(Names.printable(path)): directory \(Names.printable(real)): \(String(cString: strerror(errno)))")
        }
        return BatchFile(directoryFD: fd, directory: real, name: name)
    }

    /// The file's resolved path, for messages.
    var path: String { (directory == "/" ? "" : directory) + "/" + name }
}
