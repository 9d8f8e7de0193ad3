// Decodes the password an app sends to idValidation or in synchronizeUser's
// loginpwd, according to the spec's `encryptiontype` (§4.2.2): 1 plain,
// 2 Base64 of UTF-8, 3 MD5 hex, 4 AES, 5 3DES. Used by sso/ and directory/.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::crypto {

// Error codes of DecodeIncomingPassword; callers map them to the spec's
// (6404/3404/2014 for the first, 6402/3402/2015 for the second).
inline constexpr int kUnsupportedEncryptionType = 101;
inline constexpr int kPasswordDecodeFailed = 102;

// Keys the SSO issues to an app for types 4 and 5, as raw bytes: Java
// clients build them with `new SecretKeySpec(key.getBytes(), ...)`.
struct IncomingKeys {
  // 16, 24 or 32 bytes, selecting AES-128/192/256 as Java's "AES" does.
  std::string aes_key;
  // At least 24 bytes; the first 24 are the three DES keys, as Java's
  // DESedeKeySpec takes them.
  std::string des3_key;
};

// Returns the password in clear for types 1, 2, 4 and 5. For type 3 it returns
// the MD5 hex normalised to lowercase, which is all the client reveals; check
// it with VerifyPasswordMd5 (password.h), never with VerifyPassword.
//
// Types 4 and 5 are the Java defaults the spec's clients use: "AES" is
// AES/ECB/PKCS5Padding and "DESede" is DESede/ECB/PKCS5Padding, with the
// ciphertext in Base64. Base64 (types 2, 4, 5) is read forgivingly: line
// breaks are skipped, a space counts as '+' (an unescaped '+' in a form
// arrives as a space), URL-safe letters and missing padding are accepted.
// Decoded results (types 2, 4, 5) must be UTF-8; a type-1 value is passed on
// as it came. Every result is 1..4096 bytes: callers for which an empty
// loginpwd means "unchanged" test for that before calling.
//
// Errors: kUnsupportedEncryptionType for a type outside 1..5, or 4/5 when the
// app has no valid key of that kind; kPasswordDecodeFailed for anything that
// does not decode (bad Base64, wrong key, bad padding, not UTF-8).
Result<std::string> DecodeIncomingPassword(int encryptiontype, std::string_view value,
                                           const IncomingKeys& keys);

}  // namespace tongban::crypto
