// The self-service pages of usp.do and mobile.do (the APP entry): register
// (also the spec's `mobileRegisterUser`) and forgotPwd (also `findPwd`).
// Server-rendered in the login pages' layout, usable without JavaScript and
// on a phone: a first form proves the mobile (a code is sent), the second
// carries the code with the rest. docs/api/citizen.md is the reference.
#include <spdlog/spdlog.h>

#include <string>
#include <string_view>

#include "directory/codes.h"
#include "sso/citizen.h"
#include "sso/html.h"

namespace tongban::sso {
namespace {

std::string Notice(std::string_view css_class, std::string_view code, std::string_view text) {
  return FillTemplate(R"(<p class="{{cls}}" role="alert" data-code="{{code}}">{{text}}</p>
)",
                      {{"cls", css_class}, {"code", code}, {"text", text}});
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

int StatusFor(const Error& e) {
  switch (e.code) {
    case code_error::kThrottled:
    case code_error::kLockedOut:
      return 429;
    case code_error::kRejected:
      return 401;
    case citizen_error::kMobileRegistered:
    case citizen_error::kIdVerifiedElsewhere:
    case directory::code::kUserLoginnameExists:
      return 409;
    case citizen_error::kInvalid:
    case directory::code::kUserBadLoginname:
    case errc::kInvalidArgument:
      return 400;
    default:
      return e.code < 1000 ? 503 : 400;
  }
}

// What the user reads: our own messages are written for them; an
// infrastructure error is not.
std::string MessageFor(const Error& e) {
  if (e.code < 1000 && e.code != errc::kInvalidArgument) return "服务暂不可用，请稍后再试";
  return e.message;
}

std::string ErrorNotice(const Error& e) {
  return Notice("error", std::to_string(e.code), MessageFor(e));
}

class Pages {
 public:
  Pages(CitizenAccounts& a, const http::Request& req, http::Response& res, const PageKit& kit)
      : accounts_(a), request_(req), response_(res), kit_(kit) {}

  void Register() {
    const std::string_view step = request_.ParamOr("step");
    if (request_.method() != "POST" || step.empty()) return RegisterStart(200, "");
    if (!kit_.csrf_ok) {
      return RegisterStart(403, Notice("error", "csrf", "页面已过期或来源无法确认，请重新提交。"));
    }
    if (step == "code") {
      Status sent = accounts_.SendRegistrationCode(Param("mobile"), request_.remote_ip());
      if (!sent.ok()) return RegisterStart(StatusFor(sent.error()), ErrorNotice(sent.error()));
      return RegisterDetails(
          200, Notice("ok", "sent", "验证码已发送至 " + MaskMobile(Param("mobile")) + "，请查收。"));
    }
    Registration r;
    r.kind = Param("kind") == "legal" ? AccountKind::kLegal : AccountKind::kPersonal;
    r.loginname = Param("loginname");
    r.password = std::string(request_.ParamOr("password"));
    r.username = Param("username");
    r.idtype = Param("idtype").empty() ? "1" : Param("idtype");
    r.idnum = Param("idnum");
    r.mobile = Param("mobile");
    r.code = Param("code");
    r.company_name = Param("company_name");
    r.uscc = Param("uscc");
    r.legal_rep = Param("legal_rep");
    r.ip = std::string(request_.remote_ip());
    if (r.password != request_.ParamOr("confirmpassword")) {
      return RegisterDetails(400, Notice("error", "confirm", "两次输入的密码不一致。"));
    }
    auto registered = accounts_.Register(r);
    if (!registered.ok()) {
      return RegisterDetails(StatusFor(registered.error()), ErrorNotice(registered.error()));
    }
    std::string body = Notice("ok", "0", "注册成功，手机号码已验证。");
    body.append(FillTemplate(
        R"(<p>用户名：<strong data-loginname="{{login}}">{{login}}</strong></p>
<p class="note">当前实名等级：1 级（未实名）。部分事项要求实名认证，请携带证件到政务服务窗口核验。</p>
)",
        {{"login", registered->user.loginname}}));
    if (registered->flagged) {
      body.append(Notice("note", "flagged",
                         "您填写的证件信息与已有账号重复，账号已标记为待窗口核验。"));
    }
    body.append(FillTemplate(R"(<nav><a href="{{login}}">去登录</a></nav>
)",
                             {{"login", kit_.login_url}}));
    kit_.send(response_, 200, "注册成功", body);
  }

  // A logged-in user's own online check: the verifier compares the name and
  // ID on the account with the authority's records; a match is level 2.
  void RealName() {
    auto account = accounts_.Get(kit_.userid);
    if (!account.ok()) {
      const bool staff = account.error().code == citizen_error::kNotCitizen;
      return kit_.send(response_, staff ? 403 : 503, "实名认证",
                       Notice("error", staff ? "staff" : "9999",
                              staff ? "工作人员账号的实名信息由管理员维护。"
                                    : "服务暂不可用，请稍后再试") +
                           Nav());
    }
    std::string notice;
    int status = 200;
    if (request_.method() == "POST") {
      if (!kit_.csrf_ok) {
        notice = Notice("error", "csrf", "页面已过期或来源无法确认，请重新提交。");
        status = 403;
      } else if (!accounts_.has_verifier()) {
        notice = Notice("error", "noverifier", "暂不支持在线实名认证，请到政务服务窗口办理。");
        status = 503;
      } else {
        auto after = accounts_.VerifyOnline(kit_.userid, "self");
        if (!after.ok()) {
          status = after.error().code == errc::kPermissionDenied ? 403 : StatusFor(after.error());
          notice = Notice("error", std::to_string(after.error().code),
                          after.error().code == errc::kPermissionDenied
                              ? after.error().message
                              : MessageFor(after.error()));
        } else if (after->level > account->level) {
          notice = Notice("ok", "0", "实名认证通过，实名等级已提升为 2 级。");
          account = std::move(after);
        } else if (after->level >= kLevelRealName) {
          notice = Notice("ok", "0", "您的账号已完成实名认证。");
        } else {
          notice = Notice("error", "mismatch",
                          "姓名与证件号码核验不一致，请携带身份证件到政务服务窗口办理。");
          status = 409;
        }
      }
    }
    std::string body = notice;
    body.append(FillTemplate(R"(<p>当前实名等级：<strong data-level="{{level}}">{{level}} 级</strong></p>
)",
                             {{"level", std::to_string(account->level)}}));
    if (account->level < kLevelRealName && accounts_.has_verifier()) {
      body.append(FillTemplate(R"(<form method="post" action="{{form}}">
<input type="hidden" name="action" value="realname">
<input type="hidden" name="csrf" value="{{csrf}}">
<p class="note">将以您注册时填写的姓名和身份证号码向公安人口信息核验，通过后实名等级提升为 2 级。</p>
<button type="submit">在线实名认证</button>
</form>
)",
                               {{"form", kit_.form_action}, {"csrf", kit_.csrf}}));
    } else if (account->level < kLevelRealName) {
      body.append(R"(<p class="note">请携带身份证件到政务服务窗口办理实名核验。</p>
)");
    }
    body.append(Nav());
    kit_.send(response_, status, "实名认证", body);
  }

  void Recover() {
    const std::string_view step = request_.ParamOr("step");
    if (request_.method() != "POST" || step.empty()) return RecoverStart(200, "");
    if (!kit_.csrf_ok) {
      return RecoverStart(403, Notice("error", "csrf", "页面已过期或来源无法确认，请重新提交。"));
    }
    if (step == "code") {
      Status sent = accounts_.SendRecoveryCode(Param("mobile"), request_.remote_ip());
      if (!sent.ok()) return RecoverStart(StatusFor(sent.error()), ErrorNotice(sent.error()));
      // The same words whether or not the number has an account.
      return RecoverReset(200, Notice("ok", "sent",
                                      "如该号码已注册账号，验证码已发送至 " +
                                          MaskMobile(Param("mobile")) + "，请查收。"));
    }
    const std::string password(request_.ParamOr("newpassword"));
    if (password != request_.ParamOr("confirmpassword")) {
      return RecoverReset(400, Notice("error", "confirm", "两次输入的新密码不一致。"));
    }
    auto done = accounts_.Recover(Param("mobile"), Param("code"), password, request_.remote_ip());
    if (!done.ok()) return RecoverReset(StatusFor(done.error()), ErrorNotice(done.error()));
    if (kit_.end_sessions) kit_.end_sessions(*done);
    kit_.send(response_, 200, "密码已重置",
              Notice("ok", "0", "密码已重置，请使用新密码登录。") +
                  FillTemplate(R"(<nav><a href="{{login}}">去登录</a></nav>
)",
                               {{"login", kit_.login_url}}));
  }

 private:
  std::string Param(std::string_view name) const {
    return std::string(Trim(request_.ParamOr(name)));
  }

  std::string Hidden(std::string_view action, std::string_view step) const {
    return FillTemplate(R"(<input type="hidden" name="action" value="{{action}}">
<input type="hidden" name="step" value="{{step}}">
<input type="hidden" name="csrf" value="{{csrf}}">
)",
                        {{"action", action}, {"step", step}, {"csrf", kit_.csrf}});
  }

  std::string Field(std::string_view name, std::string_view label, std::string_view type,
                    std::string_view extra = "") const {
    std::string value = type == "password" ? std::string() : Param(name);
    return FillTemplate(R"(<label for="{{name}}">{{label}}</label>
<input id="{{name}}" name="{{name}}" type="{{type}}" value="{{value}}" {{{extra}}}>
)",
                        {{"name", name},
                         {"label", label},
                         {"type", type},
                         {"value", value},
                         {"extra", extra}});
  }

  std::string Nav() const {
    return FillTemplate(R"(<nav><a href="{{login}}">返回登录</a></nav>
)",
                        {{"login", kit_.login_url}});
  }

  void RegisterStart(int status, const std::string& notice) {
    const bool legal = Param("kind") == "legal";
    std::string body = notice;
    body.append(FillTemplate(R"(<form method="post" action="{{form}}">
)",
                             {{"form", kit_.form_action}}));
    body.append(Hidden("register", "code"));
    body.append(FillTemplate(
        R"(<fieldset style="border:0;padding:0;margin:0"><legend>账号类型</legend>
<label><input type="radio" name="kind" value="personal" style="width:auto" {{{p}}}> 个人</label>
<label><input type="radio" name="kind" value="legal" style="width:auto" {{{l}}}> 法人（企业、单位经办人）</label>
</fieldset>
)",
        {{"p", legal ? "" : "checked"}, {"l", legal ? "checked" : ""}}));
    body.append(Field("mobile", "手机号码", "tel",
                      R"(inputmode="numeric" autocomplete="tel" maxlength="11" required)"));
    body.append("<button type=\"submit\">获取验证码</button>\n</form>\n");
    body.append(Nav());
    kit_.send(response_, status, "用户注册", body);
  }

  void RegisterDetails(int status, const std::string& notice) {
    const bool legal = Param("kind") == "legal";
    std::string body = notice;
    body.append(FillTemplate(R"(<form method="post" action="{{form}}">
<input type="hidden" name="kind" value="{{kind}}">
<input type="hidden" name="idtype" value="1">
)",
                             {{"form", kit_.form_action}, {"kind", legal ? "legal" : "personal"}}));
    body.append(Hidden("register", "submit"));
    body.append(Field("mobile", "手机号码", "tel", R"(readonly required)"));
    body.append(Field("code", "短信验证码", "text",
                      R"(inputmode="numeric" autocomplete="one-time-code" maxlength="9" required)"));
    if (legal) {
      body.append(Field("company_name", "企业（单位）名称", "text", "required"));
      body.append(Field("uscc", "统一社会信用代码", "text",
                        R"(maxlength="18" autocapitalize="characters" required)"));
      body.append(Field("legal_rep", "法定代表人", "text", "required"));
      body.append(Field("username", "经办人姓名", "text", R"(autocomplete="name" required)"));
      body.append(Field("idnum", "经办人身份证号码", "text", R"(maxlength="18" required)"));
    } else {
      body.append(Field("username", "姓名", "text", R"(autocomplete="name" required)"));
      body.append(Field("idnum", "身份证号码", "text", R"(maxlength="18" required)"));
    }
    body.append(Field("loginname", "用户名", "text",
                      R"(autocomplete="username" autocapitalize="off" spellcheck="false" required)"));
    body.append(Field("password", "密码", "password",
                      R"(autocomplete="new-password" minlength="8" required)"));
    body.append(Field("confirmpassword", "确认密码", "password",
                      R"(autocomplete="new-password" minlength="8" required)"));
    body.append(R"(<p class="note">用户名 2-50 位字母、数字或 _ . - @；密码至少 8 位，包含字母、数字、符号中的至少两类。</p>
<button type="submit">注册</button>
</form>
)");
    body.append(Nav());
    kit_.send(response_, status, "用户注册", body);
  }

  void RecoverStart(int status, const std::string& notice) {
    std::string body = notice;
    body.append(FillTemplate(R"(<form method="post" action="{{form}}">
)",
                             {{"form", kit_.form_action}}));
    body.append(Hidden("forgotPwd", "code"));
    body.append(Field("mobile", "注册时验证的手机号码", "tel",
                      R"(inputmode="numeric" autocomplete="tel" maxlength="11" required)"));
    body.append("<button type=\"submit\">获取验证码</button>\n</form>\n");
    body.append(R"(<p class="note">机关工作人员账号请联系本单位管理员重置密码。</p>
)");
    body.append(Nav());
    kit_.send(response_, status, "找回密码", body);
  }

  void RecoverReset(int status, const std::string& notice) {
    std::string body = notice;
    body.append(FillTemplate(R"(<form method="post" action="{{form}}">
)",
                             {{"form", kit_.form_action}}));
    body.append(Hidden("forgotPwd", "reset"));
    body.append(Field("mobile", "手机号码", "tel", R"(readonly required)"));
    body.append(Field("code", "短信验证码", "text",
                      R"(inputmode="numeric" autocomplete="one-time-code" maxlength="9" required)"));
    body.append(Field("newpassword", "新密码", "password",
                      R"(autocomplete="new-password" minlength="8" required)"));
    body.append(Field("confirmpassword", "确认新密码", "password",
                      R"(autocomplete="new-password" minlength="8" required)"));
    body.append("<button type=\"submit\">重置密码</button>\n</form>\n");
    body.append(Nav());
    kit_.send(response_, status, "找回密码", body);
  }

  CitizenAccounts& accounts_;
  const http::Request& request_;
  http::Response& response_;
  const PageKit& kit_;
};

}  // namespace

bool IsCitizenAction(std::string_view action) {
  return action == "register" || action == "mobileRegisterUser" || action == "forgotPwd" ||
         action == "findPwd" || action == "realname";
}

void HandleCitizenPage(CitizenAccounts& accounts, std::string_view action,
                       const http::Request& request, http::Response& response,
                       const PageKit& kit) {
  Pages pages(accounts, request, response, kit);
  if (action == "register" || action == "mobileRegisterUser") {
    pages.Register();
  } else if (action == "realname") {
    pages.RealName();
  } else {
    pages.Recover();
  }
}

}  // namespace tongban::sso
