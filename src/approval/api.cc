#include "approval/api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "codec/parse.h"
#include "codec/render.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "http/url.h"
#include "sso/cas_oidc_support.h"
#include "sso/citizen.h"
#include "webapi/callers.h"
#include "webapi/errors.h"
#include "webapi/mount.h"
#include "webapi/route_table.h"

namespace tongban::approval {

namespace {

// What a caller reads for each code when the error carries no Chinese of its own.
std::string_view ChineseFor(int c) {
  switch (c) {
    case code::kWrongState:
      return "办件当前状态不允许此操作";
    case code::kNotYourStep:
      return "您没有办理该环节的权限";
    case code::kReasonRequired:
      return "否定性结果须填写理由";
    case code::kStale:
      return "办件已被他人处理，请刷新后重试";
    case code::kMatterUnknown:
      return "事项不存在或已停用";
    case code::kBadApplicant:
      return "申请人信息不合法";
    case code::kBadMaterial:
      return "材料文件不合法";
    case code::kCaseUnknown:
      return "办件不存在";
    case code::kLookupFailed:
      return "办件编号或查询密码不正确";
    case code::kRealNameTooLow:
      return "实名等级不足";
    case code::kRequestKeyReused:
      return "该请求键已用于另一份收件登记";
    case api_code::kCsrfFailed:
      return "CSRF 校验失败，请刷新页面后重试";
    case api_code::kSystemRefused:
      return "签名校验失败或接入资源无权调用审批接口";
    case api_code::kThrottled:
      return "查询失败次数过多，请稍后再试";
    case errc::kInvalidArgument:
      return "请求不合法";
    case errc::kNotFound:
      return "不存在";
    case errc::kAlreadyExists:
      return "已存在";
    case errc::kPermissionDenied:
      return "没有权限";
    case errc::kExpired:
      return "已过期";
    case errc::kUnavailable:
      return "服务暂不可用，请稍后重试";
    case errc::kTooLarge:
      return "上传内容过大";
    case errc::kConflict:
      return "与现有数据冲突";
    default:
      return {};
  }
}

int HttpStatusFor(const Error& e) {
  switch (e.code) {
    case code::kWrongState:
    case code::kStale:
    case code::kRequestKeyReused:
      return 409;
    case code::kNotYourStep:
    case code::kRealNameTooLow:
      return 403;
    case code::kReasonRequired:
    case code::kBadApplicant:
    case code::kBadMaterial:
    case api_code::kBadTransferTarget:
      return 400;
    case code::kMatterUnknown:
    case code::kCaseUnknown:
      return 404;
    // Unknown case and wrong password answer alike: a guesser learns nothing.
    case code::kLookupFailed:
      return 403;
    case api_code::kNotLoggedIn:
      return 401;
    case api_code::kNotStaff:
    case api_code::kCsrfFailed:
    case api_code::kSystemRefused:
      return 403;
    case api_code::kThrottled:
      return 429;
    default:
      if (int generic = webapi::GenericStatus(e.code)) return generic;
      return e.code >= 1000 && e.code < 10000 ? 400 : 500;
  }
}

// Every error leaves with a Chinese message: the component's own when it wrote
// Chinese, else the code's reading with the (English) detail in brackets.
void WriteError(http::Response& response, const Error& e) {
  const int status = HttpStatusFor(e);
  if (status == 500) {
    spdlog::error("approval api: {}", e.message);
    webapi::WriteError(response, 500, 500, "内部错误，请查看服务器日志");
    return;
  }
  const int shown = e.code == api_code::kBadTransferTarget ? code::kNotYourStep
                    : e.code >= 100                        ? e.code
                                                           : status;
  std::string message;
  if (!e.message.empty() && !webapi::IsAscii(e.message)) {
    message = e.message;
  } else {
    std::string_view chinese = ChineseFor(e.code);
    message = chinese.empty() ? std::string("请求被拒绝") : std::string(chinese);
    if (!e.message.empty()) message.append("（").append(e.message).append("）");
  }
  webapi::WriteError(response, status, shown, message);
}

}  // namespace

Answer AnswerLater(Call& call) {
  call.wrote_response = true;
  http::Resumer resume = call.response.Suspend();
  return [resume](Result<codec::Value> result) {
    if (!result.ok()) {
      resume([error = std::move(result).error()](http::Response& response) {
        WriteError(response, error);
      });
      return;
    }
    // Rendered here, off the I/O thread that sends it.
    resume([json = codec::RenderJson(*result)](http::Response& response) {
      response.SetJson(200, json);
    });
  };
}

struct ApprovalApi::Impl {
  explicit Impl(Services s)
      : services(std::move(s)), browser(services.sso), signed_calls(services.sso, "ApprovalApi") {
    std::vector<Route> list;
    AddCaseRoutes(list);
    AddMatterRoutes(list);
    AddPreferenceRoutes(list);
    AddSupervisionRoutes(list);
    AddNoticeRoutes(list);
    AddPublicRoutes(list);
    for (Route& route : list) routes.Add(std::move(route));
  }

  std::string ApiPrefix() const { return services.settings.context_path + "/api/"; }

  // Back to the app the caller came from after a login: the workbench or the hall.
  std::string BackUrl(const http::Request& request, bool applicant) const {
    const std::string& back =
        applicant ? services.settings.hall_path : services.settings.context_path;
    return sso::PublicBase(services.sso.settings, request) + back + "/";
  }

  // The staff actor of the SSO session, or the error to answer. An applicant
  // (require_role false: the hall's online application) needs no approval role.
  // The approval app's sign-on policy holds here as on the login page: its
  // min_authlevel for everyone, and for staff its second factor (a session
  // without one gets kNotLoggedIn and *step_up, a renew+mfa login URL).
  Result<Actor> Staff(const http::Request& request, std::string* csrf, bool require_role,
                      std::string* step_up) {
    auto session = browser.Resume(request, api_code::kNotLoggedIn);
    if (!session.ok()) return session.error();
    auto user = browser.ActiveUser(session->userid, api_code::kNotStaff);
    if (!user.ok()) return user.error();
    if (Status policy = browser.CheckAppPolicy(
            request, *session, **user, kAppCode, BackUrl(request, !require_role),
            /*check_second_factor=*/require_role, /*check_authlevel=*/true,
            api_code::kNotLoggedIn, api_code::kNotStaff, step_up);
        !policy.ok()) {
      return policy.error();
    }
    auto roles = services.sso.directory.UserRoles(session->userid, kAppCode);
    if (!roles.ok()) return roles.error();
    if (require_role && roles->empty())
      return ApiError(api_code::kNotStaff, "您没有统一审批系统的角色，请联系管理员授权");
    if (Status csrf_ok = browser.CheckCsrf(request, *session, api_code::kCsrfFailed);
        !csrf_ok.ok()) {
      return csrf_ok.error();
    }
    Actor actor;
    actor.kind = Actor::Kind::kStaff;
    actor.userid = (*user)->userid;
    actor.username = (*user)->username;
    for (const directory::Role& role : *roles) actor.roles.push_back(role.rolecode);
    actor.orgs = webapi::UserOrgs(**user);
    actor.authlevel = sso::AuthLevelOf(**user);
    *csrf = session->csrf;
    return actor;
  }

  // A department system's signed call (docs/api/approval.md "Department
  // systems"): tongban's request signature only — the spec's md5 sign covers
  // neither the path nor the payload — over the API path as the method, with
  // body_sha256 binding the body. The app must belong to an org; it acts for
  // the orgs under its org_scope, or under its own org when it has none.
  Result<Actor> System(const http::Request& request, std::string_view method, std::string* scope) {
    auto app = signed_calls.Authenticate(request, method,
                                         {.refused = api_code::kSystemRefused,
                                          .api_name = "审批接口",
                                          .body = webapi::BodyBinding::kWhenBodyPresent});
    if (!app.ok()) return app.error();
    const directory::App& a = **app;
    if (a.orgcoding.empty() && a.org_scope.empty()) {
      return ApiError(api_code::kSystemRefused, "接入资源不属于任何机构，无权调用审批接口");
    }
    *scope = a.org_scope.empty() ? a.orgcoding : a.org_scope;
    Actor actor;
    actor.kind = Actor::Kind::kSystem;
    actor.system = a.servicecode;
    actor.username = a.name;
    return actor;
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
    Call call{request, response, Actor{}, std::move(args), codec::Value(), false, {}, {}};
    switch (route.access) {
      case Access::kStaff:
      case Access::kApplicant: {
        const bool applicant = route.access == Access::kApplicant;
        std::string step_up;
        auto actor = Staff(request, &call.csrf, !applicant, &step_up);
        if (!actor.ok()) {
          if (actor.error().code == api_code::kNotLoggedIn) {
            webapi::WriteError(
                response, 401, api_code::kNotLoggedIn, actor.error().message,
                step_up.empty() ? browser.LoginUrl(request, BackUrl(request, applicant))
                                : step_up);
            return;
          }
          WriteError(response, actor.error());
          return;
        }
        call.actor = std::move(*actor);
        if (applicant) {
          // Acts as the applicant whatever roles the user holds at work.
          call.actor.kind = Actor::Kind::kApplicant;
          call.actor.roles.clear();
          call.actor.orgs.clear();
        }
        break;
      }
      case Access::kSystem: {
        auto actor = System(request, relative, &call.system_scope);
        if (!actor.ok()) {
          WriteError(response, actor.error());
          return;
        }
        call.actor = std::move(*actor);
        break;
      }
      case Access::kPublic:
        call.actor.kind = Actor::Kind::kApplicant;
        break;
    }
    std::string_view type = request.Header("Content-Type").value_or("");
    if (!request.body().empty() && type.starts_with("application/json")) {
      auto body = codec::ParseJson(request.body());
      if (!body.ok()) {
        webapi::WriteError(response, 400, 400, "请求体不是合法的 JSON：" + body.error().message);
        return;
      }
      call.body = std::move(*body);
    }
    Result<codec::Value> result = Error::Internal("no answer");
    try {
      result = route.handler(services, call);
    } catch (const std::exception& e) {
      // A programming error: answered with a body, logged without the request.
      spdlog::error("approval api {} {}: {}", route.method, route.pattern, e.what());
      webapi::ResetAfterThrow(response);
      webapi::WriteError(response, 500, 500, "内部错误，请查看服务器日志");
      return;
    }
    if (!result.ok()) {
      WriteError(response, result.error());
      return;
    }
    if (!call.wrote_response) response.SetJson(200, codec::RenderJson(*result));
  }

  Services services;
  webapi::BrowserGate browser;
  webapi::SignedGate signed_calls;
  webapi::RouteTable<Route> routes;
};

ApprovalApi::ApprovalApi(Services services) : impl_(std::make_unique<Impl>(std::move(services))) {}
ApprovalApi::~ApprovalApi() = default;

Status ApprovalApi::Register(http::Router& router) {
  Impl& impl = *impl_;
  webapi::MountOnPool(
      router, impl.ApiPrefix(),
      [&impl](const http::Request& request, http::Response& response) {
        impl.Handle(request, response);
      },
      "/approval/api/*");
  return Status::Ok();
}

}  // namespace tongban::approval
