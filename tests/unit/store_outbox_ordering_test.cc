// Outbox ordering keys against SQLite and a private PostgreSQL: messages about
// one entity keep their order, a message an app keeps rejecting holds back
// only its own entity, "" is a barrier, and an app gets one push at a time.
#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

#include "store/outbox.h"
#include "store/sql_store.h"
#include "store_test_support.h"

namespace tongban {
namespace {

constexpr int64_t kT0 = 1'700'000'000'000;

std::vector<int64_t> Ids(const std::vector<OutboxMessage>& messages) {
  std::vector<int64_t> ids;
  for (const auto& m : messages) ids.push_back(m.id);
  return ids;
}

class OutboxOrderingTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    url_ = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (url_.empty()) GTEST_SKIP() << why;
    auto store = SqlStore::Open(url_, 2);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    Status st = store_->Migrate(Outbox::Migrations());
    ASSERT_TRUE(st.ok()) << st.error().message;
    outbox_ = std::make_unique<Outbox>(*store_, OutboxOptions{});
  }

  int64_t Enqueue(std::string_view destination, std::string_view key, int64_t now = kT0) {
    auto id = store_->WithTransaction([&](soci::session& tx) {
      return outbox_->Enqueue(tx, destination, "synchronizeUser", "{}", now, key);
    });
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : -1;
  }

  std::vector<OutboxMessage> Claim(int64_t now, size_t limit = 100) {
    auto due = outbox_->ClaimDue(now, limit);
    EXPECT_TRUE(due.ok()) << due.error().message;
    return due.ok() ? *due : std::vector<OutboxMessage>();
  }

  // Claims, delivers and returns the one message of `now`'s claim.
  int64_t DeliverNext(int64_t now) {
    auto due = Claim(now);
    EXPECT_EQ(due.size(), 1u);
    if (due.size() != 1) return -1;
    EXPECT_TRUE(outbox_->MarkDelivered(due[0].id, now).ok());
    return due[0].id;
  }

  store_test::TempDir dir_;
  std::string url_;
  std::unique_ptr<SqlStore> store_;
  std::unique_ptr<Outbox> outbox_;
};

INSTANTIATE_TEST_SUITE_P(Backends, OutboxOrderingTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(OutboxOrderingTest, TheKeyIsStoredWithTheMessage) {
  Enqueue("app", "u:1");
  auto due = Claim(kT0);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].ordering_key, "u:1");
}

TEST_P(OutboxOrderingTest, ARejectedMessageHoldsBackOnlyItsOwnEntity) {
  int64_t bad1 = Enqueue("app", "u:bad");
  int64_t good = Enqueue("app", "u:good");
  int64_t bad2 = Enqueue("app", "u:bad");
  int64_t other = Enqueue("app", "o:001");
  ASSERT_EQ(Ids(Claim(kT0)), std::vector<int64_t>{bad1});
  ASSERT_TRUE(outbox_->MarkFailed(bad1, "result=2099", kT0).ok());
  // While bad1 waits for its retry, the unrelated messages go, one at a time;
  // bad2 stays behind bad1.
  EXPECT_EQ(DeliverNext(kT0 + 1), good);
  EXPECT_EQ(DeliverNext(kT0 + 2), other);
  EXPECT_TRUE(Claim(kT0 + 3).empty());
  // bad1 is due after its backoff (1 s), and bad2 only after bad1 went.
  EXPECT_EQ(DeliverNext(kT0 + 1'000), bad1);
  EXPECT_EQ(DeliverNext(kT0 + 1'001), bad2);
}

TEST_P(OutboxOrderingTest, MessagesAboutOneEntityKeepTheirOrder) {
  int64_t a1 = Enqueue("app", "u:a");
  int64_t a2 = Enqueue("app", "u:a");
  int64_t a3 = Enqueue("app", "u:a");
  EXPECT_EQ(DeliverNext(kT0), a1);
  EXPECT_EQ(DeliverNext(kT0), a2);
  EXPECT_EQ(DeliverNext(kT0), a3);
}

TEST_P(OutboxOrderingTest, ADeadMessageLetsItsEntityContinue) {
  OutboxOptions options;
  options.max_attempts = 1;
  outbox_ = std::make_unique<Outbox>(*store_, options);
  int64_t a1 = Enqueue("app", "u:a");
  int64_t a2 = Enqueue("app", "u:a");
  ASSERT_EQ(Ids(Claim(kT0)), std::vector<int64_t>{a1});
  ASSERT_TRUE(outbox_->MarkFailed(a1, "result=2099", kT0).ok());
  EXPECT_EQ(DeliverNext(kT0 + 1), a2);
}

TEST_P(OutboxOrderingTest, AnAppWithAMessageInFlightGetsNoSecondOne) {
  int64_t a = Enqueue("app", "u:a");
  Enqueue("app", "u:b");
  int64_t other = Enqueue("other-app", "u:a");
  EXPECT_EQ(Ids(Claim(kT0)), (std::vector<int64_t>{a, other}));
  EXPECT_TRUE(Claim(kT0 + 1).empty());
}

TEST_P(OutboxOrderingTest, AMessageWithoutAKeyWaitsForAllOlderOnesAndHoldsBackAllYoungerOnes) {
  int64_t keyed = Enqueue("app", "u:a");
  int64_t barrier = Enqueue("app", "");
  int64_t later = Enqueue("app", "u:b");
  ASSERT_EQ(Ids(Claim(kT0)), std::vector<int64_t>{keyed});
  ASSERT_TRUE(outbox_->MarkFailed(keyed, "busy", kT0).ok());
  EXPECT_TRUE(Claim(kT0 + 1).empty());  // neither the barrier nor what follows it
  EXPECT_EQ(DeliverNext(kT0 + 1'000), keyed);
  EXPECT_EQ(DeliverNext(kT0 + 1'001), barrier);
  EXPECT_EQ(DeliverNext(kT0 + 1'002), later);
}

TEST_P(OutboxOrderingTest, OneClaimServesManyAppsEachWithItsEarliestDueMessage) {
  int64_t a_late = Enqueue("app-a", "u:1", kT0 + 50);
  int64_t a_early = Enqueue("app-a", "u:2", kT0 + 10);
  int64_t b = Enqueue("app-b", "u:1", kT0 + 20);
  EXPECT_EQ(Ids(Claim(kT0 + 100)), (std::vector<int64_t>{a_early, b}));
  ASSERT_TRUE(outbox_->MarkDelivered(a_early, kT0 + 100).ok());
  EXPECT_EQ(Ids(Claim(kT0 + 101)), std::vector<int64_t>{a_late});
}

// per_destination > 1: a burst to one app in one claim, each message the
// oldest of its key, so none of a claim waits for another of it.
TEST_P(OutboxOrderingTest, ABatchClaimTakesTheOldestMessageOfEachKeyUpToPerDestination) {
  Outbox batch(*store_, OutboxOptions{.per_destination = 3});
  int64_t a1 = Enqueue("app", "u:a");
  int64_t a2 = Enqueue("app", "u:a");
  int64_t b = Enqueue("app", "u:b");
  int64_t c = Enqueue("app", "u:c");
  int64_t d = Enqueue("app", "u:d");
  int64_t other = Enqueue("other-app", "u:a");
  auto first = batch.ClaimDue(kT0, 100);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(Ids(*first), (std::vector<int64_t>{a1, b, c, other}));
  auto again = batch.ClaimDue(kT0 + 1, 100);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->empty());  // both apps have messages in flight
  ASSERT_TRUE(batch.MarkDelivered(std::vector<int64_t>{a1, b, c}, kT0 + 1).ok());
  auto second = batch.ClaimDue(kT0 + 2, 100);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(Ids(*second), (std::vector<int64_t>{a2, d}));  // other-app's is still in flight
}

TEST_P(OutboxOrderingTest, ABarrierIsClaimedAloneEvenInABatch) {
  Outbox batch(*store_, OutboxOptions{.per_destination = 3});
  int64_t keyed = Enqueue("app", "u:a");
  int64_t barrier = Enqueue("app", "");
  int64_t later = Enqueue("app", "u:b");
  for (int64_t expected : {keyed, barrier, later}) {
    auto due = batch.ClaimDue(kT0, 100);
    ASSERT_TRUE(due.ok());
    ASSERT_EQ(Ids(*due), std::vector<int64_t>{expected});
    ASSERT_TRUE(batch.MarkDelivered(std::vector<int64_t>{expected}, kT0).ok());
  }
}

TEST_P(OutboxOrderingTest, ReleasedMessagesAreClaimableAgainWithTheirAttemptsUnchanged) {
  Outbox batch(*store_, OutboxOptions{.per_destination = 3});
  int64_t a = Enqueue("app", "u:a");
  int64_t b = Enqueue("app", "u:b");
  int64_t c = Enqueue("app", "u:c");
  auto due = batch.ClaimDue(kT0, 100);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(Ids(*due), (std::vector<int64_t>{a, b, c}));
  // The app failed the first one; the other two were never tried.
  ASSERT_TRUE(batch.MarkFailed(a, "HTTP 503", kT0).ok());
  ASSERT_TRUE(batch.Release({b, c}).ok());
  auto next = batch.ClaimDue(kT0 + 1, 100);
  ASSERT_TRUE(next.ok());
  ASSERT_EQ(Ids(*next), (std::vector<int64_t>{b, c}));  // a waits for its backoff
  for (const OutboxMessage& m : *next) EXPECT_EQ(m.attempts, 0);
}

TEST_P(OutboxOrderingTest, MarkingManyDeliveredRecordsEveryKnownOneAndNamesTheFirstError) {
  Outbox batch(*store_, OutboxOptions{.per_destination = 3});
  int64_t a = Enqueue("app", "u:a");
  int64_t b = Enqueue("app", "u:b");
  ASSERT_EQ(Ids(Claim(kT0)), std::vector<int64_t>{a});
  Status st = batch.MarkDelivered(std::vector<int64_t>{a, 999'999, b}, kT0);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, errc::kNotFound);
  auto delivered = outbox_->List(OutboxState::kDelivered, 10);
  ASSERT_TRUE(delivered.ok());
  EXPECT_EQ(Ids(*delivered), (std::vector<int64_t>{b, a}));  // newest first
  EXPECT_TRUE(batch.MarkDelivered(std::vector<int64_t>{a, b}, kT0).ok());  // again: fine
}

}  // namespace
}  // namespace tongban
