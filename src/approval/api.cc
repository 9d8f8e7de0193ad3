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
#include "sso/sessions.h"
#include "sso/signed_api.h"

namespace tongban::approval {

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
      return 409;
    case code::kNotYourStep:
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
    case errc::kInvalidArgument:
    case errc::kExpired:
      return 400;
    case errc::kNotFound:
      return 404;
    case errc::kAlreadyExists:
    case errc::kConflict:
      return 409;
    case errc::kPermissionDenied:
      return 403;
    case errc::kTooLarge:
      return 413;
    case errc::kUnavailable:
      return 503;
    default:
      return e.code >= 1000 && e.code < 10000 ? 400 : 500;
  }
}

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return static_cast<unsigned char>(c) < 0x80; });
}

void WriteError(http::Response& response, int status, int error_code, std::string_view message) {
  codec::Value error = codec::Value::Object(2);
  error.Set("code", error_code).Set("message", message);
  response.SetJson(status,
                   codec::RenderJson(codec::Value::Object(1).Set("error", std::move(error))));
}

// Every error leaves with a Chinese message: the component's own when it wrote
// Chinese, else the code's reading with the (English) detail in brackets.
void WriteError(http::Response& response, const Error& e) {
  const int status = HttpStatusFor(e);
  if (status == 500) {
    spdlog::error("approval api: {}", e.message);
    WriteError(response, 500, 500, "内部错误，请查看服务器日志");
    return;
  }
  const int shown = e.code == api_code::kBadTransferTarget ? code::kNotYourStep
                    : e.code >= 100                        ? e.code
                                                           : status;
  std::string message;
  if (!e.message.empty() && !IsAscii(e.message)) {
    message = e.message;
  } else {
    std::string_view chinese = ChineseFor(e.code);
    message = chinese.empty() ? std::string("请求被拒绝") : std::string(chinese);
    if (!e.message.empty()) message.append("（").append(e.message).append("）");
  }
  WriteError(response, status, shown, message);
}

bool IsMutation(std::string_view method) { return method != "GET" && method != "HEAD"; }

// The signed call's parameters: the URL query (a body is the payload, covered
// by the body_sha256 parameter).
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
  o.soap_service = "ApprovalApi";
  o.sign_window = s.sign_window;
  o.replay_protection = s.replay_protection;
  o.time_zone = s.sign_time_zone;
  return o;
}

}  // namespace

struct ApprovalApi::Impl {
  explicit Impl(Services s)
      : services(std::move(s)),
        sessions(services.sso.tickets, services.sso.clock, services.sso.random,
                 sso::LifetimesOf(services.sso.settings)),
        login_pages(services.sso.settings, sessions),
        signed_api(SignedOptions(services.sso.settings), services.sso.directory,
                   services.sso.tickets, services.sso.clock) {
    AddCaseRoutes(routes);
    AddMatterRoutes(routes);
    AddPreferenceRoutes(routes);
    AddSupervisionRoutes(routes);
    AddNoticeRoutes(routes);
    AddPublicRoutes(routes);
  }

  std::string ApiPrefix() const { return services.settings.context_path + "/api/"; }

  // The staff actor of the SSO session, or the error to answer. An applicant
  // (require_role false: the hall's online application) needs no approval role.
  Result<Actor> Staff(const http::Request& request, std::string* csrf, bool require_role = true) {
    auto cookie = request.Cookie(sso::kSessionCookieName);
    if (!cookie || cookie->empty()) return ApiError(api_code::kNotLoggedIn, "请先登录");
    auto session = sessions.Resume(*cookie);
    if (!session.ok()) {
      if (session.error().code == errc::kNotFound) {
        return ApiError(api_code::kNotLoggedIn, "登录已失效，请重新登录");
      }
      return session.error();
    }
    auto user = services.sso.directory.CachedUser(session->userid);
    if (!user.ok()) return ApiError(api_code::kNotStaff, "用户不存在或已被删除");
    if (!(*user)->active()) return ApiError(api_code::kNotStaff, "用户已停用或锁定");
    auto roles = services.sso.directory.UserRoles(session->userid, kAppCode);
    if (!roles.ok()) return roles.error();
    if (require_role && roles->empty())
      return ApiError(api_code::kNotStaff, "您没有统一审批系统的角色，请联系管理员授权");
    if (IsMutation(request.method())) {
      std::string_view token = request.Header("X-CSRF-Token").value_or("");
      std::optional<std::string_view> origin = request.Header("Origin");
      const bool origin_ok = !origin || *origin == sso::PublicBase(services.sso.settings, request);
      if (!origin_ok || token.empty() || !crypto::ConstantTimeEquals(token, session->csrf)) {
        return ApiError(api_code::kCsrfFailed, "CSRF 校验失败，请刷新页面后重试");
      }
    }
    Actor actor;
    actor.kind = Actor::Kind::kStaff;
    actor.userid = (*user)->userid;
    actor.username = (*user)->username;
    for (const directory::Role& role : *roles) actor.roles.push_back(role.rolecode);
    actor.orgs.push_back((*user)->orgcoding);
    for (std::string& org : SplitList((*user)->extendorgcoding, ';')) {
      if (std::find(actor.orgs.begin(), actor.orgs.end(), org) == actor.orgs.end()) {
        actor.orgs.push_back(std::move(org));
      }
    }
    *csrf = session->csrf;
    return actor;
  }

  // A department system's signed call (docs/api/approval.md "Department
  // systems"): tongban's request signature only — the spec's md5 sign covers
  // neither the path nor the payload — over the API path as the method, with
  // body_sha256 binding the body. The app must belong to an org; it acts for
  // the orgs under its org_scope, or under its own org when it has none.
  Result<Actor> System(const http::Request& request, std::string_view method, std::string* scope) {
    QueryParams params(request);
    if (params.Get("signmethod").empty()) {
      return ApiError(api_code::kSystemRefused,
                      "审批接口要求请求签名（signmethod=hmac-sha256 或 hmac-sm3）");
    }
    if (!request.body().empty() &&
        !crypto::ConstantTimeEquals(params.Get("body_sha256"), crypto::Sha256Hex(request.body()))) {
      return ApiError(api_code::kSystemRefused, "body_sha256 与请求体不符");
    }
    auto app = signed_api.Authenticate(params, method, request.remote_ip());
    if (!app.ok()) {
      return ApiError(api_code::kSystemRefused, "接入资源认证失败：" + app.error().message + "（" +
                                                    std::to_string(app.error().code) + "）");
    }
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
    if (path_known) {
      WriteError(response, 405, 405, "不支持的请求方法");
    } else {
      WriteError(response, 404, 404, "没有这个接口");
    }
  }

  void Run(const Route& route, std::string_view relative, std::vector<std::string> args,
           const http::Request& request, http::Response& response) {
    Call call{request, response, Actor{}, std::move(args), codec::Value(), false, {}, {}};
    switch (route.access) {
      case Access::kStaff:
      case Access::kApplicant: {
        const bool applicant = route.access == Access::kApplicant;
        auto actor = Staff(request, &call.csrf, !applicant);
        if (!actor.ok()) {
          if (actor.error().code == api_code::kNotLoggedIn) {
            // Back to the app the caller came from: the workbench or the hall.
            const std::string& back =
                applicant ? services.settings.hall_path : services.settings.context_path;
            codec::Value error = codec::Value::Object(3);
            error.Set("code", api_code::kNotLoggedIn)
                .Set("message", actor.error().message)
                .Set("login", login_pages.LoginUrl(
                                  request,
                                  sso::PublicBase(services.sso.settings, request) + back + "/",
                                  false));
            response.SetJson(
                401, codec::RenderJson(codec::Value::Object(1).Set("error", std::move(error))));
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
        WriteError(response, 400, 400, "请求体不是合法的 JSON：" + body.error().message);
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
      WriteError(response, 500, 500, "内部错误，请查看服务器日志");
      return;
    }
    if (!result.ok()) {
      WriteError(response, result.error());
      return;
    }
    if (!call.wrote_response) response.SetJson(200, codec::RenderJson(*result));
  }

  Services services;
  sso::SessionStore sessions;
  sso::LoginPageSessions login_pages;
  sso::SignedApi signed_api;
  std::vector<Route> routes;
};

ApprovalApi::ApprovalApi(Services services) : impl_(std::make_unique<Impl>(std::move(services))) {}
ApprovalApi::~ApprovalApi() = default;

Status ApprovalApi::Register(http::Router& router) {
  Impl& impl = *impl_;
  for (const char* method : {"GET", "POST", "PUT", "DELETE"}) {
    router.AddPrefix(
        method, impl.ApiPrefix(),
        // Every handler reads or writes SQL or files: off the I/O threads.
        [&impl](const http::Request& request, http::Response& response) {
          response.Defer([&impl, &request](http::Response& r) { impl.Handle(request, r); });
        },
        "/approval/api/*");
  }
  return Status::Ok();
}

}  // namespace tongban::approval
