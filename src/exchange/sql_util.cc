// Reading soci::row columns portably across SQLite, PostgreSQL and MySQL.
#include "exchange/sql_util.h"

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace tongban::exchange::sql_util {

namespace {

std::string Format(const soci::row& row, std::size_t i) {
  if (row.get_indicator(i) == soci::i_null) return "";
  switch (row.get_properties(i).get_data_type()) {
    case soci::dt_string:
    case soci::dt_xml:
    case soci::dt_blob:
      return row.get<std::string>(i);
    case soci::dt_integer:
      return std::to_string(row.get<int>(i));
    case soci::dt_long_long:
      return std::to_string(row.get<long long>(i));
    case soci::dt_unsigned_long_long:
      return std::to_string(row.get<unsigned long long>(i));
    case soci::dt_double: {
      char buf[64];
      std::snprintf(buf, sizeof buf, "%.17g", row.get<double>(i));
      return buf;
    }
    case soci::dt_date: {
      std::tm tm = row.get<std::tm>(i);
      char buf[32];
      std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
      return buf;
    }
  }
  return "";
}

}  // namespace

int64_t I64(const soci::row& row, const std::string& column) {
  const soci::column_properties& p = row.get_properties(column);
  std::size_t i = 0;
  for (; i < row.size(); ++i) {
    if (&row.get_properties(i) == &p) break;
  }
  if (row.get_indicator(i) == soci::i_null) return 0;
  switch (p.get_data_type()) {
    case soci::dt_integer:
      return row.get<int>(i);
    case soci::dt_long_long:
      return row.get<long long>(i);
    case soci::dt_unsigned_long_long:
      return static_cast<int64_t>(row.get<unsigned long long>(i));
    case soci::dt_double:
      return static_cast<int64_t>(row.get<double>(i));
    default:
      return std::strtoll(Format(row, i).c_str(), nullptr, 10);
  }
}

std::string Text(const soci::row& row, const std::string& column) {
  const soci::column_properties& p = row.get_properties(column);
  for (std::size_t i = 0; i < row.size(); ++i) {
    if (&row.get_properties(i) == &p) return Format(row, i);
  }
  return "";
}

std::string Text(const soci::row& row, std::size_t index) { return Format(row, index); }

bool IsNull(const soci::row& row, std::size_t index) {
  return row.get_indicator(index) == soci::i_null;
}

}  // namespace tongban::exchange::sql_util
