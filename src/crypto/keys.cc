#include "crypto/keys.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "crypto/internal.h"

namespace tongban::crypto {

struct SigningKey::Impl {
  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl() { EVP_PKEY_free(pkey); }

  EVP_PKEY* pkey = nullptr;
  SigningAlgorithm algorithm = SigningAlgorithm::kRs256;
  bool has_private = false;
  std::string kid;
  // The key's own JWK members in RFC 7638 order ("e","kty","n" or
  // "crv","kty","x","y"): the thumbprint input and the body of the JWK.
  std::string thumbprint_json;
};

namespace {

constexpr size_t kMaxPemBytes = 64 * 1024;
constexpr size_t kEcHalfBytes = 32;
// GB/T 35276's default signer ID, which SM2 verifiers assume when none is agreed.
constexpr std::string_view kSm2DistId = "1234567812345678";
constexpr std::array<SigningAlgorithm, 3> kAllAlgorithms = {
    SigningAlgorithm::kRs256, SigningAlgorithm::kEs256, SigningAlgorithm::kSm2};

struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using Bio = std::unique_ptr<BIO, BioDeleter>;
struct BnDeleter {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
using Bn = std::unique_ptr<BIGNUM, BnDeleter>;
struct MdCtxDeleter {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxDeleter>;
struct PkeyCtxDeleter {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, PkeyCtxDeleter>;
struct EcdsaSigDeleter {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};
using EcdsaSig = std::unique_ptr<ECDSA_SIG, EcdsaSigDeleter>;
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyDeleter>;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// Refuses to prompt for a passphrase: key files are stored unencrypted, with
// file permissions as their protection (like the secret key file).
int NoPassphrase(char*, int, int, void*) { return 0; }

std::string BnBytes(const BIGNUM* bn, int pad_to = 0) {
  int n = pad_to > 0 ? pad_to : BN_num_bytes(bn);
  std::string out(static_cast<size_t>(n), '\0');
  if (BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), n) != n) return {};
  return out;
}

Result<std::string> BnParam(EVP_PKEY* pkey, const char* name, int pad_to = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) {
    ERR_clear_error();
    return Error::InvalidArgument(std::string("key lacks ") + name);
  }
  Bn bn(raw);
  std::string bytes = BnBytes(bn.get(), pad_to);
  if (bytes.empty()) return Error::InvalidArgument(std::string("key member too large: ") + name);
  return bytes;
}

Result<SigningAlgorithm> Classify(EVP_PKEY* pkey) {
  if (EVP_PKEY_is_a(pkey, "RSA")) {
    if (EVP_PKEY_get_bits(pkey) < 2048) {
      return Error::InvalidArgument("RSA signing keys must have at least 2048 bits");
    }
    return SigningAlgorithm::kRs256;
  }
  if (EVP_PKEY_is_a(pkey, "SM2")) return SigningAlgorithm::kSm2;
  if (EVP_PKEY_is_a(pkey, "EC")) {
    char group[64] = {0};
    size_t len = 0;
    if (EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                       &len) == 1 &&
        std::string_view(group, len) == "prime256v1") {
      return SigningAlgorithm::kEs256;
    }
    ERR_clear_error();
    return Error::InvalidArgument("EC signing keys must be on P-256 (or SM2 keys for SM2)");
  }
  return Error::InvalidArgument("unsupported key type (expected RSA, EC P-256 or SM2)");
}

std::string JsonMember(std::string_view name, std::string_view value) {
  std::string out = "\"";
  out.append(name).append("\":\"").append(value).append("\"");
  return out;
}

Result<std::string> ThumbprintJson(EVP_PKEY* pkey, SigningAlgorithm algorithm) {
  if (algorithm == SigningAlgorithm::kRs256) {
    auto n = BnParam(pkey, OSSL_PKEY_PARAM_RSA_N);
    auto e = BnParam(pkey, OSSL_PKEY_PARAM_RSA_E);
    if (!n.ok()) return n.error();
    if (!e.ok()) return e.error();
    std::string json = JsonMember("e", Base64UrlEncode(*e));
    json.append(",").append(JsonMember("kty", "RSA"));
    json.append(",").append(JsonMember("n", Base64UrlEncode(*n)));
    return json;
  }
  auto x = BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, kEcHalfBytes);
  auto y = BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, kEcHalfBytes);
  if (!x.ok()) return x.error();
  if (!y.ok()) return y.error();
  std::string json = JsonMember("crv", algorithm == SigningAlgorithm::kSm2 ? "SM2" : "P-256");
  json.append(",").append(JsonMember("kty", "EC"));
  json.append(",").append(JsonMember("x", Base64UrlEncode(*x)));
  json.append(",").append(JsonMember("y", Base64UrlEncode(*y)));
  return json;
}

const EVP_MD* DigestFor(SigningAlgorithm algorithm) {
  return internal::FetchMd(algorithm == SigningAlgorithm::kSm2 ? internal::Md::kSm3
                                                               : internal::Md::kSha256);
}

// A digest-sign or digest-verify context for one message. For SM2 the signer
// ID must be set on a key context before initialisation, since it enters the
// hashed prefix Z_A; that context is owned here because EVP_MD_CTX does not
// take ownership of one set with EVP_MD_CTX_set_pkey_ctx.
class SignatureContext {
 public:
  SignatureContext(EVP_PKEY* pkey, SigningAlgorithm algorithm, bool sign) : md_(EVP_MD_CTX_new()) {
    if (!md_) internal::FatalOpenSsl("EVP_MD_CTX_new");
    if (algorithm == SigningAlgorithm::kSm2) {
      pctx_.reset(EVP_PKEY_CTX_new(pkey, nullptr));
      if (!pctx_ || EVP_PKEY_CTX_set1_id(pctx_.get(), kSm2DistId.data(),
                                         static_cast<int>(kSm2DistId.size())) <= 0) {
        internal::FatalOpenSsl("SM2 signer ID");
      }
      EVP_MD_CTX_set_pkey_ctx(md_.get(), pctx_.get());
    }
    int rc = sign ? EVP_DigestSignInit(md_.get(), nullptr, DigestFor(algorithm), nullptr, pkey)
                  : EVP_DigestVerifyInit(md_.get(), nullptr, DigestFor(algorithm), nullptr, pkey);
    if (rc != 1) internal::FatalOpenSsl(sign ? "EVP_DigestSignInit" : "EVP_DigestVerifyInit");
  }
  EVP_MD_CTX* get() const { return md_.get(); }

 private:
  PkeyCtx pctx_;  // declared first: destroyed after md_, which refers to it
  MdCtx md_;
};

std::string Ieee(const ECDSA_SIG* sig) {
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig, &r, &s);
  std::string out = BnBytes(r, kEcHalfBytes);
  std::string tail = BnBytes(s, kEcHalfBytes);
  if (out.empty() || tail.empty()) return {};
  return out + tail;
}

Error IoError(const std::string& what, const std::string& path, int err) {
  std::string msg = what + " " + path + ": " + std::strerror(err);
  if (err == ENOENT) return Error::NotFound(std::move(msg));
  if (err == EACCES || err == EPERM) return Error::PermissionDenied(std::move(msg));
  return Error::Unavailable(std::move(msg));
}

std::string CurrentFileName(SigningAlgorithm algorithm) {
  switch (algorithm) {
    case SigningAlgorithm::kRs256:
      return "rs256.pem";
    case SigningAlgorithm::kEs256:
      return "es256.pem";
    case SigningAlgorithm::kSm2:
      return "sm2.pem";
  }
  return {};
}

}  // namespace

Result<SigningAlgorithm> ParseSigningAlgorithm(std::string_view name) {
  for (SigningAlgorithm a : kAllAlgorithms) {
    if (name == SigningAlgorithmName(a)) return a;
  }
  return Error::InvalidArgument("unknown signing algorithm (expected RS256, ES256 or SM2)");
}

std::string_view SigningAlgorithmName(SigningAlgorithm algorithm) {
  switch (algorithm) {
    case SigningAlgorithm::kRs256:
      return "RS256";
    case SigningAlgorithm::kEs256:
      return "ES256";
    case SigningAlgorithm::kSm2:
      return "SM2";
  }
  return "";
}

Result<SigningKey> SigningKey::Generate(SigningAlgorithm algorithm) {
  EVP_PKEY* raw = nullptr;
  switch (algorithm) {
    case SigningAlgorithm::kRs256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case SigningAlgorithm::kEs256:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case SigningAlgorithm::kSm2:
      raw = EVP_PKEY_Q_keygen(nullptr, nullptr, "SM2");
      break;
  }
  if (raw == nullptr) internal::FatalOpenSsl("key generation");
  return Adopt(raw, true);
}

Result<SigningKey> SigningKey::FromPem(std::string_view pem) {
  if (pem.size() > kMaxPemBytes) return Error::TooLarge("PEM key too large");
  bool is_public = pem.find("-----BEGIN PUBLIC KEY-----") != std::string_view::npos;
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) internal::FatalOpenSsl("BIO_new_mem_buf");
  EVP_PKEY* raw = is_public ? PEM_read_bio_PUBKEY(bio.get(), nullptr, NoPassphrase, nullptr)
                            : PEM_read_bio_PrivateKey(bio.get(), nullptr, NoPassphrase, nullptr);
  ERR_clear_error();
  if (raw == nullptr) {
    return Error::InvalidArgument("not a PEM private key or public key (or it is encrypted)");
  }
  return Adopt(raw, !is_public);
}

Result<SigningKey> SigningKey::Adopt(evp_pkey_st* raw, bool has_private) {
  Pkey pkey(raw);
  auto algorithm = Classify(pkey.get());
  if (!algorithm.ok()) return algorithm.error();
  auto thumb = ThumbprintJson(pkey.get(), *algorithm);
  if (!thumb.ok()) return thumb.error();
  auto impl = std::make_shared<Impl>();
  impl->pkey = pkey.release();
  impl->algorithm = *algorithm;
  impl->has_private = has_private;
  impl->thumbprint_json = std::move(*thumb);
  std::string canonical = "{";
  canonical.append(impl->thumbprint_json).append("}");
  impl->kid = Base64UrlEncode(Sha256(canonical));
  return SigningKey(std::move(impl));
}

SigningAlgorithm SigningKey::algorithm() const { return impl_->algorithm; }
bool SigningKey::has_private_key() const { return impl_->has_private; }
const std::string& SigningKey::kid() const { return impl_->kid; }

std::string SigningKey::PrivatePem() const {
  if (!impl_->has_private) return {};
  Bio bio(BIO_new(BIO_s_secmem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), impl_->pkey, nullptr, nullptr, 0, nullptr,
                                       nullptr) != 1) {
    internal::FatalOpenSsl("PEM_write_bio_PrivateKey");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string SigningKey::PublicPem() const {
  Bio bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PUBKEY(bio.get(), impl_->pkey) != 1) {
    internal::FatalOpenSsl("PEM_write_bio_PUBKEY");
  }
  char* data = nullptr;
  long len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(len));
}

std::string SigningKey::PublicJwkJson() const {
  std::string json = "{";
  json.append(impl_->thumbprint_json);
  json.append(",").append(JsonMember("use", "sig"));
  json.append(",").append(JsonMember("alg", SigningAlgorithmName(impl_->algorithm)));
  json.append(",").append(JsonMember("kid", impl_->kid));
  json.append("}");
  return json;
}

Result<std::string> SigningKey::Sign(std::string_view data) const {
  if (!impl_->has_private) return Error::PermissionDenied("a public key cannot sign");
  SignatureContext md(impl_->pkey, impl_->algorithm, true);
  size_t len = 0;
  if (EVP_DigestSign(md.get(), nullptr, &len, Bytes(data), data.size()) != 1) {
    internal::FatalOpenSsl("EVP_DigestSign size");
  }
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len, Bytes(data),
                     data.size()) != 1) {
    internal::FatalOpenSsl("EVP_DigestSign");
  }
  sig.resize(len);
  if (impl_->algorithm == SigningAlgorithm::kRs256) return sig;
  const unsigned char* p = Bytes(sig);
  EcdsaSig parsed(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size())));
  if (!parsed) internal::FatalOpenSsl("d2i_ECDSA_SIG");
  std::string ieee = Ieee(parsed.get());
  if (ieee.empty()) internal::FatalOpenSsl("ECDSA signature encoding");
  return ieee;
}

bool SigningKey::Verify(std::string_view data, std::string_view signature) const {
  std::string der;
  std::string_view to_check = signature;
  if (impl_->algorithm != SigningAlgorithm::kRs256) {
    if (signature.size() != 2 * kEcHalfBytes) return false;
    EcdsaSig sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(Bytes(signature), kEcHalfBytes, nullptr);
    BIGNUM* s = BN_bin2bn(Bytes(signature) + kEcHalfBytes, kEcHalfBytes, nullptr);
    if (!sig || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
      BN_free(r);
      BN_free(s);
      internal::FatalOpenSsl("ECDSA_SIG_set0");
    }
    int len = i2d_ECDSA_SIG(sig.get(), nullptr);
    if (len <= 0) return false;
    der.resize(static_cast<size_t>(len));
    auto* out = reinterpret_cast<unsigned char*>(der.data());
    if (i2d_ECDSA_SIG(sig.get(), &out) != len) return false;
    to_check = der;
  }
  SignatureContext md(impl_->pkey, impl_->algorithm, false);
  int rc = EVP_DigestVerify(md.get(), Bytes(to_check), to_check.size(), Bytes(data), data.size());
  ERR_clear_error();
  return rc == 1;
}

std::string RenderJwks(std::span<const SigningKey> keys) {
  std::string json = "{\"keys\":[";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) json += ',';
    json += keys[i].PublicJwkJson();
  }
  json += "]}";
  return json;
}

namespace {

// A file descriptor closed on scope exit.
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

Status WriteAll(int fd, std::string_view data) {
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = ::write(fd, data.data() + written, data.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Error::Unavailable(std::strerror(errno));
    }
    written += static_cast<size_t>(n);
  }
  return Status::Ok();
}

}  // namespace

Status WritePrivateKeyFile(const std::string& path, const SigningKey& key) {
  if (!key.has_private_key()) return Error::InvalidArgument("a public key has no private key file");
  // Written to a temporary name and linked into place, so that a node
  // starting at the same time on a shared directory never reads half a key.
  std::string tmp = path + ".tmp." + std::to_string(::getpid());
  ::unlink(tmp.c_str());
  Fd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (fd.get() < 0) return IoError("cannot create key file", tmp, errno);
  std::string pem = key.PrivatePem();
  int err = 0;
  if (::fchmod(fd.get(), 0600) != 0) err = errno;
  if (err == 0) {
    Status written = WriteAll(fd.get(), pem);
    if (!written.ok()) err = EIO;
  }
  OPENSSL_cleanse(pem.data(), pem.size());
  if (err == 0 && ::fsync(fd.get()) != 0) err = errno;
  if (err == 0 && ::close(fd.Release()) != 0) err = errno;
  if (err == 0 && ::link(tmp.c_str(), path.c_str()) != 0) err = errno;
  ::unlink(tmp.c_str());
  if (err == EEXIST) return Error::AlreadyExists("key file already exists: " + path);
  if (err != 0) return IoError("cannot write key file", path, err);
  std::string dir = std::filesystem::path(path).parent_path().string();
  Fd dir_fd(::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dir_fd.get() >= 0) ::fsync(dir_fd.get());
  return Status::Ok();
}

Result<SigningKey> LoadKeyFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return IoError("cannot open key file", path, errno);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return IoError("cannot stat key file", path, errno);
  if (!S_ISREG(st.st_mode))
    return Error::InvalidArgument("key file is not a regular file: " + path);
  if (st.st_size > static_cast<off_t>(kMaxPemBytes)) {
    return Error::TooLarge("key file too large: " + path);
  }
  std::string pem(static_cast<size_t>(st.st_size), '\0');
  size_t len = 0;
  while (len < pem.size()) {
    ssize_t n = ::read(fd.get(), pem.data() + len, pem.size() - len);
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      OPENSSL_cleanse(pem.data(), pem.size());
      return IoError("cannot read key file", path, err);
    }
    if (n == 0) break;
    len += static_cast<size_t>(n);
  }
  pem.resize(len);
  auto key = SigningKey::FromPem(pem);
  OPENSSL_cleanse(pem.data(), pem.size());
  if (!key.ok()) return Error::InvalidArgument("key file " + path + ": " + key.error().message);
  if (key->has_private_key() && (st.st_mode & 077) != 0) {
    return Error::PermissionDenied("key file " + path +
                                   " is accessible by group or others; run chmod 600 on it");
  }
  return key;
}

Result<KeyRing> KeyRing::LoadDir(const std::string& dir, std::span<const SigningAlgorithm> ensure) {
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    std::filesystem::create_directories(dir, ec);
    if (ec) return Error::Unavailable("cannot create key directory " + dir + ": " + ec.message());
    std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                 std::filesystem::perm_options::replace, ec);
  }
  for (SigningAlgorithm algorithm : ensure) {
    std::string path = dir + "/" + CurrentFileName(algorithm);
    if (std::filesystem::exists(path, ec)) continue;
    auto key = SigningKey::Generate(algorithm);
    if (!key.ok()) return key.error();
    Status written = WritePrivateKeyFile(path, *key);
    if (!written.ok() && written.error().code != errc::kAlreadyExists) return written.error();
  }
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
    std::string name = entry.path().filename().string();
    if (name.size() > 4 && name.ends_with(".pem")) names.push_back(std::move(name));
  }
  if (ec) return Error::Unavailable("cannot list key directory " + dir + ": " + ec.message());
  std::sort(names.begin(), names.end());

  KeyRing ring;
  ring.current_.assign(kAllAlgorithms.size(), -1);
  for (const std::string& name : names) {
    auto key = LoadKeyFile(dir + "/" + name);
    if (!key.ok()) return key.error();
    for (SigningAlgorithm algorithm : kAllAlgorithms) {
      if (name != CurrentFileName(algorithm)) continue;
      if (key->algorithm() != algorithm || !key->has_private_key()) {
        return Error::InvalidArgument("key file " + dir + "/" + name + " must hold a private " +
                                      std::string(SigningAlgorithmName(algorithm)) + " key");
      }
      ring.current_[static_cast<size_t>(algorithm)] = static_cast<int>(ring.keys_.size());
    }
    ring.keys_.push_back(std::move(*key));
  }
  return ring;
}

KeyRing KeyRing::FromKeys(std::vector<SigningKey> keys) {
  KeyRing ring;
  ring.current_.assign(kAllAlgorithms.size(), -1);
  ring.keys_ = std::move(keys);
  for (size_t i = 0; i < ring.keys_.size(); ++i) {
    int& slot = ring.current_[static_cast<size_t>(ring.keys_[i].algorithm())];
    if (slot < 0 && ring.keys_[i].has_private_key()) slot = static_cast<int>(i);
  }
  return ring;
}

const SigningKey* KeyRing::Current(SigningAlgorithm algorithm) const {
  size_t slot = static_cast<size_t>(algorithm);
  if (slot >= current_.size() || current_[slot] < 0) return nullptr;
  return &keys_[static_cast<size_t>(current_[slot])];
}

const SigningKey* KeyRing::Find(std::string_view kid) const {
  for (const SigningKey& key : keys_) {
    if (key.kid() == kid) return &key;
  }
  return nullptr;
}

}  // namespace tongban::crypto
