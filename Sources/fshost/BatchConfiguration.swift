import CDB
import FSHost
import HAVocabulary
import PluginLoading

/// The batch's one read of the CDB: the attributes of every resource of
/// the call, read once in the batch's process and handed to each child
/// (``SuppliedAttributes``), instead of 50 children each opening SQLite
/// and checking the database's files (about 0.5 ms apiece). The children
/// check them against the type's schema exactly as read ones.
///
/// The connection is closed before the first child is forked (a SQLite
/// connection must not cross a fork). Nothing is decided here: a resource
/// the CDB does not define, and any CDB error (locked, unsafe, unreadable),
/// leave that resource, or all, to read the CDB itself, so every message
/// and status stays the single action's.
enum BatchConfiguration {
    /// Resource name → its stored attributes; empty when the CDB cannot be read.
    static func read(type: String, resources: [String], paths: HostPaths) -> [String: SuppliedAttributes] {
        guard paths.cdb.hasPrefix("/") else { return [:] }
        var result: [String: SuppliedAttributes] = [:]
        do {
            let cdb = try ConfigurationDatabase(path: paths.cdb, mode: .readOnly)
            for name in resources {
                if let stored = try cdb.attributes(type: type, resource: name) {
                    result[name] = SuppliedAttributes(stored, source: paths.cdb)
                }
            }
        } catch {
            return [:]
        }
        return result
    }
}
