import CDB
import HAVocabulary

/// A type's schema could not be had: the error a schema provider throws
/// (no plugin for the type, or the plugin was refused), with the exit
/// status the command should end with.
public struct SchemaUnavailable: Error, CustomStringConvertible, Equatable, Sendable {
    /// `HA_NOTSUPPORTED` (5) for an unknown type, or the loader's status.
    public let status: Int32
    /// One line naming the type and the reason.
    public let message: String

    /// An unavailable schema with its status and message.
    public init(status: Int32, message: String) {
        self.status = status
        self.message = message
    }

    /// The message.
    public var description: String { message }
}

/// Why a management command failed. ``description`` is one line naming the
/// file, resource or key; ``exitStatus`` is the FailSafe status to exit with.
public enum AdminError: Error, CustomStringConvertible, Equatable, Sendable {
    /// The database failed (see ``CDBError/exitStatus``).
    case database(CDBError)
    /// A bad command line: `HA_INVAL_ARGS` (2).
    case usage(String)
    /// A bad input file (unreadable, TOML syntax, structure): `HA_INVAL_ARGS` (2).
    case invalidInput(String)
    /// A resource's (or, with `resource` nil, a type's own) attributes break
    /// the type's schema: `HA_INVAL_ARGS` (2).
    case invalid(type: String, resource: String?, SchemaViolation)
    /// The type's plugin could not be loaded: its status (`HA_NOTSUPPORTED`
    /// (5) when there is none).
    case schemaUnavailable(type: String, status: Int32, message: String)
    /// `get` of an attribute that is neither set nor defaulted: `HA_NOCFGINFO` (6).
    case notSet(type: String, resource: String, key: String)
    /// Writing an output failed, or fshost could not tell whether a
    /// resource runs: `HA_CMD_FAILED` (3).
    case failed(String)
    /// Refused because a resource runs on this node: `HA_RUNNING` (4).
    case resourceRuns(String)
    /// The CDB changed, but fshost could not do its part on the node (a
    /// state directory it could not remove): `HA_HOST_ERROR` (9).
    case host(String)
    /// An import from `file` failed, so nothing was imported: the status of
    /// the underlying error.
    indirect case importFailed(file: String, AdminError)

    /// One line naming the file, resource or key.
    public var description: String {
        switch self {
        case .database(let error): return error.description
        case .usage(let message), .invalidInput(let message), .failed(let message), .resourceRuns(let message),
             .host(let message):
            return message
        case .invalid(let type, let resource?, let violation):
            return "resource '\(resource)' of type '\(type)': \(violation)"
        case .invalid(let type, nil, let violation):
            return "type-level attributes of type '\(type)': \(violation)"
        case .schemaUnavailable(_, _, let message): return message
        case .notSet(let type, let resource, let key):
            return "attribute '\(key)' of resource '\(resource)' (type '\(type)') is not set and has no default"
        case .importFailed(let file, let error):
            return "\(file): \(error.description); nothing imported"
        }
    }

    /// The exit status (FailSafe numbering: 2 `HA_INVAL_ARGS`, 3
    /// `HA_CMD_FAILED`, 4 `HA_RUNNING`, 5 `HA_NOTSUPPORTED`, 6
    /// `HA_NOCFGINFO`, 9 `HA_HOST_ERROR`).
    public var exitStatus: Int32 {
        switch self {
        case .database(let error): return error.exitStatus
        case .usage, .invalidInput, .invalid: return ExitStatus.invalidArguments.rawValue
        case .schemaUnavailable(_, let status, _): return status
        case .notSet: return ExitStatus.noConfigInfo.rawValue
        case .failed: return ExitStatus.commandFailed.rawValue
        case .resourceRuns: return ExitStatus.running.rawValue
        case .host: return ExitStatus.hostError.rawValue
        case .importFailed(_, let error): return error.exitStatus
        }
    }
}
