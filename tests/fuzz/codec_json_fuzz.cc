// libFuzzer target for codec::ParseJson, the parser of apps' `args` and push replies.
// Beyond not crashing: whatever parses must render to JSON that parses back to the same value,
// and its <SSO> XML rendering must be well-formed.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "codec/parse.h"
#include "codec/render.h"

#define FUZZ_CHECK(cond)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      std::fprintf(stderr, "check failed: %s\n", #cond); \
      std::abort();                                      \
    }                                                    \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tongban::codec;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  tongban::Result<Value> parsed = ParseJson(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  const std::string json = RenderJson(*parsed);
  tongban::Result<Value> again = ParseJson(json);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(*again == *parsed);

  // The XML rendering of an object or array must read back (ParseSsoXml refuses text in the
  // root, which is how a scalar renders). Arrays nested in arrays render as extra <item> levels,
  // so the depth limit may refuse it.
  if (!parsed->IsScalar()) {
    tongban::Result<Value> xml = ParseSsoXml(RenderSsoXml(*parsed));
    FUZZ_CHECK(xml.ok() || xml.error().code == tongban::errc::kTooLarge);
  }
  return 0;
}
