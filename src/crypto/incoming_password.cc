#include "crypto/incoming_password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <memory>

#include "core/utf8.h"
#include "crypto/internal.h"

namespace tongban::crypto {
namespace {

constexpr size_t kMaxPasswordBytes = 4096;
// Base64 of a padded ciphertext of a maximal password, with room for line breaks.
constexpr size_t kMaxEncodedBytes = 4 * (kMaxPasswordBytes + 16) / 3 + 256;

Error DecodeFailed(const char* why) { return Error{kPasswordDecodeFailed, why}; }

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};

Result<std::string> CheckResult(std::string plain, bool require_utf8) {
  if (plain.empty() || plain.size() > kMaxPasswordBytes) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return DecodeFailed("password must be 1..4096 bytes");
  }
  if (require_utf8 && !::tongban::IsValidUtf8(plain)) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return DecodeFailed("decoded password is not UTF-8");
  }
  return plain;
}

// ECB with PKCS#7 padding, the Java default for "AES" and "DESede".
Result<std::string> DecryptEcb(const char* cipher_name, std::string_view key,
                               std::string_view encoded, size_t block) {
  Result<std::string> ct = internal::Base64DecodeLenient(encoded);
  if (!ct.ok()) return DecodeFailed("password is not Base64");
  if (ct->empty() || ct->size() % block != 0) {
    return DecodeFailed("ciphertext is not a whole number of blocks");
  }
  std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter> ctx(EVP_CIPHER_CTX_new());
  if (!ctx) internal::FatalOpenSsl("EVP_CIPHER_CTX_new");
  const auto* key_bytes = reinterpret_cast<const unsigned char*>(key.data());
  if (EVP_DecryptInit_ex2(ctx.get(), internal::FetchCipher(cipher_name), key_bytes, nullptr,
                          nullptr) != 1) {
    return DecodeFailed("cipher rejected the key");
  }
  std::string plain(ct->size() + block, '\0');
  auto* out = reinterpret_cast<unsigned char*>(plain.data());
  int n1 = 0;
  int n2 = 0;
  if (EVP_DecryptUpdate(ctx.get(), out, &n1, reinterpret_cast<const unsigned char*>(ct->data()),
                        static_cast<int>(ct->size())) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), out + n1, &n2) != 1) {
    OPENSSL_cleanse(plain.data(), plain.size());
    return DecodeFailed("decryption failed (wrong key or corrupt ciphertext)");
  }
  size_t len = static_cast<size_t>(n1) + static_cast<size_t>(n2);
  OPENSSL_cleanse(plain.data() + len, plain.size() - len);
  plain.resize(len);
  return CheckResult(std::move(plain), true);
}

const char* AesEcbName(size_t key_size) {
  switch (key_size) {
    case 16:
      return "AES-128-ECB";
    case 24:
      return "AES-192-ECB";
    case 32:
      return "AES-256-ECB";
    default:
      return nullptr;
  }
}

}  // namespace

Result<std::string> DecodeIncomingPassword(int encryptiontype, std::string_view value,
                                           const IncomingKeys& keys) {
  if (encryptiontype < 1 || encryptiontype > 5) {
    return Error{kUnsupportedEncryptionType, "encryptiontype must be 1..5"};
  }
  if (value.size() > kMaxEncodedBytes) return DecodeFailed("password too long");
  switch (encryptiontype) {
    case 1:
      return CheckResult(std::string(value), false);
    case 2: {
      Result<std::string> decoded = internal::Base64DecodeLenient(value);
      if (!decoded.ok()) return DecodeFailed("password is not Base64");
      return CheckResult(std::move(decoded).value(), true);
    }
    case 3: {
      if (value.size() != 32) return DecodeFailed("MD5 password must be 32 hex digits");
      std::string out(value);
      for (char& c : out) {
        if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
          return DecodeFailed("MD5 password must be 32 hex digits");
        }
      }
      return out;
    }
    case 4: {
      const char* name = AesEcbName(keys.aes_key.size());
      if (name == nullptr) {
        return Error{kUnsupportedEncryptionType, "no AES key configured for this app"};
      }
      return DecryptEcb(name, keys.aes_key, value, 16);
    }
    case 5:
      if (keys.des3_key.size() < 24) {
        return Error{kUnsupportedEncryptionType, "no 3DES key configured for this app"};
      }
      return DecryptEcb("DES-EDE3-ECB", std::string_view(keys.des3_key).substr(0, 24), value, 8);
  }
  return Error{kUnsupportedEncryptionType, "encryptiontype must be 1..5"};
}

}  // namespace tongban::crypto
