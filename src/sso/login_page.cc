// The browser side of sign-on on `{context_path}/usp.do` (and the APP entry
// `mobile.do?action=oauth`): the login form, the redirect to an app's
// registered callback with `ticket` and `sp`, zfRedirect, logout, the
// personal centre (editPwd, editUser) and the app launcher. Pages are
// server-rendered, work without JavaScript and fit a phone screen.
// docs/api/login.md is the reference.
#include <spdlog/spdlog.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "codec/parse.h"
#include "codec/render.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "directory/codes.h"
#include "directory/validators.h"
#include "directory/wire.h"
#include "http/url.h"
#include "sso/auth_internal.h"
#include "sso/cas_oidc_support.h"
#include "sso/citizen.h"
#include "sso/html.h"
#include "sso/second_factors.h"

namespace tongban::sso {
namespace {

namespace dcode = directory::code;

constexpr std::string_view kCsrfCookie = "TBCSRF";

// A login waiting for its second factor: the TBMFA cookie holds a random id;
// the ticket store holds the state under a digest of it, for a few minutes,
// with a small budget of wrong codes (the account's own throttle is in
// SecondFactors).
constexpr std::string_view kMfaCookie = "TBMFA";
constexpr std::string_view kMfaPendingPrefix = "sso:mp:";
constexpr std::chrono::seconds kMfaPendingTtl{300};
constexpr int kMfaAttempts = 5;

struct PendingLogin {
  std::string key;  // ticket-store key
  std::string userid;
  std::string loginname;
  std::string servicecode;
  std::string goto_url;
  std::string csrf;
  bool enrol = false;  // no factor yet: enrol before going on
  // The masked mobile an SMS code may go to ("" = SMS not offered: no
  // proven channel, no mobile, or a platform administrator, who uses TOTP).
  std::string sms_to;
  bool sms_sent = false;  // a login-2fa code went out: the code field takes it
  int attempts = 0;
  int64_t started_ms = 0;
};

constexpr std::string_view kSecondFactorForm = R"({{{notice}}}<p class="note">{{intro}}</p>
<form method="post" action="{{form_action}}">
<input type="hidden" name="action" value="mfaVerify">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="code">动态验证码或恢复码</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
 autocapitalize="off" spellcheck="false" maxlength="20" required autofocus>
<button type="submit">验证</button>
</form>
<p class="note">手机丢失时可输入一个恢复码（每个只能使用一次），或联系平台管理员重置。</p>
{{{sms}}}
)";

// Offered beside the TOTP page and the enrolment page when the user may use
// an SMS code instead (PendingLogin::sms_to).
constexpr std::string_view kSmsOffer = R"(<form method="post" action="{{form_action}}">
<input type="hidden" name="action" value="mfaSms">
<input type="hidden" name="csrf" value="{{csrf}}">
<button type="submit" id="send-sms" class="secondary">发送短信验证码到 {{to}}</button>
</form>
)";

// After an SMS code went out: the code field takes it (or a TOTP/recovery code).
constexpr std::string_view kSmsCodeForm = R"({{{notice}}}<p class="note" data-code="sms-sent">短信验证码已发送至 {{to}}，5 分钟内有效。</p>
<form method="post" action="{{form_action}}">
<input type="hidden" name="action" value="mfaVerify">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="code">短信验证码</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
 autocapitalize="off" spellcheck="false" maxlength="20" required autofocus>
<button type="submit">验证</button>
</form>
)";

constexpr std::string_view kEnrolForm = R"({{{notice}}}<p class="note">{{intro}}</p>
<ol class="note">
<li>在手机上打开身份验证器应用（如 Google Authenticator、Microsoft Authenticator、FreeOTP）。</li>
<li>扫描下方二维码，或手动输入密钥。</li>
<li>输入应用显示的 6 位验证码完成绑定。</li>
</ol>
<div class="qr" style="text-align:center">{{{qr}}}</div>
<p class="note">密钥：<code id="totp-secret">{{secret}}</code></p>
<form method="post" action="{{form_action}}">
<input type="hidden" name="action" value="{{action}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="code">6 位验证码</label>
<input id="code" name="code" type="text" inputmode="numeric" autocomplete="one-time-code"
 pattern="[0-9]{6}" maxlength="6" required autofocus>
<button type="submit">绑定并继续</button>
</form>
{{{nav}}}
)";

constexpr std::string_view kLayout = R"(<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<link rel="icon" href="data:,">
<title>{{title}} - 统一身份认证</title>
<style>
*{box-sizing:border-box}
body{margin:0;background:#eef2f7;color:#1f2d3d;line-height:1.5;
 font-family:-apple-system,"PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif}
.card{max-width:420px;margin:8vh auto 16px;background:#fff;padding:28px 24px;border-radius:8px;
 box-shadow:0 2px 12px rgba(0,0,0,.08)}
.brand{text-align:center;color:#5b6b7b;font-size:14px;margin:0 0 4px}
h1{font-size:22px;margin:0 0 18px;text-align:center}
label{display:block;margin:14px 0 6px;font-size:14px}
input{width:100%;padding:10px 12px;font-size:16px;border:1px solid #c8d1dc;border-radius:4px}
input:focus{outline:2px solid #1a6fd4;border-color:#1a6fd4}
button{width:100%;margin-top:22px;padding:12px;font-size:16px;color:#fff;background:#1a6fd4;
 border:0;border-radius:4px;cursor:pointer}
button.secondary{background:#fff;color:#1a6fd4;border:1px solid #1a6fd4;margin-top:12px}
.error{color:#b42318;background:#fef3f2;border:1px solid #fecdca;padding:10px 12px;
 border-radius:4px}
.ok{color:#05603a;background:#ecfdf3;border:1px solid #abefc6;padding:10px 12px;
 border-radius:4px}
.note{color:#5b6b7b;font-size:14px}
ul.apps{list-style:none;padding:0;margin:0}
ul.apps li{margin:8px 0}
ul.apps a{display:block;padding:12px 14px;border:1px solid #dde3ea;border-radius:6px;
 text-decoration:none;color:#1a6fd4}
nav{margin-top:22px;text-align:center;font-size:14px}
nav a{margin:0 8px;color:#1a6fd4}
footer{text-align:center;color:#8a97a5;font-size:12px;padding:16px}
@media (max-width:480px){
 .card{margin:0;border-radius:0;min-height:100vh;box-shadow:none;padding:24px 16px}}
</style>
</head>
<body>
<main class="card">
<p class="brand">统一身份认证平台</p>
<h1>{{title}}</h1>
{{{body}}}
</main>
<footer>tongban 一网通办</footer>
</body>
</html>
)";

constexpr std::string_view kLoginForm = R"({{{notice}}}{{{app_note}}}
<form method="post" action="{{form_action}}">
<input type="hidden" name="action" value="ssoLogin">
<input type="hidden" name="servicecode" value="{{servicecode}}">
<input type="hidden" name="goto" value="{{goto}}">
<input type="hidden" name="renew" value="{{renew}}">
<input type="hidden" name="mfa" value="{{mfa}}">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="loginname">用户名</label>
<input id="loginname" name="loginname" type="text" value="{{loginname}}"
 autocomplete="username" autocapitalize="off" spellcheck="false" required autofocus>
<label for="password">密码</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">登录</button>
</form>
)";

constexpr std::string_view kPasswordForm = R"({{{notice}}}
<form method="post" action="{{form_action}}">
<input type="hidden" name="action" value="editPwd">
<input type="hidden" name="csrf" value="{{csrf}}">
<label for="oldpassword">原密码</label>
<input id="oldpassword" name="oldpassword" type="password" autocomplete="current-password" required>
<label for="newpassword">新密码</label>
<input id="newpassword" name="newpassword" type="password" autocomplete="new-password"
 minlength="8" required>
<label for="confirmpassword">确认新密码</label>
<input id="confirmpassword" name="confirmpassword" type="password"
 autocomplete="new-password" minlength="8" required>
<p class="note">至少 8 位，包含字母、数字、符号中的至少两类。</p>
<button type="submit">修改密码</button>
</form>
{{{nav}}}
)";

struct EditableField {
  std::string_view name;
  std::string_view label;
  std::string_view type;
};

// What editUser offers (a subset of SelfEditable: the fields people know).
// Not the mobile: it recovers the password and may receive login codes, so a
// session alone must not move it (kMobileNotSelfEditable).
constexpr EditableField kEditUserFields[] = {
    {"email", "电子邮箱", "email"},
    {"telephone", "联系电话", "tel"},      {"postcode", "邮政编码", "text"},
    {"province", "省份", "text"},          {"city", "城市", "text"},
    {"officeaddress", "办公地址", "text"}, {"officephone", "办公电话", "tel"},
    {"homephone", "住宅电话", "tel"},      {"homeaddress", "家庭住址", "text"},
};

bool IsHex(std::string_view s, size_t size) {
  if (s.size() != size) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string Notice(std::string_view css_class, std::string_view code, std::string_view text) {
  return FillTemplate(R"(<p class="{{cls}}" role="alert" data-code="{{code}}">{{text}}</p>
)",
                      {{"cls", css_class}, {"code", code}, {"text", text}});
}

// Where a login should lead: an app (its callback gets the ticket) and/or a
// `goto` that passed the no-open-redirect check.
struct Target {
  std::shared_ptr<const directory::App> app;
  std::string goto_url;
  // renew (as in CAS): ask for the password even with a live session. Kept
  // in the form so that a failed attempt's page still asks.
  bool renew = false;
  // Step-up: this login must include a second factor (CAS/OIDC/console ask
  // for it with mfa=1), whatever the policy would say.
  bool mfa = false;
};

class LoginPages {
 public:
  explicit LoginPages(AuthServices& s) : s_(s), settings_(s.context.settings) {}

  void Handle(const http::Request& request, http::Response& response) {
    std::string_view action = request.ParamOr("action");
    const bool post = request.method() == "POST";
    if (action == "ssoLogin" || action == "login" || action == "oauth") {
      post ? SubmitLogin(request, response) : ShowLogin(request, response, false);
    } else if (action == "zfRedirect" || action == "redirect") {
      ShowLogin(request, response, true);
    } else if (action == "logout") {
      Logout(request, response);
    } else if (action.empty() || action == "index") {
      Launcher(request, response);
    } else if (action == "editPwd") {
      post ? SubmitPassword(request, response) : ShowPassword(request, response, "", "");
    } else if (action == "editUser") {
      post ? SubmitUser(request, response) : ShowUser(request, response, {}, "", "");
    } else if ((action == "mfaVerify" || action == "mfaEnrol") && post &&
               s_.context.second_factors != nullptr) {
      SubmitSecondFactor(request, response, action == "mfaEnrol");
    } else if (action == "mfaSms" && post && s_.context.second_factors != nullptr) {
      SendSecondFactorSms(request, response);
    } else if (action == "mfa" && s_.context.second_factors != nullptr) {
      post ? SubmitOwnEnrolment(request, response) : ShowOwnFactors(request, response, "", "");
    } else if (IsCitizenAction(action) && s_.context.citizen != nullptr) {
      CitizenPage(action, request, response);
    } else {
      SendMessage(response, 404, "功能未开放",
                  Notice("error", "404", "该功能暂未开放，请联系平台管理员。") + Nav(false));
    }
  }

 private:
  // ---- URLs ----

  std::string Base(const http::Request& request) const {
    if (!settings_.public_url.empty()) return settings_.public_url;
    std::string base("http://");
    base.append(request.Header("Host").value_or("localhost"));
    return base;
  }

  std::string PagePath() const {
    std::string path(settings_.context_path);
    path.append("/usp.do");
    return path;
  }

  std::string PageUrl(std::string_view query) const {
    std::string url = PagePath();
    url.append(query);
    return url;
  }

  // Our own pages may always be a `goto`: the portal header sends users to
  // usp.do?action=zfRedirect through another app's login.
  bool IsOwnUrl(const http::Request& request, std::string_view url) const {
    const std::string base = Base(request);
    if (url.starts_with(base + settings_.context_path + "/")) return true;
    for (const std::string& path : settings_.own_paths) {
      if (url.starts_with(base + path)) return true;
    }
    return false;
  }

  http::CookieOptions CookieOpts() const {
    http::CookieOptions o;
    o.path = !settings_.cookie_path.empty()   ? settings_.cookie_path
             : settings_.context_path.empty() ? "/"
                                              : settings_.context_path;
    o.http_only = true;
    o.same_site = http::SameSite::kLax;
    o.secure = settings_.public_url.starts_with("https://");
    return o;
  }

  // ---- responses ----

  static void Protect(http::Response& response) {
    response.AddHeader("Cache-Control", "no-store");
    response.AddHeader("X-Frame-Options", "DENY");
    response.AddHeader("X-Content-Type-Options", "nosniff");
    response.AddHeader("Referrer-Policy", "no-referrer");
    response.AddHeader("Content-Security-Policy",
                       "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
                       "frame-ancestors 'none'; base-uri 'none'");
  }

  static void SendMessage(http::Response& response, int status, std::string_view title,
                          std::string_view body_html) {
    Protect(response);
    response.set_status(status);
    response.set_content_type(http::kHtmlType);
    response.set_body(FillTemplate(kLayout, {{"title", title}, {"body", body_html}}));
  }

  void Redirect(http::Response& response, std::string_view url) const {
    Protect(response);
    response.Redirect(url, 302);
  }

  std::string Nav(bool logged_in) const {
    if (!logged_in) {
      return FillTemplate(R"(<nav><a href="{{login}}">登录</a></nav>
)",
                          {{"login", PageUrl("?action=ssoLogin")}});
    }
    return FillTemplate(
        R"(<nav><a href="{{index}}">我的应用</a><a href="{{pwd}}">修改密码</a>
<a href="{{user}}">个人信息</a>{{{mfa}}}<a href="{{logout}}">退出</a></nav>
)",
        {{"index", PageUrl("?action=index")},
         {"mfa", s_.context.second_factors == nullptr
                     ? std::string()
                     : FillTemplate(R"(<a href="{{href}}">双因素认证</a>)",
                                    {{"href", PageUrl("?action=mfa")}})},
         {"pwd", PageUrl("?action=editPwd")},
         {"user", PageUrl("?action=editUser")},
         {"logout", PageUrl("?action=logout")}});
  }

  // ---- session ----

  std::optional<Session> Current(const http::Request& request) const {
    auto cookie = request.Cookie(kSessionCookie);
    if (!cookie) return std::nullopt;
    auto session = s_.sessions.Resume(*cookie);
    if (!session.ok()) {
      if (session.error().code != errc::kNotFound) {
        spdlog::error("session lookup failed: {}", session.error().message);
      }
      return std::nullopt;
    }
    return std::move(*session);
  }

  // The session's user, or nullopt when the account vanished or was locked
  // or disabled since (the session is then ended).
  std::shared_ptr<const directory::User> ActiveUser(const http::Request& request,
                                                    const Session& session) {
    auto user = s_.context.directory.CachedUser(session.userid);
    if (user.ok() && (*user)->active()) return std::move(*user);
    LogoutRequest end{session.id, session.userid, "", std::string(request.remote_ip()), "account"};
    (void)s_.logout.Run(end);
    return nullptr;
  }

  // ---- targets ----

  // The app and goto of a login request; on a refusal the response is the
  // error page and nullopt comes back.
  std::optional<Target> ParseTarget(const http::Request& request, http::Response& response,
                                    bool app_required) const {
    Target target;
    std::string_view renew = request.ParamOr("renew");
    target.renew = renew == "true" || renew == "1";
    std::string_view mfa = request.ParamOr("mfa");
    target.mfa = mfa == "1" || mfa == "true";
    std::string_view servicecode = Trim(request.ParamOr("servicecode"));
    if (servicecode.empty()) {
      if (app_required) {
        SendMessage(response, 400, "参数错误",
                    Notice("error", "9900", "缺少 servicecode 参数。") + Nav(false));
        return std::nullopt;
      }
    } else {
      auto app = s_.context.directory.CachedApp(servicecode);
      if (!app.ok()) {
        const bool missing = app.error().code == errc::kNotFound || app.error().code >= 1000;
        std::string text("应用不存在：");
        text.append(servicecode);
        SendMessage(response, missing ? 400 : 503, missing ? "应用不存在" : "服务暂不可用",
                    Notice("error", missing ? "9900" : "9999",
                           missing ? std::string_view(text) : "目录服务暂不可用，请稍后再试。"));
        return std::nullopt;
      }
      if (!(*app)->enabled) {
        SendMessage(response, 403, "应用已停用",
                    Notice("error", "9904", "该应用已停用，请联系平台管理员。"));
        return std::nullopt;
      }
      target.app = std::move(*app);
    }
    std::string_view goto_url = Trim(request.ParamOr("goto"));
    if (goto_url.empty()) goto_url = Trim(request.ParamOr("redirectUrl"));
    if (!goto_url.empty()) {
      const bool allowed =
          (target.app && CallbackMatch(*target.app, goto_url) > 0) || IsOwnUrl(request, goto_url);
      if (!allowed) {
        s_.audit.Record("goto_refused", "", "", servicecode, request.remote_ip(), "");
        SendMessage(response, 400, "跳转地址不允许",
                    Notice("error", "goto", "跳转地址（goto）不是该应用登记的地址，已拒绝跳转。") +
                        Nav(false));
        return std::nullopt;
      }
      target.goto_url = std::string(goto_url);
    }
    return target;
  }

  // A logged-in user goes on: to the app's callback with a fresh ticket,
  // to the goto, or to the launcher.
  void Proceed(http::Response& response, const Session& session, const directory::User& user,
               const Target& target) {
    if (target.app && s_.context.second_factors != nullptr && !session.HasSecondFactor()) {
      auto need = s_.context.second_factors->Required(s_.context.directory, user.userid,
                                                     target.app->servicecode);
      if (!need.ok()) {
        spdlog::error("second-factor policy unreadable: {}", need.error().message);
        SendMessage(response, 503, "服务暂不可用", Notice("error", "9999", "请稍后再试。"));
        return;
      }
      if (*need) {
        // Step-up: the password again, then the second factor, in this session.
        std::string url = PageUrl("?action=ssoLogin&renew=true&mfa=1");
        url = http::AppendQuery(url, "servicecode", target.app->servicecode);
        if (!target.goto_url.empty()) url = http::AppendQuery(url, "goto", target.goto_url);
        Redirect(response, url);
        return;
      }
    }
    if (!target.app) {
      Redirect(response, target.goto_url.empty() ? PageUrl("?action=index") : target.goto_url);
      return;
    }
    const directory::App& app = *target.app;
    if (std::string shortfall = AuthLevelShortfall(user, app); !shortfall.empty()) {
      std::string realname;
      if (s_.context.citizen != nullptr) {
        realname = FillTemplate(R"(<p><a href="{{href}}">查看或办理实名认证</a></p>
)",
                                {{"href", PageUrl("?action=realname")}});
      }
      SendMessage(response, 403, "实名等级不足",
                  Notice("error", "authlevel", shortfall) + realname + Nav(true));
      return;
    }
    auto may = MayOpen(s_, user, app);
    if (!may.ok()) {
      SendMessage(response, 503, "服务暂不可用", Notice("error", "9999", "请稍后再试。"));
      return;
    }
    if (!*may) {
      std::string text("您没有访问「");
      text.append(app.name.empty() ? app.servicecode : app.name).append("」的权限。");
      SendMessage(
          response, 403, "无访问权限",
          Notice("error", std::to_string(auth_code::kEasyLoginNotAuthorised), text) + Nav(true));
      return;
    }
    if (app.callback_urls.empty()) {
      SendMessage(
          response, 500, "应用配置不完整",
          Notice("error", "callback", "该应用未登记回调地址，请联系平台管理员。") + Nav(true));
      return;
    }
    auto st = s_.sessions.Issue(GrantKind::kTicket, app.servicecode, session.userid, session.id);
    if (!st.ok()) {
      spdlog::error("ticket not issued: {}", st.error().message);
      SendMessage(response, 503, "服务暂不可用", Notice("error", "9999", "请稍后再试。"));
      return;
    }
    std::string url = http::AppendQuery(app.callback_urls.front(), "ticket", st->value);
    if (!target.goto_url.empty()) url = http::AppendQuery(url, "sp", target.goto_url);
    Redirect(response, url);
  }

  // ---- login ----

  void RenderLogin(const http::Request& request, http::Response& response, const Target& target,
                   int status, std::string_view code, std::string_view message,
                   std::string_view loginname) {
    std::string csrf;
    if (auto cookie = request.Cookie(kCsrfCookie); cookie && IsHex(*cookie, 32)) {
      csrf = std::string(*cookie);
    } else {
      csrf = s_.context.random.Hex(16);
    }
    response.SetCookie(kCsrfCookie, csrf, CookieOpts());
    std::string app_note;
    if (target.app) {
      app_note = FillTemplate(
          R"(<p class="note">登录后将进入：<strong>{{name}}</strong></p>
)",
          {{"name", target.app->name.empty() ? target.app->servicecode : target.app->name}});
    }
    std::string notice = message.empty() ? std::string() : Notice("error", code, message);
    std::string body = FillTemplate(
        kLoginForm, {{"notice", notice},
                     {"app_note", app_note},
                     {"form_action", PagePath()},
                     {"servicecode", target.app ? std::string_view(target.app->servicecode) : ""},
                     {"goto", target.goto_url},
                     {"renew", target.renew ? "true" : ""},
                     {"mfa", target.mfa ? "1" : ""},
                     {"csrf", csrf},
                     {"loginname", loginname}});
    SendMessage(response, status, "用户登录", body);
  }

  void ShowLogin(const http::Request& request, http::Response& response, bool app_required) {
    auto target = ParseTarget(request, response, app_required);
    if (!target) return;
    if (auto session = Current(request); session && !target->renew) {
      if (auto user = ActiveUser(request, *session)) {
        Proceed(response, *session, *user, *target);
        return;
      }
    }
    RenderLogin(request, response, *target, 200, "", "", "");
  }

  void SubmitLogin(const http::Request& request, http::Response& response) {
    auto target = ParseTarget(request, response, false);
    if (!target) return;
    std::string_view loginname = Trim(request.ParamOr("loginname"));
    auto cookie = request.Cookie(kCsrfCookie);
    std::string_view csrf = request.ParamOr("csrf");
    if (!cookie || csrf.empty() || !crypto::ConstantTimeEquals(*cookie, csrf)) {
      RenderLogin(request, response, *target, 403, "csrf", "页面已过期或来源无法确认，请重新登录。",
                  loginname);
      return;
    }
    std::string_view password = request.ParamOr("password");
    if (loginname.empty() || password.empty()) {
      RenderLogin(request, response, *target, 400, "empty", "请输入用户名和密码。", loginname);
      return;
    }
    PasswordLogin login;
    login.attempt.loginname = std::string(loginname);
    login.attempt.orgcoding = std::string(Trim(request.ParamOr("orgcoding")));
    login.attempt.password = std::string(password);
    login.ip = std::string(request.remote_ip());
    login.servicecode = target->app ? target->app->servicecode : std::string();
    login.channel = "page";
    auto user = LoginWithPassword(s_, login);
    if (!user.ok()) {
      const Error& e = user.error();
      int status = 403;
      std::string code = std::to_string(e.code);
      std::string message = e.message;
      if (e.code == dcode::kLoginNoUser || e.code == dcode::kLoginWrongPassword) {
        // One answer for both: the page must not tell which login names exist.
        status = 401;
        code = "credentials";
        message = "用户名或密码错误";
        if (size_t cut = e.message.find("；"); cut != std::string::npos) {
          message.append(e.message.substr(cut));
        }
      } else if (e.code == auth_code::kEasyLoginThrottled) {
        status = 429;
      } else if (e.code < 1000) {
        status = 503;
        message = "服务暂不可用，请稍后再试";
      }
      RenderLogin(request, response, *target, status, code, message, loginname);
      return;
    }
    auto need = NeedsSecondFactor(**user, *target);
    if (!need.ok()) {
      spdlog::error("second-factor policy unreadable: {}", need.error().message);
      RenderLogin(request, response, *target, 503, "9999", "服务暂不可用，请稍后再试", loginname);
      return;
    }
    if (*need) {
      StartSecondFactor(request, response, **user, *target);
      return;
    }
    auto session = Establish(request, response, **user, *target, kFactorPassword);
    if (session) Proceed(response, *session, **user, *target);
  }

  // The user passed every factor the login needs: the browser's session
  // (re-authenticated when it is the same user's, else a new one replacing
  // it) with `factors` recorded; nullopt after writing an error page.
  std::optional<Session> Establish(const http::Request& request, http::Response& response,
                                   const directory::User& user, const Target& target,
                                   std::string_view factors) {
    const std::string ip(request.remote_ip());
    auto old = Current(request);
    if (old && old->userid == user.userid) {
      // The same user again (renew): re-authenticate inside the session, so
      // the apps it reached stay signed in and see a fresh auth time.
      auto again = s_.sessions.Reauthenticate(old->id, factors);
      if (again.ok()) return std::move(*again);
      if (again.error().code != errc::kNotFound) {
        spdlog::error("session not re-authenticated: {}", again.error().message);
        RenderLogin(request, response, target, 503, "9999", "服务暂不可用，请稍后再试",
                    user.loginname);
        return std::nullopt;
      }
      old.reset();  // ended meanwhile: a new session follows
    }
    // Another user replaces whatever session this browser had (no fixation,
    // and apps of the previous user hear of its end).
    if (old) {
      LogoutRequest end{old->id, old->userid, "", ip, "relogin"};
      (void)s_.logout.Run(end);
    }
    auto session =
        s_.sessions.Create(user.userid, user.loginname, SessionOrigin::kBrowser, factors);
    if (!session.ok()) {
      spdlog::error("session not created: {}", session.error().message);
      RenderLogin(request, response, target, 503, "9999", "服务暂不可用，请稍后再试",
                  user.loginname);
      return std::nullopt;
    }
    response.SetCookie(kSessionCookie, session->id, CookieOpts());
    return std::move(*session);
  }

  // ---- second factor ----

  Result<bool> NeedsSecondFactor(const directory::User& user, const Target& target) {
    SecondFactors* factors = s_.context.second_factors;
    if (factors == nullptr) return false;
    if (target.mfa) return true;
    return factors->Required(s_.context.directory, user.userid,
                             target.app ? std::string_view(target.app->servicecode) : "");
  }

  static std::string PendingKey(std::string_view cookie) {
    std::string key(kMfaPendingPrefix);
    key.append(crypto::Sha256Hex(cookie));
    return key;
  }

  Status SavePending(const PendingLogin& p) {
    codec::Value v = codec::Value::Object(8);
    v.Set("u", p.userid)
        .Set("l", p.loginname)
        .Set("s", p.servicecode)
        .Set("g", p.goto_url)
        .Set("c", p.csrf)
        .Set("e", p.enrol)
        .Set("m", p.sms_to)
        .Set("ms", p.sms_sent)
        .Set("a", p.attempts)
        .Set("t", p.started_ms);
    const int64_t left_ms =
        p.started_ms + kMfaPendingTtl.count() * 1000 - s_.context.clock.NowMillis();
    if (left_ms <= 0) return Error::Expired("the login has expired");
    return s_.context.tickets.Put(p.key, codec::RenderJson(v), std::chrono::milliseconds(left_ms));
  }

  std::optional<PendingLogin> LoadPending(const http::Request& request) {
    auto cookie = request.Cookie(kMfaCookie);
    if (!cookie || !IsHex(*cookie, 64)) return std::nullopt;
    PendingLogin p;
    p.key = PendingKey(*cookie);
    auto record = s_.context.tickets.Get(p.key);
    if (!record.ok()) return std::nullopt;
    auto v = codec::ParseJson(*record);
    if (!v.ok() || !v->IsObject()) return std::nullopt;
    auto text = [&](std::string_view k) {
      const std::string* t = v->FindString(k);
      return t ? *t : std::string();
    };
    p.userid = text("u");
    p.loginname = text("l");
    p.servicecode = text("s");
    p.goto_url = text("g");
    p.csrf = text("c");
    const codec::Value* e = v->Find("e");
    p.enrol = e && e->IsBool() && e->AsBool();
    p.sms_to = text("m");
    const codec::Value* ms = v->Find("ms");
    p.sms_sent = ms && ms->IsBool() && ms->AsBool();
    const codec::Value* a = v->Find("a");
    p.attempts = a && a->IsInteger() ? static_cast<int>(a->AsInteger()) : kMfaAttempts;
    const codec::Value* t = v->Find("t");
    p.started_ms = t && t->IsInteger() ? t->AsInteger() : 0;
    if (p.userid.empty() || p.csrf.empty()) return std::nullopt;
    return p;
  }

  // Takes one of the pending login's kMfaAttempts tries before a code is
  // checked: each post adds a member to the login's set of tries, and the
  // set's size counts them across concurrent posts and nodes (the pending
  // record's own count is read, raised and written back, so posts sent
  // together all read the same count). False once they are spent, or when
  // the store cannot say (fail closed).
  bool ReserveTry(const PendingLogin& p) {
    const int64_t left_ms =
        p.started_ms + kMfaPendingTtl.count() * 1000 - s_.context.clock.NowMillis();
    if (left_ms <= 0) return false;
    const std::string key = TriesKey(p);
    if (!s_.context.tickets
             .AddToSet(key, s_.context.random.Hex(8), std::chrono::milliseconds(left_ms))
             .ok()) {
      return false;
    }
    auto tries = s_.context.tickets.Members(key);
    return tries.ok() && tries->size() <= static_cast<size_t>(kMfaAttempts);
  }

  static std::string TriesKey(const PendingLogin& p) { return p.key + ":tries"; }

  // The tries set is left to expire with the pending login (its TTL): erased
  // here, a post already past LoadPending — or a record written back by a
  // slower post's SavePending — would start a fresh count (review15c).
  void ClearPending(http::Response& response, const PendingLogin& p) {
    (void)s_.context.tickets.Erase(p.key);
    http::CookieOptions gone = CookieOpts();
    gone.max_age = std::chrono::seconds(0);
    response.SetCookie(kMfaCookie, "", gone);
  }

  void StartSecondFactor(const http::Request& request, http::Response& response,
                         const directory::User& user, const Target& target) {
    auto status = s_.context.second_factors->StatusOf(user.userid);
    if (!status.ok()) {
      spdlog::error("second factors unreadable: {}", status.error().message);
      RenderLogin(request, response, target, 503, "9999", "服务暂不可用，请稍后再试",
                  user.loginname);
      return;
    }
    const std::string cookie = s_.context.random.Hex(32);
    PendingLogin p;
    p.key = PendingKey(cookie);
    p.userid = user.userid;
    p.loginname = user.loginname;
    p.servicecode = target.app ? target.app->servicecode : std::string();
    p.goto_url = target.goto_url;
    p.csrf = s_.context.random.Hex(16);
    p.enrol = !status->totp;
    // A confirmed TOTP is the factor: an SMS code instead would make the
    // mobile (easier to take over) enough to pass.
    if (!status->totp) p.sms_to = SmsFactorTarget(user);
    p.started_ms = s_.context.clock.NowMillis();
    if (Status saved = SavePending(p); !saved.ok()) {
      spdlog::error("pending login not stored: {}", saved.error().message);
      RenderLogin(request, response, target, 503, "9999", "服务暂不可用，请稍后再试",
                  user.loginname);
      return;
    }
    http::CookieOptions opts = CookieOpts();
    opts.max_age = kMfaPendingTtl;
    response.SetCookie(kMfaCookie, cookie, opts);
    RenderSecondFactor(response, p, 200, "", "");
  }

  void RenderSecondFactor(http::Response& response, const PendingLogin& p, int status,
                          std::string_view code, std::string_view message) {
    std::string notice = message.empty() ? std::string() : Notice("error", code, message);
    if (p.sms_sent) {
      SendMessage(response, status, "双因素认证",
                  FillTemplate(kSmsCodeForm, {{"notice", notice},
                                              {"to", p.sms_to},
                                              {"form_action", PagePath()},
                                              {"csrf", p.csrf}}));
      return;
    }
    const std::string sms =
        p.sms_to.empty() ? std::string()
                         : FillTemplate(kSmsOffer, {{"form_action", PagePath()},
                                                    {"csrf", p.csrf},
                                                    {"to", p.sms_to}});
    if (!p.enrol) {
      SendMessage(response, status, "双因素认证",
                  FillTemplate(kSecondFactorForm,
                               {{"notice", notice},
                                {"intro", "请输入身份验证器应用显示的 6 位动态验证码。"},
                                {"form_action", PagePath()},
                                {"csrf", p.csrf},
                                {"sms", sms}}));
      return;
    }
    auto enrolment = s_.context.second_factors->BeginTotp(p.userid, p.loginname, p.key);
    if (!enrolment.ok()) {
      spdlog::error("TOTP enrolment not started: {}", enrolment.error().message);
      SendMessage(response, 503, "服务暂不可用", Notice("error", "9999", "请稍后再试。"));
      return;
    }
    SendMessage(response, status, "绑定身份验证器",
                FillTemplate(kEnrolForm,
                             {{"notice", notice},
                              {"intro", "该账号必须使用双因素认证登录。请先绑定身份验证器。"},
                              {"qr", enrolment->qr_svg},
                              {"secret", enrolment->secret_base32},
                              {"form_action", PagePath()},
                              {"action", "mfaEnrol"},
                              {"csrf", p.csrf},
                              {"nav", sms.empty() ? std::string()
                                                  : "<p class=\"note\">或者：</p>" + sms}}));
  }

  // The masked mobile a login-2fa SMS code may go to, or "": SMS codes need
  // the citizen service's channel and codes, a valid mobile, and a user who is
  // not a platform administrator (administrators keep TOTP, 等保 level 3).
  std::string SmsFactorTarget(const directory::User& user) {
    if (s_.context.citizen == nullptr || s_.context.citizen->mutable_codes() == nullptr) return {};
    if (!directory::IsValidMobile(user.mobile)) return {};
    auto admin = s_.context.directory.IsPlatformAdmin(user.userid);
    if (!admin.ok() || *admin) return {};
    return MaskMobile(user.mobile);
  }

  // The login-2fa code sent for this pending login. A wrong one is
  // PermissionDenied (counted like a wrong TOTP code); a lockout answers as
  // the account's throttle does.
  Status CheckSmsCode(const PendingLogin& p, std::string_view code, const std::string& ip) {
    auto user = s_.context.directory.CachedUser(p.userid);
    if (!user.ok()) return Error::NotFound("user gone");
    auto checked = s_.context.citizen->mutable_codes()->Verify(CodePurpose::kLogin2fa,
                                                               (*user)->mobile, code, ip);
    if (!checked.ok()) {
      if (checked.error().code == code_error::kRejected) {
        return Error::PermissionDenied("wrong or spent SMS code");
      }
      if (checked.error().code == code_error::kLockedOut) {
        return Error{auth_code::kEasyLoginThrottled, checked.error().message};
      }
      return checked.error();
    }
    // A code sent for another account's login (the same mobile) opens nothing here.
    if (checked->account != p.userid) return Error::PermissionDenied("SMS code of another login");
    return Status::Ok();
  }

  // POST action=mfaSms: a login-2fa code to the user's mobile (throttled by
  // OneTimeCodes per number, client and account); the page then asks for it.
  void SendSecondFactorSms(const http::Request& request, http::Response& response) {
    auto pending = LoadPending(request);
    if (!pending) {
      SendMessage(response, 401, "登录已过期",
                  Notice("error", "expired", "这次登录已过期，请重新登录。") + Nav(false));
      return;
    }
    PendingLogin& p = *pending;
    std::string_view csrf = request.ParamOr("csrf");
    if (csrf.empty() || !crypto::ConstantTimeEquals(csrf, p.csrf) || p.sms_to.empty()) {
      RenderSecondFactor(response, p, 403, "csrf", "页面已过期或来源无法确认，请重新提交。");
      return;
    }
    auto user = s_.context.directory.CachedUser(p.userid);
    if (!user.ok() || !(*user)->active()) {
      ClearPending(response, p);
      SendMessage(response, 403, "账号不可用",
                  Notice("error", "account", "账号已被锁定或停用。") + Nav(false));
      return;
    }
    const std::string ip(request.remote_ip());
    Status sent = s_.context.citizen->mutable_codes()->Send(
        {CodePurpose::kLogin2fa, (*user)->mobile, p.userid, ip, true},
        [](std::string_view code) {
          return "您的登录验证码是 " + std::string(code) + "，5 分钟内有效。请勿告诉他人。";
        });
    if (!sent.ok()) {
      if (sent.error().code == code_error::kThrottled) {
        RenderSecondFactor(response, p, 429, std::to_string(sent.error().code),
                           sent.error().message);
        return;
      }
      spdlog::error("login-2fa SMS not sent: {}", sent.error().message);
      SendMessage(response, 503, "服务暂不可用", Notice("error", "9999", "请稍后再试。"));
      return;
    }
    s_.audit.Record("mfa_sms_sent", p.userid, p.loginname, p.servicecode, ip, p.sms_to);
    p.sms_sent = true;
    if (Status saved = SavePending(p); !saved.ok()) {
      ClearPending(response, p);
      SendMessage(response, 401, "登录已过期",
                  Notice("error", "expired", "这次登录已过期，请重新登录。") + Nav(false));
      return;
    }
    RenderSecondFactor(response, p, 200, "", "");
  }

  // Where a login goes on after its second factor, as a GET the live
  // session answers: the app's login entry, the goto, or the launcher.
  std::string ContinueUrl(const PendingLogin& p) const {
    if (!p.servicecode.empty()) {
      std::string url = http::AppendQuery(PageUrl("?action=ssoLogin"), "servicecode", p.servicecode);
      if (!p.goto_url.empty()) url = http::AppendQuery(url, "goto", p.goto_url);
      return url;
    }
    return p.goto_url.empty() ? PageUrl("?action=index") : p.goto_url;
  }

  std::string RecoveryCodesPage(const std::vector<std::string>& codes,
                                std::string_view continue_url) const {
    std::string list;
    for (const std::string& c : codes) {
      list.append(FillTemplate("<li><code>{{c}}</code></li>\n", {{"c", c}}));
    }
    return FillTemplate(
        R"(<p class="ok" role="status" data-code="enrolled">身份验证器已绑定。</p>
<p>以下恢复码<strong>只显示这一次</strong>，请抄写或打印后妥善保管。手机丢失时，每个恢复码可代替动态验证码使用一次。</p>
<ol class="recovery-codes">{{{list}}}</ol>
<nav><a id="continue" href="{{next}}">我已保存，继续</a></nav>
)",
        {{"list", list}, {"next", continue_url}});
  }

  void SubmitSecondFactor(const http::Request& request, http::Response& response, bool enrol) {
    auto pending = LoadPending(request);
    if (!pending) {
      SendMessage(response, 401, "登录已过期",
                  Notice("error", "expired", "这次登录已过期，请重新登录。") + Nav(false));
      return;
    }
    PendingLogin& p = *pending;
    std::string_view csrf = request.ParamOr("csrf");
    // After an SMS code went out, the page posts mfaVerify whatever p.enrol says.
    if (csrf.empty() || !crypto::ConstantTimeEquals(csrf, p.csrf) ||
        (enrol != p.enrol && !(p.sms_sent && !enrol))) {
      RenderSecondFactor(response, p, 403, "csrf", "页面已过期或来源无法确认，请重新提交。");
      return;
    }
    const std::string ip(request.remote_ip());
    if (!ReserveTry(p)) {
      ClearPending(response, p);
      SendMessage(response, 401, "验证失败",
                  Notice("error", "attempts", "验证码错误次数过多，请重新登录。") + Nav(false));
      return;
    }
    std::string code(Trim(request.ParamOr("code")));
    SecondFactors& factors = *s_.context.second_factors;
    std::vector<std::string> recovery;
    std::string used;
    Status outcome = Status::Ok();
    std::string_view factor = kFactorOtp;
    if (p.sms_sent && !code.empty() &&
        code.find_first_not_of("0123456789") == std::string::npos) {
      outcome = CheckSmsCode(p, code, ip);
      if (outcome.ok()) {
        used = "sms";
        factor = kFactorSms;
      } else if (outcome.error().code == errc::kPermissionDenied && !p.enrol) {
        // Not the SMS code: perhaps the authenticator's.
        outcome = Status::Ok();
      }
    }
    if (!used.empty() || !outcome.ok()) {
      // decided by the SMS code
    } else if (enrol) {
      auto confirmed = factors.ConfirmTotp(p.userid, code, p.key);
      if (confirmed.ok()) {
        recovery = std::move(*confirmed);
        used = "enrolled";
      } else {
        outcome = std::move(confirmed).error();
      }
    } else {
      auto verified = factors.Verify(p.userid, code);
      if (verified.ok()) {
        used = *verified == FactorUsed::kTotp ? "totp" : "recovery_code";
      } else {
        outcome = std::move(verified).error();
      }
    }
    if (!outcome.ok()) {
      const Error& e = outcome.error();
      if (e.code == auth_code::kEasyLoginThrottled) {
        s_.audit.Record("mfa_throttled", p.userid, p.loginname, p.servicecode, ip, "");
        ClearPending(response, p);
        SendMessage(response, 429, "请稍后再试",
                    Notice("error", std::to_string(e.code), e.message) + Nav(false));
        return;
      }
      if (e.code == errc::kPermissionDenied) {
        // The audit says what failed, never the code.
        s_.audit.Record("mfa_failed", p.userid, p.loginname, p.servicecode, ip, e.message);
        if (++p.attempts >= kMfaAttempts || !SavePending(p).ok()) {
          ClearPending(response, p);
          SendMessage(response, 401, "验证失败",
                      Notice("error", "attempts", "验证码错误次数过多，请重新登录。") +
                          Nav(false));
          return;
        }
        RenderSecondFactor(response, p, 401, "code", "验证码错误或已使用，请重新输入。");
        return;
      }
      if (e.code == errc::kNotFound) {
        // An administrator reset the factor meanwhile, or the enrolment
        // was replaced in another tab: start the login again.
        ClearPending(response, p);
        SendMessage(response, 409, "请重新登录",
                    Notice("error", "state", "双因素认证状态已变化，请重新登录。") + Nav(false));
        return;
      }
      spdlog::error("second factor not checked: {}", e.message);
      SendMessage(response, 503, "服务暂不可用", Notice("error", "9999", "请稍后再试。"));
      return;
    }
    ClearPending(response, p);
    s_.audit.Record(enrol ? "mfa_enrolled" : "mfa_ok", p.userid, p.loginname, p.servicecode, ip,
                    used);
    auto user = s_.context.directory.CachedUser(p.userid);
    if (!user.ok() || !(*user)->active()) {
      SendMessage(response, 403, "账号不可用",
                  Notice("error", "account", "账号已被锁定或停用。") + Nav(false));
      return;
    }
    Target target;
    target.goto_url = p.goto_url;
    if (!p.servicecode.empty()) {
      auto app = s_.context.directory.CachedApp(p.servicecode);
      if (app.ok()) target.app = std::move(*app);
    }
    std::string both(kFactorPassword);
    both.append(" ").append(factor);
    auto session = Establish(request, response, **user, target, both);
    if (!session) return;
    if (enrol && !recovery.empty()) {
      SendMessage(response, 200, "保存恢复码", RecoveryCodesPage(recovery, ContinueUrl(p)));
      return;
    }
    Proceed(response, *session, **user, target);
  }

  // ---- own second factors (personal centre) ----

  void ShowOwnFactors(const http::Request& request, http::Response& response,
                      std::string_view code, std::string_view message, int status = 200) {
    auto owner = RequireLogin(request, response, "?action=mfa");
    if (!owner) return;
    SecondFactors& factors = *s_.context.second_factors;
    auto state = factors.StatusOf(owner->user->userid);
    if (!state.ok()) {
      SendMessage(response, 503, "服务暂不可用", Notice("error", "9999", "请稍后再试。"));
      return;
    }
    if (state->totp) {
      SendMessage(response, status, "双因素认证",
                  FillTemplate(R"(<p class="ok" role="status" data-code="totp-on">已启用身份验证器（动态验证码）。</p>
<p class="note">剩余恢复码：<span id="recovery-left">{{left}}</span> 个。更换手机或恢复码用完时，请联系平台管理员重置。</p>
{{{nav}}})",
                               {{"left", std::to_string(state->recovery_left)}, {"nav", Nav(true)}}));
      return;
    }
    auto enrolment = factors.BeginTotp(owner->user->userid, owner->user->loginname,
                                     owner->session.id);
    if (!enrolment.ok()) {
      SendMessage(response, 503, "服务暂不可用", Notice("error", "9999", "请稍后再试。"));
      return;
    }
    std::string notice = message.empty() ? std::string() : Notice("error", code, message);
    SendMessage(response, status, "绑定身份验证器",
                FillTemplate(kEnrolForm, {{"notice", notice},
                                          {"intro", "启用双因素认证后，登录时除密码外还需输入动态验证码。"},
                                          {"qr", enrolment->qr_svg},
                                          {"secret", enrolment->secret_base32},
                                          {"form_action", PagePath()},
                                          {"action", "mfa"},
                                          {"csrf", owner->session.csrf},
                                          {"nav", Nav(true)}}));
  }

  void SubmitOwnEnrolment(const http::Request& request, http::Response& response) {
    auto owner = RequireLogin(request, response, "?action=mfa");
    if (!owner) return;
    if (!CsrfMatches(request, owner->session)) {
      ShowOwnFactors(request, response, "csrf", "页面已过期或来源无法确认，请重新提交。", 403);
      return;
    }
    const std::string ip(request.remote_ip());
    auto confirmed =
        s_.context.second_factors->ConfirmTotp(owner->user->userid, Trim(request.ParamOr("code")),
                                              owner->session.id);
    if (!confirmed.ok()) {
      const Error& e = confirmed.error();
      if (e.code == errc::kPermissionDenied) {
        s_.audit.Record("mfa_failed", owner->user->userid, owner->user->loginname, "", ip,
                        "enrolment");
        ShowOwnFactors(request, response, "code", "验证码错误，请重新输入。", 401);
      } else if (e.code == auth_code::kEasyLoginThrottled) {
        SendMessage(response, 429, "请稍后再试",
                    Notice("error", std::to_string(e.code), e.message) + Nav(true));
      } else if (e.code == errc::kNotFound) {
        ShowOwnFactors(request, response, "state", "绑定已过期，请重新扫描二维码。", 409);
      } else {
        spdlog::error("TOTP not confirmed: {}", e.message);
        SendMessage(response, 503, "服务暂不可用", Notice("error", "9999", "请稍后再试。"));
      }
      return;
    }
    s_.audit.Record("mfa_enrolled", owner->user->userid, owner->user->loginname, "", ip,
                    "enrolled");
    SendMessage(response, 200, "保存恢复码", RecoveryCodesPage(*confirmed, PageUrl("?action=mfa")));
  }

  // ---- register / forgotPwd (citizen_pages.cc) ----

  void CitizenPage(std::string_view action, const http::Request& request,
                   http::Response& response) {
    PageKit kit;
    if (action == "realname") {
      // The user's own page: the session's user and CSRF token.
      auto owner = RequireLogin(request, response, "?action=realname");
      if (!owner) return;
      kit.userid = owner->user->userid;
      kit.csrf = owner->session.csrf;
      kit.csrf_ok = CsrfMatches(request, owner->session);
    }
    kit.send = [](http::Response& r, int status, std::string_view title, std::string_view body) {
      SendMessage(r, status, title, body);
    };
    if (!kit.userid.empty()) {
      // the session's token, set above
    } else if (auto cookie = request.Cookie(kCsrfCookie); cookie && IsHex(*cookie, 32)) {
      kit.csrf = std::string(*cookie);
      kit.csrf_ok = crypto::ConstantTimeEquals(*cookie, request.ParamOr("csrf"));
      response.SetCookie(kCsrfCookie, kit.csrf, CookieOpts());
    } else {
      kit.csrf = s_.context.random.Hex(16);
      response.SetCookie(kCsrfCookie, kit.csrf, CookieOpts());
    }
    kit.form_action = request.path();
    kit.login_url = PageUrl("?action=ssoLogin");
    kit.end_sessions = [this, ip = std::string(request.remote_ip())](const std::string& userid) {
      auto ended = s_.logout.EndUser(userid, "password_recovered", ip);
      if (!ended.ok()) spdlog::error("sessions not ended: {}", ended.error().message);
    };
    HandleCitizenPage(*s_.context.citizen, action, request, response, kit);
  }

  // ---- logout ----

  void Logout(const http::Request& request, http::Response& response) {
    std::vector<std::string> apps;
    if (auto session = Current(request)) {
      LogoutRequest end{session->id, session->userid, "", std::string(request.remote_ip()), "user"};
      auto done = s_.logout.Run(end);
      if (done.ok()) {
        apps = std::move(done->apps);
      } else {
        spdlog::error("logout failed: {}", done.error().message);
      }
    }
    http::CookieOptions gone = CookieOpts();
    gone.max_age = std::chrono::seconds(0);
    response.SetCookie(kSessionCookie, "", gone);

    std::string_view goto_url = Trim(request.ParamOr("goto"));
    if (goto_url.empty()) goto_url = Trim(request.ParamOr("redirectUrl"));
    if (!goto_url.empty()) {
      bool allowed = IsOwnUrl(request, goto_url);
      std::string_view servicecode = Trim(request.ParamOr("servicecode"));
      if (!servicecode.empty()) apps.emplace_back(servicecode);
      for (const std::string& code : apps) {
        if (allowed) break;
        auto app = s_.context.directory.CachedApp(code);
        allowed = app.ok() && OnAppOrigin(**app, goto_url);
      }
      if (allowed) {
        Redirect(response, goto_url);
        return;
      }
    }
    std::string body = Notice("ok", "0", "您已安全退出统一身份认证。");
    if (!goto_url.empty()) {
      body.append(Notice("error", "goto", "跳转地址未在任何应用登记，已停止跳转。"));
    }
    body.append(Nav(false));
    SendMessage(response, 200, "已退出", body);
  }

  // ---- launcher ----

  void RedirectToLogin(const http::Request& request, http::Response& response,
                       std::string_view back_query) {
    std::string back = Base(request);
    back.append(PageUrl(back_query));
    std::string url = PageUrl("?action=ssoLogin");
    Redirect(response, http::AppendQuery(url, "goto", back));
  }

  void Launcher(const http::Request& request, http::Response& response) {
    auto session = Current(request);
    std::shared_ptr<const directory::User> user;
    if (session) user = ActiveUser(request, *session);
    if (!user) {
      RedirectToLogin(request, response, "?action=index");
      return;
    }
    auto systems = s_.context.directory.UserSystems(user->userid);
    std::string body = FillTemplate(R"(<p>您好，<strong>{{name}}</strong>（{{login}}）</p>
)",
                                    {{"name", user->username}, {"login", user->loginname}});
    if (!systems.ok()) {
      body.append(Notice("error", "9999", "应用列表暂不可用，请稍后再试。"));
    } else if (systems->empty()) {
      body.append(R"(<p class="note">暂无可访问的应用。</p>
)");
    } else {
      body.append("<ul class=\"apps\">\n");
      for (const directory::App& app : *systems) {
        if (app.servicecode == directory::kPlatformApp) continue;
        std::string href = PageUrl("?action=zfRedirect&servicecode=");
        href.append(http::UrlEncode(app.servicecode));
        body.append(FillTemplate(
            R"(<li><a href="{{href}}">{{name}}</a></li>
)",
            {{"href", href}, {"name", app.name.empty() ? app.servicecode : app.name}}));
      }
      body.append("</ul>\n");
    }
    body.append(Nav(true));
    SendMessage(response, 200, "我的应用", body);
  }

  // ---- personal centre ----

  // The session and user of a personal-centre page, or nullopt after
  // sending the browser to log in first.
  struct Owner {
    Session session;
    std::shared_ptr<const directory::User> user;
  };

  std::optional<Owner> RequireLogin(const http::Request& request, http::Response& response,
                                    std::string_view back_query) {
    auto session = Current(request);
    if (session) {
      if (auto user = ActiveUser(request, *session)) return Owner{std::move(*session), user};
    }
    RedirectToLogin(request, response, back_query);
    return std::nullopt;
  }

  bool CsrfMatches(const http::Request& request, const Session& session) const {
    std::string_view csrf = request.ParamOr("csrf");
    return !csrf.empty() && crypto::ConstantTimeEquals(csrf, session.csrf);
  }

  void ShowPassword(const http::Request& request, http::Response& response, std::string_view code,
                    std::string_view message, int status = 200) {
    auto owner = RequireLogin(request, response, "?action=editPwd");
    if (!owner) return;
    std::string notice = message.empty() ? std::string() : Notice("error", code, message);
    SendMessage(response, status, "修改密码",
                FillTemplate(kPasswordForm, {{"notice", notice},
                                             {"form_action", PagePath()},
                                             {"csrf", owner->session.csrf},
                                             {"nav", Nav(true)}}));
  }

  void SubmitPassword(const http::Request& request, http::Response& response) {
    auto owner = RequireLogin(request, response, "?action=editPwd");
    if (!owner) return;
    if (!CsrfMatches(request, owner->session)) {
      ShowPassword(request, response, "csrf", "页面已过期或来源无法确认，请重新提交。", 403);
      return;
    }
    std::string_view old_plain = request.ParamOr("oldpassword");
    std::string_view new_plain = request.ParamOr("newpassword");
    if (old_plain.empty() || new_plain.empty()) {
      ShowPassword(request, response, "empty", "请填写原密码和新密码。", 400);
      return;
    }
    if (new_plain != request.ParamOr("confirmpassword")) {
      ShowPassword(request, response, "confirm", "两次输入的新密码不一致。", 400);
      return;
    }
    Status changed =
        ChangeOwnPassword(s_, *owner->user, old_plain, new_plain, request.remote_ip(), "",
                          owner->session.id);
    if (!changed.ok()) {
      const Error& e = changed.error();
      int status = e.code == auth_code::kEasyLoginThrottled ? 429
                   : e.code == errc::kInvalidArgument       ? 400
                   : e.code < 1000                          ? 503
                                                            : 403;
      ShowPassword(
          request, response,
          e.code == errc::kInvalidArgument ? std::string("policy") : std::to_string(e.code),
          e.code < 1000 && e.code != errc::kInvalidArgument ? "服务暂不可用，请稍后再试"
                                                            : std::string_view(e.message),
          status);
      return;
    }
    SendMessage(response, 200, "修改密码",
                Notice("ok", "0", "密码已修改，下次登录请使用新密码。") + Nav(true));
  }

  void ShowUser(const http::Request& request, http::Response& response,
                const directory::Fields& entered, std::string_view code, std::string_view message,
                int status = 200, bool saved = false) {
    auto owner = RequireLogin(request, response, "?action=editUser");
    if (!owner) return;
    const codec::Value current = directory::UserToValue(*owner->user);
    std::string body;
    if (!message.empty()) body = Notice(saved ? "ok" : "error", code, message);
    body.append(FillTemplate(R"(<p class="note">姓名：{{name}}　用户名：{{login}}</p>
<p class="note">手机号码：<span id="mobile">{{mobile}}</span>（更换须验证新号码，请到政务服务窗口办理）</p>
<form method="post" action="{{form_action}}">
<input type="hidden" name="action" value="editUser">
<input type="hidden" name="csrf" value="{{csrf}}">
)",
                             {{"name", owner->user->username},
                              {"login", owner->user->loginname},
                              {"mobile", owner->user->mobile.empty()
                                             ? std::string("未登记")
                                             : MaskMobile(owner->user->mobile)},
                              {"form_action", PagePath()},
                              {"csrf", owner->session.csrf}}));
    for (const EditableField& f : kEditUserFields) {
      std::string value;
      if (auto it = entered.find(f.name); it != entered.end()) {
        value = it->second;
      } else if (const codec::Value* v = current.Find(f.name)) {
        value = v->ToText();
      }
      body.append(
          FillTemplate(R"(<label for="{{name}}">{{label}}</label>
<input id="{{name}}" name="{{name}}" type="{{type}}" value="{{value}}">
)",
                       {{"name", f.name}, {"label", f.label}, {"type", f.type}, {"value", value}}));
    }
    body.append("<button type=\"submit\">保存</button>\n</form>\n");
    body.append(Nav(true));
    SendMessage(response, status, "个人信息", body);
  }

  void SubmitUser(const http::Request& request, http::Response& response) {
    auto owner = RequireLogin(request, response, "?action=editUser");
    if (!owner) return;
    directory::Fields changes;
    for (const EditableField& f : kEditUserFields) {
      if (auto v = request.Param(f.name)) changes[std::string(f.name)] = std::string(Trim(*v));
    }
    if (!CsrfMatches(request, owner->session)) {
      ShowUser(request, response, changes, "csrf", "页面已过期或来源无法确认，请重新提交。", 403);
      return;
    }
    if (auto mobile = request.Param("mobile"); mobile && Trim(*mobile) != owner->user->mobile) {
      ShowUser(request, response, changes, "mobile", kMobileNotSelfEditable, 403);
      return;
    }
    auto updated = UpdateOwnInfo(s_, *owner->user, changes, request.remote_ip(), "");
    if (!updated.ok()) {
      const Error& e = updated.error();
      ShowUser(
          request, response, changes,
          e.code == errc::kInvalidArgument    ? std::string("invalid")
          : e.code == errc::kPermissionDenied ? std::string("field")
                                              : std::to_string(e.code),
          e.code < 1000 && e.code != errc::kInvalidArgument && e.code != errc::kPermissionDenied
              ? "服务暂不可用，请稍后再试"
              : std::string_view(e.message),
          e.code == errc::kInvalidArgument    ? 400
          : e.code == errc::kPermissionDenied ? 403
                                              : 503);
      return;
    }
    ShowUser(request, response, {}, "0", "个人信息已保存。", 200, /*saved=*/true);
  }

  AuthServices& s_;
  const SsoSettings& settings_;
};

}  // namespace

void RegisterLoginPages(http::Router& router, AuthServices& s) {
  auto pages = std::make_shared<LoginPages>(s);
  // A POST is a form: a password login, a password or profile change, each
  // a password hash or a directory write; logout writes a message to every
  // app's outbox. These run on the blocking pool. The other GETs (the pages,
  // zfRedirect's ticket) stay on the I/O thread, unless they wait on Redis.
  // With the tickets in Redis, a page for a browser with a session waits on
  // the network (resume, issue a ticket): the blocking pool too, so that a
  // slow Redis stalls no other request of the I/O thread. realname reads the
  // user's self-service record (SQL) even on GET.
  const bool remote = s.context.tickets.Remote();
  http::Handler handler = [pages, remote](const http::Request& request, http::Response& response) {
    if (request.method() == "POST" || request.ParamOr("action") == "logout" ||
        request.ParamOr("action") == "realname" ||
        (remote && request.Cookie(kSessionCookie).has_value())) {
      response.Defer([pages, &request](http::Response& r) { pages->Handle(request, r); });
      return;
    }
    pages->Handle(request, response);
  };
  const std::string base = s.context.settings.context_path;
  for (const char* method : {"GET", "POST"}) {
    router.Add(method, base + "/usp.do", handler);
    router.Add(method, base + "/mobile.do", handler);
  }
}

}  // namespace tongban::sso
