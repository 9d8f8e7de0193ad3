// Result codes the directory returns as Error::code. Spec codes (10xx, 11xx,
// 20xx, 28xx, 64xx) keep the spec's meaning; the rest fill free ranges and are
// listed with their reasons in docs/design/directory.md. Used by sso/ to reply.
#pragma once

namespace tongban::directory::code {

// synchronizeOrg (10xx, spec).
inline constexpr int kOrgSyncNotAllowed = 1001;  // the app lacks directory_write
inline constexpr int kOrgNoRight = 1003;         // the org is outside the app's org_scope
inline constexpr int kOrgParentMissing = 1004;
inline constexpr int kOrgBadOrderby = 1005;
inline constexpr int kOrgRequiredEmpty = 1006;  // orgcoding, or orgname on add
inline constexpr int kOrgBadCoding = 1007;
inline constexpr int kOrgBadDevcoding = 1008;
inline constexpr int kOrgArgsIllegal = 1009;
inline constexpr int kOrgCodingInUse = 1010;  // add-only save of an existing orgcoding
inline constexpr int kOrgBadName = 1011;
inline constexpr int kOrgNameExists = 1012;  // among the org's siblings
inline constexpr int kOrgOther = 1099;

// deleteOrg (11xx, spec; 1101/1103 mirror 1001/1003).
inline constexpr int kOrgDeleteNotAllowed = 1101;
inline constexpr int kOrgDeleteNoRight = 1103;
inline constexpr int kOrgNotFound = 1104;  // also a malformed orgcoding
inline constexpr int kOrgHasChildren = 1105;
inline constexpr int kOrgHasUsers = 1106;  // as main or as further (extendorgcoding) org
inline constexpr int kOrgHasApps = 1107;
inline constexpr int kOrgDeleteOther = 1199;

// getOrgInfo / getChildOrgs (12xx, ours: the spec lists none).
inline constexpr int kOrgReadNoRight = 1202;
inline constexpr int kOrgReadBadCoding = 1203;
inline constexpr int kOrgReadNotFound = 1204;
inline constexpr int kOrgReadBadPage = 1209;

// synchronizeUser (20xx, spec).
inline constexpr int kUserSyncNotAllowed = 2001;
inline constexpr int kUserNoRight = 2003;
inline constexpr int kUserBadLoginname = 2004;
inline constexpr int kUserOrgMissing = 2005;
inline constexpr int kUserBadOrderby = 2006;
inline constexpr int kUserPasswordEmpty = 2007;
inline constexpr int kUserBadOrgcoding = 2008;
inline constexpr int kUserLocked = 2009;
inline constexpr int kUserLoginnameExists = 2010;
inline constexpr int kUserNotFound = 2011;
inline constexpr int kUserArgsIllegal = 2012;
inline constexpr int kUserBadUsertype = 2013;
inline constexpr int kUserBadEncryptiontype = 2014;
inline constexpr int kUserPasswordDecodeFailed = 2015;
inline constexpr int kUserMoveRefused = 2016;  // new org in another domain
inline constexpr int kUserUsernameEmpty = 2017;
inline constexpr int kUserMobileExists = 2018;
inline constexpr int kUserMobileEmpty = 2019;  // only with DirectoryOptions::require_mobile
inline constexpr int kUserOther = 2099;

// deleteUser (21xx, as one app's 2104 suggests; the rest mirror 20xx).
inline constexpr int kUserDeleteNotAllowed = 2101;
inline constexpr int kUserDeleteNoRight = 2103;
inline constexpr int kUserDeleteNotFound = 2104;
inline constexpr int kUserDeleteLocked = 2109;
inline constexpr int kUserDeleteArgsIllegal = 2112;  // no key, or a loginname in several domains
inline constexpr int kUserDeleteOther = 2199;

// getUserInfoById (28xx, spec) and, ours, getUserByLoginname / getUsersByOrg.
inline constexpr int kUserReadNoRight = 2802;
inline constexpr int kUserReadBadId = 2803;  // illegal userid or loginname
inline constexpr int kUserReadNotFound = 2804;
inline constexpr int kUserReadBadOrgcoding = 2805;
inline constexpr int kUserReadOrgNotFound = 2806;
inline constexpr int kUserReadAmbiguous = 2807;  // loginname in several domains, no orgcoding
inline constexpr int kUserReadBadPage = 2809;
inline constexpr int kUserReadOther = 2899;

// Account bindings: getSsoUserByMap / getMapUserBySso (29xx, ours).
inline constexpr int kBindingNoApp = 2901;
inline constexpr int kBindingBadAccount = 2902;
inline constexpr int kBindingNotFound = 2903;
inline constexpr int kBindingNoUser = 2904;
inline constexpr int kBindingAccountTaken = 2905;  // bound to another user of the app

// Password logins (idValidation's 64xx; commnetAuth uses the same minus 3000).
inline constexpr int kLoginNoUser = 6401;
inline constexpr int kLoginWrongPassword = 6402;
inline constexpr int kLoginBadOrgcoding = 6403;
inline constexpr int kLoginEncryptionUnusable = 6404;  // MD5 login without an MD5-capable hash
inline constexpr int kLoginAmbiguous = 6406;
inline constexpr int kLoginLocked = 6407;    // ours
inline constexpr int kLoginDisabled = 6408;  // ours: useable = 2

// Roles (41xx), positions (42xx), grants (43xx): ours, admin-side.
inline constexpr int kRoleNoApp = 4101;
inline constexpr int kRoleBadCode = 4102;
inline constexpr int kRoleBadName = 4103;
inline constexpr int kRoleNotFound = 4104;
inline constexpr int kPositionNoApp = 4201;
inline constexpr int kPositionBadCode = 4202;
inline constexpr int kPositionBadName = 4203;
inline constexpr int kPositionNotFound = 4204;
inline constexpr int kGrantNoApp = 4301;
inline constexpr int kGrantNoRole = 4302;
inline constexpr int kGrantNoUser = 4303;
inline constexpr int kGrantNotFound = 4304;
// A role of the platform app for a user whose login name another user holds
// in some domain: platform accounts' login names are unique in every domain.
inline constexpr int kGrantLoginShared = 4305;

// Apps (the spec's auth codes, as the protocol layer answers them).
inline constexpr int kAppNotFound = 9900;
inline constexpr int kAppDisabled = 9904;

}  // namespace tongban::directory::code
