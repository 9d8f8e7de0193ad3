// Internal to directory/: RFC 4180 CSV as the directory's imports and exports
// use it (UTF-8, optional byte-order mark, quoted fields with embedded commas,
// quotes and line breaks, CRLF or LF).
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tongban::directory::internal {

class CsvReader {
 public:
  static constexpr size_t kMaxFieldBytes = 64 * 1024;
  static constexpr size_t kMaxFields = 256;

  explicit CsvReader(std::istream& in) : in_(*in.rdbuf()) {}

  // Reads the next record into `fields`; false at the end of input. A value
  // AppendCsvRecord defused with an apostrophe comes back without it.
  // InvalidArgument (naming the line) for an unterminated quote, text after a
  // closing quote, or a field or record over the limits.
  Result<bool> Next(std::vector<std::string>* fields);
  // The line on which the record last returned by Next started (1-based).
  int64_t record_line() const { return record_line_; }

 private:
  std::streambuf& in_;
  int64_t line_ = 1;
  int64_t record_line_ = 0;
  bool first_ = true;
};

// Appends one record and "\r\n". Fields holding ',', '"', CR or LF are
// quoted; formula-looking values are defused (codec::AppendCsvField), and
// CsvReader restores them.
void AppendCsvRecord(const std::vector<std::string_view>& fields, std::string* out);

}  // namespace tongban::directory::internal
