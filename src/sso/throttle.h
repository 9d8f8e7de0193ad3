// LoginThrottle: slows password guessing. Failed logins are counted per
// account and per client IP in the TicketStore (so every node sees them);
// after too many within the window the account or IP is locked out for a
// while. Used by the login page, idValidation and password changes.
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
#include "store/ticket_store.h"

namespace tongban::sso {

struct ThrottleOptions {
  int account_failures = 5;           // failures of one account before it is locked out
  int ip_failures = 20;               // failures from one IP (any accounts) before it is locked out
  std::chrono::seconds window{900};   // failures older than this (since the last one) are forgotten
  std::chrono::seconds lockout{900};  // how long a lockout lasts
};

// A lockout in force.
struct Lockout {
  bool by_ip = false;  // the client IP, rather than the account, is locked out
  std::chrono::seconds remaining{0};

  // "账号登录失败次数过多，已临时锁定，请 15 分钟后再试" (or the IP's version).
  std::string Message() const;
};

class LoginThrottle {
 public:
  LoginThrottle(TicketStore& store, const Clock& clock, Random& random, ThrottleOptions options);

  // The lockout in force for this account or IP, if any. `ip` may be empty
  // (server-to-server calls, where the IP is the app's, not the user's).
  Result<std::optional<Lockout>> Check(std::string_view account, std::string_view ip);
  // Counts a failure; returns the lockout it started, if any.
  Result<std::optional<Lockout>> RecordFailure(std::string_view account, std::string_view ip);
  // A correct password forgets the account's failures (not the IP's).
  Status RecordSuccess(std::string_view account);

  const ThrottleOptions& options() const { return options_; }

 private:
  Result<std::optional<Lockout>> LockoutOf(const std::string& key, bool by_ip);
  Result<bool> Count(const std::string& counter_key, const std::string& lock_key, int limit);

  TicketStore& store_;
  const Clock& clock_;
  Random& random_;
  ThrottleOptions options_;
};

}  // namespace tongban::sso
