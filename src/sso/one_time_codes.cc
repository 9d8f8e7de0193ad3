#include "sso/one_time_codes.h"

#include <spdlog/spdlog.h>

#include <array>
#include <cstdint>

#include "crypto/digest.h"
#include "crypto/encoding.h"

namespace tongban::sso {
namespace {

using std::chrono::milliseconds;

constexpr int kLive = 0;
constexpr int kUsed = 1;
constexpr int kDead = 2;  // superseded, or too many wrong guesses

constexpr const char* kSchema = R"sql(
CREATE TABLE sso_codes (
  id {ID},
  purpose {KEY} NOT NULL,
  mobile {KEY} NOT NULL,
  account {KEY} NOT NULL DEFAULT '',
  ip {KEY} NOT NULL DEFAULT '',
  code_hash {TEXT} NOT NULL,
  created_ms BIGINT NOT NULL,
  expires_ms BIGINT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  state INTEGER NOT NULL DEFAULT 0
){END};
CREATE INDEX sso_codes_mobile ON sso_codes (mobile, created_ms);
CREATE INDEX sso_codes_ip ON sso_codes (ip, created_ms);
CREATE INDEX sso_codes_account ON sso_codes (account, created_ms);
CREATE INDEX sso_codes_created ON sso_codes (created_ms);
)sql";

// Failed checks are counted in a key space of their own: "otp/<ip>" never
// meets the login throttle's plain IPs, so a wrong code does not count as a
// wrong password, nor the other way round.
std::string FailureSource(std::string_view ip) {
  std::string s("otp/");
  s.append(ClientNetwork(ip));
  return s;
}

std::string FailureAccount(CodePurpose purpose, std::string_view mobile) {
  std::string s("code/");
  s.append(CodePurposeName(purpose)).append("/").append(mobile);
  return s;
}

std::string MinutesText(std::chrono::seconds s) {
  int64_t minutes = (s.count() + 59) / 60;
  return std::to_string(minutes < 1 ? 1 : minutes);
}

}  // namespace

std::string_view CodePurposeName(CodePurpose purpose) {
  switch (purpose) {
    case CodePurpose::kRegister:
      return "register";
    case CodePurpose::kRecover:
      return "recover";
    case CodePurpose::kLogin2fa:
      return "login-2fa";
  }
  return "register";
}

Result<CodePurpose> ParseCodePurpose(std::string_view name) {
  if (name == "register") return CodePurpose::kRegister;
  if (name == "recover") return CodePurpose::kRecover;
  if (name == "login-2fa") return CodePurpose::kLogin2fa;
  return Error::InvalidArgument("unknown code purpose");
}

std::vector<Migration> OneTimeCodes::Migrations() {
  return {PortableMigration("sso_codes", 1, kSchema)};
}

OneTimeCodes::OneTimeCodes(SqlStore& sql, const Clock& clock, Random& random,
                           AsyncSmsSender& sender, std::string key, LoginThrottle& failures,
                           CodeLimits limits)
    : sql_(sql),
      clock_(clock),
      random_(random),
      sender_(sender),
      key_(std::move(key)),
      failures_(failures),
      limits_(limits) {
  if (limits_.digits < 4) limits_.digits = 4;
  if (limits_.digits > 9) limits_.digits = 9;
}

std::string OneTimeCodes::Hash(CodePurpose purpose, std::string_view mobile,
                               std::string_view code) const {
  std::string data(CodePurposeName(purpose));
  data.append("\n").append(mobile).append("\n").append(code);
  return crypto::HexEncode(crypto::HmacSha256(key_, data));
}

// Uniform over 10^digits: 32-bit draws above the largest multiple are
// rejected, so no code is likelier than another.
std::string OneTimeCodes::NewCode() {
  uint32_t range = 1;
  for (int i = 0; i < limits_.digits; ++i) range *= 10;
  const uint32_t limit = UINT32_MAX - (UINT32_MAX % range);
  uint32_t value = 0;
  do {
    std::array<uint8_t, 4> bytes{};
    random_.Fill(bytes);
    value = static_cast<uint32_t>(bytes[0]) << 24 | static_cast<uint32_t>(bytes[1]) << 16 |
            static_cast<uint32_t>(bytes[2]) << 8 | bytes[3];
  } while (value >= limit);
  value %= range;
  std::string code = std::to_string(value);
  return std::string(static_cast<size_t>(limits_.digits) - code.size(), '0') + code;
}

Status OneTimeCodes::Send(const CodeRequest& request,
                          const std::function<std::string(std::string_view code)>& text) {
  const int64_t now = clock_.NowMillis();
  const int64_t since = now - milliseconds(limits_.window).count();
  const std::string purpose(CodePurposeName(request.purpose));
  const std::string code = NewCode();
  const std::string hash = Hash(request.purpose, request.mobile, code);
  const int64_t expires = now + milliseconds(limits_.ttl).count();
  const SqlDialect dialect = sql_.dialect();
  // Counted per client network: an IPv6 client holds a whole /64.
  const std::string network = ClientNetwork(request.ip);
  Status stored = sql_.WithTransaction([&](soci::session& tx) -> Status {
    // Counts and insert under a lock per client network, per account and per
    // number (in that order everywhere: no deadlock), so that concurrent sends
    // on any nodes cannot pass a limit together (review16b: 60 sends from one
    // address for 60 numbers, released at once on two nodes, got 22 codes
    // against a per-network limit of 20).
    sql_dialect::LockUntilCommit(tx, dialect, 7101, "network " + network);
    if (!request.account.empty()) {
      sql_dialect::LockUntilCommit(tx, dialect, 7101, "account " + request.account);
    }
    sql_dialect::LockUntilCommit(tx, dialect, 7101, request.mobile);
    int64_t last = 0;
    soci::indicator last_ind = soci::i_null;
    tx << "SELECT MAX(created_ms) FROM sso_codes WHERE mobile = :m AND purpose = :p",
        soci::use(request.mobile), soci::use(purpose), soci::into(last, last_ind);
    if (last_ind == soci::i_ok && now - last < milliseconds(limits_.resend_after).count()) {
      const int64_t wait_s = (milliseconds(limits_.resend_after).count() - (now - last) + 999) / 1000;
      return Error{code_error::kThrottled,
                   "验证码发送过于频繁，请 " + std::to_string(wait_s) + " 秒后再试"};
    }
    int64_t count = 0;
    tx << "SELECT COUNT(*) FROM sso_codes WHERE mobile = :m AND created_ms >= :s",
        soci::use(request.mobile), soci::use(since), soci::into(count);
    if (count >= limits_.per_number) {
      return Error{code_error::kThrottled, "该手机号码获取验证码次数过多，请 " +
                                               MinutesText(limits_.window) + " 分钟后再试"};
    }
    tx << "SELECT COUNT(*) FROM sso_codes WHERE ip = :ip AND created_ms >= :s",
        soci::use(network), soci::use(since), soci::into(count);
    if (count >= limits_.per_ip) {
      return Error{code_error::kThrottled, "该网络获取验证码次数过多，请 " +
                                               MinutesText(limits_.window) + " 分钟后再试"};
    }
    if (!request.account.empty()) {
      tx << "SELECT COUNT(*) FROM sso_codes WHERE account = :a AND created_ms >= :s",
          soci::use(request.account), soci::use(since), soci::into(count);
      if (count >= limits_.per_account) {
        return Error{code_error::kThrottled, "该账号获取验证码次数过多，请 " +
                                                 MinutesText(limits_.window) + " 分钟后再试"};
      }
    }
    // Only the newest code of a (purpose, number) is live.
    tx << "UPDATE sso_codes SET state = :dead WHERE mobile = :m AND purpose = :p AND state = :live",
        soci::use(kDead), soci::use(request.mobile), soci::use(purpose), soci::use(kLive);
    tx << "INSERT INTO sso_codes (purpose, mobile, account, ip, code_hash, created_ms, "
          "expires_ms, attempts, state) VALUES (:p, :m, :a, :ip, :h, :c, :e, 0, :live)",
        soci::use(purpose), soci::use(request.mobile), soci::use(request.account),
        soci::use(network), soci::use(hash), soci::use(now), soci::use(expires),
        soci::use(kLive);
    // Rows older than any window or life are no longer needed; the index on
    // created_ms keeps this a small range delete.
    const int64_t keep = std::max(milliseconds(limits_.window).count(),
                                  milliseconds(limits_.ttl).count());
    const int64_t before = now - 2 * keep;
    tx << "DELETE FROM sso_codes WHERE created_ms < :b", soci::use(before);
    return Status::Ok();
  });
  if (!stored.ok()) return stored;
  if (request.deliver) {
    sender_.Enqueue(SmsMessage{request.mobile, purpose, text(code)});
  }
  return Status::Ok();
}

Result<CheckedCode> OneTimeCodes::Verify(CodePurpose purpose, std::string_view mobile,
                                         std::string_view code, std::string_view ip) {
  const std::string account_key = FailureAccount(purpose, mobile);
  const std::string source_id = FailureSource(ip);
  const LoginSource source = LoginSource::Ip(source_id);
  auto locked = failures_.Check(account_key, source);
  if (!locked.ok()) return std::move(locked).error();
  if (*locked) {
    return Error{code_error::kLockedOut, "验证码错误次数过多，请 " +
                                             MinutesText((*locked)->remaining) + " 分钟后再试"};
  }
  const int64_t now = clock_.NowMillis();
  const std::string purpose_name(CodePurposeName(purpose));
  const std::string mobile_text(mobile);
  // Hash whatever was sent (any length): the comparison below is of two
  // equal-length digests, in constant time.
  const std::string hash = Hash(purpose, mobile, code);
  const SqlDialect dialect = sql_.dialect();
  struct Outcome {
    bool matched = false;
    std::string account;
  };
  auto outcome = sql_.WithTransaction([&](soci::session& tx) -> Result<Outcome> {
    int64_t id = 0;
    std::string stored_hash, account;
    int64_t expires = 0;
    int attempts = 0;
    std::string select =
        "SELECT id, code_hash, account, expires_ms, attempts FROM sso_codes "
        "WHERE mobile = :m AND purpose = :p AND state = :live ORDER BY id DESC LIMIT 1";
    select.append(sql_dialect::ForUpdate(dialect));
    tx << select, soci::use(mobile_text), soci::use(purpose_name), soci::use(kLive),
        soci::into(id), soci::into(stored_hash), soci::into(account), soci::into(expires),
        soci::into(attempts);
    if (!tx.got_data()) return Outcome{};
    if (expires <= now) {
      tx << "UPDATE sso_codes SET state = :dead WHERE id = :id", soci::use(kDead), soci::use(id);
      return Outcome{};
    }
    if (!crypto::ConstantTimeEquals(hash, stored_hash)) {
      const int tried = attempts + 1;
      const int state = tried >= limits_.max_attempts ? kDead : kLive;
      tx << "UPDATE sso_codes SET attempts = :a, state = :s WHERE id = :id", soci::use(tried),
          soci::use(state), soci::use(id);
      return Outcome{};
    }
    // Single use: the row leaves the live state in this transaction; a
    // concurrent check of the same code waits for the lock and finds none.
    tx << "UPDATE sso_codes SET state = :used WHERE id = :id", soci::use(kUsed), soci::use(id);
    return Outcome{true, std::move(account)};
  });
  if (!outcome.ok()) return std::move(outcome).error();
  if (!outcome->matched) {
    auto lockout = failures_.RecordFailure(account_key, source);
    if (!lockout.ok()) {
      spdlog::error("code check failure not counted: {}", lockout.error().message);
    }
    return Error{code_error::kRejected, "验证码错误或已失效"};
  }
  (void)failures_.RecordSuccess(account_key, source);
  return CheckedCode{std::move(outcome->account)};
}

}  // namespace tongban::sso
