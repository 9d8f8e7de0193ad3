// Outbox against SQLite in a temp dir and a private PostgreSQL (skipped with
// the reason when it cannot be started): transactional enqueue, per-destination
// order, backoff, dead letters, admin retries, concurrent dispatchers, kill -9.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "store/outbox.h"
#include "store/sql_store.h"
#include "store_test_support.h"

namespace tongban {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;

constexpr int64_t kT0 = 1'700'000'000'000;

std::vector<int64_t> Ids(const std::vector<OutboxMessage>& messages) {
  std::vector<int64_t> ids;
  ids.reserve(messages.size());
  for (const auto& m : messages) ids.push_back(m.id);
  return ids;
}

class OutboxTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    url_ = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (GetParam().find("mariadb") != std::string::npos) {
      ASSERT_FALSE(url_.empty()) << why;
    }
    if (url_.empty()) GTEST_SKIP() << why;
    store_ = OpenStore();
    ASSERT_NE(store_, nullptr);
    Status st = store_->Migrate(Outbox::Migrations());
    ASSERT_TRUE(st.ok()) << st.error().message;
    options_.max_attempts = 3;
    outbox_ = std::make_unique<Outbox>(*store_, options_);
  }

  std::unique_ptr<SqlStore> OpenStore() {
    auto store = SqlStore::Open(url_, 4);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(store).value() : nullptr;
  }

  int64_t Enqueue(std::string_view destination, std::string_view payload = "{}",
                  int64_t now = kT0) {
    auto id = store_->WithTransaction([&](soci::session& tx) {
      return outbox_->Enqueue(tx, destination, "user.changed", payload, now);
    });
    EXPECT_TRUE(id.ok()) << id.error().message;
    return id.ok() ? *id : -1;
  }

  std::vector<OutboxMessage> Claim(int64_t now, size_t limit = 100) {
    auto due = outbox_->ClaimDue(now, limit);
    EXPECT_TRUE(due.ok()) << due.error().message;
    return due.ok() ? *due : std::vector<OutboxMessage>();
  }

  OutboxCounts Counts() {
    auto c = outbox_->Counts();
    EXPECT_TRUE(c.ok()) << c.error().message;
    return c.ok() ? *c : OutboxCounts{-1, -1, -1};
  }

  store_test::TempDir dir_;
  std::string url_;
  std::unique_ptr<SqlStore> store_;
  OutboxOptions options_;
  std::unique_ptr<Outbox> outbox_;
};

INSTANTIATE_TEST_SUITE_P(Backends, OutboxTest,
                         ::testing::Values("sqlite", "postgres", "mariadb", "odbc-mariadb"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST_P(OutboxTest, AMessageEnqueuedInACommittedTransactionIsClaimable) {
  int64_t id = Enqueue("app-1", R"({"userid":"u1"})");
  auto due = Claim(kT0);
  ASSERT_EQ(due.size(), 1u);
  EXPECT_EQ(due[0].id, id);
  EXPECT_EQ(due[0].destination, "app-1");
  EXPECT_EQ(due[0].method, "user.changed");
  EXPECT_EQ(due[0].payload, R"({"userid":"u1"})");
  EXPECT_EQ(due[0].created_at_ms, kT0);
  EXPECT_EQ(due[0].attempts, 0);
  EXPECT_EQ(due[0].state, OutboxState::kPending);
}

TEST_P(OutboxTest, AMessageEnqueuedInARolledBackTransactionNeverAppears) {
  ASSERT_TRUE(
      store_->Migrate({Migration{"t", 1, "CREATE TABLE users (id VARCHAR(64) PRIMARY KEY)", ""}})
          .ok());
  Status st = store_->WithTransaction([&](soci::session& tx) -> Status {
    tx << "INSERT INTO users (id) VALUES ('u1')";
    TB_RETURN_IF_ERROR(outbox_->Enqueue(tx, "app-1", "user.created", "{}", kT0));
    return Error::Conflict("the change failed after the enqueue");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(Claim(kT0 + 3'600'000).empty());
  EXPECT_EQ(Counts().pending, 0);
}

TEST_P(OutboxTest, CountsTellPendingMessagesThatFailedBeforeApart) {
  int64_t failing = Enqueue("app-1", "{}");
  Enqueue("app-2", "{}");
  ASSERT_EQ(Claim(kT0).size(), 2u);  // one head per destination
  ASSERT_TRUE(outbox_->MarkFailed(failing, "HTTP 503", kT0).ok());
  OutboxCounts counts = Counts();
  EXPECT_EQ(counts.pending, 2);
  EXPECT_EQ(counts.retrying, 1);
  EXPECT_EQ(counts.dead, 0);
}

TEST_P(OutboxTest, EnqueueNeedsADestinationAndAMethod) {
  auto r = store_->WithTransaction(
      [&](soci::session& tx) { return outbox_->Enqueue(tx, "", "user.changed", "{}", kT0); });
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kInvalidArgument);
  auto m = store_->WithTransaction(
      [&](soci::session& tx) { return outbox_->Enqueue(tx, "app-1", "", "{}", kT0); });
  EXPECT_EQ(m.error().code, errc::kInvalidArgument);
}

TEST_P(OutboxTest, IdsIncreaseInEnqueueOrder) {
  int64_t a = Enqueue("app-1");
  int64_t b = Enqueue("app-2");
  int64_t c = Enqueue("app-1");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
}

TEST_P(OutboxTest, OnlyTheOldestPendingMessageOfEachDestinationIsClaimed) {
  int64_t a1 = Enqueue("app-a");
  Enqueue("app-a");
  int64_t b1 = Enqueue("app-b");
  Enqueue("app-b");
  auto due = Claim(kT0);
  EXPECT_EQ(Ids(due), (std::vector<int64_t>{a1, b1}));
}

TEST_P(OutboxTest, AfterADeliveryTheDestinationsNextMessageBecomesClaimable) {
  int64_t a1 = Enqueue("app-a");
  int64_t a2 = Enqueue("app-a");
  ASSERT_EQ(Ids(Claim(kT0)), std::vector<int64_t>{a1});
  ASSERT_TRUE(outbox_->MarkDelivered(a1, kT0 + 10).ok());
  EXPECT_EQ(Ids(Claim(kT0 + 20)), std::vector<int64_t>{a2});
}

// The unit notifier marks one round's deliveries in the next round's claim:
// the marks come first, so the destination's next message is claimable in
// that same transaction (its claim in flight and its older message are gone).
TEST_P(OutboxTest, MarkingInTheClaimsTransactionFreesTheDestinationsNextMessageAtOnce) {
  int64_t a1 = Enqueue("app-a");
  int64_t a2 = Enqueue("app-a");
  ASSERT_EQ(Ids(Claim(kT0)), std::vector<int64_t>{a1});
  Status marked = Error::Internal("unset");
  auto due = outbox_->MarkDeliveredAndClaimDue({a1}, kT0 + 10, 100, marked);
  ASSERT_TRUE(due.ok()) << due.error().message;
  EXPECT_TRUE(marked.ok()) << marked.error().message;
  EXPECT_EQ(Ids(*due), std::vector<int64_t>{a2});
  auto delivered = outbox_->List(OutboxState::kDelivered, 10).value();
  ASSERT_EQ(delivered.size(), 1u);
  EXPECT_EQ(delivered[0].id, a1);
  EXPECT_EQ(delivered[0].delivered_at_ms, kT0 + 10);
}

TEST_P(OutboxTest, MarkingInTheClaimsTransactionReportsAMissingMessageAndStillClaims) {
  int64_t a1 = Enqueue("app-a");
  int64_t b1 = Enqueue("app-b");
  ASSERT_EQ(Ids(Claim(kT0, 1)), std::vector<int64_t>{a1});
  Status marked = Status::Ok();
  auto due = outbox_->MarkDeliveredAndClaimDue({424242, a1}, kT0 + 10, 100, marked);
  ASSERT_TRUE(due.ok()) << due.error().message;
  EXPECT_EQ(marked.error().code, errc::kNotFound);
  EXPECT_EQ(Ids(*due), std::vector<int64_t>{b1});
  EXPECT_EQ(Counts().delivered, 1);  // a1, after the missing one
}

TEST_P(OutboxTest, ALaterMessageNeverOvertakesAnEarlierOneWaitingForItsRetry) {
  int64_t a1 = Enqueue("app-a");
  Enqueue("app-a");
  ASSERT_EQ(Ids(Claim(kT0)), std::vector<int64_t>{a1});
  ASSERT_TRUE(outbox_->MarkFailed(a1, "connection refused", kT0).ok());
  EXPECT_TRUE(Claim(kT0 + 999).empty());
  EXPECT_EQ(Ids(Claim(kT0 + 1'000)), std::vector<int64_t>{a1});
}

TEST_P(OutboxTest, AClaimedMessageIsNotClaimedAgainUntilItsClaimLapses) {
  int64_t a1 = Enqueue("app-a");
  ASSERT_EQ(Claim(kT0).size(), 1u);
  EXPECT_TRUE(Claim(kT0 + 1).empty());
  int64_t lapse = kT0 + options_.claim_timeout.count();
  EXPECT_TRUE(Claim(lapse - 1).empty());
  EXPECT_EQ(Ids(Claim(lapse)), std::vector<int64_t>{a1});  // the dispatcher died
}

TEST_P(OutboxTest, ClaimDueHonoursTheLimitAndTakesTheEarliestDueFirst) {
  int64_t a = Enqueue("app-a", "{}", kT0 + 30);
  int64_t b = Enqueue("app-b", "{}", kT0 + 10);
  int64_t c = Enqueue("app-c", "{}", kT0 + 20);
  Enqueue("app-d", "{}", kT0 + 40);
  EXPECT_EQ(Ids(Claim(kT0 + 35, 2)), (std::vector<int64_t>{b, c}));
  EXPECT_EQ(Ids(Claim(kT0 + 35, 10)), std::vector<int64_t>{a});
}

// ClaimDue reads a prefix of the claimable messages first (outbox.cc
// kClaimablePrefixSql); these hold it to the full query's answer where the
// prefix alone would not be.
std::vector<int64_t> EnqueueKeyed(SqlStore& store, Outbox& outbox, std::string_view destination,
                                  int count, int64_t due) {
  std::vector<int64_t> ids;
  Status written = store.WithTransaction([&](soci::session& tx) -> Status {
    ids.clear();
    for (int i = 0; i < count; ++i) {
      auto id = outbox.Enqueue(tx, destination, "user.changed", "{}", due,
                               std::string(destination) + "-" + std::to_string(i));
      if (!id.ok()) return std::move(id).error();
      ids.push_back(*id);
    }
    return Status::Ok();
  });
  EXPECT_TRUE(written.ok()) << written.error().message;
  return ids;
}

TEST_P(OutboxTest, ABacklogOfOneDestinationAheadOfTheOthersDoesNotHideThem) {
  // 300 independent messages of app-a due first: more than the prefix, and
  // with one message per destination a claim takes only one of them.
  std::vector<int64_t> a = EnqueueKeyed(*store_, *outbox_, "app-a", 300, kT0);
  int64_t b = Enqueue("app-b", "{}", kT0 + 1);
  EXPECT_EQ(Ids(Claim(kT0 + 10, 5)), (std::vector<int64_t>{a[0], b}));
  int64_t c = Enqueue("app-c", "{}", kT0 + 2);
  // app-a and app-b in flight: app-a's 299 others fill the prefix, none claimable.
  EXPECT_EQ(Ids(Claim(kT0 + 10, 5)), std::vector<int64_t>{c});
}

TEST_P(OutboxTest, ABacklogLongerThanThePrefixIsClaimedInDueOrder) {
  OutboxOptions options = options_;
  options.per_destination = 400;
  Outbox outbox(*store_, options);
  std::vector<int64_t> a = EnqueueKeyed(*store_, outbox, "app-a", 600, kT0 + 5);
  int64_t b = Enqueue("app-b", "{}", kT0);  // due before all of app-a
  auto first = outbox.ClaimDue(kT0 + 10, 100);
  ASSERT_TRUE(first.ok()) << first.error().message;
  std::vector<int64_t> want{b};
  want.insert(want.end(), a.begin(), a.begin() + 99);
  EXPECT_EQ(Ids(*first), want);
  ASSERT_TRUE(outbox.MarkDelivered(Ids(*first), kT0 + 10).ok());
  // A claim larger than the prefix: up to per_destination, in order.
  auto second = outbox.ClaimDue(kT0 + 10, 450);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(Ids(*second), std::vector<int64_t>(a.begin() + 99, a.begin() + 499));
}

TEST_P(OutboxTest, AMessageIsNotClaimableBeforeItIsDue) {
  Enqueue("app-a", "{}", kT0 + 500);
  EXPECT_TRUE(Claim(kT0).empty());
  EXPECT_EQ(Claim(kT0 + 500).size(), 1u);
}

TEST(OutboxBackoffTest, TheBackoffDoublesFromTheBaseUpToTheCap) {
  auto store = SqlStore::Open("sqlite::memory:");
  ASSERT_TRUE(store.ok());
  Outbox outbox(**store);  // defaults: 1 s base, 10 min cap
  std::vector<int64_t> seconds_waited;
  for (int attempt = 1; attempt <= 12; ++attempt) {
    seconds_waited.push_back(outbox.BackoffAfter(attempt).count() / 1000);
  }
  EXPECT_EQ(seconds_waited,
            (std::vector<int64_t>{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 600, 600}));
  EXPECT_EQ(outbox.BackoffAfter(1'000'000), minutes(10));
}

TEST(OutboxBackoffTest, TheBackoffIsConfigurable) {
  auto store = SqlStore::Open("sqlite::memory:");
  ASSERT_TRUE(store.ok());
  OutboxOptions options;
  options.base_backoff = milliseconds(250);
  options.max_backoff = seconds(1);
  Outbox outbox(**store, options);
  EXPECT_EQ(outbox.BackoffAfter(1), milliseconds(250));
  EXPECT_EQ(outbox.BackoffAfter(2), milliseconds(500));
  EXPECT_EQ(outbox.BackoffAfter(3), milliseconds(1000));
  EXPECT_EQ(outbox.BackoffAfter(4), milliseconds(1000));
}

TEST_P(OutboxTest, EachFailureSchedulesTheNextAttemptAfterTheBackoff) {
  int64_t a1 = Enqueue("app-a");
  int64_t now = kT0;
  for (int attempt = 1; attempt <= 2; ++attempt) {
    ASSERT_EQ(Ids(Claim(now)), std::vector<int64_t>{a1});
    ASSERT_TRUE(outbox_->MarkFailed(a1, "HTTP 503", now).ok());
    int64_t due = now + outbox_->BackoffAfter(attempt).count();
    auto pending = outbox_->List(OutboxState::kPending, 10).value();
    ASSERT_EQ(pending.size(), 1u);
    EXPECT_EQ(pending[0].attempts, attempt);
    EXPECT_EQ(pending[0].next_attempt_at_ms, due);
    EXPECT_EQ(pending[0].last_error, "HTTP 503");
    now = due;
  }
}

TEST_P(OutboxTest, AMessageThatFailsMaxAttemptsTimesIsDeadAndItsDestinationMovesOn) {
  int64_t a1 = Enqueue("app-a");
  int64_t a2 = Enqueue("app-a");
  int64_t now = kT0;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    ASSERT_EQ(Ids(Claim(now)), std::vector<int64_t>{a1}) << "attempt " << attempt;
    ASSERT_TRUE(outbox_->MarkFailed(a1, "HTTP 500", now).ok());
    now += outbox_->BackoffAfter(attempt).count();
  }
  auto dead = outbox_->List(OutboxState::kDead, 10).value();
  ASSERT_EQ(Ids(dead), std::vector<int64_t>{a1});
  EXPECT_EQ(dead[0].attempts, options_.max_attempts);
  EXPECT_EQ(dead[0].last_error, "HTTP 500");
  EXPECT_EQ(Ids(Claim(now)), std::vector<int64_t>{a2});
}

TEST_P(OutboxTest, RetryMakesADeadMessageDueNowAndAheadOfItsDestinationsLaterOnes) {
  int64_t a1 = Enqueue("app-a");
  int64_t now = kT0;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    ASSERT_EQ(Claim(now).size(), 1u);
    ASSERT_TRUE(outbox_->MarkFailed(a1, "down", now).ok());
    now += outbox_->BackoffAfter(attempt).count();
  }
  int64_t a2 = Enqueue("app-a");
  ASSERT_TRUE(outbox_->Retry(a1).ok());
  auto due = Claim(now);
  ASSERT_EQ(Ids(due), std::vector<int64_t>{a1});
  EXPECT_EQ(due[0].attempts, 0);
  ASSERT_TRUE(outbox_->MarkDelivered(a1, now).ok());
  EXPECT_EQ(Ids(Claim(now)), std::vector<int64_t>{a2});
}

TEST_P(OutboxTest, RetryAllDeadRevivesOnlyThatDestinationsDeadMessages) {
  std::vector<int64_t> ids = {Enqueue("app-a"), Enqueue("app-a"), Enqueue("app-b")};
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    for (int64_t id : ids) ASSERT_TRUE(outbox_->MarkFailed(id, "down", kT0).ok());
  }
  ASSERT_EQ(Counts().dead, 3);
  auto revived = outbox_->RetryAllDead("app-a");
  ASSERT_TRUE(revived.ok()) << revived.error().message;
  EXPECT_EQ(*revived, 2);
  OutboxCounts counts = Counts();
  EXPECT_EQ(counts.pending, 2);
  EXPECT_EQ(counts.dead, 1);
}

TEST_P(OutboxTest, RetryOfADeliveredMessageIsAConflictAndOfAMissingOneNotFound) {
  int64_t a1 = Enqueue("app-a");
  ASSERT_TRUE(outbox_->MarkDelivered(a1, kT0).ok());
  EXPECT_EQ(outbox_->Retry(a1).error().code, errc::kConflict);
  EXPECT_EQ(outbox_->Retry(a1 + 1000).error().code, errc::kNotFound);
}

TEST_P(OutboxTest, MarkingADeliveredMessageDeliveredAgainSucceeds) {
  int64_t a1 = Enqueue("app-a");
  ASSERT_TRUE(outbox_->MarkDelivered(a1, kT0).ok());
  EXPECT_TRUE(outbox_->MarkDelivered(a1, kT0 + 5).ok());
  EXPECT_EQ(outbox_->List(OutboxState::kDelivered, 10).value()[0].delivered_at_ms, kT0);
}

TEST_P(OutboxTest, MarkingAMissingMessageIsNotFound) {
  EXPECT_EQ(outbox_->MarkDelivered(424242, kT0).error().code, errc::kNotFound);
  EXPECT_EQ(outbox_->MarkFailed(424242, "x", kT0).error().code, errc::kNotFound);
}

TEST_P(OutboxTest, FailingADeliveredOrDeadMessageIsAConflict) {
  int64_t a1 = Enqueue("app-a");
  ASSERT_TRUE(outbox_->MarkDelivered(a1, kT0).ok());
  EXPECT_EQ(outbox_->MarkFailed(a1, "late failure", kT0).error().code, errc::kConflict);
  int64_t b1 = Enqueue("app-b");
  for (int i = 0; i < options_.max_attempts; ++i)
    ASSERT_TRUE(outbox_->MarkFailed(b1, "x", kT0).ok());
  EXPECT_EQ(outbox_->MarkFailed(b1, "x", kT0).error().code, errc::kConflict);
  EXPECT_EQ(outbox_->MarkDelivered(b1, kT0).error().code, errc::kConflict);
}

TEST_P(OutboxTest, AnErrorTextThatIsNotValidUtf8IsStoredSafely) {
  int64_t a1 = Enqueue("app-a");
  static const char kRaw[] = "bad \xff\xfe bytes \0 and \xe4\xb8\xad\xe6\x96\x87";
  std::string error(kRaw, sizeof(kRaw) - 1);
  ASSERT_TRUE(outbox_->MarkFailed(a1, error, kT0).ok());
  auto pending = outbox_->List(OutboxState::kPending, 10).value();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].last_error, "bad ?? bytes ? and \xe4\xb8\xad\xe6\x96\x87");
}

TEST_P(OutboxTest, AVeryLongErrorTextIsTruncated) {
  int64_t a1 = Enqueue("app-a");
  ASSERT_TRUE(outbox_->MarkFailed(a1, std::string(100'000, 'e'), kT0).ok());
  EXPECT_EQ(outbox_->List(OutboxState::kPending, 10).value()[0].last_error.size(), 1000u);
}

TEST_P(OutboxTest, ListShowsPendingOldestFirstAndDeliveredNewestFirst) {
  int64_t a = Enqueue("app-a");
  int64_t b = Enqueue("app-b");
  int64_t c = Enqueue("app-c");
  int64_t d = Enqueue("app-d");
  ASSERT_TRUE(outbox_->MarkDelivered(a, kT0).ok());
  ASSERT_TRUE(outbox_->MarkDelivered(b, kT0).ok());
  EXPECT_EQ(Ids(outbox_->List(OutboxState::kPending, 10).value()), (std::vector<int64_t>{c, d}));
  EXPECT_EQ(Ids(outbox_->List(OutboxState::kDelivered, 10).value()), (std::vector<int64_t>{b, a}));
  EXPECT_EQ(Ids(outbox_->List(OutboxState::kPending, 1, 1).value()), std::vector<int64_t>{d});
}

TEST_P(OutboxTest, CountsReportEachState) {
  int64_t a = Enqueue("app-a");
  int64_t b = Enqueue("app-b");
  Enqueue("app-c");
  ASSERT_TRUE(outbox_->MarkDelivered(a, kT0).ok());
  for (int i = 0; i < options_.max_attempts; ++i)
    ASSERT_TRUE(outbox_->MarkFailed(b, "x", kT0).ok());
  OutboxCounts counts = Counts();
  EXPECT_EQ(counts.pending, 1);
  EXPECT_EQ(counts.delivered, 1);
  EXPECT_EQ(counts.dead, 1);
}

TEST_P(OutboxTest, PurgeDeliveredRemovesOnlyMessagesDeliveredBeforeTheCutoff) {
  int64_t old_one = Enqueue("app-a");
  int64_t recent = Enqueue("app-b");
  Enqueue("app-c");
  ASSERT_TRUE(outbox_->MarkDelivered(old_one, kT0).ok());
  ASSERT_TRUE(outbox_->MarkDelivered(recent, kT0 + 10'000).ok());
  auto purged = outbox_->PurgeDelivered(kT0 + 5'000);
  ASSERT_TRUE(purged.ok()) << purged.error().message;
  EXPECT_EQ(*purged, 1);
  OutboxCounts counts = Counts();
  EXPECT_EQ(counts.delivered, 1);
  EXPECT_EQ(counts.pending, 1);
}

// Claiming also keeps the table bounded: delivered messages older than keep_delivered go,
// at most once per purge_interval; pending ones stay whatever their age.
TEST_P(OutboxTest, ClaimingPurgesLongDeliveredMessagesOncePerInterval) {
  options_.keep_delivered = std::chrono::milliseconds(60'000);
  options_.purge_interval = std::chrono::milliseconds(10'000);
  outbox_ = std::make_unique<Outbox>(*store_, options_);
  int64_t old_one = Enqueue("app-a");
  int64_t recent = Enqueue("app-b");
  Enqueue("app-c");  // pending: never purged
  ASSERT_TRUE(outbox_->MarkDelivered(old_one, kT0).ok());
  ASSERT_TRUE(outbox_->MarkDelivered(recent, kT0 + 30'000).ok());
  ASSERT_TRUE(outbox_->ClaimDue(kT0 + 70'000, 0).ok());  // old_one is 70 s delivered
  EXPECT_EQ(Counts().delivered, 1);
  // No purge is due at +75 s (the next is at +80 s); at +91 s recent, delivered 61 s
  // before, goes.
  ASSERT_TRUE(outbox_->ClaimDue(kT0 + 75'000, 0).ok());
  EXPECT_EQ(Counts().delivered, 1);
  ASSERT_TRUE(outbox_->ClaimDue(kT0 + 91'000, 0).ok());
  OutboxCounts counts = Counts();
  EXPECT_EQ(counts.delivered, 0);
  EXPECT_EQ(counts.pending, 1);
}

TEST_P(OutboxTest, ConcurrentDispatchersDeliverEachMessageOnceAndInOrderPerDestination) {
  constexpr int kDestinations = 6;
  constexpr int kPerDestination = 15;
  for (int i = 0; i < kPerDestination; ++i) {
    for (int d = 0; d < kDestinations; ++d) Enqueue(std::to_string(d).append("-app"));
  }
  std::mutex mu;
  std::map<std::string, std::vector<int64_t>> delivered;
  std::atomic<bool> failed{false};
  auto dispatcher = [&] {
    auto store = OpenStore();
    if (store == nullptr) return failed.store(true);
    Outbox outbox(*store, options_);
    for (int round = 0; round < 10'000; ++round) {
      auto due = outbox.ClaimDue(kT0, 4);
      if (!due.ok()) continue;  // e.g. SQLite busy: try again
      if (due->empty()) {
        auto counts = outbox.Counts();
        if (counts.ok() && counts->pending == 0) return;
        std::this_thread::yield();
        continue;
      }
      for (const OutboxMessage& m : *due) {
        {
          std::lock_guard lock(mu);
          delivered[m.destination].push_back(m.id);
        }
        if (!outbox.MarkDelivered(m.id, kT0).ok()) failed.store(true);
      }
    }
    failed.store(true);
  };
  std::thread t1(dispatcher), t2(dispatcher), t3(dispatcher);
  t1.join();
  t2.join();
  t3.join();
  ASSERT_FALSE(failed.load());
  ASSERT_EQ(delivered.size(), static_cast<size_t>(kDestinations));
  for (const auto& [destination, ids] : delivered) {
    ASSERT_EQ(ids.size(), static_cast<size_t>(kPerDestination)) << destination;
    EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end())) << destination;
    EXPECT_EQ(std::adjacent_find(ids.begin(), ids.end()), ids.end()) << destination;
  }
}

// PostgreSQL and MySQL draw ids when rows are inserted, not when they commit.
// Without the per-destination lock, B (enqueued after A but committed first)
// would be claimable while A is still uncommitted, and would overtake it.
class OutboxOrderTest : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Servers, OutboxOrderTest, ::testing::Values("postgres", "mariadb"),
                         [](const auto& info) { return info.param; });

TEST_P(OutboxOrderTest, AMessageCommittedFirstCannotOvertakeAnEarlierUncommittedOne) {
  store_test::TempDir dir;
  std::string why;
  std::string url = store_test::FreshDatabaseUrl(GetParam(), dir, &why);
  if (GetParam() == "mariadb") {
    ASSERT_FALSE(url.empty()) << why;
  }
  if (url.empty()) GTEST_SKIP() << why;
  auto store = std::move(SqlStore::Open(url, 4)).value();
  ASSERT_TRUE(store->Migrate(Outbox::Migrations()).ok());
  Outbox outbox(*store);

  std::promise<int64_t> a_enqueued;
  std::promise<void> a_may_commit;
  std::thread a([&] {
    (void)store->WithTransaction([&](soci::session& tx) -> Status {
      auto id = outbox.Enqueue(tx, "app-x", "first", "{}", kT0);
      a_enqueued.set_value(id.ok() ? *id : -1);
      a_may_commit.get_future().wait();
      return Status::Ok();
    });
  });
  int64_t a_id = a_enqueued.get_future().get();
  ASSERT_GT(a_id, 0);

  std::atomic<bool> b_done{false};
  int64_t b_id = -1;
  std::thread b([&] {
    auto id = store->WithTransaction(
        [&](soci::session& tx) { return outbox.Enqueue(tx, "app-x", "second", "{}", kT0); });
    b_id = id.ok() ? *id : -2;
    b_done.store(true);
  });
  // Until B either finished or is seen waiting for A's lock (bounded deadline).
  auto deadline = std::chrono::steady_clock::now() + seconds(30);
  while (!b_done.load() && std::chrono::steady_clock::now() < deadline) {
    auto waiting = store->WithSession([&](soci::session& sql) -> Result<int64_t> {
      int64_t n = 0;
      if (store->dialect() == SqlDialect::kMySql) {
        sql << "SELECT COUNT(*) FROM information_schema.innodb_trx"
               " WHERE trx_state = 'LOCK WAIT'",
            soci::into(n);
      } else {
        sql << "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database()"
               " AND wait_event_type = 'Lock'",
            soci::into(n);
      }
      return n;
    });
    if (waiting.ok() && *waiting > 0) break;
    std::this_thread::yield();
  }
  auto during = outbox.ClaimDue(kT0, 10);
  a_may_commit.set_value();
  a.join();
  b.join();
  ASSERT_TRUE(during.ok()) << during.error().message;
  EXPECT_TRUE(during->empty()) << "a message overtook the uncommitted one";
  EXPECT_LT(a_id, b_id);
}

// The process is killed with SIGKILL right after committing: no destructors,
// no checkpoint. The committed message must be there afterwards.
TEST(OutboxCrashTest, AMessageCommittedJustBeforeKill9IsStillPendingAfterwards) {
  store_test::TempDir dir;
  std::string url = "sqlite://" + dir.File("crash.db");
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    auto store = SqlStore::Open(url);
    if (!store.ok() || !(*store)->Migrate(Outbox::Migrations()).ok()) _exit(2);
    Outbox outbox(**store);
    auto id = (*store)->WithTransaction(
        [&](soci::session& tx) { return outbox.Enqueue(tx, "app-a", "logout", "{}", kT0); });
    if (!id.ok()) _exit(3);
    raise(SIGKILL);
    _exit(4);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status)) << "child exited with " << WEXITSTATUS(status);
  ASSERT_EQ(WTERMSIG(status), SIGKILL);
  auto store = SqlStore::Open(url);
  ASSERT_TRUE(store.ok()) << store.error().message;
  Outbox outbox(**store);
  auto due = outbox.ClaimDue(kT0, 10);
  ASSERT_TRUE(due.ok()) << due.error().message;
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].method, "logout");
}

}  // namespace
}  // namespace tongban
