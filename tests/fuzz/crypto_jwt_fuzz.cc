// libFuzzer target for crypto::VerifyJwt and PeekJwtHeader, which read tokens
// clients send back (OIDC id_token_hint). Beyond not crashing: nothing but a
// token signed by the ring's key may ever verify.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>
#include <vector>

#include "crypto/jwt.h"
#include "crypto/keys.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace tongban::crypto;
  static const std::vector<SigningKey> keys = {
      SigningKey::Generate(SigningAlgorithm::kEs256).value()};
  const std::string_view token(reinterpret_cast<const char*>(data), size);
  (void)PeekJwtHeader(token);
  if (VerifyJwt(token, keys).ok()) {
    std::fprintf(stderr, "a token the fuzzer made verified\n");
    std::abort();
  }
  return 0;
}
