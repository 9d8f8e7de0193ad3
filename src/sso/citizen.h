// CitizenAccounts: accounts people and companies create for themselves on a
// public 一网通办 hall — registration with a mobile proven by a one-time code,
// password recovery by that mobile, and real-name levels (authlevel) raised by
// an operator's counter check or an identity verifier. Used by the usp.do /
// mobile.do pages (citizen_pages.cc), the console API and the admin CLI.
// docs/design/citizen-accounts.md is the map; thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/value.h"
#include "core/clock.h"
#include "core/result.h"
#include "directory/directory.h"
#include "http/request.h"
#include "http/response.h"
#include "sso/audit.h"
#include "sso/one_time_codes.h"
#include "sso/sms_channel.h"
#include "store/sql_store.h"

namespace tongban::sso {

enum class AccountKind { kPersonal, kLegal };
std::string_view AccountKindName(AccountKind kind);  // "personal", "legal"

// The real-name levels of the spec's `authlevel`.
inline constexpr int kLevelSelfRegistered = 1;  // 未实名 / self-registered
inline constexpr int kLevelRealName = 2;        // 初级实名: identity checked
inline constexpr int kLevelRealPerson = 3;      // 高级实名: checked in person

// The user's level: authlevel as a number, 1 when empty or unreadable.
int AuthLevelOf(const directory::User& user);
// "" when the user meets the app's min_authlevel, else the message the login
// shows: the level required, the user's, and how to raise it.
std::string AuthLevelShortfall(const directory::User& user, const directory::App& app);

// What an identity-verification service is asked: a person by name and
// resident ID, or a company by name, USCC and legal representative.
struct IdentityClaim {
  AccountKind kind = AccountKind::kPersonal;
  std::string name;    // the person (personal) or the handler (legal)
  std::string idtype;  // "1" resident ID
  std::string idnum;
  std::string company_name;  // legal only
  std::string uscc;
  std::string legal_rep;
};

// The provincial ID-verification service (公安人口库 / 市场监管主体库 behind a
// gateway), as a plugin. Verify answers true when the records match.
// Errors: kUnavailable when the service cannot answer.
class IdentityVerifier {
 public:
  virtual ~IdentityVerifier() = default;
  virtual std::string_view name() const = 0;
  virtual Result<bool> Verify(const IdentityClaim& claim) = 0;
};

// The sandbox verifier that ships with the project (tests, the demo): a claim
// matches unless its name (or the legal representative's) starts with "冒名"
// ("impostor"), so tests can exercise both answers. Refused in production by
// the config, like the sandbox SMS channel.
std::unique_ptr<IdentityVerifier> MakeSandboxVerifier();

struct CitizenSettings {
  std::string personal_org;  // orgcoding of self-registered personal accounts
  std::string legal_org;     // orgcoding of legal-person (company handler) accounts
  std::string platform_name = "统一身份认证平台";  // signs the SMS texts
};

struct Registration {
  AccountKind kind = AccountKind::kPersonal;
  std::string loginname;
  std::string password;
  std::string username;  // the person; for a company the handler (经办人)
  std::string idtype = "1";
  std::string idnum;     // the person's; for a company the handler's
  std::string mobile;
  std::string code;      // the one-time code sent to `mobile`
  std::string company_name;  // legal only: 企业名称
  std::string uscc;          // legal only: 统一社会信用代码
  std::string legal_rep;     // legal only: 法定代表人
  std::string ip;
};

// Error codes besides code_error's and the directory's 20xx (login name
// exists 2010, bad login name 2004, ...).
namespace citizen_error {
inline constexpr int kInvalid = 7201;           // a field is missing or malformed (message says which)
inline constexpr int kMobileRegistered = 7202;  // the proven mobile already has an account
inline constexpr int kIdVerifiedElsewhere = 7203;  // the ID belongs to a real-name account
inline constexpr int kNotCitizen = 7204;        // the account is not a self-service account
}  // namespace citizen_error

struct CitizenAccount {
  std::string userid;
  std::string loginname;
  std::string username;
  AccountKind kind = AccountKind::kPersonal;
  int level = kLevelSelfRegistered;
  std::string mobile;  // masked in lists
  std::string idnum;   // masked in lists
  std::string company_name;
  std::string uscc;
  std::string legal_rep;
  // "" none; "pending": waits for a counter check; "done"; "refused".
  std::string check_state;
  std::string check_reason;  // why it waits: "id-shared", "company-known", "verifier-mismatch"
  int64_t created_ms = 0;
  int64_t checked_ms = 0;
  std::string checked_by;
};

struct AccountFilter {
  std::string kind;   // "" any, "personal", "legal"
  int level = 0;      // 0 any
  bool pending_only = false;
};

struct AccountPage {
  int64_t total = 0;
  std::vector<CitizenAccount> items;
};

struct RegisteredAccount {
  directory::User user;
  bool flagged = false;  // waits for a counter check (see the ID policy)
};

class CitizenAccounts {
 public:
  // Migrations of module "citizen_accounts" (the apps' min_authlevel column
  // is the directory's "sso_citizen" migration).
  static std::vector<Migration> Migrations();
  // Whether `userid` registered itself (its mobile was proven by an SMS code):
  // the directory's DirectoryOptions::mobile_is_proven, in the caller's
  // transaction.
  static Result<bool> IsSelfRegistered(soci::session& sql, const std::string& userid);

  struct Deps {
    SqlStore& sql;
    directory::Directory& directory;
    Audit& audit;
    const Clock& clock;
    OneTimeCodes* codes = nullptr;      // null (the admin CLI): no registration or recovery
    AsyncSmsSender* sender = nullptr;   // recovery notices
    IdentityVerifier* verifier = nullptr;
    CountingSmsChannel* channel = nullptr;  // for the console's status
  };
  CitizenAccounts(Deps deps, CitizenSettings settings);

  const CitizenSettings& settings() const { return settings_; }
  const CountingSmsChannel* channel() const { return deps_.channel; }
  const OneTimeCodes* codes() const { return deps_.codes; }
  // The codes for the SMS second factor at login (login-2fa); null = none.
  OneTimeCodes* mutable_codes() { return deps_.codes; }
  bool has_verifier() const { return deps_.verifier != nullptr; }

  // Sends a registration code to `mobile` (always, registered or not: the
  // answer must not tell). Errors: citizen_error::kInvalid, code_error::kThrottled.
  Status SendRegistrationCode(std::string_view mobile, std::string_view ip);
  // Checks every field, then the code, then creates the account (active,
  // authlevel 1) in the configured org. The ID policy: an ID number (or for
  // a company its USCC) that a level >= 2 account holds is refused
  // (kIdVerifiedElsewhere) for persons; an ID another level-1 account holds,
  // or a USCC already registered, is accepted but flagged for a counter check.
  Result<RegisteredAccount> Register(const Registration& r);

  // Sends a recovery code when `mobile` has an account; when it has none a
  // code is stored and counted but not sent. Same answer either way.
  Status SendRecoveryCode(std::string_view mobile, std::string_view ip);
  // Sets the new password of the mobile's account after checking the code,
  // audits it and notifies the number. kRejected for a wrong code (also
  // when no account has the number); kInvalidArgument for a weak password.
  // Returns the userid whose password was set.
  Result<std::string> Recover(std::string_view mobile, std::string_view code,
                              std::string_view new_password, std::string_view ip);

  // The operator's counter check (核验): sets the level (1..3) and closes a
  // pending check. `operator_name` and `note` go to the audit.
  Result<CitizenAccount> SetLevel(std::string_view userid, int level,
                                  std::string_view operator_name, std::string_view note);
  // Asks the verifier; a match raises a level-1 account to 2 unless it is
  // flagged for a counter check; a mismatch flags it.
  Result<CitizenAccount> VerifyOnline(std::string_view userid, std::string_view operator_name);

  Result<CitizenAccount> Get(std::string_view userid);
  Result<AccountPage> List(const AccountFilter& filter, directory::Page page);
  // Counts per kind and level and pending checks, for the console.
  Result<codec::Value> Summary();

 private:
  Result<CitizenAccount> Load(std::string_view userid);
  Result<std::vector<std::shared_ptr<const directory::User>>> UsersWithIdnum(
      std::string_view idnum);
  Result<std::shared_ptr<const directory::User>> UserWithMobile(std::string_view mobile);

  Deps deps_;
  CitizenSettings settings_;
};

// The register / forgotPwd pages on usp.do and mobile.do (citizen_pages.cc).
// login_page.cc hands the request over with what the pages share with it.
struct PageKit {
  // Sends a page in the login pages' layout.
  std::function<void(http::Response&, int status, std::string_view title,
                     std::string_view body_html)>
      send;
  std::string csrf;        // the form token (its cookie is set on the response)
  bool csrf_ok = false;    // a POST carried the cookie's token
  std::string form_action; // {context}/usp.do or mobile.do
  std::string login_url;
  // The logged-in user (realname only; login_page.cc asks for a login first).
  std::string userid;
  // Ends every session of a user whose password was just recovered.
  std::function<void(const std::string& userid)> end_sessions;
};
// True when `action` is one of the citizen pages ("register",
// "mobileRegisterUser", "forgotPwd", "findPwd", and "realname": a logged-in
// user's own online real-name check through the identity verifier).
bool IsCitizenAction(std::string_view action);
void HandleCitizenPage(CitizenAccounts& accounts, std::string_view action,
                       const http::Request& request, http::Response& response,
                       const PageKit& kit);

}  // namespace tongban::sso
