/* SQLite for Swift: SQLITE_TRANSIENT is a cast macro and does not import. */
#ifndef FSHOST_CSQLITE_SHIM_H
#define FSHOST_CSQLITE_SHIM_H
#include <sqlite3.h>

static inline int csqlite_bind_text(sqlite3_stmt *stmt, int index, const char *text) {
    return sqlite3_bind_text(stmt, index, text, -1, SQLITE_TRANSIENT);
}
#endif
