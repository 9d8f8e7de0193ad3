// One-shot message digests and HMAC for the rest of tongban: legacy password
// imports (MD5/SHA-1/SHA-256), SM3 for national-standard deployments, and
// HMAC-SHA256 for signed tokens. Hex results are lowercase; raw results are bytes.
// Thread-safe. Each thread reuses one OpenSSL context; OpenSSL 3.0 still
// allocates its small per-digest state once per message.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace tongban::crypto {

std::string Md5Hex(std::string_view data);
std::string Sha1Hex(std::string_view data);
std::string Sha256Hex(std::string_view data);
std::string Sm3Hex(std::string_view data);

// Appends the first `hex_chars` (at most 64) lowercase hex digits of
// SHA-256(data) to `out`, with no temporary: for keys built on a hot path.
void AppendSha256Hex(std::string_view data, size_t hex_chars, std::string& out);

// Raw 32-byte digests.
std::string Sha256(std::string_view data);
std::string Sm3(std::string_view data);

// Raw 32-byte HMAC (RFC 2104) keyed by `key`.
std::string HmacSha256(std::string_view key, std::string_view data);
std::string HmacSm3(std::string_view key, std::string_view data);
// Raw 20-byte HMAC-SHA1: only for HOTP/TOTP (RFC 4226/6238), which
// authenticator apps compute with SHA-1.
std::string HmacSha1(std::string_view key, std::string_view data);

}  // namespace tongban::crypto
