/* libsqlite3 loaded on first use: see include/CSQLite.h. */
#include "CSQLite.h"
#include <dlfcn.h>
#include <stddef.h>

static void *library;
static const char *load_error;

/* The library's handle, loaded on the first call (the CDB is used by one
 * thread at a time in fshost; a second load would return the same handle). */
static void *handle(void) {
    if (library == NULL && load_error == NULL) {
        library = dlopen("libsqlite3.so.0", RTLD_NOW | RTLD_LOCAL);
        if (library == NULL) {
            load_error = dlerror();
            if (load_error == NULL) load_error = "libsqlite3.so.0 cannot be loaded";
        }
    }
    return library;
}

const char *csqlite_load_error(void) {
    return handle() == NULL ? load_error : NULL;
}

/* A forwarding function: finds `name` once, then calls it; `failure` when
 * the library or the symbol is missing. */
#define FORWARD(ret, name, failure, params, args)                                   \
    ret lazy_##name params {                                                        \
        static ret (*real) params;                                                  \
        if (real == NULL) {                                                         \
            void *lib = handle();                                                   \
            if (lib != NULL) *(void **)(&real) = dlsym(lib, #name);                 \
            if (real == NULL) return failure;                                       \
        }                                                                           \
        return real args;                                                           \
    }

int lazy_sqlite3_open_v2(const char *filename, sqlite3 **db, int flags, const char *vfs) {
    static int (*real)(const char *, sqlite3 **, int, const char *);
    if (real == NULL) {
        void *lib = handle();
        if (lib != NULL) *(void **)(&real) = dlsym(lib, "sqlite3_open_v2");
        if (real == NULL) {
            *db = NULL;
            return SQLITE_CANTOPEN;
        }
    }
    return real(filename, db, flags, vfs);
}

FORWARD(int, sqlite3_close_v2, SQLITE_MISUSE, (sqlite3 *db), (db))
FORWARD(int, sqlite3_extended_result_codes, SQLITE_MISUSE, (sqlite3 *db, int on), (db, on))
FORWARD(int, sqlite3_busy_timeout, SQLITE_MISUSE, (sqlite3 *db, int ms), (db, ms))
FORWARD(int, sqlite3_exec, SQLITE_MISUSE,
        (sqlite3 *db, const char *sql, int (*callback)(void *, int, char **, char **), void *arg, char **errmsg),
        (db, sql, callback, arg, errmsg))
FORWARD(int, sqlite3_prepare_v2, SQLITE_MISUSE,
        (sqlite3 *db, const char *sql, int bytes, sqlite3_stmt **stmt, const char **tail),
        (db, sql, bytes, stmt, tail))
FORWARD(int, sqlite3_changes, 0, (sqlite3 *db), (db))
FORWARD(const char *, sqlite3_errstr, "libsqlite3 is not loaded", (int rc), (rc))
FORWARD(const char *, sqlite3_errmsg, NULL, (sqlite3 *db), (db))
FORWARD(int, sqlite3_system_errno, 0, (sqlite3 *db), (db))
FORWARD(int, sqlite3_finalize, SQLITE_MISUSE, (sqlite3_stmt *stmt), (stmt))
FORWARD(int, sqlite3_step, SQLITE_MISUSE, (sqlite3_stmt *stmt), (stmt))
FORWARD(int, sqlite3_reset, SQLITE_MISUSE, (sqlite3_stmt *stmt), (stmt))
FORWARD(int, sqlite3_clear_bindings, SQLITE_MISUSE, (sqlite3_stmt *stmt), (stmt))
FORWARD(int, sqlite3_column_type, SQLITE_NULL, (sqlite3_stmt *stmt, int column), (stmt, column))
FORWARD(const unsigned char *, sqlite3_column_text, NULL, (sqlite3_stmt *stmt, int column), (stmt, column))
FORWARD(int, sqlite3_column_bytes, 0, (sqlite3_stmt *stmt, int column), (stmt, column))
FORWARD(sqlite3_int64, sqlite3_column_int64, 0, (sqlite3_stmt *stmt, int column), (stmt, column))

static FORWARD(int, sqlite3_bind_text, SQLITE_MISUSE,
               (sqlite3_stmt *stmt, int index, const char *text, int length, void (*destructor)(void *)),
               (stmt, index, text, length, destructor))
static FORWARD(int, sqlite3_file_control, SQLITE_MISUSE, (sqlite3 *db, const char *name, int op, void *arg),
               (db, name, op, arg))

int csqlite_bind_text(sqlite3_stmt *stmt, int index, const char *text) {
    return lazy_sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
}

int csqlite_bind_text_n(sqlite3_stmt *stmt, int index, const char *text, int length) {
    return lazy_sqlite3_bind_text(stmt, index, text, length, SQLITE_TRANSIENT);
}

int csqlite_persist_wal(sqlite3 *db, int on) {
    return lazy_sqlite3_file_control(db, "main", SQLITE_FCNTL_PERSIST_WAL, &on);
}

int csqlite_defensive(sqlite3 *db) {
#ifdef SQLITE_DBCONFIG_DEFENSIVE
    static int (*real)(sqlite3 *, int, ...);
    if (real == NULL) {
        void *lib = handle();
        if (lib != NULL) *(void **)(&real) = dlsym(lib, "sqlite3_db_config");
        if (real == NULL) return SQLITE_MISUSE;
    }
    return real(db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)0);
#else
    (void)db;
    return SQLITE_OK;
#endif
}
