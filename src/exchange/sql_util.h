// Small SOCI helpers shared by the exchange's stores: reading rows whatever integer width a
// backend reports, and INSERT … returning the new id on every dialect. Internal to exchange/.
#pragma once

#include <soci/soci.h>

#include <cstdint>
#include <string>
#include <utility>

#include "store/sql_dialect.h"

namespace tongban::exchange::sql_util {

// A column of a soci::row as a 64-bit integer (BIGINT, INTEGER, or a numeric text).
int64_t I64(const soci::row& row, const std::string& column);
// A column as text ("" for NULL); numbers are formatted.
std::string Text(const soci::row& row, const std::string& column);
std::string Text(const soci::row& row, std::size_t index);
bool IsNull(const soci::row& row, std::size_t index);

// Runs `INSERT …` with `uses` and returns the new row's id.
template <typename... U>
int64_t InsertReturningId(soci::session& sql, SqlDialect dialect, const std::string& text,
                          U&&... uses) {
  long long id = 0;
  if (sql_dialect::HasReturning(dialect)) {
    ((sql << text + " RETURNING id"), ..., std::forward<U>(uses)), soci::into(id);
  } else {
    ((sql << text), ..., std::forward<U>(uses));
    id = sql_dialect::LastInsertId(sql, dialect);
  }
  return id;
}

}  // namespace tongban::exchange::sql_util
