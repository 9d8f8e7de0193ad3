// libFuzzer target for approval::ParseStageRecords, the intake of stage records that
// department systems report (XML or JSON). Beyond not crashing: a refusal has a message, and
// whatever is accepted renders to XML and to JSON that parse back to the same records (when the
// rendering, which escapes, still fits the body limit).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "approval/stage_records.h"

#define FUZZ_CHECK(cond)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      std::fprintf(stderr, "check failed: %s\n", #cond); \
      std::abort();                                      \
    }                                                    \
  } while (0)

namespace {

using tongban::approval::StageRecord;

bool SameRecords(const std::vector<StageRecord>& a, const std::vector<StageRecord>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (a[i].stage != b[i].stage || a[i].fields != b[i].fields) return false;
  }
  return true;
}

void CheckRoundTrip(const std::vector<StageRecord>& records, const std::string& rendered) {
  if (rendered.size() > tongban::approval::kStageBodyMaxBytes) return;
  tongban::Result<std::vector<StageRecord>> again =
      tongban::approval::ParseStageRecords(rendered);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(SameRecords(records, *again));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tongban::approval;
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  tongban::Result<std::vector<StageRecord>> parsed = ParseStageRecords(body);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(!parsed->empty() && parsed->size() <= kStageMaxRecords);
  CheckRoundTrip(*parsed, StageRecordsXml(*parsed));
  CheckRoundTrip(*parsed, StageRecordsJson(*parsed));
  return 0;
}
