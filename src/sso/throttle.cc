#include "sso/throttle.h"

#include <charconv>

#include "crypto/digest.h"

namespace tongban::sso {
namespace {

using std::chrono::milliseconds;

// Login names compare without ASCII case, as the directory's do; long ones
// are hashed so that a key stays small whatever a client sends.
std::string AccountKey(std::string_view account) {
  std::string name(account);
  for (char& c : name) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (name.size() > 64) name = crypto::Sha256Hex(name);
  return name;
}

std::string IpKey(std::string_view ip) {
  return ip.size() > 64 ? crypto::Sha256Hex(ip) : std::string(ip);
}

std::string Key(std::string_view prefix, std::string_view id) {
  std::string key;
  key.reserve(prefix.size() + id.size());
  key.append(prefix).append(id);
  return key;
}

}  // namespace

std::string Lockout::Message() const {
  const int64_t minutes = (remaining.count() + 59) / 60;
  std::string text = by_ip ? "该网络登录失败次数过多，已临时限制登录，请 "
                           : "账号登录失败次数过多，已临时锁定，请 ";
  text.append(std::to_string(minutes > 0 ? minutes : 1)).append(" 分钟后再试");
  return text;
}

LoginThrottle::LoginThrottle(TicketStore& store, const Clock& clock, Random& random,
                             ThrottleOptions options)
    : store_(store), clock_(clock), random_(random), options_(options) {}

Result<std::optional<Lockout>> LoginThrottle::LockoutOf(const std::string& key, bool by_ip) {
  auto until = store_.Get(key);
  if (!until.ok()) {
    if (until.error().code == errc::kNotFound) return std::optional<Lockout>();
    return std::move(until).error();
  }
  int64_t until_ms = 0;
  std::from_chars(until->data(), until->data() + until->size(), until_ms);
  const int64_t left_ms = until_ms - clock_.NowMillis();
  if (left_ms <= 0) return std::optional<Lockout>();
  return std::optional<Lockout>(Lockout{by_ip, std::chrono::seconds((left_ms + 999) / 1000)});
}

Result<std::optional<Lockout>> LoginThrottle::Check(std::string_view account, std::string_view ip) {
  if (!ip.empty()) {
    auto by_ip = LockoutOf(Key("sso:lk:i:", IpKey(ip)), true);
    if (!by_ip.ok() || by_ip->has_value()) return by_ip;
  }
  return LockoutOf(Key("sso:lk:a:", AccountKey(account)), false);
}

// Adds one failure to the counter; starts the lockout when the count reaches
// `limit`. Returns whether it did.
Result<bool> LoginThrottle::Count(const std::string& counter_key, const std::string& lock_key,
                                  int limit) {
  TB_RETURN_IF_ERROR(store_.AddToSet(counter_key, random_.Hex(8), options_.window));
  auto failures = store_.Members(counter_key);
  if (!failures.ok()) return std::move(failures).error();
  if (static_cast<int64_t>(failures->size()) < limit) return false;
  const int64_t until = clock_.NowMillis() + milliseconds(options_.lockout).count();
  TB_RETURN_IF_ERROR(store_.Put(lock_key, std::to_string(until), options_.lockout));
  TB_RETURN_IF_ERROR(store_.EraseSet(counter_key));
  return true;
}

Result<std::optional<Lockout>> LoginThrottle::RecordFailure(std::string_view account,
                                                            std::string_view ip) {
  std::optional<Lockout> started;
  const std::string account_key = AccountKey(account);
  auto by_account = Count(Key("sso:th:a:", account_key), Key("sso:lk:a:", account_key),
                          options_.account_failures);
  if (!by_account.ok()) return std::move(by_account).error();
  if (*by_account) started = Lockout{false, options_.lockout};
  if (!ip.empty()) {
    const std::string ip_key = IpKey(ip);
    auto by_ip = Count(Key("sso:th:i:", ip_key), Key("sso:lk:i:", ip_key), options_.ip_failures);
    if (!by_ip.ok()) return std::move(by_ip).error();
    if (*by_ip && !started) started = Lockout{true, options_.lockout};
  }
  return started;
}

Status LoginThrottle::RecordSuccess(std::string_view account) {
  return store_.EraseSet(Key("sso:th:a:", AccountKey(account)));
}

}  // namespace tongban::sso
