// Encryption at rest for secrets tongban must be able to read back, chiefly
// each app's servicepwd (MD5 signing needs it in clear). Used by directory/
// to store app credentials and by app/ to load the master key at start-up.
// The sealed text names its algorithm, so deployments can switch between
// AES-256-GCM and the national SM4 suite and still open older values.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/random.h"
#include "core/result.h"

namespace tongban::crypto {

enum class SecretAlgorithm {
  kAes256Gcm,  // "aes-256-gcm", the default
  // "sm4-cbc-hmac-sm3": SM4-CBC then HMAC-SM3 over everything (encrypt-then-MAC),
  // with both keys derived from the master key. OpenSSL 3.0, which Debian 12
  // ships, has no SM4-GCM.
  kSm4CbcHmacSm3,
};

// "aes-256-gcm" or "sm4-cbc-hmac-sm3"; InvalidArgument otherwise.
Result<SecretAlgorithm> ParseSecretAlgorithm(std::string_view name);
std::string_view SecretAlgorithmName(SecretAlgorithm algorithm);

// Seals with one 32-byte master key. Sealed form:
//   "v1:<algorithm>:<Base64 nonce or IV>:<Base64 ciphertext + tag>"
// Thread-safe when the Random is (OpenSslRandom is).
class SecretBox {
 public:
  static constexpr size_t kKeySize = 32;
  static constexpr size_t kMaxPlaintextBytes = 64 * 1024;

  // `key` is kKeySize raw bytes; `random` supplies nonces and must outlive the
  // box. InvalidArgument for a key of another size.
  static Result<SecretBox> Create(std::string_view key, Random& random,
                                  SecretAlgorithm algorithm = SecretAlgorithm::kAes256Gcm);

  // Writes a new random key as 64 hex digits and a newline to a file created
  // with mode 0600. Never overwrites: AlreadyExists if `path` exists, since
  // replacing a master key makes every sealed secret unreadable.
  static Status GenerateKeyFile(const std::string& path, Random& random);
  // Reads a key written by GenerateKeyFile. PermissionDenied when group or
  // others have any access to the file (fix with chmod 600), InvalidArgument
  // for content that is not 64 hex digits, NotFound/Unavailable for I/O errors.
  static Result<std::string> LoadKeyFile(const std::string& path);

  SecretBox(SecretBox&& other) noexcept;
  SecretBox& operator=(SecretBox&& other) noexcept;
  SecretBox(const SecretBox&) = delete;
  SecretBox& operator=(const SecretBox&) = delete;
  ~SecretBox();

  // Encrypts and authenticates `plaintext` (at most kMaxPlaintextBytes, else
  // TooLarge) with the box's algorithm. `context` is authenticated but not
  // stored (e.g. the app's servicecode): Open must be given the same value, so
  // a sealed secret copied to another row does not open there.
  Result<std::string> Seal(std::string_view plaintext, std::string_view context = {}) const;
  // Opens any supported algorithm, whatever the box seals with. InvalidArgument
  // for text not in the sealed form; PermissionDenied when authentication
  // fails (wrong key, other context, or tampering).
  Result<std::string> Open(std::string_view sealed, std::string_view context = {}) const;

  // True when `value` looks like output of Seal (starts with "v1:").
  static bool IsSealed(std::string_view value);

 private:
  SecretBox(std::string_view key, Random& random, SecretAlgorithm algorithm);
  void Wipe();

  std::array<uint8_t, kKeySize> key_{};
  std::array<uint8_t, 16> sm4_key_{};  // derived for kSm4CbcHmacSm3
  std::array<uint8_t, 32> mac_key_{};  // derived for kSm4CbcHmacSm3
  Random* random_;
  SecretAlgorithm algorithm_;
};

}  // namespace tongban::crypto
