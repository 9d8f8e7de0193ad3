// Helpers shared by the files of src/crypto/ and by nothing else: allocation-free
// hex, a forgiving Base64 reader for client-sent passwords, UTF-8 checking, and
// OpenSSL algorithm handles fetched once per process.
#pragma once

#include <openssl/evp.h>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::crypto::internal {

// Writes 2*n lowercase hex characters to `out`.
void HexEncodeTo(const uint8_t* in, size_t n, char* out);
// Decodes hex (either case) of exactly 2*n characters into n bytes at `out`.
bool HexDecodeTo(std::string_view hex, uint8_t* out, size_t n);

// Base64 as real clients send it: CR/LF/TAB are skipped (old Java encoders
// wrap lines), a space is read as '+' (an unescaped '+' in a form turns into a
// space), the URL-safe alphabet is accepted, and padding is optional.
Result<std::string> Base64DecodeLenient(std::string_view text);


enum class Md { kMd5, kSha1, kSha256, kSm3 };
inline constexpr size_t kMaxMdSize = 32;
size_t MdSize(Md md);

// The algorithm, fetched from the default provider on first use and kept for
// the life of the process; fetching per call is slow in OpenSSL 3. Aborts if
// the provider lacks it: tongban cannot serve the SSO protocol without it.
const EVP_MD* FetchMd(Md md);
const EVP_CIPHER* FetchCipher(const char* name);

// Digest of the concatenation of `parts` into `out` (MdSize(md) bytes), on a
// per-thread context. The only allocation is OpenSSL 3.0's per-message digest
// state (one small malloc), which re-initialising a context cannot avoid.
void DigestParts(Md md, std::initializer_list<std::string_view> parts, uint8_t* out);
// HMAC keyed by `key` over the concatenation of `parts`; per-thread context.
void HmacParts(Md md, std::string_view key, std::initializer_list<std::string_view> parts,
               uint8_t* out);

// Reports an OpenSSL failure that can only mean a broken installation or an
// out-of-memory condition, then aborts.
[[noreturn]] void FatalOpenSsl(const char* what);

}  // namespace tongban::crypto::internal
