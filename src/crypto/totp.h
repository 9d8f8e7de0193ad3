// One-time passwords as authenticator apps compute them: HOTP (RFC 4226) and
// TOTP (RFC 6238) with HMAC-SHA1, 6 digits and a 30-second step, plus the
// RFC 4648 Base32 that carries the shared secret in an otpauth:// URI. Pure
// functions; sso/second_factors.h keeps secrets, replay marks and policy.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::crypto {

inline constexpr int64_t kTotpStepSeconds = 30;
inline constexpr int kTotpDigits = 6;

// RFC 4648 Base32, upper case, without '=' padding (what authenticator apps
// expect in otpauth:// URIs).
std::string Base32Encode(std::string_view bytes);
// Accepts upper or lower case, ignores spaces and trailing '='. InvalidArgument
// for any other character.
Result<std::string> Base32Decode(std::string_view text);

// The HOTP value of `counter` under `key`, zero-padded to `digits` (6..8).
std::string Hotp(std::string_view key, uint64_t counter, int digits = kTotpDigits);

// The TOTP time step of a Unix time in milliseconds: floor(seconds / 30).
int64_t TotpStep(int64_t unix_ms);

// The TOTP value for the step holding `unix_ms`.
std::string Totp(std::string_view key, int64_t unix_ms, int digits = kTotpDigits);

// The step in [step(now) - window, step(now) + window] whose value equals
// `code`, compared in constant time (every candidate is computed and compared
// whatever the outcome); -1 when none matches or `code` is not `digits`
// decimal digits.
int64_t MatchTotp(std::string_view key, std::string_view code, int64_t unix_ms, int window = 1,
                  int digits = kTotpDigits);

// otpauth://totp/<issuer>:<account>?secret=..&issuer=..&algorithm=SHA1&digits=6&period=30
// (the Key Uri Format Google Authenticator and its followers read).
std::string TotpUri(std::string_view issuer, std::string_view account,
                    std::string_view base32_secret);

}  // namespace tongban::crypto
