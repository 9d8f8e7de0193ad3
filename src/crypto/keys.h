// Asymmetric signing keys for the tokens tongban issues (OIDC ID tokens,
// logout tokens): RS256, ES256 and SM2-with-SM3, their public JWK / JWKS form,
// and the key files kept in the data dir. Used by crypto/jwt and sso/oidc.
// Keys are immutable once made; copies share one OpenSSL key and are thread-safe.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace tongban::crypto {

enum class SigningAlgorithm {
  kRs256,  // RSASSA-PKCS1-v1_5 with SHA-256 (RFC 7518 §3.3), RSA of 2048 bits or more
  kEs256,  // ECDSA on P-256 with SHA-256 (RFC 7518 §3.4)
  // SM2 signature with SM3 (GB/T 32918.2, GB/T 35276). JOSE has no registered
  // name for it; tongban uses "SM2". The signature is r || s (32 + 32 bytes)
  // as for ES256; the signer's distinguishing ID is the standard default
  // "1234567812345678"; the JWK is {"kty":"EC","crv":"SM2",...}.
  kSm2,
};

// "RS256", "ES256" or "SM2" (case-sensitive, as JOSE "alg" values are).
Result<SigningAlgorithm> ParseSigningAlgorithm(std::string_view name);
std::string_view SigningAlgorithmName(SigningAlgorithm algorithm);

class SigningKey {
 public:
  // A fresh key: RSA-2048 (e = 65537), P-256 or an SM2 key.
  static Result<SigningKey> Generate(SigningAlgorithm algorithm);
  // A PKCS#8 private key ("BEGIN PRIVATE KEY"; also "BEGIN RSA/EC PRIVATE
  // KEY") or a public key ("BEGIN PUBLIC KEY", verification only). The
  // algorithm follows from the key: RSA -> RS256, P-256 -> ES256, SM2 -> SM2.
  // InvalidArgument for anything else (other curves, RSA under 2048 bits).
  static Result<SigningKey> FromPem(std::string_view pem);

  SigningAlgorithm algorithm() const;
  bool has_private_key() const;
  // RFC 7638 JWK thumbprint (SHA-256, Base64url): stable for the key, so
  // every node sharing a key file publishes the same kid.
  const std::string& kid() const;

  // PKCS#8 PEM; empty for a public-only key. A secret: never log it.
  std::string PrivatePem() const;
  std::string PublicPem() const;
  // The public JWK as compact JSON with kty, use "sig", alg, kid and the
  // key's members (n, e for RSA; crv, x, y for EC).
  std::string PublicJwkJson() const;

  // The JOSE signature of `data` (RFC 7518 §3): for RS256 the PKCS#1 v1.5
  // signature, for ES256 and SM2 r || s with each half 32 bytes.
  // PermissionDenied for a public-only key.
  Result<std::string> Sign(std::string_view data) const;
  // Checks a signature in the same form; false on any mismatch.
  bool Verify(std::string_view data, std::string_view signature) const;

 private:
  struct Impl;
  // Takes ownership of `pkey` (freed on failure too).
  static Result<SigningKey> Adopt(evp_pkey_st* pkey, bool has_private);
  explicit SigningKey(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;
};

// {"keys":[<PublicJwkJson>,...]} (RFC 7517 §5).
std::string RenderJwks(std::span<const SigningKey> keys);

// The keys of one node, loaded from a directory of PEM files:
//   <dir>/rs256.pem, es256.pem, sm2.pem   the current key of each algorithm
//   <dir>/<anything else>.pem             older keys: published and accepted
//                                         for verification, never used to sign
// Rotate by renaming the current file (e.g. rs256.pem -> rs256-2025.pem) and
// restarting: a new current key is created, the old one stays in the JWKS
// until its file is removed. Nodes of one deployment must share the directory
// (or copies of it), as they share the secret key file.
class KeyRing {
 public:
  // Loads every *.pem in `dir` (created with mode 0700 when missing) and
  // creates, with mode 0600, the current key file of each algorithm in
  // `ensure` that is missing. Refuses (PermissionDenied) a private key file
  // that group or others may access, and (InvalidArgument) a file that is not
  // a key or whose key does not match its name (e.g. an RSA key in es256.pem).
  static Result<KeyRing> LoadDir(const std::string& dir, std::span<const SigningAlgorithm> ensure);
  // A ring built from keys in memory (tests); the first key of each algorithm
  // is its current key.
  static KeyRing FromKeys(std::vector<SigningKey> keys);

  // The key that signs with `algorithm`, or nullptr when there is none.
  const SigningKey* Current(SigningAlgorithm algorithm) const;
  // Any key (current or older) with this kid, or nullptr.
  const SigningKey* Find(std::string_view kid) const;
  const std::vector<SigningKey>& keys() const { return keys_; }
  std::string JwksJson() const { return RenderJwks(keys_); }

 private:
  std::vector<SigningKey> keys_;
  std::vector<int> current_;  // index into keys_ per algorithm, -1 = none
};

// Writes `key`'s private PEM to a new file with mode 0600 (never overwrites:
// AlreadyExists). For `tongban` tooling and KeyRing::LoadDir.
Status WritePrivateKeyFile(const std::string& path, const SigningKey& key);
// Reads a PEM key file; a private key must not be readable by group or others.
Result<SigningKey> LoadKeyFile(const std::string& path);

}  // namespace tongban::crypto
