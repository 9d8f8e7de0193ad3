// `{context_path}/js.do?servicecode=X`: the JS SDK of spec §2.4. The script
// defines YH.method.autoLogin(), which asks js.do (JSONP, so it carries the
// TBSSO cookie) for a ticket for app X and hands it to
// YH.callback.loginAppForJs(ticket), or reports YH.callback.showErrcode(msg,
// code). A ticket is given only to pages of the app's own registered origins.
#include <string>
#include <string_view>

#include "codec/render.h"
#include "codec/value.h"
#include "sso/auth_internal.h"
#include "sso/citizen.h"
#include "sso/off_io.h"
#include "sso/reply.h"

namespace tongban::sso {
namespace {

namespace ac = auth_code;

constexpr std::string_view kScript = R"JS(/* tongban 统一身份认证 JS SDK */
(function (w, d) {
  "use strict";
  var YH = w.YH = w.YH || {};
  YH.method = YH.method || {};
  YH.callback = YH.callback || {};
  var endpoint = "@ENDPOINT@";
  var servicecode = "@SERVICECODE@";
  var loginUrl = "@LOGIN@";
  var seq = 0;
  function fail(msg, code) {
    if (typeof YH.callback.showErrcode === "function") YH.callback.showErrcode(msg, code);
  }
  YH.method.autoLogin = function () {
    var name = "__tongbanTicket" + (++seq) + "_" + new Date().getTime();
    var script = d.createElement("script");
    function done() {
      try { delete w[name]; } catch (e) { w[name] = undefined; }
      if (script.parentNode) script.parentNode.removeChild(script);
    }
    w[name] = function (r) {
      done();
      if (r && r.result === "0" && r.ticket) {
        if (typeof YH.callback.loginAppForJs === "function") YH.callback.loginAppForJs(r.ticket);
      } else {
        fail(r ? r.errmsg : "", r ? r.result : "");
      }
    };
    script.onerror = function () { done(); fail("无法连接统一身份认证平台", "7099"); };
    script.src = endpoint + "?action=ticket&servicecode=" + encodeURIComponent(servicecode) +
        "&callback=" + name + "&_=" + new Date().getTime();
    (d.head || d.documentElement).appendChild(script);
  };
  YH.method.login = function (gotoUrl) {
    w.location.href = loginUrl + "&servicecode=" + encodeURIComponent(servicecode) +
        (gotoUrl ? "&goto=" + encodeURIComponent(gotoUrl) : "");
  };
})(window, document);
)JS";

bool IsPlainCode(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
          c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

// A JavaScript identifier path such as "cb" or "a.b_1": nothing that could
// break out of the call it names.
bool IsCallbackName(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  auto start = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '$';
  };
  if (!start(s.front())) return false;
  for (char c : s) {
    if (!(start(c) || (c >= '0' && c <= '9') || c == '.')) return false;
  }
  return true;
}

// A Host header value we may put in a script: host[:port] characters only.
bool IsHostValue(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
          c == '.' || c == ':' || c == '[' || c == ']')) {
      return false;
    }
  }
  return true;
}

void Replace(std::string& text, std::string_view mark, std::string_view value) {
  size_t at = text.find(mark);
  if (at != std::string::npos) text.replace(at, mark.size(), value);
}

class JsApi {
 public:
  explicit JsApi(AuthServices& s) : s_(s), settings_(s.context.settings) {}

  void Handle(const http::Request& request, http::Response& response) {
    if (request.ParamOr("action") == "ticket") {
      Ticket(request, response);
    } else {
      Script(request, response);
    }
  }

 private:
  std::string Base(const http::Request& request) const {
    if (!settings_.public_url.empty()) return settings_.public_url;
    std::string_view host = request.Header("Host").value_or("");
    std::string base("//");
    base.append(IsHostValue(host) ? host : "localhost");
    return base;
  }

  void Script(const http::Request& request, http::Response& response) {
    std::string_view servicecode = request.ParamOr("servicecode");
    std::string base = Base(request);
    std::string endpoint = base;
    endpoint.append(settings_.context_path).append("/js.do");
    std::string login = base;
    login.append(settings_.context_path).append("/usp.do?action=ssoLogin");
    std::string script(kScript);
    Replace(script, "@ENDPOINT@", endpoint);
    Replace(script, "@SERVICECODE@", IsPlainCode(servicecode, 64) ? servicecode : "");
    Replace(script, "@LOGIN@", login);
    response.set_status(200);
    response.set_content_type("application/javascript;charset=utf-8");
    response.AddHeader("Cache-Control", "no-cache");
    response.AddHeader("X-Content-Type-Options", "nosniff");
    response.set_body(std::move(script));
  }

  // The page asking: its Origin, else its Referer's origin.
  static std::string SourceOrigin(const http::Request& request) {
    if (auto origin = request.Header("Origin"); origin && *origin != "null") {
      return OriginOf(*origin);
    }
    if (auto referer = request.Header("Referer")) return OriginOf(*referer);
    return "";
  }

  codec::Value TicketReply(const http::Request& request) {
    std::string_view servicecode = request.ParamOr("servicecode");
    if (!IsPlainCode(servicecode, 64))
      return Reply(code::kUnknownServicecode, "servicecode 不存在");
    auto app = s_.context.directory.CachedApp(servicecode);
    if (!app.ok()) {
      if (app.error().code == errc::kNotFound || app.error().code >= 1000) {
        return Reply(code::kUnknownServicecode, "servicecode 不存在");
      }
      return ReplyFor(app.error(), ac::kJsOther);
    }
    if (!(*app)->enabled) return Reply(code::kAppDisabled, "接入资源已停用");
    const std::string source = SourceOrigin(request);
    if (source.empty() || !OnAppOrigin(**app, source)) {
      return Reply(ac::kJsSourceRefused, "请求来源不是该应用登记的地址");
    }
    auto cookie = request.Cookie(kSessionCookie);
    if (!cookie) return Reply(ac::kJsNotLoggedIn, "用户未登录");
    auto session = s_.sessions.Resume(*cookie);
    if (!session.ok()) {
      if (session.error().code == errc::kNotFound) return Reply(ac::kJsNotLoggedIn, "用户未登录");
      return ReplyFor(session.error(), ac::kJsOther);
    }
    auto user = s_.context.directory.CachedUser(session->userid);
    if (!user.ok() || !(*user)->active()) {
      return Reply(ac::kJsNotLoggedIn, "用户未登录");
    }
    // As the login page's Proceed: a real-name level below the app's is
    // refused, and a password-only session must step up first (7001 sends
    // the SDK's page to the login, whose Proceed asks for the second factor).
    if (std::string shortfall = AuthLevelShortfall(**user, **app); !shortfall.empty()) {
      return Reply(ac::kJsNotAuthorised, shortfall);
    }
    auto step_up = SecondFactorMissing(s_, session->factors, **user, **app);
    if (!step_up.ok()) return ReplyFor(step_up.error(), ac::kJsOther);
    if (*step_up) return Reply(ac::kJsNotLoggedIn, "该应用要求第二因素认证，请重新登录");
    auto may = MayOpen(s_, **user, **app);
    if (!may.ok()) return ReplyFor(may.error(), ac::kJsOther);
    if (!*may) return Reply(ac::kJsNotAuthorised, "用户无权访问该应用");
    auto st =
        s_.sessions.Issue(GrantKind::kTicket, (*app)->servicecode, session->userid, session->id);
    if (!st.ok()) return ReplyFor(st.error(), ac::kJsOther);
    return Success().Set("ticket", st->value);
  }

  void Ticket(const http::Request& request, http::Response& response) {
    std::string_view callback = request.ParamOr("callback");
    if (!IsCallbackName(callback)) {
      response.SetText(400, "callback must be a JavaScript identifier\n");
      return;
    }
    codec::Value reply = TicketReply(request);
    std::string body("/**/");
    body.append(callback).append("(");
    codec::AppendJson(reply, &body);
    body.append(");");
    response.set_status(200);
    response.set_content_type("application/javascript;charset=utf-8");
    response.AddHeader("Cache-Control", "no-store");
    response.AddHeader("X-Content-Type-Options", "nosniff");
    response.AddHeader("Referrer-Policy", "no-referrer");
    response.set_body(std::move(body));
  }

  AuthServices& s_;
  const SsoSettings& settings_;
};

}  // namespace

void RegisterJsApi(http::Router& router, AuthServices& s) {
  auto api = std::make_shared<JsApi>(s);
  // js.do reads the browser's session from the ticket store.
  router.Add("GET", s.context.settings.context_path + "/js.do",
             OffIoWhenRemote(s.context.tickets,
                             [api](const http::Request& request, http::Response& response) {
                               api->Handle(request, response);
                             }));
}

}  // namespace tongban::sso
