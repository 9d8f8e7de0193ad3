// Second factors of sign-on: TOTP (RFC 6238, what authenticator apps show)
// with single-use recovery codes, and the policy saying who must use one —
// platform administrators always (unless a development config says
// otherwise), users opening an app that requires it, and anyone who enrolled.
// The login pages (login_page.cc) ask for the factor; CAS and OIDC read the
// factors a session holds (Session::factors) for step-up; the console and the
// CLI reset a user's factor. Tables: module "sso_mfa" (sso_mfa_totp,
// sso_mfa_recovery, sso_mfa_apps). docs/design/second-factors.md is the map.
//
// Secrets are sealed with the node's SecretBox (context = userid, so a row
// copied to another user does not open); recovery codes are stored as
// HMAC-SHA256 under a key derived from the master key; codes never reach a log.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <unordered_map>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "crypto/secret_box.h"
#include "directory/directory.h"
#include "store/sql_store.h"
#include "store/ticket_store.h"

namespace tongban::sso {

// The factor names a session records, as OIDC's amr claim spells them
// (RFC 8176): a password, a one-time password, a recovery code ("kba" is not
// right for it; RFC 8176 has no better word than "otp" for a printed code
// either, so a recovery code counts as "otp" in amr and is audited apart).
inline constexpr std::string_view kFactorPassword = "pwd";
inline constexpr std::string_view kFactorOtp = "otp";
// A one-time code by SMS to the user's mobile (RFC 8176 "sms"), offered at
// login to users who are not platform administrators when the citizen
// service's SMS channel is configured (login_page.cc).
inline constexpr std::string_view kFactorSms = "sms";

// The OIDC acr_values an app sends to ask for a second factor (the answer's
// amr then holds "mfa"; acr itself is the real-name level).
inline constexpr std::string_view kAcrMfa = "urn:tongban:acr:mfa";

struct MfaOptions {
  // Platform administrators (role "admin" of the app "tongban") must use a
  // second factor; those without one enrol at their next login. Only a
  // development or test setup turns this off (docs/configuration.md).
  bool admin_required = true;
  // Shown by the authenticator app next to the account.
  std::string issuer = "tongban";
  int recovery_codes = 10;
  // Wrong codes of one account (any browser) before checking stops for
  // `failure_window`; each pending login also has its own small budget.
  int max_failures = 10;
  std::chrono::seconds failure_window{900};
  // Roles whose holders must use a second factor, as "app:rolecode" (e.g.
  // "approval:approve", "payment:finance"): the per-role policy besides the
  // platform administrators'.
  std::vector<std::string> required_roles;
};

struct FactorStatus {
  bool totp = false;           // an enrolled, confirmed TOTP secret
  int64_t totp_since_ms = 0;   // when it was confirmed
  int recovery_left = 0;       // unused recovery codes
};

// What an enrolment page shows once: the secret in Base32 (for typing), the
// otpauth:// URI and the URI as an SVG QR code.
struct TotpEnrolment {
  std::string secret_base32;
  std::string uri;
  std::string qr_svg;
};

// How a code was accepted.
enum class FactorUsed { kTotp, kRecoveryCode };

class SecondFactors {
 public:
  static std::vector<Migration> Migrations();

  // `recovery_key`: secret bytes keying the recovery-code hashes, the same on
  // every node (src/app derives it from the master key).
  SecondFactors(SqlStore& sql, TicketStore& tickets, const crypto::SecretBox& box,
                const Clock& clock, Random& random, std::string recovery_key, MfaOptions options);

  const MfaOptions& options() const { return options_; }

  Result<FactorStatus> StatusOf(std::string_view userid);

  // A new secret for `userid`, waiting for its first code (ConfirmTotp).
  // Replaces an earlier unconfirmed one. AlreadyExists when the user has a
  // confirmed TOTP (an administrator's reset comes first).
  // `enrolment` names the page flow showing it (a pending login's key, a
  // session's id): the pending secret is bound to it (sealed with it), shown
  // again only to the same enrolment (a page reloaded, a wrong first code) and
  // confirmed only by it. Any other start gets a fresh secret, so whoever
  // passes the password step cannot read the secret the user will confirm.
  // "" = unbound, always fresh.
  Result<TotpEnrolment> BeginTotp(std::string_view userid, std::string_view account_label,
                                  std::string_view enrolment = "");
  // Activates the pending secret of `enrolment` (the one BeginTotp was given)
  // with its first code and returns fresh recovery codes (shown once; only
  // their hashes are kept). Errors: NotFound (nothing pending, or the pending
  // secret belongs to another enrolment), PermissionDenied (wrong code),
  // kEasyLoginThrottled-coded error when the account is throttled.
  Result<std::vector<std::string>> ConfirmTotp(std::string_view userid, std::string_view code,
                                               std::string_view enrolment = "");

  // Checks a second factor: six digits = a TOTP code (±1 step; a step once
  // accepted is refused afterwards, on every node), anything else = a
  // recovery code (single use). Errors: PermissionDenied (wrong, replayed or
  // used), NotFound (no factor enrolled), kEasyLoginThrottled-coded error.
  Result<FactorUsed> Verify(std::string_view userid, std::string_view code);

  // Removes the user's TOTP secret and recovery codes (administrator reset:
  // the user enrols again at the next login that requires a factor).
  // Returns whether there was anything to remove.
  Result<bool> Reset(std::string_view userid);

  // Must `userid` give a second factor to open `servicecode` ("" = the SSO
  // itself)? True for platform administrators (admin_required), for holders
  // of a role in required_roles, for an app that requires one, and for users
  // with a confirmed TOTP.
  Result<bool> Required(directory::Directory& directory, std::string_view userid,
                        std::string_view servicecode);
  // Required, remembered per user and app for kRecentTtlMs: the staff APIs ask
  // on every call (an approval lifecycle is six), where two SQL reads a call
  // cost a third of the work. A change made here is seen at once; one made on
  // another node (a policy switched on, a TOTP confirmed there) within
  // kRecentTtlMs. Logins use Required itself.
  static constexpr int64_t kRecentTtlMs = 2'000;
  Result<bool> RequiredRecently(directory::Directory& directory, std::string_view userid,
                                std::string_view servicecode);
  // An app's own policy (false for unknown apps).
  Result<bool> AppRequires(std::string_view servicecode);
  Status SetAppRequires(std::string_view servicecode, bool required);
  // The servicecodes that require a second factor.
  Result<std::vector<std::string>> RequiringApps();

 private:
  Status CountFailure(std::string_view userid);
  Status CheckThrottle(std::string_view userid);
  std::string RecoveryHash(std::string_view userid, std::string_view code) const;
  Result<std::string> OpenSecret(std::string_view userid, std::string_view sealed) const;
  // What a pending secret is sealed with: the user and its enrolment.
  static std::string PendingContext(std::string_view userid, std::string_view enrolment);

  SqlStore& sql_;
  TicketStore& tickets_;
  const crypto::SecretBox& box_;
  const Clock& clock_;
  Random& random_;
  std::string recovery_key_;
  MfaOptions options_;
  struct Recent {
    bool required = false;
    int64_t until_ms = 0;
  };
  std::mutex recent_mu_;
  std::unordered_map<std::string, Recent> recent_;  // "userid/servicecode"
  void ForgetRecent();
};

// "abcde-fghij" style recovery codes are compared without case, spaces or dashes.
std::string NormaliseRecoveryCode(std::string_view code);

}  // namespace tongban::sso
