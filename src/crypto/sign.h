// Request signing of the SSO protocol (spec §5.1): every call and every push
// to an app carries sign = hex(H(servicecode + servicepwd + time)). The SSO
// handlers check it on every request; the outbox computes it for pushes.
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

}  // namespace tongban::crypto
