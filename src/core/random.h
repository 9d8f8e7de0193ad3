// Random: where tongban gets unpredictable bytes (tickets, tokens, ids, salts).
// Production uses OpenSSL's CSPRNG; tests may use a seeded fake for
// reproducible ids, never for anything that guards security.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace tongban {

class Random {
 public:
  virtual ~Random() = default;
  // Fills `out` with random bytes. Aborts the process if the CSPRNG fails:
  // handing out a guessable ticket is worse than stopping.
  virtual void Fill(std::span<uint8_t> out) = 0;

  // `bytes` random bytes as 2*bytes lowercase hex characters.
  std::string Hex(size_t bytes);
  // A 32-hex-character id (128 bits), the form of the spec's `userid`.
  std::string Id128() { return Hex(16); }
  // An opaque token: 32 hex characters (128 bits) followed by `suffix`
  // (e.g. "-ticket"), as the real SSO's tickets look. At most 50 characters.
  std::string Token(const char* suffix);
};

// OpenSSL's CSPRNG. Requests up to 256 bytes come from a per-thread buffer
// of its output (a RAND_bytes call per ticket would cost as much as the rest
// of a validation); a process forked after Instance() starts a fresh buffer.
class OpenSslRandom final : public Random {
 public:
  void Fill(std::span<uint8_t> out) override;
  static OpenSslRandom& Instance();
};

// Deterministic xorshift generator for tests that need repeatable output.
class FakeRandom final : public Random {
 public:
  explicit FakeRandom(uint64_t seed = 42) : state_(seed ? seed : 42) {}
  void Fill(std::span<uint8_t> out) override;

 private:
  uint64_t state_;
};

}  // namespace tongban
