#include "store/sql_dialect.h"

namespace tongban::sql_dialect {
namespace {

// utf8mb4 everywhere (4-byte characters such as 𠮷 included) and binary
// collation, so keys compare and sort by bytes as on SQLite and PostgreSQL "C".
constexpr std::string_view kMySqlKey = "VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin";
constexpr std::string_view kMySqlTableOptions =
    " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin";

// FNV-1a: stable across processes and builds, unlike std::hash, so every node
// derives the same lock row from the same key.
int64_t StableHash(std::string_view key) {
  uint64_t h = 14695981039346656037ULL;
  for (char c : key) {
    h ^= static_cast<unsigned char>(c);
    h *= 1099511628211ULL;
  }
  return static_cast<int64_t>(h);
}

// After a MySQL "TEXT", turns " NOT NULL DEFAULT 'x'" into "... DEFAULT ('x')":
// MySQL 8 accepts defaults on TEXT columns only as expressions (MariaDB takes both).
size_t AppendMySqlTextDefault(std::string& out, std::string_view script, size_t at) {
  constexpr std::string_view kDefault = " NOT NULL DEFAULT '";
  if (script.substr(at, kDefault.size()) != kDefault) return at;
  size_t close = script.find('\'', at + kDefault.size());
  if (close == std::string_view::npos) return at;
  out += " NOT NULL DEFAULT (";
  out += script.substr(at + kDefault.size() - 1, close - (at + kDefault.size()) + 2);
  out += ')';
  return close + 1;
}

}  // namespace

std::string_view Name(SqlDialect dialect) {
  switch (dialect) {
    case SqlDialect::kSqlite:
      return "sqlite";
    case SqlDialect::kPostgres:
      return "postgresql";
    case SqlDialect::kMySql:
      return "mysql";
  }
  return "sqlite";
}

std::string ExpandSchema(std::string_view script, SqlDialect dialect) {
  std::string out;
  out.reserve(script.size() + script.size() / 4);
  size_t i = 0;
  while (i < script.size()) {
    size_t open = script.find('{', i);
    if (open == std::string_view::npos) {
      out += script.substr(i);
      break;
    }
    out += script.substr(i, open - i);
    size_t close = script.find('}', open);
    if (close == std::string_view::npos) {
      out += script.substr(open);
      break;
    }
    std::string_view tag = script.substr(open + 1, close - open - 1);
    i = close + 1;
    if (tag == "ID") {
      out += dialect == SqlDialect::kSqlite     ? "INTEGER PRIMARY KEY AUTOINCREMENT"
             : dialect == SqlDialect::kPostgres ? "BIGSERIAL PRIMARY KEY"
                                                : "BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY";
    } else if (tag == "KEY") {
      out += dialect == SqlDialect::kSqlite     ? std::string_view("TEXT")
             : dialect == SqlDialect::kPostgres ? std::string_view("TEXT COLLATE \"C\"")
                                                : kMySqlKey;
    } else if (tag == "TEXT") {
      out += "TEXT";
      if (dialect == SqlDialect::kMySql) i = AppendMySqlTextDefault(out, script, i);
    } else if (tag == "END") {
      if (dialect == SqlDialect::kMySql) out += kMySqlTableOptions;
    } else if (tag.starts_with("WHERE ")) {
      if (dialect != SqlDialect::kMySql) {
        out += ' ';
        out += tag;
      }
    } else {
      out += script.substr(open, close + 1 - open);  // not ours: keep as written
    }
  }
  return out;
}

std::string UniqueWhenNotEmpty(SqlDialect dialect, std::string_view index, std::string_view table,
                               std::string_view column) {
  std::string idx(index), tbl(table), col(column);
  if (dialect != SqlDialect::kMySql) {
    return "CREATE UNIQUE INDEX " + idx + " ON " + tbl + " (" + col + ") WHERE " + col + " <> '';";
  }
  // Lookups name the column itself ("m = :m AND m <> ''"), and MariaDB does
  // not match that to the generated column's index: a plain index serves them.
  std::string generated = col + "_nonempty";
  return "ALTER TABLE " + tbl + " ADD COLUMN " + generated + " " + std::string(kMySqlKey) +
         " GENERATED ALWAYS AS (NULLIF(" + col + ", '')) STORED;" + "CREATE UNIQUE INDEX " + idx +
         " ON " + tbl + " (" + generated + ");" + "CREATE INDEX " + idx + "_lookup ON " + tbl +
         " (" + col + ");";
}

std::string_view NowMillis(SqlDialect dialect) {
  switch (dialect) {
    case SqlDialect::kSqlite:
      return "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)";
    case SqlDialect::kPostgres:
      return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)";
    case SqlDialect::kMySql:
      return "CAST(UNIX_TIMESTAMP(NOW(3)) * 1000 AS SIGNED)";
  }
  return "0";
}

std::string_view ForUpdate(SqlDialect dialect) {
  return dialect == SqlDialect::kSqlite ? "" : " FOR UPDATE";
}

bool HasReturning(SqlDialect dialect) { return dialect != SqlDialect::kMySql; }

int64_t LastInsertId(soci::session& sql, SqlDialect dialect) {
  long long id = 0;
  if (dialect == SqlDialect::kMySql) {
    sql << "SELECT LAST_INSERT_ID()", soci::into(id);
  } else if (dialect == SqlDialect::kSqlite) {
    sql << "SELECT last_insert_rowid()", soci::into(id);
  } else {
    sql << "SELECT lastval()", soci::into(id);
  }
  return id;
}

void LockUntilCommit(soci::session& sql, SqlDialect dialect, int lock_class, std::string_view key) {
  switch (dialect) {
    case SqlDialect::kSqlite:
      return;
    case SqlDialect::kPostgres: {
      std::string k(key);
      sql << "SELECT 1 FROM pg_advisory_xact_lock(:c, hashtext(:d))", soci::use(lock_class),
          soci::use(k);
      return;
    }
    case SqlDialect::kMySql: {
      // ON DUPLICATE KEY UPDATE takes the row's exclusive lock at once (INSERT
      // IGNORE would take a shared one, and two upgrading holders deadlock).
      long long hash = StableHash(key);
      sql << "INSERT INTO tongban_locks (lock_class, lock_key) VALUES (:c, :k) "
             "ON DUPLICATE KEY UPDATE lock_key = lock_key",
          soci::use(lock_class), soci::use(hash);
      return;
    }
  }
}

std::string BootstrapSchema(SqlDialect dialect) {
  std::string script =
      "CREATE TABLE IF NOT EXISTS schema_migrations ("
      "module {KEY} NOT NULL, version INTEGER NOT NULL, applied_at BIGINT NOT NULL, "
      "PRIMARY KEY (module, version)){END};";
  if (dialect == SqlDialect::kMySql) {
    script +=
        "CREATE TABLE IF NOT EXISTS tongban_locks (lock_class INTEGER NOT NULL, "
        "lock_key BIGINT NOT NULL, PRIMARY KEY (lock_class, lock_key)){END};";
  }
  return ExpandSchema(script, dialect);
}

std::string MigrationLock(SqlDialect dialect) {
  // "tongban" in ASCII as the PostgreSQL advisory lock key.
  switch (dialect) {
    case SqlDialect::kSqlite:
      return "";
    case SqlDialect::kPostgres:
      return "SELECT pg_advisory_lock(32773617270022510)";
    case SqlDialect::kMySql:
      return "SELECT GET_LOCK('tongban_migrate', 600)";
  }
  return "";
}

std::string MigrationUnlock(SqlDialect dialect) {
  switch (dialect) {
    case SqlDialect::kSqlite:
      return "";
    case SqlDialect::kPostgres:
      return "SELECT pg_advisory_unlock(32773617270022510)";
    case SqlDialect::kMySql:
      return "SELECT RELEASE_LOCK('tongban_migrate')";
  }
  return "";
}

}  // namespace tongban::sql_dialect
