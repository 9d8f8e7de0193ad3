// MemoryTicketStore behaviour beyond the shared contract: expiry driven by a
// FakeClock, sweeping, and correctness of the sharded table under churn.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "store/memory_ticket_store.h"

namespace tongban {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

// prefix + number. (GCC 12 raises a false -Wrestrict on "literal" + std::string.)
std::string Numbered(std::string_view prefix, int n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

class MemoryTicketStoreTest : public ::testing::Test {
 protected:
  FakeClock clock_;
  MemoryTicketStore store_{clock_};
};

TEST_F(MemoryTicketStoreTest, AValueLivesUntilItsTtlHasPassed) {
  ASSERT_TRUE(store_.Put("ST-1", "v", seconds(10)).ok());
  clock_.Advance(milliseconds(9'999));
  EXPECT_TRUE(store_.Get("ST-1").ok());
  clock_.Advance(milliseconds(1));
  auto v = store_.Get("ST-1");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, errc::kNotFound);
}

TEST_F(MemoryTicketStoreTest, AnExpiredTicketCannotBeRedeemed) {
  ASSERT_TRUE(store_.Put("ST-1", "v", seconds(10)).ok());
  clock_.Advance(seconds(10));
  EXPECT_EQ(store_.Redeem("ST-1").error().code, errc::kNotFound);
}

TEST_F(MemoryTicketStoreTest, PutIfPresentDoesNotReviveAnExpiredValue) {
  ASSERT_TRUE(store_.Put("rt-1", "v", seconds(10)).ok());
  clock_.Advance(seconds(10));
  EXPECT_FALSE(store_.PutIfPresent("rt-1", "back", minutes(5)).value());
  EXPECT_EQ(store_.Get("rt-1").error().code, errc::kNotFound);
}

TEST_F(MemoryTicketStoreTest, TouchSlidesTheExpiryForward) {
  ASSERT_TRUE(store_.Put("TGC-1", "user", minutes(30)).ok());
  clock_.Advance(minutes(20));
  ASSERT_TRUE(store_.Touch("TGC-1", minutes(30)).ok());
  clock_.Advance(minutes(20));  // 40 minutes after Put, 20 after Touch
  EXPECT_TRUE(store_.Get("TGC-1").ok());
  clock_.Advance(minutes(10));
  EXPECT_FALSE(store_.Get("TGC-1").ok());
}

TEST_F(MemoryTicketStoreTest, TouchCanShortenTheExpiry) {
  ASSERT_TRUE(store_.Put("TGC-1", "user", minutes(30)).ok());
  ASSERT_TRUE(store_.Touch("TGC-1", seconds(1)).ok());
  clock_.Advance(seconds(1));
  EXPECT_FALSE(store_.Get("TGC-1").ok());
}

TEST_F(MemoryTicketStoreTest, TouchOfAnExpiredValueIsNotFoundAndDoesNotRevive) {
  ASSERT_TRUE(store_.Put("TGC-1", "user", seconds(5)).ok());
  clock_.Advance(seconds(5));
  EXPECT_EQ(store_.Touch("TGC-1", minutes(30)).error().code, errc::kNotFound);
  EXPECT_FALSE(store_.Get("TGC-1").ok());
}

TEST_F(MemoryTicketStoreTest, PutIfAbsentTakesOverAnExpiredValue) {
  ASSERT_TRUE(store_.Put("nonce", "old", seconds(5)).ok());
  clock_.Advance(seconds(5));
  auto stored = store_.PutIfAbsent("nonce", "new", seconds(5));
  ASSERT_TRUE(stored.ok());
  EXPECT_TRUE(*stored);
  EXPECT_EQ(store_.Get("nonce").value(), "new");
}

TEST_F(MemoryTicketStoreTest, ASetIsEmptyOnceItsTtlHasPassed) {
  ASSERT_TRUE(store_.AddToSet("issued:s", "ST-1", minutes(30)).ok());
  clock_.Advance(minutes(30));
  EXPECT_TRUE(store_.Members("issued:s").value().empty());
}

TEST_F(MemoryTicketStoreTest, AddToSetRestartsTheSetTtl) {
  ASSERT_TRUE(store_.AddToSet("issued:s", "ST-1", minutes(30)).ok());
  clock_.Advance(minutes(20));
  ASSERT_TRUE(store_.AddToSet("issued:s", "ST-2", minutes(30)).ok());
  clock_.Advance(minutes(20));
  EXPECT_EQ(store_.Members("issued:s").value().size(), 2u);
}

TEST_F(MemoryTicketStoreTest, AddingToAnExpiredSetStartsAnEmptyOne) {
  ASSERT_TRUE(store_.AddToSet("issued:s", "ST-old", minutes(30)).ok());
  clock_.Advance(minutes(30));
  ASSERT_TRUE(store_.AddToSet("issued:s", "ST-new", minutes(30)).ok());
  EXPECT_EQ(store_.Members("issued:s").value(), std::vector<std::string>{"ST-new"});
}

TEST_F(MemoryTicketStoreTest, SweepReclaimsExpiredValuesAndSetsAndKeepsLiveOnes) {
  ASSERT_TRUE(store_.Put("short-1", "v", seconds(1)).ok());
  ASSERT_TRUE(store_.Put("short-2", "v", seconds(1)).ok());
  ASSERT_TRUE(store_.AddToSet("short-set", "m", seconds(1)).ok());
  ASSERT_TRUE(store_.Put("long", "v", minutes(10)).ok());
  clock_.Advance(seconds(2));
  EXPECT_EQ(store_.Sweep(), 3u);
  EXPECT_EQ(store_.ApproximateSize(), 1u);
  EXPECT_EQ(store_.Get("long").value(), "v");
}

TEST_F(MemoryTicketStoreTest, ReadingAnExpiredValueReclaimsIt) {
  ASSERT_TRUE(store_.Put("k", "v", seconds(1)).ok());
  clock_.Advance(seconds(1));
  EXPECT_FALSE(store_.Get("k").ok());
  EXPECT_EQ(store_.ApproximateSize(), 0u);
}

TEST(MemoryTicketStoreSweeperTest, TheBackgroundSweeperReclaimsExpiredEntries) {
  FakeClock clock;
  MemoryTicketStore::Options options;
  options.sweep_interval = milliseconds(1);
  MemoryTicketStore store(clock, options);
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(store.Put(Numbered("k", i), "v", seconds(1)).ok());
  }
  clock.Advance(seconds(1));
  // Readiness polling with a generous deadline, not a timing assertion.
  auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (store.ApproximateSize() != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  EXPECT_EQ(store.ApproximateSize(), 0u);
}

TEST(MemoryTicketStoreTableTest, ManyKeysSurviveGrowthChurnAndShrinking) {
  FakeClock clock;
  MemoryTicketStore::Options options;
  options.shards = 4;  // big tables per shard, long probe clusters
  MemoryTicketStore store(clock, options);
  std::map<std::string, std::string> expected;
  std::mt19937_64 rng(7);
  auto key = [](int i) { return Numbered("ST-", i * 7919) + "-cas"; };
  for (int i = 0; i < 40'000; ++i) {
    std::string value(static_cast<size_t>(rng() % 64), static_cast<char>('a' + i % 26));
    ASSERT_TRUE(store.Put(key(i), value, minutes(10)).ok());
    expected[key(i)] = value;
  }
  // Remove a random two thirds through every removal path.
  for (int i = 0; i < 40'000; ++i) {
    switch (rng() % 3) {
      case 0:
        ASSERT_TRUE(store.Erase(key(i)).ok());
        expected.erase(key(i));
        break;
      case 1:
        ASSERT_EQ(store.Redeem(key(i)).value(), expected[key(i)]);
        expected.erase(key(i));
        break;
      default:
        break;
    }
  }
  for (int i = 40'000; i < 45'000; ++i) {
    ASSERT_TRUE(store.Put(key(i), "short", seconds(1)).ok());
  }
  clock.Advance(seconds(1));
  EXPECT_EQ(store.Sweep(), 5'000u);  // and the tables shrink
  EXPECT_EQ(store.ApproximateSize(), expected.size());
  for (int i = 0; i < 45'000; ++i) {
    auto v = store.Get(key(i));
    auto it = expected.find(key(i));
    if (it == expected.end()) {
      ASSERT_FALSE(v.ok()) << key(i);
    } else {
      ASSERT_TRUE(v.ok()) << key(i);
      ASSERT_EQ(*v, it->second) << key(i);
    }
  }
}

TEST(MemoryTicketStoreConcurrencyTest, EveryTicketIsRedeemedExactlyOnceUnderContention) {
  FakeClock clock;
  MemoryTicketStore store(clock);
  constexpr int kTickets = 5'000;
  constexpr int kThreads = 8;
  for (int i = 0; i < kTickets; ++i) {
    ASSERT_TRUE(store.Put(Numbered("ST-", i), std::to_string(i), minutes(5)).ok());
  }
  std::vector<std::atomic<int>> redeemed(kTickets);
  std::vector<std::thread> threads;
  threads.reserve(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      // Different orders per thread so threads meet on the same keys.
      for (int n = 0; n < kTickets; ++n) {
        int i = (t % 2 == 0) ? n : kTickets - 1 - n;
        auto r = store.Redeem(Numbered("ST-", i));
        if (r.ok() && *r == std::to_string(i)) redeemed[i].fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int i = 0; i < kTickets; ++i) ASSERT_EQ(redeemed[i].load(), 1) << "ticket " << i;
  EXPECT_EQ(store.ApproximateSize(), 0u);
}

TEST(MemoryTicketStoreConcurrencyTest, ReadersAndWritersOnManyThreadsSeeOnlyWholeValues) {
  FakeClock clock;
  MemoryTicketStore store(clock);
  std::atomic<bool> torn{false};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 20'000; ++i) {
        std::string key = Numbered("k", i % 64);
        if ((i + t) % 2 == 0) {
          // Each value is one repeated character, so a torn copy would show.
          (void)store.Put(key,
                          std::string(static_cast<size_t>(1 + i % 50), static_cast<char>('a' + t)),
                          minutes(1));
        } else {
          auto v = store.Get(key);
          if (v.ok() && v->find_first_not_of((*v)[0]) != std::string::npos) torn.store(true);
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_FALSE(torn.load());
}

TEST(MemoryTicketStoreOptionsTest, ASingleShardStoreWorks) {
  FakeClock clock;
  MemoryTicketStore::Options options;
  options.shards = 1;
  MemoryTicketStore store(clock, options);
  ASSERT_TRUE(store.Put("k", "v", seconds(1)).ok());
  EXPECT_EQ(store.Redeem("k").value(), "v");
}

}  // namespace
}  // namespace tongban
