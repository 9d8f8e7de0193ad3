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

namespace {

// Exports defuse formula-looking values (AppendCsvField); reading
// them back restores the values.
bool Restored(std::vector<std::string>* fields) {
  for (std::string& f : *fields) {
    std::string_view value = CsvFieldValue(f);
    if (value.size() != f.size()) f.erase(0, f.size() - value.size());
  }
  return true;
}

}  // namespace

Result<bool> CsvReader::Next(std::vector<std::string>* fields) {
  using Traits = std::streambuf::traits_type;
  fields->clear();
  if (first_) {
    first_ = false;
    // A UTF-8 byte-order mark, as spreadsheet programs write it.
    if (in_.sgetc() == 0xEF) {
      in_.sbumpc();
      if (in_.sbumpc() != 0xBB || in_.sbumpc() != 0xBF) {
        return Error::InvalidArgument("line 1: the file does not start with UTF-8 text");
      }
    }
  }
  if (Traits::eq_int_type(in_.sgetc(), Traits::eof())) return false;
  record_line_ = line_;
  auto error = [&](std::string what) {
    return Error::InvalidArgument("line " + std::to_string(line_) + ": " + what);
  };
  std::string field;
  bool quoted = false;      // inside a quoted field
  bool was_quoted = false;  // the current field was quoted (and closed)
  while (true) {
    int c = in_.sbumpc();
    if (Traits::eq_int_type(c, Traits::eof())) {
      if (quoted) return error("unterminated quoted field");
      fields->push_back(std::move(field));
      return Restored(fields);
    }
    char ch = static_cast<char>(c);
    if (quoted) {
      if (ch == '"') {
        if (in_.sgetc() == '"') {
          in_.sbumpc();
          field += '"';
        } else {
          quoted = false;
          was_quoted = true;
        }
      } else {
        if (ch == '\n') ++line_;
        field += ch;
      }
    } else if (ch == ',') {
      fields->push_back(std::move(field));
      field.clear();
      was_quoted = false;
    } else if (ch == '\r' || ch == '\n') {
      if (ch == '\r' && in_.sgetc() == '\n') in_.sbumpc();
      ++line_;
      fields->push_back(std::move(field));
      return Restored(fields);
    } else if (ch == '"' && field.empty() && !was_quoted) {
      quoted = true;
    } else if (was_quoted) {
      return error("text after a closing quote");
    } else {
      field += ch;
    }
    if (field.size() > kMaxFieldBytes) return error("a field is longer than 64 KiB");
    if (fields->size() >= kMaxFields) return error("more than 256 fields");
  }
}

void AppendCsvRecord(const std::vector<std::string_view>& fields, std::string* out) {
  bool first = true;
  for (std::string_view f : fields) {
    if (!first) *out += ',';
    first = false;
    AppendCsvField(f, *out);
  }
  *out += "\r\n";
}

}  // namespace tongban::codec
