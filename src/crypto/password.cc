#include "crypto/password.h"

#include <openssl/crypto.h>
#include <sodium.h>

#include <cstdio>
#include <cstdlib>

#include "core/utf8.h"
#include "crypto/internal.h"

namespace tongban::crypto {
namespace {

using internal::Md;

static_assert(PasswordParams{}.ops_limit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
static_assert(PasswordParams{}.mem_limit == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);

constexpr size_t kMaxPasswordBytes = 4096;
constexpr size_t kMaxSaltBytes = 256;
constexpr std::string_view kArgon2idPrefix = crypto_pwhash_argon2id_STRPREFIX;
constexpr std::string_view kArgon2iPrefix = crypto_pwhash_argon2i_STRPREFIX;
constexpr std::string_view kPlainPrefix = "plain$";

void EnsureSodium() {
  static const int init = sodium_init();
  if (init < 0) {
    std::fputs("tongban: libsodium failed to initialise; refusing to continue\n", stderr);
    std::abort();
  }
}

enum class Kind { kUnknown, kArgon2id, kArgon2i, kDigest, kPlain };

struct Parsed {
  Kind kind = Kind::kUnknown;
  Md md = Md::kMd5;
  std::string_view salt;  // empty when unsalted
  std::string_view hex;   // kDigest
  std::string_view text;  // kPlain
};

bool ParseDigestScheme(std::string_view name, Md* md) {
  if (name == "md5") {
    *md = Md::kMd5;
  } else if (name == "sha1") {
    *md = Md::kSha1;
  } else if (name == "sha256") {
    *md = Md::kSha256;
  } else {
    return false;
  }
  return true;
}

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return false;
    }
  }
  return true;
}

bool IsPrintableAscii(std::string_view s) {
  for (char c : s) {
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// Splits "<hex>" or "<salt>$<hex>" (the salt may itself contain '$').
bool SplitSaltAndHex(Md md, std::string_view value, std::string_view* salt, std::string_view* hex) {
  size_t dollar = value.rfind('$');
  *salt = dollar == std::string_view::npos ? std::string_view() : value.substr(0, dollar);
  *hex = dollar == std::string_view::npos ? value : value.substr(dollar + 1);
  if (dollar != std::string_view::npos &&
      (salt->empty() || salt->size() > kMaxSaltBytes || !IsPrintableAscii(*salt))) {
    return false;
  }
  return hex->size() == 2 * internal::MdSize(md) && IsHex(*hex);
}

Parsed Parse(std::string_view stored) {
  Parsed p;
  if (stored.starts_with(kArgon2idPrefix)) {
    if (stored.size() < crypto_pwhash_STRBYTES) p.kind = Kind::kArgon2id;
    return p;
  }
  if (stored.starts_with(kArgon2iPrefix)) {
    if (stored.size() < crypto_pwhash_STRBYTES) p.kind = Kind::kArgon2i;
    return p;
  }
  if (stored.starts_with(kPlainPrefix)) {
    p.text = stored.substr(kPlainPrefix.size());
    if (!p.text.empty()) p.kind = Kind::kPlain;
    return p;
  }
  size_t dollar = stored.find('$');
  if (dollar == std::string_view::npos) return p;
  if (!ParseDigestScheme(stored.substr(0, dollar), &p.md)) return p;
  if (SplitSaltAndHex(p.md, stored.substr(dollar + 1), &p.salt, &p.hex)) p.kind = Kind::kDigest;
  return p;
}

// libsodium's parameters are declared non-null even for empty input.
const char* NonNull(std::string_view s) { return s.data() != nullptr ? s.data() : ""; }

bool VerifyArgon2(std::string_view stored, std::string_view secret) {
  EnsureSodium();
  std::string str(stored);  // libsodium wants a NUL-terminated string
  return crypto_pwhash_str_verify(str.c_str(), NonNull(secret), secret.size()) == 0;
}

bool Argon2NeedsRehash(Kind kind, std::string_view stored, const PasswordParams& params) {
  if (kind != Kind::kArgon2id) return true;
  std::string str(stored);
  return crypto_pwhash_argon2id_str_needs_rehash(str.c_str(), params.ops_limit, params.mem_limit) !=
         0;
}

bool EqualDigests(const uint8_t* a, const uint8_t* b, size_t n) {
  return CRYPTO_memcmp(a, b, n) == 0;
}

bool VerifyDigest(const Parsed& p, std::string_view plain) {
  size_t n = internal::MdSize(p.md);
  uint8_t want[internal::kMaxMdSize];
  if (!internal::HexDecodeTo(p.hex, want, n)) return false;
  uint8_t got[internal::kMaxMdSize];
  internal::DigestParts(p.md, {p.salt, plain}, got);
  return EqualDigests(want, got, n);
}

// Hashing both sides first makes the comparison independent of where, or
// whether, the lengths differ.
bool VerifyPlain(std::string_view stored_text, std::string_view candidate) {
  uint8_t a[internal::kMaxMdSize];
  uint8_t b[internal::kMaxMdSize];
  internal::DigestParts(Md::kSha256, {stored_text}, a);
  internal::DigestParts(Md::kSha256, {candidate}, b);
  return EqualDigests(a, b, internal::MdSize(Md::kSha256));
}

// Lowercase form of a 32-digit MD5 hex, or false when it is not one.
bool NormalizeMd5Hex(std::string_view md5_hex, char out[32]) {
  if (md5_hex.size() != 32 || !IsHex(md5_hex)) return false;
  for (size_t i = 0; i < 32; ++i) {
    char c = md5_hex[i];
    out[i] = (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return true;
}

bool IsArgon2(Kind kind) { return kind == Kind::kArgon2id || kind == Kind::kArgon2i; }

bool IsUnsaltedMd5(const Parsed& p) {
  return p.kind == Kind::kDigest && p.md == Md::kMd5 && p.salt.empty();
}

}  // namespace

Result<std::string> HashPassword(std::string_view plain, const PasswordParams& params) {
  if (plain.size() > kMaxPasswordBytes) return Error::InvalidArgument("password too long");
  if (params.ops_limit < crypto_pwhash_argon2id_OPSLIMIT_MIN ||
      params.ops_limit > crypto_pwhash_argon2id_OPSLIMIT_MAX ||
      params.mem_limit < crypto_pwhash_argon2id_MEMLIMIT_MIN ||
      params.mem_limit > crypto_pwhash_argon2id_MEMLIMIT_MAX) {
    return Error::InvalidArgument("argon2id parameters out of range");
  }
  EnsureSodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_argon2id_str(out, NonNull(plain), plain.size(), params.ops_limit,
                                 params.mem_limit) != 0) {
    return Error::Unavailable("argon2id: could not allocate the configured memory");
  }
  return std::string(out);
}

VerifyOutcome VerifyPassword(std::string_view stored, std::string_view plain,
                             const PasswordParams& params) {
  if (plain.size() > kMaxPasswordBytes) return {false, false};
  Parsed p = Parse(stored);
  bool ok = false;
  switch (p.kind) {
    case Kind::kArgon2id:
    case Kind::kArgon2i:
      ok = VerifyArgon2(stored, plain);
      return {ok, ok && Argon2NeedsRehash(p.kind, stored, params)};
    case Kind::kDigest:
      ok = VerifyDigest(p, plain);
      return {ok, ok};
    case Kind::kPlain:
      ok = VerifyPlain(p.text, plain);
      return {ok, ok};
    case Kind::kUnknown:
      break;
  }
  return {false, false};
}

bool IsRecognizedPasswordHash(std::string_view stored) {
  return Parse(stored).kind != Kind::kUnknown;
}

Result<std::string> LegacyHashForImport(std::string_view scheme, std::string_view value) {
  std::string name;
  for (char c : scheme) name += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  if (name == "plain") {
    if (value.empty() || value.size() > kMaxPasswordBytes || !::tongban::IsValidUtf8(value)) {
      return Error::InvalidArgument("plain password must be 1..4096 bytes of UTF-8");
    }
    std::string out(kPlainPrefix);
    out += value;
    return out;
  }
  Md md;
  if (!ParseDigestScheme(name, &md)) {
    return Error::InvalidArgument("unknown password scheme (expected md5, sha1, sha256, plain)");
  }
  std::string_view salt;
  std::string_view hex;
  if (!SplitSaltAndHex(md, value, &salt, &hex)) {
    return Error::InvalidArgument(
        "legacy hash must be <hex> or <salt>$<hex> with a hex digest of the scheme's length");
  }
  std::string out = name + "$";
  if (!salt.empty()) {
    out += salt;
    out += '$';
  }
  for (char c : hex) out += (c >= 'A' && c <= 'F') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

Result<PasswordHashes> HashPasswordWithMd5Variant(std::string_view plain,
                                                  const PasswordParams& params) {
  Result<std::string> primary = HashPassword(plain, params);
  if (!primary.ok()) return std::move(primary).error();
  char md5_hex[32];
  uint8_t md5[16];
  internal::DigestParts(Md::kMd5, {plain}, md5);
  internal::HexEncodeTo(md5, sizeof(md5), md5_hex);
  Result<std::string> variant = HashPassword(std::string_view(md5_hex, sizeof(md5_hex)), params);
  OPENSSL_cleanse(md5_hex, sizeof(md5_hex));
  OPENSSL_cleanse(md5, sizeof(md5));
  if (!variant.ok()) return std::move(variant).error();
  return PasswordHashes{std::move(primary).value(), std::move(variant).value()};
}

VerifyOutcome VerifyPasswordMd5(std::string_view stored, std::string_view stored_md5_variant,
                                std::string_view md5_hex, const PasswordParams& params) {
  char norm[32];
  if (!NormalizeMd5Hex(md5_hex, norm)) return {false, false};
  std::string_view candidate(norm, sizeof(norm));

  if (!stored_md5_variant.empty()) {
    Parsed v = Parse(stored_md5_variant);
    if (!IsArgon2(v.kind)) return {false, false};
    bool ok = VerifyArgon2(stored_md5_variant, candidate);
    return {ok, ok && Argon2NeedsRehash(v.kind, stored_md5_variant, params)};
  }

  Parsed p = Parse(stored);
  bool ok = false;
  if (IsUnsaltedMd5(p)) {
    uint8_t want[16];
    uint8_t got[16];
    ok = internal::HexDecodeTo(p.hex, want, 16) && internal::HexDecodeTo(candidate, got, 16) &&
         EqualDigests(want, got, 16);
  } else if (p.kind == Kind::kPlain) {
    char text_md5_hex[32];
    uint8_t text_md5[16];
    internal::DigestParts(Md::kMd5, {p.text}, text_md5);
    internal::HexEncodeTo(text_md5, sizeof(text_md5), text_md5_hex);
    ok = CRYPTO_memcmp(text_md5_hex, norm, sizeof(norm)) == 0;
  }
  return {ok, ok};
}

bool SupportsMd5Login(std::string_view stored, std::string_view stored_md5_variant) {
  if (!stored_md5_variant.empty()) return IsArgon2(Parse(stored_md5_variant).kind);
  Parsed p = Parse(stored);
  return IsUnsaltedMd5(p) || p.kind == Kind::kPlain;
}

}  // namespace tongban::crypto
