#include "core/random.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <pthread.h>

#include <atomic>
#include <cstdio>
#include <cstring>
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

namespace {

void RandBytes(uint8_t* out, size_t size) {
  if (RAND_bytes(out, static_cast<int>(size)) != 1) {
    std::fputs("tongban: OpenSSL RAND_bytes failed; refusing to continue\n", stderr);
    std::abort();
  }
}

// Bumped in a forked child, whose copy of a parent's buffer must not be used:
// parent and child would hand out the same bytes.
std::atomic<uint64_t> fork_generation{0};

// Each thread draws small requests from its own 4 KiB of CSPRNG output: one
// RAND_bytes call costs about as much as a whole ticket validation otherwise
// (its locking and DRBG setup dominate for 16 bytes). Bytes are wiped as they
// are handed out, so the buffer never holds a value someone else received.
struct RandomBuffer {
  static constexpr size_t kSize = 4096;
  uint8_t bytes[kSize];
  size_t next = kSize;
  uint64_t generation = 0;

  void Take(std::span<uint8_t> out) {
    const uint64_t current = fork_generation.load(std::memory_order_relaxed);
    if (generation != current) {
      next = kSize;
      generation = current;
    }
    if (kSize - next < out.size()) {
      RandBytes(bytes, kSize);
      next = 0;
    }
    std::memcpy(out.data(), bytes + next, out.size());
    OPENSSL_cleanse(bytes + next, out.size());
    next += out.size();
  }
};

}  // namespace

void OpenSslRandom::Fill(std::span<uint8_t> out) {
  if (out.empty()) return;
  if (out.size() > 256) {
    RandBytes(out.data(), out.size());
    return;
  }
  thread_local RandomBuffer buffer;
  buffer.Take(out);
}

OpenSslRandom& OpenSslRandom::Instance() {
  static OpenSslRandom random;
  static const bool fork_hook = [] {
    return pthread_atfork(nullptr, nullptr, [] { fork_generation.fetch_add(1); }) == 0;
  }();
  (void)fork_hook;
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
