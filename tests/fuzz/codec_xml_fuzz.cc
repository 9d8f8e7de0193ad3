// libFuzzer target for codec::ParseSsoXml, the parser of <SSO> XML `args` from apps.
// Beyond not crashing: whatever parses must render to XML that parses again, and rendering is
// stable after one round (the first round may replace characters XML cannot carry by U+FFFD).
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
  tongban::Result<Value> parsed = ParseSsoXml(text);
  if (!parsed.ok()) {
    FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  FUZZ_CHECK(parsed->IsObject());
  const std::string xml = RenderSsoXml(*parsed);
  tongban::Result<Value> again = ParseSsoXml(xml);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(RenderSsoXml(*again) == xml);

  // Every parsed value is JSON-renderable and reads back.
  tongban::Result<Value> json = ParseJson(RenderJson(*parsed));
  FUZZ_CHECK(json.ok());
  return 0;
}
