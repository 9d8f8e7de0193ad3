// soci-sqlite3.h wraps <sqlite3.h> in namespace sqlite_api, so it must come
// before anything else that could include <sqlite3.h> at global scope.
#include "store/sql_store.h"

#include "store/wal_checkpoints.h"

#include <soci/mysql/soci-mysql.h>
#include <soci/odbc/soci-odbc.h>
#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>
#include <spdlog/spdlog.h>

#include <pthread.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

namespace tongban {
namespace {

namespace sq = sqlite_api;

constexpr size_t kMaxErrorMessage = 300;

// The first line of a driver message, without SOCI's "backend::function: "
// prefix or PostgreSQL's "ERROR:  " severity, bounded in length. First lines
// never carry bound values; PostgreSQL's DETAIL lines (e.g. "Key (x)=(v)") do.
std::string CleanMessage(std::string_view raw) {
  std::string_view m = raw.substr(0, raw.find('\n'));
  if (m.starts_with("sqlite3_") || m.starts_with("postgresql_") || m.starts_with("Error ")) {
    size_t colon = m.find(": ");
    if (colon != std::string_view::npos) m.remove_prefix(colon + 2);
  }
  // SOCI's PostgreSQL backend puts "Cannot execute query. Fatal error. " in front.
  for (std::string_view severity : {"ERROR:", "FATAL:", "PANIC:"}) {
    if (size_t at = m.find(severity); at != std::string_view::npos) {
      m.remove_prefix(at + severity.size());
      break;
    }
  }
  // ODBC drivers prefix "[vendor][driver][server]".
  while (!m.empty() && (m.front() == ' ' || m.front() == '\t')) m.remove_prefix(1);
  while (m.starts_with('[')) {
    size_t close = m.find(']');
    if (close == std::string_view::npos) break;
    m.remove_prefix(close + 1);
  }
  while (!m.empty() && (m.front() == ' ' || m.front() == '\t')) m.remove_prefix(1);
  while (!m.empty() && (m.back() == ' ' || m.back() == '\r' || m.back() == '.')) m.remove_suffix(1);
  if (m.size() > kMaxErrorMessage) m = m.substr(0, kMaxErrorMessage);
  return "database: " + std::string(m);
}

Error SqliteError(int rc, std::string_view message) {
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
    case SQLITE_NOMEM:
    case SQLITE_READONLY:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_CANTOPEN:
    case SQLITE_PROTOCOL:
      return Error::Unavailable(CleanMessage(message));
    case SQLITE_CONSTRAINT:
      return Error::Conflict(CleanMessage(message));
    default:
      return Error::Internal(CleanMessage(message));
  }
}

Error PostgresError(std::string_view sqlstate, std::string_view message) {
  std::string_view cls = sqlstate.substr(0, 2);
  std::string suffix = sqlstate.empty() ? "" : " (SQLSTATE " + std::string(sqlstate) + ")";
  // Class 22 (data exception) messages quote the offending input value.
  if (cls == "22") return Error::Internal("database: invalid data" + suffix);
  std::string text = CleanMessage(message) + suffix;
  if (cls == "08" || cls == "40" || cls == "53" || cls == "57" || cls == "58") {
    return Error::Unavailable(std::move(text));
  }
  if (cls == "23") return Error::Conflict(std::move(text));
  return Error::Internal(std::move(text));
}

// MySQL messages quote values, and SOCI's MySQL backend substitutes bound
// values into the statement text, so even a syntax error can quote one. Every
// quoted part becomes '?', except the index name of a duplicate key (callers
// tell duplicates apart by index, e.g. dir_users_mobile).
std::string HideQuoted(std::string_view m) {
  std::string out;
  size_t i = 0;
  while (i < m.size()) {
    if (m[i] != '\'') {
      out.push_back(m[i++]);
      continue;
    }
    size_t close = m.find('\'', i + 1);
    if (close == std::string_view::npos) close = m.size() - 1;
    if (out.ends_with("for key ")) {
      out.append(m.substr(i, close + 1 - i));
    } else {
      out.append("?");
    }
    i = close + 1;
  }
  return out;
}

bool MySqlConnectionLost(unsigned int code) {
  switch (code) {
    case 1053:  // server shutdown in progress
    case 1927:  // connection was killed
    case 4031:  // disconnected by the server (idle timeout)
    case CR_CONNECTION_ERROR:
    case CR_CONN_HOST_ERROR:
    case CR_SERVER_GONE_ERROR:
    case CR_SERVER_LOST:
    case 2055:  // lost connection at system error
      return true;
    default:
      return false;
  }
}

Error MySqlError(unsigned int code, std::string_view message) {
  std::string suffix = " (MySQL error " + std::to_string(code) + ")";
  std::string text = "database: " + HideQuoted(CleanMessage(message).substr(10)) + suffix;
  if (MySqlConnectionLost(code)) return Error::Unavailable(std::move(text));
  switch (code) {
    case 1040:  // too many connections
    case 1205:  // lock wait timeout
    case 1213:  // deadlock
    case 1021:  // disk full
    case 1114:  // table full
    case 1037:  // out of memory
    case 1041:
      return Error::Unavailable(std::move(text));
    case 1062:  // duplicate entry
    case 1586:
    case 1216:  // foreign keys
    case 1217:
    case 1451:
    case 1452:
    case 1048:  // column cannot be null
    case 3819:  // check constraint (MySQL)
    case 4025:  // check constraint (MariaDB)
      return Error::Conflict(std::move(text));
    default:
      return Error::Internal(std::move(text));
  }
}

// ODBC: by SQLSTATE, which every driver reports.
Error OdbcError(std::string_view sqlstate, std::string_view message) {
  std::string_view cls = sqlstate.substr(0, 2);
  std::string text = "database: " + HideQuoted(CleanMessage(message).substr(10));
  if (cls == "22")
    return Error::Internal("database: invalid data (SQLSTATE " + std::string(sqlstate) + ")");
  if (cls == "08" || cls == "40" || cls == "IM" || sqlstate == "HYT00" || sqlstate == "HYT01") {
    return Error::Unavailable(std::move(text));
  }
  if (cls == "23" || sqlstate == "44000") return Error::Conflict(std::move(text));
  return Error::Internal(std::move(text));
}

std::string PgSqlstate(const soci::postgresql_soci_error& e) {
  std::string s = e.sqlstate();
  s.erase(std::find(s.begin(), s.end(), '\0'), s.end());
  return s;
}

PGconn* PgConnection(soci::session& sql) {
  auto* backend = static_cast<soci::postgresql_session_backend*>(sql.get_backend());
  return backend == nullptr ? nullptr : backend->conn_;
}

sq::sqlite3* SqliteConnection(soci::session& sql) {
  auto* backend = static_cast<soci::sqlite3_session_backend*>(sql.get_backend());
  return backend == nullptr ? nullptr : backend->conn_;
}

bool PgConnectionLost(soci::session& sql) {
  PGconn* conn = PgConnection(sql);
  return conn == nullptr || PQstatus(conn) != CONNECTION_OK;
}

int FromHex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Result<std::string> PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out.push_back(s[i]);
      continue;
    }
    if (i + 2 >= s.size()) {
      return Error::InvalidArgument("database url: truncated %-escape");
    }
    int hi = FromHex(s[i + 1]);
    int lo = FromHex(s[i + 2]);
    if (hi < 0 || lo < 0) return Error::InvalidArgument("database url: bad %-escape");
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

// libpq conninfo value: single-quoted, with ' and \ escaped.
void AppendConninfo(std::string& out, std::string_view key, std::string_view value) {
  if (!out.empty()) out.push_back(' ');
  out.append(key);
  out.append("='");
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
}

// Query parameters a mysql:// url may carry (SOCI's MySQL connect-string keys).
// "reconnect" is left out on purpose: the client library would reconnect
// silently, losing the session settings and any open transaction.
bool IsMySqlParameter(std::string_view key) {
  for (std::string_view k : {"unix_socket", "charset", "connect_timeout", "read_timeout",
                             "write_timeout", "sslca", "sslcert", "sslkey"}) {
    if (key == k) return true;
  }
  return false;
}

// "user:pass@host:port/db?k=v&..." (the part after "postgresql://" or
// "mysql://") to a libpq conninfo string or a SOCI MySQL connect string (the
// same key='value' syntax). Errors never echo the url: it may hold a password.
Result<std::string> ConnectString(std::string_view rest, SqlDialect dialect) {
  const bool mysql = dialect == SqlDialect::kMySql;
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view authority = rest;
  std::string_view dbname;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    authority = rest.substr(0, slash);
    dbname = rest.substr(slash + 1);
  }
  std::string_view userinfo;
  std::string_view hostport = authority;
  if (size_t at = authority.rfind('@'); at != std::string_view::npos) {
    userinfo = authority.substr(0, at);
    hostport = authority.substr(at + 1);
  }
  std::string_view user = userinfo;
  std::string_view password;
  bool has_password = false;
  if (size_t colon = userinfo.find(':'); colon != std::string_view::npos) {
    user = userinfo.substr(0, colon);
    password = userinfo.substr(colon + 1);
    has_password = true;
  }
  std::string_view host = hostport;
  std::string_view port;
  if (hostport.starts_with('[')) {
    size_t close = hostport.find(']');
    if (close == std::string_view::npos) {
      return Error::InvalidArgument("database url: unterminated [ipv6] host");
    }
    host = hostport.substr(1, close - 1);
    std::string_view after = hostport.substr(close + 1);
    if (after.starts_with(':'))
      port = after.substr(1);
    else if (!after.empty())
      return Error::InvalidArgument("database url: bad host");
  } else if (size_t colon = hostport.rfind(':'); colon != std::string_view::npos) {
    host = hostport.substr(0, colon);
    port = hostport.substr(colon + 1);
  }
  if (!port.empty() &&
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error::InvalidArgument("database url: port is not a number");
  }

  std::string conninfo;
  auto add = [&](std::string_view key, std::string_view raw) -> Status {
    if (raw.empty()) return Status::Ok();
    auto decoded = PercentDecode(raw);
    if (!decoded.ok()) return std::move(decoded).error();
    AppendConninfo(conninfo, key, *decoded);
    return Status::Ok();
  };
  TB_RETURN_IF_ERROR(add("host", host));
  TB_RETURN_IF_ERROR(add("port", port));
  TB_RETURN_IF_ERROR(add("dbname", dbname));
  TB_RETURN_IF_ERROR(add("user", user));
  if (has_password) {
    auto decoded = PercentDecode(password);
    if (!decoded.ok()) return std::move(decoded).error();
    AppendConninfo(conninfo, "password", *decoded);
  }
  bool has_timeout = false;
  bool has_options = false;
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      return Error::InvalidArgument("database url: query parameter without a value");
    }
    auto key = PercentDecode(pair.substr(0, eq));
    auto value = PercentDecode(pair.substr(eq + 1));
    if (!key.ok()) return std::move(key).error();
    if (!value.ok()) return std::move(value).error();
    if (!std::all_of(key->begin(), key->end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || c == '_'; })) {
      return Error::InvalidArgument("database url: bad query parameter name");
    }
    if (mysql && !IsMySqlParameter(*key)) {
      return Error::InvalidArgument(
          "database url: unknown mysql parameter " + *key +
          " (supported: unix_socket, charset, connect_timeout, read_timeout, write_timeout, "
          "sslca, sslcert, sslkey)");
    }
    if (mysql && *key == "charset" && *value != "utf8mb4") {
      return Error::InvalidArgument("database url: charset must be utf8mb4");
    }
    if (*key == "connect_timeout") has_timeout = true;
    if (*key == "options" || *key == "charset") has_options = true;
    AppendConninfo(conninfo, *key, *value);
  }
  if (!has_timeout) AppendConninfo(conninfo, "connect_timeout", "5");
  if (mysql) {
    // utf8mb4, not MySQL's 3-byte "utf8", or 𠮷 and every other character
    // outside the BMP would be rejected.
    if (!has_options) AppendConninfo(conninfo, "charset", "utf8mb4");
  } else if (!has_options) {
    // NOTICEs ("relation already exists, skipping") would go to stderr via libpq.
    AppendConninfo(conninfo, "options", "-c client_min_messages=warning");
  }
  return conninfo;
}

// Connection-failure messages are multi-line ("Cannot establish connection
// ...\nconnection to server at ... failed: ..."); keep them whole but on one line.
std::string OneLine(std::string_view raw) {
  std::string out;
  for (char c : raw) {
    if (c == '\n') {
      if (!out.empty() && out.back() != ' ') out.append("; ");
    } else {
      out.push_back(c);
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  if (out.size() > kMaxErrorMessage) out.resize(kMaxErrorMessage);
  return out;
}

// Process-wide, before SQLite's first connection (sqlite3_config refuses once
// the library is initialised; then nothing changes). A statement journal —
// the original pages a savepoint or a failing statement rolls back to — stays
// in memory up to 120 KiB instead of SQLite's 64 KiB: a group commit
// (store::WriteLane) runs each piece in a savepoint, and past 64 KiB every
// page a piece first touched was also written to a temporary file (a payment
// lane's CPU per notification 168-179 -> 117-134 us, same run). Not more:
// when a journal does spill, SQLite writes it to its file in chunks of this
// size, and its unix VFS writes at most 128 KiB a call — at 16 MiB (session 9)
// every spill failed as SQLITE_FULL ("database or disk is full"; store_sql_test
// AStatementWhoseJournalOutgrowsMemorySpillsAndSucceeds).
void RaiseSqliteStatementJournalSpill() {
  static const int once = sq::sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, 120 * 1024);
  (void)once;
}

void ConfigureSqlite(soci::session& sql, bool in_memory) {
  // 256 lookaside slots of 512 bytes (SQLite's default is 40 of 1,200): a
  // statement's text columns each get a register buffer per row, and a
  // user row has ~50 of them; with the default slots taken, most columns of
  // every row were a malloc + free (17% of a cold organduser lookup's CPU at
  // 1M users in perf; 6% left with these slots and batched reads). Must
  // come first: it fails once any lookaside memory is in use.
  sq::sqlite3_db_config(SqliteConnection(sql), SQLITE_DBCONFIG_LOOKASIDE, nullptr, 512, 256);
  sql << "PRAGMA busy_timeout=5000";
  std::string mode;
  sql << "PRAGMA journal_mode=WAL", soci::into(mode);
  if (!in_memory && mode != "wal") {
    throw soci::soci_error("cannot enable WAL (journal_mode is " + mode + ")");
  }
  sql << "PRAGMA synchronous=NORMAL";
  sql << "PRAGMA foreign_keys=ON";
  // 64 MiB of page cache a session (SQLite's default is 2 MiB), allocated as
  // used: at a million users the indexes an insert or a cold lookup touches
  // no longer fit 2 MiB, and every miss became a read from the OS (a 1M-user
  // import slowed from 16k to 3k rows/s as the table grew).
  sql << "PRAGMA cache_size=-65536";
  // Checkpoints of a file database are its WalCheckpointer's (the WAL hook
  // Open installs after this replaces SQLite's automatic checkpoint).
}

// PostgreSQL's defaults, on MySQL: READ COMMITTED (InnoDB defaults to
// REPEATABLE READ, whose snapshots would hide rows other nodes committed) and
// strict mode (an over-long or malformed value is an error, never truncated).
void ConfigureMySql(soci::session& sql) {
  sql << "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_IN_DATE,NO_ZERO_DATE,"
         "ERROR_FOR_DIVISION_BY_ZERO,NO_ENGINE_SUBSTITUTION'";
  sql << "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED";
}

void Configure(soci::session& sql, SqlStore::Backend backend, SqlDialect dialect, bool in_memory) {
  if (backend == SqlStore::Backend::kSqlite) ConfigureSqlite(sql, in_memory);
  if (dialect == SqlDialect::kMySql) ConfigureMySql(sql);
}

MYSQL* MySqlConnection(soci::session& sql) {
  auto* backend = static_cast<soci::mysql_session_backend*>(sql.get_backend());
  return backend == nullptr ? nullptr : backend->conn_;
}

SQLHDBC OdbcConnection(soci::session& sql) {
  auto* backend = static_cast<soci::odbc_session_backend*>(sql.get_backend());
  return backend == nullptr ? SQL_NULL_HDBC : backend->hdbc_;
}

// MySQL's multi-statement mode, switched on for the script only: statements
// otherwise run one at a time, so a value can never smuggle in a second one.
Status ExecuteMySqlScript(MYSQL* conn, const std::string& script) {
  if (mysql_set_server_option(conn, MYSQL_OPTION_MULTI_STATEMENTS_ON) != 0) {
    return MySqlError(mysql_errno(conn), mysql_error(conn));
  }
  Status result;
  if (mysql_real_query(conn, script.c_str(), static_cast<unsigned long>(script.size())) != 0) {
    result = MySqlError(mysql_errno(conn), mysql_error(conn));
  } else {
    for (;;) {
      MYSQL_RES* res = mysql_store_result(conn);
      if (res != nullptr) mysql_free_result(res);
      int next = mysql_next_result(conn);
      if (next == -1) break;
      if (next > 0) {
        result = MySqlError(mysql_errno(conn), mysql_error(conn));
        break;
      }
    }
  }
  mysql_set_server_option(conn, MYSQL_OPTION_MULTI_STATEMENTS_OFF);
  return result;
}

Error OdbcDiagnostic(SQLSMALLINT type, SQLHANDLE handle) {
  SQLCHAR state[SQL_SQLSTATE_SIZE + 1] = {0};
  SQLCHAR message[SQL_MAX_MESSAGE_LENGTH + 1] = {0};
  SQLINTEGER native = 0;
  SQLSMALLINT length = 0;
  if (!SQL_SUCCEEDED(
          SQLGetDiagRecA(type, handle, 1, state, &native, message, sizeof(message), &length))) {
    return Error::Internal("database: ODBC statement failed");
  }
  return OdbcError(reinterpret_cast<const char*>(state),
                   std::string("Error script: ") + reinterpret_cast<const char*>(message));
}

// The whole script in one SQLExecDirect, each result consumed in turn: the
// driver's own multi-statement support (psqlodbc always; MariaDB's with the
// MULTI_STATEMENTS option, which Open sets).
Status ExecuteOdbcScript(SQLHDBC conn, const std::string& script) {
  SQLHSTMT stmt = SQL_NULL_HSTMT;
  if (!SQL_SUCCEEDED(SQLAllocHandle(SQL_HANDLE_STMT, conn, &stmt))) {
    return OdbcDiagnostic(SQL_HANDLE_DBC, conn);
  }
  std::vector<SQLCHAR> text(script.begin(), script.end());
  text.push_back(0);
  Status result;
  SQLRETURN rc = SQLExecDirectA(stmt, text.data(), SQL_NTS);
  while (result.ok()) {
    if (rc == SQL_NO_DATA) {
      // A statement that touched no rows; further results may follow.
    } else if (!SQL_SUCCEEDED(rc)) {
      result = OdbcDiagnostic(SQL_HANDLE_STMT, stmt);
      break;
    }
    rc = SQLMoreResults(stmt);
    if (rc == SQL_NO_DATA) break;
  }
  SQLFreeHandle(SQL_HANDLE_STMT, stmt);
  return result;
}

// Runs a whole migration script with the database's own multi-statement
// executor (sqlite3_exec / PQexec / MySQL multi-statements / ODBC), so
// triggers and $$-bodies need no splitting.
Status ExecuteScript(soci::session& sql, SqlStore::Backend backend, const std::string& script) {
  switch (backend) {
    case SqlStore::Backend::kSqlite: {
      sq::sqlite3* conn = SqliteConnection(sql);
      if (conn == nullptr) return Error::Unavailable("database: session is not connected");
      char* err = nullptr;
      int rc = sq::sqlite3_exec(conn, script.c_str(), nullptr, nullptr, &err);
      if (rc == SQLITE_OK) return Status::Ok();
      std::string message = err != nullptr ? err : sq::sqlite3_errstr(rc);
      sq::sqlite3_free(err);
      return SqliteError(rc, message);
    }
    case SqlStore::Backend::kMySql: {
      MYSQL* conn = MySqlConnection(sql);
      if (conn == nullptr) return Error::Unavailable("database: session is not connected");
      return ExecuteMySqlScript(conn, script);
    }
    case SqlStore::Backend::kOdbc: {
      SQLHDBC conn = OdbcConnection(sql);
      if (conn == SQL_NULL_HDBC) return Error::Unavailable("database: session is not connected");
      return ExecuteOdbcScript(conn, script);
    }
    case SqlStore::Backend::kPostgres:
      break;
  }
  PGconn* conn = PgConnection(sql);
  if (conn == nullptr) return Error::Unavailable("database: session is not connected");
  std::unique_ptr<PGresult, decltype(&PQclear)> res(PQexec(conn, script.c_str()), &PQclear);
  if (res == nullptr) return Error::Unavailable(CleanMessage(PQerrorMessage(conn)));
  ExecStatusType st = PQresultStatus(res.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
    return Status::Ok();
  }
  const char* state = PQresultErrorField(res.get(), PG_DIAG_SQLSTATE);
  const char* primary = PQresultErrorField(res.get(), PG_DIAG_MESSAGE_PRIMARY);
  return PostgresError(state != nullptr ? state : "",
                       primary != nullptr ? primary : PQerrorMessage(conn));
}

// An ODBC connection string with tongban's "dialect=" taken out, and what the
// MySQL dialect needs added when the string does not say: matched (not
// changed) row counts, as SOCI's MySQL backend asks for, multi-statement
// scripts for Migrate, and utf8mb4. Values may be {braced}.
Result<std::pair<std::string, SqlDialect>> OdbcConnectString(std::string_view rest) {
  std::string out;
  std::optional<SqlDialect> dialect;
  bool has_option = false;
  bool has_charset = false;
  size_t i = 0;
  while (i < rest.size()) {
    size_t end = i;
    while (end < rest.size() && rest[end] != ';') {
      if (rest[end] == '{') {
        size_t close = rest.find('}', end);
        if (close == std::string_view::npos) {
          return Error::InvalidArgument("database url: unterminated { in the ODBC string");
        }
        end = close;
      }
      ++end;
    }
    std::string_view pair = rest.substr(i, end - i);
    i = end + 1;
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string key(pair.substr(0, eq));
    for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    std::string_view value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
    if (key == "dialect") {
      if (value == "mysql" || value == "mariadb") {
        dialect = SqlDialect::kMySql;
      } else if (value == "postgresql" || value == "postgres") {
        dialect = SqlDialect::kPostgres;
      } else {
        return Error::InvalidArgument(
            "database url: unsupported ODBC dialect (supported: dialect=mysql, "
            "dialect=postgresql)");
      }
      continue;
    }
    if (key == "option" || key == "options") has_option = true;
    if (key == "charset") has_charset = true;
    if (!out.empty()) out.push_back(';');
    out.append(pair);
  }
  if (!dialect.has_value()) {
    return Error::InvalidArgument(
        "database url: an odbc:// url must name the SQL its data source speaks: add "
        "dialect=mysql or dialect=postgresql");
  }
  if (out.empty()) return Error::InvalidArgument("database url: the ODBC string is empty");
  if (*dialect == SqlDialect::kMySql) {
    // FOUND_ROWS (2) + MULTI_STATEMENTS (1 << 26), for MySQL's and MariaDB's drivers.
    if (!has_option) out += ";OPTION=67108866";
    if (!has_charset) out += ";CHARSET=utf8mb4";
  }
  return std::make_pair(std::move(out), *dialect);
}

constexpr const char* kSupported =
    "supported: sqlite:///path, sqlite::memory:, postgresql://..., mysql://..., mariadb://..., "
    "odbc://DSN=...;dialect=mysql|postgresql";

}  // namespace

Migration PortableMigration(std::string module, int version, std::string_view script) {
  return Migration{std::move(module), version,
                   sql_dialect::ExpandSchema(script, SqlDialect::kSqlite),
                   sql_dialect::ExpandSchema(script, SqlDialect::kPostgres),
                   sql_dialect::ExpandSchema(script, SqlDialect::kMySql)};
}

namespace {

// The checkpoints of one SqlStore on a SQLite file (store/wal_checkpoints.h).
class WalCheckpointer {
 public:
  // Opens the checkpointer's own connection to `path` (already in WAL mode).
  // Throws soci::soci_error when it cannot.
  explicit WalCheckpointer(const std::string& path) {
    int rc = sq::sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr);
    if (rc == SQLITE_OK) {
      // NORMAL as the pool's sessions (a checkpoint fsyncs either way); the
      // SELECT opens the WAL, which a checkpoint on a fresh connection needs.
      rc = sq::sqlite3_exec(db_,
                            "PRAGMA synchronous=NORMAL; SELECT count(*) FROM sqlite_schema "
                            "WHERE 0",
                            nullptr, nullptr, nullptr);
    }
    if (rc != SQLITE_OK) {
      std::string message = db_ != nullptr ? sq::sqlite3_errmsg(db_) : sq::sqlite3_errstr(rc);
      sq::sqlite3_close(db_);
      throw soci::soci_error("sqlite3: checkpointer: " + message);
    }
    thread_ = std::thread([this] { Run(); });
    pthread_setname_np(thread_.native_handle(), "tb-sql-ckpt");
  }
  ~WalCheckpointer() {
    {
      std::lock_guard lock(mu_);
      stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
    sq::sqlite3_close(db_);
    WalCheckpoints c = counts();
    if (c.background + c.in_commit > 0) {
      spdlog::info("sql store: {} WAL checkpoints in the background ({} pages), {} in a commit",
                   c.background, c.pages, c.in_commit);
    }
  }
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  void Attach(soci::session& sql) { sq::sqlite3_wal_hook(SqliteConnection(sql), &Hook, this); }

  WalCheckpoints counts() {
    std::lock_guard lock(mu_);
    WalCheckpoints out = counts_;
    out.in_commit = in_commit_.load(std::memory_order_relaxed);
    return out;
  }
  bool Await(int64_t background, std::chrono::milliseconds timeout) {
    std::unique_lock lock(mu_);
    return ran_.wait_for(lock, timeout, [&] { return counts_.background >= background; });
  }
  void set_pages(int pages) {
    pages_.store(std::max(1, pages), std::memory_order_relaxed);
    trigger_.store(std::max(1, pages), std::memory_order_relaxed);
  }
  // The checkpointer of each SqlStore on a SQLite file, kept here rather than
  // as a member so that sql_store.h — included, directly or not, by most of
  // the code base — stays as it is. Open adds, ~SqlStore removes.
  static std::mutex& registry_mu() {
    static std::mutex mu;
    return mu;
  }
  static std::map<const SqlStore*, std::unique_ptr<WalCheckpointer>>& registry() {
    static std::map<const SqlStore*, std::unique_ptr<WalCheckpointer>> map;
    return map;
  }
  static WalCheckpointer* Of(const SqlStore& store) {
    std::lock_guard lock(registry_mu());
    auto it = registry().find(&store);
    return it == registry().end() ? nullptr : it->second.get();
  }
  int pages() const { return pages_.load(std::memory_order_relaxed); }

 private:
  // After every COMMIT of a hooked connection, with the WAL's size in pages:
  // at the threshold, wakes the thread (one atomic load a commit below it).
  static int Hook(void* self_ptr, sq::sqlite3* conn, const char* db, int frames) {
    auto* self = static_cast<WalCheckpointer*>(self_ptr);
    if (frames < self->frames_.exchange(frames, std::memory_order_relaxed)) {
      // The WAL restarted from its start: the threshold applies afresh.
      self->trigger_.store(self->pages_.load(std::memory_order_relaxed),
                           std::memory_order_relaxed);
    }
    if (frames >= 4 * self->pages_.load(std::memory_order_relaxed)) {
      // The fallback (sql_store.h): the WAL did not restart. PASSIVE fails
      // at once (SQLITE_BUSY, ignored) while the thread is checkpointing.
      if (sq::sqlite3_wal_checkpoint_v2(conn, db, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr) ==
          SQLITE_OK) {
        self->in_commit_.fetch_add(1, std::memory_order_relaxed);
      }
    } else if (frames >= self->trigger_.load(std::memory_order_relaxed) &&
               !self->requested_.load(std::memory_order_relaxed) &&
               !self->requested_.exchange(true)) {
      std::lock_guard lock(self->mu_);  // so the thread cannot miss the wake-up
      self->wake_.notify_one();
    }
    return SQLITE_OK;
  }

  void Run() {
    std::unique_lock lock(mu_);
    for (;;) {
      wake_.wait(lock, [this] { return stopping_ || requested_.load(); });
      if (stopping_) return;
      lock.unlock();
      int log = 0, copied = 0;
      // PASSIVE: copies what no reader still needs, waits for nobody.
      sq::sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, &log, &copied);
      // The WAL restarts from its start only when a writer begins with all of
      // it copied (the hook then lowers the trigger again); while writers keep
      // appending, the next run waits for an eighth of the threshold more,
      // so a busy WAL is not checkpointed (and fsynced) back to back for a
      // few pages each time. (A restart between the checkpoint and this
      // store delays the next run by that eighth once.)
      int pages = pages_.load(std::memory_order_relaxed);
      trigger_.store(std::max(pages, log + pages / 8), std::memory_order_relaxed);
      requested_.store(false);
      lock.lock();
      ++counts_.background;
      counts_.pages += std::max(0, copied - last_copied_);
      last_copied_ = copied >= log ? 0 : copied;
      ran_.notify_all();
    }
  }

  sq::sqlite3* db_ = nullptr;
  std::atomic<int> pages_{kWalCheckpointPages};
  std::atomic<int> trigger_{kWalCheckpointPages};  // WAL pages that wake the thread
  std::atomic<int> frames_{0};                      // the WAL's pages at the last commit
  std::atomic<bool> requested_{false};
  std::atomic<int64_t> in_commit_{0};
  std::mutex mu_;
  std::condition_variable wake_;
  std::condition_variable ran_;
  bool stopping_ = false;
  WalCheckpoints counts_;
  int last_copied_ = 0;
  std::thread thread_;  // last: started once everything above exists
};

}  // namespace

SqlStore::SqlStore(PrivateTag, SqlDialect dialect, Backend backend, size_t pool_size)
    : dialect_(dialect),
      backend_(backend),
      pool_(std::make_unique<soci::connection_pool>(pool_size)),
      pool_size_(pool_size),
      returned_ms_(std::make_unique<std::atomic<int64_t>[]>(pool_size)),
      kept_(std::make_unique<KeptMap[]>(pool_size)) {
  for (size_t i = 0; i < pool_size; ++i) sessions_.push_back(&pool_->at(i));
}

SqlStore::~SqlStore() {
  // Kept statements refer to their session's backend: they go first.
  for (size_t i = 0; i < pool_size_; ++i) DropKeptAt(i);
  // No session commits any more, so none calls the checkpointer's WAL hook.
  std::unique_ptr<WalCheckpointer> checkpointer;
  {
    std::lock_guard lock(WalCheckpointer::registry_mu());
    auto it = WalCheckpointer::registry().find(this);
    if (it != WalCheckpointer::registry().end()) {
      checkpointer = std::move(it->second);
      WalCheckpointer::registry().erase(it);
    }
  }
}

size_t SqlStore::IndexOf(const soci::session& session) const {
  for (size_t i = 0; i < sessions_.size(); ++i) {
    if (sessions_[i] == &session) return i;
  }
  throw soci::soci_error("SqlStore: a kept statement was asked for on a foreign session");
}

SqlStore::Kept* SqlStore::FindKept(soci::session& session, std::string_view key) {
  KeptMap& map = kept_[IndexOf(session)];
  auto it = map.find(key);
  return it == map.end() ? nullptr : it->second.get();
}

SqlStore::Kept& SqlStore::AddKept(soci::session& session, std::string_view key,
                                  std::unique_ptr<Kept> kept) {
  KeptMap& map = kept_[IndexOf(session)];
  auto [it, added] = map.insert_or_assign(std::string(key), std::move(kept));
  if (added) kept_total_.fetch_add(1, std::memory_order_relaxed);
  return *it->second;
}

void SqlStore::DropKeptAt(size_t index) {
  KeptMap& map = kept_[index];
  kept_total_.fetch_sub(map.size(), std::memory_order_relaxed);
  // A statement's destructor may talk to the database (PostgreSQL:
  // DEALLOCATE); SOCI swallows its failures, e.g. on a dead connection.
  map.clear();
}

void SqlStore::DropKept(soci::session& session) { DropKeptAt(IndexOf(session)); }

namespace {

// COPY's text format: backslash escapes for the characters it gives meaning.
void AppendCopyField(std::string_view v, std::string* out) {
  for (char c : v) {
    switch (c) {
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      default:
        out->push_back(c);
    }
  }
}

std::string PgResultError(PGresult* res, PGconn* conn, std::string* sqlstate) {
  const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  *sqlstate = state != nullptr ? state : "";
  sqlstate->resize(5, '\0');  // postgresql_soci_error copies five bytes
  const char* message = res != nullptr ? PQresultErrorMessage(res) : PQerrorMessage(conn);
  return message != nullptr && *message != '\0' ? message : PQerrorMessage(conn);
}

// A single-row INSERT with one vector bound per column, kept per session.
struct KeptBulkInsert : SqlStore::Kept {
  std::vector<std::vector<std::string>> columns;
  soci::statement st;
  KeptBulkInsert(soci::session& sql, std::string_view table, const std::vector<std::string>& names)
      : columns(names.size()), st(sql) {
    std::string cols;
    std::string vals;
    for (size_t i = 0; i < names.size(); ++i) {
      cols += (i == 0 ? "" : ", ") + names[i];
      vals += (i == 0 ? ":c" : ", :c") + std::to_string(i);
      st.exchange(soci::use(columns[i], "c" + std::to_string(i)));
    }
    st.alloc();
    st.prepare("INSERT INTO " + std::string(table) + " (" + cols + ") VALUES (" + vals + ")");
    st.define_and_bind();
  }
};

// SQLite's own prepared INSERT, bound by position and stepped per row: no
// SOCI use-element per column (SOCI's SQLite backend looks each named
// parameter up by name on every row, a scan of the whole list) and no copy
// of the rows into column vectors. Finalized before its session closes
// (kept objects are dropped first).
struct KeptSqliteInsert : SqlStore::Kept {
  sq::sqlite3_stmt* st = nullptr;
  ~KeptSqliteInsert() override { sq::sqlite3_finalize(st); }
};

[[noreturn]] void ThrowSqlite(sq::sqlite3* conn, int rc) {
  throw soci::sqlite3_soci_error(
      std::string("sqlite3: ") + (conn != nullptr ? sq::sqlite3_errmsg(conn) : sq::sqlite3_errstr(rc)),
      conn != nullptr ? sq::sqlite3_extended_errcode(conn) : rc);
}

}  // namespace

void SqlStore::BulkInsert(soci::session& session, std::string_view table,
                          const std::vector<std::string>& columns,
                          const std::vector<std::vector<std::string>>& rows) {
  if (rows.empty()) return;
  if (backend_ == Backend::kPostgres) {
    PGconn* conn = PgConnection(session);
    if (conn == nullptr) throw soci::soci_error("database: the connection is closed");
    std::string copy = "COPY " + std::string(table) + " (";
    for (size_t i = 0; i < columns.size(); ++i) copy += (i == 0 ? "" : ", ") + columns[i];
    copy += ") FROM STDIN";
    std::string sqlstate;
    PGresult* started = PQexec(conn, copy.c_str());
    if (PQresultStatus(started) != PGRES_COPY_IN) {
      std::string message = PgResultError(started, conn, &sqlstate);
      PQclear(started);
      throw soci::postgresql_soci_error(message, sqlstate.c_str());
    }
    PQclear(started);
    std::string buf;
    buf.reserve(1 << 20);
    bool sent = true;
    for (const std::vector<std::string>& row : rows) {
      for (size_t i = 0; i < row.size(); ++i) {
        if (i > 0) buf.push_back('\t');
        AppendCopyField(row[i], &buf);
      }
      buf.push_back('\n');
      if (buf.size() >= (1 << 20)) {
        sent = PQputCopyData(conn, buf.data(), static_cast<int>(buf.size())) == 1;
        buf.clear();
        if (!sent) break;
      }
    }
    if (sent && !buf.empty()) {
      sent = PQputCopyData(conn, buf.data(), static_cast<int>(buf.size())) == 1;
    }
    const bool ended = PQputCopyEnd(conn, sent ? nullptr : "tongban: sending failed") == 1;
    // The COPY's outcome, then the end of its results.
    std::string failure;
    for (PGresult* res = PQgetResult(conn); res != nullptr; res = PQgetResult(conn)) {
      if (PQresultStatus(res) != PGRES_COMMAND_OK && failure.empty()) {
        failure = PgResultError(res, conn, &sqlstate);
        if (failure.empty()) failure = "COPY failed";
      }
      PQclear(res);
    }
    if (!ended && failure.empty()) failure = PQerrorMessage(conn);
    sqlstate.resize(5, '\0');
    if (!failure.empty()) throw soci::postgresql_soci_error(failure, sqlstate.c_str());
    return;
  }
  std::string key = "store.bulk_insert." + std::string(table);
  for (const std::string& c : columns) key += "," + c;
  if (backend_ == Backend::kSqlite) {
    sq::sqlite3* conn = SqliteConnection(session);
    if (conn == nullptr) throw soci::soci_error("database: the connection is closed");
    auto& insert = KeptFor<KeptSqliteInsert>(session, key, [&](soci::session&) {
      std::string text = "INSERT INTO " + std::string(table) + " (";
      for (size_t i = 0; i < columns.size(); ++i) text += (i == 0 ? "" : ", ") + columns[i];
      text += ") VALUES (";
      for (size_t i = 0; i < columns.size(); ++i) text += i == 0 ? "?" : ", ?";
      text += ")";
      auto made = std::make_unique<KeptSqliteInsert>();
      const int rc = sq::sqlite3_prepare_v3(conn, text.c_str(), static_cast<int>(text.size()),
                                            SQLITE_PREPARE_PERSISTENT, &made->st, nullptr);
      if (rc != SQLITE_OK) ThrowSqlite(conn, rc);
      return made;
    });
    for (const std::vector<std::string>& row : rows) {
      for (size_t c = 0; c < columns.size(); ++c) {
        // SQLITE_STATIC: the row outlives the step below.
        sq::sqlite3_bind_text(insert.st, static_cast<int>(c + 1), row[c].data(),
                              static_cast<int>(row[c].size()), SQLITE_STATIC);
      }
      const int rc = sq::sqlite3_step(insert.st);
      if (rc != SQLITE_DONE) {
        sq::sqlite3_reset(insert.st);
        ThrowSqlite(conn, rc);
      }
      sq::sqlite3_reset(insert.st);
    }
    sq::sqlite3_clear_bindings(insert.st);
    return;
  }
  // In slices, so that a huge batch does not double its memory in vectors.
  constexpr size_t kSlice = 1000;
  auto fill = [&](KeptBulkInsert& insert, size_t start, size_t end) {
    for (size_t c = 0; c < columns.size(); ++c) {
      std::vector<std::string>& column = insert.columns[c];
      column.clear();
      for (size_t r = start; r < end; ++r) column.push_back(rows[r][c]);
    }
  };
  if (backend_ == Backend::kMySql) {
    // SOCI's MySQL backend binds a vector's values once: run again, a kept
    // statement inserted its first rows again (store_kept_test). A statement
    // per slice; MySQL compiles nothing ahead anyway (the text is sent per row).
    for (size_t start = 0; start < rows.size(); start += kSlice) {
      KeptBulkInsert insert(session, table, columns);
      fill(insert, start, std::min(rows.size(), start + kSlice));
      insert.st.execute(true);
    }
    return;
  }
  auto& insert = KeptFor<KeptBulkInsert>(session, key, [&](soci::session& s) {
    return std::make_unique<KeptBulkInsert>(s, table, columns);
  });
  for (size_t start = 0; start < rows.size(); start += kSlice) {
    fill(insert, start, std::min(rows.size(), start + kSlice));
    insert.st.execute(true);
  }
}

size_t SqlStore::KeptCount() { return kept_total_.load(std::memory_order_relaxed); }

Result<std::unique_ptr<SqlStore>> SqlStore::Open(std::string_view url, size_t pool_size) {
  if (pool_size == 0) return Error::InvalidArgument("database: pool_size must be at least 1");
  SqlDialect dialect;
  Backend backend;
  std::string connect;
  bool in_memory = false;
  if (url == "sqlite::memory:") {
    dialect = SqlDialect::kSqlite;
    backend = Backend::kSqlite;
    connect = ":memory:";
    in_memory = true;
    pool_size = 1;
  } else if (url.starts_with("sqlite://")) {
    dialect = SqlDialect::kSqlite;
    backend = Backend::kSqlite;
    std::string_view path = url.substr(9);
    if (path.empty()) return Error::InvalidArgument("database url: sqlite path is empty");
    if (path.find('"') != std::string_view::npos) {
      return Error::InvalidArgument("database url: sqlite path must not contain '\"'");
    }
    // SOCI's sqlite3 connect string is "key=value ..."; quoting keeps spaces and '='.
    connect = "db=\"" + std::string(path) + "\"";
  } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    dialect = SqlDialect::kPostgres;
    backend = Backend::kPostgres;
    auto conninfo = ConnectString(url.substr(url.find("://") + 3), dialect);
    if (!conninfo.ok()) return std::move(conninfo).error();
    connect = std::move(*conninfo);
  } else if (url.starts_with("mysql://") || url.starts_with("mariadb://")) {
    dialect = SqlDialect::kMySql;
    backend = Backend::kMySql;
    auto conninfo = ConnectString(url.substr(url.find("://") + 3), dialect);
    if (!conninfo.ok()) return std::move(conninfo).error();
    connect = std::move(*conninfo);
  } else if (url.starts_with("odbc://")) {
    backend = Backend::kOdbc;
    auto parsed = OdbcConnectString(url.substr(7));
    if (!parsed.ok()) return std::move(parsed).error();
    connect = std::move(parsed->first);
    dialect = parsed->second;
  } else {
    size_t scheme = url.find("://");
    std::string named = scheme == std::string_view::npos || scheme > 20
                            ? ""
                            : " " + std::string(url.substr(0, scheme));
    return Error::InvalidArgument("database url: unsupported backend" + named + " (" + kSupported +
                                  ")");
  }

  auto store = std::make_unique<SqlStore>(PrivateTag{}, dialect, backend, pool_size);
  store->in_memory_ = in_memory;
  for (size_t i = 0; i < pool_size; ++i) {
    soci::session& sql = store->pool_->at(i);
    try {
      switch (backend) {
        case Backend::kSqlite:
          RaiseSqliteStatementJournalSpill();
          sql.open(soci::sqlite3, connect);
          break;
        case Backend::kPostgres:
          sql.open(soci::postgresql, connect);
          break;
        case Backend::kMySql:
          sql.open(soci::mysql, connect);
          break;
        case Backend::kOdbc:
          sql.open(soci::odbc, connect);
          break;
      }
      Configure(sql, backend, dialect, in_memory);
    } catch (const soci::odbc_soci_error& e) {
      std::string state = reinterpret_cast<const char*>(e.odbc_error_code());
      std::string message = e.get_error_message();
      if (state.starts_with("IM") || message.find("[Driver Manager]") != std::string::npos) {
        // IM002: no such DSN and no default driver; IM003 (or unixODBC's
        // "Can't open lib"): the driver library is missing.
        return Error::Unavailable(
            "database: cannot open: the ODBC data source or its driver is not installed (" +
            OneLine(CleanMessage(e.get_error_message()).substr(10)) +
            "); check odbc.ini / odbcinst.ini, or use a DRIVER= string");
      }
      return Error::Unavailable("database: cannot open: " + OneLine(e.get_error_message()));
    } catch (const soci::soci_error& e) {
      return Error::Unavailable("database: cannot open: " + OneLine(e.get_error_message()));
    }
  }
  if (backend == Backend::kSqlite && !in_memory) {
    std::unique_ptr<WalCheckpointer> checkpointer;
    try {
      checkpointer = std::make_unique<WalCheckpointer>(std::string(url.substr(9)));
    } catch (const soci::soci_error& e) {
      return Error::Unavailable("database: cannot open: " + OneLine(e.get_error_message()));
    }
    // Replaces SQLite's automatic checkpoint on every session.
    for (soci::session* sql : store->sessions_) checkpointer->Attach(*sql);
    std::lock_guard lock(WalCheckpointer::registry_mu());
    WalCheckpointer::registry()[store.get()] = std::move(checkpointer);
  }
  return store;
}

WalCheckpoints WalCheckpointCounts(SqlStore& store) {
  WalCheckpointer* c = WalCheckpointer::Of(store);
  return c != nullptr ? c->counts() : WalCheckpoints{};
}

bool AwaitWalCheckpoints(SqlStore& store, int64_t background, std::chrono::milliseconds timeout) {
  WalCheckpointer* c = WalCheckpointer::Of(store);
  return c != nullptr ? c->Await(background, timeout) : background <= 0;
}

void SetWalCheckpointPages(SqlStore& store, int pages) {
  if (WalCheckpointer* c = WalCheckpointer::Of(store)) c->set_pages(pages);
}

int WalCheckpointPages(SqlStore& store) {
  WalCheckpointer* c = WalCheckpointer::Of(store);
  return c != nullptr ? c->pages() : 0;
}

namespace {
// When a lost connection was last seen (steady clock, ms), on any store of
// the process: a MySQL or ODBC session returned to the pool before it may be
// dead too (a database restart), so it is pinged before its next use even if
// it was busy a moment ago — background pollers keep sessions from ever
// idling the second that triggers the ping otherwise.
std::atomic<int64_t> g_connection_lost_at_ms{0};

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}
}  // namespace

SqlStore::Lease::Lease(SqlStore& store, size_t index)
    : store_(&store), index_(index), session_(&store.pool_->at(index)) {}

SqlStore::Lease::Lease(Lease&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      index_(other.index_),
      session_(std::exchange(other.session_, nullptr)) {}

SqlStore::Lease::~Lease() {
  if (store_ == nullptr) return;
  store_->returned_ms_[index_].store(SteadyMillis(), std::memory_order_relaxed);
  store_->pool_->give_back(index_);
}

SqlStore::Lease SqlStore::Acquire() {
  Lease lease(*this, pool_->lease());
  Revive(*lease, lease.index_);
  return lease;
}

Result<SqlStore::Lease> SqlStore::TryAcquire(std::chrono::milliseconds wait) {
  size_t pos = 0;
  int wait_ms = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 1'000'000'000));
  if (!pool_->try_lease(pos, wait_ms)) {
    return Error::Unavailable("database: no free connection in the pool");
  }
  Lease lease(*this, pos);
  Revive(*lease, pos);
  return lease;
}

void SqlStore::Revive(soci::session& sql, size_t index) {
  bool closed = sql.get_backend() == nullptr;  // an earlier Reopen failed
  if (!closed && (backend_ == Backend::kMySql || backend_ == Backend::kOdbc)) {
    constexpr int64_t kIdleBeforePingMs = 1000;
    const int64_t returned = returned_ms_[index].load(std::memory_order_relaxed);
    if (SteadyMillis() - returned <= kIdleBeforePingMs &&
        returned > g_connection_lost_at_ms.load(std::memory_order_relaxed)) {
      return;
    }
    if (sql.is_connected()) return;  // a ping (mysql_ping / a driver check)
  } else if (!closed && (backend_ != Backend::kPostgres || !PgConnectionLost(sql))) {
    return;
  }
  // Still down afterwards: the next statement fails with errc::kUnavailable,
  // which reports the outage better than anything we could say here.
  Reopen(sql);
}

Error SqlStore::ToError(const std::exception& e) {
  if (const auto* pg = dynamic_cast<const soci::postgresql_soci_error*>(&e)) {
    return PostgresError(PgSqlstate(*pg), pg->get_error_message());
  }
  if (const auto* lite = dynamic_cast<const soci::sqlite3_soci_error*>(&e)) {
    return SqliteError(lite->result(), lite->get_error_message());
  }
  if (const auto* my = dynamic_cast<const soci::mysql_soci_error*>(&e)) {
    return MySqlError(my->err_num_, my->get_error_message());
  }
  if (const auto* odbc = dynamic_cast<const soci::odbc_soci_error*>(&e)) {
    return OdbcError(reinterpret_cast<const char*>(odbc->odbc_error_code()),
                     odbc->get_error_message());
  }
  if (const auto* soci_error = dynamic_cast<const soci::soci_error*>(&e)) {
    std::string message = CleanMessage(soci_error->get_error_message());
    switch (soci_error->get_error_category()) {
      case soci::soci_error::connection_error:
      case soci::soci_error::system_error:
        return Error::Unavailable(std::move(message));
      case soci::soci_error::constraint_violation:
        return Error::Conflict(std::move(message));
      default:
        return Error::Internal(std::move(message));
    }
  }
  return Error::Internal(CleanMessage(e.what()));
}

bool SqlStore::ConnectionLost(const std::exception* e, soci::session& sql) {
  if (sql.get_backend() == nullptr) return true;
  if (backend_ == Backend::kPostgres) return PgConnectionLost(sql);
  if (e == nullptr) return false;
  if (const auto* my = dynamic_cast<const soci::mysql_soci_error*>(e)) {
    return MySqlConnectionLost(my->err_num_);
  }
  if (const auto* odbc = dynamic_cast<const soci::odbc_soci_error*>(e)) {
    const char* state = reinterpret_cast<const char*>(odbc->odbc_error_code());
    return (state[0] == '0' && state[1] == '8') ||
           (dialect_ == SqlDialect::kMySql &&
            MySqlConnectionLost(static_cast<unsigned int>(odbc->native_error_code())));
  }
  return false;
}

Error SqlStore::Fail(const std::exception& e, soci::session& sql) {
  Error error = ToError(e);
  if (ConnectionLost(&e, sql)) {
    // libpq gives a lost connection no SQLSTATE, and a MySQL or ODBC session
    // cannot tell later that it is dead: reconnect now (closed if the server
    // is still away; Revive tries again on the next lease).
    error.code = errc::kUnavailable;
    g_connection_lost_at_ms.store(SteadyMillis(), std::memory_order_relaxed);
    if (backend_ != Backend::kPostgres) Reopen(sql);
  }
  return error;
}

bool SqlStore::InTransaction(soci::session& sql) {
  switch (backend_) {
    case Backend::kSqlite: {
      sq::sqlite3* conn = SqliteConnection(sql);
      return conn != nullptr && sq::sqlite3_get_autocommit(conn) == 0;
    }
    case Backend::kPostgres: {
      PGconn* conn = PgConnection(sql);
      if (conn == nullptr) return false;
      PGTransactionStatusType st = PQtransactionStatus(conn);
      return st == PQTRANS_INTRANS || st == PQTRANS_INERROR || st == PQTRANS_ACTIVE;
    }
    case Backend::kMySql: {
      MYSQL* conn = MySqlConnection(sql);
      return conn != nullptr && (conn->server_status & SERVER_STATUS_IN_TRANS) != 0;
    }
    case Backend::kOdbc: {
      // SOCI turns autocommit off for begin() and back on at commit/rollback.
      SQLHDBC conn = OdbcConnection(sql);
      if (conn == SQL_NULL_HDBC) return false;
      SQLULEN autocommit = SQL_AUTOCOMMIT_ON;
      if (!SQL_SUCCEEDED(SQLGetConnectAttr(conn, SQL_ATTR_AUTOCOMMIT, &autocommit, 0, nullptr))) {
        return true;  // unknown: a rollback too many is harmless
      }
      return autocommit == SQL_AUTOCOMMIT_OFF;
    }
  }
  return false;
}

namespace {

bool TransactionAborted(soci::session& sql, SqlStore::Backend backend) {
  if (backend != SqlStore::Backend::kPostgres) return false;
  PGconn* conn = PgConnection(sql);
  return conn != nullptr && PQtransactionStatus(conn) == PQTRANS_INERROR;
}

void Begin(soci::session& sql, SqlDialect dialect) {
  if (dialect == SqlDialect::kSqlite) {
    sql << "BEGIN IMMEDIATE";
  } else {
    sql.begin();
  }
}

}  // namespace

void SqlStore::EndTransaction(soci::session& sql) {
  if (!InTransaction(sql)) return;
  try {
    sql.rollback();
  } catch (const soci::soci_error&) {
    // A session that cannot roll back cannot be trusted with the next lease.
    Reopen(sql);
  }
}

void SqlStore::Reopen(soci::session& sql) {
  if (in_memory_) return;
  // Kept statements belong to the connection being replaced (and refer to its
  // backend object, which reconnect destroys).
  for (size_t i = 0; i < sessions_.size(); ++i) {
    if (sessions_[i] == &sql) DropKeptAt(i);
  }
  try {
    sql.reconnect();
    Configure(sql, backend_, dialect_, /*in_memory=*/false);
    if (WalCheckpointer* checkpointer = WalCheckpointer::Of(*this)) checkpointer->Attach(sql);
  } catch (const soci::soci_error&) {
    // Left disconnected or unconfigured; the next user gets an error, not a
    // silently different session.
    try {
      sql.close();
    } catch (const soci::soci_error&) {
    }
  }
}

Status SqlStore::RunTransaction(const std::function<Status(soci::session&)>& body) {
  auto lease = TryAcquire();
  if (!lease.ok()) return std::move(lease).error();
  soci::session& sql = **lease;
  try {
    Begin(sql, dialect_);
  } catch (const std::exception& e) {
    // A connection that died while idle in the pool fails here, before any
    // work was done, so one reconnect and retry is safe.
    if (!ConnectionLost(&e, sql)) return Fail(e, sql);
    Reopen(sql);
    try {
      Begin(sql, dialect_);
    } catch (const std::exception& again) {
      return Fail(again, sql);
    }
  }
  Status result;
  bool threw = false;
  try {
    result = body(sql);
    if (result.ok() && TransactionAborted(sql, backend_)) {
      result = Error::Internal("database: transaction aborted by an earlier failed statement");
    }
    if (result.ok()) {
      sql.commit();
      return Status::Ok();
    }
  } catch (const std::exception& e) {
    result = Fail(e, sql);
    threw = true;
  } catch (...) {
    EndTransaction(sql);
    DropKept(sql);
    throw;
  }
  EndTransaction(sql);
  // After the rollback, so that PostgreSQL can DEALLOCATE them.
  if (threw) DropKept(sql);
  return result;
}

Status SqlStore::RunSession(const std::function<Status(soci::session&)>& body) {
  auto lease = TryAcquire();
  if (!lease.ok()) return std::move(lease).error();
  soci::session& sql = **lease;
  Status result;
  bool threw = false;
  try {
    result = body(sql);
  } catch (const std::exception& e) {
    result = Fail(e, sql);
    threw = true;
  } catch (...) {
    EndTransaction(sql);
    DropKept(sql);
    throw;
  }
  EndTransaction(sql);
  // After the rollback, so that PostgreSQL can DEALLOCATE them.
  if (threw) DropKept(sql);
  return result;
}

Status SqlStore::Ping() {
  auto ping_once = [this] {
    return WithSession([](soci::session& sql) -> Status {
      int one = 0;
      sql << "SELECT 1", soci::into(one);
      if (one != 1) return Error::Internal("database: ping returned an unexpected value");
      return Status::Ok();
    });
  };
  // After a database restart every pooled session that was idle through it is
  // dead, and each reports that once before it is reopened. The health check
  // asks about the database, not about one stale session, so it tries until a
  // session answers or every one of them (and a fresh one) has failed.
  Status status = ping_once();
  for (size_t i = 0; i < pool_size_ && !status.ok() &&
                     status.error().code == errc::kUnavailable;
       ++i) {
    status = ping_once();
  }
  return status;
}

Status SqlStore::Migrate(const std::vector<Migration>& migrations) {
  // Modules in first-appearance order, versions ascending within each.
  std::vector<std::string> module_order;
  std::map<std::string, std::vector<const Migration*>> by_module;
  for (const Migration& m : migrations) {
    if (m.module.empty()) return Error::InvalidArgument("migration: module name is empty");
    if (m.version < 1) {
      return Error::InvalidArgument("migration: " + m.module + " has a version below 1");
    }
    auto [it, inserted] = by_module.try_emplace(m.module);
    if (inserted) module_order.push_back(m.module);
    for (const Migration* other : it->second) {
      if (other->version == m.version) {
        return Error::InvalidArgument("migration: " + m.module + " v" + std::to_string(m.version) +
                                      " is listed twice");
      }
    }
    it->second.push_back(&m);
  }
  for (auto& [module, list] : by_module) {
    std::sort(list.begin(), list.end(),
              [](const Migration* a, const Migration* b) { return a->version < b->version; });
  }

  auto lease = TryAcquire();
  if (!lease.ok()) return std::move(lease).error();
  soci::session& sql = **lease;

  // Held for the whole run, so a second process waits and then finds
  // everything applied (CREATE TABLE IF NOT EXISTS itself races on PostgreSQL).
  bool locked = false;
  auto unlock = [&] {
    if (!locked) return;
    try {
      sql << sql_dialect::MigrationUnlock(dialect_);
    } catch (const soci::soci_error&) {
      Reopen(sql);  // the lock belongs to the connection; dropping it releases the lock
    }
  };

  auto run = [&]() -> Status {
    if (std::string lock = sql_dialect::MigrationLock(dialect_); !lock.empty()) {
      sql << lock;
      locked = true;
    }
    TB_RETURN_IF_ERROR(ExecuteScript(sql, backend_, sql_dialect::BootstrapSchema(dialect_)));

    std::set<std::pair<std::string, int>> applied;
    {
      std::string module;
      int version = 0;
      soci::statement st = (sql.prepare << "SELECT module, version FROM schema_migrations",
                            soci::into(module), soci::into(version));
      st.execute();
      while (st.fetch()) applied.emplace(module, version);
    }
    // A version of a module this binary knows but not the version: the database
    // was migrated by a newer tongban (a rollback, or a node not yet upgraded).
    // Said once per start; modules this binary does not open (a subsystem off)
    // are not its business.
    std::map<std::string, int> newest;
    for (const auto& [module, version] : applied) newest[module] = std::max(newest[module], version);
    for (const auto& [module, version] : newest) {
      auto known = by_module.find(module);
      if (known == by_module.end() || version <= known->second.back()->version) continue;
      spdlog::warn(
          "database schema {} is at v{}, newer than this tongban knows (v{}): it was migrated "
          "by a newer version; run that version (a rollback must restore the database too)",
          module, version, known->second.back()->version);
    }

    for (const std::string& module : module_order) {
      for (const Migration* m : by_module[module]) {
        if (applied.contains({m->module, m->version})) continue;
        Begin(sql, dialect_);
        // Re-checked under the write lock: another SQLite process may have
        // applied it since we read the table.
        int count = 0;
        sql << "SELECT COUNT(*) FROM schema_migrations WHERE module = :m AND version = :v",
            soci::use(m->module), soci::use(m->version), soci::into(count);
        if (count == 0) {
          const std::string* script = &m->sqlite;
          if (dialect_ == SqlDialect::kPostgres && !m->postgres.empty()) script = &m->postgres;
          if (dialect_ == SqlDialect::kMySql && !m->mysql.empty()) script = &m->mysql;
          Status st = ExecuteScript(sql, backend_, *script);
          if (!st.ok()) {
            EndTransaction(sql);
            Error error = std::move(st).error();
            error.message = "migration " + m->module + " v" + std::to_string(m->version) +
                            " failed: " + error.message;
            return error;
          }
          sql << std::string(
                     "INSERT INTO schema_migrations (module, version, applied_at) "
                     "VALUES (:m, :v, ") +
                     std::string(sql_dialect::NowMillis(dialect_)) + ")",
              soci::use(m->module), soci::use(m->version);
        }
        sql.commit();
      }
    }
    return Status::Ok();
  };

  Status result;
  try {
    result = run();
  } catch (const std::exception& e) {
    result = Fail(e, sql);
  }
  EndTransaction(sql);
  unlock();
  return result;
}

}  // namespace tongban
