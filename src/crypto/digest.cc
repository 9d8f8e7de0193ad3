#include "crypto/digest.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <unordered_map>

#include "crypto/internal.h"

namespace tongban::crypto {
namespace internal {
namespace {

// MD5, SHA-1, SHA-256 and SM3 all use 64-byte blocks; HMAC below relies on it.
constexpr size_t kBlockSize = 64;

const char* MdName(Md md) {
  switch (md) {
    case Md::kMd5:
      return "MD5";
    case Md::kSha1:
      return "SHA1";
    case Md::kSha256:
      return "SHA256";
    case Md::kSm3:
      return "SM3";
  }
  return "";
}

EVP_MD* FetchOrDie(const char* name) {
  EVP_MD* md = EVP_MD_fetch(nullptr, name, nullptr);
  if (md == nullptr) FatalOpenSsl(name);
  return md;
}

// One digest context per thread, re-initialised for each message. It owns
// nothing shared, so no locking is needed.
struct ThreadDigestContext {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  ~ThreadDigestContext() { EVP_MD_CTX_free(ctx); }
};

EVP_MD_CTX* ThreadContext() {
  thread_local ThreadDigestContext holder;
  if (holder.ctx == nullptr) FatalOpenSsl("EVP_MD_CTX_new");
  return holder.ctx;
}

}  // namespace

void FatalOpenSsl(const char* what) {
  auto err = ERR_peek_last_error();
  char buf[256];
  ERR_error_string_n(err, buf, sizeof(buf));
  std::fprintf(stderr, "tongban: OpenSSL failure in %s: %s; refusing to continue\n", what, buf);
  std::abort();
}

size_t MdSize(Md md) {
  switch (md) {
    case Md::kMd5:
      return 16;
    case Md::kSha1:
      return 20;
    case Md::kSha256:
    case Md::kSm3:
      return 32;
  }
  return 0;
}

const EVP_MD* FetchMd(Md md) {
  // Deliberately never freed: the handles must outlive every thread-local
  // context, and OpenSSL tears its providers down at exit anyway.
  static EVP_MD* const kMds[] = {FetchOrDie(MdName(Md::kMd5)), FetchOrDie(MdName(Md::kSha1)),
                                 FetchOrDie(MdName(Md::kSha256)), FetchOrDie(MdName(Md::kSm3))};
  return kMds[static_cast<int>(md)];
}

const EVP_CIPHER* FetchCipher(const char* name) {
  // Few distinct names are ever asked for; the map only grows at start-up.
  // The fetched ciphers are never freed, like the digests above.
  static std::mutex mu;
  static std::unordered_map<std::string, EVP_CIPHER*> ciphers;
  std::lock_guard<std::mutex> lock(mu);
  auto [it, inserted] = ciphers.try_emplace(name, nullptr);
  if (inserted) {
    it->second = EVP_CIPHER_fetch(nullptr, name, nullptr);
    if (it->second == nullptr) FatalOpenSsl(name);
  }
  return it->second;
}

void DigestParts(Md md, std::initializer_list<std::string_view> parts, uint8_t* out) {
  EVP_MD_CTX* ctx = ThreadContext();
  if (EVP_DigestInit_ex2(ctx, FetchMd(md), nullptr) != 1) FatalOpenSsl("EVP_DigestInit_ex2");
  for (std::string_view p : parts) {
    if (!p.empty() && EVP_DigestUpdate(ctx, p.data(), p.size()) != 1) {
      FatalOpenSsl("EVP_DigestUpdate");
    }
  }
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, out, &len) != 1) FatalOpenSsl("EVP_DigestFinal_ex");
}

// RFC 2104 over the thread's digest context. OpenSSL 3.0's EVP_MAC copies the
// key into freshly allocated secure memory on every re-key, and signing uses a
// different key (the app's servicepwd) on nearly every call.
void HmacParts(Md md, std::string_view key, std::initializer_list<std::string_view> parts,
               uint8_t* out) {
  uint8_t key_block[kBlockSize] = {};
  if (key.size() > kBlockSize) {
    DigestParts(md, {key}, key_block);
  } else if (!key.empty()) {
    std::memcpy(key_block, key.data(), key.size());
  }
  uint8_t pad[kBlockSize];
  for (size_t i = 0; i < kBlockSize; ++i) pad[i] = key_block[i] ^ 0x36;

  EVP_MD_CTX* ctx = ThreadContext();
  const EVP_MD* evp_md = FetchMd(md);
  uint8_t inner[kMaxMdSize];
  unsigned int len = 0;
  if (EVP_DigestInit_ex2(ctx, evp_md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, pad, kBlockSize) != 1) {
    FatalOpenSsl("HMAC inner init");
  }
  for (std::string_view p : parts) {
    if (!p.empty() && EVP_DigestUpdate(ctx, p.data(), p.size()) != 1) {
      FatalOpenSsl("HMAC inner update");
    }
  }
  if (EVP_DigestFinal_ex(ctx, inner, &len) != 1) FatalOpenSsl("HMAC inner final");

  for (size_t i = 0; i < kBlockSize; ++i) pad[i] = key_block[i] ^ 0x5c;
  if (EVP_DigestInit_ex2(ctx, evp_md, nullptr) != 1 ||
      EVP_DigestUpdate(ctx, pad, kBlockSize) != 1 || EVP_DigestUpdate(ctx, inner, len) != 1 ||
      EVP_DigestFinal_ex(ctx, out, &len) != 1) {
    FatalOpenSsl("HMAC outer");
  }
  OPENSSL_cleanse(key_block, sizeof(key_block));
  OPENSSL_cleanse(pad, sizeof(pad));
  OPENSSL_cleanse(inner, sizeof(inner));
}

}  // namespace internal

namespace {

std::string HexDigest(internal::Md md, std::string_view data) {
  uint8_t buf[internal::kMaxMdSize];
  internal::DigestParts(md, {data}, buf);
  size_t n = internal::MdSize(md);
  std::string out(2 * n, '\0');
  internal::HexEncodeTo(buf, n, out.data());
  return out;
}

std::string RawDigest(internal::Md md, std::string_view data) {
  std::string out(internal::MdSize(md), '\0');
  internal::DigestParts(md, {data}, reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

std::string RawHmac(internal::Md md, std::string_view key, std::string_view data) {
  std::string out(internal::MdSize(md), '\0');
  internal::HmacParts(md, key, {data}, reinterpret_cast<uint8_t*>(out.data()));
  return out;
}

}  // namespace

std::string Md5Hex(std::string_view data) { return HexDigest(internal::Md::kMd5, data); }
std::string Sha1Hex(std::string_view data) { return HexDigest(internal::Md::kSha1, data); }
std::string Sha256Hex(std::string_view data) { return HexDigest(internal::Md::kSha256, data); }
std::string Sm3Hex(std::string_view data) { return HexDigest(internal::Md::kSm3, data); }
std::string Sha256(std::string_view data) { return RawDigest(internal::Md::kSha256, data); }

void AppendSha256Hex(std::string_view data, size_t hex_chars, std::string& out) {
  uint8_t digest[32];
  internal::DigestParts(internal::Md::kSha256, {data}, digest);
  char hex[64];
  internal::HexEncodeTo(digest, sizeof(digest), hex);
  out.append(hex, std::min<size_t>(hex_chars, sizeof(hex)));
}
std::string Sm3(std::string_view data) { return RawDigest(internal::Md::kSm3, data); }

std::string HmacSha256(std::string_view key, std::string_view data) {
  return RawHmac(internal::Md::kSha256, key, data);
}

std::string HmacSm3(std::string_view key, std::string_view data) {
  return RawHmac(internal::Md::kSm3, key, data);
}

std::string HmacSha1(std::string_view key, std::string_view data) {
  return RawHmac(internal::Md::kSha1, key, data);
}

}  // namespace tongban::crypto
