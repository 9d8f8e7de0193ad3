#include <spdlog/spdlog.h>

#include "directory/codes.h"
#include "directory/wire.h"
#include "http/url.h"
#include "sso/auth_internal.h"
#include "sso/citizen.h"
#include "sso/reply.h"
#include "sso/second_factors.h"

namespace tongban::sso {
namespace {

namespace dcode = directory::code;

ThrottleOptions ThrottleOf(const SsoSettings& s) {
  ThrottleOptions t;
  t.account_failures = s.login_account_failures;
  t.ip_failures = s.login_ip_failures;
  t.app_failures = s.login_app_failures;
  t.delay_after = s.login_delay_after;
  t.max_delay = s.login_max_delay;
  t.window = s.login_failure_window;
  t.lockout = s.login_lockout;
  return t;
}

// The directory's login codes with the text apps and users read.
std::string_view LoginMessage(int code) {
  switch (code) {
    case dcode::kLoginNoUser:
      return "用户不存在";
    case dcode::kLoginWrongPassword:
      return "密码错误";
    case dcode::kLoginBadOrgcoding:
      return "orgcoding 错误";
    case dcode::kLoginEncryptionUnusable:
      return "该用户不支持此加密方式登录";
    case dcode::kLoginAmbiguous:
      return "匹配到多个同名用户，请提供 orgcoding";
    case dcode::kLoginLocked:
      return "账号已被管理员锁定";
    case dcode::kLoginDisabled:
      return "账号已停用";
    default:
      return "";
  }
}

// The browser's IP when there is one; else the app relaying the password.
LoginSource SourceOf(std::string_view ip, std::string_view servicecode) {
  return ip.empty() ? LoginSource::App(servicecode) : LoginSource::Ip(ip);
}

std::string_view ScopeName(LockoutScope scope) {
  switch (scope) {
    case LockoutScope::kAccountFromSource:
      return "by=account_source";
    case LockoutScope::kSource:
      return "by=source";
    case LockoutScope::kAccountDelay:
      break;
  }
  return "by=account_delay";
}

std::string Detail(std::string_view channel, int code) {
  std::string d("channel=");
  d.append(channel).append(" code=").append(std::to_string(code));
  return d;
}

}  // namespace

AuthServices::AuthServices(SsoContext& c)
    : context(c),
      audit(c.sql, c.clock, c.audit_health, c.settings.audit_required),
      sessions(c.tickets, c.clock, c.random, LifetimesOf(c.settings)),
      throttle(c.tickets, c.clock, c.random, ThrottleOf(c.settings)),
      logout(c, sessions, audit) {}

Result<std::shared_ptr<const directory::User>> LoginWithPassword(AuthServices& s,
                                                                 const PasswordLogin& login) {
  const std::string& account = login.attempt.loginname;
  const LoginSource source = SourceOf(login.ip, login.servicecode);
  auto lockout = s.throttle.Check(account, source);
  if (!lockout.ok()) return std::move(lockout).error();
  if (lockout->has_value()) {
    // The first refusal under a lockout is recorded; the rest add nothing the
    // lockout row and that one do not already say.
    auto first = s.throttle.FirstRefusal(account, source, **lockout);
    if (!first.ok() || *first) {
      s.audit.Record("login_refused", "", account, login.servicecode, login.ip,
                     Detail(login.channel, auth_code::kEasyLoginThrottled) +
                         " (later refusals under this lockout are not recorded)");
    }
    return Error{auth_code::kEasyLoginThrottled, (*lockout)->Message()};
  }
  auto user = s.context.directory.VerifyLogin(login.attempt);
  if (!user.ok()) {
    const int code = user.error().code;
    if (code < 1000) return std::move(user).error();  // infrastructure
    std::string message(LoginMessage(code));
    if (message.empty()) message = user.error().message;
    if (code == dcode::kLoginNoUser || code == dcode::kLoginWrongPassword) {
      s.audit.Record("login_failed", "", account, login.servicecode, login.ip,
                     Detail(login.channel, code));
      auto started = s.throttle.RecordFailure(account, source);
      if (!started.ok()) {
        spdlog::error("login throttle not updated: {}", started.error().message);
      } else if (started->has_value()) {
        s.audit.Record("lockout", "", account, login.servicecode, login.ip,
                       ScopeName((*started)->scope));
        message.append("；").append((*started)->Message());
      }
    } else {
      s.audit.Record("login_refused", "", account, login.servicecode, login.ip,
                     Detail(login.channel, code));
    }
    return Error{code, std::move(message)};
  }
  if (Status forgot = s.throttle.RecordSuccess(account, source); !forgot.ok()) {
    spdlog::error("login throttle not reset: {}", forgot.error().message);
  }
  // With audit.required a login nobody could trace afterwards does not
  // happen: the caller answers it as the infrastructure failure it is.
  TB_RETURN_IF_ERROR(s.audit.RecordRequired("login", (*user)->userid, (*user)->loginname,
                                            login.servicecode, login.ip, Detail(login.channel, 0)));
  return user;
}

Result<bool> MayOpen(AuthServices& s, const directory::User& user, const directory::App& app) {
  if (!AuthLevelShortfall(user, app).empty()) return false;
  if (app.open_to_all) return true;
  auto roles = s.context.directory.UserRoles(user.userid, app.servicecode);
  if (!roles.ok()) return std::move(roles).error();
  return !roles->empty();
}

Result<bool> SecondFactorMissing(AuthServices& s, std::string_view factors,
                                 const directory::User& user, const directory::App& app) {
  if (s.context.second_factors == nullptr) return false;
  Session login;
  login.factors = std::string(factors);
  if (login.HasSecondFactor()) return false;
  return s.context.second_factors->Required(s.context.directory, user.userid, app.servicecode);
}

codec::Value GrantFailure(const Error& error, const auth_code::GrantCodes& codes,
                          std::string_view name) {
  std::string text(name);
  text.push_back(' ');
  switch (error.code) {
    case errc::kInvalidArgument:
      return Reply(codes.bad_format, text.append("格式错误"));
    case errc::kNotFound:
      return Reply(codes.not_found, text.append(error.message));
    case errc::kPermissionDenied:
      return Reply(codes.other_app, text.append("不属于本接入资源"));
    case errc::kExpired:
      return Reply(codes.expired, text.append("已过期"));
    default:
      return ReplyFor(error, codes.other);
  }
}

std::string PasswordPolicyProblem(std::string_view password, std::string_view loginname) {
  if (password.size() < 8) return "新密码至少 8 位";
  if (password.size() > 64) return "新密码最多 64 位";
  bool lower = false, upper = false, digit = false, other = false;
  for (unsigned char c : password) {
    if (c < 0x20 || c == 0x7F) return "新密码不能含控制字符";
    if (c >= 'a' && c <= 'z') {
      lower = true;
    } else if (c >= 'A' && c <= 'Z') {
      upper = true;
    } else if (c >= '0' && c <= '9') {
      digit = true;
    } else {
      other = true;
    }
  }
  if (int(lower) + int(upper) + int(digit) + int(other) < 2) {
    return "新密码须包含字母、数字、符号中的至少两类";
  }
  if (password == loginname) return "新密码不能与用户名相同";
  return "";
}

Status ChangeOwnPassword(AuthServices& s, const directory::User& user, std::string_view old_plain,
                         std::string_view new_plain, std::string_view ip,
                         std::string_view servicecode, std::string_view current_session) {
  const LoginSource source = SourceOf(ip, servicecode);
  auto lockout = s.throttle.Check(user.loginname, source);
  if (!lockout.ok()) return std::move(lockout).error();
  if (lockout->has_value()) return Error{auth_code::kEasyLoginThrottled, (*lockout)->Message()};
  Status checked = s.context.directory.CheckPassword(user.userid, old_plain);
  if (!checked.ok()) {
    const int code = checked.error().code;
    if (code != dcode::kLoginWrongPassword && code != dcode::kLoginNoUser) return checked;
    s.audit.Record("password_change_failed", user.userid, user.loginname, servicecode, ip,
                   "wrong old password");
    std::string message("原密码错误");
    auto started = s.throttle.RecordFailure(user.loginname, source);
    if (started.ok() && started->has_value()) {
      message.append("；").append((*started)->Message());
    }
    return Error{dcode::kLoginWrongPassword, std::move(message)};
  }
  std::string problem = PasswordPolicyProblem(new_plain, user.loginname);
  if (!problem.empty()) return Error::InvalidArgument(std::move(problem));
  TB_RETURN_IF_ERROR(s.context.directory.SetPassword(user.userid, new_plain));
  if (Status forgot = s.throttle.RecordSuccess(user.loginname, source); !forgot.ok()) {
    spdlog::error("login throttle not reset: {}", forgot.error().message);
  }
  s.audit.Record("password_changed", user.userid, user.loginname, servicecode, ip, "");
  // The password is changed either way: a failure to end the other sessions
  // is logged (and the next lock or password change ends them).
  auto ended = s.logout.EndUser(user.userid, "password_changed",
                                servicecode.empty() ? std::string_view("user") : servicecode,
                                false, current_session);
  if (!ended.ok()) spdlog::error("other sessions not ended: {}", ended.error().message);
  return Status::Ok();
}

bool SelfEditable(std::string_view field) {
  static constexpr std::string_view kFields[] = {
      "email",     "mobile2",   "telephone",   "telephone2",    "postcode",
      "country",   "province",  "city",        "officeaddress", "officephone",
      "officefax", "homephone", "homeaddress", "headpicture"};
  for (std::string_view f : kFields) {
    if (f == field) return true;
  }
  return false;
}

Result<directory::User> UpdateOwnInfo(AuthServices& s, const directory::User& user,
                                      const directory::Fields& changes, std::string_view ip,
                                      std::string_view servicecode) {
  const codec::Value current = directory::UserToValue(user);
  directory::Fields save;
  save["userid"] = user.userid;
  std::string changed;
  for (const auto& [field, value] : changes) {
    if (field == "userid") {
      if (value != user.userid) return Error::PermissionDenied("不能修改其他用户的信息");
      continue;
    }
    const codec::Value* now = current.Find(field);
    if (now == nullptr) continue;  // not a user field: extras are ignored, as in synchronizeUser
    if (!SelfEditable(field)) {
      if (now->ToText() == value) continue;
      if (field == "mobile") return Error::PermissionDenied(std::string(kMobileNotSelfEditable));
      std::string message("字段 ");
      message.append(field).append(" 不可由用户本人修改");
      return Error::PermissionDenied(std::move(message));
    }
    if (now->ToText() == value) continue;
    save[field] = value;
    if (!changed.empty()) changed.push_back(',');
    changed.append(field);
  }
  if (save.size() == 1) return user;
  auto saved = s.context.directory.SaveUser(directory::Caller::Admin(), save,
                                            directory::SaveMode::kModifyOnly);
  if (!saved.ok()) {
    const Error& e = saved.error();
    if (e.code < 1000) return std::move(saved).error();
    std::string message(e.message);
    message.append(" (").append(std::to_string(e.code)).append(")");
    return Error::InvalidArgument(std::move(message));
  }
  std::string detail("fields=");
  detail.append(changed);
  s.audit.Record("user_info_changed", user.userid, user.loginname, servicecode, ip, detail);
  return std::move(saved->user);
}

std::string OriginOf(std::string_view url) {
  auto lower = [](std::string_view s) {
    std::string out(s);
    for (char& ch : out) {
      if (ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
    }
    return out;
  };
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return "";
  std::string scheme = lower(url.substr(0, scheme_end));
  if (scheme != "http" && scheme != "https") return "";
  std::string_view rest = url.substr(scheme_end + 3);
  std::string authority = lower(rest.substr(0, rest.find_first_of("/?#\\")));
  if (authority.empty() || authority.find('@') != std::string::npos) return "";
  for (char ch : authority) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                    ch == '-' || ch == ':' || ch == '[' || ch == ']';
    if (!ok) return "";
  }
  if (scheme == "http" && authority.ends_with(":80")) authority.resize(authority.size() - 3);
  if (scheme == "https" && authority.ends_with(":443")) authority.resize(authority.size() - 4);
  std::string origin = scheme;
  origin.append("://").append(authority);
  return origin;
}

bool OnAppOrigin(const directory::App& app, std::string_view url) {
  if (directory::CallbackAllowed(app, url)) return true;
  const std::string origin = OriginOf(url);
  if (origin.empty()) return false;
  // A bare-origin prefix ("http://127.0.0.1") admits any port of that host.
  std::string with_slash = origin;
  with_slash.push_back('/');
  if (directory::CallbackAllowed(app, with_slash)) return true;
  for (const std::string& callback : app.callback_urls) {
    if (OriginOf(callback) == origin) return true;
  }
  return false;
}

std::string LaunchUrl(const SsoSettings& settings, std::string_view servicecode) {
  std::string url(settings.public_url);
  url.append(settings.context_path)
      .append("/usp.do?action=zfRedirect&servicecode=")
      .append(http::UrlEncode(servicecode));
  return url;
}

}  // namespace tongban::sso
