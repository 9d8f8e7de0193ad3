// libFuzzer target for form bodies (form.h): x-www-form-urlencoded in a
// declared charset and multipart/form-data. The input's first line is the
// Content-Type, the rest the body. Beyond not crashing: on success every
// parameter is valid UTF-8; a failure is InvalidArgument with a message.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "http/form.h"

#define FUZZ_CHECK(cond)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      std::fprintf(stderr, "check failed: %s\n", #cond); \
      std::abort();                                      \
    }                                                    \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tongban;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  size_t newline = bytes.find('\n');
  std::string_view content_type = bytes.substr(0, newline);
  std::string_view body =
      newline == std::string_view::npos ? std::string_view() : bytes.substr(newline + 1);
  http::Params params;
  Status parsed = http::ParseFormBody(content_type, body, params);
  if (!parsed.ok()) {
    FUZZ_CHECK(parsed.error().code == errc::kInvalidArgument);
    FUZZ_CHECK(!parsed.error().message.empty());
    return 0;
  }
  for (const http::Params::Entry& e : params) {
    FUZZ_CHECK(IsValidUtf8(e.name));
    FUZZ_CHECK(IsValidUtf8(e.value));
  }
  return 0;
}
