// Password storage for the directory: argon2id (libsodium) for every password
// tongban sets, plus verification of hashes imported from older systems so
// their users can log in once and be upgraded. Used by directory/ and sso/.
// Thread-safe. Hashing and argon2id verification are deliberately slow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::crypto {

// argon2id cost. Defaults are libsodium's "interactive" limits (2 passes,
// 64 MiB), about 0.1 s a hash: the login page's budget. Raising them later
// makes old hashes report needs_rehash, so users upgrade as they log in.
struct PasswordParams {
  uint64_t ops_limit = 2;
  size_t mem_limit = 64u << 20;
};

// "$argon2id$v=19$m=...,t=...,p=1$salt$hash" (libsodium's string form, which
// carries its own salt and parameters). InvalidArgument for parameters below
// libsodium's minimums or a password over 4096 bytes; Unavailable if the
// memory cannot be had.
Result<std::string> HashPassword(std::string_view plain, const PasswordParams& params = {});

struct VerifyOutcome {
  bool ok;            // the password matches
  bool needs_rehash;  // only meaningful when ok: store HashPassword(plain) now
};

// Stored forms accepted:
//   "$argon2id$..." / "$argon2i$..."  libsodium strings; needs_rehash when the
//                                     variant or parameters differ from `params`
//   "md5$<hex>", "sha1$<hex>", "sha256$<hex>"   unsalted legacy digests
//   "md5$<salt>$<hex>" (also sha1, sha256)      hex = H(salt + password)
//   "plain$<password>"                          an imported clear-text password
// Legacy forms always report needs_rehash. Comparisons are constant-time. An
// unrecognised or corrupt stored value, or a candidate over 4096 bytes, never
// matches; IsRecognizedPasswordHash tells a corrupt value from a wrong password.
VerifyOutcome VerifyPassword(std::string_view stored, std::string_view plain,
                             const PasswordParams& params = {});

// True when `stored` has one of the forms VerifyPassword understands.
bool IsRecognizedPasswordHash(std::string_view stored);

// Builds the stored form for a credential imported from another system.
// Scheme "md5", "sha1" or "sha256" (any case): value "<hex>" or "<salt>$<hex>",
// the salt 1..256 printable ASCII characters, the hex of the digest's length in
// either case (stored lowercase). Scheme "plain": the password itself, 1..4096
// bytes of UTF-8. InvalidArgument otherwise.
// A "plain$" value is the password in clear until the user's first login;
// importers that can afford one argon2id per user should call HashPassword.
Result<std::string> LegacyHashForImport(std::string_view scheme, std::string_view value);

// --- Logins with encryptiontype 3 (the client sends md5hex(password)) ---
//
// Such a client never reveals the password, and an argon2id hash of the
// password cannot be checked against its MD5. tongban therefore keeps, next to
// the primary hash, an optional "MD5 variant": HashPassword(Md5Hex(password)),
// an argon2id hash of the lowercase MD5 hex. It is as slow to attack as the
// primary hash (guessing the MD5 still means guessing the password), but it
// makes the MD5 itself a password-equivalent, which is inherent in type 3.
// Deployments whose apps use type 3 store it; others leave it empty.
// Legacy "md5$<hex>" (unsalted) and "plain$" primaries also serve type 3.
// Whenever the primary changes, the variant must be replaced or cleared with
// it, or the old password's MD5 would keep working. Costs two argon2id hashes.
struct PasswordHashes {
  std::string primary;      // HashPassword(plain)
  std::string md5_variant;  // HashPassword(Md5Hex(plain))
};
Result<PasswordHashes> HashPasswordWithMd5Variant(std::string_view plain,
                                                  const PasswordParams& params = {});

// Checks `md5_hex` (32 hex digits, either case) against the MD5 variant when
// there is one, else against a legacy "md5$<hex>" or "plain$" primary.
// needs_rehash here means: store HashPassword(lowercase md5_hex) as the MD5
// variant (it is missing or has outdated parameters). The primary can only be
// upgraded by a login that reveals the password.
VerifyOutcome VerifyPasswordMd5(std::string_view stored, std::string_view stored_md5_variant,
                                std::string_view md5_hex, const PasswordParams& params = {});

// True when VerifyPasswordMd5 can ever succeed for this user, so a caller can
// answer "encryption type not usable" (6404) rather than "wrong password".
bool SupportsMd5Login(std::string_view stored, std::string_view stored_md5_variant);

}  // namespace tongban::crypto
