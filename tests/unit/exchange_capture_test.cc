// Delivered rows on a PostgreSQL subscriber skip its capture trigger: the applying transaction
// takes the capture's lock and numbers the rows itself (ddl.h, batch.cc). These tests hold it to
// the trigger's promises: every delivered row gets the next tong_seq (so the subscriber can
// provide the table in turn), a department's writer and the apply take values one after the
// other, and tables whose trigger is not the guarded one (older DDL, made by hand) still work.
#include <gtest/gtest.h>

#include <thread>

#include "exchange/batch.h"
#include "exchange_test_support.h"

namespace tongban::exchange {
namespace {

using test::Env;
using test::Exec;
using test::Rows;

class CaptureTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    pg_url_ = test::PostgresUrl(env_.dir, &why);
    if (pg_url_.empty()) GTEST_SKIP() << why;
    provider_node_ = env_.AddNode("sqlite://" + env_.dir.File("provider.db"), "330100");
    pg_node_ = env_.AddNode(pg_url_, "330200");
    provider_ = env_.AddResource(provider_node_.id, "people", TableModel::kHorizontal,
                                 test::PersonFields());
  }

  SqlStore& Provider() { return env_.NodeStore(provider_node_.id); }
  SqlStore& Pg() { return env_.NodeStore(pg_node_.id); }

  void Insert(const std::string& tongid, const std::string& name) {
    Exec(Provider(), "INSERT INTO people (idno, name, age, tongid) VALUES ('330100199001020011', '" +
                         name + "', 30, '" + tongid + "')");
  }

  // (tongid, name) in the subscriber's tong_seq order, and whether every tong_seq is set.
  std::vector<std::string> BySeq() {
    return Rows(Pg(), "SELECT tongid, name FROM people ORDER BY tong_seq");
  }
  std::string Unnumbered() {
    return Rows(Pg(), "SELECT COUNT(*) FROM people WHERE tong_seq IS NULL").at(0);
  }

  Env env_;
  std::string pg_url_;
  Node provider_node_, pg_node_;
  Resource provider_;
};

TEST_F(CaptureTest, DeliveredRowsAreNumberedInOrderSoTheSubscriberCanProvideInTurn) {
  Resource mid = env_.AddResource(pg_node_.id, "people", TableModel::kHorizontal,
                                  test::PersonFields());
  Node last_node = env_.AddNode("sqlite://" + env_.dir.File("last.db"), "330300");
  Resource last = env_.AddResource(last_node.id, "people", TableModel::kHorizontal,
                                   test::PersonFields());
  Task in = env_.AddApprovedTask("in", provider_.id, {{0, mid.id, {}}}, /*batch_size=*/2);
  Task on = env_.AddApprovedTask("on", mid.id, {{0, last.id, {}}});
  Insert("a", "甲");
  Insert("b", "乙");
  Insert("c", "丙");
  ASSERT_TRUE(env_.engine->RunTask(in.id).ok());
  EXPECT_EQ(BySeq(), (std::vector<std::string>{"a|甲", "b|乙", "c|丙"}));
  EXPECT_EQ(Unnumbered(), "0");
  // An update (held row: the batch goes the staging way) gets a value above every other.
  Exec(Provider(), "UPDATE people SET name = '甲二' WHERE tongid = 'a'");
  Insert("d", "丁");
  ASSERT_TRUE(env_.engine->RunTask(in.id).ok());
  EXPECT_EQ(BySeq(), (std::vector<std::string>{"b|乙", "c|丙", "a|甲二", "d|丁"}));
  EXPECT_EQ(Rows(Pg(), "SELECT dataversion FROM people WHERE tongid = 'a'"),
            std::vector<std::string>{"2"});
  // A replay of what is held (a second task from the provider's start) changes nothing, not
  // even the numbers.
  auto numbers = Rows(Pg(), "SELECT tongid, tong_seq FROM people ORDER BY tongid");
  Task again = env_.AddApprovedTask("again", provider_.id, {{0, mid.id, {}}});
  auto replay = env_.engine->RunTask(again.id);
  ASSERT_TRUE(replay.ok());
  ASSERT_EQ(replay->size(), 1u);
  EXPECT_EQ(replay->at(0).applied, 0);
  EXPECT_EQ(replay->at(0).unchanged, 4);
  EXPECT_EQ(Rows(Pg(), "SELECT tongid, tong_seq FROM people ORDER BY tongid"), numbers);
  // The subscriber provides the rows onward.
  ASSERT_TRUE(env_.engine->RunTask(on.id).ok());
  EXPECT_EQ(Rows(env_.NodeStore(last_node.id), "SELECT tongid, name FROM people ORDER BY tongid"),
            (std::vector<std::string>{"a|甲二", "b|乙", "c|丙", "d|丁"}));
  // A department's own write after the delivery still goes through the trigger, above them.
  Exec(Pg(), "INSERT INTO people (idno, name, tongid) VALUES ('1', '戊', 'e')");
  EXPECT_EQ(BySeq().back(), "e|戊");
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people WHERE tongid = 'e' AND create_time > 0"),
            std::vector<std::string>{"1"});
}

TEST_F(CaptureTest, TheApplyWaitsForADepartmentWriterSoValuesBecomeVisibleInOrder) {
  Resource mid = env_.AddResource(pg_node_.id, "people", TableModel::kHorizontal,
                                  test::PersonFields());
  Task in = env_.AddApprovedTask("in", provider_.id, {{0, mid.id, {}}});
  Insert("a", "甲");
  // Its own connection to watch the locks (the node's pool is busy with the two writers).
  auto watcher = SqlStore::Open(pg_url_, 1);
  ASSERT_TRUE(watcher.ok()) << watcher.error().message;
  {
    auto writer = Pg().Acquire();
    writer->begin();
    *writer << "INSERT INTO people (idno, name, tongid) VALUES ('1', '部门', 'w')";
    Result<std::vector<BatchReport>> run = Error::Internal("not run");
    std::thread delivery([&] { run = env_.engine->RunTask(in.id); });
    // The delivery must queue behind the writer's capture lock (bounded wait for the state).
    std::vector<std::string> waiting;
    for (int i = 0; i < 400 && waiting != std::vector<std::string>{"1"}; ++i) {
      waiting = Rows(**watcher,
                     "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted");
      if (waiting != std::vector<std::string>{"1"}) {
        std::this_thread::sleep_for(std::chrono::milliseconds(25));
      }
    }
    EXPECT_EQ(waiting, std::vector<std::string>{"1"});
    writer->commit();
    delivery.join();
    ASSERT_TRUE(run.ok()) << run.error().message;
  }
  EXPECT_EQ(BySeq(), (std::vector<std::string>{"w|部门", "a|甲"}));
}

TEST_F(CaptureTest, ATableWithAnOlderOrNoTriggerKeepsItsOwnNumbering) {
  Resource mid = env_.AddResource(pg_node_.id, "people", TableModel::kHorizontal,
                                  test::PersonFields());
  // The trigger as created before the guard: the first delivery gives it the
  // guard (an older tongban's table becomes as fast as a new one), and the
  // rows are numbered in order either way.
  Exec(Pg(), "DROP TRIGGER people_tong ON people");
  Exec(Pg(),
       "CREATE TRIGGER people_tong BEFORE INSERT OR UPDATE ON people FOR EACH ROW EXECUTE "
       "FUNCTION people_tong_fn()");
  auto guarded = [&] {
    return Rows(Pg(),
                "SELECT count(*) FROM pg_trigger WHERE tgname = 'people_tong' AND "
                "pg_get_triggerdef(oid) LIKE '%tongban.apply%'");
  };
  EXPECT_EQ(guarded(), (std::vector<std::string>{"0"}));
  Task in = env_.AddApprovedTask("in", provider_.id, {{0, mid.id, {}}});
  Insert("a", "甲");
  Insert("b", "乙");
  ASSERT_TRUE(env_.engine->RunTask(in.id).ok());
  EXPECT_EQ(BySeq(), (std::vector<std::string>{"a|甲", "b|乙"}));
  EXPECT_EQ(Unnumbered(), "0");
  EXPECT_EQ(guarded(), (std::vector<std::string>{"1"}));
  // A trigger the department disabled is theirs: left alone.
  Exec(Pg(), "DROP TRIGGER people_tong ON people");
  Exec(Pg(),
       "CREATE TRIGGER people_tong BEFORE INSERT OR UPDATE ON people FOR EACH ROW EXECUTE "
       "FUNCTION people_tong_fn()");
  Exec(Pg(), "ALTER TABLE people DISABLE TRIGGER people_tong");
  Insert("d", "丁");
  ASSERT_TRUE(env_.engine->RunTask(in.id).ok());
  EXPECT_EQ(guarded(), (std::vector<std::string>{"0"}));
  Exec(Pg(), "ALTER TABLE people ENABLE TRIGGER people_tong");
  // No trigger and no sequence (a table made by hand): the rows still arrive.
  Exec(Pg(), "DROP TRIGGER people_tong ON people");
  Exec(Pg(), "DROP SEQUENCE people_tong_seq_seq");
  Insert("c", "丙");
  Exec(Provider(), "UPDATE people SET name = '甲二' WHERE tongid = 'a'");
  auto run = env_.engine->RunTask(in.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(Rows(Pg(), "SELECT tongid, name, dataversion FROM people ORDER BY tongid"),
            (std::vector<std::string>{"a|甲二|2", "b|乙|1", "c|丙|1", "d|丁|1"}));
}

// Staging tables are per connection and named after their resource: two long
// codes that share their first 50 bytes must not share one (PostgreSQL cuts
// names at 63 bytes).
TEST(StagingTableName, FitsPostgresAndKeepsLongCodesApart) {
  EXPECT_EQ(StagingTableName("persons"), "tbs_persons");
  const std::string a = std::string(55, 'p') + "_one";
  const std::string b = std::string(55, 'p') + "_two";
  EXPECT_LE(StagingTableName(a).size(), 63u);
  EXPECT_LE(StagingTableName(b).size(), 63u);
  EXPECT_NE(StagingTableName(a), StagingTableName(b));
  EXPECT_EQ(StagingTableName(a), StagingTableName(a));
  EXPECT_EQ(StagingTableName(std::string(59, 'q')).size(), 63u);  // fits whole
}

}  // namespace
}  // namespace tongban::exchange
