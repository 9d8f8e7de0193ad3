// Compact JWS (RFC 7515) for the JWTs tongban issues: OIDC ID tokens and
// back-channel logout tokens, and the checking of those it gets back
// (id_token_hint). The claims are JSON text that the caller renders and parses
// with codec/; this module only signs, splits and verifies. Used by sso/oidc.
#pragma once

#include <span>
#include <string>
#include <string_view>

#include "core/result.h"
#include "crypto/keys.h"

namespace tongban::crypto {

// Larger tokens are refused before any decoding.
inline constexpr size_t kMaxJwtBytes = 16 * 1024;

struct JwtHeader {
  std::string alg;
  std::string kid;  // "" when absent
  std::string typ;  // "" when absent
};

// header.payload.signature with header {"alg":<key's>,"kid":<key's>,"typ":<typ>}
// (typ omitted when empty) and payload `claims_json` (a JSON object, taken as
// it is). PermissionDenied for a public-only key.
Result<std::string> SignJwt(const SigningKey& key, std::string_view claims_json,
                            std::string_view typ = "JWT");

struct VerifiedJwt {
  JwtHeader header;
  std::string claims_json;          // the decoded payload, not yet parsed
  const SigningKey* key = nullptr;  // the key that verified it (points into the span)
};

// Checks form and signature; claims (exp, iss, aud, ...) are the caller's.
// The key is the one whose kid the header names, else the only key of the
// header's algorithm; its algorithm must be the header's "alg", so "none" and
// algorithm confusion are refused. The header may hold only string members
// (alg, kid, typ, cty); "crit" and anything else is refused.
// Errors: InvalidArgument for a malformed token, PermissionDenied for an
// unknown key or a bad signature, TooLarge above kMaxJwtBytes.
Result<VerifiedJwt> VerifyJwt(std::string_view token, std::span<const SigningKey> keys);

// The decoded header without verifying anything (to pick keys or log).
Result<JwtHeader> PeekJwtHeader(std::string_view token);

}  // namespace tongban::crypto
