// The day's paid count the triggers keep on payment_orders (reconciliation's
// guard), on SQLite, a private PostgreSQL and a private MariaDB: every way an
// order gains, changes or loses its paid time moves the count as COUNT(*) over
// the orders would, the orders already paid when the migration runs are
// counted, and payments from several connections (PostgreSQL's and MySQL's
// shards) add up.
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

#include "payment/channel_statement.h"
#include "payment/notify.h"
#include "payment/paid_days.h"
#include "store/sql_store.h"
#include "store_test_support.h"

namespace tongban::payment {
namespace {

class PaidDaysTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (url.empty()) GTEST_SKIP() << why;
    auto opened = SqlStore::Open(url, 4);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    sql_ = std::move(opened).value();
    day1_ = ChinaDayStart("20260110");
    day2_ = ChinaDayStart("20260111");
  }

  // The migrations of the orders' tables; without the count's, when `counted` is false.
  Status Migrate(bool counted) {
    std::vector<Migration> wanted;
    for (Migration& m : ChannelPayments::Migrations()) {
      if (counted || m.module != "payment_paid_days") wanted.push_back(std::move(m));
    }
    return sql_->Migrate(wanted);
  }

  void Exec(const std::string& text) {
    Status s = sql_->WithTransaction([&](soci::session& sql) -> Status {
      sql << text;
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << text << ": " << s.error().message;
  }

  void Insert(const std::string& order, const std::string& channel, int64_t paid_at) {
    Exec("INSERT INTO payment_orders (order_no, notice_no, channel, amount_fen, state, paid_at, "
         "created_at, next_query_at) VALUES ('" + order + "', 'N', '" + channel + "', 100, '" +
         (paid_at > 0 ? "paid" : "pending") + "', " + std::to_string(paid_at) + ", 1, 1)");
  }

  int64_t Counted(const std::string& channel, int64_t day_start) {
    auto n = PaidOnDay(*sql_, channel, day_start);
    EXPECT_TRUE(n.ok()) << n.error().message;
    return n.ok() ? n->paid : -1;
  }

  int64_t Scanned(const std::string& channel, int64_t day_start) {
    long long n = -1;
    Status s = sql_->WithSession([&](soci::session& sql) -> Status {
      long long from = day_start, to = day_start + 86'400'000;
      sql << "SELECT COUNT(*) FROM payment_orders WHERE channel = :c AND paid_at >= :f AND "
             "paid_at < :t",
          soci::use(channel), soci::use(from), soci::use(to), soci::into(n);
      return Status::Ok();
    });
    EXPECT_TRUE(s.ok()) << s.error().message;
    return n;
  }

  // The count agrees with a scan of the orders for both days and both channels.
  void ExpectAgree(int64_t day1_a, int64_t day2_a, int64_t day1_b) {
    EXPECT_EQ(Counted("A", day1_), day1_a);
    EXPECT_EQ(Counted("A", day2_), day2_a);
    EXPECT_EQ(Counted("B", day1_), day1_b);
    EXPECT_EQ(Counted("B", day2_), 0);
    for (const char* ch : {"A", "B"}) {
      for (int64_t d : {day1_, day2_}) EXPECT_EQ(Counted(ch, d), Scanned(ch, d)) << ch << d;
    }
  }

  store_test::TempDir dir_;
  std::unique_ptr<SqlStore> sql_;
  int64_t day1_ = 0, day2_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Backends, PaidDaysTest, ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return info.param; });

TEST_P(PaidDaysTest, EveryChangeOfAPaidTimeMovesTheCount) {
  ASSERT_TRUE(Migrate(true).ok());
  Insert("P1", "A", 0);                          // placed, not paid
  Insert("P2", "A", day1_);                      // the day's first millisecond
  Insert("P3", "A", day1_ + 86'400'000 - 1);     // its last
  Insert("P4", "B", day1_ + 5);
  ExpectAgree(2, 0, 1);
  // Paid the way the notification lane does it.
  Exec("UPDATE payment_orders SET state = 'paid', channel_serial = 'T1', paid_at = " +
       std::to_string(day2_ + 1000) + ", pay_no = 'X', disposition = 'credited' WHERE "
       "order_no = 'P1'");
  ExpectAgree(2, 1, 1);
  // Other columns change, the paid time does not: nothing moves.
  Exec("UPDATE payment_orders SET disposition = 'refunded', state = 'paid' WHERE order_no = 'P2'");
  Exec("UPDATE payment_orders SET paid_at = paid_at WHERE order_no = 'P3'");
  ExpectAgree(2, 1, 1);
  // A paid time moved to the next day, a channel changed, a payment undone.
  Exec("UPDATE payment_orders SET paid_at = " + std::to_string(day2_) + " WHERE order_no = 'P3'");
  ExpectAgree(1, 2, 1);
  Exec("UPDATE payment_orders SET channel = 'B' WHERE order_no = 'P2'");
  ExpectAgree(0, 2, 2);
  Exec("UPDATE payment_orders SET paid_at = 0, state = 'pending' WHERE order_no = 'P4'");
  ExpectAgree(0, 2, 1);
  // Several rows in one statement, then deletions.
  Exec("UPDATE payment_orders SET paid_at = paid_at + 86400000 WHERE channel = 'A'");
  EXPECT_EQ(Counted("A", day2_), 0);
  EXPECT_EQ(Counted("A", day2_ + 86'400'000), 2);
  EXPECT_EQ(Scanned("A", day2_ + 86'400'000), 2);
  Exec("DELETE FROM payment_orders WHERE order_no IN ('P1', 'P2', 'P4')");
  EXPECT_EQ(Counted("A", day2_ + 86'400'000), 1);
  EXPECT_EQ(Counted("B", day1_), 0);
  EXPECT_EQ(Scanned("B", day1_), 0);
}

// An order leaving the day and another entering it leave the count as it
// was, but not the day's changes: a reader comparing changes sees both.
TEST_P(PaidDaysTest, TheDaysChangesOnlyGrow) {
  ASSERT_TRUE(Migrate(true).ok());
  Insert("P1", "A", day1_ + 1);
  Insert("P2", "A", 0);
  auto before = PaidOnDay(*sql_, "A", day1_);
  ASSERT_TRUE(before.ok());
  Exec("UPDATE payment_orders SET paid_at = " + std::to_string(day2_) + " WHERE order_no = 'P1'");
  Exec("UPDATE payment_orders SET paid_at = " + std::to_string(day1_ + 2) +
       " WHERE order_no = 'P2'");
  auto after = PaidOnDay(*sql_, "A", day1_);
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after->paid, before->paid);
  EXPECT_EQ(after->changes, before->changes + 2);
  Exec("UPDATE payment_orders SET disposition = 'refunded' WHERE order_no = 'P2'");
  auto untouched = PaidOnDay(*sql_, "A", day1_);
  ASSERT_TRUE(untouched.ok());
  EXPECT_EQ(untouched->changes, after->changes);
}

TEST_P(PaidDaysTest, TheMigrationCountsTheOrdersAlreadyPaid) {
  ASSERT_TRUE(Migrate(false).ok());
  Insert("P1", "A", day1_ + 1);
  Insert("P2", "A", day1_ + 2);
  Insert("P3", "A", day2_ + 3);
  Insert("P4", "B", day1_ + 4);
  Insert("P5", "A", 0);
  Status migrated = Migrate(true);
  ASSERT_TRUE(migrated.ok()) << migrated.error().message;
  ExpectAgree(2, 1, 1);
  // and the triggers run from then on
  Insert("P6", "A", day1_ + 6);
  ExpectAgree(3, 1, 1);
}

std::string OrderNo(int n) {
  std::string no = "P";
  no += std::to_string(n);  // not "P" + to_string: GCC 12 warns falsely (-Wrestrict)
  return no;
}

TEST_P(PaidDaysTest, PaymentsFromSeveralConnectionsAddUp) {
  ASSERT_TRUE(Migrate(true).ok());
  constexpr int kThreads = 4, kEach = 25;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kEach; ++i) Insert(OrderNo(t * kEach + i), "A", 0);
  }
  std::vector<std::thread> threads;
  std::vector<Status> failed(kThreads);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach && failed[t].ok(); ++i) {
        failed[t] = sql_->WithTransaction([&](soci::session& sql) -> Status {
          std::string order = OrderNo(t * kEach + i);
          long long at = day1_ + t * kEach + i;
          sql << "UPDATE payment_orders SET state = 'paid', paid_at = :p WHERE order_no = :o",
              soci::use(at), soci::use(order);
          return Status::Ok();
        });
      }
    });
  }
  for (std::thread& t : threads) t.join();
  for (const Status& s : failed) ASSERT_TRUE(s.ok()) << s.error().message;
  EXPECT_EQ(Counted("A", day1_), kThreads * kEach);
  EXPECT_EQ(Scanned("A", day1_), kThreads * kEach);
}

TEST(PaidDaysNumbering, AChinaDayStartsAtMidnightInBeijing) {
  const int64_t start = ChinaDayStart("20240229");
  EXPECT_EQ(ChinaDayNumber(start), ChinaDayNumber(start + 86'400'000 - 1));
  EXPECT_EQ(ChinaDayNumber(start) + 1, ChinaDayNumber(start + 86'400'000));
  EXPECT_EQ(ChinaDayNumber(start) - 1, ChinaDayNumber(start - 1));
  EXPECT_EQ(ChinaDayNumber(ChinaDayStart("19700102")), 1);
}

}  // namespace
}  // namespace tongban::payment
