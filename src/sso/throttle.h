// LoginThrottle: slows password guessing without handing a guesser a way to
// lock users out. Failed logins are counted in the TicketStore (so every node
// sees them) per source (a client IP, or an app relaying passwords), per
// account-and-source, and per account. Used by the login page, idValidation
// and password changes; docs/security.md "Password guessing" states the policy.
//
// Thread-safe. Counting uses TicketStore sets (one member per failure), so
// concurrent failures on several nodes are all counted.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "http/trusted_proxies.h"
#include "store/ticket_store.h"

namespace tongban::sso {

// The network a client address is counted under: http::ClientNetwork, which
// the server's per-address connection cap shares.
using http::ClientNetwork;

// Where a password attempt comes from: the browser's IP (login page,
// personal centre) or, for server-to-server calls that carry no user IP
// (idValidation, updatePassword), the app that relays the password.

struct LoginSource {
  enum class Kind : char { kIp = 'i', kApp = 'p' };
  Kind kind = Kind::kIp;
  std::string_view id;  // the IP text or the servicecode; must outlive the call

  static LoginSource Ip(std::string_view ip) { return {Kind::kIp, ip}; }
  static LoginSource App(std::string_view servicecode) { return {Kind::kApp, servicecode}; }
};

struct ThrottleOptions {
  // Failures of one account from one source before that source (only) is
  // locked out of that account for `lockout`.
  int account_failures = 5;
  // Failures from one source over any accounts before the source is locked
  // out of every account for `lockout`: a client IP, an app's idValidation.
  int ip_failures = 20;
  int app_failures = 30;
  std::chrono::seconds window{900};   // failures older than this (since the last one) are forgotten
  std::chrono::seconds lockout{900};  // how long a lockout lasts
  // Failures of one account from all sources before each further failure
  // makes the next attempt from an unfamiliar source wait: 1 s, 2 s, 4 s, ...
  // up to `max_delay`. A source is familiar to an account for `familiar_for`
  // after a correct password from it; familiar sources are never delayed, so
  // a distributed guesser cannot keep a user out of their usual place.
  int delay_after = 10;
  std::chrono::seconds max_delay{300};
  std::chrono::seconds familiar_for{std::chrono::hours(24 * 30)};
};

enum class LockoutScope : char {
  kAccountFromSource,  // this account, from this source only
  kSource,             // this source, for every account
  kAccountDelay,       // this account from unfamiliar sources, for a few seconds
};

// A lockout in force.
struct Lockout {
  LockoutScope scope = LockoutScope::kAccountFromSource;
  LoginSource::Kind source = LoginSource::Kind::kIp;  // whose source: words the message
  std::chrono::seconds remaining{0};

  // "账号登录失败次数过多，已临时锁定，请 15 分钟后再试" and its variants.
  std::string Message() const;
};

class LoginThrottle {
 public:
  LoginThrottle(TicketStore& store, const Clock& clock, Random& random, ThrottleOptions options);

  // The lockout in force for this account from this source, if any.
  Result<std::optional<Lockout>> Check(std::string_view account, LoginSource source);
  // Counts a failure; returns the lockout of this source it started, if any.
  Result<std::optional<Lockout>> RecordFailure(std::string_view account, LoginSource source);
  // A correct password forgets the failures of the account from this source
  // (not the source's, nor the account's from elsewhere) and makes the
  // source familiar to the account.
  Status RecordSuccess(std::string_view account, LoginSource source);
  // Whether this is the first attempt refused under `lockout` (per source and
  // scope, and account where the lockout is the account's): the caller audits
  // that one only, so a client hammering a lockout cannot fill the audit
  // table with a row per refused post (review17b F4).
  Result<bool> FirstRefusal(std::string_view account, LoginSource source, const Lockout& lockout);

  const ThrottleOptions& options() const { return options_; }

 private:
  Result<std::optional<int64_t>> LiveUntil(const std::string& key);
  Result<size_t> Count(const std::string& counter_key);

  TicketStore& store_;
  const Clock& clock_;
  Random& random_;
  ThrottleOptions options_;
};

}  // namespace tongban::sso
