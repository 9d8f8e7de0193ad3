// The delivery's read-ahead (the next batch read from the provider while the current one is
// applied) and its failure rules, the native SQLite read (values byte-identical to the CAST it
// replaced), and validation reasons that never repeat the refused value.
#include <gtest/gtest.h>

#include "exchange/batch.h"
#include "exchange_test_support.h"

namespace tongban::exchange {
namespace {

using test::Env;
using test::Exec;
using test::Rows;

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    provider_node_ = env_.AddNode("sqlite://" + env_.dir.File("provider.db"), "330100");
    provider_ = env_.AddResource(provider_node_.id, "people", TableModel::kHorizontal,
                                 test::PersonFields());
  }

  // A PostgreSQL subscriber (skips the test without PostgreSQL).
  bool AddPgTarget() {
    std::string why;
    const std::string url = test::PostgresUrl(env_.dir, &why);
    if (url.empty()) {
      skip_ = why;
      return false;
    }
    pg_node_ = env_.AddNode(url, "330200");
    target_ = env_.AddResource(pg_node_.id, "people", TableModel::kHorizontal,
                               test::PersonFields());
    return true;
  }

  SqlStore& Provider() { return env_.NodeStore(provider_node_.id); }
  SqlStore& Pg() { return env_.NodeStore(pg_node_.id); }

  void InsertPeople(int count) {
    for (int i = 0; i < count; ++i) {
      const std::string n = std::to_string(i);
      Exec(Provider(),
           "INSERT INTO people (idno, name, age, fee, born, tongid, sync_status, dataversion, "
           "xk_lydw, xk_lydwdm, areacode) VALUES ('3301001990010200" +
               std::string(2 - n.size(), '0') + n + "', '人" + n + "', " + n +
               ", 12.5, '1990-01-02', 'r" + std::string(2 - n.size(), '0') + n +
               "', 'I', 1, '公安厅', '11100000000013127D', '330100')");
    }
  }

  std::vector<std::string> TargetInSeqOrder() {
    return Rows(Pg(), "SELECT tongid, idno, name, CAST(age AS TEXT) FROM people ORDER BY tong_seq");
  }
  std::vector<std::string> ProviderInSeqOrder() {
    return Rows(Provider(),
                "SELECT tongid, idno, name, CAST(age AS TEXT) FROM people ORDER BY tong_seq");
  }

  Env env_;
  std::string skip_;
  Node provider_node_, pg_node_;
  Resource provider_, target_;
};

TEST_F(PipelineTest, BatchesReadAheadArriveAllAndInOrder) {
  if (!AddPgTarget()) GTEST_SKIP() << skip_;
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}}, /*batch_size=*/3);
  InsertPeople(10);
  auto run = env_.engine->RunTask(task.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_EQ(run->size(), 4u);  // 3 + 3 + 3 + 1
  for (size_t i = 0; i < run->size(); ++i) {
    EXPECT_EQ(run->at(i).hwm_before, static_cast<int64_t>(3 * i));
  }
  // Batches 2, 3 and 4 were the ones read while the batch before was applied.
  const auto counts = env_.engine->read_ahead_counts();
  EXPECT_EQ(counts.used, 3);
  EXPECT_EQ(counts.discarded, 0);
  EXPECT_EQ(counts.failed, 0);
  // The subscriber numbered them in the provider's order.
  EXPECT_EQ(TargetInSeqOrder(), ProviderInSeqOrder());
  EXPECT_EQ(env_.engine->ListProgress(task.id)->at(0).hwm, 10);
}

TEST_F(PipelineTest, AReadAheadThatFailsIsReadAgainAndNothingIsSkipped) {
  if (!AddPgTarget()) GTEST_SKIP() << skip_;
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}}, 3);
  InsertPeople(10);
  // The provider fails the read of rows after 3 while batch 1 is applied.
  env_.engine->SetReadAheadFaultForTest([](int64_t after) {
    return after == 3 ? Status(Error::Unavailable("provider gone for a moment")) : Status::Ok();
  });
  auto run = env_.engine->RunTask(task.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->size(), 4u);
  const auto counts = env_.engine->read_ahead_counts();
  EXPECT_EQ(counts.failed, 1);
  EXPECT_EQ(counts.used, 2);
  EXPECT_EQ(TargetInSeqOrder(), ProviderInSeqOrder());
  auto progress = env_.engine->ListProgress(task.id)->at(0);
  EXPECT_EQ(progress.hwm, 10);
  EXPECT_EQ(progress.failures, 0);  // read again at once, not a task failure
}

TEST_F(PipelineTest, AnApplyFailureThrowsAwayTheBatchReadAheadAndRedeliversIt) {
  if (!AddPgTarget()) GTEST_SKIP() << skip_;
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}}, 3);
  InsertPeople(10);
  // Batch 1 is read, batch 2 read ahead, then batch 1 fails on the subscriber.
  Exec(Pg(), "ALTER TABLE people DROP COLUMN born");
  auto failed = env_.engine->RunTask(task.id);
  ASSERT_FALSE(failed.ok());
  auto counts = env_.engine->read_ahead_counts();
  EXPECT_EQ(counts.discarded, 1);
  EXPECT_EQ(counts.used, 0);
  EXPECT_EQ(env_.engine->ListProgress(task.id)->at(0).hwm, 0);
  EXPECT_EQ(Rows(Pg(), "SELECT COUNT(*) FROM people"), std::vector<std::string>{"0"});
  // After the fix the run starts again at the saved mark: batch 1 first, every row once.
  Exec(Pg(), "ALTER TABLE people ADD COLUMN born DATE");
  auto run = env_.engine->RunTask(task.id, 100, {}, /*force=*/true);
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_EQ(run->size(), 4u);
  EXPECT_EQ(run->at(0).hwm_before, 0);
  EXPECT_EQ(TargetInSeqOrder(), ProviderInSeqOrder());
  EXPECT_EQ(env_.engine->ListProgress(task.id)->at(0).hwm, 10);
}

TEST_F(PipelineTest, ALostLeaseStopsBeforeTheNextBatchAndThrowsAwayItsReadAhead) {
  if (!AddPgTarget()) GTEST_SKIP() << skip_;
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}}, 3);
  InsertPeople(10);
  int batches = 0;
  auto run = env_.engine->RunTask(task.id, 100, [&] { return batches++ < 1; });
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(run->size(), 1u);
  EXPECT_EQ(env_.engine->read_ahead_counts().discarded, 1);
  EXPECT_EQ(env_.engine->ListProgress(task.id)->at(0).hwm, 3);
}

TEST_F(PipelineTest, AReadAheadFromAMarkThatMovedElsewhereIsNotUsed) {
  if (!AddPgTarget()) GTEST_SKIP() << skip_;
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}}, 3);
  InsertPeople(10);
  Exec(*env_.tongban,
       "INSERT INTO exchange_progress (task_id, subscriber_id, hwm, rows_applied, rows_dead, "
       "last_run_ms, last_ok_ms, last_error, failures, next_attempt_ms) VALUES (" +
           std::to_string(task.id) + ", " + std::to_string(task.subscribers[0].id) +
           ", 0, 0, 0, 0, 0, '', 0, 0)");
  // After batch 1 committed and saved its mark (3) — the rows after 3 already read ahead —
  // and before batch 2 reads the mark, the saved mark moves to 6, as when another node ran
  // the task meanwhile. (Moved between RunTask's batches, where keep_going is asked: from the
  // read-ahead thread it could land before batch 1's save and be overwritten by it.)
  int asked = 0;
  auto run = env_.engine->RunTask(task.id, 100, [&] {
    if (asked++ == 1) Exec(*env_.tongban, "UPDATE exchange_progress SET hwm = 6");
    return true;
  });
  ASSERT_TRUE(run.ok()) << run.error().message;
  ASSERT_EQ(run->size(), 3u);
  EXPECT_EQ(run->at(1).hwm_before, 6);  // read again from the saved mark, not from 3
  const auto counts = env_.engine->read_ahead_counts();
  EXPECT_EQ(counts.discarded, 1);
  EXPECT_EQ(counts.used, 1);
  EXPECT_EQ(Rows(Pg(), "SELECT tongid FROM people ORDER BY tong_seq"),
            (std::vector<std::string>{"r00", "r01", "r02", "r06", "r07", "r08", "r09"}));
}

// The SQLite read takes integers natively and the rest as SQLite's text: every value is the
// text CAST(x AS TEXT) gives, whatever the column holds.
TEST_F(PipelineTest, TheNativeSqliteReadGivesTheSameBytesAsACast) {
  const char* ages[] = {"0",    "-5",      "9223372036854775807", "-9223372036854775808",
                        "12.5", "'abc'",   "NULL",                "'007'",
                        "1e300", "X'41'",  "-0.0",                "'  42 '"};
  const char* fees[] = {"12.5",  "0.1",  "100",        "1e20",  "1.0/3", "-3.0",
                        "'x'",   "NULL", "123456.789", "2e-7",  "'12.50'", "99999999.99"};
  for (size_t i = 0; i < std::size(ages); ++i) {
    Exec(Provider(), "INSERT INTO people (idno, name, age, fee, born, tongid) VALUES ('id" +
                         std::to_string(i) + "', 'n', " + ages[i] + ", " + fees[i] +
                         ", '1990-01-02', 'r" + std::to_string(i) + "')");
  }
  const auto expected = Rows(Provider(),
                             "SELECT CAST(idno AS TEXT), CAST(name AS TEXT), CAST(age AS TEXT), "
                             "CAST(fee AS TEXT), CAST(born AS TEXT) FROM people ORDER BY tong_seq");
  // Twice into the same buffers: the second read overwrites the first in place.
  RowBatch reuse;
  for (int round = 0; round < 2; ++round) {
    auto batch = ReadRowBatch(Provider(), provider_, 0, 100, std::move(reuse));
    ASSERT_TRUE(batch.ok()) << batch.error().message;
    ASSERT_EQ(batch->size(), std::size(ages));
    std::vector<std::string> got;
    for (size_t r = 0; r < batch->size(); ++r) {
      std::string line;
      for (size_t c = 0; c < batch->width; ++c) {
        const std::string* v = batch->Cell(r, c);
        line += (c ? "|" : "") + (v == nullptr ? std::string("~") : *v);
      }
      got.push_back(line);
    }
    EXPECT_EQ(got, expected);
    reuse = std::move(batch).value();
  }
  // A shorter read after a longer one leaves none of the longer one behind.
  auto tail = ReadRowBatch(Provider(), provider_, 10, 100, std::move(reuse));
  ASSERT_TRUE(tail.ok());
  EXPECT_EQ(tail->size(), 2u);
  EXPECT_EQ(tail->cells.size(), 2u * tail->width);
  EXPECT_EQ(tail->tongid, (std::vector<std::string>{"r10", "r11"}));
}

// A reason names the field and what it expects; the value (an ID number here) never appears.
TEST(ValidationReasonTest, ReasonsNeverRepeatTheValue) {
  const std::string id = "330100199001020011";
  const std::string bad_id = id + "X";
  struct Case {
    Field field;
    std::string value;
    std::string expect;  // part of the reason
  };
  const Case cases[] = {
      {{"idno", "证件号码", FieldType::kString, 18}, bad_id, "longer than 18 characters (19)"},
      {{"age", "年龄", FieldType::kInt}, bad_id, "age is not an integer"},
      {{"age", "年龄", FieldType::kInt}, id + id, "(36 characters)"},
      {{"fee", "费用", FieldType::kDecimal, 10, 2}, bad_id, "fee is not a decimal"},
      {{"fee", "费用", FieldType::kDecimal, 10, 2}, id, "18 before the point, at most 8"},
      {{"born", "出生日期", FieldType::kDate}, id, "born is not a date"},
      {{"at", "时间", FieldType::kDateTime}, id, "at is not a date-time"},
  };
  for (const Case& c : cases) {
    const std::string why = CheckValue(c.field, c.value);
    EXPECT_NE(why.find(c.expect), std::string::npos) << why;
    EXPECT_EQ(why.find(id), std::string::npos) << why;
    EXPECT_EQ(why.find("0200"), std::string::npos) << why;  // not even a piece of it
  }
}

// Session 12 (review12b): a department's database may hold text that is not
// UTF-8 (old GBK). Such a value is refused with a reason (a dead letter, not
// passed on), and a record holding one is still written as JSON — the dump
// threw on a background thread and ended the whole process.
TEST(ValidationReasonTest, TextThatIsNotUtf8IsRefusedAndNeverThrows) {
  const std::string gbk = "\xC0\xEE\xCB\xC4";  // 李四 in GBK
  const std::string why = CheckValue({"name", "姓名", FieldType::kString, 50}, gbk);
  EXPECT_NE(why.find("name is not UTF-8 text (4 bytes)"), std::string::npos) << why;
  EXPECT_EQ(CheckValue({"name", "姓名", FieldType::kString, 50}, std::string("李四")), "");
  Record r;
  r.tongid = "t1";
  r.values["name"] = gbk;
  std::string json;
  ASSERT_NO_THROW(json = RecordToJson(r));
  EXPECT_NE(json.find("\xEF\xBF\xBD"), std::string::npos) << json;  // U+FFFD in its place
  auto back = RecordFromJson(json);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->tongid, "t1");
}

TEST_F(PipelineTest, ADeadLetterReasonDoesNotRepeatTheValue) {
  if (!AddPgTarget()) GTEST_SKIP() << skip_;
  Task task = env_.AddApprovedTask("t1", provider_.id, {{0, target_.id, {}}});
  Exec(Provider(),
       "INSERT INTO people (idno, name, age, born, tongid) VALUES ('330100199001020011', '张三', "
       "'33010019900102001X', '1990-01-02', 'a')");
  auto run = env_.engine->RunTask(task.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  auto letters = env_.engine->ListDeadLetters(task.id, "open");
  ASSERT_TRUE(letters.ok());
  ASSERT_EQ(letters->size(), 1u);
  EXPECT_NE(letters->at(0).reason.find("age is not an integer"), std::string::npos)
      << letters->at(0).reason;
  EXPECT_EQ(letters->at(0).reason.find("330100"), std::string::npos) << letters->at(0).reason;
}

}  // namespace
}  // namespace tongban::exchange
