/* SQLite for Swift, loaded on first use.
 *
 * The action path reads a resource from the CDB's snapshot (CDBSnapshot)
 * and needs SQLite only when the snapshot cannot be trusted; linking
 * libsqlite3 would cost every call its load (~0.2 ms: Debian builds it
 * BIND_NOW). So `fshost` and `fshost-admin` call these `lazy_` functions,
 * which `dlopen("libsqlite3.so.0")` (found the way DT_NEEDED would find it)
 * on the first call and forward to the real ones. When the library cannot
 * be loaded, `lazy_sqlite3_open_v2` fails with SQLITE_CANTOPEN and
 * `csqlite_load_error` says why.
 *
 * Also: SQLITE_TRANSIENT is a cast macro and does not import, and
 * sqlite3_db_config is variadic. */
#ifndef FSHOST_CSQLITE_H
#define FSHOST_CSQLITE_H
#include <sqlite3.h>

/* NULL once libsqlite3 is loaded (it is loaded by this call if need be),
 * else the loader's message. */
const char *csqlite_load_error(void);

int lazy_sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs);
int lazy_sqlite3_close_v2(sqlite3 *db);
int lazy_sqlite3_extended_result_codes(sqlite3 *db, int on);
int lazy_sqlite3_busy_timeout(sqlite3 *db, int ms);
int lazy_sqlite3_exec(sqlite3 *db, const char *sql, int (*callback)(void *, int, char **, char **), void *arg,
                      char **errmsg);
int lazy_sqlite3_prepare_v2(sqlite3 *db, const char *sql, int bytes, sqlite3_stmt **stmt, const char **tail);
int lazy_sqlite3_changes(sqlite3 *db);
const char *lazy_sqlite3_errstr(int rc);
const char *lazy_sqlite3_errmsg(sqlite3 *db);
int lazy_sqlite3_system_errno(sqlite3 *db);
int lazy_sqlite3_finalize(sqlite3_stmt *stmt);
int lazy_sqlite3_step(sqlite3_stmt *stmt);
int lazy_sqlite3_reset(sqlite3_stmt *stmt);
int lazy_sqlite3_clear_bindings(sqlite3_stmt *stmt);
int lazy_sqlite3_column_type(sqlite3_stmt *stmt, int column);
const unsigned char *lazy_sqlite3_column_text(sqlite3_stmt *stmt, int column);
int lazy_sqlite3_column_bytes(sqlite3_stmt *stmt, int column);
sqlite3_int64 lazy_sqlite3_column_int64(sqlite3_stmt *stmt, int column);

/* Binds a NUL-terminated string; SQLite copies it. */
int csqlite_bind_text(sqlite3_stmt *stmt, int index, const char *text);
/* Binds `length` bytes of UTF-8 (which may contain NUL); SQLite copies them. */
int csqlite_bind_text_n(sqlite3_stmt *stmt, int index, const char *text, int length);
/* Keeps the -wal and -shm files when the last connection closes, so that a
 * later read-only connection (one that may not create files in the
 * directory) can still read the WAL database. */
int csqlite_persist_wal(sqlite3 *db, int on);
/* Turns on defensive mode (no writes to the schema through PRAGMA
 * writable_schema and friends) where the library supports it. */
int csqlite_defensive(sqlite3 *db);
#endif
