// The steps easyAuth and commnetAuth share (declared in auth_internal.h).
#include <charconv>

#include "crypto/incoming_password.h"
#include "directory/codes.h"
#include "directory/wire.h"
#include "sso/auth_internal.h"
#include "sso/reply.h"
#include "sso/second_factors.h"

namespace tongban::sso {

namespace ac = auth_code;

Result<ApiLogin> IdValidation(AuthServices& s, const ApiCall& call, const LoginCodes& codes,
                              std::string_view channel, codec::Value* failure) {
  auto fail = [&](int code, std::string_view message) -> Error {
    *failure = Reply(code - codes.offset, message);
    return Error{code, std::string(message)};
  };
  std::string_view type_text = call.Param("encryptiontype");
  int type = 1;
  if (!type_text.empty()) {
    auto [end, ec] = std::from_chars(type_text.data(), type_text.data() + type_text.size(), type);
    if (ec != std::errc() || end != type_text.data() + type_text.size() || type < 1 || type > 5) {
      return fail(ac::kEasyLoginEncryptionType, "encryptiontype 只能是 1 至 5");
    }
  }
  // Type 3 makes the password's MD5 a credential: only apps that were
  // allowed to use it (md5_login) may.
  if (type == 3 && !call.app.md5_login) {
    return fail(ac::kEasyLoginEncryptionType, "该接入资源不能使用此 encryptiontype");
  }
  std::string_view loginname = call.Param("loginname");
  if (loginname.empty()) return fail(directory::code::kLoginNoUser, "loginname 不能为空");
  crypto::IncomingKeys keys;
  const std::string& key = call.app.password_key;
  if (key.size() == 16 || key.size() == 24 || key.size() == 32) keys.aes_key = key;
  if (key.size() >= 24) keys.des3_key = key;
  auto plain = crypto::DecodeIncomingPassword(type, call.Param("password"), keys);
  if (!plain.ok()) {
    if (plain.error().code == crypto::kUnsupportedEncryptionType) {
      return fail(ac::kEasyLoginEncryptionType, "该接入资源不能使用此 encryptiontype");
    }
    return fail(directory::code::kLoginWrongPassword, "password 无法按 encryptiontype 解码");
  }
  PasswordLogin login;
  login.attempt.loginname = std::string(loginname);
  login.attempt.orgcoding = std::string(call.Param("orgcoding"));
  login.attempt.password = std::move(*plain);
  login.attempt.md5 = type == 3;
  login.servicecode = call.app.servicecode;
  login.channel = std::string(channel);
  auto user = LoginWithPassword(s, login);
  if (!user.ok()) {
    const Error& e = user.error();
    if (e.code >= 6400 && e.code < 6500) return fail(e.code, e.message);
    *failure = ReplyFor(e, codes.other);
    return std::move(user).error();
  }
  auto may = MayOpen(s, **user, call.app);
  if (!may.ok()) {
    *failure = ReplyFor(may.error(), codes.other);
    return std::move(may).error();
  }
  if (!*may) return fail(ac::kEasyLoginNotAuthorised, "用户无权访问本接入资源");
  // A password relayed by an app carries no second factor: a user who must
  // give one (an administrator, an app requiring it, an enrolled user) logs
  // in through the login page instead.
  if (s.context.second_factors != nullptr) {
    auto need = s.context.second_factors->Required(s.context.directory, (*user)->userid,
                                                   call.app.servicecode);
    if (!need.ok()) {
      *failure = ReplyFor(need.error(), codes.other);
      return std::move(need).error();
    }
    if (*need) {
      s.audit.Record("mfa_required", (*user)->userid, (*user)->loginname, call.app.servicecode,
                     "", std::string(channel));
      *failure = Reply(codes.other, "该用户须使用双因素认证，请通过统一登录页面登录");
      return Error::PermissionDenied("second factor required");
    }
  }
  auto session = s.sessions.Create((*user)->userid, (*user)->loginname, SessionOrigin::kApi);
  if (!session.ok()) {
    *failure = ReplyFor(session.error(), codes.other);
    return std::move(session).error();
  }
  return ApiLogin{std::move(*user), std::move(*session)};
}

// The user a grant names, for the replies that carry user fields.
Result<std::shared_ptr<const directory::User>> GrantUser(AuthServices& s, const Grant& g) {
  auto user = s.context.directory.CachedUser(g.userid);
  if (!user.ok()) return user;
  if (!(*user)->active()) {
    return Error::PermissionDenied("用户已被锁定或停用");
  }
  return user;
}

std::optional<codec::Value> RefuseInactiveUser(AuthServices& s, const Grant& g, int code) {
  auto user = s.context.directory.CachedUser(g.userid);
  if (user.ok() && (*user)->active()) return std::nullopt;
  if (!user.ok() && user.error().code < 1000) return ReplyFor(user.error(), code);
  return Reply(code, "用户已被锁定、停用或删除");
}

std::optional<codec::Value> RefuseClosedApp(AuthServices& s, const Grant& g,
                                            const directory::App& app, int code,
                                            const Grant* revoke) {
  auto user = s.context.directory.CachedUser(g.userid);
  if (!user.ok()) return ReplyFor(user.error(), code);
  auto may = MayOpen(s, **user, app);
  if (!may.ok()) return ReplyFor(may.error(), code);
  if (*may) return std::nullopt;
  if (revoke != nullptr) {
    if (Status revoked = s.sessions.RevokeRefreshToken(*revoke); !revoked.ok()) {
      return ReplyFor(revoked.error(), code);
    }
  }
  return Reply(code, "用户已无权访问本接入资源");
}

void ExchangeGrantAsync(AuthServices& s, const ApiCall& call, GrantKind kind,
                        std::string_view param, GrantKind issue, ExchangeReply finish,
                        ReplyWith reply) {
  std::string_view mark_key = call.mark != nullptr ? std::string_view(call.mark->key) : "";
  auto mark_ttl = call.mark != nullptr ? call.mark->ttl : std::chrono::milliseconds(0);
  s.sessions.ExchangeAsync(
      kind, call.Param(param), call.app.servicecode, issue, mark_key, mark_ttl,
      [&s, finish = std::move(finish), reply = std::move(reply)](Result<Exchanged> done) mutable {
        reply([&s, finish = std::move(finish),
               done = std::move(done)](directory::Lookup lookup) -> std::optional<codec::Value> {
          // `finish` reads the grant's user (CachedUser): on the I/O thread
          // only from memory; a miss is answered on the pool, which loads it.
          if (done.ok() && lookup == directory::Lookup::kMemoryOnly) {
            auto user = s.context.directory.CachedUser(done->redeemed.userid, lookup);
            if (!user.ok() && user.error().code == directory::kNotCached) return std::nullopt;
          }
          if (!done.ok() && done.error().code == errc::kAlreadyExists) {
            return Reply(code::kReplayed, done.error().message);
          }
          // As when the mark was set on its own before the call: a store
          // that cannot be reached answers 9999 (its outage log says why),
          // with or without a mark (ticketValidation sets none).
          if (!done.ok() && done.error().code == errc::kUnavailable) {
            return Reply(code::kUnavailable, "票据存储不可用");
          }
          return finish(done);
        });
      });
}

void ValidateTicketAsync(AuthServices& s, const ApiCall& call, const auth_code::GrantCodes& codes,
                         GrantKind issue, std::string_view field, ReplyWith reply) {
  ExchangeGrantAsync(
      s, call, GrantKind::kTicket, "st", issue,
      [&s, &codes, field = std::string(field)](const Result<Exchanged>& done) -> codec::Value {
        if (!done.ok()) return GrantFailure(done.error(), codes, "st");
        auto user = GrantUser(s, done->redeemed);
        if (!user.ok()) return ReplyFor(user.error(), codes.other);
        if (s.context.activity != nullptr) {
          s.context.activity->CountValidation(s.context.clock.NowMillis());
        }
        return Success()
            .Set(field, done->issued.value)
            .Set("userid", (*user)->userid)
            .Set("loginname", (*user)->loginname)
            .Set("username", (*user)->username);
      },
      std::move(reply));
}

codec::Value GenerateProxyTicket(AuthServices& s, const ApiCall& call, GrantKind kind,
                                 std::string_view token_param, const ProxyCodes& codes) {
  if (!call.app.proxy_right) return Reply(codes.no_right, "本接入资源没有代理权限");
  auto grant = s.sessions.Check(kind, call.Param(token_param), call.app.servicecode);
  if (!grant.ok()) return GrantFailure(grant.error(), codes.token, token_param);
  std::string_view proxyapp = call.Param("proxyapp");
  if (proxyapp.empty()) return Reply(codes.app_missing, "proxyapp 不能为空");
  auto target = s.context.directory.CachedApp(proxyapp);
  if (!target.ok()) {
    if (target.error().code == errc::kNotFound || target.error().code >= 1000) {
      return Reply(codes.app_missing, "被代理的接入资源不存在");
    }
    return ReplyFor(target.error(), codes.token.other);
  }
  if (!(*target)->enabled) return Reply(codes.app_disabled, "被代理的接入资源已停用");
  auto user = GrantUser(s, *grant);
  if (!user.ok()) return Reply(codes.user_not_allowed, user.error().message);
  auto may = MayOpen(s, **user, **target);
  if (!may.ok()) return ReplyFor(may.error(), codes.token.other);
  if (!*may) return Reply(codes.user_not_allowed, "用户不在被代理的接入资源中");
  // The target's second-factor policy holds for the login behind the token:
  // a password-only session gets no ticket for an app that needs more. A
  // session that is gone counts as password-only (fail closed).
  std::string factors = "pwd";
  if (auto login = s.sessions.Find(grant->session); login.ok()) {
    factors = login->factors;
  } else if (login.error().code != errc::kNotFound) {
    return ReplyFor(login.error(), codes.token.other);
  }
  auto step_up = SecondFactorMissing(s, factors, **user, **target);
  if (!step_up.ok()) return ReplyFor(step_up.error(), codes.token.other);
  if (*step_up) return Reply(codes.user_not_allowed, "被代理的接入资源要求第二因素认证");
  auto st =
      s.sessions.Issue(GrantKind::kTicket, (*target)->servicecode, grant->userid, grant->session);
  if (!st.ok()) return ReplyFor(st.error(), codes.token.other);
  return Success().Set("st", st->value);
}

codec::Value UserInfoReply(const directory::User& user) {
  // Merge moves the ~45 fields in; copying them with Set cost half of getUserInfo.
  return Success().Merge(directory::UserToValue(user));
}

codec::Value UserSysReply(AuthServices& s, const Grant& grant, int other) {
  auto systems = s.context.directory.UserSystems(grant.userid);
  if (!systems.ok()) return ReplyFor(systems.error(), other);
  codec::Value reply = Success();
  reply.Set("userid", grant.userid).Set("total", static_cast<int64_t>(systems->size()));
  codec::Value& list = reply.Add("system", codec::Value::Array(systems->size()));
  for (const directory::App& app : *systems) {
    codec::Value item = codec::Value::Object(3);
    item.Set("servicecode", app.servicecode)
        .Set("servicename", app.name)
        .Set("url", LaunchUrl(s.context.settings, app.servicecode));
    list.Push(std::move(item));
  }
  return reply;
}

codec::Value UserRoleReply(AuthServices& s, const Grant& grant, int other) {
  auto roles = s.context.directory.UserRoles(grant.userid, grant.app);
  if (!roles.ok()) return ReplyFor(roles.error(), other);
  codec::Value reply = Success();
  reply.Set("userid", grant.userid).Set("total", static_cast<int64_t>(roles->size()));
  codec::Value& list = reply.Add("role", codec::Value::Array(roles->size()));
  for (const directory::Role& r : *roles) list.Push(directory::RoleToValue(r));
  return reply;
}

codec::Value LogoutReply(AuthServices& s, const ApiCall& call, GrantKind kind,
                         std::string_view token_param, const ac::GrantCodes& codes) {
  auto grant = s.sessions.Check(kind, call.Param(token_param), call.app.servicecode,
                                /*accept_expired=*/true);
  if (!grant.ok()) return GrantFailure(grant.error(), codes, token_param);
  LogoutRequest request;
  request.session_id = grant->session;
  request.userid = grant->userid;
  request.initiator = call.app.servicecode;
  request.reason = "app";
  auto done = s.logout.Run(request);
  if (!done.ok()) return ReplyFor(done.error(), codes.other);
  return Success();
}

}  // namespace tongban::sso
