#include "console/admin_api.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <string_view>
#include <vector>

#include "codec/parse.h"
#include "codec/render.h"
#include "console/internal.h"
#include "crypto/encoding.h"
#include "directory/codes.h"
#include "http/static_files.h"
#include "http/url.h"
#include "sso/cas_oidc_support.h"
#include "sso/second_factors.h"
#include "webapi/errors.h"
#include "webapi/mount.h"
#include "webapi/route_table.h"

namespace tongban::console {

namespace {

namespace code = directory::code;

constexpr int kCsrfFailed = 4031;

// What an administrator reads for the spec codes the console meets most.
std::string_view ChineseFor(int c) {
  switch (c) {
    case code::kOrgParentMissing: return "上级机构不存在";
    case code::kOrgRequiredEmpty: return "机构编码或名称为空";
    case code::kOrgBadCoding: return "机构编码不合法";
    case code::kOrgCodingInUse: return "机构编码已存在";
    case code::kOrgBadName: return "机构名称不合法";
    case code::kOrgNameExists: return "同级机构中已有同名机构";
    case code::kOrgNotFound: return "机构不存在";
    case code::kOrgHasChildren: return "该机构下还有下级机构，不能删除";
    case code::kOrgHasUsers: return "该机构下还有用户（含兼职用户），不能删除";
    case code::kOrgHasApps: return "还有接入资源属于该机构，不能删除";
    case code::kOrgReadNotFound: return "机构不存在";
    case code::kUserBadLoginname: return "登录名不合法";
    case code::kUserOrgMissing: return "用户所属机构不存在";
    case code::kUserPasswordEmpty: return "密码为空";
    case code::kUserBadOrgcoding: return "机构编码不合法";
    case code::kUserLoginnameExists: return "登录名在本域内已存在";
    case code::kUserNotFound: return "用户不存在";
    case code::kUserArgsIllegal: return "用户信息不合法";
    case code::kUserBadUsertype: return "用户类型不合法";
    case code::kUserMoveRefused: return "不能跨域移动";
    case code::kUserUsernameEmpty: return "姓名为空";
    case code::kUserMobileExists: return "手机号已被其他用户使用";
    case code::kUserMobileEmpty: return "手机号为空";
    case code::kUserDeleteNotFound: return "用户不存在";
    case code::kUserReadBadId: return "用户标识不合法";
    case code::kUserReadNotFound: return "用户不存在";
    case code::kUserReadAmbiguous: return "登录名在多个域中存在，请用 userid";
    case code::kBindingNoApp: return "接入资源不存在";
    case code::kBindingBadAccount: return "账号不合法";
    case code::kBindingNotFound: return "没有绑定关系";
    case code::kBindingNoUser: return "用户不存在";
    case code::kGrantLoginShared: return "其他域中有同登录名的用户，平台账号的登录名须在所有域中唯一";
    default: return {};
  }
}

}  // namespace

std::string ConsoleMessage(int code, std::string_view detail) {
  std::string message(ChineseFor(code));
  if (message.empty()) return std::string(detail);
  if (!detail.empty() && detail != message) message.append("（").append(detail).append("）");
  return message;
}

namespace {

int HttpStatusFor(const Error& e) {
  switch (e.code) {
    case code::kOrgNotFound:
    case code::kOrgReadNotFound:
    case code::kUserNotFound:
    case code::kUserDeleteNotFound:
    case code::kUserReadNotFound:
    case code::kBindingNoApp:
    case code::kBindingNotFound:
    case code::kBindingNoUser:
    case code::kAppNotFound:
      return 404;
    case code::kOrgCodingInUse:
    case code::kOrgNameExists:
    case code::kUserLoginnameExists:
    case code::kUserMobileExists:
    case code::kGrantLoginShared:
      return 409;
    default:
      if (int generic = webapi::GenericStatus(e.code)) return generic;
      return e.code >= 1000 ? 400 : 500;
  }
}

void SetError(http::Response& response, int status, int error_code, std::string_view message,
              std::string_view login = {}) {
  webapi::WriteError(response, status, error_code, message, login);
}

void SetError(http::Response& response, const Error& e) {
  const int status = HttpStatusFor(e);
  if (status == 500) {
    spdlog::error("admin api: {}", e.message);
    SetError(response, 500, 500, "内部错误，请查看服务器日志");
    return;
  }
  if (e.code >= 1000) {
    SetError(response, status, e.code, ConsoleMessage(e.code, e.message));
    return;
  }
  // Generic errors carry the Directory's English detail: lead with a Chinese word.
  const bool english = webapi::IsAscii(e.message);
  if (!english || e.message.empty()) {
    SetError(response, status, status, e.message.empty() ? "请求被拒绝" : e.message);
    return;
  }
  std::string_view lead = status == 404   ? "不存在"
                          : status == 409 ? "与现有数据冲突"
                          : status == 503 ? "服务暂不可用"
                                          : "请求不合法";
  SetError(response, status, status, std::string(lead) + "（" + e.message + "）");
}

}  // namespace

struct AdminApi::Impl {
  explicit Impl(sso::SsoContext& c)
      : context(c),
        audit(c.sql, c.clock, c.audit_health, c.settings.audit_required),
        sessions(c.tickets, c.clock, c.random, sso::LifetimesOf(c.settings)),
        logout(c, sessions, audit),
        login_pages(c.settings, sessions),
        services{c, sessions, logout, audit} {
    std::vector<Route> list;
    AddOperationRoutes(list);
    AddDirectoryRoutes(list);
    AddAppRoutes(list);
    AddSecondFactorRoutes(list);
    AddCitizenRoutes(list);
    for (Route& route : list) routes.Add(std::move(route));
  }

  std::string ApiPrefix() const { return context.settings.context_path + "/admin/api/"; }
  std::string ConsolePath() const { return context.settings.context_path + "/admin/"; }

  // The SSO login page, coming back to the console afterwards.
  std::string LoginUrl(const http::Request& request) {
    return login_pages.LoginUrl(
        request, sso::PublicBase(context.settings, request) + ConsolePath(), false);
  }

  // The administrator's session, or the 401/403 already written.
  std::optional<sso::Session> Authenticate(const http::Request& request,
                                           http::Response& response) {
    auto cookie = request.Cookie(sso::kSessionCookieName);
    auto session = cookie && !cookie->empty() ? sessions.Resume(*cookie)
                                              : Result<sso::Session>(Error::NotFound(""));
    if (!session.ok()) {
      if (session.error().code != errc::kNotFound) {
        SetError(response, session.error());
        return std::nullopt;
      }
      SetError(response, 401, 401, "请先登录", LoginUrl(request));
      return std::nullopt;
    }
    auto admin = context.directory.IsPlatformAdmin(session->userid);
    if (!admin.ok()) {
      SetError(response, admin.error());
      return std::nullopt;
    }
    if (!*admin) {
      SetError(response, 403, 403, "需要平台管理员权限");
      return std::nullopt;
    }
    // 等保 level 3: administrators sign in with two factors. A session from
    // before the user became an administrator (or before the policy) steps up.
    if (context.second_factors != nullptr && context.second_factors->options().admin_required &&
        !session->HasSecondFactor()) {
      std::string login = http::AppendQuery(
          login_pages.LoginUrl(request, sso::PublicBase(context.settings, request) + ConsolePath(),
                               true),
          "mfa", "1");
      SetError(response, 401, 401, "管理员需要双因素认证，请重新登录", login);
      return std::nullopt;
    }
    if (webapi::IsMutation(request.method())) {
      std::string_view token = request.Header("X-CSRF-Token").value_or("");
      std::optional<std::string_view> origin = request.Header("Origin");
      const bool origin_ok =
          !origin || *origin == sso::PublicBase(context.settings, request);
      if (!origin_ok || token.empty() || !crypto::ConstantTimeEquals(token, session->csrf)) {
        SetError(response, 403, kCsrfFailed, "CSRF 校验失败，请刷新页面后重试");
        return std::nullopt;
      }
    }
    return std::move(*session);
  }

  void Handle(const http::Request& request, http::Response& response) {
    webapi::SetApiHeaders(response);
    auto admin = Authenticate(request, response);
    if (!admin) return;
    // The console's routes answer exactly their method (no HEAD for GET).
    auto found = routes.Find(request.method(), request.path().substr(ApiPrefix().size()),
                             /*head_as_get=*/false);
    if (!found.route) {
      webapi::WriteRouteMiss(response, found.path_known);
      return;
    }
    Run(*found.route, std::move(found.args), request, response, *admin);
  }

  void Run(const Route& route, std::vector<std::string> args, const http::Request& request,
           http::Response& response, const sso::Session& admin) {
    Call call{request, response, admin, std::move(args), codec::Value(), "", false};
    if (!call.args.empty()) call.target = call.args[0];
    std::string_view type = request.Header("Content-Type").value_or("");
    if (!request.body().empty() && type.starts_with("application/json")) {
      auto body = codec::ParseJson(request.body());
      if (!body.ok()) {
        SetError(response, 400, 400, "请求体不是合法的 JSON：" + body.error().message);
        return;
      }
      call.body = std::move(*body);
    }
    Result<codec::Value> result = route.handler(services, call);
    if (!route.action.empty()) {
      std::string detail = "target=" + call.target;
      if (result.ok()) {
        detail += " ok";
      } else {
        const int code = result.error().code;
        detail += " refused " + std::to_string(code >= 1000 ? code : HttpStatusFor(result.error()));
      }
      audit.Record("admin." + route.action, admin.userid, admin.loginname, "",
                   request.remote_ip(), detail);
    }
    if (!result.ok()) {
      SetError(response, result.error());
      return;
    }
    if (!call.wrote_response) response.SetJson(200, codec::RenderJson(*result));
  }

  sso::SsoContext& context;
  sso::Audit audit;
  sso::SessionStore sessions;
  sso::UnifiedLogout logout;
  sso::LoginPageSessions login_pages;
  Services services;
  webapi::RouteTable<Route> routes;
};

AdminApi::AdminApi(sso::SsoContext& context) : impl_(std::make_unique<Impl>(context)) {}
AdminApi::~AdminApi() = default;

Status AdminApi::Register(http::Router& router, const std::filesystem::path& console_dir) {
  Impl& impl = *impl_;
  webapi::MountOnPool(
      router, impl.ApiPrefix(),
      [&impl](const http::Request& request, http::Response& response) {
        impl.Handle(request, response);
      },
      "/admin/api/*");
  if (console_dir.empty()) return Status::Ok();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(console_dir / "index.html", ec)) {
    return Error::NotFound("console: no index.html in " + console_dir.string() +
                           " (build it with `make build`, or set [console] dir = \"\")");
  }
  auto files = http::StaticFiles::Create(impl.ConsolePath(), console_dir);
  if (!files.ok()) return files.error();
  router.AddPrefix("GET", impl.ConsolePath(),
                   [files = std::move(*files)](const http::Request& request,
                                               http::Response& response) {
                     files(request, response);
                     response.AddHeader("X-Frame-Options", "DENY");
                     response.AddHeader("X-Content-Type-Options", "nosniff");
                     response.AddHeader("Referrer-Policy", "same-origin");
                     // Element Plus positions popups with inline styles.
                     response.AddHeader("Content-Security-Policy",
                                        "default-src 'self'; img-src 'self' data:; "
                                        "style-src 'self' 'unsafe-inline'; frame-ancestors 'none'");
                   });
  const std::string bare = impl.context.settings.context_path + "/admin";
  const std::string slash = impl.ConsolePath();
  router.Add("GET", bare, [slash](const http::Request&, http::Response& response) {
    response.Redirect(slash, 302);
  });
  return Status::Ok();
}

}  // namespace tongban::console
