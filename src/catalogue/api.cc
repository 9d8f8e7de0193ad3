#include "catalogue/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "catalogue/api_internal.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "sso/cas_oidc_support.h"
#include "sso/oidc_grants.h"
#include "sso/sessions.h"
#include "sso/signed_api.h"

namespace tongban::catalogue {

// Defined in api_query.cc.
void WriteQueryError(const http::Request& request, http::Response& response, const Error& e);
void AddQueryMethods(sso::SignedApi& api, Services& services);

namespace {

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash + 1);
  }
  return out;
}

int HttpStatusFor(int code) {
  switch (code) {
    case api_code::kNotLoggedIn:
      return 401;
    case api_code::kNoRole:
    case api_code::kCsrfFailed:
    case errc::kPermissionDenied:
      return 403;
    case errc::kInvalidArgument:
    case errc::kExpired:
      return 400;
    case errc::kNotFound:
      return 404;
    case errc::kAlreadyExists:
    case errc::kConflict:
      return 409;
    case errc::kTooLarge:
      return 413;
    case errc::kUnavailable:
      return 503;
    default:
      return 500;
  }
}

void WriteError(http::Response& response, const Error& e) {
  int status = HttpStatusFor(e.code);
  std::string message = e.message;
  if (status == 500) {
    spdlog::error("catalogue api: {}", e.message);
    message = "内部错误，请查看服务器日志";
  }
  nlohmann::json body = {
      {"error", {{"code", e.code >= 100 ? e.code : status}, {"message", message}}}};
  response.SetJson(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

bool IsMutation(std::string_view method) { return method != "GET" && method != "HEAD"; }

std::vector<std::string> SplitList(std::string_view text, char sep) {
  std::vector<std::string> out;
  while (!text.empty()) {
    size_t at = text.find(sep);
    std::string_view item = text.substr(0, at);
    if (!item.empty()) out.emplace_back(item);
    if (at == std::string_view::npos) break;
    text.remove_prefix(at + 1);
  }
  return out;
}

class QueryParams final : public sso::CallParams {
 public:
  explicit QueryParams(const http::Request& request) : request_(request) {}
  std::string_view Get(std::string_view name) const override { return request_.ParamOr(name); }
  std::vector<std::string_view> Names() const override {
    std::vector<std::string_view> names;
    for (const auto& entry : request_.params()) names.push_back(entry.name);
    return names;
  }

 private:
  const http::Request& request_;
};

sso::SignedApiOptions SignedOptions(const sso::SsoSettings& s, const ApiSettings& a) {
  sso::SignedApiOptions o;
  o.soap_service = "CatalogueQueryService";
  if (!a.public_url.empty()) {
    o.soap_endpoint_url = a.public_url + a.context_path + "/services/CatalogueQueryService";
  }
  o.sign_window = s.sign_window;
  o.replay_protection = s.replay_protection;
  o.time_zone = s.sign_time_zone;
  return o;
}

}  // namespace

bool Caller::Has(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

Party Caller::AsParty() const {
  Party p;
  p.actor.id = kind == Kind::kStaff ? userid : app;
  p.actor.kind = kind == Kind::kStaff ? "staff" : kind == Kind::kSystem ? "system" : "client";
  p.actor.org = orgs.empty() ? "" : orgs.front();
  p.orgs = orgs;
  p.admin = Has(kRoleAdmin);
  p.provider = Has(kRoleProvider);
  return p;
}

Status RequireRole(const Caller& caller, std::initializer_list<std::string_view> roles) {
  for (std::string_view r : roles) {
    if (caller.Has(r)) return Status::Ok();
  }
  return Error::PermissionDenied("您没有此操作的权限");
}

Result<int64_t> IdArg(const std::string& text) {
  if (text.empty() || text.size() > 18 ||
      !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error::NotFound("没有这条记录");
  }
  return static_cast<int64_t>(std::stoll(text));
}

std::string Text(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

struct CatalogueApi::Impl {
  explicit Impl(Services s)
      : services(std::move(s)),
        sessions(services.sso.tickets, services.sso.clock, services.sso.random,
                 sso::LifetimesOf(services.sso.settings)),
        login_pages(services.sso.settings, sessions),
        signed_api(SignedOptions(services.sso.settings, services.settings),
                   services.sso.directory, services.sso.tickets, services.sso.clock),
        oidc(services.sso.tickets, services.sso.clock, services.sso.random, sso::OidcLifetimes{}) {
    AddCatalogueRoutes(routes);
    AddSharingRoutes(routes);
    AddQueryRoutes(routes);
    AddQueryMethods(signed_api, services);
  }

  std::string ApiPrefix() const { return services.settings.context_path + "/api/"; }

  Result<Caller> SessionUser(const http::Request& request, std::string* csrf) {
    auto cookie = request.Cookie(sso::kSessionCookieName);
    if (!cookie || cookie->empty()) return Error{api_code::kNotLoggedIn, "请先登录"};
    auto session = sessions.Resume(*cookie);
    if (!session.ok()) {
      if (session.error().code == errc::kNotFound) {
        return Error{api_code::kNotLoggedIn, "登录已失效，请重新登录"};
      }
      return session.error();
    }
    auto user = services.sso.directory.CachedUser(session->userid);
    if (!user.ok()) return Error{api_code::kNoRole, "用户不存在或已被删除"};
    if (!(*user)->active()) return Error{api_code::kNoRole, "用户已停用或锁定"};
    Caller c;
    c.kind = Caller::Kind::kStaff;
    c.userid = (*user)->userid;
    c.loginname = (*user)->loginname;
    c.username = (*user)->username;
    auto roles = services.sso.directory.UserRoles(session->userid, kAppCode);
    if (!roles.ok()) return roles.error();
    if (roles->empty()) {
      return Error{api_code::kNoRole, "您没有目录与共享服务的角色，请联系管理员授权"};
    }
    for (const directory::Role& role : *roles) c.roles.push_back(role.rolecode);
    c.orgs.push_back((*user)->orgcoding);
    for (std::string& org : SplitList((*user)->extendorgcoding, ';')) c.orgs.push_back(org);
    if (IsMutation(request.method())) {
      std::string_view token = request.Header("X-CSRF-Token").value_or("");
      std::optional<std::string_view> origin = request.Header("Origin");
      const bool origin_ok = !origin || *origin == sso::PublicBase(services.sso.settings, request);
      if (!origin_ok || token.empty() || !crypto::ConstantTimeEquals(token, session->csrf)) {
        return Error{api_code::kCsrfFailed, "CSRF 校验失败，请刷新页面后重试"};
      }
    }
    *csrf = session->csrf;
    return c;
  }

  // A department system: tongban's request signature over the API path as
  // the method, body_sha256 binding the body.
  Result<Caller> System(const http::Request& request, std::string_view method) {
    QueryParams params(request);
    if (!crypto::ConstantTimeEquals(params.Get("body_sha256"), crypto::Sha256Hex(request.body()))) {
      return Error{result_code::kAuthFailed, "body_sha256 与请求体不符"};
    }
    auto app = signed_api.Authenticate(params, method, request.remote_ip());
    if (!app.ok()) {
      return Error{result_code::kAuthFailed, "接入资源认证失败：" + app.error().message + "（" +
                                                 std::to_string(app.error().code) + "）"};
    }
    Caller c;
    c.kind = Caller::Kind::kSystem;
    c.app = (*app)->servicecode;
    if (!(*app)->orgcoding.empty()) c.orgs.push_back((*app)->orgcoding);
    return c;
  }

  // An OIDC client: a live access token from the token endpoint (any node
  // sharing the ticket store issued it); the client must still be an enabled app.
  Result<Caller> Client(std::string_view token) {
    auto grant = oidc.CheckAccessToken(token);
    if (!grant.ok()) {
      if (grant.error().code == errc::kNotFound) {
        return Error{result_code::kAuthFailed, "访问令牌无效或已过期"};
      }
      return grant.error();
    }
    auto app = services.sso.directory.GetApp(grant->client_id);
    if (!app.ok() || !app->enabled) {
      return Error{result_code::kAuthFailed, "令牌所属的应用不存在或已停用"};
    }
    Caller c;
    c.kind = Caller::Kind::kClient;
    c.app = grant->client_id;
    if (!app->orgcoding.empty()) c.orgs.push_back(app->orgcoding);
    return c;
  }

  Result<Caller> QueryCaller(const http::Request& request, std::string_view relative,
                             std::string* csrf) {
    std::string_view auth = request.Header("Authorization").value_or("");
    if (auth.size() > 7 && (auth.starts_with("Bearer ") || auth.starts_with("bearer "))) {
      return Client(auth.substr(7));
    }
    if (!request.ParamOr("signmethod").empty() || !request.ParamOr("sign").empty()) {
      return System(request, relative);
    }
    auto staff = SessionUser(request, csrf);
    if (!staff.ok()) {
      const int code = staff.error().code;
      if (code == api_code::kNotLoggedIn) {
        return Error{result_code::kNotLoggedIn,
                     "请登录，或以请求签名、OIDC 访问令牌调用：" + staff.error().message};
      }
      if (code == api_code::kNoRole || code == api_code::kCsrfFailed) {
        return Error{result_code::kAuthFailed, staff.error().message};
      }
      return staff.error();
    }
    return staff;
  }

  void Handle(const http::Request& request, http::Response& response) {
    response.AddHeader("Cache-Control", "no-store");
    response.AddHeader("X-Content-Type-Options", "nosniff");
    const std::string_view relative = request.path().substr(ApiPrefix().size());
    std::vector<std::string_view> segments = Split(relative);
    bool path_known = false;
    for (const Route& route : routes) {
      std::vector<std::string_view> pattern = Split(route.pattern);
      if (pattern.size() != segments.size()) continue;
      std::vector<std::string> args;
      bool match = true;
      for (size_t i = 0; i < pattern.size() && match; ++i) {
        if (pattern[i].starts_with(':')) {
          match = !segments[i].empty();
          args.emplace_back(segments[i]);
        } else {
          match = pattern[i] == segments[i];
        }
      }
      if (!match) continue;
      path_known = true;
      if (route.method != request.method() &&
          !(route.method == "GET" && request.method() == "HEAD")) {
        continue;
      }
      Run(route, relative, std::move(args), request, response);
      return;
    }
    const int status = path_known ? 405 : 404;
    nlohmann::json body = {
        {"error",
         {{"code", status}, {"message", path_known ? "不支持的请求方法" : "没有这个接口"}}}};
    response.SetJson(status, body.dump());
  }

  void Run(const Route& route, std::string_view relative, std::vector<std::string> args,
           const http::Request& request, http::Response& response) {
    Call call{request, response, Caller{}, std::move(args), nullptr, false, {}};
    if (route.access == Access::kStaff) {
      auto caller = SessionUser(request, &call.csrf);
      if (!caller.ok()) {
        if (caller.error().code == api_code::kNotLoggedIn) {
          std::string base = services.settings.public_url.empty()
                                 ? sso::PublicBase(services.sso.settings, request)
                                 : services.settings.public_url;
          std::string back = base + services.settings.context_path + "/";
          nlohmann::json body = {{"error",
                                  {{"code", api_code::kNotLoggedIn},
                                   {"message", caller.error().message},
                                   {"login", login_pages.LoginUrl(request, back, false)}}}};
          response.SetJson(401, body.dump());
          return;
        }
        WriteError(response, caller.error());
        return;
      }
      call.caller = std::move(*caller);
    } else {
      auto caller = QueryCaller(request, relative, &call.csrf);
      if (!caller.ok()) {
        WriteQueryError(request, response, caller.error());
        return;
      }
      call.caller = std::move(*caller);
    }
    std::string_view type = request.Header("Content-Type").value_or("");
    if (route.access == Access::kStaff && !request.body().empty() &&
        type.starts_with("application/json")) {
      call.body = nlohmann::json::parse(request.body(), nullptr, false);
      if (call.body.is_discarded()) {
        WriteError(response, Error::InvalidArgument("请求体不是合法的 JSON"));
        return;
      }
    }
    Result<nlohmann::json> result = Error::Internal("no answer");
    try {
      result = route.handler(services, call);
    } catch (const std::exception& e) {
      spdlog::error("catalogue api {} {}: {}", route.method, route.pattern, e.what());
      WriteError(response, Error::Internal(e.what()));
      return;
    }
    if (!result.ok()) {
      WriteError(response, result.error());
      return;
    }
    if (call.wrote_response) return;
    response.SetJson(200, result->dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  }

  Services services;
  sso::SessionStore sessions;
  sso::LoginPageSessions login_pages;
  sso::SignedApi signed_api;
  sso::OidcGrants oidc;
  std::vector<Route> routes;
};

CatalogueApi::CatalogueApi(Services services)
    : impl_(std::make_unique<Impl>(std::move(services))) {}
CatalogueApi::~CatalogueApi() = default;

Status CatalogueApi::Register(http::Router& router) {
  Impl& impl = *impl_;
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    router.AddPrefix(
        method, impl.ApiPrefix(),
        [&impl](const http::Request& request, http::Response& response) {
          response.Defer([&impl, &request](http::Response& r) { impl.Handle(request, r); });
        },
        "/catalogue/api/*");
  }
  const std::string servlet = impl.services.settings.context_path + "/servlet/query";
  const std::string soap = impl.services.settings.context_path + "/services/CatalogueQueryService";
  http::Handler servlet_handler = [&impl](const http::Request& request,
                                          http::Response& response) {
    impl.signed_api.HandleHttp(request, response);
  };
  http::Handler soap_handler = [&impl](const http::Request& request, http::Response& response) {
    impl.signed_api.HandleSoap(request, response);
  };
  for (const char* method : {"GET", "POST"}) {
    router.Add(method, servlet, servlet_handler, {}, http::ParamErrors::kHandler);
    router.Add(method, soap, soap_handler);
  }
  return Status::Ok();
}

}  // namespace tongban::catalogue
