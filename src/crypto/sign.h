// Request signing of the SSO protocol (spec §5.1): every call and every push
// to an app carries sign = hex(H(servicecode + servicepwd + time)). The SSO
// handlers check it on every request; the outbox computes it for pushes.
// Also tongban's request signature (docs/integrate-zj.md §2a), an HMAC over
// the method, every parameter and a nonce, which an app may be required to use.
// Hot path: VerifySign takes no locks and touches no heap beyond OpenSSL 3.0's
// per-digest state; bench/crypto_sign_bench.cc guards it.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::crypto {

enum class SignType {
  kMd5,         // lowercase hex MD5(servicecode + servicepwd + time): the spec's rule, the default
  kSm3,         // the same concatenation under SM3 (GB/T 32905), for national-crypto deployments
  kHmacSha256,  // HMAC-SHA256 keyed by servicepwd over servicecode + time
};

// "md5", "sm3" or "hmac-sha256", any letter case. InvalidArgument otherwise.
Result<SignType> ParseSignType(std::string_view name);
// The lowercase name ParseSignType accepts.
std::string_view SignTypeName(SignType type);

// Lowercase hex: 32 characters for kMd5, 64 for kSm3 and kHmacSha256.
std::string ComputeSign(SignType type, std::string_view servicecode, std::string_view servicepwd,
                        std::string_view time);

// True when `sign` is the hex of the expected value. Hex digits are accepted in
// either case (some clients upper-case them); the comparison is constant-time.
// Checks only the signature: the time window and replay are the caller's.
bool VerifySign(SignType type, std::string_view servicecode, std::string_view servicepwd,
                std::string_view time, std::string_view sign);

// An app's `sign_mode`: which signatures its calls may carry. kSpec accepts
// the spec's signature above (and request signatures); the others require a
// request signature with that HMAC, so a logged spec `sign` opens nothing.
enum class SignMode {
  kSpec,
  kHmacSha256,
  kHmacSm3,
};

// "spec", "hmac-sha256" or "hmac-sm3", any letter case. InvalidArgument otherwise.
Result<SignMode> ParseSignMode(std::string_view name);
std::string_view SignModeName(SignMode mode);

// Lowercase hex HMAC (64 characters) keyed by servicepwd over the canonical
// request string; `mode` must not be kSpec.
std::string ComputeRequestSign(SignMode mode, std::string_view servicepwd,
                               std::string_view canonical);
// As VerifySign: hex in either case, constant-time. False for kSpec.
bool VerifyRequestSign(SignMode mode, std::string_view servicepwd, std::string_view canonical,
                       std::string_view sign);

}  // namespace tongban::crypto
