#include "crypto/encoding.h"

#include <openssl/crypto.h>

#include <array>
#include <cstdint>

#include "crypto/internal.h"

namespace tongban::crypto {
namespace {

constexpr char kHexDigits[] = "0123456789abcdef";
constexpr char kStdAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kUrlAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// 0..63 for an alphabet character, kNotInAlphabet otherwise.
using DecodeTable = std::array<uint8_t, 256>;
constexpr uint8_t kNotInAlphabet = 0xff;

constexpr DecodeTable MakeTable(const char* alphabet) {
  DecodeTable t{};
  for (auto& v : t) v = kNotInAlphabet;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(alphabet[i])] = static_cast<uint8_t>(i);
  return t;
}

constexpr DecodeTable kStdTable = MakeTable(kStdAlphabet);
constexpr DecodeTable kUrlTable = MakeTable(kUrlAlphabet);

std::string EncodeWith(std::string_view in, const char* alphabet, bool pad) {
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8) | p[i + 2];
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  size_t rest = in.size() - i;
  if (rest == 1) {
    uint32_t v = uint32_t{p[i]} << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    if (pad) out += "==";
  } else if (rest == 2) {
    uint32_t v = (uint32_t{p[i]} << 16) | (uint32_t{p[i + 1]} << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    if (pad) out += '=';
  }
  return out;
}

// Decodes `in`, which holds only alphabet characters (no padding), rejecting
// a length that no encoder produces and non-zero bits after the last byte.
Result<std::string> DecodeUnpadded(std::string_view in, const DecodeTable& table) {
  if (in.size() % 4 == 1) return Error::InvalidArgument("base64: truncated input");
  std::string out;
  out.reserve(in.size() / 4 * 3 + 2);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    uint8_t v = table[static_cast<uint8_t>(c)];
    if (v == kNotInAlphabet) return Error::InvalidArgument("base64: invalid character");
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) {
    return Error::InvalidArgument("base64: non-zero trailing bits");
  }
  return out;
}

}  // namespace

std::string HexEncode(std::string_view bytes) {
  std::string out(bytes.size() * 2, '\0');
  internal::HexEncodeTo(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), out.data());
  return out;
}

Result<std::string> HexDecode(std::string_view hex) {
  if (hex.size() % 2 != 0) return Error::InvalidArgument("hex: odd length");
  std::string out(hex.size() / 2, '\0');
  if (!internal::HexDecodeTo(hex, reinterpret_cast<uint8_t*>(out.data()), out.size())) {
    return Error::InvalidArgument("hex: invalid character");
  }
  return out;
}

std::string Base64Encode(std::string_view bytes) { return EncodeWith(bytes, kStdAlphabet, true); }

Result<std::string> Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) return Error::InvalidArgument("base64: length not a multiple of 4");
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  return DecodeUnpadded(text.substr(0, text.size() - pad), kStdTable);
}

std::string Base64UrlEncode(std::string_view bytes) {
  return EncodeWith(bytes, kUrlAlphabet, false);
}

Result<std::string> Base64UrlDecode(std::string_view text) {
  return DecodeUnpadded(text, kUrlTable);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  if (a.empty()) return true;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

namespace internal {

void HexEncodeTo(const uint8_t* in, size_t n, char* out) {
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kHexDigits[in[i] >> 4];
    out[2 * i + 1] = kHexDigits[in[i] & 0xf];
  }
}

bool HexDecodeTo(std::string_view hex, uint8_t* out, size_t n) {
  if (hex.size() != 2 * n) return false;
  for (size_t i = 0; i < n; ++i) {
    int hi = HexValue(hex[2 * i]);
    int lo = HexValue(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

Result<std::string> Base64DecodeLenient(std::string_view text) {
  std::string cleaned;
  cleaned.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '\r':
      case '\n':
      case '\t':
        break;
      case ' ':
      case '-':
        cleaned += '+';
        break;
      case '_':
        cleaned += '/';
        break;
      default:
        cleaned += c;
    }
  }
  while (!cleaned.empty() && cleaned.back() == '=') cleaned.pop_back();
  return DecodeUnpadded(cleaned, kStdTable);
}


}  // namespace internal
}  // namespace tongban::crypto
