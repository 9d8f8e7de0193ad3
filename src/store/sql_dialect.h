// SqlDialect: the SQL that differs between the databases tongban runs on
// (SQLite, PostgreSQL and its 信创 derivatives, MySQL/MariaDB and the MySQL-protocol
// 信创 databases), kept in this one place. Repositories write their SQL once,
// with the portable subset, and ask here for the few pieces that differ.
#pragma once

#include <soci/soci.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace tongban {

// The SQL a connection speaks. An ODBC connection names its dialect in its url.
enum class SqlDialect { kSqlite, kPostgres, kMySql };

namespace sql_dialect {

std::string_view Name(SqlDialect dialect);  // "sqlite", "postgresql", "mysql"

// Expands the type placeholders of a schema script written once for every dialect:
//   {ID}    64-bit auto-increment primary key whose values are never reused
//   {KEY}   text that is a key or is searched by prefix range, compared and
//           ordered by bytes (PostgreSQL COLLATE "C"; MySQL VARCHAR(255)
//           utf8mb4_bin, since MySQL indexes only bounded text)
//   {TEXT}  text that is never indexed (MySQL gets defaults in the parenthesised
//           form MySQL 8 requires for TEXT columns)
//   {END}   end of a CREATE TABLE: InnoDB with utf8mb4 on MySQL, nothing elsewhere
//   {WHERE cond}  a partial index's condition: MySQL has no partial indexes, so
//           there the index covers every row (use UniqueWhenNotEmpty for a
//           partial unique index, whose meaning would change)
std::string ExpandSchema(std::string_view script, SqlDialect dialect);

// A unique index on `column` that ignores empty values, as statements for a
// schema script. MySQL has no partial index: there a stored generated column
// (NULL when empty, and NULLs never collide) carries the unique index, and a
// plain index on `column` serves lookups by it.
std::string UniqueWhenNotEmpty(SqlDialect dialect, std::string_view index, std::string_view table,
                               std::string_view column);

// The current time in milliseconds since the epoch, as an SQL expression.
std::string_view NowMillis(SqlDialect dialect);

// Appended to a SELECT that reads rows it is about to update in the same
// transaction ("" on SQLite, whose BEGIN IMMEDIATE already holds the write lock).
std::string_view ForUpdate(SqlDialect dialect);

// True when INSERT ... RETURNING id works (SQLite 3.35+, PostgreSQL); on MySQL
// the id comes from LastInsertId on the same session instead.
bool HasReturning(SqlDialect dialect);
int64_t LastInsertId(soci::session& sql, SqlDialect dialect);

// Holds an exclusive lock on (`lock_class`, `key`) until the current
// transaction ends, so that transactions touching the same key run one after
// the other: PostgreSQL advisory locks, a row lock in tongban_locks on MySQL,
// nothing on SQLite (one writer at a time already).
void LockUntilCommit(soci::session& sql, SqlDialect dialect, int lock_class, std::string_view key);

// Statements that create the store's own bookkeeping tables if missing:
// schema_migrations, and on MySQL tongban_locks (see LockUntilCommit).
std::string BootstrapSchema(SqlDialect dialect);

// Session-level lock that serialises Migrate across processes ("" when the
// dialect needs none), and its release.
std::string MigrationLock(SqlDialect dialect);
std::string MigrationUnlock(SqlDialect dialect);

}  // namespace sql_dialect
}  // namespace tongban
