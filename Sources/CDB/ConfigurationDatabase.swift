import CSQLite
import HAVocabulary
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// fshost's configuration database (the CDB): resource types with their
/// type-level attribute overrides, resources, and their attributes, in one
/// SQLite file.
///
/// The action path opens it ``Mode/readOnly`` for each call and asks for
/// one resource's ``attributes(type:resource:)``: the ownership checks of
/// ``FileSecurity`` (a `realpath` and about one `lstat` per path component
/// and companion file), one open, one
/// version check, one prepared `SELECT`, close. It never creates or
/// changes anything. Management opens it ``Mode/readWrite``; every change
/// is a transaction in WAL mode, so a monitor reading while an admin writes
/// sees either the old or the new configuration, never a mixture, and
/// never fails (it waits up to the busy timeout in the rare moments WAL
/// needs a lock).
///
/// Values are stored as the canonical text of their kind
/// (``AttributeKind/canonicalize(_:)``); this class stores what it is
/// given and checks only names. Validation against a plugin's schema is
/// `CDBEditor`'s job (the Management module, for fshost-admin).
///
/// Not thread-safe: one instance per thread (each invocation opens its own).
public final class ConfigurationDatabase {
    /// How to open the file.
    public enum Mode: Sendable {
        /// For the action path: the file must exist; nothing is created,
        /// migrated or written. A file at schema version 0 (0 bytes, or an
        /// empty SQLite database) lists no resources, and asking for one
        /// resource throws ``CDBError/notInitialised(path:)``: "not set up"
        /// is not "resource not defined".
        case readOnly
        /// For management: creates the file (mode 0600, and its missing
        /// directories, mode 0755) if there is none, turns on WAL, and runs
        /// the migrations up to ``CDBSchema/currentVersion``.
        case readWrite
    }

    /// `/var/lib/fshost/cdb.sqlite`.
    public static let standardPath = "/var/lib/fshost/cdb.sqlite"
    /// `FSHOST_CDB`: overrides ``standardPath``.
    public static let environmentVariable = "FSHOST_CDB"
    /// How long a connection waits for a lock before it gives up: 10 s.
    public static let defaultBusyTimeoutMilliseconds: Int32 = 10_000

    /// `environment["FSHOST_CDB"]` unless unset or empty, else
    /// ``standardPath``.
    public static func defaultPath(environment: [String: String]) -> String {
        if let path = environment[environmentVariable], !path.isEmpty { return path }
        return standardPath
    }

    /// ``defaultPath(environment:)`` from the process environment, read
    /// with `getenv` (no dictionary of the whole environment is built).
    public static func defaultPath() -> String {
        if let value = getenv(environmentVariable) {
            let path = String(cString: value)
            if !path.isEmpty { return path }
        }
        return standardPath
    }

    /// The file.
    public let path: String
    /// How it was opened.
    public let mode: Mode
    /// Its schema version (0 for an empty file opened read-only).
    public private(set) var schemaVersion: Int32

    let connection: SQLiteConnection
    private var transactionDepth = 0
    /// A transaction was committed through this instance: its snapshot
    /// (``CDBSnapshot``) is rewritten when it closes.
    private var committed = false

    /// Opens the CDB at `path`.
    ///
    /// - Throws: ``CDBError/missingFile(path:)`` (read-only and no file),
    ///   ``CDBError/insecure(path:reason:)``,
    ///   ``CDBError/notADatabase(path:message:)`` (not SQLite, damaged, or
    ///   another program's database), ``CDBError/newerSchema(path:found:supported:)``,
    ///   ``CDBError/sqlite(path:operation:message:)``.
    public convenience init(path: String, mode: Mode,
                            busyTimeoutMilliseconds: Int32 = ConfigurationDatabase.defaultBusyTimeoutMilliseconds) throws(CDBError) {
        try self.init(path: path, mode: mode, busyTimeoutMilliseconds: busyTimeoutMilliseconds,
                      migrations: CDBSchema.migrations)
    }

    /// As the public init, with the migration steps given (tests add a step).
    init(path: String, mode: Mode, busyTimeoutMilliseconds: Int32, migrations: [CDBSchema.Migration]) throws(CDBError) {
        self.path = path
        self.mode = mode
        let supported = migrations.last?.version ?? 0
        switch mode {
        case .readOnly:
            // SQLite opens the checked location, so its -wal and -shm are the checked ones.
            let real = try FileSecurity.check(path: path)
            connection = try SQLiteConnection(path: real, flags: SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
                                              busyTimeoutMilliseconds: busyTimeoutMilliseconds)
            let (version, _) = try Self.identify(connection, supported: supported)
            schemaVersion = version
        case .readWrite:
            try FileSecurity.makeDirectories(FileSecurity.directory(of: path))
            // Check the directory before creating anything in it.
            try FileSecurity.checkDirectory(of: path)
            try FileSecurity.createIfMissing(path)
            let real = try FileSecurity.check(path: path)
            connection = try SQLiteConnection(path: real, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                                              busyTimeoutMilliseconds: busyTimeoutMilliseconds)
            let (version, _) = try Self.identify(connection, supported: supported)
            try connection.execute("PRAGMA foreign_keys = ON", operation: "configure")
            try connection.execute("PRAGMA journal_mode = WAL", operation: "enable WAL mode on")
            _ = csqlite_persist_wal(connection.handle, 1)
            schemaVersion = version
            if version < supported {
                schemaVersion = try migrate(migrations)
            }
        }
    }

    deinit {
        // Only after a commit: a writer that committed nothing (a refused
        // define, a rolled-back import) leaves the files alone. Even an
        // empty -wal's truncation changes its times, and the snapshot's
        // stamp would no longer match: every action on the node would read
        // SQLite until the next commit.
        if mode == .readWrite && committed {
            // Keep the -wal file empty between writers; it stays (persistent
            // WAL) so that read-only connections never need to create it.
            // TRUNCATE waits for readers to move on: briefly, never long.
            lazy_sqlite3_busy_timeout(connection.handle, 1000)
            _ = try? connection.execute("PRAGMA wal_checkpoint(TRUNCATE)", operation: "checkpoint")
            // The action path reads the snapshot, not SQLite, while the
            // files are unchanged: it must say what was just committed.
            if let warning = CDBSnapshot.refresh(self) {
                let line = Array("fshost: warning: \(warning)\n".utf8)
                _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            }
        }
    }

    /// Reads the version and application id; refuses foreign or newer files.
    private static func identify(_ connection: SQLiteConnection, supported: Int32) throws(CDBError) -> (Int32, Int32) {
        let statement = try connection.prepare(
            "SELECT user_version, application_id, (SELECT count(*) FROM sqlite_master) FROM pragma_user_version, pragma_application_id",
            operation: "read")
        guard try statement.step() else { throw .notADatabase(path: connection.path, message: "no header") }
        let version = Int32(truncatingIfNeeded: statement.integer(0))
        let application = Int32(truncatingIfNeeded: statement.integer(1))
        let objects = statement.integer(2)
        if application != CDBSchema.applicationID && (application != 0 || objects > 0) {
            throw .notADatabase(path: connection.path, message: "a SQLite database of another program (application_id \(application), \(objects) schema objects)")
        }
        if version > supported {
            throw .newerSchema(path: connection.path, found: version, supported: supported)
        }
        return (version, application)
    }

    /// Brings the file to the last migration's version, in one transaction.
    private func migrate(_ migrations: [CDBSchema.Migration]) throws(CDBError) -> Int32 {
        try inTransaction { () throws(CDBError) -> Int32 in
            // Read again inside the write lock: another writer may have
            // migrated since the file was identified.
            let read = try connection.prepare("PRAGMA user_version", operation: "read the schema version of")
            _ = try read.step()
            var version = Int32(truncatingIfNeeded: read.integer(0))
            let supported = migrations.last?.version ?? 0
            if version > supported { throw .newerSchema(path: path, found: version, supported: supported) }
            if version == 0 {
                try connection.execute("PRAGMA application_id = \(CDBSchema.applicationID)", operation: "initialise")
            }
            for step in migrations where step.version > version {
                try connection.execute(step.sql, operation: "apply schema migration \(step.version) to")
                try connection.execute("PRAGMA user_version = \(step.version)", operation: "apply schema migration \(step.version) to")
                version = step.version
            }
            return version
        }
    }

    // MARK: - Reading

    /// The attributes of one resource: the type-level overrides with the
    /// resource's own values on top (the resource wins), as stored
    /// (canonical text; schema defaults are not filled in). `nil` when
    /// there is no such resource.
    ///
    /// One prepared `SELECT`: the hot path of every action.
    ///
    /// - Throws: ``CDBError/notInitialised(path:)`` for a file without
    ///   fshost's schema, or a SQLite failure.
    public func attributes(type: String, resource: String) throws(CDBError) -> [String: String]? {
        guard schemaVersion > 0 else { throw .notInitialised(path: path) }
        let statement = try connection.prepare("""
            SELECT 0, key, value FROM type_attributes WHERE type = ?1
            UNION ALL SELECT 1, key, value FROM attributes WHERE type = ?1 AND resource = ?2
            UNION ALL SELECT 2, NULL, NULL FROM resources WHERE type = ?1 AND name = ?2
            """, operation: "read")
        try statement.bind(type, resource)
        var typeLevel: [String: String] = [:]
        var own: [String: String] = [:]
        var exists = false
        while try statement.step() {
            switch statement.integer(0) {
            case 0: typeLevel[statement.text(1) ?? ""] = statement.text(2) ?? ""
            case 1: own[statement.text(1) ?? ""] = statement.text(2) ?? ""
            default: exists = true
            }
        }
        guard exists else { return nil }
        return typeLevel.merging(own) { _, resourceValue in resourceValue }
    }

    /// The resource's own attributes, without the type-level ones; `nil`
    /// when there is no such resource.
    public func resourceAttributes(type: String, resource: String) throws(CDBError) -> [String: String]? {
        guard schemaVersion > 0 else { throw .notInitialised(path: path) }
        let statement = try connection.prepare("""
            SELECT 1, key, value FROM attributes WHERE type = ?1 AND resource = ?2
            UNION ALL SELECT 2, NULL, NULL FROM resources WHERE type = ?1 AND name = ?2
            """, operation: "read")
        try statement.bind(type, resource)
        var own: [String: String] = [:]
        var exists = false
        while try statement.step() {
            if statement.integer(0) == 1 { own[statement.text(1) ?? ""] = statement.text(2) ?? "" } else { exists = true }
        }
        return exists ? own : nil
    }

    /// The type-level attribute overrides of `type` (empty if none).
    public func typeAttributes(type: String) throws(CDBError) -> [String: String] {
        guard schemaVersion > 0 else { return [:] }
        let statement = try connection.prepare("SELECT key, value FROM type_attributes WHERE type = ?1",
                                               operation: "read")
        try statement.bind(type)
        var values: [String: String] = [:]
        while try statement.step() { values[statement.text(0) ?? ""] = statement.text(1) ?? "" }
        return values
    }

    /// Every resource (of `type`, or of all types when nil), sorted by type
    /// then name.
    public func resources(type: String?) throws(CDBError) -> [(type: String, name: String)] {
        guard schemaVersion > 0 else { return [] }
        let statement: SQLiteStatement
        if let type {
            statement = try connection.prepare(
                "SELECT type, name FROM resources WHERE type = ?1 ORDER BY type, name", operation: "read")
            try statement.bind(type)
        } else {
            statement = try connection.prepare("SELECT type, name FROM resources ORDER BY type, name", operation: "read")
        }
        var list: [(type: String, name: String)] = []
        while try statement.step() { list.append((statement.text(0) ?? "", statement.text(1) ?? "")) }
        return list
    }

    /// Whether the resource exists.
    public func contains(type: String, resource: String) throws(CDBError) -> Bool {
        guard schemaVersion > 0 else { return false }
        let statement = try connection.prepare("SELECT 1 FROM resources WHERE type = ?1 AND name = ?2",
                                               operation: "read")
        try statement.bind(type, resource)
        return try statement.step()
    }

    /// Everything stored (of `type`, or of all types), sorted by type: each
    /// type's overrides and its resources with their own attributes. Types
    /// with neither are left out.
    public func snapshot(type: String? = nil) throws(CDBError) -> [TypeConfiguration] {
        guard schemaVersion > 0 else { return [] }
        let filter = type == nil ? "" : " WHERE type = ?1"
        let statement = try connection.prepare("""
            SELECT 0, type, NULL, key, value FROM type_attributes\(filter)
            UNION ALL SELECT 1, type, name, NULL, NULL FROM resources\(filter)
            UNION ALL SELECT 2, type, resource, key, value FROM attributes\(filter)
            """, operation: "read")
        if let type { try statement.bind(type) }
        var byType: [String: TypeConfiguration] = [:]
        while try statement.step() {
            let typeName = statement.text(1) ?? ""
            // Mutated in place: a copy of the entry per row copied every
            // resource of the type each time (quadratic: 0.5 s at 5,000).
            switch statement.integer(0) {
            case 0:
                byType[typeName, default: TypeConfiguration(type: typeName)]
                    .typeAttributes[statement.text(3) ?? ""] = statement.text(4) ?? ""
            case 1:
                let name = statement.text(2) ?? ""
                if byType[typeName]?.resources[name] == nil {
                    byType[typeName, default: TypeConfiguration(type: typeName)].resources[name] = [:]
                }
            default:
                byType[typeName, default: TypeConfiguration(type: typeName)]
                    .resources[statement.text(2) ?? "", default: [:]][statement.text(3) ?? ""] = statement.text(4) ?? ""
            }
        }
        return byType.keys.sorted().map { byType[$0]! }
    }

    // MARK: - Writing

    /// Adds a resource with its own attributes.
    ///
    /// - Throws: ``CDBError/resourceExists(type:name:)``,
    ///   ``CDBError/invalidName(what:name:)``.
    public func define(type: String, resource: String, attributes: [String: String]) throws(CDBError) {
        try checkNames(type: type, resource: resource, keys: attributes.keys)
        try inTransaction { () throws(CDBError) in
            if try contains(type: type, resource: resource) { throw .resourceExists(type: type, name: resource) }
            try insert(type: type, resource: resource, attributes: attributes)
        }
    }

    /// Sets and removes attributes of an existing resource. Unsetting a key
    /// that is not set does nothing.
    ///
    /// - Throws: ``CDBError/resourceNotFound(type:name:)``,
    ///   ``CDBError/invalidName(what:name:)``.
    public func modify(type: String, resource: String, set: [String: String], unset: [String]) throws(CDBError) {
        try checkNames(type: type, resource: resource, keys: set.keys)
        try inTransaction { () throws(CDBError) in
            guard try contains(type: type, resource: resource) else {
                throw .resourceNotFound(type: type, name: resource)
            }
            let remove = try connection.prepare(
                "DELETE FROM attributes WHERE type = ?1 AND resource = ?2 AND key = ?3", operation: "modify")
            for key in unset {
                try remove.bind(type, resource, key)
                try remove.run()
            }
            try upsert(table: "attributes", type: type, resource: resource, values: set)
        }
    }

    /// Removes a resource and its attributes.
    ///
    /// - Throws: ``CDBError/resourceNotFound(type:name:)``.
    public func delete(type: String, resource: String) throws(CDBError) {
        try inTransaction { () throws(CDBError) in
            guard try contains(type: type, resource: resource) else {
                throw .resourceNotFound(type: type, name: resource)
            }
            try removeResource(type: type, resource: resource)
            try dropTypeIfUnused(type)
        }
    }

    /// Defines the resource, or replaces all its attributes when it exists.
    public func replace(type: String, resource: String, attributes: [String: String]) throws(CDBError) {
        try checkNames(type: type, resource: resource, keys: attributes.keys)
        try inTransaction { () throws(CDBError) in
            try removeResource(type: type, resource: resource)
            try insert(type: type, resource: resource, attributes: attributes)
        }
    }

    /// Sets and removes type-level overrides of `type`: values every
    /// resource of the type gets unless it sets its own.
    public func modifyTypeAttributes(type: String, set: [String: String], unset: [String]) throws(CDBError) {
        try Names.checkType(type)
        for key in set.keys { try Names.checkAttribute(key) }
        try inTransaction { () throws(CDBError) in
            try ensureType(type)
            let remove = try connection.prepare("DELETE FROM type_attributes WHERE type = ?1 AND key = ?2",
                                                operation: "modify")
            for key in unset {
                try remove.bind(type, key)
                try remove.run()
            }
            try upsert(table: "type_attributes", type: type, resource: nil, values: set)
            try dropTypeIfUnused(type)
        }
    }

    /// Replaces all the type-level overrides of `type` with `attributes`.
    public func replaceTypeAttributes(type: String, attributes: [String: String]) throws(CDBError) {
        try Names.checkType(type)
        for key in attributes.keys { try Names.checkAttribute(key) }
        try inTransaction { () throws(CDBError) in
            try ensureType(type)
            let clear = try connection.prepare("DELETE FROM type_attributes WHERE type = ?1", operation: "modify")
            try clear.bind(type)
            try clear.run()
            try upsert(table: "type_attributes", type: type, resource: nil, values: attributes)
            try dropTypeIfUnused(type)
        }
    }

    /// Removes every resource and every type-level override (of `type`, or
    /// of all types when nil).
    public func removeAll(type: String? = nil) throws(CDBError) {
        try inTransaction { () throws(CDBError) in
            if let type {
                for table in ["attributes", "resources", "type_attributes", "resource_types"] {
                    let column = table == "resource_types" ? "name" : "type"
                    let statement = try connection.prepare("DELETE FROM \(table) WHERE \(column) = ?1", operation: "delete from")
                    try statement.bind(type)
                    try statement.run()
                }
            } else {
                try connection.execute("""
                    DELETE FROM attributes; DELETE FROM resources;
                    DELETE FROM type_attributes; DELETE FROM resource_types;
                    """, operation: "delete from")
            }
        }
    }

    /// Runs `body` in a transaction: all of its changes or none. Nested
    /// calls become savepoints. Writers take the write lock at the start
    /// (`BEGIN IMMEDIATE`), waiting up to the busy timeout for another
    /// writer; readers in other processes are never blocked.
    ///
    /// - Throws: what `body` throws (after rolling back), or a
    ///   ``CDBError`` if SQLite cannot begin or commit.
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        let depth = transactionDepth
        try begin(depth)
        transactionDepth += 1
        let result: T
        do {
            result = try body()
        } catch {
            transactionDepth -= 1
            rollback(depth)
            throw error
        }
        transactionDepth -= 1
        try commit(depth)
        return result
    }

    /// ``transaction(_:)`` for bodies that throw only ``CDBError``: begin,
    /// commit and the body all throw `CDBError`, so that is all it can throw.
    func inTransaction<T>(_ body: () throws(CDBError) -> T) throws(CDBError) -> T {
        do { return try transaction(body) } catch { throw error as! CDBError }
    }

    private func begin(_ depth: Int) throws(CDBError) {
        guard mode == .readWrite else {
            throw .sqlite(path: path, operation: "write", message: "the database was opened read-only")
        }
        try connection.execute(depth == 0 ? "BEGIN IMMEDIATE" : "SAVEPOINT fshost_\(depth)",
                               operation: "begin a transaction on")
    }

    private func commit(_ depth: Int) throws(CDBError) {
        do {
            try connection.execute(depth == 0 ? "COMMIT" : "RELEASE fshost_\(depth)", operation: "commit to")
            if depth == 0 { committed = true }
        } catch {
            rollback(depth)
            throw error
        }
    }

    private func rollback(_ depth: Int) {
        if depth == 0 {
            _ = try? connection.execute("ROLLBACK", operation: "roll back")
        } else {
            _ = try? connection.execute("ROLLBACK TO fshost_\(depth); RELEASE fshost_\(depth)", operation: "roll back")
        }
    }

    private func checkNames(type: String, resource: String, keys: Dictionary<String, String>.Keys) throws(CDBError) {
        try Names.checkType(type)
        try Names.checkResource(resource)
        for key in keys.sorted() { try Names.checkAttribute(key) }
    }

    private func ensureType(_ type: String) throws(CDBError) {
        let statement = try connection.prepare("INSERT OR IGNORE INTO resource_types (name) VALUES (?1)",
                                               operation: "write")
        try statement.bind(type)
        try statement.run()
    }

    private func dropTypeIfUnused(_ type: String) throws(CDBError) {
        let statement = try connection.prepare("""
            DELETE FROM resource_types WHERE name = ?1
              AND NOT EXISTS (SELECT 1 FROM resources WHERE type = ?1)
              AND NOT EXISTS (SELECT 1 FROM type_attributes WHERE type = ?1)
            """, operation: "write")
        try statement.bind(type)
        try statement.run()
    }

    private func insert(type: String, resource: String, attributes: [String: String]) throws(CDBError) {
        try ensureType(type)
        let statement = try connection.prepare("INSERT INTO resources (type, name) VALUES (?1, ?2)",
                                               operation: "write")
        try statement.bind(type, resource)
        try statement.run()
        try upsert(table: "attributes", type: type, resource: resource, values: attributes)
    }

    private func removeResource(type: String, resource: String) throws(CDBError) {
        // ON DELETE CASCADE removes the attributes.
        let statement = try connection.prepare("DELETE FROM resources WHERE type = ?1 AND name = ?2",
                                               operation: "delete from")
        try statement.bind(type, resource)
        try statement.run()
    }

    private func upsert(table: String, type: String, resource: String?, values: [String: String]) throws(CDBError) {
        guard !values.isEmpty else { return }
        let statement = try connection.prepare(resource == nil
            ? "INSERT OR REPLACE INTO type_attributes (type, key, value) VALUES (?1, ?2, ?3)"
            : "INSERT OR REPLACE INTO attributes (type, resource, key, value) VALUES (?1, ?2, ?3, ?4)",
            operation: "write")
        for key in values.keys.sorted() {
            if let resource {
                try statement.bind(type, resource, key, values[key]!)
            } else {
                try statement.bind(type, key, values[key]!)
            }
            try statement.run()
        }
    }
}

/// What the CDB holds for one resource type.
public struct TypeConfiguration: Equatable, Sendable {
    /// The type's name.
    public var type: String
    /// Type-level overrides: values every resource of the type gets unless
    /// it sets its own.
    public var typeAttributes: [String: String]
    /// Each resource's own attributes, by resource name.
    public var resources: [String: [String: String]]

    /// A type with the given overrides and resources.
    public init(type: String, typeAttributes: [String: String] = [:], resources: [String: [String: String]] = [:]) {
        self.type = type
        self.typeAttributes = typeAttributes
        self.resources = resources
    }
}
