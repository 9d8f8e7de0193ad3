// The cryptography of big-file transfers: whole-file digests computed as the
// bytes stream past (SHA-256 or SM3, never the whole file in memory), and the
// per-chunk encryption at rest (SM4-CTR with HMAC-SM3, or AES-256-GCM) under
// a per-transfer key. Used by TransferStore (transfer.h) only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "core/random.h"
#include "core/result.h"

namespace tongban::exchange {

enum class DigestAlgorithm { kSha256, kSm3 };
// "sha256" / "sm3"; InvalidArgument otherwise.
Result<DigestAlgorithm> ParseDigestAlgorithm(std::string_view name);
std::string_view DigestAlgorithmName(DigestAlgorithm algorithm);

// A digest fed piece by piece. Not thread-safe; one per file.
class StreamingDigest {
 public:
  explicit StreamingDigest(DigestAlgorithm algorithm);
  ~StreamingDigest();
  StreamingDigest(const StreamingDigest&) = delete;
  StreamingDigest& operator=(const StreamingDigest&) = delete;

  void Update(std::string_view bytes);
  // Lowercase hex of the digest of everything fed; the digest is spent after.
  std::string FinalHex();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One-shot lowercase hex digest.
std::string DigestHex(DigestAlgorithm algorithm, std::string_view bytes);

// How chunks are kept on disk.
enum class TransferCipher {
  kNone,
  // SM4 (GB/T 32907) in CTR mode, then HMAC-SM3 over IV and ciphertext
  // (encrypt-then-MAC): OpenSSL 3.0 has no SM4-GCM.
  kSm4Ctr,
  kAes256Gcm,
};
// "" or "none", "sm4" (also "sm4-ctr"), "aes-256-gcm"; InvalidArgument otherwise.
Result<TransferCipher> ParseTransferCipher(std::string_view name);
std::string_view TransferCipherName(TransferCipher cipher);  // "none", "sm4-ctr", "aes-256-gcm"
// Unavailable (with a message saying what to use instead) when this
// process's OpenSSL providers lack the cipher, e.g. SM4 on a FIPS build.
Status CheckCipherAvailable(TransferCipher cipher);

// Encrypts and decrypts the chunks of one transfer. Each chunk gets a fresh
// random IV (so a chunk re-sent after a crash never reuses one) and a tag;
// ciphertext is exactly as long as the plaintext, so offsets in the file are
// the plaintext's offsets. Thread-safe (holds only the key).
class ChunkCipher {
 public:
  // Random key material for a new transfer (16 + 32 bytes for SM4-CTR with
  // HMAC-SM3, 32 bytes for AES-256-GCM; empty for kNone).
  static std::string NewKey(TransferCipher cipher, Random& random);
  // InvalidArgument when `key` is not NewKey's size for `cipher`.
  static Result<ChunkCipher> Create(TransferCipher cipher, std::string key);

  TransferCipher cipher() const { return cipher_; }
  // Encrypts `data` in place; `iv` and `tag` receive what Open needs.
  Status Seal(std::string& data, Random& random, std::string* iv, std::string* tag) const;
  // Decrypts `data` in place; PermissionDenied when the tag does not verify
  // (the stored chunk was altered or belongs elsewhere).
  Status Open(std::string& data, std::string_view iv, std::string_view tag) const;

  ~ChunkCipher();
  ChunkCipher(ChunkCipher&&) noexcept = default;
  ChunkCipher& operator=(ChunkCipher&&) noexcept = default;

 private:
  ChunkCipher(TransferCipher cipher, std::string key) : cipher_(cipher), key_(std::move(key)) {}
  TransferCipher cipher_;
  std::string key_;
};

}  // namespace tongban::exchange
