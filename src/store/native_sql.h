// The native handles under a pooled SOCI session, for the few bulk paths that
// step SQLite or drive libpq's COPY themselves (exchange batches, payment
// reconciliation: SOCI's per-row cost dominates there), and the errors they
// throw — the exceptions SOCI itself throws, so SqlStore::ToError reads them.
#pragma once

// soci-sqlite3.h wraps <sqlite3.h> in namespace sqlite_api: it comes before
// anything else that could include <sqlite3.h>.
#include <soci/sqlite3/soci-sqlite3.h>

#include <libpq-fe.h>
#include <soci/postgresql/soci-postgresql.h>

namespace tongban::native_sql {

// The session's connection; throws soci::soci_error when the session is not
// of that backend or is closed.
sqlite_api::sqlite3* SqliteOf(soci::session& sql);
PGconn* PgOf(soci::session& sql);

// Throws the backend's soci error for a failed call (`res` may be null: then
// the connection's message; a non-null `res` is cleared).
[[noreturn]] void ThrowSqlite(sqlite_api::sqlite3* db, int rc);
[[noreturn]] void ThrowPg(PGconn* conn, PGresult* res);

}  // namespace tongban::native_sql
