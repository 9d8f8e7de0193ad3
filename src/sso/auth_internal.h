// Private to SsoAuth (auth_api.cc and the files it is split into): the
// services the sign-on endpoints share — sessions, throttle, audit, unified
// logout — and the steps more than one of them takes (password login, "may
// this user open this app", own password and profile changes).
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "codec/value.h"
#include "core/result.h"
#include "directory/directory.h"
#include "directory/model.h"
#include "http/router.h"
#include "sso/audit.h"
#include "sso/auth_codes.h"
#include "sso/context.h"
#include "sso/logout.h"
#include "sso/sessions.h"
#include "sso/signed_api.h"
#include "sso/throttle.h"

namespace tongban::sso {

inline constexpr std::string_view kSessionCookie = kSessionCookieName;

struct AuthServices {
  explicit AuthServices(SsoContext& c);

  SsoContext& context;
  Audit audit;
  SessionStore sessions;
  LoginThrottle throttle;
  UnifiedLogout logout;
};

struct PasswordLogin {
  directory::LoginAttempt attempt;
  std::string ip;           // the browser's; "" for app calls (their IP is the app's)
  std::string servicecode;  // for the audit
  std::string channel;      // "page", "easyAuth", "commnetAuth": for the audit
};

// Throttle check, Directory::VerifyLogin, failure counting and the audit.
// Errors: the directory's 64xx codes, kEasyLoginThrottled (with the lockout
// message), or an infrastructure error.
Result<std::shared_ptr<const directory::User>> LoginWithPassword(AuthServices& s,
                                                                 const PasswordLogin& login);

// The user may open the app: it is open to all, or the user holds a role in it.
Result<bool> MayOpen(AuthServices& s, const directory::User& user, const directory::App& app);

// Must the login behind `factors` (Session::factors) give a second factor
// before `user` gets a grant for `app`? The same rule as the login page's
// step-up (SecondFactors::Required and no factor in the session), for every
// way a ticket is handed out without the page: js.do, generateST.
Result<bool> SecondFactorMissing(AuthServices& s, std::string_view factors,
                                 const directory::User& user, const directory::App& app);

// The reply for a failed SessionStore check, with `name` ("st", "token", ...)
// in errmsg.
codec::Value GrantFailure(const Error& error, const auth_code::GrantCodes& codes,
                          std::string_view name);

// Own password change (editPwd, updatePassword). Errors: 6402 wrong old
// password, 6409 throttled, errc::kInvalidArgument for a new password the
// policy refuses (message says why), infrastructure errors. Once changed,
// every other session of the user ends (whoever else knew the old password
// is logged out); `current_session`, the one the change was made in, stays.
Status ChangeOwnPassword(AuthServices& s, const directory::User& user, std::string_view old_plain,
                         std::string_view new_plain, std::string_view ip,
                         std::string_view servicecode, std::string_view current_session);
// Why a new password is refused, or "" when it is acceptable: 8..64
// characters, at least two of lower case, upper case, digits and others, not
// the login name.
std::string PasswordPolicyProblem(std::string_view password, std::string_view loginname);

// The fields users may change about themselves: contact and address details.
// Not the mobile: password recovery and SMS login codes go to it, so moving
// it must prove the new number, and no self-service or app path does that
// (a counter clerk changes it in the console, after seeing the ID).
bool SelfEditable(std::string_view field);
inline constexpr std::string_view kMobileNotSelfEditable =
    "手机号码不能在此修改：它用于找回密码和接收登录验证码，更换须验证新号码。"
    "请携带身份证件到政务服务窗口办理。";
// Own profile change (editUser, updateUserInfo). A field that is not
// SelfEditable is accepted only with its current value. Errors:
// errc::kPermissionDenied (a field not editable, named in the message),
// errc::kInvalidArgument (a value the directory refuses; message says why).
Result<directory::User> UpdateOwnInfo(AuthServices& s, const directory::User& user,
                                      const directory::Fields& changes, std::string_view ip,
                                      std::string_view servicecode);

// "scheme://host[:port]" of an http(s) URL, lower case, without a default
// port; "" when it is not one (or carries user info).
std::string OriginOf(std::string_view url);
// `url` is at one of the app's registered callback prefixes, or at least on
// the same origin as one of them: for destinations that only take the
// browser back to the app (logout's goto, the page asking js.do).
bool OnAppOrigin(const directory::App& app, std::string_view url);

// The zfRedirect address that sends a logged-in user to `servicecode`:
// absolute when public_url is set, else a path.
std::string LaunchUrl(const SsoSettings& settings, std::string_view servicecode);

// ---- Steps of the signed interfaces (auth_calls.cc) ----

// How idValidation answers: easyAuth uses the 64xx codes as they are,
// commnetAuth the same minus 3000.
struct LoginCodes {
  int offset;  // 0 or auth_code::kCommLoginOffset
  int other;   // 6499 / 3499
};

struct ApiLogin {
  std::shared_ptr<const directory::User> user;
  Session session;  // an API session (no cookie) grouping what the login yields
};

// idValidation up to the authenticated user and a fresh API session. On
// failure `*failure` holds the reply.
Result<ApiLogin> IdValidation(AuthServices& s, const ApiCall& call, const LoginCodes& codes,
                              std::string_view channel, codec::Value* failure);

// The active user a grant names (PermissionDenied when locked or inactive).
Result<std::shared_ptr<const directory::User>> GrantUser(AuthServices& s, const Grant& g);
// Every token-taking method asks this before answering: the reply `code`
// when the grant's user was locked, disabled or deleted since (normally the
// lock already revoked the grant; this covers a lock made where the sessions
// could not be reached, such as the CLI beside an in-memory store). Hot
// path: one Directory::CachedUser lookup, no SQL.
std::optional<codec::Value> RefuseInactiveUser(AuthServices& s, const Grant& g, int code);

// A refusal (with `code`) when the grant's user may no longer open `app`
// (MayOpen: a role withdrawn from a closed app, a real-name level the app
// now asks for), after revoking `revoke` (a refresh token and what it
// issued; nullptr = nothing): what a login would refuse, renewing refuses
// too. std::nullopt when the user still may. Reads the directory's cached
// snapshots.
std::optional<codec::Value> RefuseClosedApp(AuthServices& s, const Grant& g,
                                            const directory::App& app, int code,
                                            const Grant* revoke = nullptr);

// Builds the reply of an ExchangeGrantAsync once the store answered (a
// replay never reaches it: that is answered 9906).
using ExchangeReply = std::function<codec::Value(const Result<Exchanged>&)>;
// SessionStore::ExchangeAsync of the call's `param` (a `kind` grant) for an
// `issue` grant, with the call's replay mark; `finish` builds the reply on
// the I/O thread.
void ExchangeGrantAsync(AuthServices& s, const ApiCall& call, GrantKind kind,
                        std::string_view param, GrantKind issue, ExchangeReply finish,
                        ReplyWith reply);
// ticketValidation of both interfaces: redeems `st` for the calling app and
// issues a grant of `issue` in the same session, answered as `field` (easyAuth
// a "token", commnetAuth an "authcode") with userid, loginname and username.
// The replay mark, the redeem and the issue are one store call (one Redis
// round trip) and `reply` answers when it completes (AddAsyncMethod). A user
// found locked after the exchange gets no grant: the one issued is never
// handed out and expires unused.
void ValidateTicketAsync(AuthServices& s, const ApiCall& call, const auth_code::GrantCodes& codes,
                         GrantKind issue, std::string_view field, ReplyWith reply);

struct ProxyCodes {
  const auth_code::GrantCodes& token;
  int app_missing;
  int user_not_allowed;
  int no_right;
  int app_disabled;
};

// generateST: a ticket for `proxyapp` in the session of the caller's token
// (`token_param` names the parameter holding a grant of `kind`).
codec::Value GenerateProxyTicket(AuthServices& s, const ApiCall& call, GrantKind kind,
                                 std::string_view token_param, const ProxyCodes& codes);
// getUserInfo's reply: result, errmsg and every user field.
codec::Value UserInfoReply(const directory::User& user);
// getUserSys: userid, total and one `system` (servicecode, servicename, url) per app.
codec::Value UserSysReply(AuthServices& s, const Grant& grant, int other);
// getUserRole: userid, total and one `role` (rolecode, rolename, memo) per role in the app.
codec::Value UserRoleReply(AuthServices& s, const Grant& grant, int other);
// logout: ends the token's session everywhere (an expired token still may).
codec::Value LogoutReply(AuthServices& s, const ApiCall& call, GrantKind kind,
                         std::string_view token_param, const auth_code::GrantCodes& codes);

// The interfaces, each in its own file.
void AddEasyAuthMethods(SignedApi& api, AuthServices& s);
void AddCommnetAuthMethods(SignedApi& api, AuthServices& s);
void RegisterLoginPages(http::Router& router, AuthServices& s);
void RegisterJsApi(http::Router& router, AuthServices& s);

}  // namespace tongban::sso
