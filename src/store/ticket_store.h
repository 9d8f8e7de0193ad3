// TicketStore: the hot-path key/value store for SSO sessions, tickets, auth
// codes, tokens and replay-protection marks, each with a time to live. Used by
// sso/ (and the directory's user-snapshot cache); never touches SQL.
// Implementations: MemoryTicketStore (one node) and RedisTicketStore (many nodes).
//
// Contract shared by every implementation:
// - All methods are thread-safe.
// - Values are opaque byte strings. Value keys and set keys are separate
//   namespaces: Put("k") and AddToSet("k") never see each other.
// - Errors: errc::kNotFound (missing or expired), errc::kInvalidArgument (empty
//   key, ttl <= 0), errc::kTooLarge (key or value over the limits below),
//   errc::kUnavailable (the backing service is down).
// - Expiry has millisecond resolution; an entry is gone once its TTL has passed.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace tongban {

class TicketStore {
 public:
  static constexpr size_t kMaxKeyBytes = 1024;
  static constexpr size_t kMaxValueBytes = 1 << 20;

  virtual ~TicketStore() = default;

  // Stores `value` under `key` (replacing any previous value) for `ttl`.
  virtual Status Put(std::string_view key, std::string_view value,
                     std::chrono::milliseconds ttl) = 0;

  // Stores only if `key` holds no live value. Returns true when stored, false
  // when a live value was already there (e.g. a replayed nonce).
  virtual Result<bool> PutIfAbsent(std::string_view key, std::string_view value,
                                   std::chrono::milliseconds ttl) = 0;

  // The live value of `key`, or errc::kNotFound.
  virtual Result<std::string> Get(std::string_view key) = 0;

  // Atomically returns and removes the live value of `key`: of any number of
  // concurrent callers (on any node sharing the store) exactly one gets the
  // value and the rest get errc::kNotFound. For single-use tickets and codes.
  virtual Result<std::string> Redeem(std::string_view key) = 0;

  // Removes `key`. Removing a missing key succeeds.
  virtual Status Erase(std::string_view key) = 0;

  // Restarts the TTL of a live `key` at `ttl` from now (sliding expiry of SSO
  // sessions). errc::kNotFound when there is no live value.
  virtual Status Touch(std::string_view key, std::chrono::milliseconds ttl) = 0;

  // Adds `member` to the set `set_key` (adding twice keeps one copy) and
  // restarts the set's TTL at `ttl`. For what one session issued, so unified
  // logout can find every ticket, token and app.
  virtual Status AddToSet(std::string_view set_key, std::string_view member,
                          std::chrono::milliseconds ttl) = 0;

  // The members of a live set in no particular order; empty when the set is
  // missing or expired.
  virtual Result<std::vector<std::string>> Members(std::string_view set_key) = 0;

  // Removes the set. Removing a missing set succeeds.
  virtual Status EraseSet(std::string_view set_key) = 0;

  // Number of values and sets held, possibly counting some that expired but
  // were not yet reclaimed (and, for Redis, other keys in the same database).
  // For metrics; 0 when it cannot be determined.
  virtual size_t ApproximateSize() = 0;
};

}  // namespace tongban
