#include "sso/throttle.h"

#include <algorithm>
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

// "i:10.0.0.1", "i:2001:db8:1:2::/64" or "p:servicecode". An empty id (a
// caller that knows no source) is a source of its own rather than no source:
// it is still limited.
std::string SourceKey(LoginSource source) {
  std::string key{static_cast<char>(source.kind), ':'};
  std::string id = source.kind == LoginSource::Kind::kIp ? ClientNetwork(source.id)
                                                          : std::string(source.id);
  key.append(id.size() > 64 ? crypto::Sha256Hex(id) : id);
  return key;
}

std::string Key(std::string_view prefix, std::string_view a, std::string_view b = {}) {
  std::string key;
  key.reserve(prefix.size() + a.size() + b.size() + 1);
  key.append(prefix).append(a);
  if (!b.empty()) key.append("|").append(b);
  return key;
}

// Key spaces: failure counters (sets), lockouts and delays (values holding
// the end in ms), familiar sources.
constexpr std::string_view kPairFailures = "sso:th:a:";    // account|source
constexpr std::string_view kSourceFailures = "sso:th:s:";  // source
constexpr std::string_view kAccountFailures = "sso:th:t:";  // account, every source
constexpr std::string_view kPairLock = "sso:lk:a:";
constexpr std::string_view kSourceLock = "sso:lk:s:";
constexpr std::string_view kAccountDelay = "sso:lk:d:";
constexpr std::string_view kFamiliar = "sso:th:f:";  // account|source
constexpr std::string_view kRefusalNoted = "sso:lk:n:";  // scope:source or scope:account|source

std::string CeilMinutesText(std::chrono::seconds s) {
  const int64_t minutes = (s.count() + 59) / 60;
  return std::to_string(minutes > 0 ? minutes : 1);
}

}  // namespace

std::string Lockout::Message() const {
  std::string text;
  switch (scope) {
    case LockoutScope::kAccountFromSource:
      text = "账号登录失败次数过多，已临时锁定，请 ";
      break;
    case LockoutScope::kSource:
      text = source == LoginSource::Kind::kIp ? "该网络登录失败次数过多，已临时限制登录，请 "
                                              : "该应用密码登录失败次数过多，已临时限制，请 ";
      break;
    case LockoutScope::kAccountDelay:
      text = "账号登录失败次数过多，请 ";
      text.append(std::to_string(std::max<int64_t>(remaining.count(), 1))).append(" 秒后再试");
      return text;
  }
  text.append(CeilMinutesText(remaining)).append(" 分钟后再试");
  return text;
}

LoginThrottle::LoginThrottle(TicketStore& store, const Clock& clock, Random& random,
                             ThrottleOptions options)
    : store_(store), clock_(clock), random_(random), options_(options) {}

// The end (ms) a lockout or delay key holds while it is in force.
Result<std::optional<int64_t>> LoginThrottle::LiveUntil(const std::string& key) {
  auto until = store_.Get(key);
  if (!until.ok()) {
    if (until.error().code == errc::kNotFound) return std::optional<int64_t>();
    return std::move(until).error();
  }
  int64_t until_ms = 0;
  std::from_chars(until->data(), until->data() + until->size(), until_ms);
  if (until_ms <= clock_.NowMillis()) return std::optional<int64_t>();
  return std::optional<int64_t>(until_ms);
}

Result<std::optional<Lockout>> LoginThrottle::Check(std::string_view account,
                                                    LoginSource source) {
  const std::string source_key = SourceKey(source);
  const std::string account_key = AccountKey(account);
  const int64_t now = clock_.NowMillis();
  auto left = [now](int64_t until) { return std::chrono::seconds((until - now + 999) / 1000); };

  auto by_source = LiveUntil(Key(kSourceLock, source_key));
  if (!by_source.ok()) return std::move(by_source).error();
  if (*by_source) return std::optional<Lockout>({LockoutScope::kSource, source.kind, left(**by_source)});

  auto by_pair = LiveUntil(Key(kPairLock, account_key, source_key));
  if (!by_pair.ok()) return std::move(by_pair).error();
  if (*by_pair) {
    return std::optional<Lockout>({LockoutScope::kAccountFromSource, source.kind, left(**by_pair)});
  }

  auto delay = LiveUntil(Key(kAccountDelay, account_key));
  if (!delay.ok()) return std::move(delay).error();
  if (!*delay) return std::optional<Lockout>();
  auto familiar = store_.Get(Key(kFamiliar, account_key, source_key));
  if (familiar.ok()) return std::optional<Lockout>();
  if (familiar.error().code != errc::kNotFound) return std::move(familiar).error();
  return std::optional<Lockout>({LockoutScope::kAccountDelay, source.kind, left(**delay)});
}

Result<bool> LoginThrottle::FirstRefusal(std::string_view account, LoginSource source,
                                         const Lockout& lockout) {
  const std::string source_key = SourceKey(source);
  std::string scope(1, static_cast<char>('0' + static_cast<int>(lockout.scope)));
  scope.push_back(':');
  const std::string key = lockout.scope == LockoutScope::kSource
                              ? Key(kRefusalNoted, scope + source_key)
                              : Key(kRefusalNoted, scope + AccountKey(account), source_key);
  return store_.PutIfAbsent(key, "1", std::max<std::chrono::milliseconds>(
                                          lockout.remaining, std::chrono::seconds(1)));
}

// Adds one failure to the counter; returns how many it holds.
Result<size_t> LoginThrottle::Count(const std::string& counter_key) {
  TB_RETURN_IF_ERROR(store_.AddToSet(counter_key, random_.Hex(8), options_.window));
  auto failures = store_.Members(counter_key);
  if (!failures.ok()) return std::move(failures).error();
  return failures->size();
}

Result<std::optional<Lockout>> LoginThrottle::RecordFailure(std::string_view account,
                                                            LoginSource source) {
  const std::string source_key = SourceKey(source);
  const std::string account_key = AccountKey(account);
  const int64_t now = clock_.NowMillis();
  const int64_t lock_until = now + milliseconds(options_.lockout).count();
  std::optional<Lockout> started;

  const std::string pair_counter = Key(kPairFailures, account_key, source_key);
  auto pair = Count(pair_counter);
  if (!pair.ok()) return std::move(pair).error();
  if (*pair >= static_cast<size_t>(options_.account_failures)) {
    TB_RETURN_IF_ERROR(store_.Put(Key(kPairLock, account_key, source_key),
                                  std::to_string(lock_until), options_.lockout));
    TB_RETURN_IF_ERROR(store_.EraseSet(pair_counter));
    started = Lockout{LockoutScope::kAccountFromSource, source.kind, options_.lockout};
  }

  const int source_limit =
      source.kind == LoginSource::Kind::kIp ? options_.ip_failures : options_.app_failures;
  const std::string source_counter = Key(kSourceFailures, source_key);
  auto by_source = Count(source_counter);
  if (!by_source.ok()) return std::move(by_source).error();
  if (*by_source >= static_cast<size_t>(source_limit)) {
    TB_RETURN_IF_ERROR(
        store_.Put(Key(kSourceLock, source_key), std::to_string(lock_until), options_.lockout));
    TB_RETURN_IF_ERROR(store_.EraseSet(source_counter));
    if (!started) started = Lockout{LockoutScope::kSource, source.kind, options_.lockout};
  }

  auto total = Count(Key(kAccountFailures, account_key));
  if (!total.ok()) return std::move(total).error();
  if (*total >= static_cast<size_t>(options_.delay_after)) {
    const size_t doublings = std::min<size_t>(*total - options_.delay_after, 30);
    const milliseconds delay =
        std::min(milliseconds(1000LL << doublings), milliseconds(options_.max_delay));
    if (delay.count() > 0) {
      TB_RETURN_IF_ERROR(
          store_.Put(Key(kAccountDelay, account_key), std::to_string(now + delay.count()), delay));
    }
  }
  return started;
}

Status LoginThrottle::RecordSuccess(std::string_view account, LoginSource source) {
  const std::string source_key = SourceKey(source);
  const std::string account_key = AccountKey(account);
  TB_RETURN_IF_ERROR(store_.EraseSet(Key(kPairFailures, account_key, source_key)));
  return store_.Put(Key(kFamiliar, account_key, source_key), "1", options_.familiar_for);
}

}  // namespace tongban::sso
