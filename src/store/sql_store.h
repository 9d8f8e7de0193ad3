// SqlStore: tongban's relational database (directory, outbox, audit, cases).
// A pool of SOCI sessions on SQLite (default, WAL) or PostgreSQL, plus
// versioned migrations that each module registers for itself. Domain
// repositories use it; protocol and HTTP code never do.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <soci/soci.h>

#include "core/result.h"

namespace tongban {

enum class SqlDialect { kSqlite, kPostgres };

// One schema step of one module. Applied once, in version order, inside a
// transaction; recorded in the table schema_migrations(module, version).
struct Migration {
  std::string module;   // e.g. "directory"
  int version;          // 1, 2, ... within the module
  std::string sqlite;   // statements for SQLite (';'-separated)
  std::string postgres; // statements for PostgreSQL; empty = same as sqlite
};

class SqlStore {
 public:
  // `url`: "sqlite:///abs/or/rel/path.db", "sqlite::memory:", or
  // "postgresql://user:pass@host:port/db" (also "postgres://").
  // `pool_size`: sessions kept open (SQLite in-memory always uses 1).
  static Result<std::unique_ptr<SqlStore>> Open(std::string_view url, size_t pool_size = 4);
  ~SqlStore();

  SqlDialect dialect() const { return dialect_; }

  // Applies every migration not yet recorded. Idempotent.
  Status Migrate(const std::vector<Migration>& migrations);

  // A session leased from the pool for the lifetime of the lease (RAII).
  class Lease {
   public:
    Lease(SqlStore& store, size_t index);
    Lease(Lease&& other) noexcept;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    soci::session& operator*() { return *session_; }
    soci::session* operator->() { return session_; }
   private:
    SqlStore* store_;
    size_t index_;
    soci::session* session_;
  };
  Lease Acquire();

 private:
  SqlStore(SqlDialect dialect, size_t pool_size);
  SqlDialect dialect_;
  std::unique_ptr<soci::connection_pool> pool_;
  size_t pool_size_;
  friend class Lease;
};

}  // namespace tongban
