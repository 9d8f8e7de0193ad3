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
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace tongban {

// The store's half of exchanging a single-use ticket for a new grant (sso/'s
// ticket validations), as one step: on Redis one round trip (a server-side
// script, never interleaved with other calls), elsewhere the primitives in
// order. Values are records of '|'-separated fields (sso/packed_record.h);
// field n is the text between the n-th and (n+1)-th '|', counted from 0.
struct TicketExchange {
  // When not empty, set first (PutIfAbsent "1" for mark_ttl): a replay mark.
  // When it was already set nothing else happens (kReplayed).
  std::string mark_key;
  std::chrono::milliseconds mark_ttl{0};
  // Read, and removed whatever follows when `consume` (a single-use ticket);
  // left alone otherwise (a token that is only checked).
  std::string redeem_key;
  bool consume = true;
  // What must hold of the redeemed record for the issue to happen: field
  // `first` equals `second`, and field expiry_field (integer ms) > now_ms.
  std::vector<std::pair<int, std::string>> require;
  int expiry_field = 0;
  int64_t now_ms = 0;
  // The record's owner (e.g. its session id) is field owner_field; nothing is
  // issued while guard_prefix + owner holds a value (a tombstone). "" = no guard.
  int owner_field = 0;
  std::string guard_prefix;
  // The issue: put_template with every "{n}" (n = 0..9) replaced by field n
  // of the record (as stored, still escaped) under put_key for put_ttl, and
  // set_member added to the set set_prefix + owner, its TTL restarted at set_ttl.
  std::string put_key;
  std::string put_template;
  std::chrono::milliseconds put_ttl{0};
  std::string set_prefix;
  std::string set_member;
  std::chrono::milliseconds set_ttl{0};
};

struct TicketExchangeResult {
  enum class Outcome {
    kReplayed,  // the mark was set: nothing redeemed
    kNotFound,  // no live value under redeem_key
    kRefused,   // read (and consumed), but a requirement failed: nothing issued
    kGuarded,   // redeemed, requirements met, the owner's guard key is set: nothing issued
    kIssued,    // redeemed and issued
  };
  Outcome outcome = Outcome::kNotFound;
  std::string record;  // the redeemed record (kRefused, kGuarded, kIssued)
};

class TicketStore {
 public:
  // Runs on whichever thread the store chooses (the caller's, or the
  // store's own network thread): it must be quick and must not block.
  using ExchangeDone = std::function<void(Result<TicketExchangeResult>)>;

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

  // Replaces the value of `key` (and its ttl) only if `key` holds a live value.
  // Returns true when stored, false when there was none: a record another
  // caller erased meanwhile (e.g. a token a logout revoked) is not brought back.
  virtual Result<bool> PutIfPresent(std::string_view key, std::string_view value,
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

  // Put and AddToSet as one step (one round trip on Redis): a grant and the
  // set of its session that lists it. The default calls the two in order.
  virtual Status PutAndAddToSet(std::string_view key, std::string_view value,
                                std::chrono::milliseconds ttl, std::string_view set_key,
                                std::string_view member, std::chrono::milliseconds set_ttl);

  // What GetAndTouch found: the record, and whether it qualified (and so
  // was touched and indexed).
  struct Touched {
    std::string record;
    bool touched = false;
  };
  // As one step (one round trip on Redis): the live value of `key`, and,
  // when its '|'-separated field `field` equals `text`, Touch(key, ttl) and
  // AddToSet(set_key, member, set_ttl). For resuming a browser session.
  // errc::kNotFound when there is no live value.
  virtual Result<Touched> GetAndTouch(std::string_view key, std::chrono::milliseconds ttl,
                                      int field, std::string_view text, std::string_view set_key,
                                      std::string_view member, std::chrono::milliseconds set_ttl);

  // See TicketExchange. Errors as for the primitives (kInvalidArgument for a
  // bad key, ttl or field number, kUnavailable); an error may leave the
  // mark set or the ticket redeemed (fail closed), never issue twice.
  // The default composes the primitives (each atomic, the whole not).
  virtual Result<TicketExchangeResult> Exchange(const TicketExchange& op);

  // Exchange without waiting: `done` gets the result exactly once. The
  // default runs Exchange here and now; RedisTicketStore sends one script
  // call and returns, so an I/O thread never waits on the network.
  virtual void ExchangeAsync(TicketExchange op, ExchangeDone done) { done(Exchange(op)); }

  // Redeem without waiting: `done` gets the result exactly once, on the
  // caller's thread (default: Redeem here and now) or the store's own.
  using RedeemDone = std::function<void(Result<std::string>)>;
  virtual void RedeemAsync(std::string_view key, RedeemDone done) { done(Redeem(key)); }

  // PutAndAddToSet and GetAndTouch without waiting: `done` gets the result
  // exactly once, as for RedeemAsync (default: the blocking call here and
  // now). For the CAS /login of a browser session on Redis (issue 19).
  using StatusDone = std::function<void(Status)>;
  using TouchedDone = std::function<void(Result<Touched>)>;
  virtual void PutAndAddToSetAsync(std::string_view key, std::string_view value,
                                   std::chrono::milliseconds ttl, std::string_view set_key,
                                   std::string_view member, std::chrono::milliseconds set_ttl,
                                   StatusDone done) {
    done(PutAndAddToSet(key, value, ttl, set_key, member, set_ttl));
  }
  virtual void GetAndTouchAsync(std::string_view key, std::chrono::milliseconds ttl, int field,
                                std::string_view text, std::string_view set_key,
                                std::string_view member, std::chrono::milliseconds set_ttl,
                                TouchedDone done) {
    done(GetAndTouch(key, ttl, field, text, set_key, member, set_ttl));
  }

  // True when the store's calls wait on the network (Redis): a caller on an
  // I/O thread should use the Async calls or defer to a blocking pool.
  virtual bool Remote() const { return false; }

  // Number of values and sets held, possibly counting some that expired but
  // were not yet reclaimed (and, for Redis, other keys in the same database).
  // For metrics; 0 when it cannot be determined.
  virtual size_t ApproximateSize() = 0;
};

}  // namespace tongban
