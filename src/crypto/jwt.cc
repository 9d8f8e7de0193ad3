#include "crypto/jwt.h"

#include <cstdint>

#include "crypto/encoding.h"

namespace tongban::crypto {
namespace {

void AppendJsonString(std::string& out, std::string_view s) {
  out += '"';
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (u < 0x20) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\u00";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  out += '"';
}

void AppendUtf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A strict reader for the one JSON shape a JOSE header we accept can have: an
// object whose members are all strings. Enough for alg/kid/typ without
// pulling a JSON library into crypto/.
class HeaderReader {
 public:
  explicit HeaderReader(std::string_view text) : s_(text) {}

  Result<JwtHeader> Read() {
    JwtHeader header;
    bool seen_alg = false;
    SkipSpace();
    if (!Eat('{')) return Bad();
    SkipSpace();
    if (Eat('}')) return Bad();
    while (true) {
      SkipSpace();
      std::string name;
      std::string value;
      if (!ReadString(name)) return Bad();
      SkipSpace();
      if (!Eat(':')) return Bad();
      SkipSpace();
      if (!ReadString(value)) {
        return Error::InvalidArgument("JWT header members other than strings are not accepted");
      }
      std::string* slot = nullptr;
      if (name == "alg") {
        slot = &header.alg;
        if (seen_alg) return Bad();
        seen_alg = true;
      } else if (name == "kid") {
        slot = &header.kid;
      } else if (name == "typ") {
        slot = &header.typ;
      } else if (name != "cty") {
        return Error::InvalidArgument("JWT header member not accepted: " + name);
      }
      if (slot != nullptr) *slot = std::move(value);
      SkipSpace();
      if (Eat('}')) break;
      if (!Eat(',')) return Bad();
    }
    SkipSpace();
    if (pos_ != s_.size() || !seen_alg) return Bad();
    return header;
  }

 private:
  static Error Bad() { return Error::InvalidArgument("malformed JWT header"); }
  void SkipSpace() {
    while (pos_ < s_.size() &&
           (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) {
      ++pos_;
    }
  }
  bool Eat(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool Hex4(uint32_t& out) {
    if (pos_ + 4 > s_.size()) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = s_[pos_++];
      out <<= 4;
      if (c >= '0' && c <= '9')
        out |= static_cast<uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f')
        out |= static_cast<uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F')
        out |= static_cast<uint32_t>(c - 'A' + 10);
      else
        return false;
    }
    return true;
  }
  bool ReadString(std::string& out) {
    if (!Eat('"')) return false;
    while (pos_ < s_.size()) {
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return false;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) return false;
      char e = s_[pos_++];
      switch (e) {
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case '/':
          out += '/';
          break;
        case 'b':
          out += '\b';
          break;
        case 'f':
          out += '\f';
          break;
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case 'u': {
          uint32_t cp = 0;
          // Surrogates (characters beyond the BMP) never occur in the
          // header values tongban accepts; refusing them keeps this small.
          if (!Hex4(cp) || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
          AppendUtf8(out, cp);
          break;
        }
        default:
          return false;
      }
    }
    return false;
  }

  std::string_view s_;
  size_t pos_ = 0;
};

struct Parts {
  std::string_view header;
  std::string_view payload;
  std::string_view signature;
  std::string_view signing_input;
};

Result<Parts> Split(std::string_view token) {
  if (token.size() > kMaxJwtBytes) return Error::TooLarge("JWT too large");
  size_t d1 = token.find('.');
  size_t d2 = d1 == std::string_view::npos ? d1 : token.find('.', d1 + 1);
  if (d2 == std::string_view::npos || token.find('.', d2 + 1) != std::string_view::npos) {
    return Error::InvalidArgument("a JWT has three parts separated by dots");
  }
  return Parts{token.substr(0, d1), token.substr(d1 + 1, d2 - d1 - 1), token.substr(d2 + 1),
               token.substr(0, d2)};
}

Result<JwtHeader> DecodeHeader(std::string_view encoded) {
  auto json = Base64UrlDecode(encoded);
  if (!json.ok()) return Error::InvalidArgument("JWT header is not Base64url");
  return HeaderReader(*json).Read();
}

}  // namespace

Result<std::string> SignJwt(const SigningKey& key, std::string_view claims_json,
                            std::string_view typ) {
  std::string header = "{\"alg\":";
  AppendJsonString(header, SigningAlgorithmName(key.algorithm()));
  header += ",\"kid\":";
  AppendJsonString(header, key.kid());
  if (!typ.empty()) {
    header += ",\"typ\":";
    AppendJsonString(header, typ);
  }
  header += '}';
  std::string token = Base64UrlEncode(header);
  token += '.';
  token += Base64UrlEncode(claims_json);
  auto signature = key.Sign(token);
  if (!signature.ok()) return signature.error();
  token += '.';
  token += Base64UrlEncode(*signature);
  return token;
}

Result<JwtHeader> PeekJwtHeader(std::string_view token) {
  auto parts = Split(token);
  if (!parts.ok()) return parts.error();
  return DecodeHeader(parts->header);
}

Result<VerifiedJwt> VerifyJwt(std::string_view token, std::span<const SigningKey> keys) {
  auto parts = Split(token);
  if (!parts.ok()) return parts.error();
  auto header = DecodeHeader(parts->header);
  if (!header.ok()) return header.error();
  auto alg = ParseSigningAlgorithm(header->alg);
  if (!alg.ok()) return Error::PermissionDenied("JWT algorithm not accepted: " + header->alg);

  const SigningKey* key = nullptr;
  if (!header->kid.empty()) {
    for (const SigningKey& k : keys) {
      if (k.kid() == header->kid) key = &k;
    }
  } else {
    int candidates = 0;
    for (const SigningKey& k : keys) {
      if (k.algorithm() == *alg) {
        key = &k;
        ++candidates;
      }
    }
    if (candidates != 1) key = nullptr;
  }
  if (key == nullptr) return Error::PermissionDenied("no key for this JWT");
  if (key->algorithm() != *alg) {
    return Error::PermissionDenied("JWT algorithm does not match its key");
  }
  auto signature = Base64UrlDecode(parts->signature);
  if (!signature.ok()) return Error::InvalidArgument("JWT signature is not Base64url");
  auto payload = Base64UrlDecode(parts->payload);
  if (!payload.ok()) return Error::InvalidArgument("JWT payload is not Base64url");
  if (!key->Verify(parts->signing_input, *signature)) {
    return Error::PermissionDenied("JWT signature does not verify");
  }
  return VerifiedJwt{std::move(*header), std::move(*payload), key};
}

}  // namespace tongban::crypto
