// The DDL and change capture on each backend (SQLite, PostgreSQL, MariaDB), a round trip
// SQLite -> backend -> SQLite through the delivery engine, and web access push/pull.
#include <gtest/gtest.h>

#include "exchange_test_support.h"

namespace tongban::exchange {
namespace {

using test::Env;
using test::Exec;
using test::Rows;

class BackendTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    url_ = store_test::FreshDatabaseUrl(GetParam(), env_.dir, &why);
    if (GetParam() == "sqlite") url_ = "sqlite://" + env_.dir.File("node.db");
    if (url_.empty()) GTEST_SKIP() << why;
    node_ = env_.AddNode(url_, "330100");
  }

  Env env_;
  std::string url_;
  Node node_;
};

TEST_P(BackendTest, CaptureGivesEveryChangeTheNextSequenceAndRaisesTheVersion) {
  Resource r = env_.AddResource(node_.id, "people", TableModel::kHorizontal, test::PersonFields());
  SqlStore& s = env_.NodeStore(node_.id);
  Exec(s, "INSERT INTO people (idno, name, tongid) VALUES ('1', 'a', 'x1')");
  Exec(s, "INSERT INTO people (idno, name, tongid) VALUES ('2', 'b', 'x2')");
  EXPECT_EQ(
      Rows(s, "SELECT tongid, tong_seq, dataversion, sync_status FROM people ORDER BY tongid"),
      (std::vector<std::string>{"x1|1|1|I", "x2|2|1|I"}));
  Exec(s, "UPDATE people SET name = 'c', sync_status = 'U' WHERE tongid = 'x1'");
  EXPECT_EQ(
      Rows(s, "SELECT tongid, tong_seq, dataversion, sync_status FROM people ORDER BY tongid"),
      (std::vector<std::string>{"x1|3|2|U", "x2|2|1|I"}));
  // A writer that sets a higher version keeps it.
  Exec(s, "UPDATE people SET dataversion = 9 WHERE tongid = 'x2'");
  EXPECT_EQ(Rows(s, "SELECT tong_seq, dataversion FROM people WHERE tongid = 'x2'"),
            std::vector<std::string>{"4|9"});
  EXPECT_EQ(Rows(s, "SELECT COUNT(*) FROM people WHERE create_time > 0"),
            std::vector<std::string>{"2"});
  // A second create is refused.
  EXPECT_EQ(CreateTable(s, r).error().code, errc::kAlreadyExists);
}

TEST_P(BackendTest, AWriterWaitsForTheOtherSoSequenceValuesBecomeVisibleInOrder) {
  if (GetParam() == "sqlite") GTEST_SKIP() << "SQLite has one writer at a time anyway";
  env_.AddResource(node_.id, "people", TableModel::kHorizontal, test::PersonFields());
  SqlStore& s = env_.NodeStore(node_.id);
  {
    auto first = s.Acquire();
    auto second = s.Acquire();
    first->begin();
    *first << "INSERT INTO people (idno, name, tongid) VALUES ('1', 'a', 'x1')";
    *second << (GetParam() == "postgres" ? "SET lock_timeout = '300ms'"
                                         : "SET SESSION innodb_lock_wait_timeout = 1");
    bool waited = false;
    try {
      second->begin();
      *second << "INSERT INTO people (idno, name, tongid) VALUES ('2', 'b', 'x2')";
      second->commit();
    } catch (const std::exception&) {
      waited = true;  // the counter row is locked by the first, uncommitted writer
      second->rollback();
    }
    EXPECT_TRUE(waited);
    first->commit();
    second->begin();
    *second << "INSERT INTO people (idno, name, tongid) VALUES ('2', 'b', 'x2')";
    second->commit();
  }  // the leases go back to the pool
  EXPECT_EQ(Rows(s, "SELECT tongid, tong_seq FROM people ORDER BY tong_seq"),
            (std::vector<std::string>{"x1|1", "x2|2"}));
}

TEST_P(BackendTest, RoundTripThroughTheBackendKeepsValues) {
  Node a = env_.AddNode("sqlite://" + env_.dir.File("a.db"), "330200");
  Node c = env_.AddNode("sqlite://" + env_.dir.File("c.db"), "330300");
  Resource ra = env_.AddResource(a.id, "people", TableModel::kHorizontal, test::PersonFields());
  Resource rb = env_.AddResource(node_.id, "people", TableModel::kHorizontal, test::PersonFields());
  Resource rc = env_.AddResource(c.id, "people", TableModel::kHorizontal, test::PersonFields());
  Task there = env_.AddApprovedTask("there", ra.id, {{0, rb.id, {}}});
  Task back = env_.AddApprovedTask("back", rb.id, {{0, rc.id, {}}});
  Exec(env_.NodeStore(a.id),
       "INSERT INTO people (idno, name, age, fee, born, tongid, xk_lydw) VALUES "
       "('330100199001020011', '张三', 30, 12.34, '1990-01-02', 'p1', '单位'), "
       "('330100199001020012', '李四', NULL, NULL, NULL, 'p2', '单位')");
  auto run = env_.engine->RunTask(there.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  run = env_.engine->RunTask(back.id);
  ASSERT_TRUE(run.ok()) << run.error().message;
  EXPECT_EQ(Rows(env_.NodeStore(c.id),
                 "SELECT tongid, idno, name, age, fee, born, xk_lydw FROM people ORDER BY tongid"),
            (std::vector<std::string>{"p1|330100199001020011|张三|30|12.34|1990-01-02|单位",
                                      "p2|330100199001020012|李四|~|~|~|单位"}));
}

TEST_P(BackendTest, WebAccessPushesRecordsAndPullsChangesAfterACursor) {
  Resource r = env_.AddResource(node_.id, "people", TableModel::kHorizontal, test::PersonFields());
  auto a = RecordFromJson(
      R"({"tongid":"w1","dataversion":1,"fields":{"idno":"1","name":"甲","age":5}})");
  auto b = RecordFromJson(
      R"({"tongid":"w2","values":[{"field_code":"idno","field_value":"2"},{"field_code":"name","field_value":"乙"}]})");
  auto bad = RecordFromJson(R"({"tongid":"w3","fields":{"idno":"3","name":"丙","age":"x"}})");
  ASSERT_TRUE(a.ok() && b.ok() && bad.ok());
  auto pushed = env_.engine->Push(r.id, {*a, *b, *bad});
  ASSERT_TRUE(pushed.ok()) << pushed.error().message;
  EXPECT_EQ(pushed->applied, 2);
  ASSERT_EQ(pushed->failures.size(), 1u);
  EXPECT_EQ(pushed->failures[0].index, 2u);
  // The same push again changes nothing.
  pushed = env_.engine->Push(r.id, {*a, *b});
  ASSERT_TRUE(pushed.ok());
  EXPECT_EQ(pushed->unchanged, 2);
  int64_t cursor = 0;
  auto first = env_.engine->Pull(r.id, 0, 1, &cursor);
  ASSERT_TRUE(first.ok()) << first.error().message;
  ASSERT_EQ(first->size(), 1u);
  EXPECT_EQ(first->at(0).tongid, "w1");
  EXPECT_EQ(first->at(0).values.at("age"), std::optional<std::string>("5"));
  auto rest = env_.engine->Pull(r.id, cursor, 100, &cursor);
  ASSERT_TRUE(rest.ok());
  ASSERT_EQ(rest->size(), 1u);
  EXPECT_EQ(rest->at(0).tongid, "w2");
  auto none = env_.engine->Pull(r.id, cursor, 100, &cursor);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

INSTANTIATE_TEST_SUITE_P(Backends, BackendTest, ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return info.param; });

TEST(ExchangeDdlTest, RefusesUnsafeIdentifiersBeforeAnySql) {
  Resource r{0, "people; drop table x", "x", TableModel::kHorizontal, 1, test::PersonFields(), {}};
  EXPECT_EQ(CreateTableStatements(r, SqlDialect::kPostgres).error().code, errc::kInvalidArgument);
  r.code = "people";
  r.fields[0].code = "idno\"--";
  EXPECT_EQ(CreateTableStatements(r, SqlDialect::kMySql).error().code, errc::kInvalidArgument);
}

TEST(ExchangeDdlTest, TypesPerBackend) {
  Field s{"a", "", FieldType::kString, 20};
  Field d{"b", "", FieldType::kDecimal, 0, 0};
  Field t{"c", "", FieldType::kDateTime};
  EXPECT_EQ(ColumnType(s, SqlDialect::kSqlite), "VARCHAR(20)");
  EXPECT_EQ(ColumnType(d, SqlDialect::kPostgres), "DECIMAL(18,2)");
  EXPECT_EQ(ColumnType(t, SqlDialect::kMySql), "DATETIME");
  EXPECT_EQ(ColumnType(t, SqlDialect::kPostgres), "TIMESTAMP");
  EXPECT_EQ(ColumnType(t, SqlDialect::kSqlite), "TEXT");
}

}  // namespace
}  // namespace tongban::exchange
