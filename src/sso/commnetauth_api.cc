// commnetAuth (spec §4.3, `/sso/servlet/ssoauth`, SOAP SsoAuthService): a
// ticket or password login yields a one-use authcode, exchanged by getToken
// for access, refresh and (with proxy rights) proxy tokens.
// docs/api/commnetauth.md is the reference.
#include "codec/parse.h"
#include "crypto/incoming_password.h"
#include "directory/codes.h"
#include "directory/wire.h"
#include "sso/auth_internal.h"
#include "sso/reply.h"

namespace tongban::sso {
namespace {

namespace ac = auth_code;

std::string Seconds(int64_t s) { return std::to_string(s); }

codec::Value TokenSetReply(const TokenSet& set, int64_t now_ms, bool with_refresh) {
  codec::Value reply = Success();
  reply.Set("accesstoken", set.access.value)
      .Set("accvalidtime", Seconds(set.access.SecondsLeft(now_ms)));
  if (with_refresh) {
    reply.Set("refreshtoken", set.refresh.value)
        .Set("refreshvalidtime", Seconds(set.refresh.SecondsLeft(now_ms)));
  }
  reply.Set("proxytoken", set.proxy ? set.proxy->value : std::string())
      .Set("proxyvalidtime", set.proxy ? Seconds(set.proxy->SecondsLeft(now_ms)) : "0");
  if (!with_refresh) {
    // After the spec's fields: the refresh token stays the same; its time left.
    reply.Set("refreshtoken", set.refresh.value)
        .Set("refreshvalidtime", Seconds(set.refresh.SecondsLeft(now_ms)));
  }
  return reply;
}

// A password as updatePassword carries it: encryptiontype 1, 2, 4 or 5 (an
// MD5 cannot be checked against the policy, nor hashed anew).
Result<std::string> DecodePassword(const ApiCall& call, std::string_view value) {
  std::string_view type_text = call.Param("encryptiontype");
  int type = 1;
  if (!type_text.empty()) {
    if (type_text.size() != 1 || type_text[0] < '1' || type_text[0] > '5' || type_text == "3") {
      return Error{ac::kCommPasswordEncryptionType, "encryptiontype 只能是 1、2、4、5"};
    }
    type = type_text[0] - '0';
  }
  crypto::IncomingKeys keys;
  const std::string& key = call.app.password_key;
  if (key.size() == 16 || key.size() == 24 || key.size() == 32) keys.aes_key = key;
  if (key.size() >= 24) keys.des3_key = key;
  auto plain = crypto::DecodeIncomingPassword(type, value, keys);
  if (!plain.ok()) {
    if (plain.error().code == crypto::kUnsupportedEncryptionType) {
      return Error{ac::kCommPasswordEncryptionType, "该接入资源不能使用此 encryptiontype"};
    }
    return Error{ac::kCommPasswordDecodeFailed, "密码无法按 encryptiontype 解码"};
  }
  return plain;
}

std::string_view TrimSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  if (s.substr(0, 3) == "\xEF\xBB\xBF") s.remove_prefix(3);
  return s;
}

// `args` as JSON or <SSO> XML, like synchronizeUser's.
Result<directory::Fields> ParseArgs(std::string_view text) {
  text = TrimSpace(text);
  if (text.empty()) return Error::InvalidArgument("args 不能为空");
  auto value = text.front() == '<' ? codec::ParseSsoXml(text) : codec::ParseJson(text);
  if (!value.ok()) return Error::InvalidArgument("args 既不是 JSON 对象也不是 <SSO> XML");
  return directory::FieldsFromValue(*value);
}

}  // namespace

void AddCommnetAuthMethods(SignedApi& api, AuthServices& s) {
  api.AddAsyncMethod("ticketValidation", {"st"}, [&s](const ApiCall& call, ReplyWith reply) {
    ValidateTicketAsync(s, call, ac::kCommTicket, GrantKind::kAuthcode, "authcode",
                        std::move(reply));
  });

  api.AddMethod(
      "idValidation", {"loginname", "orgcoding", "password", "encryptiontype"},
      [&s](const ApiCall& call) {
        codec::Value failure;
        auto login = IdValidation(s, call, LoginCodes{ac::kCommLoginOffset, ac::kCommLoginOther},
                                  "commnetAuth", &failure);
        if (!login.ok()) return failure;
        auto code = s.sessions.Issue(GrantKind::kAuthcode, call.app.servicecode,
                                     login->user->userid, login->session.id);
        if (!code.ok()) return ReplyFor(code.error(), ac::kCommLoginOther);
        return Success()
            .Set("authcode", code->value)
            .Set("userid", login->user->userid)
            .Set("loginname", login->user->loginname)
            .Set("username", login->user->username);
      },
      MethodCost::kBlocking);

  api.AddMethod("getToken", {"authcode"}, [&s](const ApiCall& call) {
    auto code =
        s.sessions.Redeem(GrantKind::kAuthcode, call.Param("authcode"), call.app.servicecode);
    if (!code.ok()) return GrantFailure(code.error(), ac::kCommAuthcode, "authcode");
    if (auto refused = RefuseInactiveUser(s, *code, ac::kCommAuthcode.not_found)) {
      return std::move(*refused);
    }
    if (auto refused = RefuseClosedApp(s, *code, call.app, ac::kCommAuthcode.not_found)) {
      return std::move(*refused);
    }
    auto set = s.sessions.IssueTokenSet(*code, call.app.proxy_right);
    // NotFound: the session ended while the set was issued (the code is spent).
    if (!set.ok()) return GrantFailure(set.error(), ac::kCommAuthcode, "authcode");
    return TokenSetReply(*set, s.context.clock.NowMillis(), /*with_refresh=*/true);
  });

  api.AddMethod("refAccessToken", {"refreshtoken"}, [&s](const ApiCall& call) {
    // Checked first, so that a locked user's refresh token mints nothing.
    auto refresh = s.sessions.Check(GrantKind::kRefreshToken, call.Param("refreshtoken"),
                                    call.app.servicecode);
    if (!refresh.ok()) return GrantFailure(refresh.error(), ac::kCommRefresh, "refreshtoken");
    if (auto refused = RefuseInactiveUser(s, *refresh, ac::kCommRefresh.not_found)) {
      return std::move(*refused);
    }
    // A role withdrawn from a closed app since the login: the app's tokens
    // end here (the refresh token is revoked, not only refused) while the
    // user's session and other apps live on.
    if (auto refused =
            RefuseClosedApp(s, *refresh, call.app, ac::kCommRefresh.not_found, &*refresh)) {
      return std::move(*refused);
    }
    auto set =
        s.sessions.Refresh(call.Param("refreshtoken"), call.app.servicecode, call.app.proxy_right);
    if (!set.ok()) return GrantFailure(set.error(), ac::kCommRefresh, "refreshtoken");
    return TokenSetReply(*set, s.context.clock.NowMillis(), /*with_refresh=*/false);
  });

  api.AddMethod("generateST", {"proxyapp", "proxytoken"}, [&s](const ApiCall& call) {
    return GenerateProxyTicket(
        s, call, GrantKind::kProxyToken, "proxytoken",
        ProxyCodes{ac::kCommProxyToken, ac::kCommProxyAppMissing, ac::kCommProxyUserNotAllowed,
                   ac::kCommNoProxyRight, ac::kCommProxyAppDisabled});
  });

  // One store call (check the access token, issue the ticket): the ticket
  // issued for a user found locked afterwards is never handed out.
  api.AddAsyncMethod("getST", {"accesstoken"}, [&s](const ApiCall& call, ReplyWith reply) {
    ExchangeGrantAsync(
        s, call, GrantKind::kAccessToken, "accesstoken", GrantKind::kTicket,
        [&s](const Result<Exchanged>& done) -> codec::Value {
          if (!done.ok()) return GrantFailure(done.error(), ac::kCommGetSt, "accesstoken");
          if (auto refused = RefuseInactiveUser(s, done->redeemed, ac::kCommGetSt.not_found)) {
            return std::move(*refused);
          }
          return Success().Set("st", done->issued.value);
        },
        std::move(reply));
  });

  api.AddMethod("getUserInfo", {"accesstoken"}, [&s](const ApiCall& call) {
    auto grant =
        s.sessions.Check(GrantKind::kAccessToken, call.Param("accesstoken"), call.app.servicecode);
    if (!grant.ok()) return GrantFailure(grant.error(), ac::kCommAccessToken, "accesstoken");
    auto user = GrantUser(s, *grant);
    if (!user.ok()) return Reply(ac::kCommUserInfoFailed, "获取用户信息失败");
    return UserInfoReply(**user);
  });

  api.AddMethod("getUserRole", {"accesstoken"}, [&s](const ApiCall& call) {
    auto grant =
        s.sessions.Check(GrantKind::kAccessToken, call.Param("accesstoken"), call.app.servicecode);
    if (!grant.ok()) return GrantFailure(grant.error(), ac::kCommAccessToken, "accesstoken");
    if (auto refused = RefuseInactiveUser(s, *grant, ac::kCommUserInfoFailed)) {
      return std::move(*refused);
    }
    return UserRoleReply(s, *grant, ac::kCommAccessToken.other);
  });

  api.AddMethod("getUserSys", {"accesstoken"}, [&s](const ApiCall& call) {
    auto grant =
        s.sessions.Check(GrantKind::kAccessToken, call.Param("accesstoken"), call.app.servicecode);
    if (!grant.ok()) return GrantFailure(grant.error(), ac::kCommAccessToken, "accesstoken");
    if (auto refused = RefuseInactiveUser(s, *grant, ac::kCommUserInfoFailed)) {
      return std::move(*refused);
    }
    return UserSysReply(s, *grant, ac::kCommAccessToken.other);
  });

  api.AddMethod(
      "logout", {"accesstoken"},
      [&s](const ApiCall& call) {
        return LogoutReply(s, call, GrantKind::kAccessToken, "accesstoken", ac::kCommAccessToken);
      },
      MethodCost::kBlocking);

  api.AddMethod(
      "updatePassword", {"accesstoken", "oldpassword", "newpassword", "encryptiontype"},
      [&s](const ApiCall& call) {
        const ac::GrantCodes& codes = ac::kCommUpdatePasswordToken;
        auto grant = s.sessions.Check(GrantKind::kAccessToken, call.Param("accesstoken"),
                                      call.app.servicecode);
        if (!grant.ok()) return GrantFailure(grant.error(), codes, "accesstoken");
        auto user = GrantUser(s, *grant);
        if (!user.ok()) return ReplyFor(user.error(), codes.other);
        auto old_plain = DecodePassword(call, call.Param("oldpassword"));
        if (!old_plain.ok()) return ReplyFor(old_plain.error(), codes.other);
        auto new_plain = DecodePassword(call, call.Param("newpassword"));
        if (!new_plain.ok()) return ReplyFor(new_plain.error(), codes.other);
        Status changed =
            ChangeOwnPassword(s, **user, *old_plain, *new_plain, "", call.app.servicecode,
                              grant->session);
        if (!changed.ok()) {
          const Error& e = changed.error();
          if (e.code == directory::code::kLoginWrongPassword) {
            return Reply(ac::kCommOldPasswordWrong, e.message);
          }
          if (e.code == ac::kEasyLoginThrottled)
            return Reply(ac::kCommPasswordThrottled, e.message);
          if (e.code == errc::kInvalidArgument)
            return Reply(ac::kCommNewPasswordRejected, e.message);
          return ReplyFor(e, codes.other);
        }
        return Success().Set("userid", (*user)->userid);
      },
      MethodCost::kBlocking);

  api.AddMethod(
      "updateUserInfo", {"accesstoken", "args"},
      [&s](const ApiCall& call) {
        const ac::GrantCodes& codes = ac::kCommUpdateUserToken;
        auto grant = s.sessions.Check(GrantKind::kAccessToken, call.Param("accesstoken"),
                                      call.app.servicecode);
        if (!grant.ok()) return GrantFailure(grant.error(), codes, "accesstoken");
        auto user = GrantUser(s, *grant);
        if (!user.ok()) return ReplyFor(user.error(), codes.other);
        auto args = ParseArgs(call.Param("args"));
        if (!args.ok()) return Reply(ac::kCommUserArgsIllegal, args.error().message);
        auto updated = UpdateOwnInfo(s, **user, *args, "", call.app.servicecode);
        if (!updated.ok()) {
          const Error& e = updated.error();
          if (e.code == errc::kPermissionDenied)
            return Reply(ac::kCommUserFieldNotEditable, e.message);
          if (e.code == errc::kInvalidArgument) return Reply(ac::kCommUserFieldInvalid, e.message);
          return ReplyFor(e, codes.other);
        }
        return UserInfoReply(*updated);
      },
      MethodCost::kBlocking);

  // Every other method (logout, updatePassword, updateUserInfo) is a write:
  // POST only, replays refused.
  for (const char* read : {"getUserInfo", "getUserRole", "getUserSys"}) {
    api.SetEffect(read, MethodEffect::kRead);
  }
  for (const char* credential :
       {"idValidation", "getToken", "refAccessToken", "generateST", "getST"}) {
    api.SetEffect(credential, MethodEffect::kCredential);
  }
  api.SetEffect("ticketValidation", MethodEffect::kRedeemsSingleUse);
}

}  // namespace tongban::sso
