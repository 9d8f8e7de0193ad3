#include "store/native_sql.h"

#include <soci/session.h>

#include <string>

namespace tongban::native_sql {

sqlite_api::sqlite3* SqliteOf(soci::session& sql) {
  auto* backend = static_cast<soci::sqlite3_session_backend*>(sql.get_backend());
  if (backend == nullptr || backend->conn_ == nullptr) {
    throw soci::soci_error("no SQLite connection");
  }
  return backend->conn_;
}

PGconn* PgOf(soci::session& sql) {
  auto* backend = static_cast<soci::postgresql_session_backend*>(sql.get_backend());
  if (backend == nullptr || backend->conn_ == nullptr) {
    throw soci::soci_error("no PostgreSQL connection");
  }
  return backend->conn_;
}

void ThrowSqlite(sqlite_api::sqlite3* db, int rc) {
  throw soci::sqlite3_soci_error(sqlite_api::sqlite3_errmsg(db), rc);
}

void ThrowPg(PGconn* conn, PGresult* res) {
  std::string message = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string sqlstate = state != nullptr ? state : "";
  if (res != nullptr) PQclear(res);
  throw soci::postgresql_soci_error(message, sqlstate.c_str());
}

}  // namespace tongban::native_sql
