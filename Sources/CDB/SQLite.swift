import CSQLite
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A thin, internal view of one SQLite connection: just what the CDB needs,
/// with every failure turned into a ``CDBError`` that names the file.
final class SQLiteConnection {
    let handle: OpaquePointer
    let path: String

    /// Opens `path` with SQLite `flags`; never creates it unless `flags`
    /// says so.
    init(path: String, flags: Int32, busyTimeoutMilliseconds: Int32) throws(CDBError) {
        var db: OpaquePointer?
        let rc = lazy_sqlite3_open_v2(path, &db, flags, nil)
        guard let db else {
            // libsqlite3 is loaded on first use (CSQLite): say so when it cannot be.
            if let why = csqlite_load_error() {
                throw .sqlite(path: path, operation: "open", message: "libsqlite3 cannot be loaded: " + String(cString: why))
            }
            throw .sqlite(path: path, operation: "open", message: "out of memory")
        }
        self.handle = db
        self.path = path
        lazy_sqlite3_extended_result_codes(db, 1)
        if rc != SQLITE_OK {
            let error = self.error(rc, operation: "open")
            lazy_sqlite3_close_v2(db)
            throw error
        }
        lazy_sqlite3_busy_timeout(db, busyTimeoutMilliseconds)
        _ = csqlite_defensive(db)
    }

    deinit {
        lazy_sqlite3_close_v2(handle)
    }

    /// Runs one or more statements that return no rows of interest.
    func execute(_ sql: String, operation: String) throws(CDBError) {
        let rc = lazy_sqlite3_exec(handle, sql, nil, nil, nil)
        guard rc == SQLITE_OK else { throw error(rc, operation: operation) }
    }

    /// Compiles one statement.
    func prepare(_ sql: String, operation: String) throws(CDBError) -> SQLiteStatement {
        var statement: OpaquePointer?
        let rc = lazy_sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
        guard rc == SQLITE_OK, let statement else { throw error(rc, operation: operation) }
        return SQLiteStatement(statement, connection: self, operation: operation)
    }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    var changes: Int32 { lazy_sqlite3_changes(handle) }

    /// The ``CDBError`` for result code `rc`.
    func error(_ rc: Int32, operation: String) -> CDBError {
        var message = String(cString: lazy_sqlite3_errstr(rc))
        if let text = lazy_sqlite3_errmsg(handle) {
            let detail = String(cString: text)
            if !detail.isEmpty { message = detail }
        }
        let systemErrno = lazy_sqlite3_system_errno(handle)
        switch rc & 0xff {
        case SQLITE_BUSY, SQLITE_LOCKED:
            return .locked(path: path, operation: operation)
        case SQLITE_NOTADB, SQLITE_CORRUPT:
            return .notADatabase(path: path, message: message)
        case SQLITE_CANTOPEN:
            if systemErrno != 0, let reason = strerror(systemErrno) {
                message += " (" + String(cString: reason) + ")"
            }
            return .sqlite(path: path, operation: operation, message: message)
        case SQLITE_READONLY where [SQLITE_READONLY | 1 << 8, SQLITE_READONLY | 2 << 8, SQLITE_READONLY | 5 << 8,
                                         SQLITE_READONLY | 6 << 8].contains(rc):
            // SQLITE_READONLY_RECOVERY, _CANTLOCK, _CANTINIT, _DIRECTORY: a read-only
            // connection to a WAL database found no usable -shm and may not
            // create one.
            return .sqlite(path: path, operation: operation, message:
                "it is in WAL mode, its -shm and -wal files are missing or unusable, and this user may not create them"
                + " in its directory (SQLite: \(message)); any fshost cdb write by the owner recreates them")
        default:
            return .sqlite(path: path, operation: operation, message: message)
        }
    }
}

/// One compiled statement. Finalized when released.
final class SQLiteStatement {
    let pointer: OpaquePointer
    unowned let connection: SQLiteConnection
    let operation: String

    init(_ pointer: OpaquePointer, connection: SQLiteConnection, operation: String) {
        self.pointer = pointer
        self.connection = connection
        self.operation = operation
    }

    deinit {
        lazy_sqlite3_finalize(pointer)
    }

    /// Binds text (1-based `index`); the bytes are copied, NUL included.
    func bind(_ index: Int32, _ text: String) throws(CDBError) {
        var text = text
        let rc: Int32
        if text.isEmpty {
            rc = csqlite_bind_text(pointer, index, "")
        } else {
            rc = text.withUTF8 { bytes in
                bytes.withMemoryRebound(to: CChar.self) { chars in
                    csqlite_bind_text_n(pointer, index, chars.baseAddress, Int32(chars.count))
                }
            }
        }
        guard rc == SQLITE_OK else { throw connection.error(rc, operation: operation) }
    }

    /// Binds each text in order, from index 1.
    func bind(_ texts: String...) throws(CDBError) {
        for (i, text) in texts.enumerated() { try bind(Int32(i + 1), text) }
    }

    /// Advances to the next row: true when there is one, false when done.
    func step() throws(CDBError) -> Bool {
        let rc = lazy_sqlite3_step(pointer)
        switch rc {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw connection.error(rc, operation: operation)
        }
    }

    /// Runs a statement that returns no rows, then resets it for reuse.
    func run() throws(CDBError) {
        defer { reset() }
        while try step() {}
    }

    /// Clears the bindings and rewinds, so the statement can run again.
    func reset() {
        lazy_sqlite3_reset(pointer)
        lazy_sqlite3_clear_bindings(pointer)
    }

    /// The text of column `index` (0-based) of the current row; nil for NULL.
    func text(_ index: Int32) -> String? {
        guard lazy_sqlite3_column_type(pointer, index) != SQLITE_NULL,
              let raw = lazy_sqlite3_column_text(pointer, index) else { return nil }
        let count = Int(lazy_sqlite3_column_bytes(pointer, index))
        return String(decoding: UnsafeBufferPointer(start: raw, count: count), as: UTF8.self)
    }

    /// The integer of column `index` (0-based) of the current row.
    func integer(_ index: Int32) -> Int64 {
        lazy_sqlite3_column_int64(pointer, index)
    }
}
