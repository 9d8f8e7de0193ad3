#include "crypto/secret_box.h"

#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>

#include "crypto/encoding.h"
#include "crypto/internal.h"

namespace tongban::crypto {
namespace {

constexpr std::string_view kVersion = "v1";
constexpr size_t kGcmNonceBytes = 12;
constexpr size_t kGcmTagBytes = 16;
constexpr size_t kSm4BlockBytes = 16;
constexpr size_t kSm3MacBytes = 32;
constexpr size_t kKeyFileMaxBytes = 1024;

// Labels that keep the derived SM4 and MAC keys independent of each other and
// of the AES key, which is the master key itself.
constexpr std::string_view kSm4EncLabel = "tongban/secret-box/v1/sm4-cbc/encryption";
constexpr std::string_view kSm4MacLabel = "tongban/secret-box/v1/hmac-sm3/authentication";

struct CipherCtxDeleter {
  void operator()(EVP_CIPHER_CTX* ctx) const { EVP_CIPHER_CTX_free(ctx); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxDeleter>;

CipherCtx NewCipherCtx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new());
  if (!ctx) internal::FatalOpenSsl("EVP_CIPHER_CTX_new");
  return ctx;
}

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }
  int Release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

Error IoError(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT) return Error::NotFound(std::move(msg));
  if (err == EACCES || err == EPERM) return Error::PermissionDenied(std::move(msg));
  return Error::Unavailable(std::move(msg));
}

Error Malformed() { return Error::InvalidArgument("sealed secret is malformed"); }
Error AuthFailed() {
  return Error::PermissionDenied("sealed secret failed authentication (wrong key or tampered)");
}

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

std::string Header(SecretAlgorithm algorithm) {
  std::string h(kVersion);
  h += ':';
  h += SecretAlgorithmName(algorithm);
  h += ':';
  return h;
}

// The MAC input: fixed header, length-prefixed context, fixed-size IV, then
// the ciphertext, so no two distinct inputs share an encoding.
void Sm4Mac(const std::array<uint8_t, 32>& mac_key, std::string_view header,
            std::string_view context, std::string_view iv, std::string_view ct, uint8_t* out) {
  uint8_t len_be[8];
  uint64_t n = context.size();
  for (int i = 7; i >= 0; --i) {
    len_be[i] = static_cast<uint8_t>(n & 0xff);
    n >>= 8;
  }
  std::string_view key(reinterpret_cast<const char*>(mac_key.data()), mac_key.size());
  std::string_view len_view(reinterpret_cast<const char*>(len_be), sizeof(len_be));
  internal::HmacParts(internal::Md::kSm3, key, {header, len_view, context, iv, ct}, out);
}

}  // namespace

Result<SecretAlgorithm> ParseSecretAlgorithm(std::string_view name) {
  if (name == "aes-256-gcm") return SecretAlgorithm::kAes256Gcm;
  if (name == "sm4-cbc-hmac-sm3") return SecretAlgorithm::kSm4CbcHmacSm3;
  return Error::InvalidArgument(
      "unknown secret algorithm (expected aes-256-gcm or sm4-cbc-hmac-sm3)");
}

std::string_view SecretAlgorithmName(SecretAlgorithm algorithm) {
  switch (algorithm) {
    case SecretAlgorithm::kAes256Gcm:
      return "aes-256-gcm";
    case SecretAlgorithm::kSm4CbcHmacSm3:
      return "sm4-cbc-hmac-sm3";
  }
  return "";
}

SecretBox::SecretBox(std::string_view key, Random& random, SecretAlgorithm algorithm)
    : random_(&random), algorithm_(algorithm) {
  std::memcpy(key_.data(), key.data(), kKeySize);
  uint8_t derived[32];
  internal::HmacParts(internal::Md::kSm3, key, {kSm4EncLabel}, derived);
  std::memcpy(sm4_key_.data(), derived, sm4_key_.size());
  internal::HmacParts(internal::Md::kSm3, key, {kSm4MacLabel}, mac_key_.data());
  OPENSSL_cleanse(derived, sizeof(derived));
}

Result<SecretBox> SecretBox::Create(std::string_view key, Random& random,
                                    SecretAlgorithm algorithm) {
  if (key.size() != kKeySize) return Error::InvalidArgument("secret box key must be 32 bytes");
  return SecretBox(key, random, algorithm);
}

SecretBox::SecretBox(SecretBox&& other) noexcept
    : key_(other.key_),
      sm4_key_(other.sm4_key_),
      mac_key_(other.mac_key_),
      random_(other.random_),
      algorithm_(other.algorithm_) {
  other.Wipe();
}

SecretBox& SecretBox::operator=(SecretBox&& other) noexcept {
  if (this != &other) {
    key_ = other.key_;
    sm4_key_ = other.sm4_key_;
    mac_key_ = other.mac_key_;
    random_ = other.random_;
    algorithm_ = other.algorithm_;
    other.Wipe();
  }
  return *this;
}

SecretBox::~SecretBox() { Wipe(); }

void SecretBox::Wipe() {
  OPENSSL_cleanse(key_.data(), key_.size());
  OPENSSL_cleanse(sm4_key_.data(), sm4_key_.size());
  OPENSSL_cleanse(mac_key_.data(), mac_key_.size());
}

bool SecretBox::IsSealed(std::string_view value) { return value.starts_with("v1:"); }

Result<std::string> SecretBox::Seal(std::string_view plaintext, std::string_view context) const {
  if (plaintext.size() > kMaxPlaintextBytes) return Error::TooLarge("secret too large to seal");
  const std::string header = Header(algorithm_);
  CipherCtx ctx = NewCipherCtx();
  std::string nonce;
  std::string body;
  int n1 = 0;
  int n2 = 0;
  if (algorithm_ == SecretAlgorithm::kAes256Gcm) {
    nonce.resize(kGcmNonceBytes);
    random_->Fill({reinterpret_cast<uint8_t*>(nonce.data()), nonce.size()});
    body.resize(plaintext.size() + kGcmTagBytes);
    auto* out = reinterpret_cast<unsigned char*>(body.data());
    int ignored = 0;
    if (EVP_EncryptInit_ex2(ctx.get(), internal::FetchCipher("AES-256-GCM"), key_.data(),
                            Bytes(nonce), nullptr) != 1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &ignored, Bytes(header),
                          static_cast<int>(header.size())) != 1 ||
        (!context.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &ignored, Bytes(context),
                                               static_cast<int>(context.size())) != 1) ||
        (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), out, &n1, Bytes(plaintext),
                                                 static_cast<int>(plaintext.size())) != 1) ||
        EVP_EncryptFinal_ex(ctx.get(), out + n1, &n2) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kGcmTagBytes, out + n1 + n2) != 1) {
      internal::FatalOpenSsl("AES-256-GCM seal");
    }
  } else {
    nonce.resize(kSm4BlockBytes);
    random_->Fill({reinterpret_cast<uint8_t*>(nonce.data()), nonce.size()});
    body.resize(plaintext.size() + kSm4BlockBytes + kSm3MacBytes);
    auto* out = reinterpret_cast<unsigned char*>(body.data());
    if (EVP_EncryptInit_ex2(ctx.get(), internal::FetchCipher("SM4-CBC"), sm4_key_.data(),
                            Bytes(nonce), nullptr) != 1 ||
        (!plaintext.empty() && EVP_EncryptUpdate(ctx.get(), out, &n1, Bytes(plaintext),
                                                 static_cast<int>(plaintext.size())) != 1) ||
        EVP_EncryptFinal_ex(ctx.get(), out + n1, &n2) != 1) {
      internal::FatalOpenSsl("SM4-CBC seal");
    }
    size_t ct_len = static_cast<size_t>(n1) + static_cast<size_t>(n2);
    Sm4Mac(mac_key_, header, context, nonce, std::string_view(body.data(), ct_len), out + ct_len);
    body.resize(ct_len + kSm3MacBytes);
  }
  std::string sealed = header;
  sealed += Base64Encode(nonce);
  sealed += ':';
  sealed += Base64Encode(body);
  return sealed;
}

Result<std::string> SecretBox::Open(std::string_view sealed, std::string_view context) const {
  // v1:<algorithm>:<nonce>:<body>
  size_t c1 = sealed.find(':');
  size_t c2 = c1 == std::string_view::npos ? c1 : sealed.find(':', c1 + 1);
  size_t c3 = c2 == std::string_view::npos ? c2 : sealed.find(':', c2 + 1);
  if (c3 == std::string_view::npos || sealed.substr(0, c1) != kVersion) return Malformed();
  Result<SecretAlgorithm> algorithm = ParseSecretAlgorithm(sealed.substr(c1 + 1, c2 - c1 - 1));
  if (!algorithm.ok()) return Malformed();
  Result<std::string> nonce = Base64Decode(sealed.substr(c2 + 1, c3 - c2 - 1));
  Result<std::string> body = Base64Decode(sealed.substr(c3 + 1));
  if (!nonce.ok() || !body.ok()) return Malformed();
  const std::string header = Header(*algorithm);

  CipherCtx ctx = NewCipherCtx();
  std::string plain;
  int n1 = 0;
  int n2 = 0;
  if (*algorithm == SecretAlgorithm::kAes256Gcm) {
    if (nonce->size() != kGcmNonceBytes || body->size() < kGcmTagBytes) return Malformed();
    size_t ct_len = body->size() - kGcmTagBytes;
    plain.resize(ct_len);
    auto* out = reinterpret_cast<unsigned char*>(plain.data());
    int ignored = 0;
    if (EVP_DecryptInit_ex2(ctx.get(), internal::FetchCipher("AES-256-GCM"), key_.data(),
                            Bytes(*nonce), nullptr) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &ignored, Bytes(header),
                          static_cast<int>(header.size())) != 1 ||
        (!context.empty() && EVP_DecryptUpdate(ctx.get(), nullptr, &ignored, Bytes(context),
                                               static_cast<int>(context.size())) != 1) ||
        (ct_len > 0 &&
         EVP_DecryptUpdate(ctx.get(), out, &n1, Bytes(*body), static_cast<int>(ct_len)) != 1)) {
      internal::FatalOpenSsl("AES-256-GCM open");
    }
    std::string tag = body->substr(ct_len);
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kGcmTagBytes, tag.data()) != 1) {
      internal::FatalOpenSsl("AES-256-GCM set tag");
    }
    if (EVP_DecryptFinal_ex(ctx.get(), out + n1, &n2) != 1) {
      OPENSSL_cleanse(plain.data(), plain.size());
      return AuthFailed();
    }
  } else {
    if (nonce->size() != kSm4BlockBytes || body->size() < kSm4BlockBytes + kSm3MacBytes ||
        (body->size() - kSm3MacBytes) % kSm4BlockBytes != 0) {
      return Malformed();
    }
    size_t ct_len = body->size() - kSm3MacBytes;
    std::string_view ct(body->data(), ct_len);
    uint8_t mac[kSm3MacBytes];
    Sm4Mac(mac_key_, header, context, *nonce, ct, mac);
    if (CRYPTO_memcmp(mac, body->data() + ct_len, kSm3MacBytes) != 0) return AuthFailed();
    plain.resize(ct_len);
    auto* out = reinterpret_cast<unsigned char*>(plain.data());
    // Padding cannot be wrong once the MAC matched, short of a bug in Seal.
    if (EVP_DecryptInit_ex2(ctx.get(), internal::FetchCipher("SM4-CBC"), sm4_key_.data(),
                            Bytes(*nonce), nullptr) != 1 ||
        EVP_DecryptUpdate(ctx.get(), out, &n1, Bytes(ct), static_cast<int>(ct_len)) != 1 ||
        EVP_DecryptFinal_ex(ctx.get(), out + n1, &n2) != 1) {
      OPENSSL_cleanse(plain.data(), plain.size());
      return Error::Internal("SM4-CBC padding invalid under a valid MAC");
    }
  }
  plain.resize(static_cast<size_t>(n1) + static_cast<size_t>(n2));
  return plain;
}

Status SecretBox::GenerateKeyFile(const std::string& path, Random& random) {
  Fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) {
    int err = errno;
    if (err == EEXIST) return Error::AlreadyExists("key file already exists: " + path);
    return IoError("cannot create key file", path, err);
  }
  uint8_t key[kKeySize];
  random.Fill(key);
  char text[2 * kKeySize + 1];
  internal::HexEncodeTo(key, kKeySize, text);
  text[2 * kKeySize] = '\n';
  OPENSSL_cleanse(key, sizeof(key));

  int err = 0;
  if (::fchmod(fd.get(), 0600) != 0) err = errno;
  size_t written = 0;
  while (err == 0 && written < sizeof(text)) {
    ssize_t n = ::write(fd.get(), text + written, sizeof(text) - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
    } else {
      written += static_cast<size_t>(n);
    }
  }
  OPENSSL_cleanse(text, sizeof(text));
  if (err == 0 && ::fsync(fd.get()) != 0) err = errno;
  if (err == 0 && ::close(fd.Release()) != 0) err = errno;
  if (err != 0) {
    ::unlink(path.c_str());
    return IoError("cannot write key file", path, err);
  }
  // Make the new directory entry durable too; a lost key file after a crash
  // would orphan every secret sealed with it.
  std::string dir = std::filesystem::path(path).parent_path().string();
  Fd dir_fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return Status::Ok();
}

Result<std::string> SecretBox::LoadKeyFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot open key file", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoError("cannot stat key file", path, errno);
  if (!S_ISREG(st.st_mode))
    return Error::InvalidArgument("key file is not a regular file: " + path);
  if ((st.st_mode & 077) != 0) {
    return Error::PermissionDenied("key file " + path +
                                   " is accessible by group or others; run chmod 600 on it");
  }
  char buf[kKeyFileMaxBytes];
  size_t len = 0;
  while (len < sizeof(buf)) {
    ssize_t n = ::read(fd.get(), buf + len, sizeof(buf) - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      OPENSSL_cleanse(buf, sizeof(buf));
      return IoError("cannot read key file", path, err);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r' || buf[len - 1] == ' ')) --len;
  std::string key(kKeySize, '\0');
  bool ok = internal::HexDecodeTo(std::string_view(buf, len),
                                  reinterpret_cast<uint8_t*>(key.data()), kKeySize);
  OPENSSL_cleanse(buf, sizeof(buf));
  if (!ok) {
    OPENSSL_cleanse(key.data(), key.size());
    return Error::InvalidArgument("key file " + path + " does not hold 64 hex digits");
  }
  return key;
}

}  // namespace tongban::crypto
