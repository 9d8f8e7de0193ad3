#include "core/random.h"

#include <openssl/rand.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

namespace tongban {
namespace {
constexpr char kHexDigits[] = "0123456789abcdef";
}  // namespace

std::string Random::Hex(size_t bytes) {
  uint8_t stack_buf[64];
  std::vector<uint8_t> heap_buf;
  std::span<uint8_t> buf(stack_buf, bytes);
  if (bytes > sizeof(stack_buf)) {
    heap_buf.resize(bytes);
    buf = std::span<uint8_t>(heap_buf);
  }
  Fill(buf);
  std::string out(bytes * 2, '0');
  for (size_t i = 0; i < bytes; ++i) {
    out[2 * i] = kHexDigits[buf[i] >> 4];
    out[2 * i + 1] = kHexDigits[buf[i] & 0xf];
  }
  return out;
}

std::string Random::Token(const char* suffix) {
  std::string out = Hex(16);
  out += suffix;
  return out;
}

void OpenSslRandom::Fill(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (RAND_bytes(out.data(), static_cast<int>(out.size())) != 1) {
    std::fputs("tongban: OpenSSL RAND_bytes failed; refusing to continue\n", stderr);
    std::abort();
  }
}

OpenSslRandom& OpenSslRandom::Instance() {
  static OpenSslRandom random;
  return random;
}

void FakeRandom::Fill(std::span<uint8_t> out) {
  for (auto& b : out) {
    state_ ^= state_ << 13;
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    b = static_cast<uint8_t>(state_ >> 24);
  }
}

}  // namespace tongban
