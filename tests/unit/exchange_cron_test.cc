// Five-field cron schedules: parsing (ranges, steps, lists, names, errors naming the field)
// and the next run time in China Standard Time, against a brute-force minute-by-minute scan.
#include <gtest/gtest.h>

#include "exchange/cron.h"
#include "exchange/runner.h"
#include "exchange_test_support.h"

namespace tongban::exchange {
namespace {

// 2024-03-20 09:00:00 CST (a Wednesday) = 01:00 UTC.
constexpr int64_t kWed0900 = 1710896400000;
constexpr int64_t kMin = 60'000;

int64_t Next(const char* text, int64_t after) {
  auto s = CronSchedule::Parse(text);
  EXPECT_TRUE(s.ok()) << text << ": " << (s.ok() ? "" : s.error().message);
  return s.ok() ? s->Next(after) : -2;
}

TEST(CronTest, EveryMinuteIsTheNextMinute) {
  EXPECT_EQ(Next("* * * * *", kWed0900), kWed0900 + kMin);
  EXPECT_EQ(Next("* * * * *", kWed0900 + 1), kWed0900 + kMin);
  EXPECT_EQ(Next("* * * * *", kWed0900 - 1), kWed0900);
}

TEST(CronTest, FieldsAreInChinaStandardTime) {
  EXPECT_EQ(Next("30 9 * * *", kWed0900), kWed0900 + 30 * kMin);
  EXPECT_EQ(Next("0 9 * * *", kWed0900), kWed0900 + 24 * 60 * kMin);  // strictly after
  EXPECT_EQ(Next("0 0 * * *", kWed0900), kWed0900 + 15 * 60 * kMin);   // next CST midnight
}

TEST(CronTest, StepsRangesListsAndNames) {
  EXPECT_EQ(Next("*/15 * * * *", kWed0900), kWed0900 + 15 * kMin);
  EXPECT_EQ(Next("5/20 * * * *", kWed0900), kWed0900 + 5 * kMin);
  EXPECT_EQ(Next("10-20/5 9 * * *", kWed0900 + 11 * kMin), kWed0900 + 15 * kMin);
  EXPECT_EQ(Next("0 8,12,18 * * *", kWed0900), kWed0900 + 3 * 60 * kMin);
  // Wednesday -> next Friday 09:00.
  EXPECT_EQ(Next("0 9 * * fri", kWed0900), kWed0900 + 2 * 24 * 60 * kMin);
  EXPECT_EQ(Next("0 9 * * 7", kWed0900), kWed0900 + 4 * 24 * 60 * kMin);  // Sunday
  EXPECT_EQ(Next("0 9 * * 0", kWed0900), kWed0900 + 4 * 24 * 60 * kMin);
  // 1 April 00:00 CST.
  EXPECT_EQ(Next("0 0 1 APR *", kWed0900), 1711929600000 - 8 * 3600 * 1000);
}

TEST(CronTest, RestrictedDayOfMonthAndWeekdayMatchEither) {
  // The 25th or any Friday: Friday the 22nd comes first.
  EXPECT_EQ(Next("0 9 25 * 5", kWed0900), kWed0900 + 2 * 24 * 60 * kMin);
  EXPECT_EQ(Next("0 9 21 * 5", kWed0900), kWed0900 + 24 * 60 * kMin);
}

TEST(CronTest, ImpossibleDatesNeverRun) {
  EXPECT_EQ(Next("0 0 30 2 *", kWed0900), -1);
  // 29 February comes in 2028.
  EXPECT_EQ(Next("0 0 29 2 *", kWed0900), 1835395200000 - 8 * 3600 * 1000);
}

TEST(CronTest, AgreesWithAMinuteByMinuteScan) {
  const char* schedules[] = {"*/7 */5 * * *", "0 0 * * 1-5", "15 3 1,15 * *",
                             "0 12 * 2-4 sat,sun", "59 23 31 * *", "1-3 0 * * 3"};
  for (const char* text : schedules) {
    auto s = CronSchedule::Parse(text);
    ASSERT_TRUE(s.ok()) << text;
    int64_t t = kWed0900;
    for (int k = 0; k < 20; ++k) {
      int64_t next = s->Next(t);
      ASSERT_GT(next, t) << text;
      // Nothing in between matches; the result does.
      for (int64_t m = (t / kMin + 1) * kMin; m < next && m < t + 40LL * 24 * 60 * kMin; m += kMin) {
        ASSERT_FALSE(s->Matches(m)) << text << " at " << m;
      }
      ASSERT_TRUE(s->Matches(next)) << text;
      t = next;
    }
  }
}

TEST(CronTest, BadSchedulesNameTheField) {
  struct Case {
    const char* text;
    const char* mentions;
  } cases[] = {{"* * * *", "five fields"},      {"60 * * * *", "minute"},
               {"* 24 * * *", "hour"},          {"* * 0 * *", "day-of-month"},
               {"* * * 13 *", "month"},         {"* * * * 8", "day-of-week"},
               {"*/0 * * * *", "step"},         {"5-1 * * * *", "minute"},
               {"a * * * *", "minute"},         {"1,,2 * * * *", "empty"},
               {"* * * * * *", "five fields"}};
  for (const Case& c : cases) {
    auto s = CronSchedule::Parse(c.text);
    ASSERT_FALSE(s.ok()) << c.text;
    EXPECT_EQ(s.error().code, errc::kInvalidArgument);
    EXPECT_NE(s.error().message.find(c.mentions), std::string::npos)
        << c.text << ": " << s.error().message;
  }
}

// The runner honours a task's cron: nothing before the matching minute, a run at it (until
// caught up), nothing again until the next one. FakeClock starts 2023-11-15 06:13:20 CST.
TEST(CronRunnerTest, ATaskRunsAtItsCronMinutesOnly) {
  test::Env env;
  Node a = env.AddNode("sqlite://" + env.dir.File("a.db"), "330100");
  Node b = env.AddNode("sqlite://" + env.dir.File("b.db"), "330200");
  Resource p = env.AddResource(a.id, "people", TableModel::kHorizontal, test::PersonFields());
  Resource s = env.AddResource(b.id, "people", TableModel::kHorizontal, test::PersonFields());
  Task task = env.AddApprovedTask("t1", p.id, {{0, s.id, {}}}, /*batch_size=*/2);
  // Changing the schedule withdraws the approval: approve the changed task again.
  task.cron = "30 6 * * *";
  auto updated = env.meta->UpdateTask(task);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  EXPECT_EQ(updated->cron, "30 6 * * *");
  auto order = env.meta->CreateWorkOrder(task.id, {}, "tester");
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->schedule, "cron 30 6 * * * (CST)");
  ASSERT_TRUE(env.meta->SubmitWorkOrder(order->id).ok());
  ASSERT_TRUE(env.meta->DecideWorkOrder(order->id, true, "admin", "").ok());
  test::Exec(env.NodeStore(a.id),
             "INSERT INTO people (idno, name, tongid) VALUES ('1', 'a', 'r1'), ('2', 'b', 'r2'), "
             "('3', 'c', 'r3')");

  LeaseStore lease(*env.tongban, env.clock, "node-1", std::chrono::seconds(30));
  ExchangeRunner runner(*env.meta, *env.engine, lease, env.clock);
  auto pass = runner.RunPass();
  EXPECT_EQ(pass.tasks_run, 0);
  EXPECT_EQ(pass.next_due_ms, env.clock.NowMillis() + (16 * 60 + 40) * 1000);
  env.clock.Advance(std::chrono::minutes(16));
  EXPECT_EQ(runner.RunPass().tasks_run, 0);
  env.clock.Advance(std::chrono::seconds(40));  // 06:30:00
  pass = runner.RunPass();
  EXPECT_EQ(pass.tasks_run, 1);
  EXPECT_EQ(pass.rows_applied, 3);  // two batches of two: caught up within the turn
  EXPECT_EQ(pass.next_due_ms, env.clock.NowMillis() + 24 * 3600 * 1000);
  env.clock.Advance(std::chrono::hours(1));
  EXPECT_EQ(runner.RunPass().tasks_run, 0);
  // A bad cron is refused when the task is stored, naming the field.
  task.cron = "61 * * * *";
  auto bad = env.meta->UpdateTask(task);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("minute"), std::string::npos);
}

}  // namespace
}  // namespace tongban::exchange
