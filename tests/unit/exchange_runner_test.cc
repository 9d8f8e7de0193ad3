// Leases and the runner: one holder per task, takeover from the high-water mark after the
// holder stops renewing, and the runner thread delivering on its own.
#include <gtest/gtest.h>

#include "exchange/runner.h"
#include "exchange_test_support.h"

namespace tongban::exchange {
namespace {

using test::Env;
using test::Exec;
using test::Rows;

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    std::string pg = test::PostgresUrl(env_.dir, &why);
    if (pg.empty()) GTEST_SKIP() << why;
    a_ = env_.AddNode("sqlite://" + env_.dir.File("a.db"), "330100");
    b_ = env_.AddNode(pg, "330200");
    p_ = env_.AddResource(a_.id, "people", TableModel::kHorizontal, test::PersonFields());
    s_ = env_.AddResource(b_.id, "people", TableModel::kHorizontal, test::PersonFields());
    task_ = env_.AddApprovedTask("t1", p_.id, {{0, s_.id, {}}}, /*batch_size=*/10);
  }

  void InsertRows(int from, int to) {
    Status s = env_.NodeStore(a_.id).WithTransaction([&](soci::session& sql) -> Status {
      for (int i = from; i < to; ++i) {
        std::string id = "r" + std::to_string(1000 + i);
        sql << "INSERT INTO people (idno, name, age, tongid) VALUES ('x', 'n', :a, :t)",
            soci::use(i), soci::use(id);
      }
      return Status::Ok();
    });
    ASSERT_TRUE(s.ok()) << s.error().message;
  }

  Env env_;
  Node a_, b_;
  Resource p_, s_;
  Task task_;
};

TEST_F(RunnerTest, OnlyOneHolderAtATimeAndTakeoverAfterExpiry) {
  LeaseStore one(*env_.tongban, env_.clock, "node-1", std::chrono::seconds(30));
  LeaseStore two(*env_.tongban, env_.clock, "node-2", std::chrono::seconds(30));
  EXPECT_TRUE(*one.TakeOrRenew(task_.id));
  EXPECT_FALSE(*two.TakeOrRenew(task_.id));
  env_.clock.Advance(std::chrono::seconds(20));
  EXPECT_TRUE(*one.TakeOrRenew(task_.id));  // renewed until +50 s
  env_.clock.Advance(std::chrono::seconds(20));
  EXPECT_FALSE(*two.TakeOrRenew(task_.id));
  env_.clock.Advance(std::chrono::seconds(11));  // node-1 stopped renewing: expired
  EXPECT_TRUE(*two.TakeOrRenew(task_.id));
  EXPECT_FALSE(*one.TakeOrRenew(task_.id));
  ASSERT_TRUE(two.Release(task_.id).ok());
  EXPECT_TRUE(*one.TakeOrRenew(task_.id));
}

TEST_F(RunnerTest, TwoRunnersDeliverEveryRowExactlyOnceAcrossATakeover) {
  LeaseStore lease1(*env_.tongban, env_.clock, "node-1", std::chrono::seconds(30));
  LeaseStore lease2(*env_.tongban, env_.clock, "node-2", std::chrono::seconds(30));
  NodePool pool2(*env_.meta);
  DeliveryEngine engine2(*env_.meta, pool2, env_.clock);
  ExchangeRunner runner1(*env_.meta, *env_.engine, lease1, env_.clock, {.max_batches_per_turn = 2});
  ExchangeRunner runner2(*env_.meta, engine2, lease2, env_.clock, {.max_batches_per_turn = 2});

  InsertRows(0, 35);
  auto pass1 = runner1.RunPass(true);
  EXPECT_EQ(pass1.tasks_run, 1);
  EXPECT_EQ(pass1.rows_applied, 20);  // two batches of 10 this turn
  auto pass2 = runner2.RunPass(true);
  EXPECT_EQ(pass2.tasks_run, 0);
  EXPECT_EQ(pass2.tasks_elsewhere, 1);
  EXPECT_EQ(Rows(env_.NodeStore(b_.id), "SELECT COUNT(*) FROM people"),
            std::vector<std::string>{"20"});

  // node-1 dies (stops renewing); node-2 takes over after the expiry, from the mark.
  InsertRows(35, 40);
  env_.clock.Advance(std::chrono::seconds(31));
  pass2 = runner2.RunPass(true);
  EXPECT_EQ(pass2.tasks_run, 1);
  EXPECT_EQ(pass2.rows_applied, 20);
  pass2 = runner2.RunPass(true);
  EXPECT_EQ(pass2.rows_applied, 0);
  EXPECT_EQ(runner1.RunPass(true).tasks_elsewhere, 1);
  EXPECT_EQ(
      Rows(env_.NodeStore(b_.id), "SELECT COUNT(*), COUNT(DISTINCT tongid), SUM(age) FROM people"),
      std::vector<std::string>{"40|40|780"});
  EXPECT_EQ(env_.engine->ListProgress(task_.id)->at(0).hwm, 40);
}

TEST_F(RunnerTest, TheThreadDeliversWhenWokenAndStopsCleanly) {
  LeaseStore lease(*env_.tongban, env_.clock, "node-1", std::chrono::seconds(30));
  ExchangeRunner runner(*env_.meta, *env_.engine, lease, env_.clock);
  runner.Start();
  ASSERT_TRUE(runner.WaitForPasses(1, std::chrono::seconds(30)));
  InsertRows(0, 25);
  // The poll interval (1 s on the fake clock) has to pass before the task is due again.
  env_.clock.Advance(std::chrono::seconds(2));
  int64_t seen = runner.passes();
  runner.Wake();
  // A pass already under way when `seen` was read may have started before the clock moved;
  // the pass after it started after the Wake.
  ASSERT_TRUE(runner.WaitForPasses(seen + 2, std::chrono::seconds(30)));
  runner.Stop();
  EXPECT_EQ(Rows(env_.NodeStore(b_.id), "SELECT COUNT(*) FROM people"),
            std::vector<std::string>{"25"});
}

}  // namespace
}  // namespace tongban::exchange
