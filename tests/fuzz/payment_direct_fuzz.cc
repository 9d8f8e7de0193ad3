// libFuzzer target for the payment direct interface's parsers (ParseDirectXml,
// ParseDirectJson) and the mapping to a notice. Beyond not crashing: a refusal
// always has a message, and whatever maps to a notice renders to a reply that
// loads again as XML.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "codec/xml_doc.h"
#include "payment/direct.h"

#define FUZZ_CHECK(cond)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      std::fprintf(stderr, "check failed: %s\n", #cond); \
      std::abort();                                      \
    }                                                    \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tongban::payment;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  for (bool json : {false, true}) {
    auto parsed = json ? ParseDirectJson(text) : ParseDirectXml(text);
    if (!parsed.ok()) {
      FUZZ_CHECK(!parsed.error().message.empty());
      continue;
    }
    auto notice = NoticeFromDirect(*parsed);
    if (!notice.ok()) {
      FUZZ_CHECK(!notice.error().message.empty());
      continue;
    }
    DirectReply reply;
    reply.notices.push_back(*notice);
    pugi::xml_document doc;
    FUZZ_CHECK(
        tongban::codec::LoadUntrustedXml(RenderDirectXml(reply), {1 << 24, 64}, "reply", &doc)
            .ok());
  }
  return 0;
}
