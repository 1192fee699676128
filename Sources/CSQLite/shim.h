/* SQLite for Swift: SQLITE_TRANSIENT is a cast macro and does not import,
 * and sqlite3_db_config / sqlite3_config are variadic. */
#ifndef FSHOST_CSQLITE_SHIM_H
#define FSHOST_CSQLITE_SHIM_H
#include <sqlite3.h>

/* Binds a NUL-terminated string; SQLite copies it. */
static inline int csqlite_bind_text(sqlite3_stmt *stmt, int index, const char *text) {
    return sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
}

/* Binds `length` bytes of UTF-8 (which may contain NUL); SQLite copies them. */
static inline int csqlite_bind_text_n(sqlite3_stmt *stmt, int index, const char *text, int length) {
    return sqlite3_bind_text(stmt, index, text, length, SQLITE_TRANSIENT);
}

/* Keeps the -wal and -shm files when the last connection closes, so that a
 * later read-only connection (one that may not create files in the
 * directory) can still read the WAL database. */
static inline int csqlite_persist_wal(sqlite3 *db, int on) {
    return sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
}

/* Turns on defensive mode (no writes to the schema through PRAGMA
 * writable_schema and friends) where the library supports it. */
static inline int csqlite_defensive(sqlite3 *db) {
#ifdef SQLITE_DBCONFIG_DEFENSIVE
    return sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)0);
#else
    (void)db;
    return SQLITE_OK;
#endif
}
#endif
