// SqlStore: tongban's relational database (directory, outbox, audit, cases).
// A pool of SOCI sessions on SQLite (default, WAL), PostgreSQL, MySQL/MariaDB
// or any ODBC data source that speaks one of those dialects, plus
// versioned migrations that each module registers for itself. Domain
// repositories use it; protocol and HTTP code never do.
//
// Thread-safe: any thread may call any method. A leased session belongs to one
// thread until the lease ends. SOCI exceptions never leave WithTransaction /
// WithSession: they become Errors whose messages never contain bound values.
//
// Typical use in a repository:
//
//   Result<int64_t> UserRepository::Create(const User& u) {
//     return store_.WithTransaction([&](soci::session& sql) -> Result<int64_t> {
//       int64_t id = 0;
//       sql << "INSERT INTO users(login, name) VALUES(:l, :n) RETURNING id",
//           soci::use(u.login), soci::use(u.name), soci::into(id);
//       TB_RETURN_IF_ERROR(outbox_.Enqueue(sql, "app-1", "user.created", json, now_ms));
//       return id;  // commits; an Error or a thrown soci_error rolls back
//     });
//   }
//
// A duplicate login comes back as Error{errc::kConflict, "database: UNIQUE constraint
// failed: users.login"}; a lost database as errc::kUnavailable.
#pragma once

#include <soci/soci.h>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/result.h"
#include "store/sql_dialect.h"

namespace tongban {

// One schema step of one module. Applied once, in version order, inside a
// transaction; recorded in the table schema_migrations(module, version).
// A script may hold several statements (triggers and $$-quoted bodies included):
// it runs through the database's own multi-statement executor.
struct Migration {
  std::string module;      // e.g. "directory"
  int version;             // 1, 2, ... within the module
  std::string sqlite;      // statements for SQLite (';'-separated)
  std::string postgres;    // statements for PostgreSQL; empty = same as sqlite
  std::string mysql = "";  // statements for MySQL; empty = same as sqlite
};

// A migration written once with sql_dialect::ExpandSchema's placeholders.
Migration PortableMigration(std::string module, int version, std::string_view script);

class SqlStore {
  struct PrivateTag {
    explicit PrivateTag() = default;
  };

 public:
  // How long WithTransaction / WithSession / TryAcquire wait for a free pooled
  // session before failing with errc::kUnavailable. Bounded so that an
  // exhausted pool (or an accidental nested transaction) fails instead of hanging.
  static constexpr std::chrono::milliseconds kLeaseTimeout{10'000};

  // `url`: "sqlite:///abs/path.db", "sqlite://rel/path.db", "sqlite::memory:",
  // or "postgresql://user:pass@host:port/db?sslmode=require" (also "postgres://";
  // every part optional, %-escapes decoded, query parameters passed to libpq;
  // connect_timeout defaults to 5 s),
  // or "mysql://user:pass@host:port/db?unix_socket=/path" (also "mariadb://"; the
  // same rules; charset is always utf8mb4; host "localhost" means the default
  // Unix socket, as for every MySQL client),
  // or "odbc://DSN=name;UID=u;PWD=p;dialect=mysql" (any ODBC connection string;
  // dialect=mysql or dialect=postgresql names the SQL the data source speaks,
  // and is required). MySQL sessions run READ COMMITTED in strict mode, as
  // PostgreSQL does by default.
  // `pool_size`: sessions kept open (SQLite in-memory always uses 1, since each
  // connection to ":memory:" would be a separate database).
  // SQLite sessions get journal_mode=WAL, synchronous=NORMAL, foreign_keys=ON,
  // busy_timeout=5000. WAL+NORMAL hands every committed transaction to the
  // kernel before COMMIT returns, so a kill -9 of tongban loses nothing that
  // was committed; only an OS crash or power loss can drop the last
  // transactions (never corrupting the file).
  // Errors: errc::kInvalidArgument for a malformed url or an unsupported
  // backend (the message lists the supported ones), errc::kUnavailable when the
  // database cannot be opened (a missing ODBC driver included).
  static Result<std::unique_ptr<SqlStore>> Open(std::string_view url, size_t pool_size = 4);
  // How the sessions talk to the database (the dialect is what they speak).
  enum class Backend { kSqlite, kPostgres, kMySql, kOdbc };

  // Public for make_unique, but only Open can name PrivateTag.
  SqlStore(PrivateTag, SqlDialect dialect, Backend backend, size_t pool_size);
  ~SqlStore();
  SqlStore(const SqlStore&) = delete;
  SqlStore& operator=(const SqlStore&) = delete;

  SqlDialect dialect() const { return dialect_; }
  Backend backend() const { return backend_; }

  // Applies every migration not yet recorded: modules in the order they first
  // appear in `migrations`, versions ascending within a module, each in its
  // own transaction together with its schema_migrations row. Idempotent, and
  // safe when several processes migrate the same database at once (PostgreSQL
  // serialises them with pg_advisory_lock, MySQL with GET_LOCK, SQLite with
  // BEGIN IMMEDIATE). MySQL commits each DDL statement at once, so there a
  // failed migration can leave the statements before the failing one applied
  // (the migration itself stays unrecorded).
  // Errors: errc::kInvalidArgument for a duplicate (module, version) or a
  // version < 1; otherwise the failing migration's error, with the migrations
  // before it kept.
  Status Migrate(const std::vector<Migration>& migrations);

  // Runs `fn(session)` inside one transaction on a leased session and returns
  // what `fn` returns (Status or Result<T>). Commits when `fn` succeeds; rolls
  // back when it returns an Error or throws (a thrown exception becomes an
  // Error via ToError). On SQLite the transaction is BEGIN IMMEDIATE, so
  // writers queue on busy_timeout instead of failing on a lock upgrade.
  // Never nest: pass the session down instead of calling WithTransaction again.
  template <typename F>
  auto WithTransaction(F&& fn) -> std::invoke_result_t<F&, soci::session&>;

  // Like WithTransaction without BEGIN/COMMIT: each statement autocommits.
  // For single reads and for reads that need no consistent snapshot.
  template <typename F>
  auto WithSession(F&& fn) -> std::invoke_result_t<F&, soci::session&>;

  // Round trip to the database, for health checks.
  Status Ping();

  // ---- statements kept per session ----
  // What a pooled session keeps between leases: a prepared statement together
  // with the variables it is bound to (SOCI binds by address, so they live as
  // long as the statement). Derive from it; the store owns it.
  class Kept {
   public:
    virtual ~Kept() = default;
  };
  // The object kept under `key` on this pooled session, made by `make(session)`
  // (returning std::unique_ptr<T>) on its first use there and handed to every
  // later lease of the same session. So PostgreSQL parses and plans a
  // statement once per connection instead of PREPARE + EXECUTE + DEALLOCATE
  // on every call, and SQLite and ODBC compile it once.
  //   `session`: the one WithSession / WithTransaction passed (leased from
  //   this store; another session throws soci::soci_error, which those
  //   convert into an Error). Keys name the statement ("directory.user_by_id").
  // Kept objects are dropped when their session reconnects and after any
  // statement on it threw (the statement's state is then unknown): they are
  // made afresh on next use. A kept SELECT must be read to its end (fetch()
  // until false) before the lease ends, so that on SQLite it holds no read
  // snapshot open past the lease.
  template <typename T, typename Make>
  T& KeptFor(soci::session& session, std::string_view key, Make&& make) {
    static_assert(std::is_base_of_v<Kept, T>, "kept objects derive from SqlStore::Kept");
    if (Kept* found = FindKept(session, key)) return static_cast<T&>(*found);
    std::unique_ptr<T> made = make(session);
    return static_cast<T&>(AddKept(session, key, std::move(made)));
  }
  // Appends `rows` (each one value per column, as text; integers in decimal)
  // to `table` inside the caller's transaction, as fast as the backend
  // allows: PostgreSQL COPY FROM STDIN (one round trip for the lot), the
  // others one kept single-row INSERT run per row (SQLite steps it natively,
  // with no statement compiled per row). Constraints apply as for INSERT; a
  // violation throws (the transaction is then lost: roll back). Values must
  // not contain NUL.
  void BulkInsert(soci::session& session, std::string_view table,
                  const std::vector<std::string>& columns,
                  const std::vector<std::vector<std::string>>& rows);

  // Drops what `session` keeps (all keys): after a caller caught an exception
  // from a kept statement itself instead of letting it reach the store.
  void DropKept(soci::session& session);
  // How many objects the sessions keep in all (tests, metrics).
  size_t KeptCount();

  // Converts an exception thrown by SOCI (or by a type conversion inside it)
  // into an Error with a "database: " message and no bound values:
  //   connection lost, server shutting down, SQLite busy/locked/full/IO error,
  //   PostgreSQL serialization failure or deadlock,
  //   MySQL deadlock or lock wait timeout               -> errc::kUnavailable
  //   unique / foreign-key / check / not-null violation -> errc::kConflict
  //   anything else                                    -> errc::kInternal
  static Error ToError(const std::exception& e);

  // A session leased from the pool for the lifetime of the lease (RAII).
  // Prefer WithTransaction / WithSession, which also convert exceptions.
  class Lease {
   public:
    Lease(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    soci::session& operator*() { return *session_; }
    soci::session* operator->() { return session_; }

   private:
    friend class SqlStore;
    Lease(SqlStore& store, size_t index);
    SqlStore* store_;
    size_t index_;
    soci::session* session_;
  };
  // Blocks until a session is free.
  Lease Acquire();
  // Errors: errc::kUnavailable when no session frees up within `wait`.
  Result<Lease> TryAcquire(std::chrono::milliseconds wait = kLeaseTimeout);

 private:
  Status RunTransaction(const std::function<Status(soci::session&)>& body);
  Status RunSession(const std::function<Status(soci::session&)>& body);
  // Re-opens a pooled session whose connection dropped (or was closed after a
  // failure). PostgreSQL sessions are checked locally (PQstatus); MySQL and
  // ODBC ones cannot be, so one idle for over a second is pinged first: a
  // database restart then costs no failed call, and a busy session no round trip.
  void Revive(soci::session& session, size_t index);
  // ToError, plus: a failure that lost the connection is errc::kUnavailable,
  // and the session is reopened (or closed) so that the next lease works.
  Error Fail(const std::exception& e, soci::session& session);
  bool ConnectionLost(const std::exception* e, soci::session& session);
  bool InTransaction(soci::session& session);
  // Leaves the session with no open transaction, so the next lease starts clean.
  void EndTransaction(soci::session& session);
  // Reconnects a session that cannot be trusted, restoring its settings.
  void Reopen(soci::session& session);

  template <typename F, typename Runner>
  static auto Invoke(F& fn, Runner&& run) -> std::invoke_result_t<F&, soci::session&>;

  // The pool position of a session of this store; throws soci::soci_error otherwise.
  size_t IndexOf(const soci::session& session) const;
  Kept* FindKept(soci::session& session, std::string_view key);
  Kept& AddKept(soci::session& session, std::string_view key, std::unique_ptr<Kept> kept);
  void DropKeptAt(size_t index);

  SqlDialect dialect_;
  Backend backend_;
  bool in_memory_ = false;  // sqlite::memory: must never be reopened (it would be empty)
  std::unique_ptr<soci::connection_pool> pool_;
  size_t pool_size_;
  // Per pooled session: when its last lease ended (steady clock, ms).
  std::unique_ptr<std::atomic<int64_t>[]> returned_ms_;
  // Per pooled session: its kept statements. Only the session's leaseholder
  // touches its map (KeptCount excepted, under kept_count_mu_), so no lock.
  struct KeyHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using KeptMap =
      std::unordered_map<std::string, std::unique_ptr<Kept>, KeyHash, std::equal_to<>>;
  std::vector<soci::session*> sessions_;  // pool order, fixed at construction
  std::unique_ptr<KeptMap[]> kept_;       // declared after pool_: destroyed before it
  std::atomic<size_t> kept_total_{0};
  friend class Lease;
};

namespace store_internal {
template <typename T>
struct IsResult : std::false_type {};
template <typename T>
struct IsResult<Result<T>> : std::true_type {};
}  // namespace store_internal

template <typename F, typename Runner>
auto SqlStore::Invoke(F& fn, Runner&& run) -> std::invoke_result_t<F&, soci::session&> {
  using R = std::invoke_result_t<F&, soci::session&>;
  static_assert(std::is_same_v<R, Status> || store_internal::IsResult<R>::value,
                "the function must return tongban::Status or tongban::Result<T>");
  if constexpr (std::is_same_v<R, Status>) {
    return run([&](soci::session& sql) { return fn(sql); });
  } else {
    std::optional<R> out;
    Status status = run([&](soci::session& sql) -> Status {
      out.emplace(fn(sql));
      if (!out->ok()) return out->error();
      return Status::Ok();
    });
    if (!status.ok()) return std::move(status).error();
    return std::move(*out);
  }
}

template <typename F>
auto SqlStore::WithTransaction(F&& fn) -> std::invoke_result_t<F&, soci::session&> {
  return Invoke(fn, [this](const std::function<Status(soci::session&)>& body) {
    return RunTransaction(body);
  });
}

template <typename F>
auto SqlStore::WithSession(F&& fn) -> std::invoke_result_t<F&, soci::session&> {
  return Invoke(
      fn, [this](const std::function<Status(soci::session&)>& body) { return RunSession(body); });
}

}  // namespace tongban
