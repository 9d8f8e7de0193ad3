#include "sso/citizen.h"

#include <spdlog/spdlog.h>

#include <charconv>

#include "directory/codes.h"
#include "directory/validators.h"
#include "sso/auth_internal.h"

namespace tongban::sso {
namespace {

namespace dcode = directory::code;

constexpr const char* kSchema = R"sql(
CREATE TABLE citizen_accounts (
  userid {KEY} NOT NULL PRIMARY KEY,
  kind {KEY} NOT NULL,
  level INTEGER NOT NULL DEFAULT 1,
  idnum {KEY} NOT NULL DEFAULT '',
  company_name {TEXT} NOT NULL DEFAULT '',
  uscc {KEY} NOT NULL DEFAULT '',
  legal_rep {TEXT} NOT NULL DEFAULT '',
  check_state {KEY} NOT NULL DEFAULT '',
  check_reason {TEXT} NOT NULL DEFAULT '',
  created_ms BIGINT NOT NULL,
  checked_ms BIGINT NOT NULL DEFAULT 0,
  checked_by {TEXT} NOT NULL DEFAULT ''
){END};
CREATE INDEX citizen_accounts_kind ON citizen_accounts (kind, level, created_ms);
CREATE INDEX citizen_accounts_check ON citizen_accounts (check_state, created_ms);
CREATE INDEX citizen_accounts_idnum ON citizen_accounts (idnum);
CREATE INDEX citizen_accounts_uscc ON citizen_accounts (uscc);
)sql";

constexpr const char* kColumns =
    "userid, kind, level, idnum, company_name, uscc, legal_rep, check_state, check_reason, "
    "created_ms, checked_ms, checked_by";

Error Invalid(std::string message) { return Error{citizen_error::kInvalid, std::move(message)}; }

std::string MaskId(std::string_view id) {
  if (id.size() <= 8) return std::string(id.size(), '*');
  std::string out(id.substr(0, 6));
  out.append(id.size() - 10, '*');
  out.append(id.substr(id.size() - 4));
  return out;
}

bool CleanText(std::string_view s, size_t max_bytes) {
  if (s.empty() || s.size() > max_bytes) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '<' || c == '>') return false;
  }
  return true;
}

struct Row {
  std::string userid, kind, idnum, company_name, uscc, legal_rep, check_state, check_reason,
      checked_by;
  int level = 1;
  long long created_ms = 0, checked_ms = 0;
};

void Bind(soci::statement& st, Row& r) {
  st.exchange(soci::into(r.userid));
  st.exchange(soci::into(r.kind));
  st.exchange(soci::into(r.level));
  st.exchange(soci::into(r.idnum));
  st.exchange(soci::into(r.company_name));
  st.exchange(soci::into(r.uscc));
  st.exchange(soci::into(r.legal_rep));
  st.exchange(soci::into(r.check_state));
  st.exchange(soci::into(r.check_reason));
  st.exchange(soci::into(r.created_ms));
  st.exchange(soci::into(r.checked_ms));
  st.exchange(soci::into(r.checked_by));
}

CitizenAccount FromRow(const Row& r) {
  CitizenAccount a;
  a.userid = r.userid;
  a.kind = r.kind == "legal" ? AccountKind::kLegal : AccountKind::kPersonal;
  a.level = r.level;
  a.idnum = r.idnum;
  a.company_name = r.company_name;
  a.uscc = r.uscc;
  a.legal_rep = r.legal_rep;
  a.check_state = r.check_state;
  a.check_reason = r.check_reason;
  a.created_ms = r.created_ms;
  a.checked_ms = r.checked_ms;
  a.checked_by = r.checked_by;
  return a;
}

class SandboxVerifier : public IdentityVerifier {
 public:
  std::string_view name() const override { return "sandbox"; }
  Result<bool> Verify(const IdentityClaim& claim) override {
    constexpr std::string_view kImpostor = "冒名";
    if (claim.name.starts_with(kImpostor)) return false;
    if (claim.kind == AccountKind::kLegal && claim.legal_rep.starts_with(kImpostor)) return false;
    return true;
  }
};

}  // namespace

std::string_view AccountKindName(AccountKind kind) {
  return kind == AccountKind::kLegal ? "legal" : "personal";
}

int AuthLevelOf(const directory::User& user) {
  int level = 0;
  const std::string& s = user.authlevel;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), level);
  if (ec != std::errc() || end != s.data() + s.size() || level < 1) return kLevelSelfRegistered;
  return level;
}

std::string AuthLevelShortfall(const directory::User& user, const directory::App& app) {
  const int have = AuthLevelOf(user);
  if (app.min_authlevel <= 0 || have >= app.min_authlevel) return std::string();
  auto level_name = [](int level) -> std::string {
    switch (level) {
      case 1:
        return "1 级（未实名）";
      case 2:
        return "2 级（实名认证）";
      default:
        return std::to_string(level) + " 级（实人认证）";
    }
  };
  std::string text("「");
  text.append(app.name.empty() ? app.servicecode : app.name)
      .append("」要求实名等级不低于 ")
      .append(level_name(app.min_authlevel))
      .append("，您的账号当前为 ")
      .append(level_name(have))
      .append("。请携带身份证件（企业账号另带营业执照）到政务服务窗口办理实名核验，"
              "核验通过后即可访问。");
  return text;
}

std::unique_ptr<IdentityVerifier> MakeSandboxVerifier() {
  return std::make_unique<SandboxVerifier>();
}

std::vector<Migration> CitizenAccounts::Migrations() {
  return {PortableMigration("citizen_accounts", 1, kSchema)};
}

CitizenAccounts::CitizenAccounts(Deps deps, CitizenSettings settings)
    : deps_(deps), settings_(std::move(settings)) {}

Status CitizenAccounts::SendRegistrationCode(std::string_view mobile, std::string_view ip) {
  if (deps_.codes == nullptr) return Error::Unavailable("registration is not enabled");
  if (!directory::IsValidMobile(mobile)) return Invalid("请输入正确的 11 位手机号码");
  const std::string platform = settings_.platform_name;
  const int minutes = static_cast<int>(deps_.codes->limits().ttl.count() / 60);
  return deps_.codes->Send(
      CodeRequest{CodePurpose::kRegister, std::string(mobile), "", std::string(ip), true},
      [&](std::string_view code) {
        std::string text("【");
        text.append(platform).append("】您的注册验证码为 ").append(code).append("，");
        text.append(std::to_string(minutes)).append(" 分钟内有效。如非本人操作，请忽略本短信。");
        return text;
      });
}

Result<std::vector<std::shared_ptr<const directory::User>>> CitizenAccounts::UsersWithIdnum(
    std::string_view idnum) {
  directory::UserSearch search;
  search.text = std::string(idnum);
  search.field = directory::UserSearch::Field::kIdnum;
  auto found = deps_.directory.SearchUsers(search, directory::Page{1, 100});
  if (!found.ok()) return std::move(found).error();
  std::vector<std::shared_ptr<const directory::User>> out;
  for (directory::User& u : found->items) {
    if (u.idnum == idnum) out.push_back(std::make_shared<const directory::User>(std::move(u)));
  }
  return out;
}

Result<std::shared_ptr<const directory::User>> CitizenAccounts::UserWithMobile(
    std::string_view mobile) {
  directory::UserSearch search;
  search.text = std::string(mobile);
  search.field = directory::UserSearch::Field::kMobile;
  auto found = deps_.directory.SearchUsers(search, directory::Page{1, 10});
  if (!found.ok()) return std::move(found).error();
  for (directory::User& u : found->items) {
    if (u.mobile == mobile) return std::make_shared<const directory::User>(std::move(u));
  }
  return Error::NotFound("no account has this mobile number");
}

Result<RegisteredAccount> CitizenAccounts::Register(const Registration& r) {
  if (deps_.codes == nullptr) return Error::Unavailable("registration is not enabled");
  // ---- the fields, before the code is spent ----
  if (!directory::IsValidLoginName(r.loginname)) {
    return Error{dcode::kUserBadLoginname,
                 "用户名须为 2-50 位字母、数字或 _ . - @"};
  }
  if (std::string problem = PasswordPolicyProblem(r.password, r.loginname); !problem.empty()) {
    return Invalid(problem);
  }
  if (!CleanText(r.username, 60)) return Invalid("请填写姓名");
  if (r.idtype != "1") {
    return Invalid("网上注册仅支持居民身份证；其他证件请到政务服务窗口办理");
  }
  auto id = directory::ParseResidentId(r.idnum, directory::TodayInChina(deps_.clock));
  if (!id.ok()) return Invalid("身份证号码有误（" + id.error().message + "）");
  if (!directory::IsValidMobile(r.mobile)) return Invalid("请输入正确的 11 位手机号码");
  const std::string org =
      r.kind == AccountKind::kLegal ? settings_.legal_org : settings_.personal_org;
  if (r.kind == AccountKind::kLegal) {
    if (!CleanText(r.company_name, 200)) return Invalid("请填写企业（单位）名称");
    if (!directory::IsValidSocialCreditCode(r.uscc)) {
      return Invalid("统一社会信用代码有误（18 位，校验位不符）");
    }
    if (!CleanText(r.legal_rep, 60)) return Invalid("请填写法定代表人姓名");
  }
  // ---- the mobile: the code proves it, and only then do we say anything
  // about the login name, the number or the ID (no oracle for strangers:
  // without a code sent to a phone they hold, "name taken" is never said) ----
  auto checked = deps_.codes->Verify(CodePurpose::kRegister, r.mobile, r.code, r.ip);
  if (!checked.ok()) return std::move(checked).error();
  // Taken in any domain: a citizen sharing a staff member's login name
  // would make both logins ambiguous (the login page names no org).
  if (auto taken = deps_.directory.GetUserByLoginname(directory::Caller::Admin(), r.loginname);
      taken.ok() || taken.error().code == dcode::kUserReadAmbiguous) {
    return Error{dcode::kUserLoginnameExists, "该用户名已被使用，请换一个用户名并重新获取验证码"};
  } else if (taken.error().code != dcode::kUserReadNotFound) {
    return std::move(taken).error();
  }
  auto holder = UserWithMobile(r.mobile);
  if (holder.ok()) {
    return Error{citizen_error::kMobileRegistered,
                 "该手机号码已注册账号，请直接登录或通过“忘记密码”找回"};
  } else if (holder.error().code != errc::kNotFound) {
    return std::move(holder).error();
  }

  // ---- the ID policy ----
  std::string check_state, check_reason;
  auto same_id = UsersWithIdnum(id->id);
  if (!same_id.ok()) return std::move(same_id).error();
  if (r.kind == AccountKind::kPersonal) {
    for (const auto& u : *same_id) {
      if (AuthLevelOf(*u) >= kLevelRealName) {
        deps_.audit.Record("register_refused", "", r.loginname, "", r.ip, "7203 id verified");
        return Error{citizen_error::kIdVerifiedElsewhere,
                     "该身份证号码已有实名账号。如证件被他人冒用，请携带身份证到政务服务窗口办理"};
      }
    }
    if (!same_id->empty()) {
      check_state = "pending";
      check_reason = "id-shared";
    }
  } else {
    int64_t known = 0;
    Status counted = deps_.sql.WithSession([&](soci::session& sql) -> Status {
      sql << "SELECT COUNT(*) FROM citizen_accounts WHERE uscc = :u", soci::use(r.uscc),
          soci::into(known);
      return Status::Ok();
    });
    if (!counted.ok()) return counted.error();
    if (known > 0) {
      check_state = "pending";
      check_reason = "company-known";
    }
  }

  // ---- the account ----
  directory::Fields fields;
  fields["loginname"] = r.loginname;
  fields["username"] = r.username;
  fields["orgcoding"] = org;
  fields["mobile"] = r.mobile;
  fields["idtype"] = "1";
  fields["idnum"] = id->id;
  fields["sex"] = id->sex;
  fields["usertype"] = r.kind == AccountKind::kLegal ? "3" : "2";
  fields["authlevel"] = "1";
  fields["encryptiontype"] = "1";
  fields["loginpwd"] = r.password;
  auto saved =
      deps_.directory.SaveUser(directory::Caller::Admin(), fields, directory::SaveMode::kAddOnly);
  if (!saved.ok()) {
    if (saved.error().code == dcode::kUserLoginnameExists) {
      return Error{dcode::kUserLoginnameExists, "该用户名已被使用，请换一个"};
    }
    if (saved.error().code == dcode::kUserMobileExists) {
      return Error{citizen_error::kMobileRegistered,
                   "该手机号码已注册账号，请直接登录或通过“忘记密码”找回"};
    }
    return std::move(saved).error();
  }
  const directory::User& user = saved->user;
  const int64_t now = deps_.clock.NowMillis();
  const std::string kind(AccountKindName(r.kind));
  Status stored = deps_.sql.WithTransaction([&](soci::session& tx) -> Status {
    tx << "INSERT INTO citizen_accounts (userid, kind, level, idnum, company_name, uscc, "
          "legal_rep, check_state, check_reason, created_ms) VALUES (:u, :k, 1, :i, :c, :s, "
          ":l, :cs, :cr, :t)",
        soci::use(user.userid), soci::use(kind), soci::use(id->id), soci::use(r.company_name),
        soci::use(r.uscc), soci::use(r.legal_rep), soci::use(check_state),
        soci::use(check_reason), soci::use(now);
    return Status::Ok();
  });
  if (!stored.ok()) {
    // Without its row the account would be an unmanaged stray: take it back.
    (void)deps_.directory.DeleteUser(directory::Caller::Admin(),
                                     directory::UserKey{user.userid, "", ""});
    return stored.error();
  }
  std::string detail = kind;
  if (!check_reason.empty()) detail.append(" flagged ").append(check_reason);
  deps_.audit.Record("register", user.userid, user.loginname, "", r.ip, detail);
  return RegisteredAccount{user, !check_state.empty()};
}

Status CitizenAccounts::SendRecoveryCode(std::string_view mobile, std::string_view ip) {
  if (deps_.codes == nullptr) return Error::Unavailable("recovery is not enabled");
  if (!directory::IsValidMobile(mobile)) return Invalid("请输入正确的 11 位手机号码");
  // Only self-service accounts recover by SMS: a staff account's number was
  // typed by an administrator, never proven, and its password is reset by
  // its administrator. Both cases take the same path and answer the same.
  // The same two lookups whatever the number (an unknown one looks up "").
  std::string account;
  auto user = UserWithMobile(mobile);
  if (!user.ok() && user.error().code != errc::kNotFound) return user.error();
  auto row = Load(user.ok() ? std::string_view((*user)->userid) : std::string_view());
  if (row.ok()) {
    account = (*user)->userid;
  } else if (row.error().code != citizen_error::kNotCitizen) {
    return row.error();
  }
  const std::string platform = settings_.platform_name;
  const int minutes = static_cast<int>(deps_.codes->limits().ttl.count() / 60);
  return deps_.codes->Send(
      CodeRequest{CodePurpose::kRecover, std::string(mobile), account, std::string(ip),
                  !account.empty()},
      [&](std::string_view code) {
        std::string text("【");
        text.append(platform).append("】您正在找回密码，验证码为 ").append(code).append("，");
        text.append(std::to_string(minutes))
            .append(" 分钟内有效。请勿将验证码告诉他人，如非本人操作请忽略。");
        return text;
      });
}

Result<std::string> CitizenAccounts::Recover(std::string_view mobile, std::string_view code,
                                             std::string_view new_password, std::string_view ip) {
  if (deps_.codes == nullptr) return Error::Unavailable("recovery is not enabled");
  if (std::string problem = PasswordPolicyProblem(new_password, ""); !problem.empty()) {
    return Invalid(problem);
  }
  auto checked = deps_.codes->Verify(CodePurpose::kRecover, mobile, code, ip);
  if (!checked.ok()) return checked.error();
  // A code stored for a number without an account was never sent, so only
  // a guess reaches here with an empty account: answered as a wrong code.
  if (checked->account.empty()) return Error{code_error::kRejected, "验证码错误或已失效"};
  auto user = deps_.directory.CachedUser(checked->account);
  if (!user.ok() || (*user)->mobile != mobile) {
    return Error{code_error::kRejected, "验证码错误或已失效"};
  }
  if (std::string problem = PasswordPolicyProblem(new_password, (*user)->loginname);
      !problem.empty()) {
    return Invalid(problem);
  }
  TB_RETURN_IF_ERROR(deps_.directory.SetPassword((*user)->userid, new_password));
  deps_.audit.Record("password_recovered", (*user)->userid, (*user)->loginname, "", ip,
                     "sms code");
  if (deps_.sender != nullptr) {
    std::string text("【");
    text.append(settings_.platform_name)
        .append("】您的账号 ")
        .append((*user)->loginname)
        .append(" 的密码已通过短信验证码重置。如非本人操作，请立即联系政务服务热线 12345。");
    deps_.sender->Enqueue(SmsMessage{std::string(mobile), "notice", std::move(text)});
  }
  return (*user)->userid;
}

Result<bool> CitizenAccounts::IsSelfRegistered(soci::session& sql, const std::string& userid) {
  int n = 0;
  sql << "SELECT COUNT(*) FROM citizen_accounts WHERE userid = :u", soci::use(userid),
      soci::into(n);
  return n > 0;
}

Result<CitizenAccount> CitizenAccounts::Load(std::string_view userid) {
  return deps_.sql.WithSession([&](soci::session& sql) -> Result<CitizenAccount> {
    Row r;
    std::string id(userid);
    soci::statement st(sql);
    st.alloc();
    st.prepare(std::string("SELECT ") + kColumns + " FROM citizen_accounts WHERE userid = :u");
    Bind(st, r);
    st.exchange(soci::use(id));
    st.define_and_bind();
    if (!st.execute(true)) {
      return Error{citizen_error::kNotCitizen, "不是自助注册的账号"};
    }
    return FromRow(r);
  });
}

Result<CitizenAccount> CitizenAccounts::Get(std::string_view userid) {
  auto account = Load(userid);
  if (!account.ok()) return account;
  if (auto user = deps_.directory.CachedUser(userid); user.ok()) {
    account->loginname = (*user)->loginname;
    account->username = (*user)->username;
    account->mobile = (*user)->mobile;
    account->level = AuthLevelOf(**user);
  }
  return account;
}

Result<CitizenAccount> CitizenAccounts::SetLevel(std::string_view userid, int level,
                                                 std::string_view operator_name,
                                                 std::string_view note) {
  if (level < 1 || level > 3) return Invalid("level must be 1, 2 or 3");
  auto before = Get(userid);
  if (!before.ok()) return before;
  directory::Fields fields;
  fields["userid"] = std::string(userid);
  fields["authlevel"] = std::to_string(level);
  auto saved = deps_.directory.SaveUser(directory::Caller::Admin(), fields,
                                        directory::SaveMode::kModifyOnly);
  if (!saved.ok()) return std::move(saved).error();
  const int64_t now = deps_.clock.NowMillis();
  const std::string by(operator_name);
  // Named: soci runs the statement after the expression's temporaries are gone.
  const std::string id(userid);
  Status stored = deps_.sql.WithTransaction([&](soci::session& tx) -> Status {
    tx << "UPDATE citizen_accounts SET level = :l, check_state = 'done', check_reason = '', "
          "checked_ms = :t, checked_by = :b WHERE userid = :u",
        soci::use(level), soci::use(now), soci::use(by), soci::use(id);
    return Status::Ok();
  });
  if (!stored.ok()) return stored.error();
  std::string detail = std::to_string(before->level) + "->" + std::to_string(level) + " by " + by;
  if (!note.empty()) detail.append(": ").append(note.substr(0, 200));
  deps_.audit.Record("authlevel_changed", saved->user.userid, saved->user.loginname, "", "",
                     detail);
  return Get(userid);
}

Result<CitizenAccount> CitizenAccounts::VerifyOnline(std::string_view userid,
                                                     std::string_view operator_name) {
  if (deps_.verifier == nullptr) return Error::Unavailable("no identity verifier is configured");
  auto account = Get(userid);
  if (!account.ok()) return account;
  // A flag the counter must clear (an ID number another account holds, a
  // company another handler registered) is never cleared by the verifier:
  // the verifier vouches for the person, not for the link. Only its own
  // earlier mismatch may be tried again.
  if (account->check_state == "pending" && account->check_reason != "verifier-mismatch") {
    return Error::PermissionDenied(account->check_reason == "id-shared"
                                       ? "该账号的证件号码与其他账号相同，须到窗口核验，不能在线核验"
                                       : "该账号待窗口核验，不能在线核验");
  }
  auto user = deps_.directory.CachedUser(userid);
  if (!user.ok()) return std::move(user).error();
  IdentityClaim claim;
  claim.kind = account->kind;
  claim.name = (*user)->username;
  claim.idtype = (*user)->idtype;
  claim.idnum = (*user)->idnum;
  claim.company_name = account->company_name;
  claim.uscc = account->uscc;
  claim.legal_rep = account->legal_rep;
  auto matched = deps_.verifier->Verify(claim);
  if (!matched.ok()) return std::move(matched).error();
  std::string by("verifier:");
  by.append(deps_.verifier->name());
  if (!*matched) {
    const int64_t now = deps_.clock.NowMillis();
    const std::string id(userid);
    Status stored = deps_.sql.WithTransaction([&](soci::session& tx) -> Status {
      tx << "UPDATE citizen_accounts SET check_state = 'pending', "
            "check_reason = 'verifier-mismatch', checked_ms = :t, checked_by = :b "
            "WHERE userid = :u",
          soci::use(now), soci::use(by), soci::use(id);
      return Status::Ok();
    });
    if (!stored.ok()) return stored.error();
    deps_.audit.Record("authlevel_verify_failed", (*user)->userid, (*user)->loginname, "", "",
                       by + " mismatch, asked by " + std::string(operator_name));
    return Get(userid);
  }
  if (account->level >= kLevelRealName) return account;
  return SetLevel(userid, kLevelRealName, by, std::string("asked by ") + std::string(operator_name));
}

Result<AccountPage> CitizenAccounts::List(const AccountFilter& filter, directory::Page page) {
  std::string where = " WHERE 1 = 1";
  if (!filter.kind.empty()) where.append(" AND kind = :k");
  if (filter.level > 0) where.append(" AND level = :l");
  if (filter.pending_only) where.append(" AND check_state = 'pending'");
  auto result = deps_.sql.WithSession([&](soci::session& sql) -> Result<AccountPage> {
    AccountPage out;
    {
      soci::statement st(sql);
      st.alloc();
      st.prepare("SELECT COUNT(*) FROM citizen_accounts" + where);
      long long total = 0;
      st.exchange(soci::into(total));
      if (!filter.kind.empty()) st.exchange(soci::use(filter.kind, "k"));
      if (filter.level > 0) st.exchange(soci::use(filter.level, "l"));
      st.define_and_bind();
      st.execute(true);
      out.total = total;
    }
    Row r;
    soci::statement st(sql);
    st.alloc();
    const long long limit = page.size;
    const long long offset = (page.number - 1) * page.size;
    st.prepare(std::string("SELECT ") + kColumns + " FROM citizen_accounts" + where +
               " ORDER BY created_ms DESC, userid LIMIT " + std::to_string(limit) + " OFFSET " +
               std::to_string(offset));
    Bind(st, r);
    if (!filter.kind.empty()) st.exchange(soci::use(filter.kind, "k"));
    if (filter.level > 0) st.exchange(soci::use(filter.level, "l"));
    st.define_and_bind();
    if (st.execute(true)) {
      do {
        out.items.push_back(FromRow(r));
      } while (st.fetch());
    }
    return out;
  });
  if (!result.ok()) return result;
  for (CitizenAccount& a : result->items) {
    if (auto user = deps_.directory.CachedUser(a.userid); user.ok()) {
      a.loginname = (*user)->loginname;
      a.username = (*user)->username;
      a.mobile = MaskMobile((*user)->mobile);
      a.level = AuthLevelOf(**user);
    }
    a.idnum = MaskId(a.idnum);
  }
  return result;
}

Result<codec::Value> CitizenAccounts::Summary() {
  return deps_.sql.WithSession([&](soci::session& sql) -> Result<codec::Value> {
    codec::Value by = codec::Value::Array();
    std::string kind;
    int level = 0;
    long long count = 0;
    soci::statement st = (sql.prepare << "SELECT kind, level, COUNT(*) FROM citizen_accounts "
                                         "GROUP BY kind, level ORDER BY kind, level",
                          soci::into(kind), soci::into(level), soci::into(count));
    if (st.execute(true)) {
      do {
        codec::Value item = codec::Value::Object(3);
        item.Set("kind", kind)
            .Set("level", static_cast<int64_t>(level))
            .Set("count", static_cast<int64_t>(count));
        by.Push(std::move(item));
      } while (st.fetch());
    }
    long long pending = 0;
    sql << "SELECT COUNT(*) FROM citizen_accounts WHERE check_state = 'pending'",
        soci::into(pending);
    codec::Value out = codec::Value::Object(3);
    out.Set("accounts", std::move(by)).Set("pending_checks", static_cast<int64_t>(pending));
    return out;
  });
}

}  // namespace tongban::sso
