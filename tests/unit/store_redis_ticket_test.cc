// RedisTicketStore beyond the shared contract, against private redis-servers
// started per test: several nodes sharing one Redis, TTLs as Redis sees them,
// the GETDEL fallback, failing fast when Redis is down or hung, and the
// paced log lines of an outage.
#include <gtest/gtest.h>
#include <hiredis/hiredis.h>
#include <signal.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/redis_ticket_store.h"
#include "store_test_support.h"

namespace tongban {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using store_test::PrivateRedis;

// A plain hiredis connection, to look at what the store wrote.
class RawRedis {
 public:
  explicit RawRedis(int port) : c_(redisConnect("127.0.0.1", port)) {}
  ~RawRedis() { redisFree(c_); }
  long long Integer(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    auto* r = static_cast<redisReply*>(
        redisCommandArgv(c_, static_cast<int>(args.size()), argv.data(), lens.data()));
    long long v = (r != nullptr && r->type == REDIS_REPLY_INTEGER) ? r->integer : -999;
    if (r != nullptr) freeReplyObject(r);
    return v;
  }

 private:
  redisContext* c_;
};

// Routes the default logger (which the store logs to) into a string for the
// life of the object, and puts the previous one back.
class LogCapture {
 public:
  LogCapture() : previous_(spdlog::default_logger()) {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
    sink->set_pattern("%l|%v");
    auto logger = std::make_shared<spdlog::logger>("capture", sink);
    logger->set_level(spdlog::level::trace);
    spdlog::set_default_logger(logger);
  }
  ~LogCapture() { spdlog::set_default_logger(previous_); }
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;

  // The messages logged at `level` ("warning", "info", ...), oldest first.
  std::vector<std::string> Lines(std::string_view level) const {
    std::vector<std::string> lines;
    std::istringstream in(out_.str());
    std::string prefix = std::string(level).append("|");
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with(prefix)) lines.push_back(line.substr(prefix.size()));
    }
    return lines;
  }
  std::string All() const { return out_.str(); }

 private:
  std::ostringstream out_;
  std::shared_ptr<spdlog::logger> previous_;
};

class RedisTicketStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { StartRedis({}); }

  void StartRedis(std::vector<std::string> extra_args) {
    std::string why;
    redis_ = PrivateRedis::Start(&why, std::move(extra_args));
    if (redis_ == nullptr) GTEST_SKIP() << why;
  }

  RedisTicketStore::Options Options() const {
    RedisTicketStore::Options options;
    options.port = redis_->port();
    options.key_prefix = "test:";
    return options;
  }

  std::unique_ptr<RedisTicketStore> OpenStore(RedisTicketStore::Options options) {
    auto store = RedisTicketStore::Open(std::move(options));
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(store).value() : nullptr;
  }
  std::unique_ptr<RedisTicketStore> OpenStore() { return OpenStore(Options()); }

  std::unique_ptr<PrivateRedis> redis_;
};

TEST_F(RedisTicketStoreTest, ATicketIssuedOnOneNodeIsRedeemedOnAnotherExactlyOnce) {
  auto node_a = OpenStore();
  auto node_b = OpenStore();
  ASSERT_TRUE(node_a->Put("ST-1", "session", minutes(5)).ok());
  EXPECT_EQ(node_b->Redeem("ST-1").value(), "session");
  EXPECT_EQ(node_a->Redeem("ST-1").error().code, errc::kNotFound);
}

TEST_F(RedisTicketStoreTest, ConcurrentRedeemsThroughTwoNodesLetExactlyOneSucceed) {
  auto node_a = OpenStore();
  auto node_b = OpenStore();
  for (int round = 0; round < 20; ++round) {
    std::string key = std::to_string(round).append("-ST");
    ASSERT_TRUE(node_a->Put(key, "v", minutes(5)).ok());
    std::atomic<int> successes{0};
    std::vector<std::thread> threads;
    threads.reserve(8);
    for (int t = 0; t < 8; ++t) {
      threads.emplace_back([&, t] {
        RedisTicketStore& node = (t % 2 == 0) ? *node_a : *node_b;
        if (node.Redeem(key).ok()) successes.fetch_add(1);
      });
    }
    for (auto& th : threads) th.join();
    ASSERT_EQ(successes.load(), 1) << "round " << round;
  }
}

TEST_F(RedisTicketStoreTest, KeysCarryThePrefixAndTheirTtl) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Put("ST-1", "v", seconds(90)).ok());
  RawRedis raw(redis_->port());
  long long pttl = raw.Integer({"PTTL", "test:v:ST-1"});
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 90'000);
}

TEST_F(RedisTicketStoreTest, PutIfAbsentSetsTheTtl) {
  auto store = OpenStore();
  ASSERT_TRUE(store->PutIfAbsent("nonce", "v", seconds(30)).value());
  long long pttl = RawRedis(redis_->port()).Integer({"PTTL", "test:v:nonce"});
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 30'000);
}

TEST_F(RedisTicketStoreTest, TouchRestartsTheTtl) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Put("TGC-1", "v", seconds(10)).ok());
  ASSERT_TRUE(store->Touch("TGC-1", minutes(30)).ok());
  EXPECT_GT(RawRedis(redis_->port()).Integer({"PTTL", "test:v:TGC-1"}), 10'000);
}

TEST_F(RedisTicketStoreTest, AddToSetGivesTheSetItsTtl) {
  auto store = OpenStore();
  ASSERT_TRUE(store->AddToSet("issued:s1", "ST-1", seconds(60)).ok());
  long long pttl = RawRedis(redis_->port()).Integer({"PTTL", "test:s:issued:s1"});
  EXPECT_GT(pttl, 0);
  EXPECT_LE(pttl, 60'000);
}

TEST_F(RedisTicketStoreTest, AValueExpiresInRedis) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Put("short", "v", milliseconds(1)).ok());
  // Redis expires on access once the millisecond has passed; wait for that
  // state, with a deadline, rather than for a fixed time.
  auto deadline = std::chrono::steady_clock::now() + seconds(10);
  while (store->Get("short").ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_EQ(store->Get("short").error().code, errc::kNotFound);
}

TEST_F(RedisTicketStoreTest, TwoPrefixesShareARedisWithoutSeeingEachOther) {
  auto options = Options();
  options.key_prefix = "deployment-a:";
  auto a = OpenStore(options);
  options.key_prefix = "deployment-b:";
  auto b = OpenStore(options);
  ASSERT_TRUE(a->Put("ST-1", "from-a", minutes(1)).ok());
  EXPECT_EQ(b->Get("ST-1").error().code, errc::kNotFound);
}

TEST_F(RedisTicketStoreTest, TheStoreRecoversWhenRedisDropsItsIdleConnections) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Put("ST-1", "v", minutes(5)).ok());
  RawRedis raw(redis_->port());
  ASSERT_GE(raw.Integer({"CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes"}), 1);
  auto v = store->Get("ST-1");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, "v");
}

TEST_F(RedisTicketStoreTest, CallsFailAsUnavailableOnceRedisIsStopped) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Put("ST-1", "v", minutes(5)).ok());
  redis_->Stop();
  auto v = store->Get("ST-1");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, errc::kUnavailable);
  EXPECT_TRUE(v.error().message.starts_with("redis: ")) << v.error().message;
  EXPECT_EQ(store->Put("ST-2", "v", minutes(5)).error().code, errc::kUnavailable);
}

TEST_F(RedisTicketStoreTest, CallsFailAsUnavailableWhenRedisHangs) {
  auto options = Options();
  options.command_timeout = milliseconds(200);
  auto store = OpenStore(options);
  ASSERT_TRUE(store->Put("ST-1", "v", minutes(5)).ok());
  kill(redis_->process().pid(), SIGSTOP);
  auto v = store->Get("ST-1");
  kill(redis_->process().pid(), SIGCONT);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, errc::kUnavailable);
}

TEST_F(RedisTicketStoreTest, OpenFailsAsUnavailableWhenNothingListens) {
  RedisTicketStore::Options options;
  options.port = store_test::FreeLoopbackPort();
  auto store = RedisTicketStore::Open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, errc::kUnavailable);
}

class RedisOutageLogTest : public RedisTicketStoreTest {
 protected:
  RedisTicketStore::Options OptionsWithClock() {
    auto options = Options();
    options.clock = &clock_;
    return options;
  }
  std::string Address() const { return "127.0.0.1:" + std::to_string(redis_->port()); }

  FakeClock clock_;
};

TEST_F(RedisOutageLogTest, CallsAgainstAHealthyRedisLogNothing) {
  LogCapture log;
  auto store = OpenStore(OptionsWithClock());
  ASSERT_TRUE(store->Put("ST-1", "v", minutes(5)).ok());
  ASSERT_TRUE(store->Redeem("ST-1").ok());
  EXPECT_EQ(store->Get("ST-1").error().code, errc::kNotFound);
  EXPECT_EQ(log.All(), "");
}

TEST_F(RedisOutageLogTest, AnOutageIsWarnedOnceNamingTheAddressAndTheReason) {
  LogCapture log;
  auto store = OpenStore(OptionsWithClock());
  redis_->Stop();
  for (int i = 0; i < 5; ++i) ASSERT_FALSE(store->Get("ST-1").ok());
  auto warnings = log.Lines("warning");
  ASSERT_EQ(warnings.size(), 1u) << log.All();
  EXPECT_TRUE(warnings[0].starts_with("ticket store: Redis " + Address() + " unreachable: "))
      << warnings[0];
  EXPECT_GT(warnings[0].size(), ("ticket store: Redis " + Address() + " unreachable: ").size());
}

TEST_F(RedisOutageLogTest, ALastingOutageIsWarnedAgainOnlyAfterTenSeconds) {
  LogCapture log;
  auto store = OpenStore(OptionsWithClock());
  redis_->Stop();
  ASSERT_FALSE(store->Get("ST-1").ok());
  clock_.Advance(milliseconds(9'999));
  ASSERT_FALSE(store->Get("ST-1").ok());
  EXPECT_EQ(log.Lines("warning").size(), 1u) << log.All();
  clock_.Advance(milliseconds(1));
  ASSERT_FALSE(store->Get("ST-1").ok());
  auto warnings = log.Lines("warning");
  ASSERT_EQ(warnings.size(), 2u) << log.All();
  EXPECT_NE(warnings[1].find("(2 failed calls since the last warning)"), std::string::npos)
      << warnings[1];
}

TEST_F(RedisOutageLogTest, TheRecoveryAfterAWarnedOutageIsLoggedOnceAsInfo) {
  LogCapture log;
  auto options = OptionsWithClock();
  options.command_timeout = milliseconds(200);
  auto store = OpenStore(options);
  ASSERT_TRUE(store->Put("ST-1", "v", minutes(5)).ok());
  kill(redis_->process().pid(), SIGSTOP);
  auto hung = store->Get("ST-1");
  kill(redis_->process().pid(), SIGCONT);
  ASSERT_FALSE(hung.ok());
  ASSERT_EQ(log.Lines("warning").size(), 1u) << log.All();
  ASSERT_TRUE(store->Get("ST-1").ok());
  ASSERT_TRUE(store->Get("ST-1").ok());
  auto infos = log.Lines("info");
  ASSERT_EQ(infos.size(), 1u) << log.All();
  EXPECT_EQ(infos[0], "ticket store: Redis " + Address() + " reachable again after 1 failed calls");
}

TEST_F(RedisOutageLogTest, AnOutageInsideThePacingIntervalIsNeitherWarnedNorAnnounced) {
  LogCapture log;
  auto options = OptionsWithClock();
  options.command_timeout = milliseconds(200);
  auto store = OpenStore(options);
  ASSERT_TRUE(store->Put("ST-1", "v", minutes(5)).ok());
  for (int outage = 0; outage < 2; ++outage) {
    kill(redis_->process().pid(), SIGSTOP);
    auto hung = store->Get("ST-1");
    kill(redis_->process().pid(), SIGCONT);
    ASSERT_FALSE(hung.ok());
    ASSERT_TRUE(store->Get("ST-1").ok());
    clock_.Advance(seconds(1));
  }
  EXPECT_EQ(log.Lines("warning").size(), 1u) << log.All();
  EXPECT_EQ(log.Lines("info").size(), 1u) << log.All();
}

class RedisWithoutGetdelTest : public RedisTicketStoreTest {
 protected:
  void SetUp() override { StartRedis({"--rename-command", "GETDEL", ""}); }
};

TEST_F(RedisWithoutGetdelTest, RedeemFallsBackToAScriptAndStaysSingleUse) {
  auto store = OpenStore();
  ASSERT_TRUE(store->Put("ST-1", "v", minutes(5)).ok());
  ASSERT_TRUE(store->Put("ST-2", "w", minutes(5)).ok());
  EXPECT_EQ(store->Redeem("ST-1").value(), "v");
  EXPECT_EQ(store->Redeem("ST-1").error().code, errc::kNotFound);
  EXPECT_EQ(store->Redeem("ST-2").value(), "w");
}

class RedisWithPasswordTest : public RedisTicketStoreTest {
 protected:
  void SetUp() override { StartRedis({"--requirepass", "correct-horse"}); }
};

TEST_F(RedisWithPasswordTest, TheRightPasswordIsAccepted) {
  auto options = Options();
  options.password = "correct-horse";
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->Put("k", "v", minutes(1)).ok());
}

TEST_F(RedisWithPasswordTest, AWrongPasswordIsUnavailableAndNotEchoed) {
  auto options = Options();
  options.password = "battery-staple";
  auto store = RedisTicketStore::Open(options);
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, errc::kUnavailable);
  EXPECT_EQ(store.error().message.find("battery-staple"), std::string::npos)
      << store.error().message;
}

TEST_F(RedisWithPasswordTest, TheOutageWarningNeverCarriesThePassword) {
  LogCapture log;
  auto options = Options();
  options.password = "correct-horse";
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  redis_->Stop();
  ASSERT_FALSE(store->Get("k").ok());
  ASSERT_EQ(log.Lines("warning").size(), 1u) << log.All();
  EXPECT_EQ(log.All().find("correct-horse"), std::string::npos) << log.All();
}

TEST(RedisUrlTest, AFullUrlFillsEveryField) {
  auto o = RedisTicketStore::ParseUrl("redis://app:p%40ss@cache.internal:6380/3");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->host, "cache.internal");
  EXPECT_EQ(o->port, 6380);
  EXPECT_EQ(o->username, "app");
  EXPECT_EQ(o->password, "p@ss");
  EXPECT_EQ(o->database, 3);
}

TEST(RedisUrlTest, AHostAloneKeepsTheDefaults) {
  auto o = RedisTicketStore::ParseUrl("redis://10.0.0.5");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->host, "10.0.0.5");
  EXPECT_EQ(o->port, 6379);
  EXPECT_EQ(o->database, 0);
  EXPECT_TRUE(o->password.empty());
}

TEST(RedisUrlTest, APasswordWithoutAUserIsTheDefaultUsersPassword) {
  auto o = RedisTicketStore::ParseUrl("redis://:secret@[::1]:7000");
  ASSERT_TRUE(o.ok()) << o.error().message;
  EXPECT_EQ(o->host, "::1");
  EXPECT_EQ(o->port, 7000);
  EXPECT_TRUE(o->username.empty());
  EXPECT_EQ(o->password, "secret");
}

TEST(RedisUrlTest, AUnixUrlNamesTheSocket) {
  auto o = RedisTicketStore::ParseUrl("unix:///run/redis/redis.sock");
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->unix_socket, "/run/redis/redis.sock");
}

TEST(RedisUrlTest, ABadPortIsInvalidAndTheMessageHidesTheUrl) {
  auto o = RedisTicketStore::ParseUrl("redis://u:topsecret@host:http/0");
  ASSERT_FALSE(o.ok());
  EXPECT_EQ(o.error().code, errc::kInvalidArgument);
  EXPECT_EQ(o.error().message.find("topsecret"), std::string::npos);
}

TEST(RedisUrlTest, AnotherSchemeIsInvalid) {
  EXPECT_EQ(RedisTicketStore::ParseUrl("http://localhost").error().code, errc::kInvalidArgument);
}

}  // namespace
}  // namespace tongban
