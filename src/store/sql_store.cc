// soci-sqlite3.h wraps <sqlite3.h> in namespace sqlite_api, so it must come
// before anything else that could include <sqlite3.h> at global scope.
#include "store/sql_store.h"

#include <soci/postgresql/soci-postgresql.h>
#include <soci/sqlite3/soci-sqlite3.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace tongban {
namespace {

namespace sq = sqlite_api;

// pg_advisory_lock key that serialises Migrate across processes ("tongban" in ASCII).
constexpr long long kMigrationLockKey = 0x746F6E6762616ELL;
constexpr size_t kMaxErrorMessage = 300;

// The first line of a driver message, without SOCI's "backend::function: "
// prefix or PostgreSQL's "ERROR:  " severity, bounded in length. First lines
// never carry bound values; PostgreSQL's DETAIL lines (e.g. "Key (x)=(v)") do.
std::string CleanMessage(std::string_view raw) {
  std::string_view m = raw.substr(0, raw.find('\n'));
  if (m.starts_with("sqlite3_") || m.starts_with("postgresql_")) {
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

// "user:pass@host:port/db?k=v&..." (the part after "postgresql://") to a
// libpq conninfo string. Errors never echo the url: it may hold a password.
Result<std::string> PostgresConninfo(std::string_view rest) {
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
    if (*key == "connect_timeout") has_timeout = true;
    if (*key == "options") has_options = true;
    AppendConninfo(conninfo, *key, *value);
  }
  if (!has_timeout) AppendConninfo(conninfo, "connect_timeout", "5");
  // NOTICEs ("relation already exists, skipping") would go to stderr via libpq.
  if (!has_options) AppendConninfo(conninfo, "options", "-c client_min_messages=warning");
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

void ConfigureSqlite(soci::session& sql, bool in_memory) {
  sql << "PRAGMA busy_timeout=5000";
  std::string mode;
  sql << "PRAGMA journal_mode=WAL", soci::into(mode);
  if (!in_memory && mode != "wal") {
    throw soci::soci_error("cannot enable WAL (journal_mode is " + mode + ")");
  }
  sql << "PRAGMA synchronous=NORMAL";
  sql << "PRAGMA foreign_keys=ON";
}

// Runs a whole migration script with the database's own multi-statement
// executor (sqlite3_exec / PQexec), so triggers and $$-bodies need no splitting.
Status ExecuteScript(soci::session& sql, SqlDialect dialect, const std::string& script) {
  if (dialect == SqlDialect::kSqlite) {
    sq::sqlite3* conn = SqliteConnection(sql);
    if (conn == nullptr) return Error::Unavailable("database: session is not connected");
    char* err = nullptr;
    int rc = sq::sqlite3_exec(conn, script.c_str(), nullptr, nullptr, &err);
    if (rc == SQLITE_OK) return Status::Ok();
    std::string message = err != nullptr ? err : sq::sqlite3_errstr(rc);
    sq::sqlite3_free(err);
    return SqliteError(rc, message);
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

const char* NowMillisSql(SqlDialect dialect) {
  return dialect == SqlDialect::kSqlite
             ? "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
             : "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";
}

}  // namespace

SqlStore::SqlStore(PrivateTag, SqlDialect dialect, size_t pool_size)
    : dialect_(dialect),
      pool_(std::make_unique<soci::connection_pool>(pool_size)),
      pool_size_(pool_size) {}

SqlStore::~SqlStore() = default;

Result<std::unique_ptr<SqlStore>> SqlStore::Open(std::string_view url, size_t pool_size) {
  if (pool_size == 0) return Error::InvalidArgument("database: pool_size must be at least 1");
  SqlDialect dialect;
  std::string connect;
  bool in_memory = false;
  if (url == "sqlite::memory:") {
    dialect = SqlDialect::kSqlite;
    connect = ":memory:";
    in_memory = true;
    pool_size = 1;
  } else if (url.starts_with("sqlite://")) {
    dialect = SqlDialect::kSqlite;
    std::string_view path = url.substr(9);
    if (path.empty()) return Error::InvalidArgument("database url: sqlite path is empty");
    if (path.find('"') != std::string_view::npos) {
      return Error::InvalidArgument("database url: sqlite path must not contain '\"'");
    }
    // SOCI's sqlite3 connect string is "key=value ..."; quoting keeps spaces and '='.
    connect = "db=\"" + std::string(path) + "\"";
  } else if (url.starts_with("postgresql://") || url.starts_with("postgres://")) {
    dialect = SqlDialect::kPostgres;
    auto conninfo = PostgresConninfo(url.substr(url.find("://") + 3));
    if (!conninfo.ok()) return std::move(conninfo).error();
    connect = std::move(*conninfo);
  } else {
    return Error::InvalidArgument(
        "database url: expected sqlite:///path, sqlite::memory: or postgresql://...");
  }

  auto store = std::make_unique<SqlStore>(PrivateTag{}, dialect, pool_size);
  store->in_memory_ = in_memory;
  for (size_t i = 0; i < pool_size; ++i) {
    soci::session& sql = store->pool_->at(i);
    try {
      if (dialect == SqlDialect::kSqlite) {
        sql.open(soci::sqlite3, connect);
        ConfigureSqlite(sql, in_memory);
      } else {
        sql.open(soci::postgresql, connect);
      }
    } catch (const soci::soci_error& e) {
      return Error::Unavailable("database: cannot open: " + OneLine(e.get_error_message()));
    }
  }
  return store;
}

SqlStore::Lease::Lease(SqlStore& store, size_t index)
    : store_(&store), index_(index), session_(&store.pool_->at(index)) {}

SqlStore::Lease::Lease(Lease&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      index_(other.index_),
      session_(std::exchange(other.session_, nullptr)) {}

SqlStore::Lease::~Lease() {
  if (store_ != nullptr) store_->pool_->give_back(index_);
}

SqlStore::Lease SqlStore::Acquire() {
  Lease lease(*this, pool_->lease());
  Revive(*lease);
  return lease;
}

Result<SqlStore::Lease> SqlStore::TryAcquire(std::chrono::milliseconds wait) {
  size_t pos = 0;
  int wait_ms = static_cast<int>(std::clamp<int64_t>(wait.count(), 0, 1'000'000'000));
  if (!pool_->try_lease(pos, wait_ms)) {
    return Error::Unavailable("database: no free connection in the pool");
  }
  Lease lease(*this, pos);
  Revive(*lease);
  return lease;
}

void SqlStore::Revive(soci::session& sql) {
  bool closed = sql.get_backend() == nullptr;  // an earlier Reopen failed
  if (!closed && (dialect_ != SqlDialect::kPostgres || !PgConnectionLost(sql))) return;
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

namespace {

// ToError, except that any failure on a closed session, or on a PostgreSQL
// session whose connection is gone, is an outage (libpq gives those no SQLSTATE).
Error Classify(const std::exception& e, soci::session& sql, SqlDialect dialect) {
  Error error = SqlStore::ToError(e);
  if (sql.get_backend() == nullptr || (dialect == SqlDialect::kPostgres && PgConnectionLost(sql))) {
    error.code = errc::kUnavailable;
  }
  return error;
}

bool InTransaction(soci::session& sql, SqlDialect dialect) {
  if (dialect == SqlDialect::kSqlite) {
    sq::sqlite3* conn = SqliteConnection(sql);
    return conn != nullptr && sq::sqlite3_get_autocommit(conn) == 0;
  }
  PGconn* conn = PgConnection(sql);
  if (conn == nullptr) return false;
  PGTransactionStatusType st = PQtransactionStatus(conn);
  return st == PQTRANS_INTRANS || st == PQTRANS_INERROR || st == PQTRANS_ACTIVE;
}

bool TransactionAborted(soci::session& sql, SqlDialect dialect) {
  if (dialect != SqlDialect::kPostgres) return false;
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
  if (!InTransaction(sql, dialect_)) return;
  try {
    sql.rollback();
  } catch (const soci::soci_error&) {
    // A session that cannot roll back cannot be trusted with the next lease.
    Reopen(sql);
  }
}

void SqlStore::Reopen(soci::session& sql) {
  if (in_memory_) return;
  try {
    sql.reconnect();
    if (dialect_ == SqlDialect::kSqlite) ConfigureSqlite(sql, /*in_memory=*/false);
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
    if (dialect_ != SqlDialect::kPostgres || !PgConnectionLost(sql))
      return Classify(e, sql, dialect_);
    Revive(sql);
    try {
      Begin(sql, dialect_);
    } catch (const std::exception& again) {
      return Classify(again, sql, dialect_);
    }
  }
  Status result;
  try {
    result = body(sql);
    if (result.ok() && TransactionAborted(sql, dialect_)) {
      result = Error::Internal("database: transaction aborted by an earlier failed statement");
    }
    if (result.ok()) {
      sql.commit();
      return Status::Ok();
    }
  } catch (const std::exception& e) {
    result = Classify(e, sql, dialect_);
  } catch (...) {
    EndTransaction(sql);
    throw;
  }
  EndTransaction(sql);
  return result;
}

Status SqlStore::RunSession(const std::function<Status(soci::session&)>& body) {
  auto lease = TryAcquire();
  if (!lease.ok()) return std::move(lease).error();
  soci::session& sql = **lease;
  Status result;
  try {
    result = body(sql);
  } catch (const std::exception& e) {
    result = Classify(e, sql, dialect_);
  } catch (...) {
    EndTransaction(sql);
    throw;
  }
  EndTransaction(sql);
  return result;
}

Status SqlStore::Ping() {
  return WithSession([](soci::session& sql) -> Status {
    int one = 0;
    sql << "SELECT 1", soci::into(one);
    if (one != 1) return Error::Internal("database: ping returned an unexpected value");
    return Status::Ok();
  });
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
      sql << "SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")";
    } catch (const soci::soci_error&) {
      Reopen(sql);  // the lock belongs to the connection; dropping it releases the lock
    }
  };

  auto run = [&]() -> Status {
    if (dialect_ == SqlDialect::kPostgres) {
      sql << "SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")";
      locked = true;
    }
    sql << "CREATE TABLE IF NOT EXISTS schema_migrations ("
           "module TEXT NOT NULL, version INTEGER NOT NULL, applied_at BIGINT NOT NULL, "
           "PRIMARY KEY (module, version))";

    std::set<std::pair<std::string, int>> applied;
    {
      soci::rowset<soci::row> rows =
          (sql.prepare << "SELECT module, version FROM schema_migrations");
      for (const soci::row& r : rows) {
        applied.emplace(r.get<std::string>(0), r.get<int>(1));
      }
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
          const std::string& script =
              dialect_ == SqlDialect::kPostgres && !m->postgres.empty() ? m->postgres : m->sqlite;
          Status st = ExecuteScript(sql, dialect_, script);
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
                     NowMillisSql(dialect_) + ")",
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
    result = Classify(e, sql, dialect_);
  }
  EndTransaction(sql);
  unlock();
  return result;
}

}  // namespace tongban
