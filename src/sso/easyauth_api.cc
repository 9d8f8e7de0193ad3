// easyAuth (spec §4.2, `/sso/servlet/simpleauth`, SOAP SimpleAuthService):
// ticketValidation -> token, idValidation -> token, and the calls that take
// the token. docs/api/easyauth.md is the reference.
#include "sso/auth_internal.h"
#include "sso/reply.h"

namespace tongban::sso {

namespace ac = auth_code;

void AddEasyAuthMethods(SignedApi& api, AuthServices& s) {
  api.AddAsyncMethod("ticketValidation", {"st"}, [&s](const ApiCall& call, ReplyWith reply) {
    ValidateTicketAsync(s, call, ac::kEasyTicket, GrantKind::kToken, "token", std::move(reply));
  });

  api.AddMethod(
      "idValidation", {"loginname", "orgcoding", "password", "encryptiontype"},
      [&s](const ApiCall& call) {
        codec::Value failure;
        auto login =
            IdValidation(s, call, LoginCodes{0, ac::kEasyLoginOther}, "easyAuth", &failure);
        if (!login.ok()) return failure;
        auto token = s.sessions.Issue(GrantKind::kToken, call.app.servicecode, login->user->userid,
                                      login->session.id);
        if (!token.ok()) return ReplyFor(token.error(), ac::kEasyLoginOther);
        return Success()
            .Set("token", token->value)
            .Set("userid", login->user->userid)
            .Set("loginname", login->user->loginname)
            .Set("username", login->user->username);
      },
      MethodCost::kBlocking);

  api.AddMethod("getUserInfo", {"token"}, [&s](const ApiCall& call) {
    auto grant = s.sessions.Check(GrantKind::kToken, call.Param("token"), call.app.servicecode);
    if (!grant.ok()) return GrantFailure(grant.error(), ac::kEasyToken, "token");
    auto user = GrantUser(s, *grant);
    if (!user.ok()) return Reply(ac::kEasyUserInfoFailed, "获取用户信息失败");
    return UserInfoReply(**user);
  });

  api.AddMethod("generateST", {"proxyapp", "token"}, [&s](const ApiCall& call) {
    return GenerateProxyTicket(
        s, call, GrantKind::kToken, "token",
        ProxyCodes{ac::kEasyProxyToken, ac::kEasyProxyAppMissing, ac::kEasyProxyUserNotAllowed,
                   ac::kEasyNoProxyRight, ac::kEasyProxyAppDisabled});
  });

  api.AddMethod(
      "logout", {"token"},
      [&s](const ApiCall& call) {
        return LogoutReply(s, call, GrantKind::kToken, "token", ac::kEasyToken);
      },
      MethodCost::kBlocking);

  api.AddMethod("getUserSys", {"token"}, [&s](const ApiCall& call) {
    auto grant = s.sessions.Check(GrantKind::kToken, call.Param("token"), call.app.servicecode);
    if (!grant.ok()) return GrantFailure(grant.error(), ac::kEasyToken, "token");
    if (auto refused = RefuseInactiveUser(s, *grant, ac::kEasyUserInfoFailed)) {
      return std::move(*refused);
    }
    return UserSysReply(s, *grant, ac::kEasyToken.other);
  });

  api.AddMethod("getUserRole", {"token"}, [&s](const ApiCall& call) {
    auto grant = s.sessions.Check(GrantKind::kToken, call.Param("token"), call.app.servicecode);
    if (!grant.ok()) return GrantFailure(grant.error(), ac::kEasyToken, "token");
    if (auto refused = RefuseInactiveUser(s, *grant, ac::kEasyUserInfoFailed)) {
      return std::move(*refused);
    }
    return UserRoleReply(s, *grant, ac::kEasyToken.other);
  });

  // Every other method (logout) is a write: POST only, replays refused.
  for (const char* read : {"getUserInfo", "getUserSys", "getUserRole"}) {
    api.SetEffect(read, MethodEffect::kRead);
  }
  for (const char* credential : {"idValidation", "generateST"}) {
    api.SetEffect(credential, MethodEffect::kCredential);
  }
  api.SetEffect("ticketValidation", MethodEffect::kRedeemsSingleUse);
}

}  // namespace tongban::sso
