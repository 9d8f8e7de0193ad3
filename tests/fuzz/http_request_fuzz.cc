// libFuzzer target for the HTTP request parser (request line, headers, query,
// form body, cookies). Beyond not crashing: a refusal carries the HTTP status
// the server would send and a message; an accepted request has a path that
// starts with '/' (or is "*") and parameters that are valid UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "http/request_parser.h"
#include "http/url.h"

#define FUZZ_CHECK(cond)                                 \
  do {                                                   \
    if (!(cond)) {                                       \
      std::fprintf(stderr, "check failed: %s\n", #cond); \
      std::abort();                                      \
    }                                                    \
  } while (0)

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tongban::http;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto request = ParseRequestBytes(bytes, 4096, 64 * 1024);
  if (!request.ok()) {
    int code = request.error().code;
    FUZZ_CHECK(code == 400 || code == 413 || code == 431 || code == 501 || code == 505);
    FUZZ_CHECK(!request.error().message.empty());
    return 0;
  }
  std::string_view path = request->path();
  FUZZ_CHECK(path == "*" || (!path.empty() && path[0] == '/'));
  for (auto entry : request->params()) {
    FUZZ_CHECK(IsValidUtf8(entry.name));
    FUZZ_CHECK(IsValidUtf8(entry.value));
  }
  (void)request->Cookie("TBSSO");
  return 0;
}
