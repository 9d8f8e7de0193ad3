// The delivery engine between real databases: SQLite files and the private PostgreSQL.
// Idempotent replay, reordering, deletes, dead letters and their retry, pivoting both ways,
// filters and mappings, a table that does not fit, a node that is down.
#include <gtest/gtest.h>

#include <cstdio>

#include "exchange_test_support.h"

namespace tongban::exchange {
namespace {

using test::Env;
using test::Exec;
using test::Rows;

class DeliveryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    pg_url_ = test::PostgresUrl(env_.dir, &why);
    if (pg_url_.empty()) GTEST_SKIP() << why;
    provider_node_ = env_.AddNode("sqlite://" + env_.dir.File("provider.db"), "330100");
    pg_node_ = env_.AddNode(pg_url_, "330200");
    provider_ = env_.AddResource(provider_node_.id, "people", TableModel::kHorizontal,
                                 test::PersonFields());
    target_ =
        env_.AddResource(pg_node_.id, "people", TableModel::kHorizontal, test::PersonFields());
  }

  SqlStore& Provider() { return env_.NodeStore(provider_node_.id); }
  SqlStore& Pg() { return env_.NodeStore(pg_node_.id); }

  void Insert(const std::string& tongid, const std::string& idno, const std::string& name,
              const std::string& age = "30", int64_t version = 1, const std::string& status = "I") {
    Exec(Provider(),
         "INSERT INTO people (idno, name, age, fee, born, tongid, sync_status, "
         "dataversion, xk_lydw, xk_lydwdm, areacode) VALUES ('" +
             idno + "', '" + name + "', " + age + ", 12.5, '1990-01-02', '" + tongid + "', '" +
             status + "', " + std::to_string(version) +
             ", '公安厅', '11100000000013127D', '330100')");
  }

  // `n` distinct provider rows r100, r101, ….
  void InsertPeople(int n) {
    for (int i = 0; i < n; ++i) {
      char idno[19];
      std::snprintf(idno, sizeof(idno), "3301001990010200%02d", i);
      Insert("r" + std::to_string(100 + i), idno, "人" + std::to_string(i));
    }
  }

  std::vector<std::string> Target() {
    return Rows(Pg(),
                "SELECT tongid, idno, name, CAST(age AS TEXT), CAST(fee AS TEXT), "
                "CAST(born AS TEXT), sync_status, dataversion FROM people ORDER BY tongid");
  }

  Env env_;
  std::string pg_url_;
  Node provider_node_, pg_node_;
  Resource provider_, target_;
};

TEST_F(DeliveryTest, MovesRowsFromSqliteToPostgres) {
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}});
  Insert("a", "330100199001020011", "张三");
  Insert("b", "330100199001020012", "李四", "41");
  auto run = env_.engine->RunTask(task.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(Target(),
            (std::vector<std::string>{"a|330100199001020011|张三|30|12.50|1990-01-02|I|1",
                                      "b|330100199001020012|李四|41|12.50|1990-01-02|I|1"}));
  // The subscriber row carries tong_time and the source unit.
  EXPECT_EQ(Rows(Pg(), "SELECT xk_lydw, areacode FROM people WHERE tongid = 'a'"),
            std::vector<std::string>{"公安厅|330100"});
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people WHERE tong_time IS NULL"),
            std::vector<std::string>{"0"});
  auto progress = env_.engine->ListProgress(task.id);
  ASSERT_TRUE(progress.ok());
  ASSERT_EQ(progress->size(), 1u);
  EXPECT_EQ(progress->at(0).rows_applied, 2);
  EXPECT_EQ(progress->at(0).hwm, 2);
}

// review16b: a run read its task once and delivered up to 50 batches per
// subscriber, so a grant revoked (the task disabled) mid-run — on this node or
// another — still let every batch through. The task is read again before each
// batch; a disabled task does not run at all, by hand either.
TEST_F(DeliveryTest, ADisableLandingMidRunStopsItAtTheNextBatch) {
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}}, /*batch_size=*/10);
  InsertPeople(30);
  int calls = 0;
  auto run = env_.engine->RunTask(task.id, 50, [&] {
    if (++calls == 2) {
      EXPECT_TRUE(env_.meta->SetTaskEnabled(task.id, false).ok());
    }
    return true;  // the lease is still held: only the task's state says stop
  });
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_EQ(run->size(), 1u);
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people"), std::vector<std::string>{"10"});
  auto refused = env_.engine->RunTask(task.id, 50, {}, /*force=*/true);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, errc::kConflict);
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people"), std::vector<std::string>{"10"});
  // Enabled again, it carries on from where it stopped.
  ASSERT_TRUE(env_.meta->SetTaskEnabled(task.id, true).ok());
  ASSERT_TRUE(env_.engine->RunTask(task.id).ok());
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people"), std::vector<std::string>{"30"});
}

// A sharing grant's task runs until the grant's expiry (Task::runs_until_ms),
// checked before every batch on whichever node holds the run — not once a
// minute by the catalogue's sweeper. A revoked grant ends the term at once, and
// a task whose term has ended cannot be enabled again (session 17).
TEST_F(DeliveryTest, ATaskStopsAtTheEndOfItsTermAndCannotBeEnabledPastIt) {
  Task t;
  t.code = "granted";
  t.name = "granted";
  t.provider_resource_id = provider_.id;
  t.subscribers = {{0, target_.id, {}}};
  t.batch_size = 10;
  t.runs_until_ms = env_.clock.NowMillis() + 60'000;
  auto created = env_.meta->CreateTask(t);
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->runs_until_ms, t.runs_until_ms);
  auto order = env_.meta->CreateWorkOrder(created->id, {}, "tester");
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(env_.meta->SubmitWorkOrder(order->id).ok());
  ASSERT_TRUE(env_.meta->DecideWorkOrder(order->id, true, "admin", "").ok());
  InsertPeople(30);
  int calls = 0;
  auto run = env_.engine->RunTask(created->id, 50, [&] {
    if (++calls == 2) env_.clock.Advance(std::chrono::minutes(1));  // the grant expires
    return true;
  });
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_EQ(run->size(), 1u);
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people"), std::vector<std::string>{"10"});
  // Still enabled, but past its term: not by hand, not by the runner.
  EXPECT_TRUE(env_.meta->GetTask(created->id)->enabled);
  EXPECT_FALSE(env_.meta->GetTask(created->id)->Runnable(env_.clock.NowMillis()));
  auto by_hand = env_.engine->RunTask(created->id, 50, {}, /*force=*/true);
  ASSERT_FALSE(by_hand.ok());
  EXPECT_EQ(by_hand.error().code, errc::kConflict);
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people"), std::vector<std::string>{"10"});

  // Revocation ends an open-ended term now; enabling it again is refused.
  Task open = env_.AddApprovedTask("revoked", provider_.id, {{0, target_.id, {}}});
  EXPECT_EQ(open.runs_until_ms, 0);
  ASSERT_TRUE(env_.meta->EndTaskTerm(open.id).ok());
  auto ended = env_.meta->GetTask(open.id);
  EXPECT_FALSE(ended->enabled);
  EXPECT_EQ(ended->runs_until_ms, env_.clock.NowMillis());
  auto enable = env_.meta->SetTaskEnabled(open.id, true);
  ASSERT_FALSE(enable.ok());
  EXPECT_EQ(enable.error().code, errc::kConflict);
  EXPECT_TRUE(env_.meta->SetTaskEnabled(open.id, false).ok());  // disabling stays allowed
  // Ending it again keeps the earlier end; a task of another kind is untouched.
  env_.clock.Advance(std::chrono::minutes(5));
  ASSERT_TRUE(env_.meta->EndTaskTerm(open.id).ok());
  EXPECT_EQ(env_.meta->GetTask(open.id)->runs_until_ms, ended->runs_until_ms);
  EXPECT_EQ(env_.meta->EndTaskTerm(999999).error().code, errc::kNotFound);
}

// A task changed and approved again mid-run (a new order may change its
// filter, subscribers and mapping): the run that read the old one stops; the
// next run reads the new one (review16c).
TEST_F(DeliveryTest, ARunStopsWhenItsTaskIsApprovedUnderANewOrder) {
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}}, /*batch_size=*/10);
  InsertPeople(30);
  int calls = 0;
  auto run = env_.engine->RunTask(task.id, 50, [&] {
    if (++calls == 2) {
      Task changed = task;
      changed.poll_seconds = 5;
      EXPECT_TRUE(env_.meta->UpdateTask(changed).ok());
      auto order = env_.meta->CreateWorkOrder(task.id, {}, "tester");
      EXPECT_TRUE(order.ok());
      EXPECT_TRUE(env_.meta->SubmitWorkOrder(order->id).ok());
      EXPECT_TRUE(env_.meta->DecideWorkOrder(order->id, true, "admin", "").ok());
    }
    return true;
  });
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->size(), 1u);
  EXPECT_NE(env_.meta->GetTask(task.id)->approved_order_id, task.approved_order_id);
  ASSERT_TRUE(env_.engine->RunTask(task.id).ok());
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people"), std::vector<std::string>{"30"});
}

TEST_F(DeliveryTest, UpdatesAndDeletesTravelAsNewerVersions) {
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}});
  Insert("a", "330100199001020011", "张三");
  ASSERT_TRUE(env_.engine->RunTask(task.id).ok());
  // An update without touching dataversion: the capture trigger raises it.
  Exec(Provider(), "UPDATE people SET name = '张三丰', sync_status = 'U' WHERE tongid = 'a'");
  ASSERT_TRUE(env_.engine->RunTask(task.id).ok());
  EXPECT_EQ(Target(),
            std::vector<std::string>{"a|330100199001020011|张三丰|30|12.50|1990-01-02|U|2"});
  Exec(Provider(), "UPDATE people SET sync_status = 'D' WHERE tongid = 'a'");
  ASSERT_TRUE(env_.engine->RunTask(task.id).ok());
  EXPECT_EQ(Target(),
            std::vector<std::string>{"a|330100199001020011|张三丰|30|12.50|1990-01-02|D|3"});
}

TEST_F(DeliveryTest, ReplayingABatchAfterACrashChangesNothing) {
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}});
  for (int i = 0; i < 5; ++i) {
    Insert("r" + std::to_string(i), "33010019900102001" + std::to_string(i),
           "人" + std::to_string(i));
  }
  // The subscriber commits, then tongban dies before saving the high-water mark.
  auto first = env_.engine->DeliverBatch(task, task.subscribers[0], /*save_progress=*/false);
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->applied, 5);
  auto before = Target();
  auto tong_seq_before = Rows(Pg(), "SELECT tongid, tong_seq FROM people ORDER BY tongid");
  // On restart the batch runs again from the old mark.
  auto again = env_.engine->DeliverBatch(task, task.subscribers[0]);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->hwm_before, 0);
  EXPECT_EQ(again->applied, 0);
  EXPECT_EQ(again->unchanged, 5);
  EXPECT_EQ(Target(), before);
  EXPECT_EQ(Rows(Pg(), "SELECT tongid, tong_seq FROM people ORDER BY tongid"), tong_seq_before);
  EXPECT_EQ(env_.engine->ListProgress(task.id)->at(0).hwm, 5);
}

TEST_F(DeliveryTest, AnOlderVersionArrivingLateNeverMovesDataBackwards) {
  // Two providers feed one subscriber; the newer version arrives first.
  Node other_node = env_.AddNode("sqlite://" + env_.dir.File("other.db"), "330300");
  Resource other =
      env_.AddResource(other_node.id, "people", TableModel::kHorizontal, test::PersonFields());
  Task newer = env_.AddApprovedTask("newer", provider_.id, {{0, target_.id, {}}});
  Task older = env_.AddApprovedTask("older", other.id, {{0, target_.id, {}}});
  Insert("a", "330100199001020011", "新名字", "30", 5, "U");
  Exec(env_.NodeStore(other_node.id),
       "INSERT INTO people (idno, name, tongid, sync_status, dataversion) VALUES "
       "('330100199001020011', '旧名字', 'a', 'I', 3)");
  ASSERT_TRUE(env_.engine->RunTask(newer.id).ok());
  auto late = env_.engine->RunTask(older.id);
  ASSERT_TRUE(late.ok());
  ASSERT_EQ(late->size(), 1u);
  EXPECT_EQ(late->at(0).unchanged, 1);
  EXPECT_EQ(Target(),
            std::vector<std::string>{"a|330100199001020011|新名字|30|12.50|1990-01-02|U|5"});
}

TEST_F(DeliveryTest, BadRowsBecomeDeadLettersWhileTheRestMovesAndRetryAfterAFix) {
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}});
  Insert("good1", "330100199001020011", "张三");
  // SQLite accepts these; the definition (and PostgreSQL) do not.
  Insert("long", "330100199001020012", "一二三四五六七八九十十一");  // 11 > 10 characters
  Insert("nan", "330100199001020013", "王五", "'abc'");              // not an integer
  Insert("good2", "330100199001020014", "赵六");
  auto run = env_.engine->RunTask(task.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->at(0).applied, 2);
  EXPECT_EQ(run->at(0).dead, 2);
  EXPECT_EQ(Rows(Pg(), "SELECT tongid FROM people ORDER BY tongid"),
            (std::vector<std::string>{"good1", "good2"}));
  auto letters = env_.engine->ListDeadLetters(task.id, "open");
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->size(), 2u);
  EXPECT_EQ(letters->at(0).tongid, "long");
  EXPECT_NE(letters->at(0).reason.find("name"), std::string::npos) << letters->at(0).reason;
  EXPECT_EQ(letters->at(1).tongid, "nan");
  EXPECT_NE(letters->at(1).reason.find("age"), std::string::npos) << letters->at(1).reason;
  // The mark moved past them: nothing blocks the task.
  EXPECT_EQ(env_.engine->ListProgress(task.id)->at(0).hwm, 4);

  // Retry before a fix: still failing.
  auto retry = env_.engine->RetryDeadLetters(task.id);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->still_failing, 2);
  // The fix for one of them: the subscriber widens name, column and definition (the other
  // row's age stays wrong at the source and keeps failing).
  Exec(Pg(), "ALTER TABLE people ALTER COLUMN name TYPE VARCHAR(20)");
  Exec(*env_.tongban,
       "UPDATE exchange_resources SET fields = REPLACE(fields, '\"length\":10,\"name\":"
       "\"姓名\"', '\"length\":20,\"name\":\"姓名\"') WHERE id = " +
           std::to_string(target_.id));
  // Disabled meanwhile (a revoked grant): its letters are not delivered either
  // (review16c), they wait, open.
  ASSERT_TRUE(env_.meta->SetTaskEnabled(task.id, false).ok());
  retry = env_.engine->RetryDeadLetters(0);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->skipped, 2);
  EXPECT_EQ(retry->resolved, 0);
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people WHERE tongid = 'long'"),
            std::vector<std::string>{"0"});
  ASSERT_TRUE(env_.meta->SetTaskEnabled(task.id, true).ok());
  retry = env_.engine->RetryDeadLetters(task.id);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->resolved, 1);
  EXPECT_EQ(retry->still_failing, 1);
  EXPECT_EQ(Rows(Pg(), "SELECT name FROM people WHERE tongid = 'long'"),
            std::vector<std::string>{"一二三四五六七八九十十一"});
  EXPECT_EQ(env_.engine->ListDeadLetters(task.id, "open")->size(), 1u);
}

// review16e: a retry re-applied a letter under the task's new order without its
// filter, so a row the new order excludes still reached the department.
TEST_F(DeliveryTest, ARetryAppliesTheTasksFilterAsItIsNow) {
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}});
  Insert("long", "330100199001020012", "一二三四五六七八九十十一");  // a dead letter
  ASSERT_TRUE(env_.engine->RunTask(task.id).ok());
  ASSERT_EQ(env_.engine->ListDeadLetters(task.id, "open")->size(), 1u);
  Task narrowed = *env_.meta->GetTask(task.id);
  narrowed.filter = {{"age", "<", "5"}};
  ASSERT_TRUE(env_.meta->UpdateTask(narrowed).ok());
  auto order = env_.meta->CreateWorkOrder(task.id, {}, "tester");
  ASSERT_TRUE(order.ok());
  ASSERT_TRUE(env_.meta->SubmitWorkOrder(order->id).ok());
  ASSERT_TRUE(env_.meta->DecideWorkOrder(order->id, true, "admin", "").ok());
  auto retry = env_.engine->RetryDeadLetters(task.id);
  ASSERT_TRUE(retry.ok()) << retry.error().message;
  EXPECT_EQ(retry->skipped, 1);
  EXPECT_EQ(retry->still_failing, 0);
  EXPECT_EQ(env_.engine->ListDeadLetters(task.id, "open")->size(), 1u);
}

TEST_F(DeliveryTest, AConstraintTheDefinitionCannotSeeFailsOnlyItsRow) {
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}});
  Exec(Pg(), "ALTER TABLE people ADD CONSTRAINT adults CHECK (age >= 18)");
  Insert("a", "330100199001020011", "张三", "30");
  Insert("kid", "330100199001020012", "小明", "9");
  Insert("c", "330100199001020013", "王五", "50");
  auto run = env_.engine->RunTask(task.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->at(0).applied, 2);
  EXPECT_EQ(run->at(0).dead, 1);
  EXPECT_EQ(Rows(Pg(), "SELECT tongid FROM people ORDER BY tongid"),
            (std::vector<std::string>{"a", "c"}));
  auto letters = env_.engine->ListDeadLetters(task.id, "open");
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_EQ(letters->at(0).tongid, "kid");
  // The fix on the subscriber side, then the retry.
  Exec(Pg(), "ALTER TABLE people DROP CONSTRAINT adults");
  auto retry = env_.engine->RetryDeadLetters(task.id);
  ASSERT_TRUE(retry.ok());
  EXPECT_EQ(retry->resolved, 1);
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people"), std::vector<std::string>{"3"});
}

// In a batch of many rows a few that only the database refuses fail alone, on both kinds of
// subscriber (PostgreSQL bisects the staged batch; SQLite undoes only the refused statement),
// and the next batch is not held back by them.
TEST_F(DeliveryTest, AFewRefusedRowsInALargeBatchFailAloneOnPostgresAndSqlite) {
  Node lite_node = env_.AddNode("sqlite://" + env_.dir.File("lite.db"), "330500");
  Resource lite =
      env_.AddResource(lite_node.id, "people", TableModel::kHorizontal, test::PersonFields());
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}, {0, lite.id, {}}},
                                   /*batch_size=*/100);
  Exec(Pg(), "ALTER TABLE people ADD CONSTRAINT adults CHECK (age >= 18)");
  Exec(env_.NodeStore(lite_node.id),
       "CREATE TRIGGER adults BEFORE INSERT ON people WHEN NEW.age < 18 "
       "BEGIN SELECT RAISE(ABORT, 'adults only'); END");
  for (int i = 0; i < 130; ++i) {
    const bool kid = i == 3 || i == 4 || i == 77 || i == 120;
    Insert("r" + std::to_string(1000 + i), "3301001990010200" + std::to_string(10 + i % 80),
           "n", kid ? "9" : "40");
  }
  auto run = env_.engine->RunTask(task.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  int applied = 0, dead = 0;
  for (const BatchReport& b : *run) {
    applied += b.applied;
    dead += b.dead;
  }
  EXPECT_EQ(applied, 2 * 126);
  EXPECT_EQ(dead, 2 * 4);
  const std::string kids =
      "SELECT COUNT(*) FROM people WHERE tongid IN ('r1003', 'r1004', 'r1077', 'r1120')";
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people"), std::vector<std::string>{"126"});
  EXPECT_EQ(Rows(Pg(), kids), std::vector<std::string>{"0"});
  EXPECT_EQ(Rows(env_.NodeStore(lite_node.id), "SELECT COUNT(*) FROM people"),
            std::vector<std::string>{"126"});
  EXPECT_EQ(Rows(env_.NodeStore(lite_node.id), kids), std::vector<std::string>{"0"});
  auto letters = env_.engine->ListDeadLetters(task.id, "open");
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->size(), 8u);
  for (const DeadLetter& l : *letters) {
    EXPECT_TRUE(l.tongid == "r1003" || l.tongid == "r1004" || l.tongid == "r1077" ||
                l.tongid == "r1120")
        << l.tongid;
  }
  // Replaying everything changes nothing and adds no letters.
  Exec(*env_.tongban, "UPDATE exchange_progress SET hwm = 0");
  run = env_.engine->RunTask(task.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  applied = 0;
  for (const BatchReport& b : *run) applied += b.applied;
  EXPECT_EQ(applied, 0);
  EXPECT_EQ(env_.engine->ListDeadLetters(task.id, "open")->size(), 8u);
}

TEST_F(DeliveryTest, MovesBackFromPostgresToSqliteInBatches) {
  Node back_node = env_.AddNode("sqlite://" + env_.dir.File("back.db"), "330400");
  Resource back =
      env_.AddResource(back_node.id, "people", TableModel::kHorizontal, test::PersonFields());
  Task task = env_.AddApprovedTask("back", target_.id, {{0, back.id, {}}}, /*batch_size=*/7);
  Status s = Pg().WithTransaction([&](soci::session& sql) -> Status {
    for (int i = 0; i < 50; ++i) {
      std::string id = "p" + std::to_string(100 + i);
      sql << "INSERT INTO people (idno, name, age, fee, born, tongid) VALUES ('x', 'n', :a, 1.25, "
             "'2001-02-03', :t)",
          soci::use(i), soci::use(id);
    }
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.error().message;
  auto run = env_.engine->RunTask(task.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->size(), 8u);  // 7 full batches and one of 1
  EXPECT_EQ(Rows(env_.NodeStore(back_node.id), "SELECT COUNT(*), SUM(age) FROM people"),
            std::vector<std::string>{"50|1225"});
  EXPECT_EQ(
      Rows(env_.NodeStore(back_node.id), "SELECT fee, born FROM people WHERE tongid = 'p100'"),
      std::vector<std::string>{"1.25|2001-02-03"});
}

TEST_F(DeliveryTest, PivotsHorizontalToVerticalAndBack) {
  Resource vertical =
      env_.AddResource(pg_node_.id, "people_kv", TableModel::kVertical, test::PersonFields());
  Node back_node = env_.AddNode("sqlite://" + env_.dir.File("back.db"), "330400");
  Resource back =
      env_.AddResource(back_node.id, "people", TableModel::kHorizontal, test::PersonFields());
  Task out = env_.AddApprovedTask("to_kv", provider_.id, {{0, vertical.id, {}}});
  Task in = env_.AddApprovedTask("from_kv", vertical.id, {{0, back.id, {}}});
  Insert("a", "330100199001020011", "张三");
  Insert("b", "330100199001020012", "李四", "41");
  ASSERT_TRUE(env_.engine->RunTask(out.id).ok());
  EXPECT_EQ(Rows(Pg(),
                 "SELECT record_key, field_code, field_value FROM people_kv WHERE tongid = "
                 "'b' ORDER BY field_code"),
            (std::vector<std::string>{
                "330100199001020012|age|41", "330100199001020012|born|1990-01-02",
                "330100199001020012|fee|12.5", "330100199001020012|idno|330100199001020012",
                "330100199001020012|name|李四"}));
  auto back_run = env_.engine->RunTask(in.id);
  ASSERT_TRUE(back_run.ok()) << back_run.error().message;
  EXPECT_EQ(
      Rows(env_.NodeStore(back_node.id),
           "SELECT tongid, idno, name, age, fee, born, dataversion FROM people ORDER BY tongid"),
      (std::vector<std::string>{"a|330100199001020011|张三|30|12.5|1990-01-02|1",
                                "b|330100199001020012|李四|41|12.5|1990-01-02|1"}));
  // A change on the horizontal side replaces the vertical record and comes back.
  Exec(Provider(), "UPDATE people SET age = 42, sync_status = 'U' WHERE tongid = 'b'");
  ASSERT_TRUE(env_.engine->RunTask(out.id).ok());
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*), MIN(dataversion) FROM people_kv WHERE tongid = 'b'"),
            std::vector<std::string>{"5|2"});
  ASSERT_TRUE(env_.engine->RunTask(in.id).ok());
  EXPECT_EQ(Rows(env_.NodeStore(back_node.id),
                 "SELECT age, sync_status, dataversion FROM people "
                 "WHERE tongid = 'b'"),
            std::vector<std::string>{"42|U|2"});
}

TEST_F(DeliveryTest, FiltersAndMapsFields) {
  std::vector<Field> other_fields = {
      {"zjhm", "证件号码", FieldType::kString, 18, 0, true, true},
      {"xm", "姓名", FieldType::kString, 10, 0, true, false},
  };
  Resource other = env_.AddResource(pg_node_.id, "ren", TableModel::kHorizontal, other_fields);
  Task task = env_.AddApprovedTask("adults", provider_.id,
                                   {{0, other.id, {{"idno", "zjhm"}, {"name", "xm"}}}}, 1000,
                                   {{"age", ">=", "18"}});
  Insert("a", "330100199001020011", "张三", "30");
  Insert("kid", "330100199001020012", "小明", "9");
  auto run = env_.engine->RunTask(task.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->at(0).filtered, 1);
  EXPECT_EQ(Rows(Pg(), "SELECT tongid, zjhm, xm FROM ren"),
            std::vector<std::string>{"a|330100199001020011|张三"});
}

TEST_F(DeliveryTest, ATableThatDoesNotFitIsAClearErrorNamingTheColumn) {
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}});
  Exec(Pg(), "ALTER TABLE people DROP COLUMN born");
  Insert("a", "330100199001020011", "张三");
  auto run = env_.engine->RunTask(task.id);
  ASSERT_FALSE(run.ok());
  EXPECT_NE(run.error().message.find("no column born"), std::string::npos) << run.error().message;
  auto progress = env_.engine->ListProgress(task.id);
  EXPECT_EQ(progress->at(0).hwm, 0);  // nothing skipped
  EXPECT_EQ(progress->at(0).failures, 1);
}

TEST_F(DeliveryTest, ADownNodeBacksOffAndLosesNothing) {
  // A subscriber whose database does not answer.
  Node down = env_.AddNode(
      "postgresql://nobody@127.0.0.1:" + std::to_string(store_test::FreeLoopbackPort()) +
          "/x?connect_timeout=1",
      "330500");
  Resource r = env_.AddResource(down.id, "people", TableModel::kHorizontal, test::PersonFields(),
                                /*create_table=*/false);
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, r.id, {}}});
  Insert("a", "330100199001020011", "张三");
  auto run = env_.engine->RunTask(task.id);
  ASSERT_FALSE(run.ok());
  EXPECT_EQ(run.error().code, errc::kUnavailable);
  auto p = env_.engine->ListProgress(task.id)->at(0);
  EXPECT_EQ(p.hwm, 0);
  EXPECT_EQ(p.failures, 1);
  EXPECT_EQ(p.next_attempt_ms, env_.clock.NowMillis() + 1000);
  EXPECT_FALSE(env_.nodes->HealthSnapshot()[down.id].ok);
  // In backoff: the runner's call does nothing; after the wait it tries again, doubling.
  auto skipped = env_.engine->RunTask(task.id);
  ASSERT_TRUE(skipped.ok());
  EXPECT_TRUE(skipped->empty());
  env_.clock.Advance(std::chrono::milliseconds(1000));
  EXPECT_FALSE(env_.engine->RunTask(task.id).ok());
  p = env_.engine->ListProgress(task.id)->at(0);
  EXPECT_EQ(p.failures, 2);
  EXPECT_EQ(p.next_attempt_ms, env_.clock.NowMillis() + 2000);
}

}  // namespace
}  // namespace tongban::exchange
