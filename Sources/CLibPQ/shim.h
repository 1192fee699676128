// libpq (Debian libpq-dev: /usr/include/postgresql/libpq-fe.h), for the
// database type's companion only (database-libpq.so): the plugin never
// links it, so level 1 never loads it.
#include <postgresql/libpq-fe.h>
