// OneTimeCodes: short numeric codes sent by SMS to prove that a person holds
// a mobile number — registration, password recovery, and (for sso/mfa) SMS
// second factors. Used by sso/citizen.cc; docs/design/citizen-accounts.md
// states the policy.
//
// What it guarantees:
//  - a code is bound to a purpose and a number: a registration code does not
//    recover a password, nor one number's code another's;
//  - stored only as an HMAC-SHA256 under the node key (never in clear, never
//    logged), compared in constant time;
//  - single use, short life (`CodeLimits::ttl`), and only the newest code of
//    a (purpose, number) is live: a new Send supersedes the older one;
//  - a code dies after `max_attempts` wrong guesses; failed checks are also
//    counted per number and per client IP by a LoginThrottle (lockout);
//  - sending is throttled per number (a minimum interval and a count per
//    window), per client IP and per account (counts per window), across every
//    node (the counts are read from the shared table).
// The message itself goes out through an AsyncSmsSender, so answers never
// wait for the carrier; `deliver = false` stores and counts a code without
// sending it (a recovery for a number that has no account must look and take
// the same as one that has).
//
// For sso/mfa (SMS second factor at login): Send({kLogin2fa, user.mobile,
// user.userid, ip}, text) after the password step, then Verify({kLogin2fa,
// user.mobile, code, ip}); the returned account is the userid the code was
// sent for — compare it with the user logging in.
//
// Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "sso/sms_channel.h"
#include "sso/throttle.h"
#include "store/sql_store.h"

namespace tongban::sso {

enum class CodePurpose { kRegister, kRecover, kLogin2fa };
// "register", "recover", "login-2fa".
std::string_view CodePurposeName(CodePurpose purpose);
Result<CodePurpose> ParseCodePurpose(std::string_view name);

// Error codes of Send and Verify (besides infrastructure errors).
namespace code_error {
// Sending refused for now; the message says why and when to try again.
inline constexpr int kThrottled = 7101;
// No live code matches: wrong, expired, already used, superseded or dead
// after too many wrong guesses. One code, so a guesser learns nothing.
inline constexpr int kRejected = 7102;
// Too many failed checks from this client or for this number: locked out
// for a while (message says how long).
inline constexpr int kLockedOut = 7103;
}  // namespace code_error

struct CodeLimits {
  std::chrono::seconds ttl{300};
  int digits = 6;          // 4..9
  int max_attempts = 5;    // wrong guesses before the code dies
  std::chrono::seconds resend_after{60};  // per number and purpose
  std::chrono::seconds window{3600};      // the counting window of the three below
  int per_number = 5;                     // codes sent to one number (all purposes)
  int per_ip = 20;                        // codes requested from one client IP
  int per_account = 10;                   // codes sent for one account
};

struct CodeRequest {
  CodePurpose purpose = CodePurpose::kRegister;
  std::string mobile;   // a valid mainland number (the caller checks it)
  std::string account;  // the userid the code is for; "" = none yet (registration)
  std::string ip;       // the client's address
  bool deliver = true;  // false: stored and counted like a real code, never sent
};

struct CheckedCode {
  std::string account;  // as given to Send
};

class OneTimeCodes {
 public:
  // Migrations of module "sso_codes".
  static std::vector<Migration> Migrations();

  // `key`: the HMAC key codes are stored under (every node of a cluster must
  // use the same one). `failures` counts failed checks (per number+IP, per
  // IP); it must outlive this object.
  OneTimeCodes(SqlStore& sql, const Clock& clock, Random& random, AsyncSmsSender& sender,
               std::string key, LoginThrottle& failures, CodeLimits limits = {});

  // Makes a code, stores its hash and queues `text(code)` to the number.
  // Errors: code_error::kThrottled (message in Chinese for the user), database errors.
  Status Send(const CodeRequest& request,
              const std::function<std::string(std::string_view code)>& text);

  // Consumes the live code of (purpose, mobile) when `code` is it.
  // Errors: code_error::kRejected, code_error::kLockedOut, database errors.
  Result<CheckedCode> Verify(CodePurpose purpose, std::string_view mobile, std::string_view code,
                             std::string_view ip);

  const CodeLimits& limits() const { return limits_; }

 private:
  std::string Hash(CodePurpose purpose, std::string_view mobile, std::string_view code) const;
  std::string NewCode();

  SqlStore& sql_;
  const Clock& clock_;
  Random& random_;
  AsyncSmsSender& sender_;
  std::string key_;
  LoginThrottle& failures_;
  CodeLimits limits_;
};

}  // namespace tongban::sso
