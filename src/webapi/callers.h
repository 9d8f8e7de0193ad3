// Who calls a JSON API: a browser with the SSO session cookie (BrowserGate:
// session, active user, CSRF and Origin on mutations, the login URL to send a
// lost session to), or a department system with tongban's request signature
// (SignedGate: signmethod required, body bound by body_sha256). The error codes
// are each API's own; the checks are the same everywhere.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "directory/directory.h"
#include "http/request.h"
#include "sso/cas_oidc_support.h"
#include "sso/context.h"
#include "sso/sessions.h"
#include "sso/signed_api.h"

namespace tongban::webapi {

class BrowserGate {
 public:
  explicit BrowserGate(sso::SsoContext& sso);

  // The session of the request's SSO cookie; Error{not_logged_in, "请先登录" or
  // "登录已失效，请重新登录"} when there is none, other errors as they come.
  Result<sso::Session> Resume(const http::Request& request, int not_logged_in) const;

  // For mutations only (GET and HEAD pass): X-CSRF-Token equals the session's
  // token and an Origin header, when sent, is the platform's own.
  Status CheckCsrf(const http::Request& request, const sso::Session& session,
                   int csrf_failed) const;

  // The session user, when still present and active; Error{refused, …} else.
  Result<std::shared_ptr<const directory::User>> ActiveUser(std::string_view userid,
                                                            int refused) const;

  // Where a browser logs in and comes back to `return_url`.
  std::string LoginUrl(const http::Request& request, std::string_view return_url) const;

  // What the login page demands before it opens the app `servicecode`, asked
  // of an API's session too (a session from a plain login, or from before the
  // policy, must not reach the app's API): a second factor when
  // SecondFactors::Required says so and the session has none —
  // Error{not_logged_in, …} with *step_up_url set to a renew=true&mfa=1 login
  // coming back to `return_url` — and, when `check_authlevel`, the
  // app's min_authlevel — Error{refused, the shortfall}. Unknown app: no policy.
  Status CheckAppPolicy(const http::Request& request, const sso::Session& session,
                        const directory::User& user, std::string_view servicecode,
                        std::string_view return_url, bool check_second_factor,
                        bool check_authlevel, int not_logged_in, int refused,
                        std::string* step_up_url) const;

  sso::SessionStore& sessions() { return sessions_; }

 private:
  sso::SsoContext& sso_;
  mutable sso::SessionStore sessions_;
  mutable sso::LoginPageSessions login_pages_;
};

// The user's orgs: the main one, then each extendorgcoding (';'-separated), once each.
std::vector<std::string> UserOrgs(const directory::User& user);

// A signed call's parameters: the URL query only (a body is the payload, bound
// by body_sha256). For APIs that check the signature themselves.
class QueryParams final : public sso::CallParams {
 public:
  explicit QueryParams(const http::Request& request) : request_(request) {}
  std::string_view Get(std::string_view name) const override { return request_.ParamOr(name); }
  std::vector<std::string_view> Names() const override;

 private:
  const http::Request& request_;
};

enum class BodyBinding {
  kWhenBodyPresent,  // a call without a body needs no body_sha256
  kAlways,           // body_sha256 is required, of the empty body too
};

struct SignedRules {
  int refused = 0;             // the API's error code for every refusal
  std::string_view api_name;   // "审批接口": who demands the signature, in messages
  BodyBinding body = BodyBinding::kWhenBodyPresent;
};

class SignedGate {
 public:
  // `soap_service` names the API in the signature's method space (sso/signed_api.h).
  SignedGate(sso::SsoContext& sso, std::string soap_service);

  // The calling app, its request signature checked over `method` (the API path).
  Result<std::shared_ptr<const directory::App>> Authenticate(const http::Request& request,
                                                             std::string_view method,
                                                             const SignedRules& rules);

 private:
  sso::SignedApi signed_api_;
};

}  // namespace tongban::webapi
