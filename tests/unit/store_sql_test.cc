// SqlStore against real databases: SQLite in a temp dir, a private PostgreSQL
// server when one can be started (skipped with the reason otherwise), and a
// private MariaDB, natively and through Debian's MariaDB ODBC driver (which CI
// installs: a missing server fails these tests).
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "store/sql_store.h"
#include "store/wal_checkpoints.h"
#include "store_test_support.h"

namespace tongban {
namespace {

using store_test::TempDir;

Migration Step(std::string module, int version, std::string sql, std::string pg = "",
               std::string mysql = "") {
  return Migration{std::move(module), version, std::move(sql), std::move(pg), std::move(mysql)};
}

bool IsMariadb(const std::string& backend) { return backend.find("mariadb") != std::string::npos; }

int64_t CountRows(SqlStore& store, const std::string& table) {
  auto n = store.WithSession([&](soci::session& sql) -> Result<int64_t> {
    int64_t count = 0;
    sql << "SELECT COUNT(*) FROM " + table, soci::into(count);
    return count;
  });
  return n.ok() ? *n : -1;
}

bool TableExists(SqlStore& store, const std::string& table) {
  auto n = store.WithSession([&](soci::session& sql) -> Result<int64_t> {
    int64_t count = 0;
    if (store.dialect() == SqlDialect::kSqlite) {
      sql << "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = :t",
          soci::use(table), soci::into(count);
    } else if (store.dialect() == SqlDialect::kMySql) {
      sql << "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = :t"
             " AND table_schema = DATABASE()",
          soci::use(table), soci::into(count);
    } else {
      sql << "SELECT COUNT(*) FROM information_schema.tables WHERE table_name = :t",
          soci::use(table), soci::into(count);
    }
    return count;
  });
  return n.ok() && *n > 0;
}

class SqlStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    url_ = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (IsMariadb(GetParam())) {
      ASSERT_FALSE(url_.empty()) << why;
    }
    if (url_.empty()) GTEST_SKIP() << why;
    auto store = SqlStore::Open(url_, 3);
    ASSERT_TRUE(store.ok()) << store.error().message;
    store_ = std::move(*store);
  }

  std::unique_ptr<SqlStore> OpenAnother(size_t pool_size = 2) {
    auto store = SqlStore::Open(url_, pool_size);
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  Status CreateItems() {
    return store_->Migrate({Step("items", 1,
                                 "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL "
                                 "UNIQUE)",
                                 "",
                                 "CREATE TABLE items (id INTEGER PRIMARY KEY, name VARCHAR(100) "
                                 "CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL UNIQUE)")});
  }

  TempDir dir_;
  std::string url_;
  std::unique_ptr<SqlStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, SqlStoreTest,
                         ::testing::Values("sqlite", "postgres", "mariadb", "odbc-mariadb"),
                         [](const auto& info) {
                           std::string name = info.param;
                           std::replace(name.begin(), name.end(), '-', '_');
                           return name;
                         });

TEST_P(SqlStoreTest, PingSucceedsOnAnOpenStore) { EXPECT_TRUE(store_->Ping().ok()); }

TEST_P(SqlStoreTest, MigrateCreatesTheTablesAndRecordsEachVersion) {
  ASSERT_TRUE(store_
                  ->Migrate({Step("a", 1, "CREATE TABLE a1 (x INTEGER)"),
                             Step("a", 2, "CREATE TABLE a2 (x INTEGER)")})
                  .ok());
  EXPECT_TRUE(TableExists(*store_, "a1"));
  EXPECT_TRUE(TableExists(*store_, "a2"));
  EXPECT_EQ(CountRows(*store_, "schema_migrations"), 2);
}

TEST_P(SqlStoreTest, MigrateIsIdempotent) {
  std::vector<Migration> steps = {Step("a", 1, "CREATE TABLE a1 (x INTEGER)")};
  ASSERT_TRUE(store_->Migrate(steps).ok());
  Status again = store_->Migrate(steps);  // CREATE TABLE without IF NOT EXISTS would fail
  EXPECT_TRUE(again.ok()) << again.error().message;
  EXPECT_EQ(CountRows(*store_, "schema_migrations"), 1);
}

TEST_P(SqlStoreTest, MigrateAppliesVersionsInAscendingOrderWhateverTheListOrder) {
  Status st = store_->Migrate(
      {Step("a", 2, "INSERT INTO a1 (x) VALUES (2)"), Step("a", 1, "CREATE TABLE a1 (x INTEGER)")});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(CountRows(*store_, "a1"), 1);
}

TEST_P(SqlStoreTest, MigrateAppliesModulesInTheOrderGiven) {
  Status st =
      store_->Migrate({Step("base", 1, "CREATE TABLE base (id INTEGER PRIMARY KEY)"),
                       Step("child", 1, "CREATE TABLE child (base_id INTEGER REFERENCES base(id))"),
                       Step("base", 2, "INSERT INTO base (id) VALUES (1)")});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_TRUE(TableExists(*store_, "child"));
  EXPECT_EQ(CountRows(*store_, "base"), 1);
}

TEST_P(SqlStoreTest, MigrateLaterAppliesOnlyTheNewVersions) {
  ASSERT_TRUE(store_->Migrate({Step("a", 1, "CREATE TABLE a1 (x INTEGER)")}).ok());
  Status st = store_->Migrate(
      {Step("a", 1, "CREATE TABLE a1 (x INTEGER)"), Step("a", 2, "INSERT INTO a1 (x) VALUES (7)")});
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(CountRows(*store_, "a1"), 1);
  EXPECT_EQ(CountRows(*store_, "schema_migrations"), 2);
}

TEST_P(SqlStoreTest, AFailingMigrationIsRolledBackAndEarlierOnesAreKept) {
  Status st = store_->Migrate({Step("a", 1, "CREATE TABLE a1 (x INTEGER)"),
                               Step("a", 2, "CREATE TABLE a2 (x INTEGER); THIS IS NOT SQL"),
                               Step("a", 3, "CREATE TABLE a3 (x INTEGER)")});
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.error().message.find("migration a v2 failed"), std::string::npos)
      << st.error().message;
  EXPECT_TRUE(TableExists(*store_, "a1"));
  // MySQL commits each DDL statement at once: a2 stays, but v2 is not recorded.
  if (store_->dialect() != SqlDialect::kMySql) {
    EXPECT_FALSE(TableExists(*store_, "a2"));
  }
  EXPECT_FALSE(TableExists(*store_, "a3"));
  EXPECT_EQ(CountRows(*store_, "schema_migrations"), 1);
}

TEST_P(SqlStoreTest, MigrateRejectsTheSameVersionListedTwice) {
  Status st = store_->Migrate(
      {Step("a", 1, "CREATE TABLE a1 (x INTEGER)"), Step("a", 1, "CREATE TABLE a2 (x INTEGER)")});
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, errc::kInvalidArgument);
  EXPECT_FALSE(TableExists(*store_, "a1"));
}

TEST_P(SqlStoreTest, MigrateRunsMultiStatementScriptsWithBodiesContainingSemicolons) {
  std::string sqlite =
      "CREATE TABLE t (x INTEGER); CREATE TABLE log (x INTEGER);"
      "CREATE TRIGGER t_log AFTER INSERT ON t BEGIN INSERT INTO log (x) VALUES (NEW.x); END;";
  std::string pg =
      "CREATE TABLE t (x INTEGER); CREATE TABLE log (x INTEGER);"
      "CREATE FUNCTION t_log() RETURNS trigger AS $$ BEGIN INSERT INTO log (x) VALUES (NEW.x); "
      "RETURN NEW; END; $$ LANGUAGE plpgsql;"
      "CREATE TRIGGER t_log AFTER INSERT ON t FOR EACH ROW EXECUTE FUNCTION t_log();";
  std::string mysql =
      "CREATE TABLE t (x INTEGER); CREATE TABLE log (x INTEGER);"
      "CREATE TRIGGER t_log AFTER INSERT ON t FOR EACH ROW BEGIN INSERT INTO log (x) "
      "VALUES (NEW.x); END;";
  Status st = store_->Migrate({Step("trig", 1, sqlite, pg, mysql)});
  ASSERT_TRUE(st.ok()) << st.error().message;
  ASSERT_TRUE(store_
                  ->WithTransaction([](soci::session& sql) {
                    sql << "INSERT INTO t (x) VALUES (5)";
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(CountRows(*store_, "log"), 1);
}

TEST_P(SqlStoreTest, ConcurrentMigrateFromTwoStoresAppliesEachMigrationOnce) {
  std::vector<Migration> steps = {
      Step("c", 1, "CREATE TABLE runs (x INTEGER)"),
      Step("c", 2, "INSERT INTO runs (x) VALUES (1)"),
      Step("c", 3, "INSERT INTO runs (x) VALUES (1)"),
  };
  auto other = OpenAnother();
  ASSERT_NE(other, nullptr);
  Status a, b;
  std::thread t1([&] { a = store_->Migrate(steps); });
  std::thread t2([&] { b = other->Migrate(steps); });
  t1.join();
  t2.join();
  EXPECT_TRUE(a.ok()) << a.error().message;
  EXPECT_TRUE(b.ok()) << b.error().message;
  EXPECT_EQ(CountRows(*store_, "runs"), 2);
  EXPECT_EQ(CountRows(*store_, "schema_migrations"), 3);
}

TEST_P(SqlStoreTest, WithTransactionCommitsWhenTheFunctionSucceeds) {
  ASSERT_TRUE(CreateItems().ok());
  Status st = store_->WithTransaction([](soci::session& sql) {
    sql << "INSERT INTO items (id, name) VALUES (1, 'one')";
    return Status::Ok();
  });
  ASSERT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(CountRows(*store_, "items"), 1);
}

TEST_P(SqlStoreTest, WithTransactionRollsBackWhenTheFunctionReturnsAnError) {
  ASSERT_TRUE(CreateItems().ok());
  Status st = store_->WithTransaction([](soci::session& sql) -> Status {
    sql << "INSERT INTO items (id, name) VALUES (1, 'one')";
    return Error::InvalidArgument("changed my mind");
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, errc::kInvalidArgument);
  EXPECT_EQ(st.error().message, "changed my mind");
  EXPECT_EQ(CountRows(*store_, "items"), 0);
}

TEST_P(SqlStoreTest, WithTransactionRollsBackAndReturnsAnErrorWhenAStatementThrows) {
  ASSERT_TRUE(CreateItems().ok());
  Status st = store_->WithTransaction([](soci::session& sql) {
    sql << "INSERT INTO items (id, name) VALUES (1, 'one')";
    sql << "INSERT INTO no_such_table (x) VALUES (1)";
    return Status::Ok();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, errc::kInternal);
  EXPECT_TRUE(st.error().message.starts_with("database: ")) << st.error().message;
  EXPECT_EQ(CountRows(*store_, "items"), 0);
}

TEST_P(SqlStoreTest, WithTransactionReturnsTheValueOfAResultFunction) {
  ASSERT_TRUE(CreateItems().ok());
  Result<int64_t> id = store_->WithTransaction([](soci::session& sql) -> Result<int64_t> {
    int64_t id = 0;
    sql << "INSERT INTO items (id, name) VALUES (42, 'answer') RETURNING id", soci::into(id);
    return id;
  });
  ASSERT_TRUE(id.ok()) << id.error().message;
  EXPECT_EQ(*id, 42);
  EXPECT_EQ(CountRows(*store_, "items"), 1);
}

TEST_P(SqlStoreTest, AUniqueViolationIsAConflictWhoseMessageHidesTheBoundValue) {
  ASSERT_TRUE(CreateItems().ok());
  const std::string secret = "s3cret-login-value";
  auto insert = [&](int id) {
    return store_->WithTransaction([&](soci::session& sql) {
      sql << "INSERT INTO items (id, name) VALUES (:id, :name)", soci::use(id), soci::use(secret);
      return Status::Ok();
    });
  };
  ASSERT_TRUE(insert(1).ok());
  Status dup = insert(2);
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(dup.error().code, errc::kConflict);
  EXPECT_EQ(dup.error().message.find(secret), std::string::npos) << dup.error().message;
}

TEST_P(SqlStoreTest, AMalformedValueIsAnErrorWhoseMessageHidesTheBoundValue) {
  ASSERT_TRUE(CreateItems().ok());
  const std::string secret = "not-a-number-s3cret";
  Status st = store_->WithSession([&](soci::session& sql) {
    // PostgreSQL rejects the cast and quotes the input; SQLite has no such error,
    // so there the strict comparison below checks the same rule on a CHECK failure.
    if (store_->dialect() == SqlDialect::kPostgres) {
      int64_t n = 0;
      sql << "SELECT CAST(:v AS INTEGER)", soci::use(secret), soci::into(n);
    } else if (store_->dialect() == SqlDialect::kMySql) {
      // Strict mode rejects it, quoting the value ("Incorrect integer value: '...'").
      sql << "INSERT INTO items (id, name) VALUES (:v, 'x')", soci::use(secret);
    } else {
      sql << "CREATE TABLE checked (v TEXT CHECK (length(v) < 3))";
      sql << "INSERT INTO checked (v) VALUES (:v)", soci::use(secret);
    }
    return Status::Ok();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().message.find(secret), std::string::npos) << st.error().message;
}

TEST_P(SqlStoreTest, ASessionIsCleanAfterAFailedTransaction) {
  auto single = OpenAnother(1);
  ASSERT_NE(single, nullptr);
  ASSERT_TRUE(CreateItems().ok());
  Status failed = single->WithTransaction([](soci::session& sql) {
    sql << "INSERT INTO items (id, name) VALUES (1, 'one')";
    sql << "SELECT * FROM no_such_table";
    return Status::Ok();
  });
  ASSERT_FALSE(failed.ok());
  Status next = single->WithTransaction([](soci::session& sql) {
    sql << "INSERT INTO items (id, name) VALUES (2, 'two')";
    return Status::Ok();
  });
  EXPECT_TRUE(next.ok()) << next.error().message;
  EXPECT_EQ(CountRows(*single, "items"), 1);
}

TEST_P(SqlStoreTest, AFunctionThatSwallowsAStatementErrorCannotCommitHalfATransaction) {
  ASSERT_TRUE(CreateItems().ok());
  Status st = store_->WithTransaction([](soci::session& sql) {
    sql << "INSERT INTO items (id, name) VALUES (1, 'one')";
    try {
      sql << "INSERT INTO items (id, name) VALUES (2, 'one')";
    } catch (const soci::soci_error&) {
      // A careless repository ignoring the failure.
    }
    return Status::Ok();
  });
  if (store_->dialect() == SqlDialect::kPostgres) {
    // PostgreSQL aborts the whole transaction; committing would silently roll back.
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(CountRows(*store_, "items"), 0);
  } else {
    // SQLite undoes only the failed statement; the rest commits as written.
    EXPECT_TRUE(st.ok());
    EXPECT_EQ(CountRows(*store_, "items"), 1);
  }
}

TEST_P(SqlStoreTest, TryAcquireFailsFastWhenThePoolIsExhausted) {
  auto single = OpenAnother(1);
  ASSERT_NE(single, nullptr);
  SqlStore::Lease held = single->Acquire();
  auto second = single->TryAcquire(std::chrono::milliseconds(1));
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, errc::kUnavailable);
}

TEST_P(SqlStoreTest, ALeaseReturnsItsSessionToThePool) {
  auto single = OpenAnother(1);
  ASSERT_NE(single, nullptr);
  { SqlStore::Lease lease = single->Acquire(); }
  EXPECT_TRUE(single->TryAcquire(std::chrono::milliseconds(1)).ok());
}

TEST_P(SqlStoreTest, WritersFromManyThreadsAllCommit) {
  ASSERT_TRUE(CreateItems().ok());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  threads.reserve(4);
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        int id = t * 100 + i;
        std::string name = std::to_string(id);
        Status st = store_->WithTransaction([&](soci::session& sql) {
          int64_t existing = 0;
          sql << "SELECT COUNT(*) FROM items", soci::into(existing);
          sql << "INSERT INTO items (id, name) VALUES (:id, :n)", soci::use(id), soci::use(name);
          return Status::Ok();
        });
        if (!st.ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(CountRows(*store_, "items"), 100);
}

// --- SQLite specifics -------------------------------------------------------

std::string Pragma(SqlStore& store, const std::string& name) {
  auto v = store.WithSession([&](soci::session& sql) -> Result<std::string> {
    std::string value;
    sql << "PRAGMA " + name, soci::into(value);
    return value;
  });
  return v.ok() ? *v : "error: " + v.error().message;
}

TEST(SqliteStoreTest, AFileDatabaseUsesWalWithForeignKeysAndABusyTimeout) {
  TempDir dir;
  auto store = SqlStore::Open("sqlite://" + dir.File("wal.db"), 2);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(Pragma(**store, "journal_mode"), "wal");
  EXPECT_EQ(Pragma(**store, "synchronous"), "1");  // NORMAL
  EXPECT_EQ(Pragma(**store, "foreign_keys"), "1");
  EXPECT_EQ(Pragma(**store, "busy_timeout"), "5000");
}

// One statement whose statement journal outgrows memory must spill to a
// temporary file and succeed. Session 9 kept statement journals in memory up
// to 16 MiB (SQLITE_CONFIG_STMTJRNL_SPILL); SQLite then writes the journal to
// its file in chunks of that size, and its unix VFS writes at most 128 KiB a
// call, so every such spill failed with "database or disk is full" (a 10M-row
// migration could not start the server). Here ~24 MiB of pages written earlier
// in the transaction are all changed again by one UPDATE.
TEST(SqliteStoreTest, AStatementWhoseJournalOutgrowsMemorySpillsAndSucceeds) {
  TempDir dir;
  auto store = SqlStore::Open("sqlite://" + dir.File("spill.db"), 1);
  ASSERT_TRUE(store.ok()) << store.error().message;
  Status done = (*store)->WithTransaction([](soci::session& sql) -> Status {
    sql << "CREATE TABLE big (id INTEGER PRIMARY KEY, v TEXT NOT NULL)";
    sql << "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 120000) "
           "INSERT INTO big (id, v) SELECT i, printf('%0200d', i) FROM n";
    sql << "UPDATE big SET v = v || 'x'";
    return Status::Ok();
  });
  ASSERT_TRUE(done.ok()) << done.error().message;
  long long changed = 0;
  ASSERT_TRUE((*store)
                  ->WithSession([&](soci::session& sql) -> Status {
                    sql << "SELECT COUNT(*) FROM big WHERE v LIKE '%x'", soci::into(changed);
                    return Status::Ok();
                  })
                  .ok());
  EXPECT_EQ(changed, 120000);
}

// Inserts `rows` rows of ~1 KiB (four to a 4 KiB page) in one transaction.
Status InsertKibRows(SqlStore& store, int rows) {
  return store.WithTransaction([&](soci::session& sql) -> Status {
    for (int i = 0; i < rows; ++i) {
      sql << "INSERT INTO pages (v) VALUES (printf('%01000d', random()))";
    }
    return Status::Ok();
  });
}

// Checkpoints are the store's thread's (store/wal_checkpoints.h): a
// COMMIT that takes the WAL past the threshold only wakes it.
TEST(SqliteStoreTest, AWalPastTheThresholdIsCheckpointedByTheStoresOwnThread) {
  TempDir dir;
  auto store = SqlStore::Open("sqlite://" + dir.File("ckpt.db"), 2);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ(WalCheckpointPages(**store), kWalCheckpointPages);
  SetWalCheckpointPages(**store, 100);
  ASSERT_TRUE((*store)->Migrate({Step("ckpt", 1, "CREATE TABLE pages (id INTEGER PRIMARY KEY, "
                                                 "v TEXT NOT NULL)")})
                  .ok());
  EXPECT_EQ(WalCheckpointCounts(**store).background, 0);
  ASSERT_TRUE(InsertKibRows(**store, 600).ok());  // ~150 pages
  ASSERT_TRUE(AwaitWalCheckpoints(**store, 1, std::chrono::seconds(30)));
  WalCheckpoints done = WalCheckpointCounts(**store);
  EXPECT_GE(done.pages, 100);
  EXPECT_EQ(done.in_commit, 0);  // well below four times the threshold
  EXPECT_EQ(CountRows(**store, "pages"), 600);
}

// A writer committing back to back can keep the WAL from ever being copied
// whole, and SQLite restarts it from its start only then; the store bounds it
// (at four times the threshold the committing connection checkpoints).
TEST(SqliteStoreTest, TheWalStaysBoundedWhileOneWriterCommitsBackToBack) {
  TempDir dir;
  auto store = SqlStore::Open("sqlite://" + dir.File("bounded.db"), 2);
  ASSERT_TRUE(store.ok()) << store.error().message;
  SetWalCheckpointPages(**store, 100);
  ASSERT_TRUE((*store)->Migrate({Step("ckpt", 1, "CREATE TABLE pages (id INTEGER PRIMARY KEY, "
                                                 "v TEXT NOT NULL)")})
                  .ok());
  for (int i = 0; i < 800; ++i) ASSERT_TRUE(InsertKibRows(**store, 10).ok());
  // 2,000+ pages went through the WAL; its file (never truncated) held at most
  // four thresholds plus what was committed during one background checkpoint
  // (frames are 4 KiB pages + 24 bytes).
  auto wal_pages = std::filesystem::file_size(dir.File("bounded.db") + "-wal") / (4096 + 24);
  EXPECT_LE(wal_pages, 1000u);
  WalCheckpoints done = WalCheckpointCounts(**store);
  EXPECT_GE(done.background + done.in_commit, 2);
  EXPECT_EQ(CountRows(**store, "pages"), 8000);
}

TEST(SqliteStoreTest, AReopenedSessionStillWakesTheCheckpointer) {
  TempDir dir;
  auto store = SqlStore::Open("sqlite://" + dir.File("rehook.db"), 1);
  ASSERT_TRUE(store.ok()) << store.error().message;
  SetWalCheckpointPages(**store, 100);
  ASSERT_TRUE((*store)->Migrate({Step("ckpt", 1, "CREATE TABLE pages (id INTEGER PRIMARY KEY, "
                                                 "v TEXT NOT NULL)")})
                  .ok());
  {
    SqlStore::Lease lease = (*store)->Acquire();
    lease->close();
  }
  ASSERT_TRUE(InsertKibRows(**store, 600).ok());  // on the reopened session
  EXPECT_TRUE(AwaitWalCheckpoints(**store, 1, std::chrono::seconds(30)));
}

TEST(SqliteStoreTest, AClosedPooledSessionIsReopenedWithItsSettings) {
  TempDir dir;
  auto store = SqlStore::Open("sqlite://" + dir.File("reopen.db"), 1);
  ASSERT_TRUE(store.ok()) << store.error().message;
  {
    SqlStore::Lease lease = (*store)->Acquire();
    lease->close();
  }
  EXPECT_EQ(Pragma(**store, "foreign_keys"), "1");
  EXPECT_EQ(Pragma(**store, "busy_timeout"), "5000");
}

TEST(SqliteStoreTest, ForeignKeysAreEnforced) {
  auto store = SqlStore::Open("sqlite::memory:");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)
                  ->Migrate({Step("fk", 1,
                                  "CREATE TABLE p (id INTEGER PRIMARY KEY);"
                                  "CREATE TABLE c (p_id INTEGER NOT NULL REFERENCES p(id))")})
                  .ok());
  Status st = (*store)->WithTransaction([](soci::session& sql) {
    sql << "INSERT INTO c (p_id) VALUES (99)";
    return Status::Ok();
  });
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, errc::kConflict);
}

TEST(SqliteStoreTest, AnInMemoryDatabaseWorks) {
  auto store = SqlStore::Open("sqlite::memory:", 8);
  ASSERT_TRUE(store.ok()) << store.error().message;
  EXPECT_EQ((*store)->dialect(), SqlDialect::kSqlite);
  EXPECT_TRUE((*store)->Ping().ok());
}

TEST(SqliteStoreTest, APathWithSpacesOpens) {
  TempDir dir;
  std::string path = dir.File("with space = and equals.db");
  auto store = SqlStore::Open("sqlite://" + path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->Migrate({Step("x", 1, "CREATE TABLE x (a INTEGER)")}).ok());
  EXPECT_TRUE(std::filesystem::exists(path));
}

TEST(SqliteStoreTest, ARelativePathIsRelativeToTheWorkingDirectory) {
  TempDir dir;
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(dir.path());
  auto store = SqlStore::Open("sqlite://var/rel.db");
  std::filesystem::create_directory(dir.File("var"));
  auto store_in_var = SqlStore::Open("sqlite://var/rel.db");
  std::filesystem::current_path(cwd);
  EXPECT_FALSE(store.ok());  // var/ did not exist yet
  ASSERT_TRUE(store_in_var.ok()) << store_in_var.error().message;
  EXPECT_TRUE(std::filesystem::exists(dir.File("var/rel.db")));
}

TEST(SqliteStoreTest, OpeningAFileInAMissingDirectoryIsUnavailable) {
  TempDir dir;
  auto store = SqlStore::Open("sqlite://" + dir.File("missing/x.db"));
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, errc::kUnavailable);
}

// --- URLs and error mapping ----------------------------------------------------

TEST(SqlStoreUrlTest, AnUnknownSchemeIsInvalidAndTheMessageNamesWhatIsSupported) {
  auto store = SqlStore::Open("oracle://scott:tiger@localhost/db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, errc::kInvalidArgument);
  for (const char* scheme : {"sqlite://", "postgresql://", "mysql://", "mariadb://", "odbc://"}) {
    EXPECT_NE(store.error().message.find(scheme), std::string::npos) << store.error().message;
  }
  EXPECT_EQ(store.error().message.find("tiger"), std::string::npos) << store.error().message;
}

TEST(SqlStoreUrlTest, AnOdbcUrlMustNameItsDialect) {
  auto store = SqlStore::Open("odbc://DSN=dm8;UID=SYSDBA;PWD=secret");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, errc::kInvalidArgument);
  EXPECT_NE(store.error().message.find("dialect=mysql"), std::string::npos)
      << store.error().message;
  auto oracle = SqlStore::Open("odbc://DSN=dm8;dialect=oracle");
  ASSERT_FALSE(oracle.ok());
  EXPECT_EQ(oracle.error().code, errc::kInvalidArgument);
  EXPECT_NE(oracle.error().message.find("dialect=postgresql"), std::string::npos);
}

TEST(SqlStoreUrlTest, AMissingOdbcDriverIsUnavailableWithAClearMessage) {
  auto store = SqlStore::Open(
      "odbc://DRIVER={No Such Driver};SERVER=127.0.0.1;PWD=pw-s3cret;"
      "dialect=mysql");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, errc::kUnavailable);
  EXPECT_NE(store.error().message.find("driver is not installed"), std::string::npos)
      << store.error().message;
  EXPECT_EQ(store.error().message.find("pw-s3cret"), std::string::npos) << store.error().message;
}

TEST(SqlStoreUrlTest, AMySqlUrlRejectsUnknownParametersAndOtherCharsets) {
  auto unknown = SqlStore::Open("mysql://u@127.0.0.1/db?reconnect=1");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, errc::kInvalidArgument);
  EXPECT_NE(unknown.error().message.find("unix_socket"), std::string::npos)
      << unknown.error().message;
  auto latin1 = SqlStore::Open("mariadb://u@127.0.0.1/db?charset=latin1");
  ASSERT_FALSE(latin1.ok());
  EXPECT_EQ(latin1.error().code, errc::kInvalidArgument);
}

TEST(SqlStoreUrlTest, AnUnreachableMySqlIsUnavailableAndTheMessageHidesThePassword) {
  int port = store_test::FreeLoopbackPort();
  auto store =
      SqlStore::Open("mysql://tongban:hunter2-secret@127.0.0.1:" + std::to_string(port) + "/db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, errc::kUnavailable);
  EXPECT_EQ(store.error().message.find("hunter2-secret"), std::string::npos)
      << store.error().message;
}

TEST(SqlStoreUrlTest, APostgresPortThatIsNotANumberIsInvalid) {
  auto store = SqlStore::Open("postgresql://u:p@localhost:abc/db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, errc::kInvalidArgument);
}

TEST(SqlStoreUrlTest, AnUnreachablePostgresIsUnavailableAndTheMessageHidesThePassword) {
  int port = store_test::FreeLoopbackPort();
  auto store =
      SqlStore::Open("postgres://tongban:hunter2-secret@127.0.0.1:" + std::to_string(port) + "/db");
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.error().code, errc::kUnavailable);
  EXPECT_EQ(store.error().message.find("hunter2-secret"), std::string::npos)
      << store.error().message;
}

TEST(SqlStoreErrorTest, AConnectionCategorySociErrorIsUnavailable) {
  struct LostConnection : soci::soci_error {
    LostConnection() : soci_error("server closed the connection") {}
    error_category get_error_category() const override { return connection_error; }
  };
  Error e = SqlStore::ToError(LostConnection());
  EXPECT_EQ(e.code, errc::kUnavailable);
  EXPECT_EQ(e.message, "database: server closed the connection");
}

TEST(SqlStoreErrorTest, AnExceptionThatIsNotFromSociIsInternal) {
  Error e = SqlStore::ToError(std::bad_cast());
  EXPECT_EQ(e.code, errc::kInternal);
  EXPECT_TRUE(e.message.starts_with("database: ")) << e.message;
}

TEST_P(SqlStoreTest, CharactersOutsideTheBmpRoundTripInKeysAndText) {
  ASSERT_TRUE(
      store_
          ->Migrate({PortableMigration(
              "names", 1, "CREATE TABLE names (k {KEY} PRIMARY KEY, v {TEXT} NOT NULL){END}")})
          .ok());
  const std::string rare = "𠮷野家 张三";  // 𠮷 is U+20BB7: 4 bytes in UTF-8, outside the BMP
  Status put = store_->WithTransaction([&](soci::session& sql) {
    sql << "INSERT INTO names (k, v) VALUES (:k, :v)", soci::use(rare, "k"), soci::use(rare, "v");
    return Status::Ok();
  });
  ASSERT_TRUE(put.ok()) << put.error().message;
  auto got = store_->WithSession([&](soci::session& sql) -> Result<std::string> {
    std::string v;
    sql << "SELECT v FROM names WHERE k = :k", soci::use(rare), soci::into(v);
    if (!sql.got_data()) return Error::NotFound("no row");
    return v;
  });
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, rare);
}

TEST_P(SqlStoreTest, KeysCompareByBytesSoCaseAndTrailingAccentsStayDistinct) {
  ASSERT_TRUE(CreateItems().ok());
  Status st = store_->WithTransaction([](soci::session& sql) {
    sql << "INSERT INTO items (id, name) VALUES (1, 'zhangs')";
    sql << "INSERT INTO items (id, name) VALUES (2, 'ZHANGS')";
    sql << "INSERT INTO items (id, name) VALUES (3, 'zhangé')";
    sql << "INSERT INTO items (id, name) VALUES (4, 'zhange')";
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.error().message;
  EXPECT_EQ(CountRows(*store_, "items"), 4);
}

// --- MySQL / MariaDB specifics -------------------------------------------------

class MariadbStoreTest : public ::testing::TestWithParam<std::string> {};

INSTANTIATE_TEST_SUITE_P(Connections, MariadbStoreTest, ::testing::Values("native", "odbc"),
                         [](const auto& info) { return info.param; });

TEST_P(MariadbStoreTest, AStoppedServerFailsClosedAndTheSameStoreRecoversWhenItIsBack) {
  std::string why;
  auto db = store_test::PrivateMariadb::Start(&why);
  ASSERT_NE(db, nullptr) << why;
  std::string name = db->NewDatabase(&why);
  ASSERT_FALSE(name.empty()) << why;
  auto store = SqlStore::Open(GetParam() == "odbc" ? db->OdbcUrl(name) : db->Url(name), 2);
  ASSERT_TRUE(store.ok()) << store.error().message;
  ASSERT_TRUE((*store)->Ping().ok());
  db->Stop();
  for (int i = 0; i < 3; ++i) {  // every pooled session, and a transaction too
    Status ping = (*store)->Ping();
    ASSERT_FALSE(ping.ok());
    EXPECT_EQ(ping.error().code, errc::kUnavailable) << ping.error().message;
  }
  Status tx = (*store)->WithTransaction([](soci::session& sql) {
    sql << "SELECT 1";
    return Status::Ok();
  });
  ASSERT_FALSE(tx.ok());
  EXPECT_EQ(tx.error().code, errc::kUnavailable) << tx.error().message;
  ASSERT_TRUE(db->Restart(&why)) << why;
  for (int i = 0; i < 3; ++i) {
    Status again = (*store)->WithTransaction([](soci::session& sql) {
      int one = 0;
      sql << "SELECT 1", soci::into(one);
      return Status::Ok();
    });
    EXPECT_TRUE(again.ok()) << again.error().message;
  }
}

TEST(MariadbSessionTest, AConnectionKilledByTheServerIsReopenedWithItsSettings) {
  store_test::TempDir dir;
  std::string why;
  std::string url = store_test::FreshDatabaseUrl("mariadb", dir, &why);
  ASSERT_FALSE(url.empty()) << why;
  auto store = SqlStore::Open(url, 1);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto connection_id = [&]() -> Result<int64_t> {
    return (*store)->WithSession([](soci::session& sql) -> Result<int64_t> {
      long long id = 0;
      sql << "SELECT CONNECTION_ID()", soci::into(id);
      return static_cast<int64_t>(id);
    });
  };
  auto id = connection_id();
  ASSERT_TRUE(id.ok()) << id.error().message;
  store_test::PrivateMariadb* db = store_test::SharedMariadb(&why);
  ASSERT_EQ(db->Execute("", "KILL " + std::to_string(*id)), "");
  // The first call learns that the connection is gone; the next one works on
  // a new connection that has READ COMMITTED again.
  (void)connection_id();
  auto level = (*store)->WithSession([](soci::session& sql) -> Result<std::string> {
    std::string isolation;
    sql << "SELECT @@SESSION.tx_isolation", soci::into(isolation);
    return isolation;
  });
  ASSERT_TRUE(level.ok()) << level.error().message;
  EXPECT_EQ(*level, "READ-COMMITTED");
}

// --- PostgreSQL specifics ------------------------------------------------------

TEST(PostgresStoreTest, AConnectionKilledByTheServerIsReopenedOnTheNextTransaction) {
  TempDir dir;
  std::string why;
  std::string url = store_test::FreshDatabaseUrl("postgres", dir, &why);
  if (url.empty()) GTEST_SKIP() << why;
  auto store = SqlStore::Open(url, 1);
  ASSERT_TRUE(store.ok()) << store.error().message;
  store_test::PrivatePostgres* pg = store_test::SharedPostgres(&why);
  std::string db = url.substr(url.rfind('/') + 1);
  ASSERT_EQ(pg->Execute("postgres",
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = '" +
                            db + "'"),
            "");
  Status st = (*store)->WithTransaction([](soci::session& sql) {
    int one = 0;
    sql << "SELECT 1", soci::into(one);
    return Status::Ok();
  });
  EXPECT_TRUE(st.ok()) << st.error().message;
}

TEST(PostgresStoreTest, AStoppedServerMakesCallsUnavailable) {
  std::string why;
  auto pg = store_test::PrivatePostgres::Start(&why);
  if (pg == nullptr) GTEST_SKIP() << why;
  auto store = SqlStore::Open(pg->Url("postgres"), 1);
  ASSERT_TRUE(store.ok()) << store.error().message;
  pg->Stop();
  Status st = (*store)->Ping();
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.error().code, errc::kUnavailable) << st.error().message;
}

}  // namespace
}  // namespace tongban
