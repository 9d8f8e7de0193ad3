#include "payment/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "codec/json_body.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "payment/api_internal.h"
#include "payment/direct.h"
#include "payment/json_internal.h"
#include "payment/late_fee.h"
#include "payment/printouts.h"
#include "sso/cas_oidc_support.h"
#include "sso/citizen.h"
#include "webapi/callers.h"
#include "webapi/errors.h"
#include "webapi/mount.h"
#include "webapi/route_table.h"

namespace tongban::payment {

namespace {

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
    spdlog::error("payment api: {}", e.message);
    message = "内部错误，请查看服务器日志";
  }
  webapi::WriteError(response, status, e.code >= 100 ? e.code : status, message);
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
      : services(std::move(s)), browser(services.sso), signed_calls(services.sso, "PaymentApi") {
    std::vector<Route> list;
    AddDirectRoutes(list);
    AddConsoleRoutes(list);
    AddPayerRoutes(list);
    AddChannelRoutes(list);
    AddEntryRoutes(list);
    for (Route& route : list) routes.Add(std::move(route));
  }

  std::string ApiPrefix() const { return services.settings.context_path + "/api/"; }

  // A user of the SSO session: staff need a role of the payment app; a payer
  // any active user.
  // The payment app's sign-on policy holds as on the login page (min_authlevel;
  // for staff its second factor: kNotLoggedIn and *step_up when missing).
  Result<Caller> SessionUser(const http::Request& request, bool staff, std::string* csrf,
                             std::string* step_up) {
    auto session = browser.Resume(request, api_code::kNotLoggedIn);
    if (!session.ok()) return session.error();
    auto user = browser.ActiveUser(session->userid, api_code::kNotStaff);
    if (!user.ok()) return user.error();
    if (Status policy = browser.CheckAppPolicy(
            request, *session, **user, kAppCode, ExternalUrl(services, request, "/"),
            /*check_second_factor=*/staff, /*check_authlevel=*/true, api_code::kNotLoggedIn,
            api_code::kNotStaff, step_up);
        !policy.ok()) {
      return policy.error();
    }
    Caller c;
    c.kind = staff ? Caller::Kind::kStaff : Caller::Kind::kPayer;
    c.userid = (*user)->userid;
    c.loginname = (*user)->loginname;
    c.idnum = (*user)->idnum;
    c.idnum_verified = sso::AuthLevelOf(**user) >= sso::kLevelRealName;
    c.mobile = (*user)->mobile;
    if (staff) {
      auto roles = services.sso.directory.UserRoles(session->userid, kAppCode);
      if (!roles.ok()) return roles.error();
      if (roles->empty()) {
        return Error{api_code::kNotStaff, "您没有统一公共支付平台的角色，请联系管理员授权"};
      }
      for (const directory::Role& role : *roles) c.roles.push_back(role.rolecode);
      c.orgs = webapi::UserOrgs(**user);
    }
    if (Status csrf_ok = browser.CheckCsrf(request, *session, api_code::kCsrfFailed);
        !csrf_ok.ok()) {
      return csrf_ok.error();
    }
    *csrf = session->csrf;
    return c;
  }

  // A unit's system: tongban's request signature over the API path as the
  // method, body_sha256 binding the body; the app must be bound to an active
  // or suspended unit (UnitStore::SetUnitLinks).
  Result<Caller> System(const http::Request& request, std::string_view method) {
    auto app = signed_calls.Authenticate(request, method,
                                         {.refused = api_code::kSystemRefused,
                                          .api_name = "直连接口",
                                          .body = webapi::BodyBinding::kAlways});
    if (!app.ok()) return app.error();
    auto entercode = services.units.EntercodeOfApp((*app)->servicecode);
    if (!entercode.ok()) {
      return Error{api_code::kSystemRefused,
                   "接入资源未绑定执收单位：" + entercode.error().message};
    }
    Caller c;
    c.kind = Caller::Kind::kSystem;
    c.app = (*app)->servicecode;
    c.entercode = std::move(*entercode);
    return c;
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

  void Run(const Route& route, std::string_view relative, std::vector<std::string> args,
           const http::Request& request, http::Response& response) {
    Call call{request, response, Caller{}, std::move(args), nullptr, false, {}};
    switch (route.access) {
      case Access::kStaff:
      case Access::kPayer: {
        std::string step_up;
        auto caller = SessionUser(request, route.access == Access::kStaff, &call.csrf, &step_up);
        if (!caller.ok()) {
          if (caller.error().code == api_code::kNotLoggedIn) {
            webapi::WriteError(
                response, 401, api_code::kNotLoggedIn, caller.error().message,
                step_up.empty() ? browser.LoginUrl(request, ExternalUrl(services, request, "/"))
                                : step_up);
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
      spdlog::error("payment api {} {}: {}", route.method, route.pattern, e.what());
      webapi::ResetAfterThrow(response);  // a suspended response is answered now
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
  webapi::SignedGate signed_calls;
  webapi::RouteTable<Route> routes;
};

PaymentApi::PaymentApi(Services services) : impl_(std::make_unique<Impl>(std::move(services))) {}
PaymentApi::~PaymentApi() = default;

Status PaymentApi::Register(http::Router& router) {
  Impl& impl = *impl_;
  webapi::MountOnPool(
      router, impl.ApiPrefix(),
      [&impl](const http::Request& request, http::Response& response) {
        impl.Handle(request, response);
      },
      "/payment/api/*");
  return Status::Ok();
}

}  // namespace tongban::payment
