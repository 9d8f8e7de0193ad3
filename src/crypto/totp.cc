#include "crypto/totp.h"

#include <array>

#include "crypto/digest.h"
#include "crypto/encoding.h"

namespace tongban::crypto {
namespace {

constexpr std::string_view kBase32Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

int Base32Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a';
  if (c >= '2' && c <= '7') return c - '2' + 26;
  return -1;
}

// Percent-encodes for a URI path or query part: only unreserved characters
// stay as they are.
std::string UriPart(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '.' || c == '_' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace

std::string Base32Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 8 + 4) / 5);
  uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char b : bytes) {
    buffer = (buffer << 8) | b;
    bits += 8;
    while (bits >= 5) {
      out.push_back(kBase32Alphabet[(buffer >> (bits - 5)) & 31]);
      bits -= 5;
    }
  }
  if (bits > 0) out.push_back(kBase32Alphabet[(buffer << (5 - bits)) & 31]);
  return out;
}

Result<std::string> Base32Decode(std::string_view text) {
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    if (c == ' ') continue;
    const int v = Base32Value(c);
    if (v < 0) return Error::InvalidArgument("not Base32");
    buffer = (buffer << 5) | static_cast<uint32_t>(v);
    bits += 5;
    if (bits >= 8) {
      out.push_back(static_cast<char>((buffer >> (bits - 8)) & 0xff));
      bits -= 8;
    }
  }
  return out;
}

std::string Hotp(std::string_view key, uint64_t counter, int digits) {
  std::array<char, 8> message{};
  for (int i = 7; i >= 0; --i) {
    message[static_cast<size_t>(i)] = static_cast<char>(counter & 0xff);
    counter >>= 8;
  }
  const std::string mac = HmacSha1(key, std::string_view(message.data(), message.size()));
  const size_t offset = static_cast<unsigned char>(mac[19]) & 0x0f;
  const uint32_t binary = (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset]) & 0x7f)
                           << 24) |
                          (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 1])) << 16) |
                          (static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 2])) << 8) |
                          static_cast<uint32_t>(static_cast<unsigned char>(mac[offset + 3]));
  uint32_t modulus = 1;
  for (int i = 0; i < digits; ++i) modulus *= 10;
  std::string code = std::to_string(binary % modulus);
  if (code.size() < static_cast<size_t>(digits)) {
    code.insert(0, static_cast<size_t>(digits) - code.size(), '0');
  }
  return code;
}

int64_t TotpStep(int64_t unix_ms) {
  const int64_t seconds = unix_ms >= 0 ? unix_ms / 1000 : (unix_ms - 999) / 1000;
  return seconds >= 0 ? seconds / kTotpStepSeconds
                      : (seconds - kTotpStepSeconds + 1) / kTotpStepSeconds;
}

std::string Totp(std::string_view key, int64_t unix_ms, int digits) {
  return Hotp(key, static_cast<uint64_t>(TotpStep(unix_ms)), digits);
}

int64_t MatchTotp(std::string_view key, std::string_view code, int64_t unix_ms, int window,
                  int digits) {
  if (code.size() != static_cast<size_t>(digits)) return -1;
  for (char c : code) {
    if (c < '0' || c > '9') return -1;
  }
  const int64_t now_step = TotpStep(unix_ms);
  int64_t matched = -1;
  for (int64_t step = now_step - window; step <= now_step + window; ++step) {
    if (step < 0) continue;
    const std::string expected = Hotp(key, static_cast<uint64_t>(step), digits);
    // No early exit: every candidate costs the same whichever matches.
    if (ConstantTimeEquals(expected, code) && matched < 0) matched = step;
  }
  return matched;
}

std::string TotpUri(std::string_view issuer, std::string_view account,
                    std::string_view base32_secret) {
  std::string uri("otpauth://totp/");
  uri.append(UriPart(issuer)).append(":").append(UriPart(account));
  uri.append("?secret=").append(base32_secret);
  uri.append("&issuer=").append(UriPart(issuer));
  uri.append("&algorithm=SHA1&digits=").append(std::to_string(kTotpDigits));
  uri.append("&period=").append(std::to_string(kTotpStepSeconds));
  return uri;
}

}  // namespace tongban::crypto
