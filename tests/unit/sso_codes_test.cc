// OneTimeCodes (sso/one_time_codes.h) on an in-memory SQLite with a FakeClock:
// codes bound to purpose and number, stored hashed, single use, short-lived,
// superseded by a newer one, killed by wrong guesses; sending throttled per
// number, client and account; failed checks locked out. And the SMS channel
// rules (the sandbox only when allowed).
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <regex>
#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "sso/one_time_codes.h"
#include "sso/sms_channel.h"
#include "sso/throttle.h"
#include "store/memory_ticket_store.h"
#include "store/sql_store.h"
#include "store_test_support.h"

namespace tongban::sso {
namespace {

using std::chrono::minutes;
using std::chrono::seconds;

// The test's phone: what the sender handed over, waited for on a condition.
class CaptureChannel : public SmsChannel {
 public:
  std::string_view name() const override { return "capture"; }
  Status Send(const SmsMessage& message) override {
    std::lock_guard lock(mu_);
    messages_.push_back(message);
    cv_.notify_all();
    return Status::Ok();
  }
  SmsMessage WaitFor(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return messages_.size() >= n; });
    return messages_[n - 1];
  }
  size_t count() {
    std::lock_guard lock(mu_);
    return messages_.size();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<SmsMessage> messages_;
};

std::string CodeIn(const std::string& text) {
  std::smatch m;
  EXPECT_TRUE(std::regex_search(text, m, std::regex("([0-9]{6})")));
  return m[1];
}

class CodesTest : public ::testing::Test {
 protected:
  CodesTest()
      : sql_(Open()),
        tickets_(clock_),
        sender_(channel_),
        failures_(tickets_, clock_, random_, FailureOptions()),
        codes_(*sql_, clock_, random_, sender_, "test key", failures_, Limits()) {}

  static std::unique_ptr<SqlStore> Open() {
    auto store = SqlStore::Open("sqlite::memory:");
    EXPECT_TRUE(store.ok());
    EXPECT_TRUE((*store)->Migrate(OneTimeCodes::Migrations()).ok());
    return std::move(*store);
  }
  static ThrottleOptions FailureOptions() {
    ThrottleOptions o;
    o.account_failures = 8;
    o.ip_failures = 12;
    o.window = minutes(15);
    o.lockout = minutes(15);
    o.max_delay = seconds(0);
    return o;
  }
  static CodeLimits Limits() {
    CodeLimits l;
    l.ttl = minutes(5);
    l.max_attempts = 3;
    l.resend_after = seconds(60);
    l.window = minutes(60);
    l.per_number = 3;
    l.per_ip = 6;
    l.per_account = 4;
    return l;
  }

  // Sends a code and returns it as the phone received it.
  std::string SendAndRead(CodePurpose purpose, const std::string& mobile,
                          const std::string& ip = "10.0.0.1", const std::string& account = "") {
    Status s = codes_.Send({purpose, mobile, account, ip, true},
                           [](std::string_view code) { return "code " + std::string(code); });
    EXPECT_TRUE(s.ok()) << (s.ok() ? "" : s.error().message);
    return CodeIn(channel_.WaitFor(++sent_).text);
  }

  int SendError(CodePurpose purpose, const std::string& mobile, const std::string& ip,
                const std::string& account = "") {
    Status s = codes_.Send({purpose, mobile, account, ip, true},
                           [](std::string_view code) { return std::string(code); });
    if (s.ok()) ++sent_;
    return s.ok() ? 0 : s.error().code;
  }

  int Check(CodePurpose purpose, const std::string& mobile, const std::string& code,
            const std::string& ip = "10.0.0.1") {
    auto r = codes_.Verify(purpose, mobile, code, ip);
    return r.ok() ? 0 : r.error().code;
  }

  FakeClock clock_;
  FakeRandom random_;
  std::unique_ptr<SqlStore> sql_;
  MemoryTicketStore tickets_;
  CaptureChannel channel_;
  AsyncSmsSender sender_;
  LoginThrottle failures_;
  OneTimeCodes codes_;
  size_t sent_ = 0;
};

TEST_F(CodesTest, ACodeChecksOnceAndReturnsItsAccount) {
  Status s = codes_.Send({CodePurpose::kRecover, "13800000001", "user-1", "10.0.0.1", true},
                         [](std::string_view code) { return "code " + std::string(code); });
  ASSERT_TRUE(s.ok());
  std::string code = CodeIn(channel_.WaitFor(1).text);
  auto checked = codes_.Verify(CodePurpose::kRecover, "13800000001", code, "10.0.0.1");
  ASSERT_TRUE(checked.ok());
  EXPECT_EQ(checked->account, "user-1");
  EXPECT_EQ(Check(CodePurpose::kRecover, "13800000001", code), code_error::kRejected);
}

TEST_F(CodesTest, OnlyAHashIsStored) {
  std::string code = SendAndRead(CodePurpose::kRegister, "13800000002");
  std::string hash;
  (void)sql_->WithSession([&](soci::session& s) -> Status {
    s << "SELECT code_hash FROM sso_codes", soci::into(hash);
    return Status::Ok();
  });
  EXPECT_EQ(hash.size(), 64u);
  EXPECT_EQ(hash.find(code), std::string::npos);
}

TEST_F(CodesTest, ACodeExpiresAfterItsLife) {
  std::string code = SendAndRead(CodePurpose::kRegister, "13800000003");
  clock_.Advance(minutes(5) + std::chrono::milliseconds(1));
  EXPECT_EQ(Check(CodePurpose::kRegister, "13800000003", code), code_error::kRejected);
}

TEST_F(CodesTest, ACodeJustInsideItsLifeStillWorks) {
  std::string code = SendAndRead(CodePurpose::kRegister, "13800000013");
  clock_.Advance(minutes(5) - std::chrono::milliseconds(1));
  EXPECT_EQ(Check(CodePurpose::kRegister, "13800000013", code), 0);
}

TEST_F(CodesTest, ANewerCodeSupersedesTheOlder) {
  std::string first = SendAndRead(CodePurpose::kRegister, "13800000004");
  clock_.Advance(seconds(61));
  std::string second = SendAndRead(CodePurpose::kRegister, "13800000004");
  if (first != second) {
    EXPECT_EQ(Check(CodePurpose::kRegister, "13800000004", first), code_error::kRejected);
  }
  EXPECT_EQ(Check(CodePurpose::kRegister, "13800000004", second), 0);
}

TEST_F(CodesTest, WrongGuessesKillTheCode) {
  std::string code = SendAndRead(CodePurpose::kRegister, "13800000005");
  std::string wrong = code == "000000" ? "111111" : "000000";
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(Check(CodePurpose::kRegister, "13800000005", wrong), code_error::kRejected);
  }
  EXPECT_EQ(Check(CodePurpose::kRegister, "13800000005", code), code_error::kRejected);
}

TEST_F(CodesTest, ACodeIsBoundToItsPurposeAndNumber) {
  std::string code = SendAndRead(CodePurpose::kRegister, "13800000006");
  EXPECT_EQ(Check(CodePurpose::kRecover, "13800000006", code), code_error::kRejected);
  EXPECT_EQ(Check(CodePurpose::kLogin2fa, "13800000006", code), code_error::kRejected);
  EXPECT_EQ(Check(CodePurpose::kRegister, "13800000007", code), code_error::kRejected);
  EXPECT_EQ(Check(CodePurpose::kRegister, "13800000006", code), 0);
}

TEST_F(CodesTest, ResendingWithinTheIntervalIsThrottled) {
  SendAndRead(CodePurpose::kRegister, "13800000008");
  EXPECT_EQ(SendError(CodePurpose::kRegister, "13800000008", "10.0.0.1"),
            code_error::kThrottled);
  // Another purpose has its own interval.
  EXPECT_EQ(SendError(CodePurpose::kRecover, "13800000008", "10.0.0.1"), 0);
  clock_.Advance(seconds(60));
  EXPECT_EQ(SendError(CodePurpose::kRegister, "13800000008", "10.0.0.1"), 0);
}

TEST_F(CodesTest, ANumberGetsSoManyCodesAWindow) {
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(SendError(CodePurpose::kRegister, "13800000009", "10.0.0.2"), 0);
    clock_.Advance(seconds(61));
  }
  EXPECT_EQ(SendError(CodePurpose::kRegister, "13800000009", "10.0.0.3"),
            code_error::kThrottled);
  clock_.Advance(minutes(60));
  EXPECT_EQ(SendError(CodePurpose::kRegister, "13800000009", "10.0.0.3"), 0);
}

TEST_F(CodesTest, AClientGetsSoManyCodesAWindowWhateverTheNumbers) {
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(SendError(CodePurpose::kRegister, "1380000010" + std::to_string(i), "10.0.0.4"), 0);
  }
  EXPECT_EQ(SendError(CodePurpose::kRegister, "13800000199", "10.0.0.4"),
            code_error::kThrottled);
  EXPECT_EQ(SendError(CodePurpose::kRegister, "13800000199", "10.0.0.5"), 0);
}

TEST_F(CodesTest, AnAccountGetsSoManyCodesAWindow) {
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(SendError(CodePurpose::kLogin2fa, "1380000020" + std::to_string(i),
                        "10.0.1." + std::to_string(i), "user-9"),
              0);
  }
  EXPECT_EQ(SendError(CodePurpose::kLogin2fa, "13800000299", "10.0.2.1", "user-9"),
            code_error::kThrottled);
}

TEST_F(CodesTest, AnUndeliveredCodeIsCountedButNeverSent) {
  Status s = codes_.Send({CodePurpose::kRecover, "13800000300", "", "10.0.0.6", false},
                         [](std::string_view code) { return std::string(code); });
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(SendError(CodePurpose::kRecover, "13800000300", "10.0.0.6"),
            code_error::kThrottled);  // the resend interval counts it
  // A delivered code afterwards proves the sender had nothing queued before it.
  SendAndRead(CodePurpose::kRegister, "13800000301", "10.0.0.7");
  EXPECT_EQ(channel_.count(), 1u);
}

TEST_F(CodesTest, RepeatedFailedChecksLockTheNumberOutForThisClient) {
  SendAndRead(CodePurpose::kRecover, "13800000400");
  for (int i = 0; i < 8; ++i) Check(CodePurpose::kRecover, "13800000400", "999999");
  EXPECT_EQ(Check(CodePurpose::kRecover, "13800000400", "999999"), code_error::kLockedOut);
  // Another client is not locked out of that number.
  EXPECT_EQ(Check(CodePurpose::kRecover, "13800000400", "999999", "10.9.9.9"),
            code_error::kRejected);
}

TEST(SmsChannelTest, ASandboxChannelNeedsExplicitPermission) {
  SmsChannelSettings s;
  auto none = OpenSmsChannel(s);
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("not set"), std::string::npos);
  s.name = "sandbox";
  s.sandbox_file = "/tmp/unused";
  auto refused = OpenSmsChannel(s);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("sms_sandbox = true"), std::string::npos);
  s.allow_sandbox = true;
  EXPECT_TRUE(OpenSmsChannel(s).ok());
  s.name = "nosuch";
  auto unknown = OpenSmsChannel(s);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("registered: sandbox"), std::string::npos);
}

TEST(SmsChannelTest, NumbersAreMaskedForLogs) {
  EXPECT_EQ(MaskMobile("13812345678"), "138****5678");
  EXPECT_EQ(MaskMobile("123"), "***");
}

TEST_F(CodesTest, AnIPv6ClientIsCountedPerSlash64) {
  // Six codes from six addresses of one /64 use up that network's allowance.
  for (int i = 0; i < 6; ++i) {
    EXPECT_EQ(SendError(CodePurpose::kRegister, "1380000040" + std::to_string(i),
                        "2001:db8:5:5::" + std::to_string(i + 1)),
              0);
  }
  EXPECT_EQ(SendError(CodePurpose::kRegister, "13800000499", "2001:db8:5:5:9::1"),
            code_error::kThrottled);
  EXPECT_EQ(SendError(CodePurpose::kRegister, "13800000499", "2001:db8:5:6::1"), 0);
}

// review16b: the per-network limit was a count read under a lock per number
// only, so sends for different numbers from one network, at once on several
// nodes, each read a count under the limit. Two "nodes" (stores) on one
// PostgreSQL, sixteen numbers at once from one address: exactly the limit.
TEST(CodesOnPostgresTest, ConcurrentSendsFromOneNetworkNeverPassItsLimit) {
  store_test::TempDir dir;
  std::string why;
  const std::string url = store_test::FreshDatabaseUrl("postgres", dir, &why);
  if (url.empty()) GTEST_SKIP() << why;
  FakeClock clock;
  OpenSslRandom random;
  MemoryTicketStore tickets(clock);
  CaptureChannel channel;
  AsyncSmsSender sender(channel);
  ThrottleOptions throttle;
  LoginThrottle failures(tickets, clock, random, throttle);
  CodeLimits limits;
  limits.per_ip = 5;
  limits.per_number = 3;
  limits.per_account = 100;
  std::vector<std::unique_ptr<SqlStore>> stores;
  std::vector<std::unique_ptr<OneTimeCodes>> nodes;
  for (int n = 0; n < 2; ++n) {
    auto store = SqlStore::Open(url);
    ASSERT_TRUE(store.ok()) << store.error().message;
    ASSERT_TRUE((*store)->Migrate(OneTimeCodes::Migrations()).ok());
    stores.push_back(std::move(*store));
    nodes.push_back(std::make_unique<OneTimeCodes>(*stores.back(), clock, random, sender,
                                                   "test key", failures, limits));
  }
  for (int round = 0; round < 3; ++round) {
    std::atomic<int> sent{0}, ready{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int i = 0; i < 16; ++i) {
      threads.emplace_back([&, i] {
        ready.fetch_add(1);
        while (!go.load()) std::this_thread::yield();
        char mobile[12];
        std::snprintf(mobile, sizeof(mobile), "139%02d%06d", round, i);
        Status s = nodes[static_cast<size_t>(i % 2)]->Send(
            {CodePurpose::kRegister, mobile, "", "198.51.100." + std::to_string(round + 1), false},
            [](std::string_view code) { return std::string(code); });
        if (s.ok()) sent.fetch_add(1);
      });
    }
    while (ready.load() < 16) std::this_thread::yield();
    go.store(true);
    for (std::thread& t : threads) t.join();
    EXPECT_EQ(sent.load(), limits.per_ip) << "round " << round;
  }
}

}  // namespace
}  // namespace tongban::sso
