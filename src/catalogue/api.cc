#include "catalogue/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <optional>

#include "catalogue/api_internal.h"
#include "codec/json_body.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "directory/directory.h"
#include "sso/cas_oidc_support.h"
#include "sso/oidc_grants.h"
#include "sso/signed_api.h"
#include "webapi/callers.h"
#include "webapi/errors.h"
#include "webapi/mount.h"
#include "webapi/route_table.h"

namespace tongban::catalogue {

// Defined in api_query.cc.
void WriteQueryError(const http::Request& request, http::Response& response, const Error& e);
void AddQueryMethods(sso::SignedApi& api, Services& services);

namespace {

int HttpStatusFor(int code) {
  switch (code) {
    case api_code::kNotLoggedIn:
      return 401;
    case api_code::kNoRole:
    case api_code::kCsrfFailed:
    case errc::kPermissionDenied:
      return 403;
    default: {
      const int generic = webapi::GenericStatus(code);
      return generic != 0 ? generic : 500;
    }
  }
}

void WriteError(http::Response& response, const Error& e) {
  int status = HttpStatusFor(e.code);
  std::string message = e.message;
  if (status == 500) {
    spdlog::error("catalogue api: {}", e.message);
    message = "内部错误，请查看服务器日志";
  }
  webapi::WriteError(response, status, e.code >= 100 ? e.code : status, message);
}

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

namespace {

// The token of an `Authorization: Bearer …` header, or nothing.
std::optional<std::string_view> BearerToken(const http::Request& request) {
  std::string_view auth = request.Header("Authorization").value_or("");
  if (auth.size() <= 7 || !(auth.starts_with("Bearer ") || auth.starts_with("bearer "))) {
    return std::nullopt;
  }
  return auth.substr(7);
}

}  // namespace

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
        browser(services.sso),
        signed_api(SignedOptions(services.sso.settings, services.settings),
                   services.sso.directory, services.sso.tickets, services.sso.clock),
        oidc(services.sso.tickets, services.sso.clock, services.sso.random, sso::OidcLifetimes{}) {
    std::vector<Route> list;
    AddCatalogueRoutes(list);
    AddSharingRoutes(list);
    AddQueryRoutes(list);
    for (Route& route : list) routes.Add(std::move(route));
    AddQueryMethods(signed_api, services);
  }

  std::string ApiPrefix() const { return services.settings.context_path + "/api/"; }

  std::string BackUrl(const http::Request& request) const {
    std::string base = services.settings.public_url.empty()
                           ? sso::PublicBase(services.sso.settings, request)
                           : services.settings.public_url;
    return base + services.settings.context_path + "/";
  }

  // The catalogue app's sign-on policy holds as on the login page: its
  // min_authlevel and second factor (kNotLoggedIn and *step_up when missing).
  Result<Caller> SessionUser(const http::Request& request, std::string* csrf,
                             std::string* step_up = nullptr) {
    auto session = browser.Resume(request, api_code::kNotLoggedIn);
    if (!session.ok()) return session.error();
    auto user = browser.ActiveUser(session->userid, api_code::kNoRole);
    if (!user.ok()) return user.error();
    if (Status policy = browser.CheckAppPolicy(
            request, *session, **user, kAppCode, BackUrl(request),
            /*check_second_factor=*/true, /*check_authlevel=*/true, api_code::kNotLoggedIn,
            api_code::kNoRole, step_up);
        !policy.ok()) {
      return policy.error();
    }
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
    c.orgs = webapi::UserOrgs(**user);
    if (Status csrf_ok = browser.CheckCsrf(request, *session, api_code::kCsrfFailed);
        !csrf_ok.ok()) {
      return csrf_ok.error();
    }
    *csrf = session->csrf;
    return c;
  }

  // A department system: tongban's request signature over the API path as
  // the method, body_sha256 binding the body.
  Result<Caller> System(const http::Request& request, std::string_view method) {
    webapi::QueryParams params(request);
    // The spec's md5 sign covers neither the body nor the path: one seen in any
    // old-style call would open a query with any key. Only the request signature.
    if (params.Get("signmethod").empty()) {
      return Error{result_code::kAuthFailed,
                   "基础信息查询要求请求签名（signmethod=hmac-sha256 或 hmac-sm3）"};
    }
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
  // `lookup`: kMemoryOnly on an I/O thread, where an app not in the
  // directory's cache is a directory::kNotCached error (the pool then asks).
  Result<Caller> Client(std::string_view token,
                        directory::Lookup lookup = directory::Lookup::kMayLoad) {
    auto grant = oidc.CheckAccessToken(token);
    if (!grant.ok()) {
      if (grant.error().code == errc::kNotFound) {
        return Error{result_code::kAuthFailed, "访问令牌无效或已过期"};
      }
      return grant.error();
    }
    // A system's own token only: one a user's login gave an app (authorization
    // code) may sit in a browser, and would outlive the user's lock here.
    if (!grant->userid.empty()) {
      return Error{result_code::kAuthFailed, "只接受客户端凭证（client_credentials）方式取得的访问令牌"};
    }
    // From memory, as a signed call's app (the directory's cache follows
    // changes on every node); the grant itself is read live in Lookup.
    auto app = services.sso.directory.CachedApp(grant->client_id, lookup);
    if (!app.ok() && app.error().code == directory::kNotCached) return std::move(app).error();
    if (!app.ok() || !(*app)->enabled) {
      return Error{result_code::kAuthFailed, "令牌所属的应用不存在或已停用"};
    }
    // Rotating the app's secret ends the tokens the old one obtained.
    if (grant->secret_tag != sso::ClientSecretTag((*app)->servicepwd)) {
      return Error{result_code::kAuthFailed, "访问令牌无效或已过期"};
    }
    Caller c;
    c.kind = Caller::Kind::kClient;
    c.app = grant->client_id;
    if (!(*app)->orgcoding.empty()) c.orgs.push_back((*app)->orgcoding);
    return c;
  }

  Result<Caller> QueryCaller(const http::Request& request, std::string_view relative,
                             std::string* csrf) {
    if (auto token = BearerToken(request)) return Client(*token);
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
    webapi::SetApiHeaders(response);
    const std::string_view relative = request.path().substr(ApiPrefix().size());
    auto found = routes.Find(request.method(), relative);
    if (!found.route) {
      webapi::WriteRouteMiss(response, found.path_known);
      return;
    }
    Run(*found.route, relative, std::move(found.args), request, response);
  }

  // The base query of an OIDC client on one machine (SQLite, tickets in this
  // process), on the I/O thread: the token, its app (the directory's cache)
  // and the body are in memory, and the lookup's reads run on the audit
  // writer (BaseResources::LookupNeverWaits), so nothing here waits and the
  // hand-off to the pool and back is saved. Anything else — a signed call, a
  // browser session, an app not cached — goes to the pool (false).
  bool AnswerOnIoThread(const http::Request& request, http::Response& response) {
    if (!query_on_io_thread || request.method() != "POST") return false;
    auto token = BearerToken(request);
    if (!token) return false;
    const std::string_view relative = request.path().substr(ApiPrefix().size());
    auto found = routes.Find(request.method(), relative);
    if (!found.route || found.route->access != Access::kQuery) return false;
    auto caller = Client(*token, directory::Lookup::kMemoryOnly);
    if (!caller.ok() && caller.error().code == directory::kNotCached) return false;
    webapi::SetApiHeaders(response);
    if (!caller.ok()) {
      WriteQueryError(request, response, caller.error());
      return true;
    }
    Call call{request, response, std::move(*caller), std::move(found.args), nullptr, false, {}};
    Answer(*found.route, call);
    return true;
  }

  void Run(const Route& route, std::string_view relative, std::vector<std::string> args,
           const http::Request& request, http::Response& response) {
    Call call{request, response, Caller{}, std::move(args), nullptr, false, {}};
    if (route.access == Access::kStaff) {
      std::string step_up;
      auto caller = SessionUser(request, &call.csrf, &step_up);
      if (!caller.ok()) {
        if (caller.error().code == api_code::kNotLoggedIn) {
          webapi::WriteError(response, 401, api_code::kNotLoggedIn, caller.error().message,
                             step_up.empty() ? browser.LoginUrl(request, BackUrl(request))
                                             : step_up);
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
    Answer(route, call);
  }

  // The route's handler for a caller already known.
  void Answer(const Route& route, Call& call) {
    const http::Request& request = call.request;
    http::Response& response = call.response;
    std::string_view type = request.Header("Content-Type").value_or("");
    if (route.access == Access::kStaff && !request.body().empty() &&
        type.starts_with("application/json")) {
      call.body = codec::ParseJsonBody(request.body());
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
      webapi::ResetAfterThrow(response);
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
  webapi::BrowserGate browser;
  sso::SignedApi signed_api;  // its own: the query methods also serve the servlet and SOAP
  sso::OidcGrants oidc;
  webapi::RouteTable<Route> routes;
  // AnswerOnIoThread applies: nothing a bearer query does before the audit
  // writer takes it waits on the network or SQL.
  const bool query_on_io_thread =
      !services.sso.tickets.Remote() && services.base.LookupNeverWaits();
};

CatalogueApi::CatalogueApi(Services services)
    : impl_(std::make_unique<Impl>(std::move(services))) {}
CatalogueApi::~CatalogueApi() = default;

Status CatalogueApi::Register(http::Router& router) {
  Impl& impl = *impl_;
  webapi::MountOnPoolUnless(
      router, impl.ApiPrefix(),
      [&impl](const http::Request& request, http::Response& response) {
        return impl.AnswerOnIoThread(request, response);
      },
      [&impl](const http::Request& request, http::Response& response) {
        impl.Handle(request, response);
      },
      "/catalogue/api/*");
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
