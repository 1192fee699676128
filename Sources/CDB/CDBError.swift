import HAVocabulary
/// Why the configuration database could not be read or changed. Every case
/// names the file, the resource or the key; ``description`` is one line.
public enum CDBError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The database file (or the directory that should hold it) does not exist.
    case missingFile(path: String)
    /// The file is not an fshost configuration database, or it is damaged
    /// (SQLite's `SQLITE_NOTADB`, `SQLITE_CORRUPT`, a foreign SQLite file).
    case notADatabase(path: String, message: String)
    /// The file or its directory may be changed by someone who is neither
    /// root nor the invoking user (the rule of sshd's `StrictModes`).
    case insecure(path: String, reason: String)
    /// The file exists but holds no fshost schema yet (0 bytes, or an
    /// empty SQLite database): nothing was ever defined in it. Not the
    /// same as "no such resource": the node is not set up.
    case notInitialised(path: String)
    /// The file was written by a newer fshost whose schema this one does not know.
    case newerSchema(path: String, found: Int32, supported: Int32)
    /// No resource `name` of type `type` in the database.
    case resourceNotFound(type: String, name: String)
    /// `define` of a resource that is already there.
    case resourceExists(type: String, name: String)
    /// A type, resource or attribute name that breaks the naming rules.
    /// `what` is `"type"`, `"resource"` or `"attribute"`.
    case invalidName(what: String, name: String)
    /// Any other SQLite failure: what was being done and SQLite's message.
    case sqlite(path: String, operation: String, message: String)
    /// Another process held the database locked for the whole busy timeout.
    case locked(path: String, operation: String)

    /// One line naming the file, resource or name at fault.
    public var description: String {
        switch self {
        case .missingFile(let path):
            return "configuration database \(path) does not exist"
        case .notADatabase(let path, let message):
            return "\(path) is not a usable fshost configuration database: \(message)"
        case .insecure(let path, let reason):
            return "refusing to use configuration database: \(path) \(reason)"
        case .notInitialised(let path):
            return "configuration database \(path) is not initialised (empty, no fshost schema): "
                + "define resources with 'fshost cdb define' or 'fshost cdb import'"
        case .newerSchema(let path, let found, let supported):
            return "\(path) has schema version \(found), newer than the \(supported) this fshost supports: use a newer fshost"
        case .resourceNotFound(let type, let name):
            return "no resource '\(name)' of type '\(type)' in the configuration database"
        case .resourceExists(let type, let name):
            return "resource '\(name)' of type '\(type)' already exists (use modify, or delete it first)"
        case .invalidName(let what, let name):
            return "invalid \(what) name '\(Names.printable(name))': \(Names.rule(what))"
        case .sqlite(let path, let operation, let message):
            return "cannot \(operation) \(path): \(message)"
        case .locked(let path, let operation):
            return "cannot \(operation) \(path): another process held it locked for the whole wait"
        }
    }

    /// The FailSafe status a command should exit with for this error:
    /// `HA_INVAL_ARGS` (2) for a name that breaks the rules or a resource that
    /// already exists, `HA_NOCFGINFO` (6) for everything else (the
    /// configuration could not be had: missing, not initialised, damaged,
    /// insecure, newer, unknown resource, or SQLite failed).
    public var exitStatus: Int32 {
        switch self {
        case .invalidName, .resourceExists: return ExitStatus.invalidArguments.rawValue
        default: return ExitStatus.noConfigInfo.rawValue
        }
    }
}

/// The naming rules (``Names`` in HAVocabulary) as CDB errors.
extension Names {
    /// Throws ``CDBError/invalidName(what:name:)`` unless `type` is valid.
    public static func checkType(_ type: String) throws(CDBError) {
        guard isValidType(type) else { throw .invalidName(what: "type", name: type) }
    }

    /// Throws ``CDBError/invalidName(what:name:)`` unless `resource` is valid.
    public static func checkResource(_ resource: String) throws(CDBError) {
        guard isValidResource(resource) else { throw .invalidName(what: "resource", name: resource) }
    }

    /// Throws ``CDBError/invalidName(what:name:)`` unless `key` is valid.
    public static func checkAttribute(_ key: String) throws(CDBError) {
        guard isValidAttribute(key) else { throw .invalidName(what: "attribute", name: key) }
    }
}
