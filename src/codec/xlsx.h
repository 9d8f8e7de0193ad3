// .xlsx workbooks (Office Open XML spreadsheets) with text and number cells: the Excel
// exports of the approval statistics and matter catalogue, and the imports that read back what
// Excel or WPS saved. Input is untrusted: the zip container and its XML are bounded and every
// failure is an Error value.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tongban::codec {

// One cell. Formulas are never written; when reading, a formula cell gives its cached value.
struct Cell {
  enum class Type { kEmpty, kText, kNumber, kBoolean };
  Type type = Type::kEmpty;
  std::string text;   // kText
  double number = 0;  // kNumber; kBoolean: 1 or 0

  static Cell Text(std::string s) { return {Type::kText, std::move(s), 0}; }
  static Cell Number(double d) { return {Type::kNumber, {}, d}; }
  static Cell Boolean(bool b) { return {Type::kBoolean, {}, b ? 1.0 : 0.0}; }
  bool empty() const { return type == Type::kEmpty; }
  bool operator==(const Cell&) const = default;
};

struct Sheet {
  std::string name;  // 1..31 characters, none of []:*?/\ ; unique (case-insensitively)
  std::vector<std::vector<Cell>> rows;  // rows[0][0] is A1; short rows and empty cells are gaps
};

// The bytes of an .xlsx file holding `sheets` in order. Text is written as inline strings:
// characters XML 1.0 cannot carry (C0 controls other than TAB/LF/CR, U+FFFE/U+FFFF, ill-formed
// UTF-8) are dropped; a text that starts with = + - or @ is a string cell with Excel's
// quotePrefix style, so neither opening nor editing it runs it as a formula.
// Errors (kInvalidArgument): no sheet, a bad or repeated sheet name, a non-finite number, a
// text longer than Excel's 32767 characters, more than 1048576 rows or 16384 columns.
Result<std::string> WriteXlsx(const std::vector<Sheet>& sheets);

struct XlsxLimits {
  std::size_t max_uncompressed_bytes = 64 << 20;  // all parts read, inflated -> kTooLarge
  std::size_t max_entries = 4096;                 // zip entries -> kTooLarge
  double max_ratio = 200;  // inflated/compressed of a part over 1 MiB -> kTooLarge (zip bomb)
  std::size_t max_cells = 4'000'000;  // cells of all sheets, gaps counted -> kTooLarge
  // What the bytes above become in memory, which they alone do not bound: the text of every
  // cell (a shared string counted at each cell that uses it, so one long string referenced by
  // thousands of cells cannot multiply) -> kTooLarge; and the XML nodes and attributes of all
  // parts parsed (each ~40-64 bytes, counted from the markup before a part is parsed, so a
  // part of tiny elements cannot make a DOM many times its size) -> kTooLarge.
  std::size_t max_text_bytes = 64 << 20;
  std::size_t max_xml_nodes = 8'000'000;
  // A value in a column at or past this one (counted from 0) -> kInvalidArgument naming
  // the cell. A row is held padded up to its last value, so one value far to the right
  // costs every cell before it (review16a: 240 rows of one cell in column XFD, 2.7 KB,
  // made ~300 MB); a caller that knows its columns sets it near their number.
  std::size_t max_columns = 16'384;
  // Read only the first worksheet (an import that uses no other): the others neither
  // spend the budgets above nor are parsed.
  bool first_sheet_only = false;
};

// The sheets of an .xlsx file, in workbook order. Reads shared strings (what Excel and WPS
// save) and inline strings, rich-text runs (concatenated, phonetic runs skipped), _xHHHH_
// escapes, numbers, booleans, the cached value of formula cells, error cells (as their text,
// e.g. "#N/A") and cell references with gaps (A1 then C1 leaves B1 empty); rows are not padded
// at the end. Styles, merged cells and dates' formats are ignored (a date reads as its serial
// number). Errors: kInvalidArgument for anything that is not a readable workbook (not a zip,
// truncated, encrypted, missing parts, malformed XML, a DOCTYPE, bad cell references) with a
// message naming the part; kTooLarge for the limits.
Result<std::vector<Sheet>> ReadXlsx(std::string_view bytes, const XlsxLimits& limits = {});

// "A" for 0, "Z" for 25, "AA" for 26 …; and "B3" for (row 2, column 1).
std::string ColumnName(std::size_t column);
std::string CellReference(std::size_t row, std::size_t column);

}  // namespace tongban::codec
