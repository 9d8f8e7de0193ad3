#include "sso/second_factors.h"

#include <soci/soci.h>

#include <algorithm>
#include <cctype>

#include "codec/qr_svg.h"
#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "crypto/totp.h"
#include "sso/auth_codes.h"

namespace tongban::sso {
namespace {

constexpr std::string_view kFailurePrefix = "sso:mf:";
constexpr size_t kSecretBytes = 20;  // 160 bits, as RFC 4226 recommends
// Recovery codes: 10 Base32 characters (50 bits), shown as "xxxxx-xxxxx".
constexpr size_t kRecoveryChars = 10;

Error Throttled() {
  return Error{auth_code::kEasyLoginThrottled, "验证码错误次数过多，请稍后再试"};
}

}  // namespace

std::string NormaliseRecoveryCode(std::string_view code) {
  std::string out;
  for (char c : code) {
    if (c == '-' || c == ' ') continue;
    out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  }
  return out;
}

std::vector<Migration> SecondFactors::Migrations() {
  return {PortableMigration("sso_mfa", 1,
                            "CREATE TABLE sso_mfa_totp ("
                            " userid {KEY} NOT NULL PRIMARY KEY,"
                            " secret {TEXT} NOT NULL,"
                            " confirmed_ms BIGINT NOT NULL,"
                            " last_step BIGINT NOT NULL,"
                            " created_ms BIGINT NOT NULL){END};"
                            "CREATE TABLE sso_mfa_recovery ("
                            " id {ID},"
                            " userid {KEY} NOT NULL,"
                            " code_hash {KEY} NOT NULL,"
                            " used_ms BIGINT NOT NULL){END};"
                            "CREATE INDEX sso_mfa_recovery_user ON sso_mfa_recovery (userid, code_hash);"
                            "CREATE TABLE sso_mfa_apps ("
                            " servicecode {KEY} NOT NULL PRIMARY KEY,"
                            " required INTEGER NOT NULL,"
                            " updated_ms BIGINT NOT NULL){END};")};
}

SecondFactors::SecondFactors(SqlStore& sql, TicketStore& tickets, const crypto::SecretBox& box,
                             const Clock& clock, Random& random, std::string recovery_key,
                             MfaOptions options)
    : sql_(sql),
      tickets_(tickets),
      box_(box),
      clock_(clock),
      random_(random),
      recovery_key_(std::move(recovery_key)),
      options_(std::move(options)) {}

std::string SecondFactors::RecoveryHash(std::string_view userid, std::string_view code) const {
  std::string message(userid);
  message.push_back('\n');
  message.append(NormaliseRecoveryCode(code));
  return crypto::Sha256Hex(crypto::HmacSha256(recovery_key_, message));
}

Result<std::string> SecondFactors::OpenSecret(std::string_view userid,
                                              std::string_view sealed) const {
  auto secret = box_.Open(sealed, userid);
  if (!secret.ok()) return Error::Internal("a stored TOTP secret does not open");
  return secret;
}

Status SecondFactors::CheckThrottle(std::string_view userid) {
  std::string key(kFailurePrefix);
  key.append(userid);
  auto failures = tickets_.Members(key);
  if (!failures.ok()) return std::move(failures).error();
  if (static_cast<int>(failures->size()) >= options_.max_failures) return Throttled();
  return Status::Ok();
}

Status SecondFactors::CountFailure(std::string_view userid) {
  std::string key(kFailurePrefix);
  key.append(userid);
  return tickets_.AddToSet(key, random_.Hex(8), options_.failure_window);
}

Result<FactorStatus> SecondFactors::StatusOf(std::string_view userid) {
  return sql_.WithSession([&](soci::session& sql) -> Result<FactorStatus> {
    FactorStatus status;
    const std::string id(userid);
    long long confirmed = 0;
    soci::indicator ind = soci::i_null;
    sql << "SELECT confirmed_ms FROM sso_mfa_totp WHERE userid = :u", soci::use(id, "u"),
        soci::into(confirmed, ind);
    if (sql.got_data() && ind == soci::i_ok && confirmed > 0) {
      status.totp = true;
      status.totp_since_ms = confirmed;
    }
    int left = 0;
    sql << "SELECT COUNT(*) FROM sso_mfa_recovery WHERE userid = :u AND used_ms = 0",
        soci::use(id, "u"), soci::into(left);
    status.recovery_left = left;
    return status;
  });
}

std::string SecondFactors::PendingContext(std::string_view userid, std::string_view enrolment) {
  if (enrolment.empty()) return std::string(userid);
  // A digest: the enrolment may be a session id, which is kept nowhere else.
  std::string context(userid);
  context.append("\nenrol:").append(crypto::Sha256Hex(enrolment));
  return context;
}

Result<TotpEnrolment> SecondFactors::BeginTotp(std::string_view userid,
                                               std::string_view account_label,
                                               std::string_view enrolment) {
  std::string secret(kSecretBytes, '\0');
  random_.Fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(secret.data()), secret.size()));
  const std::string context = PendingContext(userid, enrolment);
  auto sealed = box_.Seal(secret, context);
  if (!sealed.ok()) return std::move(sealed).error();
  const std::string id(userid);
  const long long now = clock_.NowMillis();
  Status stored = sql_.WithTransaction([&](soci::session& sql) -> Status {
    long long confirmed = 0;
    soci::indicator ind = soci::i_null;
    sql << "SELECT confirmed_ms FROM sso_mfa_totp WHERE userid = :u" +
               std::string(sql_dialect::ForUpdate(sql_.dialect())),
        soci::use(id, "u"), soci::into(confirmed, ind);
    if (sql.got_data() && ind == soci::i_ok) {
      if (confirmed > 0) return Error::AlreadyExists("the user already has a TOTP authenticator");
      if (!enrolment.empty()) {
        std::string old_sealed;
        sql << "SELECT secret FROM sso_mfa_totp WHERE userid = :u", soci::use(id, "u"),
            soci::into(old_sealed);
        // Opens only when this same enrolment sealed it.
        auto old = box_.Open(old_sealed, context);
        if (old.ok() && old->size() == kSecretBytes) {
          secret = std::move(*old);
          return Status::Ok();
        }
      }
      sql << "UPDATE sso_mfa_totp SET secret = :s, last_step = 0, created_ms = :n "
             "WHERE userid = :u",
          soci::use(*sealed, "s"), soci::use(now, "n"), soci::use(id, "u");
    } else {
      sql << "INSERT INTO sso_mfa_totp (userid, secret, confirmed_ms, last_step, created_ms) "
             "VALUES (:u, :s, 0, 0, :n)",
          soci::use(id, "u"), soci::use(*sealed, "s"), soci::use(now, "n");
    }
    return Status::Ok();
  });
  if (!stored.ok()) return std::move(stored).error();
  TotpEnrolment e;
  e.secret_base32 = crypto::Base32Encode(secret);
  e.uri = crypto::TotpUri(options_.issuer, account_label, e.secret_base32);
  auto qr = codec::QrSvg(e.uri);
  if (!qr.ok()) return std::move(qr).error();
  e.qr_svg = std::move(*qr);
  return e;
}

Result<std::vector<std::string>> SecondFactors::ConfirmTotp(std::string_view userid,
                                                            std::string_view code,
                                                            std::string_view enrolment) {
  // After the change commits (the return value is made first): no stale answer here.
  struct ForgetOnExit {
    SecondFactors* factors;
    ~ForgetOnExit() { factors->ForgetRecent(); }
  } forget{this};
  TB_RETURN_IF_ERROR(CheckThrottle(userid));
  const std::string id(userid);
  const long long now = clock_.NowMillis();
  std::vector<std::string> codes;
  std::vector<std::string> hashes;
  for (int i = 0; i < options_.recovery_codes; ++i) {
    std::string raw(8, '\0');
    random_.Fill(std::span<uint8_t>(reinterpret_cast<uint8_t*>(raw.data()), raw.size()));
    std::string text = crypto::Base32Encode(raw).substr(0, kRecoveryChars);
    std::transform(text.begin(), text.end(), text.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string shown(text, 0, kRecoveryChars / 2);
    shown.push_back('-');
    shown.append(text, kRecoveryChars / 2, std::string::npos);
    hashes.push_back(RecoveryHash(userid, shown));
    codes.push_back(std::move(shown));
  }
  bool wrong = false;
  Status done = sql_.WithTransaction([&](soci::session& sql) -> Status {
    std::string sealed;
    long long confirmed = 0;
    sql << "SELECT secret, confirmed_ms FROM sso_mfa_totp WHERE userid = :u" +
               std::string(sql_dialect::ForUpdate(sql_.dialect())),
        soci::use(id, "u"), soci::into(sealed), soci::into(confirmed);
    if (!sql.got_data() || confirmed > 0) return Error::NotFound("no TOTP enrolment is pending");
    auto secret = box_.Open(sealed, PendingContext(userid, enrolment));
    if (!secret.ok()) return Error::NotFound("the pending TOTP secret belongs to another enrolment");
    const int64_t step = crypto::MatchTotp(*secret, code, now);
    if (step < 0) {
      wrong = true;
      return Error::PermissionDenied("wrong code");
    }
    // Confirmed: sealed for the user alone, as Verify opens it.
    auto resealed = box_.Seal(*secret, userid);
    if (!resealed.ok()) return std::move(resealed).error();
    long long s = step;
    sql << "UPDATE sso_mfa_totp SET secret = :x, confirmed_ms = :n, last_step = :s "
           "WHERE userid = :u",
        soci::use(*resealed, "x"), soci::use(now, "n"), soci::use(s, "s"), soci::use(id, "u");
    sql << "DELETE FROM sso_mfa_recovery WHERE userid = :u", soci::use(id, "u");
    for (const std::string& h : hashes) {
      sql << "INSERT INTO sso_mfa_recovery (userid, code_hash, used_ms) VALUES (:u, :h, 0)",
          soci::use(id, "u"), soci::use(h, "h");
    }
    return Status::Ok();
  });
  if (!done.ok()) {
    if (wrong) TB_RETURN_IF_ERROR(CountFailure(userid));
    return std::move(done).error();
  }
  return codes;
}

Result<FactorUsed> SecondFactors::Verify(std::string_view userid, std::string_view code) {
  TB_RETURN_IF_ERROR(CheckThrottle(userid));
  const std::string id(userid);
  const long long now = clock_.NowMillis();
  const bool looks_totp = code.size() == static_cast<size_t>(crypto::kTotpDigits) &&
                          std::all_of(code.begin(), code.end(),
                                      [](char c) { return c >= '0' && c <= '9'; });
  bool wrong = false;
  auto used = sql_.WithTransaction([&](soci::session& sql) -> Result<FactorUsed> {
    std::string sealed;
    long long confirmed = 0;
    long long last_step = 0;
    soci::indicator ind = soci::i_null;
    sql << "SELECT secret, confirmed_ms, last_step FROM sso_mfa_totp WHERE userid = :u",
        soci::use(id, "u"), soci::into(sealed, ind), soci::into(confirmed), soci::into(last_step);
    if (!sql.got_data() || confirmed <= 0) return Error::NotFound("no second factor enrolled");
    if (looks_totp) {
      auto secret = OpenSecret(userid, sealed);
      if (!secret.ok()) return std::move(secret).error();
      const long long step = crypto::MatchTotp(*secret, code, now);
      if (step < 0 || step <= last_step) {
        wrong = true;
        return Error::PermissionDenied(step < 0 ? "wrong code" : "code already used");
      }
      // Compare-and-set: of two nodes accepting the same code at once, one wins.
      soci::statement st =
          (sql.prepare << "UPDATE sso_mfa_totp SET last_step = :s "
                          "WHERE userid = :u AND last_step < :s2",
           soci::use(step, "s"), soci::use(id, "u"), soci::use(step, "s2"));
      st.execute(true);
      if (st.get_affected_rows() != 1) {
        wrong = true;
        return Error::PermissionDenied("code already used");
      }
      return FactorUsed::kTotp;
    }
    const std::string hash = RecoveryHash(userid, code);
    long long row = 0;
    sql << "SELECT id FROM sso_mfa_recovery WHERE userid = :u AND code_hash = :h AND used_ms = 0",
        soci::use(id, "u"), soci::use(hash, "h"), soci::into(row);
    if (!sql.got_data()) {
      wrong = true;
      return Error::PermissionDenied("wrong or used recovery code");
    }
    soci::statement st = (sql.prepare << "UPDATE sso_mfa_recovery SET used_ms = :n "
                                         "WHERE id = :i AND used_ms = 0",
                          soci::use(now, "n"), soci::use(row, "i"));
    st.execute(true);
    if (st.get_affected_rows() != 1) {
      wrong = true;
      return Error::PermissionDenied("wrong or used recovery code");
    }
    return FactorUsed::kRecoveryCode;
  });
  if (!used.ok()) {
    if (wrong) TB_RETURN_IF_ERROR(CountFailure(userid));
    return used;
  }
  std::string key(kFailurePrefix);
  key.append(userid);
  (void)tickets_.EraseSet(key);
  return used;
}

Result<bool> SecondFactors::Reset(std::string_view userid) {
  // After the change commits (the return value is made first): no stale answer here.
  struct ForgetOnExit {
    SecondFactors* factors;
    ~ForgetOnExit() { factors->ForgetRecent(); }
  } forget{this};
  const std::string id(userid);
  return sql_.WithTransaction([&](soci::session& sql) -> Result<bool> {
    soci::statement a = (sql.prepare << "DELETE FROM sso_mfa_totp WHERE userid = :u",
                         soci::use(id, "u"));
    a.execute(true);
    const bool had = a.get_affected_rows() > 0;
    sql << "DELETE FROM sso_mfa_recovery WHERE userid = :u", soci::use(id, "u");
    return had;
  });
}

Result<bool> SecondFactors::AppRequires(std::string_view servicecode) {
  if (servicecode.empty()) return false;
  const std::string code(servicecode);
  return sql_.WithSession([&](soci::session& sql) -> Result<bool> {
    int required = 0;
    sql << "SELECT required FROM sso_mfa_apps WHERE servicecode = :c", soci::use(code, "c"),
        soci::into(required);
    return sql.got_data() && required != 0;
  });
}

Status SecondFactors::SetAppRequires(std::string_view servicecode, bool required) {
  // After the change commits (the return value is made first): no stale answer here.
  struct ForgetOnExit {
    SecondFactors* factors;
    ~ForgetOnExit() { factors->ForgetRecent(); }
  } forget{this};
  const std::string code(servicecode);
  const long long now = clock_.NowMillis();
  const int flag = required ? 1 : 0;
  return sql_.WithTransaction([&](soci::session& sql) -> Status {
    sql << "DELETE FROM sso_mfa_apps WHERE servicecode = :c", soci::use(code, "c");
    if (required) {
      sql << "INSERT INTO sso_mfa_apps (servicecode, required, updated_ms) VALUES (:c, :r, :n)",
          soci::use(code, "c"), soci::use(flag, "r"), soci::use(now, "n");
    }
    return Status::Ok();
  });
}

Result<std::vector<std::string>> SecondFactors::RequiringApps() {
  return sql_.WithSession([&](soci::session& sql) -> Result<std::vector<std::string>> {
    std::vector<std::string> codes;
    soci::rowset<std::string> rows =
        (sql.prepare << "SELECT servicecode FROM sso_mfa_apps WHERE required <> 0 "
                        "ORDER BY servicecode");
    for (const std::string& code : rows) codes.push_back(code);
    return codes;
  });
}

Result<bool> SecondFactors::RequiredRecently(directory::Directory& directory,
                                             std::string_view userid,
                                             std::string_view servicecode) {
  std::string key(userid);
  key.push_back('/');
  key.append(servicecode);
  const int64_t now = clock_.NowMillis();
  {
    std::lock_guard lock(recent_mu_);
    auto it = recent_.find(key);
    if (it != recent_.end() && now < it->second.until_ms) return it->second.required;
  }
  auto required = Required(directory, userid, servicecode);
  if (!required.ok()) return required;
  std::lock_guard lock(recent_mu_);
  if (recent_.size() >= 100'000) recent_.clear();  // bounded; refilled as asked
  recent_[std::move(key)] = Recent{*required, now + kRecentTtlMs};
  return required;
}

void SecondFactors::ForgetRecent() {
  std::lock_guard lock(recent_mu_);
  recent_.clear();
}

Result<bool> SecondFactors::Required(directory::Directory& directory, std::string_view userid,
                                     std::string_view servicecode) {
  if (options_.admin_required) {
    auto admin = directory.IsPlatformAdmin(userid);
    if (!admin.ok()) return admin;
    if (*admin) return true;
  }
  for (const std::string& entry : options_.required_roles) {
    const size_t colon = entry.find(':');
    if (colon == std::string::npos) continue;  // the config check refuses these
    auto roles = directory.UserRoles(userid, std::string_view(entry).substr(0, colon));
    if (!roles.ok()) return std::move(roles).error();
    const std::string_view wanted = std::string_view(entry).substr(colon + 1);
    for (const directory::Role& role : *roles) {
      if (role.rolecode == wanted) return true;
    }
  }
  auto app = AppRequires(servicecode);
  if (!app.ok() || *app) return app;
  auto status = StatusOf(userid);
  if (!status.ok()) return std::move(status).error();
  return status->totp;
}

}  // namespace tongban::sso
