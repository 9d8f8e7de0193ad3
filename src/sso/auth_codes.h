// Result codes of the sign-on interfaces: easyAuth (60xx-65xx), commnetAuth
// (30xx-38xx) and js.do (70xx). Spec codes keep the spec's meaning; the ones
// marked "ours" fill free ranges. docs/api/easyauth.md, commnetauth.md and
// login.md list them all. Used by the sso/ handlers and their tests.
#pragma once

namespace tongban::sso::auth_code {

// What a failed grant check (ticket, authcode, token) answers, per method.
struct GrantCodes {
  int expired;
  int not_found;  // unknown, already used, revoked, or a grant of another kind
  int other_app;  // issued to another access resource
  int bad_format;
  int other;
};

// ---- easyAuth ----
inline constexpr GrantCodes kEasyTicket{6001, 6002, 6003, 6004, 6099};  // ticketValidation
// getUserInfo; ours: also getUserSys, getUserRole and logout, which take the
// same token and have no table in the spec.
inline constexpr GrantCodes kEasyToken{6501, 6502, 6504, 6505, 6599};
inline constexpr int kEasyUserInfoFailed = 6503;
// generateST (63xx, spec; 6306 and 6307 are listed twice as "not this access
// resource": ours, 6306 = the token is another app's, 6307 = the proxied app
// is disabled).
inline constexpr GrantCodes kEasyProxyToken{6301, 6304, 6306, 6308, 6399};
inline constexpr int kEasyProxyAppMissing = 6302;
inline constexpr int kEasyProxyUserNotAllowed = 6303;
inline constexpr int kEasyNoProxyRight = 6305;
inline constexpr int kEasyProxyAppDisabled = 6307;
// idValidation (64xx, spec; the directory's 6401-6408, plus ours:)
inline constexpr int kEasyLoginEncryptionType = 6404;
inline constexpr int kEasyLoginNotAuthorised = 6405;  // spec: user not authorised for this system
inline constexpr int kEasyLoginThrottled = 6409;      // ours: too many failures, locked for a while
inline constexpr int kEasyLoginOther = 6499;

// ---- commnetAuth ----
inline constexpr GrantCodes kCommTicket{3001, 3002, 3003, 3004, 3099};    // ticketValidation
inline constexpr GrantCodes kCommAuthcode{3101, 3102, 3103, 3104, 3199};  // getToken
inline constexpr GrantCodes kCommRefresh{3201, 3202, 3203, 3204, 3299};   // refAccessToken
// generateST (33xx): 3304 is the spec's "not a proxy token"; it also answers a
// malformed one. 3306/3307 as 6306/6307.
inline constexpr GrantCodes kCommProxyToken{3301, 3304, 3306, 3304, 3399};
inline constexpr int kCommProxyAppMissing = 3302;
inline constexpr int kCommProxyUserNotAllowed = 3303;
inline constexpr int kCommNoProxyRight = 3305;
inline constexpr int kCommProxyAppDisabled = 3307;
// idValidation (34xx = 64xx - 3000).
inline constexpr int kCommLoginOffset = 3000;
inline constexpr int kCommLoginOther = 3499;
// getUserInfo (35xx, spec); ours: also getUserRole, getUserSys and logout.
inline constexpr GrantCodes kCommAccessToken{3501, 3502, 3504, 3505, 3599};
inline constexpr int kCommUserInfoFailed = 3503;
// getST (37xx, spec).
inline constexpr GrantCodes kCommGetSt{3701, 3702, 3703, 3704, 3799};
// updatePassword (36xx, ours).
inline constexpr GrantCodes kCommUpdatePasswordToken{3601, 3602, 3604, 3605, 3699};
inline constexpr int kCommOldPasswordWrong = 3606;
inline constexpr int kCommNewPasswordRejected = 3607;
inline constexpr int kCommPasswordEncryptionType = 3608;
inline constexpr int kCommPasswordDecodeFailed = 3609;
inline constexpr int kCommPasswordThrottled = 3610;
// updateUserInfo (38xx, ours).
inline constexpr GrantCodes kCommUpdateUserToken{3801, 3802, 3804, 3805, 3899};
inline constexpr int kCommUserArgsIllegal = 3806;
inline constexpr int kCommUserFieldNotEditable = 3807;
inline constexpr int kCommUserFieldInvalid = 3808;

// ---- js.do (70xx, ours) ----
inline constexpr int kJsNotLoggedIn = 7001;
inline constexpr int kJsSourceRefused = 7002;  // Referer/Origin is not one of the app's callbacks
inline constexpr int kJsNotAuthorised = 7003;  // the user may not open this app
inline constexpr int kJsOther = 7099;

}  // namespace tongban::sso::auth_code
