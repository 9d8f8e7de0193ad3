#include "crypto/sign.h"

#include <openssl/crypto.h>

#include <cstdint>

#include "crypto/internal.h"

namespace tongban::crypto {
namespace {

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != b[i]) return false;
  }
  return true;
}

// Writes the raw signature to `out` and returns its length.
size_t RawSign(SignType type, std::string_view servicecode, std::string_view servicepwd,
               std::string_view time, uint8_t* out) {
  switch (type) {
    case SignType::kMd5:
      internal::DigestParts(internal::Md::kMd5, {servicecode, servicepwd, time}, out);
      return internal::MdSize(internal::Md::kMd5);
    case SignType::kSm3:
      internal::DigestParts(internal::Md::kSm3, {servicecode, servicepwd, time}, out);
      return internal::MdSize(internal::Md::kSm3);
    case SignType::kHmacSha256:
      internal::HmacParts(internal::Md::kSha256, servicepwd, {servicecode, time}, out);
      return internal::MdSize(internal::Md::kSha256);
  }
  return 0;
}

// Writes the raw request signature to `out` and returns its length; 0 for kSpec.
size_t RawRequestSign(SignMode mode, std::string_view servicepwd, std::string_view canonical,
                      uint8_t* out) {
  switch (mode) {
    case SignMode::kSpec:
      return 0;
    case SignMode::kHmacSha256:
      internal::HmacParts(internal::Md::kSha256, servicepwd, {canonical}, out);
      return internal::MdSize(internal::Md::kSha256);
    case SignMode::kHmacSm3:
      internal::HmacParts(internal::Md::kSm3, servicepwd, {canonical}, out);
      return internal::MdSize(internal::Md::kSm3);
  }
  return 0;
}

}  // namespace

Result<SignType> ParseSignType(std::string_view name) {
  if (EqualsIgnoreCase(name, "md5")) return SignType::kMd5;
  if (EqualsIgnoreCase(name, "sm3")) return SignType::kSm3;
  if (EqualsIgnoreCase(name, "hmac-sha256")) return SignType::kHmacSha256;
  return Error::InvalidArgument("unknown sign type (expected md5, sm3 or hmac-sha256)");
}

std::string_view SignTypeName(SignType type) {
  switch (type) {
    case SignType::kMd5:
      return "md5";
    case SignType::kSm3:
      return "sm3";
    case SignType::kHmacSha256:
      return "hmac-sha256";
  }
  return "";
}

std::string ComputeSign(SignType type, std::string_view servicecode, std::string_view servicepwd,
                        std::string_view time) {
  uint8_t raw[internal::kMaxMdSize];
  size_t n = RawSign(type, servicecode, servicepwd, time, raw);
  std::string out(2 * n, '\0');
  internal::HexEncodeTo(raw, n, out.data());
  return out;
}

bool VerifySign(SignType type, std::string_view servicecode, std::string_view servicepwd,
                std::string_view time, std::string_view sign) {
  uint8_t expected[internal::kMaxMdSize];
  size_t n = RawSign(type, servicecode, servicepwd, time, expected);
  uint8_t given[internal::kMaxMdSize];
  if (!internal::HexDecodeTo(sign, given, n)) return false;
  return CRYPTO_memcmp(expected, given, n) == 0;
}

Result<SignMode> ParseSignMode(std::string_view name) {
  if (EqualsIgnoreCase(name, "spec")) return SignMode::kSpec;
  if (EqualsIgnoreCase(name, "hmac-sha256")) return SignMode::kHmacSha256;
  if (EqualsIgnoreCase(name, "hmac-sm3")) return SignMode::kHmacSm3;
  return Error::InvalidArgument("unknown sign mode (expected spec, hmac-sha256 or hmac-sm3)");
}

std::string_view SignModeName(SignMode mode) {
  switch (mode) {
    case SignMode::kSpec:
      return "spec";
    case SignMode::kHmacSha256:
      return "hmac-sha256";
    case SignMode::kHmacSm3:
      return "hmac-sm3";
  }
  return "";
}

std::string ComputeRequestSign(SignMode mode, std::string_view servicepwd,
                               std::string_view canonical) {
  uint8_t raw[internal::kMaxMdSize];
  size_t n = RawRequestSign(mode, servicepwd, canonical, raw);
  std::string out(2 * n, '\0');
  internal::HexEncodeTo(raw, n, out.data());
  return out;
}

bool VerifyRequestSign(SignMode mode, std::string_view servicepwd, std::string_view canonical,
                       std::string_view sign) {
  uint8_t expected[internal::kMaxMdSize];
  size_t n = RawRequestSign(mode, servicepwd, canonical, expected);
  if (n == 0) return false;
  uint8_t given[internal::kMaxMdSize];
  if (!internal::HexDecodeTo(sign, given, n)) return false;
  return CRYPTO_memcmp(expected, given, n) == 0;
}

}  // namespace tongban::crypto
