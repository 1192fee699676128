/// The CDB's SQL schema and its migrations.
///
/// The version lives in SQLite's `PRAGMA user_version` (0 = a new, empty
/// file); `PRAGMA application_id` marks the file as fshost's, so that a
/// foreign SQLite file is refused rather than written into. To change the
/// schema, append a ``Migration`` with the next version: a file at version
/// N runs every step after N, in one transaction, and a file newer than
/// the last step is refused (``CDBError/newerSchema(path:found:supported:)``).
public enum CDBSchema {
    /// One step from `version - 1` to `version`.
    public struct Migration: Sendable {
        /// The `user_version` after this step.
        public let version: Int32
        /// What it changes, for humans.
        public let summary: String
        /// The statements, run in the migration's transaction.
        public let sql: String
    }

    /// `PRAGMA application_id` of an fshost CDB: "fscd".
    public static let applicationID: Int32 = 0x6673_6364

    /// Every step, in order. Append only.
    public static let migrations: [Migration] = [
        Migration(version: 1, summary: "resource types, resources and their attributes", sql: """
            CREATE TABLE resource_types (
                name TEXT NOT NULL PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 31)
            ) WITHOUT ROWID;
            CREATE TABLE type_attributes (
                type  TEXT NOT NULL REFERENCES resource_types(name) ON DELETE CASCADE,
                key   TEXT NOT NULL CHECK (length(key) > 0),
                value TEXT NOT NULL,
                PRIMARY KEY (type, key)
            ) WITHOUT ROWID;
            CREATE TABLE resources (
                type TEXT NOT NULL REFERENCES resource_types(name),
                name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
                PRIMARY KEY (type, name)
            ) WITHOUT ROWID;
            CREATE TABLE attributes (
                type     TEXT NOT NULL,
                resource TEXT NOT NULL,
                key      TEXT NOT NULL CHECK (length(key) > 0),
                value    TEXT NOT NULL,
                PRIMARY KEY (type, resource, key),
                FOREIGN KEY (type, resource) REFERENCES resources(type, name) ON DELETE CASCADE
            ) WITHOUT ROWID;
            """),
    ]

    /// The newest version this build knows.
    public static var currentVersion: Int32 { migrations.last?.version ?? 0 }
}
