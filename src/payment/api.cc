#include "payment/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "payment/api_internal.h"
#include "payment/direct.h"
#include "payment/json_internal.h"
#include "payment/late_fee.h"
#include "payment/printouts.h"
#include "sso/cas_oidc_support.h"
#include "sso/sessions.h"
#include "sso/signed_api.h"

namespace tongban::payment {

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
    case api_code::kThrottled:
      return 429;
    case api_code::kNotStaff:
    case api_code::kCsrfFailed:
    case api_code::kSystemRefused:
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
    spdlog::error("payment api: {}", e.message);
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

// The signed call's parameters: the URL query (the body is the payload, bound
// by body_sha256).
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

sso::SignedApiOptions SignedOptions(const sso::SsoSettings& s) {
  sso::SignedApiOptions o;
  o.soap_service = "PaymentApi";
  o.sign_window = s.sign_window;
  o.replay_protection = s.replay_protection;
  o.time_zone = s.sign_time_zone;
  return o;
}

}  // namespace

bool Caller::Has(std::string_view role) const {
  return std::find(roles.begin(), roles.end(), role) != roles.end();
}

bool Caller::SeesAllUnits() const {
  return Has(kRoleAdmin) || Has(kRoleFinance) || Has(kRoleEgov) || Has(kRoleProvince);
}

Status RequireUnit(const Caller& caller, const CollectingUnit& unit) {
  switch (caller.kind) {
    case Caller::Kind::kSystem:
      if (caller.entercode == unit.entercode) return Status::Ok();
      break;
    case Caller::Kind::kStaff:
      if (caller.SeesAllUnits()) return Status::Ok();
      if (caller.Has(kRoleClerk) && !unit.orgcoding.empty() &&
          std::find(caller.orgs.begin(), caller.orgs.end(), unit.orgcoding) != caller.orgs.end()) {
        return Status::Ok();
      }
      break;
    default:
      break;
  }
  return Error::NotFound("没有这个执收单位：" + unit.entercode);
}

Status RequireRole(const Caller& caller, std::initializer_list<std::string_view> roles) {
  for (std::string_view r : roles) {
    if (caller.Has(r)) return Status::Ok();
  }
  return Error::PermissionDenied("您没有此操作的权限");
}

std::string Text(const nlohmann::json& j, const char* key) {
  if (!j.is_object()) return {};
  auto it = j.find(key);
  if (it == j.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  return {};
}

std::string ExternalUrl(const Services& s, const http::Request& request, std::string_view path) {
  std::string base = s.settings.public_url.empty() ? sso::PublicBase(s.sso.settings, request)
                                                   : s.settings.public_url;
  return base + s.settings.context_path + std::string(path);
}

namespace {

// "13800138000" -> "138****8000"; anything shorter than 7 characters -> all stars.
std::string MaskMobile(std::string_view mobile) {
  if (mobile.size() < 7) return std::string(mobile.size(), '*');
  return std::string(mobile.substr(0, 3)) + std::string(mobile.size() - 7, '*') +
         std::string(mobile.substr(mobile.size() - 4));
}

}  // namespace

nlohmann::json PayerView(const PaymentNotice& n, int64_t now_ms) {
  nlohmann::json j = json_internal::NoticeToJson(n);
  j["payer"]["id_number"] = MaskId(n.payer.id_number);
  // The notice number is all a caller needs here, and units may number their
  // notices in sequence: the payer's contact details are not for whoever
  // guesses one.
  j["payer"]["mobile"] = MaskMobile(n.payer.mobile);
  j["payer"].erase("email");
  j["payer"].erase("define1");
  j["payer"].erase("define2");
  j.erase("print_info");
  if (n.state == NoticeState::kUnpaid) {
    int64_t fee = NoticeLateFeeFen(n, now_ms);
    j["late_fee_due_fen"] = fee;
    j["late_fee_due"] = FormatYuan(fee);
    j["amount_due_fen"] = n.total_fen + fee;
    j["amount_due"] = FormatYuan(n.total_fen + fee);
    j["payable"] = n.expires_at_ms == 0 || n.count_overdue || now_ms <= n.expires_at_ms;
  } else {
    j["payable"] = false;
  }
  return j;
}

struct PaymentApi::Impl {
  explicit Impl(Services s)
      : services(std::move(s)),
        sessions(services.sso.tickets, services.sso.clock, services.sso.random,
                 sso::LifetimesOf(services.sso.settings)),
        login_pages(services.sso.settings, sessions),
        signed_api(SignedOptions(services.sso.settings), services.sso.directory,
                   services.sso.tickets, services.sso.clock) {
    AddDirectRoutes(routes);
    AddConsoleRoutes(routes);
    AddPayerRoutes(routes);
    AddChannelRoutes(routes);
    AddEntryRoutes(routes);
  }

  std::string ApiPrefix() const { return services.settings.context_path + "/api/"; }

  // A user of the SSO session: staff need a role of the payment app; a payer
  // any active user.
  Result<Caller> SessionUser(const http::Request& request, bool staff, std::string* csrf) {
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
    if (!user.ok()) return Error{api_code::kNotStaff, "用户不存在或已被删除"};
    if (!(*user)->active()) return Error{api_code::kNotStaff, "用户已停用或锁定"};
    Caller c;
    c.kind = staff ? Caller::Kind::kStaff : Caller::Kind::kPayer;
    c.userid = (*user)->userid;
    c.loginname = (*user)->loginname;
    c.idnum = (*user)->idnum;
    c.mobile = (*user)->mobile;
    if (staff) {
      auto roles = services.sso.directory.UserRoles(session->userid, kAppCode);
      if (!roles.ok()) return roles.error();
      if (roles->empty()) {
        return Error{api_code::kNotStaff, "您没有统一公共支付平台的角色，请联系管理员授权"};
      }
      for (const directory::Role& role : *roles) c.roles.push_back(role.rolecode);
      c.orgs.push_back((*user)->orgcoding);
      for (std::string& org : SplitList((*user)->extendorgcoding, ';')) c.orgs.push_back(org);
    }
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

  // A unit's system: tongban's request signature over the API path as the
  // method, body_sha256 binding the body; the app must be bound to an active
  // or suspended unit (UnitStore::SetUnitLinks).
  Result<Caller> System(const http::Request& request, std::string_view method) {
    QueryParams params(request);
    if (params.Get("signmethod").empty()) {
      return Error{api_code::kSystemRefused,
                   "直连接口要求请求签名（signmethod=hmac-sha256 或 hmac-sm3）"};
    }
    if (!crypto::ConstantTimeEquals(params.Get("body_sha256"), crypto::Sha256Hex(request.body()))) {
      return Error{api_code::kSystemRefused, "body_sha256 与请求体不符"};
    }
    auto app = signed_api.Authenticate(params, method, request.remote_ip());
    if (!app.ok()) {
      return Error{api_code::kSystemRefused, "接入资源认证失败：" + app.error().message + "（" +
                                                 std::to_string(app.error().code) + "）"};
    }
    auto unit = services.units.UnitByApp((*app)->servicecode);
    if (!unit.ok()) {
      return Error{api_code::kSystemRefused, "接入资源未绑定执收单位：" + unit.error().message};
    }
    Caller c;
    c.kind = Caller::Kind::kSystem;
    c.app = (*app)->servicecode;
    c.entercode = unit->entercode;
    return c;
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
    switch (route.access) {
      case Access::kStaff:
      case Access::kPayer: {
        auto caller = SessionUser(request, route.access == Access::kStaff, &call.csrf);
        if (!caller.ok()) {
          if (caller.error().code == api_code::kNotLoggedIn) {
            std::string back = ExternalUrl(services, request, "/");
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
        break;
      }
      case Access::kSystem: {
        auto caller = System(request, relative);
        if (!caller.ok()) {
          // In the direct interface's own form, so the unit's system can read it.
          DirectReply reply{false, caller.error().message, {}, false};
          const bool json =
              request.Header("Content-Type").value_or("").starts_with("application/json");
          response.set_status(403);
          response.set_content_type(json ? http::kJsonType : http::kXmlType);
          response.set_body(json ? RenderDirectJson(reply) : RenderDirectXml(reply));
          return;
        }
        call.caller = std::move(*caller);
        break;
      }
      case Access::kPublic:
        break;
    }
    std::string_view type = request.Header("Content-Type").value_or("");
    if (route.access != Access::kSystem && !request.body().empty() &&
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
      spdlog::error("payment api {} {}: {}", route.method, route.pattern, e.what());
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
  std::vector<Route> routes;
};

PaymentApi::PaymentApi(Services services) : impl_(std::make_unique<Impl>(std::move(services))) {}
PaymentApi::~PaymentApi() = default;

Status PaymentApi::Register(http::Router& router) {
  Impl& impl = *impl_;
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    router.AddPrefix(
        method, impl.ApiPrefix(),
        [&impl](const http::Request& request, http::Response& response) {
          response.Defer([&impl, &request](http::Response& r) { impl.Handle(request, r); });
        },
        "/payment/api/*");
  }
  return Status::Ok();
}

}  // namespace tongban::payment
