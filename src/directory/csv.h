// The directory's imports read CSV with codec::CsvReader (codec/csv.h); these
// names stay for the directory's own files.
#pragma once

#include "codec/csv.h"

namespace tongban::directory::internal {

using codec::AppendCsvRecord;
using codec::CsvReader;

}  // namespace tongban::directory::internal
