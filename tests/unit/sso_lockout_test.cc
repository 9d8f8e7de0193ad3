// LoginThrottle: failures counted per source (client IP or app), per
// account-and-source and per account; lockouts of one source never reach
// another source, and the per-account delay spares familiar sources. And
// SessionStore's per-user session list, which locking a user ends. On a
// MemoryTicketStore driven by a FakeClock.
#include <gtest/gtest.h>

#include <chrono>
#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "sso/sessions.h"
#include "sso/throttle.h"
#include "store/memory_ticket_store.h"

namespace tongban::sso {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

LoginSource Ip(std::string_view ip) { return LoginSource::Ip(ip); }
LoginSource App(std::string_view code) { return LoginSource::App(code); }

class LoginThrottleTest : public ::testing::Test {
 protected:
  LoginThrottleTest() : store_(clock_), throttle_(store_, clock_, random_, Options()) {}

  static ThrottleOptions Options() {
    ThrottleOptions o;
    o.account_failures = 3;
    o.ip_failures = 5;
    o.app_failures = 8;
    o.window = minutes(15);
    o.lockout = minutes(10);
    o.delay_after = 6;
    o.max_delay = seconds(60);
    o.familiar_for = minutes(60 * 24);
    return o;
  }

  void Fail(std::string_view account, LoginSource source, int times) {
    for (int i = 0; i < times; ++i) ASSERT_TRUE(throttle_.RecordFailure(account, source).ok());
  }

  std::optional<Lockout> Lock(std::string_view account, LoginSource source) {
    auto lock = throttle_.Check(account, source);
    EXPECT_TRUE(lock.ok());
    return lock.ok() ? *lock : std::nullopt;
  }

  FakeClock clock_;
  OpenSslRandom random_;
  MemoryTicketStore store_;
  LoginThrottle throttle_;
};

TEST_F(LoginThrottleTest, AnAccountIsNotLockedBelowTheLimit) {
  Fail("zhangs", Ip("10.0.0.1"), 2);
  EXPECT_FALSE(Lock("zhangs", Ip("10.0.0.1")).has_value());
}

TEST_F(LoginThrottleTest, TheFailureThatReachesTheLimitLocksTheAccountForThatSource) {
  Fail("zhangs", Ip("10.0.0.1"), 2);
  auto started = throttle_.RecordFailure("zhangs", Ip("10.0.0.1"));
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE(started->has_value());
  EXPECT_EQ((*started)->scope, LockoutScope::kAccountFromSource);
  EXPECT_EQ((*started)->remaining, minutes(10));
  auto lock = Lock("zhangs", Ip("10.0.0.1"));
  ASSERT_TRUE(lock.has_value());
  EXPECT_EQ(lock->scope, LockoutScope::kAccountFromSource);
}

TEST_F(LoginThrottleTest, OneSourcesFailuresDoNotLockTheAccountForAnotherSource) {
  Fail("admin", Ip("10.0.0.1"), 3);
  ASSERT_TRUE(Lock("admin", Ip("10.0.0.1")).has_value());
  EXPECT_FALSE(Lock("admin", Ip("10.0.0.2")).has_value());
  EXPECT_FALSE(Lock("admin", App("portal")).has_value());
}

TEST_F(LoginThrottleTest, AnAppsFailuresDoNotLockTheAccountForBrowsers) {
  Fail("admin", App("portal"), 3);
  ASSERT_TRUE(Lock("admin", App("portal")).has_value());
  EXPECT_FALSE(Lock("admin", Ip("10.0.0.2")).has_value());
}

TEST_F(LoginThrottleTest, TheLockoutEndsAfterItsDuration) {
  Fail("zhangs", Ip("10.0.0.1"), 3);
  clock_.Advance(minutes(9));
  auto lock = Lock("zhangs", Ip("10.0.0.1"));
  ASSERT_TRUE(lock.has_value());
  EXPECT_EQ(lock->remaining, minutes(1));
  clock_.Advance(minutes(1));
  EXPECT_FALSE(Lock("zhangs", Ip("10.0.0.1")).has_value());
}

TEST_F(LoginThrottleTest, ASuccessForgetsTheFailuresFromItsSource) {
  Fail("zhangs", Ip("10.0.0.1"), 2);
  ASSERT_TRUE(throttle_.RecordSuccess("zhangs", Ip("10.0.0.1")).ok());
  Fail("zhangs", Ip("10.0.0.1"), 2);
  EXPECT_FALSE(Lock("zhangs", Ip("10.0.0.1")).has_value());
}

TEST_F(LoginThrottleTest, FailuresOutsideTheWindowAreForgotten) {
  Fail("zhangs", Ip("10.0.0.1"), 2);
  clock_.Advance(minutes(15));
  Fail("zhangs", Ip("10.0.0.1"), 2);
  EXPECT_FALSE(Lock("zhangs", Ip("10.0.0.1")).has_value());
}

TEST_F(LoginThrottleTest, LoginNamesAreCountedWithoutLetterCase) {
  Fail("ZhangS", Ip("10.0.0.1"), 2);
  Fail("zhangs", Ip("10.0.0.1"), 1);
  EXPECT_TRUE(Lock("ZHANGS", Ip("10.0.0.1")).has_value());
}

TEST_F(LoginThrottleTest, ManyAccountsFailingFromOneIpLockTheIp) {
  for (int i = 0; i < 5; ++i) Fail("user" + std::to_string(i), Ip("10.0.0.9"), 1);
  auto lock = Lock("someone-else", Ip("10.0.0.9"));
  ASSERT_TRUE(lock.has_value());
  EXPECT_EQ(lock->scope, LockoutScope::kSource);
  EXPECT_FALSE(Lock("someone-else", Ip("10.0.0.8")).has_value());
}

TEST_F(LoginThrottleTest, ManyAccountsFailingThroughOneAppLimitTheApp) {
  for (int i = 0; i < 7; ++i) Fail("user" + std::to_string(i), App("portal"), 1);
  EXPECT_FALSE(Lock("someone-else", App("portal")).has_value());
  auto started = throttle_.RecordFailure("user7", App("portal"));
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE(started->has_value());
  EXPECT_EQ((*started)->scope, LockoutScope::kSource);
  auto lock = Lock("someone-else", App("portal"));
  ASSERT_TRUE(lock.has_value());
  EXPECT_EQ(lock->scope, LockoutScope::kSource);
  EXPECT_EQ(lock->source, LoginSource::Kind::kApp);
  EXPECT_FALSE(Lock("someone-else", App("other")).has_value());
  EXPECT_FALSE(Lock("someone-else", Ip("10.0.0.8")).has_value());
}

TEST_F(LoginThrottleTest, AnAppAndAnIpWithTheSameNameAreDifferentSources) {
  for (int i = 0; i < 5; ++i) Fail("user" + std::to_string(i), Ip("portal"), 1);
  EXPECT_TRUE(Lock("x", Ip("portal")).has_value());
  EXPECT_FALSE(Lock("x", App("portal")).has_value());
}

TEST_F(LoginThrottleTest, ManySourcesFailingOneAccountDelayUnfamiliarSourcesProgressively) {
  // A distributed guesser: two failures from each of three IPs (6 = delay_after).
  for (int i = 0; i < 3; ++i) Fail("admin", Ip("192.0.2." + std::to_string(i)), 2);
  auto lock = Lock("admin", Ip("198.51.100.7"));
  ASSERT_TRUE(lock.has_value());
  EXPECT_EQ(lock->scope, LockoutScope::kAccountDelay);
  EXPECT_EQ(lock->remaining, seconds(1));
  clock_.Advance(seconds(1));
  EXPECT_FALSE(Lock("admin", Ip("198.51.100.7")).has_value());
  Fail("admin", Ip("192.0.2.9"), 1);  // the 7th: 2 s
  EXPECT_EQ(Lock("admin", Ip("198.51.100.7"))->remaining, seconds(2));
  clock_.Advance(seconds(2));
  Fail("admin", Ip("192.0.2.10"), 1);  // the 8th: 4 s
  EXPECT_EQ(Lock("admin", Ip("198.51.100.7"))->remaining, seconds(4));
}

TEST_F(LoginThrottleTest, TheDelayStopsAtItsMaximum) {
  for (int i = 0; i < 20; ++i) Fail("admin", Ip("192.0.2." + std::to_string(i)), 1);
  EXPECT_EQ(Lock("admin", Ip("198.51.100.7"))->remaining, seconds(60));
}

TEST_F(LoginThrottleTest, AFamiliarSourceIsNeverDelayed) {
  ASSERT_TRUE(throttle_.RecordSuccess("admin", Ip("10.1.1.1")).ok());
  for (int i = 0; i < 20; ++i) Fail("admin", Ip("192.0.2." + std::to_string(i)), 1);
  EXPECT_TRUE(Lock("admin", Ip("198.51.100.7")).has_value());
  EXPECT_FALSE(Lock("admin", Ip("10.1.1.1")).has_value());
  EXPECT_FALSE(Lock("ADMIN", Ip("10.1.1.1")).has_value());
}

TEST_F(LoginThrottleTest, FamiliarityFadesAfterItsLifetime) {
  ASSERT_TRUE(throttle_.RecordSuccess("admin", Ip("10.1.1.1")).ok());
  clock_.Advance(minutes(60 * 24));
  for (int i = 0; i < 20; ++i) Fail("admin", Ip("192.0.2." + std::to_string(i)), 1);
  EXPECT_TRUE(Lock("admin", Ip("10.1.1.1")).has_value());
}

TEST_F(LoginThrottleTest, NoDelayWhenTheMaximumIsZero) {
  ThrottleOptions o = Options();
  o.max_delay = seconds(0);
  LoginThrottle throttle(store_, clock_, random_, o);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(throttle.RecordFailure("admin", Ip("192.0.2." + std::to_string(i))).ok());
  }
  auto lock = throttle.Check("admin", Ip("198.51.100.7"));
  ASSERT_TRUE(lock.ok());
  EXPECT_FALSE(lock->has_value());
}

TEST_F(LoginThrottleTest, TheLockoutMessagesStateTheTimeLeft) {
  Lockout account{LockoutScope::kAccountFromSource, LoginSource::Kind::kIp, seconds(61)};
  EXPECT_EQ(account.Message(), "账号登录失败次数过多，已临时锁定，请 2 分钟后再试");
  Lockout ip{LockoutScope::kSource, LoginSource::Kind::kIp, seconds(5)};
  EXPECT_EQ(ip.Message(), "该网络登录失败次数过多，已临时限制登录，请 1 分钟后再试");
  Lockout app{LockoutScope::kSource, LoginSource::Kind::kApp, seconds(900)};
  EXPECT_EQ(app.Message(), "该应用密码登录失败次数过多，已临时限制，请 15 分钟后再试");
  Lockout delay{LockoutScope::kAccountDelay, LoginSource::Kind::kIp, seconds(4)};
  EXPECT_EQ(delay.Message(), "账号登录失败次数过多，请 4 秒后再试");
}

class UserSessionsTest : public ::testing::Test {
 protected:
  UserSessionsTest() : store_(clock_), sessions_(store_, clock_, random_, SessionLifetimes{}) {}

  FakeClock clock_;
  OpenSslRandom random_;
  MemoryTicketStore store_;
  SessionStore sessions_;
};

TEST_F(UserSessionsTest, EverySessionOfAUserIsListedOnceAndThenForgotten) {
  auto browser = sessions_.Create("u1", "zhangs", SessionOrigin::kBrowser);
  auto api = sessions_.Create("u1", "zhangs", SessionOrigin::kApi);
  auto other = sessions_.Create("u2", "lis", SessionOrigin::kBrowser);
  ASSERT_TRUE(browser.ok() && api.ok() && other.ok());
  auto ids = sessions_.TakeUserSessions("u1");
  ASSERT_TRUE(ids.ok());
  std::vector<std::string> want{browser->id, api->id};
  std::sort(ids->begin(), ids->end());
  std::sort(want.begin(), want.end());
  EXPECT_EQ(*ids, want);
  auto again = sessions_.TakeUserSessions("u1");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());
  auto others = sessions_.TakeUserSessions("u2");
  ASSERT_TRUE(others.ok());
  EXPECT_EQ(*others, std::vector<std::string>{other->id});
}

TEST_F(UserSessionsTest, TheListOutlivesAnIdleSessionAsLongAsItsRefreshTokens) {
  auto session = sessions_.Create("u1", "zhangs", SessionOrigin::kApi);
  ASSERT_TRUE(session.ok());
  clock_.Advance(SessionLifetimes{}.refresh_token - std::chrono::seconds(1));
  auto ids = sessions_.TakeUserSessions("u1");
  ASSERT_TRUE(ids.ok());
  EXPECT_EQ(*ids, std::vector<std::string>{session->id});
}

TEST(ClientNetworkTest, IPv6CountsPerSlash64AndIPv4AsItIs) {
  EXPECT_EQ(ClientNetwork("10.0.0.1"), "10.0.0.1");
  EXPECT_EQ(ClientNetwork("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientNetwork("2001:0db8:0001:0002::1"), "2001:db8:1:2::/64");
  EXPECT_EQ(ClientNetwork("2001:db8:1:3::1"), "2001:db8:1:3::/64");
  EXPECT_EQ(ClientNetwork("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(ClientNetwork("otp/2001:db8:1:2::9"), "otp/2001:db8:1:2::/64");
  EXPECT_EQ(ClientNetwork("not an address"), "not an address");
  EXPECT_EQ(ClientNetwork(""), "");
}

TEST_F(LoginThrottleTest, EveryAddressOfOneIPv6Slash64IsOneSource) {
  // Five failures from five addresses of one /64 lock that whole network...
  for (int i = 1; i <= 5; ++i) {
    const std::string ip = "2001:db8:7:7::" + std::to_string(i);
    Fail("user" + std::to_string(i), Ip(ip), 1);
  }
  auto lock = Lock("someone", Ip("2001:db8:7:7:ffff::1"));
  ASSERT_TRUE(lock.has_value());
  EXPECT_EQ(lock->scope, LockoutScope::kSource);
  // ...and not the next /64.
  EXPECT_FALSE(Lock("someone", Ip("2001:db8:7:8::1")).has_value());
}

}  // namespace
}  // namespace tongban::sso
