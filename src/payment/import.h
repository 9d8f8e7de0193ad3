// Batch import of payment notices (scheme 1) from .xlsx and TXT files into
// rows for NoticeStore::CreateBatch, which stores all of them or none.
// Layout (docs/api/payment.md §Import): a header row naming the columns (the
// direct interface's names, e.g. ORIGINALNOTICENO, or their Chinese labels,
// in any order), then one item line per row; rows with the same
// ORIGINALNOTICENO are one notice, whose notice-level fields come from its
// first row (a later row that disagrees is an error). TXT: UTF-8 (a BOM is
// skipped), fields separated by TAB, or by '|' when the header has no TAB; no
// quoting; blank lines skipped; CRLF or LF. Used by the console API.
#pragma once

#include <string_view>
#include <vector>

#include "core/result.h"
#include "payment/notices.h"

namespace tongban::payment {

struct ImportParse {
  std::vector<BatchRow> rows;    // one per notice; line = its first row
  std::vector<RowError> errors;  // rows that could not be read, by line
};

// Errors (the whole file): InvalidArgument when it is not a workbook / not
// UTF-8, has no header or no ORIGINALNOTICENO / CHITCODE column, or more than
// 100000 data rows; TooLarge from the workbook reader.
Result<ImportParse> ParseImportXlsx(std::string_view bytes, std::string_view entercode);
Result<ImportParse> ParseImportTxt(std::string_view text, std::string_view entercode);

}  // namespace tongban::payment
