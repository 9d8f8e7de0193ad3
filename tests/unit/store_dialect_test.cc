// sql_dialect: one schema text expands to each database's DDL, and the pieces
// that differ (partial unique indexes, ids, locks) come out per dialect.
#include <gtest/gtest.h>

#include <string>

#include "store/sql_dialect.h"
#include "store/sql_store.h"

namespace tongban {
namespace {

using sql_dialect::ExpandSchema;

constexpr const char* kScript =
    "CREATE TABLE t (id {ID}, k {KEY} NOT NULL, v {TEXT} NOT NULL DEFAULT 'x'){END};"
    "CREATE INDEX t_k ON t (k){WHERE v = 'x'};";

TEST(SqlDialectTest, SqliteGetsItsOwnTypesAndPartialIndexes) {
  EXPECT_EQ(
      ExpandSchema(kScript, SqlDialect::kSqlite),
      "CREATE TABLE t (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL, v TEXT NOT NULL "
      "DEFAULT 'x');CREATE INDEX t_k ON t (k) WHERE v = 'x';");
}

TEST(SqlDialectTest, PostgresKeysCompareByBytes) {
  EXPECT_EQ(ExpandSchema(kScript, SqlDialect::kPostgres),
            "CREATE TABLE t (id BIGSERIAL PRIMARY KEY, k TEXT COLLATE \"C\" NOT NULL, v TEXT NOT "
            "NULL DEFAULT 'x');CREATE INDEX t_k ON t (k) WHERE v = 'x';");
}

TEST(SqlDialectTest, MySqlGetsBoundedBinaryKeysUtf8mb4TablesAndNoPartialIndexes) {
  EXPECT_EQ(ExpandSchema(kScript, SqlDialect::kMySql),
            "CREATE TABLE t (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, k VARCHAR(255) "
            "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL, v TEXT NOT NULL DEFAULT ('x')) "
            "ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;"
            "CREATE INDEX t_k ON t (k);");
}

TEST(SqlDialectTest, BracesThatAreNotPlaceholdersAreKept) {
  EXPECT_EQ(ExpandSchema("SELECT '{x}'", SqlDialect::kMySql), "SELECT '{x}'");
}

TEST(SqlDialectTest, AUniqueWhenNotEmptyIndexIsPartialOrAGeneratedColumn) {
  EXPECT_EQ(sql_dialect::UniqueWhenNotEmpty(SqlDialect::kPostgres, "u_m", "u", "m"),
            "CREATE UNIQUE INDEX u_m ON u (m) WHERE m <> '';");
  std::string mysql = sql_dialect::UniqueWhenNotEmpty(SqlDialect::kMySql, "u_m", "u", "m");
  EXPECT_NE(mysql.find("GENERATED ALWAYS AS (NULLIF(m, '')) STORED"), std::string::npos) << mysql;
  EXPECT_NE(mysql.find("CREATE UNIQUE INDEX u_m ON u (m_nonempty)"), std::string::npos) << mysql;
}

TEST(SqlDialectTest, APortableMigrationCarriesEveryDialect) {
  Migration m = PortableMigration("t", 1, kScript);
  EXPECT_EQ(m.sqlite, ExpandSchema(kScript, SqlDialect::kSqlite));
  EXPECT_EQ(m.postgres, ExpandSchema(kScript, SqlDialect::kPostgres));
  EXPECT_EQ(m.mysql, ExpandSchema(kScript, SqlDialect::kMySql));
}

}  // namespace
}  // namespace tongban
