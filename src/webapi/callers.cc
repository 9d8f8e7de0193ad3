#include "webapi/callers.h"

#include <algorithm>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "http/url.h"
#include "sso/citizen.h"
#include "sso/second_factors.h"

namespace tongban::webapi {

namespace {

sso::SignedApiOptions SignedOptions(const sso::SsoSettings& s, std::string soap_service) {
  sso::SignedApiOptions o;
  o.soap_service = std::move(soap_service);
  o.sign_window = s.sign_window;
  o.replay_protection = s.replay_protection;
  o.time_zone = s.sign_time_zone;
  return o;
}

}  // namespace

std::vector<std::string_view> QueryParams::Names() const {
  std::vector<std::string_view> names;
  for (const auto& entry : request_.params()) names.push_back(entry.name);
  return names;
}

BrowserGate::BrowserGate(sso::SsoContext& sso)
    : sso_(sso),
      sessions_(sso.tickets, sso.clock, sso.random, sso::LifetimesOf(sso.settings)),
      login_pages_(sso.settings, sessions_) {}

Result<sso::Session> BrowserGate::Resume(const http::Request& request, int not_logged_in) const {
  auto cookie = request.Cookie(sso::kSessionCookieName);
  if (!cookie || cookie->empty()) return Error{not_logged_in, "请先登录"};
  auto session = sessions_.Resume(*cookie);
  if (!session.ok() && session.error().code == errc::kNotFound) {
    return Error{not_logged_in, "登录已失效，请重新登录"};
  }
  return session;
}

Status BrowserGate::CheckCsrf(const http::Request& request, const sso::Session& session,
                              int csrf_failed) const {
  if (request.method() == "GET" || request.method() == "HEAD") return Status::Ok();
  std::string_view token = request.Header("X-CSRF-Token").value_or("");
  std::optional<std::string_view> origin = request.Header("Origin");
  const bool origin_ok = !origin || *origin == sso::PublicBase(sso_.settings, request);
  if (!origin_ok || token.empty() || !crypto::ConstantTimeEquals(token, session.csrf)) {
    return Error{csrf_failed, "CSRF 校验失败，请刷新页面后重试"};
  }
  return Status::Ok();
}

Result<std::shared_ptr<const directory::User>> BrowserGate::ActiveUser(std::string_view userid,
                                                                       int refused) const {
  auto user = sso_.directory.CachedUser(userid);
  if (!user.ok()) return Error{refused, "用户不存在或已被删除"};
  if (!(*user)->active()) return Error{refused, "用户已停用或锁定"};
  return user;
}

std::string BrowserGate::LoginUrl(const http::Request& request,
                                  std::string_view return_url) const {
  return login_pages_.LoginUrl(request, return_url, false);
}

Status BrowserGate::CheckAppPolicy(const http::Request& request, const sso::Session& session,
                                   const directory::User& user, std::string_view servicecode,
                                   std::string_view return_url, bool check_second_factor,
                                   bool check_authlevel, int not_logged_in, int refused,
                                   std::string* step_up_url) const {
  if (check_second_factor && sso_.second_factors != nullptr && !session.HasSecondFactor()) {
    auto need = sso_.second_factors->RequiredRecently(sso_.directory, session.userid, servicecode);
    if (!need.ok()) return need.error();
    if (*need) {
      // No servicecode in the URL: the login page would then send the browser
      // to the app's ticket callback, not back to `return_url`; mfa=1 asks for
      // the factor whatever the app.
      std::string login = login_pages_.LoginUrl(request, return_url, /*force=*/true);
      login = http::AppendQuery(login, "mfa", "1");
      if (step_up_url != nullptr) *step_up_url = std::move(login);
      return Error{not_logged_in, "该系统需要双因素认证，请重新登录并完成验证"};
    }
  }
  if (check_authlevel) {
    auto app = sso_.directory.CachedApp(servicecode);
    if (!app.ok() && app.error().code != errc::kNotFound) return app.error();
    if (app.ok()) {
      if (std::string shortfall = sso::AuthLevelShortfall(user, **app); !shortfall.empty()) {
        return Error{refused, std::move(shortfall)};
      }
    }
  }
  return Status::Ok();
}

std::vector<std::string> UserOrgs(const directory::User& user) {
  std::vector<std::string> orgs;
  if (!user.orgcoding.empty()) orgs.push_back(user.orgcoding);
  std::string_view rest = user.extendorgcoding;
  while (!rest.empty()) {
    size_t at = rest.find(';');
    std::string_view org = rest.substr(0, at);
    if (!org.empty() && std::find(orgs.begin(), orgs.end(), org) == orgs.end()) {
      orgs.emplace_back(org);
    }
    if (at == std::string_view::npos) break;
    rest.remove_prefix(at + 1);
  }
  return orgs;
}

SignedGate::SignedGate(sso::SsoContext& sso, std::string soap_service)
    : signed_api_(SignedOptions(sso.settings, std::move(soap_service)), sso.directory, sso.tickets,
                  sso.clock) {}

Result<std::shared_ptr<const directory::App>> SignedGate::Authenticate(
    const http::Request& request, std::string_view method, const SignedRules& rules) {
  QueryParams params(request);
  if (params.Get("signmethod").empty()) {
    return Error{rules.refused, std::string(rules.api_name) +
                                    "要求请求签名（signmethod=hmac-sha256 或 hmac-sm3）"};
  }
  const bool bind = rules.body == BodyBinding::kAlways || !request.body().empty();
  if (bind &&
      !crypto::ConstantTimeEquals(params.Get("body_sha256"), crypto::Sha256Hex(request.body()))) {
    return Error{rules.refused, "body_sha256 与请求体不符"};
  }
  auto app = signed_api_.Authenticate(params, method, request.remote_ip());
  if (!app.ok()) {
    return Error{rules.refused, "接入资源认证失败：" + app.error().message + "（" +
                                    std::to_string(app.error().code) + "）"};
  }
  return app;
}

}  // namespace tongban::webapi
