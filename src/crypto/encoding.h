// Byte-to-text encodings used around tongban's crypto: hex (digests, signs),
// Base64 (the SSO's encryptiontype 2/4/5, sealed secrets) and unpadded
// Base64url (JWT, later). Decoders are strict and return errors as values.
#pragma once

#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::crypto {

// Lowercase hex, two characters a byte.
std::string HexEncode(std::string_view bytes);
// Accepts upper- and lowercase digits; fails on odd length or a non-hex character.
Result<std::string> HexDecode(std::string_view hex);

// RFC 4648 standard alphabet with '=' padding.
std::string Base64Encode(std::string_view bytes);
// Strict: requires correct padding; rejects whitespace, other alphabets and
// non-zero trailing bits, so one byte string has exactly one accepted encoding.
Result<std::string> Base64Decode(std::string_view text);

// RFC 4648 URL-safe alphabet without padding, as JWT (RFC 7515) requires.
std::string Base64UrlEncode(std::string_view bytes);
// Strict like Base64Decode; '=' padding is rejected.
Result<std::string> Base64UrlDecode(std::string_view text);

// Compares two secrets without leaking where they differ. Only the lengths
// may leak (unequal lengths return false at once).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

}  // namespace tongban::crypto
