// SqlStore's statements kept per pooled session (KeptFor) and BulkInsert, on
// SQLite and a private PostgreSQL (skipped with the reason when none starts).
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "store/sql_store.h"
#include "store_test_support.h"

namespace tongban {
namespace {

using store_test::TempDir;

// A kept SELECT with its bound variables; counts how often it was made.
struct CountQuery : SqlStore::Kept {
  std::string name;
  long long n = 0;
  soci::statement st;
  CountQuery(soci::session& sql, int* made)
      : st((sql.prepare << "SELECT COUNT(*) FROM kept_items WHERE name = :n", soci::use(name, "n"),
            soci::into(n))) {
    ++*made;
  }
  long long Run(const std::string& value) {
    name = value;
    st.execute(true);
    while (st.fetch()) {
    }
    return n;
  }
};

class KeptTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = store_test::FreshDatabaseUrl(GetParam(), tmp_, &why);
    if (url.empty()) GTEST_SKIP() << why;
    auto store = SqlStore::Open(url, 1);  // one session: every lease is the same one
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
    ASSERT_TRUE(store_
                    ->Migrate({PortableMigration(
                        "kept_test", 1,
                        "CREATE TABLE kept_items (id {KEY} PRIMARY KEY, name {TEXT} NOT NULL, "
                        "n BIGINT NOT NULL){END};")})
                    .ok());
  }

  Result<long long> Count(const std::string& name) {
    return store_->WithSession([&](soci::session& sql) -> Result<long long> {
      auto& q = store_->KeptFor<CountQuery>(
          sql, "test.count", [&](soci::session& s) { return std::make_unique<CountQuery>(s, &made_); });
      return q.Run(name);
    });
  }

  // Server-side prepared statements of the (only) session: PostgreSQL keeps
  // them per connection; SOCI deallocates a statement when it is destroyed.
  long long PreparedOnServer() {
    auto n = store_->WithSession([&](soci::session& sql) -> Result<long long> {
      long long count = 0;
      sql << "SELECT COUNT(*) FROM pg_prepared_statements", soci::into(count);
      return count;
    });
    return n.ok() ? *n : -1;
  }

  TempDir tmp_;
  std::unique_ptr<SqlStore> store_;
  int made_ = 0;
};

INSTANTIATE_TEST_SUITE_P(Backends, KeptTest,
                         ::testing::Values("sqlite", "postgres", "mariadb", "odbc-mariadb"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) {
                             if (c == '-') c = '_';
                           }
                           return name;
                         });

TEST_P(KeptTest, AKeptStatementIsMadeOncePerSessionAndReusedByLaterLeases) {
  for (int i = 0; i < 50; ++i) {
    auto n = Count("x");
    ASSERT_TRUE(n.ok()) << n.error().message;
    EXPECT_EQ(*n, 0);
  }
  EXPECT_EQ(made_, 1);
  EXPECT_EQ(store_->KeptCount(), 1u);
  if (GetParam() == "postgres") {
    // Prepared once and still there: no PREPARE/DEALLOCATE per call.
    EXPECT_EQ(PreparedOnServer(), 1);
    for (int i = 0; i < 20; ++i) ASSERT_TRUE(Count("y").ok());
    EXPECT_EQ(PreparedOnServer(), 1);
  }
}

TEST_P(KeptTest, AKeptStatementSeesRowsCommittedAfterItWasPrepared) {
  ASSERT_TRUE(Count("a").ok());
  ASSERT_TRUE(store_
                  ->WithTransaction([&](soci::session& sql) -> Status {
                    sql << "INSERT INTO kept_items (id, name, n) VALUES ('1', 'a', 1)";
                    return Status::Ok();
                  })
                  .ok());
  auto n = Count("a");
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1);
  EXPECT_EQ(made_, 1);
}

TEST_P(KeptTest, AStatementThatThrowsDropsWhatTheSessionKeeps) {
  ASSERT_TRUE(Count("a").ok());
  Status failed = store_->WithTransaction([&](soci::session& sql) -> Status {
    sql << "SELECT no_such_column FROM kept_items";
    return Status::Ok();
  });
  EXPECT_FALSE(failed.ok());
  EXPECT_EQ(store_->KeptCount(), 0u);
  auto n = Count("a");  // made afresh, and works
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(made_, 2);
  // A business error (no exception) keeps them.
  Status refused = store_->WithSession([](soci::session&) -> Status {
    return Error::InvalidArgument("no");
  });
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(store_->KeptCount(), 1u);
}

TEST_P(KeptTest, BulkInsertWritesEveryRowWithAwkwardTextIntact) {
  std::vector<std::vector<std::string>> rows;
  const std::string awkward = "tab\there\nnew line\\back\r张三 𠮷";
  for (int i = 0; i < 2500; ++i) {
    rows.push_back({"id" + std::to_string(i), i == 7 ? awkward : "n" + std::to_string(i),
                    std::to_string(i * 1000000000LL)});
  }
  Status done = store_->WithTransaction([&](soci::session& sql) -> Status {
    store_->BulkInsert(sql, "kept_items", {"id", "name", "n"}, rows);
    return Status::Ok();
  });
  ASSERT_TRUE(done.ok()) << done.error().message;
  auto back = store_->WithSession([&](soci::session& sql) -> Result<std::vector<std::string>> {
    long long count = 0;
    long long big = 0;
    std::string name;
    sql << "SELECT COUNT(*) FROM kept_items", soci::into(count);
    sql << "SELECT name FROM kept_items WHERE id = 'id7'", soci::into(name);
    sql << "SELECT n FROM kept_items WHERE id = 'id2499'", soci::into(big);
    return std::vector<std::string>{std::to_string(count), name, std::to_string(big)};
  });
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ((*back)[0], "2500");
  EXPECT_EQ((*back)[1], awkward);
  EXPECT_EQ((*back)[2], std::to_string(2499 * 1000000000LL));
}

// The kept statement, run again with other rows (a later batch, a later
// import), writes those rows — never the values of an earlier run.
TEST_P(KeptTest, ABulkInsertRunAgainWritesTheNewRows) {
  for (int batch = 0; batch < 3; ++batch) {
    std::vector<std::vector<std::string>> rows;
    for (int i = 0; i < 1500; ++i) {  // more than one slice
      const int id = batch * 1500 + i;
      rows.push_back({"id" + std::to_string(id), "b" + std::to_string(batch), std::to_string(id)});
    }
    Status done = store_->WithTransaction([&](soci::session& sql) -> Status {
      store_->BulkInsert(sql, "kept_items", {"id", "name", "n"}, rows);
      return Status::Ok();
    });
    ASSERT_TRUE(done.ok()) << done.error().message;
  }
  auto back = store_->WithSession([&](soci::session& sql) -> Result<std::vector<long long>> {
    long long count = 0, distinct = 0, wrong = 0;
    sql << "SELECT COUNT(*) FROM kept_items", soci::into(count);
    sql << "SELECT COUNT(DISTINCT n) FROM kept_items", soci::into(distinct);
    sql << "SELECT COUNT(*) FROM kept_items WHERE id <> " +
               std::string(GetParam() == "sqlite" || GetParam() == "postgres"
                               ? "'id' || CAST(n AS VARCHAR(20))"
                               : "CONCAT('id', CAST(n AS CHAR))"),
        soci::into(wrong);
    return std::vector<long long>{count, distinct, wrong};
  });
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ((*back)[0], 4500);
  EXPECT_EQ((*back)[1], 4500);
  EXPECT_EQ((*back)[2], 0);
}

TEST_P(KeptTest, ABulkInsertThatViolatesAKeyCommitsNothingAndIsAConflict) {
  std::vector<std::vector<std::string>> rows = {{"a", "x", "1"}, {"b", "y", "2"}, {"a", "z", "3"}};
  Status done = store_->WithTransaction([&](soci::session& sql) -> Status {
    store_->BulkInsert(sql, "kept_items", {"id", "name", "n"}, rows);
    return Status::Ok();
  });
  ASSERT_FALSE(done.ok());
  EXPECT_EQ(done.error().code, errc::kConflict) << done.error().message;
  auto n = store_->WithSession([&](soci::session& sql) -> Result<long long> {
    long long count = 0;
    sql << "SELECT COUNT(*) FROM kept_items", soci::into(count);
    return count;
  });
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  // The session is usable afterwards.
  Status again = store_->WithTransaction([&](soci::session& sql) -> Status {
    store_->BulkInsert(sql, "kept_items", {"id", "name", "n"}, {{"c", "w", "4"}});
    return Status::Ok();
  });
  EXPECT_TRUE(again.ok()) << again.error().message;
}

}  // namespace
}  // namespace tongban
