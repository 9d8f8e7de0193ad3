// CSV (RFC 4180) for the exports an administrator opens in a spreadsheet —
// users, orgs, the audit log, matters, calendars — and the imports that read
// them back: UTF-8 with an optional byte-order mark, quoted fields with
// embedded commas, quotes and line breaks, CRLF or LF. One place decides how a
// formula-looking value is defused and restored.
#pragma once

#include <cstdint>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tongban::codec {

// Appends `field` to `out`, quoted when it holds ',', '"', CR or LF, or
// always when `always_quote`. A value a spreadsheet would run as a formula
// (first character = + - @, tab or CR) gets a leading apostrophe, which
// spreadsheets show as text and do not evaluate (CSV injection, OWASP). So
// that imports restore every value exactly, a value that already starts
// with apostrophes followed by such a character gets one more.
void AppendCsvField(std::string_view field, std::string& out, bool always_quote = false);

// The value AppendCsvField was given, from a field as a CSV reader returns
// it (quotes already removed): one leading apostrophe before a formula
// character is dropped.
std::string_view CsvFieldValue(std::string_view field);

// Appends one record and "\r\n", each field through AppendCsvField.
void AppendCsvRecord(const std::vector<std::string_view>& fields, std::string* out);

// Reads records one at a time from a stream, with bounded memory.
class CsvReader {
 public:
  static constexpr size_t kMaxFieldBytes = 64 * 1024;
  static constexpr size_t kMaxFields = 256;

  explicit CsvReader(std::istream& in) : in_(*in.rdbuf()) {}

  // Reads the next record into `fields`; false at the end of input. A value
  // AppendCsvField defused with an apostrophe comes back without it
  // (CsvFieldValue). InvalidArgument (naming the line) for an unterminated
  // quote, text after a closing quote, or a field or record over the limits.
  Result<bool> Next(std::vector<std::string>* fields);
  // The line on which the record last returned by Next started (1-based).
  int64_t record_line() const { return record_line_; }

 private:
  std::streambuf& in_;
  int64_t line_ = 1;
  int64_t record_line_ = 0;
  bool first_ = true;
};

}  // namespace tongban::codec
