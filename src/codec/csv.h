// CSV fields (RFC 4180) for the exports an administrator opens in a
// spreadsheet — users, orgs, the audit log — and the imports that read them
// back. One place decides how a formula-looking value is defused.
#pragma once

#include <string>
#include <string_view>

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

}  // namespace tongban::codec
