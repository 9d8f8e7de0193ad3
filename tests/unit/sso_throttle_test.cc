// LoginThrottle: per-account and per-IP failure counting, lockouts and their
// end, on a MemoryTicketStore driven by a FakeClock.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "core/clock.h"
#include "core/random.h"
#include "sso/throttle.h"
#include "store/memory_ticket_store.h"

namespace tongban::sso {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

class LoginThrottleTest : public ::testing::Test {
 protected:
  LoginThrottleTest() : store_(clock_), throttle_(store_, clock_, random_, Options()) {}

  static ThrottleOptions Options() {
    ThrottleOptions o;
    o.account_failures = 3;
    o.ip_failures = 5;
    o.window = minutes(15);
    o.lockout = minutes(10);
    return o;
  }

  void Fail(std::string_view account, std::string_view ip, int times) {
    for (int i = 0; i < times; ++i) ASSERT_TRUE(throttle_.RecordFailure(account, ip).ok());
  }

  std::optional<Lockout> Lock(std::string_view account, std::string_view ip) {
    auto lock = throttle_.Check(account, ip);
    EXPECT_TRUE(lock.ok());
    return lock.ok() ? *lock : std::nullopt;
  }

  FakeClock clock_;
  OpenSslRandom random_;
  MemoryTicketStore store_;
  LoginThrottle throttle_;
};

TEST_F(LoginThrottleTest, AnAccountIsNotLockedBelowTheLimit) {
  Fail("zhangs", "10.0.0.1", 2);
  EXPECT_FALSE(Lock("zhangs", "10.0.0.1").has_value());
}

TEST_F(LoginThrottleTest, TheFailureThatReachesTheLimitStartsTheLockout) {
  Fail("zhangs", "10.0.0.1", 2);
  auto started = throttle_.RecordFailure("zhangs", "10.0.0.1");
  ASSERT_TRUE(started.ok());
  ASSERT_TRUE(started->has_value());
  EXPECT_FALSE((*started)->by_ip);
  EXPECT_EQ((*started)->remaining, minutes(10));
}

TEST_F(LoginThrottleTest, ALockedAccountIsLockedFromAnyIp) {
  Fail("zhangs", "10.0.0.1", 3);
  auto lock = Lock("zhangs", "10.0.0.2");
  ASSERT_TRUE(lock.has_value());
  EXPECT_FALSE(lock->by_ip);
}

TEST_F(LoginThrottleTest, TheLockoutEndsAfterItsDuration) {
  Fail("zhangs", "10.0.0.1", 3);
  clock_.Advance(minutes(9));
  auto lock = Lock("zhangs", "");
  ASSERT_TRUE(lock.has_value());
  EXPECT_EQ(lock->remaining, minutes(1));
  clock_.Advance(minutes(1));
  EXPECT_FALSE(Lock("zhangs", "").has_value());
}

TEST_F(LoginThrottleTest, ASuccessForgetsTheAccountsFailures) {
  Fail("zhangs", "10.0.0.1", 2);
  ASSERT_TRUE(throttle_.RecordSuccess("zhangs").ok());
  Fail("zhangs", "10.0.0.1", 2);
  EXPECT_FALSE(Lock("zhangs", "10.0.0.1").has_value());
}

TEST_F(LoginThrottleTest, FailuresOutsideTheWindowAreForgotten) {
  Fail("zhangs", "10.0.0.1", 2);
  clock_.Advance(minutes(15));
  Fail("zhangs", "10.0.0.1", 2);
  EXPECT_FALSE(Lock("zhangs", "10.0.0.1").has_value());
}

TEST_F(LoginThrottleTest, LoginNamesAreCountedWithoutLetterCase) {
  Fail("ZhangS", "10.0.0.1", 2);
  Fail("zhangs", "10.0.0.2", 1);
  EXPECT_TRUE(Lock("ZHANGS", "").has_value());
}

TEST_F(LoginThrottleTest, ManyAccountsFailingFromOneIpLockTheIp) {
  for (int i = 0; i < 5; ++i) {
    std::string account("user");
    account.append(std::to_string(i));
    Fail(account, "10.0.0.9", 1);
  }
  auto lock = Lock("someone-else", "10.0.0.9");
  ASSERT_TRUE(lock.has_value());
  EXPECT_TRUE(lock->by_ip);
  EXPECT_FALSE(Lock("someone-else", "10.0.0.8").has_value());
}

TEST_F(LoginThrottleTest, CallsWithoutAnIpNeverLockAnIp) {
  for (int i = 0; i < 10; ++i) {
    std::string account("user");
    account.append(std::to_string(i));
    Fail(account, "", 1);
  }
  EXPECT_FALSE(Lock("someone-else", "").has_value());
}

TEST_F(LoginThrottleTest, TheLockoutMessageStatesTheMinutesLeft) {
  Lockout account{false, seconds(61)};
  EXPECT_EQ(account.Message(), "账号登录失败次数过多，已临时锁定，请 2 分钟后再试");
  Lockout ip{true, seconds(5)};
  EXPECT_EQ(ip.Message(), "该网络登录失败次数过多，已临时限制登录，请 1 分钟后再试");
}

}  // namespace
}  // namespace tongban::sso
