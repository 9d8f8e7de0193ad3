#include "codec/csv.h"

namespace tongban::codec {
namespace {

bool IsFormulaStart(char c) {
  return c == '=' || c == '+' || c == '-' || c == '@' || c == '\t' || c == '\r';
}

// Apostrophes, then a formula character: what a spreadsheet would run, or
// what a neutralised export of it looks like.
bool NeedsApostrophe(std::string_view field) {
  size_t i = field.find_first_not_of('\'');
  return i != std::string_view::npos && IsFormulaStart(field[i]);
}

}  // namespace

void AppendCsvField(std::string_view field, std::string& out, bool always_quote) {
  const bool quote = always_quote || field.find_first_of(",\"\r\n") != std::string_view::npos;
  if (quote) out.push_back('"');
  if (NeedsApostrophe(field)) out.push_back('\'');
  for (char c : field) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  if (quote) out.push_back('"');
}

std::string_view CsvFieldValue(std::string_view field) {
  if (field.starts_with('\'') && NeedsApostrophe(field)) field.remove_prefix(1);
  return field;
}

}  // namespace tongban::codec
