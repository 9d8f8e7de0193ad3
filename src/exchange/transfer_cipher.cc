#include "exchange/transfer_cipher.h"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <array>
#include <climits>
#include <span>
#include <stdexcept>

#include "crypto/encoding.h"

namespace tongban::exchange {
namespace {

constexpr size_t kSm4KeyBytes = 16;
constexpr size_t kSm4IvBytes = 16;
constexpr size_t kMacKeyBytes = 32;
constexpr size_t kMacBytes = 32;
constexpr size_t kAesKeyBytes = 32;
constexpr size_t kGcmIvBytes = 12;
constexpr size_t kGcmTagBytes = 16;

struct CipherCtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
struct CipherFree {
  void operator()(EVP_CIPHER* c) const { EVP_CIPHER_free(c); }
};
struct MacFree {
  void operator()(EVP_MAC* m) const { EVP_MAC_free(m); }
};
struct MacCtxFree {
  void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;
using FetchedCipher = std::unique_ptr<EVP_CIPHER, CipherFree>;

const char* FetchName(TransferCipher cipher) {
  return cipher == TransferCipher::kSm4Ctr ? "SM4-CTR" : "AES-256-GCM";
}

FetchedCipher Fetch(TransferCipher cipher) {
  return FetchedCipher(EVP_CIPHER_fetch(nullptr, FetchName(cipher), nullptr));
}

const unsigned char* U(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}
unsigned char* U(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

// EVP's update takes int lengths: feed large buffers in pieces.
constexpr size_t kPiece = 1 << 30;

Status CtrCrypt(const EVP_CIPHER* type, std::string_view key, std::string_view iv,
                std::string& data) {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), type, U(key), U(iv), nullptr) != 1) {
    return Error::Internal("transfer cipher: SM4-CTR init failed");
  }
  for (size_t at = 0; at < data.size(); at += kPiece) {
    int n = static_cast<int>(std::min(kPiece, data.size() - at));
    int out = 0;
    unsigned char* p = U(data) + at;
    if (EVP_EncryptUpdate(ctx.get(), p, &out, p, n) != 1) {
      return Error::Internal("transfer cipher: SM4-CTR failed");
    }
  }
  return Status::Ok();
}

// HMAC-SM3 over iv || data, without joining them.
Result<std::string> MacSm3(std::string_view key, std::string_view iv, std::string_view data) {
  std::unique_ptr<EVP_MAC, MacFree> mac(EVP_MAC_fetch(nullptr, "HMAC", nullptr));
  if (!mac) return Error::Unavailable("transfer cipher: HMAC not available");
  std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx(EVP_MAC_CTX_new(mac.get()));
  char digest[] = "SM3";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                         OSSL_PARAM_construct_end()};
  if (!ctx || EVP_MAC_init(ctx.get(), U(key), key.size(), params) != 1 ||
      EVP_MAC_update(ctx.get(), U(iv), iv.size()) != 1 ||
      EVP_MAC_update(ctx.get(), U(data), data.size()) != 1) {
    return Error::Unavailable("transfer cipher: HMAC-SM3 not available");
  }
  std::string out(kMacBytes, '\0');
  size_t len = 0;
  if (EVP_MAC_final(ctx.get(), U(out), &len, out.size()) != 1 || len != kMacBytes) {
    return Error::Internal("transfer cipher: HMAC-SM3 failed");
  }
  return out;
}

}  // namespace

Result<DigestAlgorithm> ParseDigestAlgorithm(std::string_view name) {
  if (name == "sha256" || name == "sha-256" || name == "SHA-256" || name == "SHA256") {
    return DigestAlgorithm::kSha256;
  }
  if (name == "sm3" || name == "SM3") return DigestAlgorithm::kSm3;
  return Error::InvalidArgument("digest algorithm must be sha256 or sm3");
}

std::string_view DigestAlgorithmName(DigestAlgorithm algorithm) {
  return algorithm == DigestAlgorithm::kSm3 ? "sm3" : "sha256";
}

struct StreamingDigest::Impl {
  EVP_MD_CTX* ctx = nullptr;
};

StreamingDigest::StreamingDigest(DigestAlgorithm algorithm) : impl_(std::make_unique<Impl>()) {
  impl_->ctx = EVP_MD_CTX_new();
  const EVP_MD* md = algorithm == DigestAlgorithm::kSm3 ? EVP_sm3() : EVP_sha256();
  // Only allocation failure can fail here: a programming-level condition.
  if (!impl_->ctx || EVP_DigestInit_ex(impl_->ctx, md, nullptr) != 1) {
    throw std::runtime_error("StreamingDigest: cannot initialise the digest");
  }
}

StreamingDigest::~StreamingDigest() { EVP_MD_CTX_free(impl_->ctx); }

void StreamingDigest::Update(std::string_view bytes) {
  EVP_DigestUpdate(impl_->ctx, bytes.data(), bytes.size());
}

std::string StreamingDigest::FinalHex() {
  std::array<unsigned char, EVP_MAX_MD_SIZE> out{};
  unsigned int len = 0;
  EVP_DigestFinal_ex(impl_->ctx, out.data(), &len);
  return crypto::HexEncode(std::string_view(reinterpret_cast<const char*>(out.data()), len));
}

std::string DigestHex(DigestAlgorithm algorithm, std::string_view bytes) {
  StreamingDigest digest(algorithm);
  digest.Update(bytes);
  return digest.FinalHex();
}

Result<TransferCipher> ParseTransferCipher(std::string_view name) {
  if (name.empty() || name == "none") return TransferCipher::kNone;
  if (name == "sm4" || name == "sm4-ctr") return TransferCipher::kSm4Ctr;
  if (name == "aes-256-gcm") return TransferCipher::kAes256Gcm;
  return Error::InvalidArgument("encryption must be none, sm4 or aes-256-gcm");
}

std::string_view TransferCipherName(TransferCipher cipher) {
  switch (cipher) {
    case TransferCipher::kSm4Ctr:
      return "sm4-ctr";
    case TransferCipher::kAes256Gcm:
      return "aes-256-gcm";
    case TransferCipher::kNone:
      break;
  }
  return "none";
}

Status CheckCipherAvailable(TransferCipher cipher) {
  if (cipher == TransferCipher::kNone) return Status::Ok();
  if (!Fetch(cipher)) {
    return Error::Unavailable(std::string("this server's OpenSSL has no ") + FetchName(cipher) +
                              (cipher == TransferCipher::kSm4Ctr ? "; use aes-256-gcm" : ""));
  }
  if (cipher == TransferCipher::kSm4Ctr) {
    std::unique_ptr<EVP_MD, void (*)(EVP_MD*)> sm3(EVP_MD_fetch(nullptr, "SM3", nullptr),
                                                   EVP_MD_free);
    if (!sm3) return Error::Unavailable("this server's OpenSSL has no SM3; use aes-256-gcm");
  }
  return Status::Ok();
}

std::string ChunkCipher::NewKey(TransferCipher cipher, Random& random) {
  size_t bytes = cipher == TransferCipher::kSm4Ctr      ? kSm4KeyBytes + kMacKeyBytes
                 : cipher == TransferCipher::kAes256Gcm ? kAesKeyBytes
                                                        : 0;
  std::string key(bytes, '\0');
  random.Fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(key.data()), key.size()));
  return key;
}

Result<ChunkCipher> ChunkCipher::Create(TransferCipher cipher, std::string key) {
  const size_t want = cipher == TransferCipher::kSm4Ctr      ? kSm4KeyBytes + kMacKeyBytes
                      : cipher == TransferCipher::kAes256Gcm ? kAesKeyBytes
                                                             : 0;
  if (key.size() != want) return Error::InvalidArgument("transfer key has the wrong size");
  return ChunkCipher(cipher, std::move(key));
}

ChunkCipher::~ChunkCipher() {
  if (!key_.empty()) OPENSSL_cleanse(key_.data(), key_.size());
}

Status ChunkCipher::Seal(std::string& data, Random& random, std::string* iv,
                         std::string* tag) const {
  iv->clear();
  tag->clear();
  if (cipher_ == TransferCipher::kNone) return Status::Ok();
  FetchedCipher type = Fetch(cipher_);
  if (!type) return CheckCipherAvailable(cipher_);
  iv->assign(cipher_ == TransferCipher::kSm4Ctr ? kSm4IvBytes : kGcmIvBytes, '\0');
  random.Fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(iv->data()), iv->size()));
  if (cipher_ == TransferCipher::kSm4Ctr) {
    std::string_view key(key_);
    TB_RETURN_IF_ERROR(CtrCrypt(type.get(), key.substr(0, kSm4KeyBytes), *iv, data));
    auto mac = MacSm3(key.substr(kSm4KeyBytes), *iv, data);
    if (!mac.ok()) return std::move(mac).error();
    *tag = std::move(*mac);
    return Status::Ok();
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_EncryptInit_ex2(ctx.get(), type.get(), U(key_), U(*iv), nullptr) != 1) {
    return Error::Internal("transfer cipher: AES-256-GCM init failed");
  }
  for (size_t at = 0; at < data.size(); at += kPiece) {
    int n = static_cast<int>(std::min(kPiece, data.size() - at));
    int out = 0;
    unsigned char* p = U(data) + at;
    if (EVP_EncryptUpdate(ctx.get(), p, &out, p, n) != 1) {
      return Error::Internal("transfer cipher: AES-256-GCM failed");
    }
  }
  int out = 0;
  unsigned char end[16];
  tag->assign(kGcmTagBytes, '\0');
  if (EVP_EncryptFinal_ex(ctx.get(), end, &out) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, U(*tag)) != 1) {
    return Error::Internal("transfer cipher: AES-256-GCM tag failed");
  }
  return Status::Ok();
}

Status ChunkCipher::Open(std::string& data, std::string_view iv, std::string_view tag) const {
  if (cipher_ == TransferCipher::kNone) return Status::Ok();
  FetchedCipher type = Fetch(cipher_);
  if (!type) return CheckCipherAvailable(cipher_);
  if (cipher_ == TransferCipher::kSm4Ctr) {
    if (iv.size() != kSm4IvBytes || tag.size() != kMacBytes) {
      return Error::PermissionDenied("stored chunk: malformed IV or tag");
    }
    std::string_view key(key_);
    auto mac = MacSm3(key.substr(kSm4KeyBytes), iv, data);
    if (!mac.ok()) return std::move(mac).error();
    if (CRYPTO_memcmp(mac->data(), tag.data(), kMacBytes) != 0) {
      return Error::PermissionDenied("stored chunk: HMAC-SM3 does not verify");
    }
    return CtrCrypt(type.get(), key.substr(0, kSm4KeyBytes), iv, data);
  }
  if (iv.size() != kGcmIvBytes || tag.size() != kGcmTagBytes) {
    return Error::PermissionDenied("stored chunk: malformed IV or tag");
  }
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx || EVP_DecryptInit_ex2(ctx.get(), type.get(), U(key_), U(iv), nullptr) != 1) {
    return Error::Internal("transfer cipher: AES-256-GCM init failed");
  }
  for (size_t at = 0; at < data.size(); at += kPiece) {
    int n = static_cast<int>(std::min(kPiece, data.size() - at));
    int out = 0;
    unsigned char* p = U(data) + at;
    if (EVP_DecryptUpdate(ctx.get(), p, &out, p, n) != 1) {
      return Error::Internal("transfer cipher: AES-256-GCM failed");
    }
  }
  std::string expected(tag);
  int out = 0;
  unsigned char end[16];
  if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, U(expected)) != 1 ||
      EVP_DecryptFinal_ex(ctx.get(), end, &out) != 1) {
    return Error::PermissionDenied("stored chunk: AES-256-GCM tag does not verify");
  }
  return Status::Ok();
}

}  // namespace tongban::exchange
