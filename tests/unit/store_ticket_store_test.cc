// The TicketStore contract, run against every implementation: the in-memory
// store and Redis (a private redis-server; skipped with the reason if absent).
// Behaviour that needs time to pass is tested per implementation.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/memory_ticket_store.h"
#include "store/redis_ticket_store.h"
#include "store/ticket_store.h"
#include "store_test_support.h"

namespace tongban {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;

store_test::PrivateRedis* SharedRedis(std::string* why) {
  static std::string failure;
  static std::unique_ptr<store_test::PrivateRedis> redis =
      store_test::PrivateRedis::Start(&failure);
  if (redis == nullptr) *why = failure;
  return redis.get();
}

class TicketStoreContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "memory") {
      store_ = std::make_unique<MemoryTicketStore>(clock_);
      return;
    }
    std::string why;
    store_test::PrivateRedis* redis = SharedRedis(&why);
    if (redis == nullptr) GTEST_SKIP() << why;
    RedisTicketStore::Options options;
    options.port = redis->port();
    // One server serves every test of the process; a prefix per test isolates them.
    options.key_prefix =
        std::string("t:") + ::testing::UnitTest::GetInstance()->current_test_info()->name() + ":";
    auto store = RedisTicketStore::Open(options);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(store).value();
  }

  FakeClock clock_;
  std::unique_ptr<TicketStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Stores, TicketStoreContractTest, ::testing::Values("memory", "redis"),
                         [](const auto& info) { return info.param; });

TEST_P(TicketStoreContractTest, GetReturnsWhatPutStored) {
  ASSERT_TRUE(store_->Put("ST-1", "session-a", minutes(5)).ok());
  auto v = store_->Get("ST-1");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(*v, "session-a");
}

TEST_P(TicketStoreContractTest, GetOfAMissingKeyIsNotFound) {
  auto v = store_->Get("never-stored");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, errc::kNotFound);
}

TEST_P(TicketStoreContractTest, PutReplacesThePreviousValue) {
  ASSERT_TRUE(store_->Put("k", "first", minutes(5)).ok());
  ASSERT_TRUE(store_->Put("k", "a longer second value", minutes(5)).ok());
  EXPECT_EQ(store_->Get("k").value(), "a longer second value");
}

TEST_P(TicketStoreContractTest, ValuesAreStoredByteForByte) {
  static const char kRaw[] = "a\0b\xff\n\r c";
  const std::string binary(kRaw, sizeof(kRaw) - 1);
  ASSERT_TRUE(store_->Put("bin", binary, minutes(5)).ok());
  EXPECT_EQ(store_->Get("bin").value(), binary);
}

TEST_P(TicketStoreContractTest, AnEmptyValueIsAValue) {
  ASSERT_TRUE(store_->Put("empty", "", minutes(5)).ok());
  auto v = store_->Get("empty");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, "");
}

TEST_P(TicketStoreContractTest, GetDoesNotConsumeTheValue) {
  ASSERT_TRUE(store_->Put("k", "v", minutes(5)).ok());
  ASSERT_TRUE(store_->Get("k").ok());
  EXPECT_TRUE(store_->Get("k").ok());
}

TEST_P(TicketStoreContractTest, PutIfAbsentStoresWhenTheKeyIsFree) {
  auto stored = store_->PutIfAbsent("nonce-1", "seen", minutes(5));
  ASSERT_TRUE(stored.ok()) << stored.error().message;
  EXPECT_TRUE(*stored);
  EXPECT_EQ(store_->Get("nonce-1").value(), "seen");
}

TEST_P(TicketStoreContractTest, PutIfAbsentKeepsALiveValueAndReportsFalse) {
  ASSERT_TRUE(store_->Put("nonce-1", "first", minutes(5)).ok());
  auto stored = store_->PutIfAbsent("nonce-1", "replay", minutes(5));
  ASSERT_TRUE(stored.ok());
  EXPECT_FALSE(*stored);
  EXPECT_EQ(store_->Get("nonce-1").value(), "first");
}

TEST_P(TicketStoreContractTest, ConcurrentPutIfAbsentOfOneKeyStoresExactlyOnce) {
  std::atomic<int> stored{0};
  std::vector<std::thread> threads;
  threads.reserve(8);
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      auto r = store_->PutIfAbsent("nonce-race", "x", minutes(5));
      if (r.ok() && *r) stored.fetch_add(1);
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(stored.load(), 1);
}

TEST_P(TicketStoreContractTest, PutIfPresentReplacesALiveValueOnly) {
  auto absent = store_->PutIfPresent("rt-1", "back", minutes(5));
  ASSERT_TRUE(absent.ok()) << absent.error().message;
  EXPECT_FALSE(*absent);
  EXPECT_EQ(store_->Get("rt-1").error().code, errc::kNotFound) << "never created";
  ASSERT_TRUE(store_->Put("rt-1", "first", minutes(5)).ok());
  auto present = store_->PutIfPresent("rt-1", "second", minutes(5));
  ASSERT_TRUE(present.ok());
  EXPECT_TRUE(*present);
  EXPECT_EQ(store_->Get("rt-1").value(), "second");
  // Erased meanwhile (a logout): not brought back.
  ASSERT_TRUE(store_->Erase("rt-1").ok());
  EXPECT_FALSE(store_->PutIfPresent("rt-1", "third", minutes(5)).value());
  EXPECT_EQ(store_->Get("rt-1").error().code, errc::kNotFound);
  EXPECT_EQ(store_->PutIfPresent("", "x", minutes(5)).error().code, errc::kInvalidArgument);
}

TEST_P(TicketStoreContractTest, RedeemReturnsTheValueAndRemovesIt) {
  ASSERT_TRUE(store_->Put("ST-2", "session-b", minutes(5)).ok());
  auto first = store_->Redeem("ST-2");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, "session-b");
  auto second = store_->Redeem("ST-2");
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, errc::kNotFound);
  EXPECT_FALSE(store_->Get("ST-2").ok());
}

TEST_P(TicketStoreContractTest, RedeemOfAMissingKeyIsNotFound) {
  auto r = store_->Redeem("ST-none");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kNotFound);
}

TEST_P(TicketStoreContractTest, ConcurrentRedeemsOfOneTicketLetExactlyOneSucceed) {
  constexpr int kThreads = 16;
  for (int round = 0; round < 20; ++round) {
    std::string key = std::to_string(round);
    key.append("-ST-race");
    ASSERT_TRUE(store_->Put(key, "winner", minutes(5)).ok());
    std::atomic<int> successes{0};
    std::atomic<int> not_found{0};
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&] {
        while (!go.load()) std::this_thread::yield();
        auto r = store_->Redeem(key);
        if (r.ok() && *r == "winner") successes.fetch_add(1);
        if (!r.ok() && r.error().code == errc::kNotFound) not_found.fetch_add(1);
      });
    }
    go.store(true);
    for (auto& th : threads) th.join();
    ASSERT_EQ(successes.load(), 1) << "round " << round;
    ASSERT_EQ(not_found.load(), kThreads - 1) << "round " << round;
  }
}

TEST_P(TicketStoreContractTest, EraseRemovesTheValue) {
  ASSERT_TRUE(store_->Put("k", "v", minutes(5)).ok());
  ASSERT_TRUE(store_->Erase("k").ok());
  EXPECT_EQ(store_->Get("k").error().code, errc::kNotFound);
}

TEST_P(TicketStoreContractTest, EraseOfAMissingKeySucceeds) {
  EXPECT_TRUE(store_->Erase("never-stored").ok());
}

TEST_P(TicketStoreContractTest, TouchOfALiveValueSucceedsAndKeepsTheValue) {
  ASSERT_TRUE(store_->Put("TGC-1", "user-1", minutes(5)).ok());
  ASSERT_TRUE(store_->Touch("TGC-1", minutes(30)).ok());
  EXPECT_EQ(store_->Get("TGC-1").value(), "user-1");
}

TEST_P(TicketStoreContractTest, TouchOfAMissingKeyIsNotFound) {
  Status st = store_->Touch("TGC-none", minutes(5));
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, errc::kNotFound);
}

TEST_P(TicketStoreContractTest, ASetHoldsEachDistinctMemberOnce) {
  ASSERT_TRUE(store_->AddToSet("issued:s1", "ST-1", minutes(30)).ok());
  ASSERT_TRUE(store_->AddToSet("issued:s1", "ST-2", minutes(30)).ok());
  ASSERT_TRUE(store_->AddToSet("issued:s1", "ST-1", minutes(30)).ok());
  auto members = store_->Members("issued:s1");
  ASSERT_TRUE(members.ok()) << members.error().message;
  std::sort(members->begin(), members->end());
  EXPECT_EQ(*members, (std::vector<std::string>{"ST-1", "ST-2"}));
}

TEST_P(TicketStoreContractTest, TheMembersOfAMissingSetAreEmpty) {
  auto members = store_->Members("issued:none");
  ASSERT_TRUE(members.ok());
  EXPECT_TRUE(members->empty());
}

TEST_P(TicketStoreContractTest, EraseSetRemovesEveryMember) {
  ASSERT_TRUE(store_->AddToSet("issued:s2", "ST-1", minutes(30)).ok());
  ASSERT_TRUE(store_->EraseSet("issued:s2").ok());
  EXPECT_TRUE(store_->Members("issued:s2").value().empty());
  EXPECT_TRUE(store_->EraseSet("issued:s2").ok());
}

TEST_P(TicketStoreContractTest, ValueKeysAndSetKeysDoNotCollide) {
  ASSERT_TRUE(store_->Put("same", "value", minutes(5)).ok());
  ASSERT_TRUE(store_->AddToSet("same", "member", minutes(5)).ok());
  EXPECT_EQ(store_->Get("same").value(), "value");
  EXPECT_EQ(store_->Members("same").value(), std::vector<std::string>{"member"});
  ASSERT_TRUE(store_->Erase("same").ok());
  EXPECT_EQ(store_->Members("same").value().size(), 1u);
}

TEST_P(TicketStoreContractTest, AnEmptyKeyIsInvalid) {
  EXPECT_EQ(store_->Put("", "v", minutes(5)).error().code, errc::kInvalidArgument);
  EXPECT_EQ(store_->Get("").error().code, errc::kInvalidArgument);
  EXPECT_EQ(store_->AddToSet("", "m", minutes(5)).error().code, errc::kInvalidArgument);
}

TEST_P(TicketStoreContractTest, ATtlThatIsNotPositiveIsInvalid) {
  EXPECT_EQ(store_->Put("k", "v", milliseconds(0)).error().code, errc::kInvalidArgument);
  EXPECT_EQ(store_->PutIfAbsent("k", "v", milliseconds(-5)).error().code, errc::kInvalidArgument);
  EXPECT_EQ(store_->Touch("k", milliseconds(0)).error().code, errc::kInvalidArgument);
}

TEST_P(TicketStoreContractTest, AnOversizedKeyOrValueIsTooLarge) {
  std::string long_key(TicketStore::kMaxKeyBytes + 1, 'k');
  std::string big_value(TicketStore::kMaxValueBytes + 1, 'v');
  EXPECT_EQ(store_->Put(long_key, "v", minutes(5)).error().code, errc::kTooLarge);
  EXPECT_EQ(store_->Put("k", big_value, minutes(5)).error().code, errc::kTooLarge);
  EXPECT_FALSE(store_->Get("k").ok());
}

TEST_P(TicketStoreContractTest, ApproximateSizeCountsNewValuesAndSets) {
  size_t before = store_->ApproximateSize();
  ASSERT_TRUE(store_->Put("a", "1", minutes(5)).ok());
  ASSERT_TRUE(store_->Put("b", "2", minutes(5)).ok());
  ASSERT_TRUE(store_->AddToSet("s", "m", minutes(5)).ok());
  EXPECT_EQ(store_->ApproximateSize(), before + 3);
}

}  // namespace
}  // namespace tongban
