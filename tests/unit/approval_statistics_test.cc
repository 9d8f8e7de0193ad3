// Statistics over a hand-built set of cases: every expected figure below is
// worked out from the rows in the comments, not from the code.
#include <gtest/gtest.h>

#include <memory>

#include "approval/statistics.h"
#include "approval_sup_support.h"
#include "codec/xlsx.h"

namespace tongban::approval {
namespace {

using approval_test::CaseSeed;
using approval_test::Cst;
using approval_test::D;

constexpr const char* kM1 = "11330100000000000A000000000000001";
constexpr const char* kM2 = "11330100000000000A000000000000002";
constexpr const char* kM3 = "11330200000000000B000000000000003";

// March 2026: Mon 2, Tue 3, Wed 4, Thu 5, Fri 6, Sat 7, Sun 8, Mon 9, Tue 10, Wed 11.
// Division 330200 (case c2's) has a holiday on Tue 10 March.
class StatisticsTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::string why = db.Open(GetParam());
    if (!why.empty()) GTEST_SKIP() << why;
    calendars = std::make_unique<CalendarStore>(db.store());
    statistics = std::make_unique<Statistics>(db.store(), *calendars);
    approval_test::AddHoliday(*calendars, "330200", D(2026, 3, 10));

    // c1 org-a M1: accepted Mon 2, completed Thu 5 (working days Tue 3, Wed 4, Thu 5 = 3),
    // deadline Mon 9: on time. 1 correction.
    Add("org-a", kM1, "330100", "completed", Cst(2026, 3, 2, 9), Cst(2026, 3, 2, 10),
        Cst(2026, 3, 5, 15), Cst(2026, 3, 9, 23, 59, 59, 999), 0, 1);
    // c2 org-a M1, division 330200: accepted Wed 4, completed Wed 11; working days
    // Thu 5, Fri 6, Mon 9, (Tue 10 holiday), Wed 11 = 4, minus 1 stopped = 3.
    // Deadline Tue 10: late. 2 corrections.
    Add("org-a", kM1, "330200", "completed", Cst(2026, 3, 3, 9), Cst(2026, 3, 4, 9),
        Cst(2026, 3, 11, 10), Cst(2026, 3, 10, 23, 59, 59, 999), 1, 2);
    // c3 org-a M1: refused at acceptance.
    Add("org-a", kM1, "330100", "refused", Cst(2026, 3, 4, 9), 0, 0, 0, 0, 0);
    // c4 org-a M2: accepted, still in a step.
    Add("org-a", kM2, "330100", "in_step", Cst(2026, 3, 5, 9), Cst(2026, 3, 5, 11), 0,
        Cst(2026, 3, 12, 23, 59, 59, 999), 0, 0);
    // c5 org-a M2: received, accepted and completed on Wed 1 April (0 working days), no limit.
    Add("org-a", kM2, "330100", "completed", Cst(2026, 4, 1, 9), Cst(2026, 4, 1, 9, 30),
        Cst(2026, 4, 1, 16), 0, 0, 0);
    // c6 org-b M3: accepted Fri 6, completed Mon 9 exactly at its deadline (1 working day).
    Add("org-b", kM3, "330100", "completed", Cst(2026, 3, 6, 9), Cst(2026, 3, 6, 10),
        Cst(2026, 3, 9, 12), Cst(2026, 3, 9, 12), 0, 0);
    // c7 org-b M3: registered 31 March 23:30 CST (15:30 UTC): March.
    Add("org-b", kM3, "330100", "registered", Cst(2026, 3, 31, 23, 30), 0, 0, 0, 0, 0);
    // c8 org-b M3: registered 1 April 00:30 CST (31 March 16:30 UTC): April.
    Add("org-b", kM3, "330100", "registered", Cst(2026, 4, 1, 0, 30), 0, 0, 0, 0, 0);
    // Outside the period [1 March, 1 May): not counted.
    Add("org-a", kM1, "330100", "registered", Cst(2026, 2, 28, 23, 59, 59, 999), 0, 0, 0, 0, 0);
    Add("org-a", kM1, "330100", "registered", Cst(2026, 5, 1), 0, 0, 0, 0, 0);
  }

  void Add(const char* org, const char* matter, const char* division, const char* state,
           int64_t registered, int64_t accepted, int64_t completed, int64_t deadline,
           int stopped_days, int corrections) {
    CaseSeed c;
    c.orgcoding = org;
    c.implement_code = matter;
    c.matter_name = std::string("事项") + std::string(matter).back();
    c.division = division;
    c.state = state;
    c.registered_at = registered;
    c.accepted_at = accepted;
    c.completed_at = completed;
    c.deadline_at = deadline;
    c.stopped_days = stopped_days;
    c.corrections = corrections;
    c.pending_role =
        std::string(state) == "completed" || std::string(state) == "refused" ? "" : "undertake";
    db.Insert(c);
  }

  std::vector<StatisticsRow> Compute(StatisticsDimension by, StatisticsPeriod period,
                                     int64_t from = Cst(2026, 3, 1), int64_t to = Cst(2026, 5, 1)) {
    StatisticsQuery q;
    q.by = by;
    q.period = period;
    q.from_ms = from;
    q.to_ms = to;
    auto rows = statistics->Compute(q);
    EXPECT_TRUE(rows.ok()) << rows.error().message;
    return rows.ok() ? *rows : std::vector<StatisticsRow>{};
  }

  approval_test::Db db;
  std::unique_ptr<CalendarStore> calendars;
  std::unique_ptr<Statistics> statistics;
};

TEST_P(StatisticsTest, PerOrg) {
  auto rows = Compute(StatisticsDimension::kOrg, StatisticsPeriod::kNone);
  ASSERT_EQ(rows.size(), 2u);
  const StatisticsRow& a = rows[0];
  EXPECT_EQ(a.orgcoding, "org-a");
  EXPECT_EQ(a.received, 5);                 // c1..c5
  EXPECT_EQ(a.accepted, 4);                 // c1 c2 c4 c5
  EXPECT_EQ(a.refused, 1);                  // c3
  EXPECT_EQ(a.completed, 3);                // c1 c2 c5
  EXPECT_EQ(a.completed_with_deadline, 2);  // c1 c2
  EXPECT_EQ(a.completed_on_time, 1);        // c1
  ASSERT_TRUE(a.on_time_rate().has_value());
  EXPECT_DOUBLE_EQ(*a.on_time_rate(), 0.5);
  EXPECT_EQ(a.handled, 3);
  EXPECT_EQ(a.handling_working_days, 3 + 3 + 0);
  EXPECT_DOUBLE_EQ(*a.average_handling_days(), 2.0);
  EXPECT_EQ(a.corrections, 3);

  const StatisticsRow& b = rows[1];
  EXPECT_EQ(b.orgcoding, "org-b");
  EXPECT_EQ(b.received, 3);  // c6 c7 c8
  EXPECT_EQ(b.accepted, 1);
  EXPECT_EQ(b.refused, 0);
  EXPECT_EQ(b.completed, 1);
  EXPECT_EQ(b.completed_with_deadline, 1);
  EXPECT_EQ(b.completed_on_time, 1);  // completed exactly at the deadline
  EXPECT_DOUBLE_EQ(*b.on_time_rate(), 1.0);
  EXPECT_EQ(b.handling_working_days, 1);  // Fri 6 -> Mon 9 over a weekend
  EXPECT_EQ(b.corrections, 0);
}

TEST_P(StatisticsTest, PerMatter) {
  auto rows = Compute(StatisticsDimension::kMatter, StatisticsPeriod::kNone);
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].implement_code, kM1);
  EXPECT_EQ(rows[0].matter_name, "事项1");
  EXPECT_EQ(rows[0].orgcoding, "");
  EXPECT_EQ(rows[0].received, 3);  // c1 c2 c3
  EXPECT_EQ(rows[0].accepted, 2);
  EXPECT_EQ(rows[0].refused, 1);
  EXPECT_EQ(rows[0].completed, 2);
  EXPECT_DOUBLE_EQ(*rows[0].average_handling_days(), 3.0);  // (3 + 3) / 2
  EXPECT_EQ(rows[1].implement_code, kM2);
  EXPECT_EQ(rows[1].received, 2);  // c4 c5
  EXPECT_EQ(rows[1].completed, 1);
  EXPECT_FALSE(rows[1].on_time_rate().has_value());  // c5 had no limit
  EXPECT_DOUBLE_EQ(*rows[1].average_handling_days(), 0.0);
  EXPECT_EQ(rows[2].implement_code, kM3);
  EXPECT_EQ(rows[2].received, 3);
}

TEST_P(StatisticsTest, PerMonthInChinaStandardTime) {
  auto rows = Compute(StatisticsDimension::kNone, StatisticsPeriod::kMonth);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].period, "2026-03");
  EXPECT_EQ(rows[0].received, 6);  // c1 c2 c3 c4 c6 c7
  EXPECT_EQ(rows[0].accepted, 4);  // c1 c2 c4 c6
  EXPECT_EQ(rows[0].refused, 1);
  EXPECT_EQ(rows[0].completed, 3);  // c1 c2 c6
  EXPECT_EQ(rows[0].completed_with_deadline, 3);
  EXPECT_EQ(rows[0].completed_on_time, 2);  // c1 c6
  EXPECT_EQ(rows[0].handling_working_days, 3 + 3 + 1);
  EXPECT_EQ(rows[0].corrections, 3);
  EXPECT_EQ(rows[1].period, "2026-04");
  EXPECT_EQ(rows[1].received, 2);  // c5 c8
  EXPECT_EQ(rows[1].accepted, 1);
  EXPECT_EQ(rows[1].completed, 1);
  EXPECT_EQ(rows[1].handled, 1);
  EXPECT_EQ(rows[1].handling_working_days, 0);
}

TEST_P(StatisticsTest, MonthsWithOpenBoundsCoverEveryCase) {
  StatisticsQuery q;
  q.by = StatisticsDimension::kNone;
  q.period = StatisticsPeriod::kMonth;
  auto rows = statistics->Compute(q);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 4u);
  EXPECT_EQ((*rows)[0].period, "2026-02");
  EXPECT_EQ((*rows)[0].received, 1);
  EXPECT_EQ((*rows)[1].received, 6);
  EXPECT_EQ((*rows)[2].received, 2);
  EXPECT_EQ((*rows)[3].period, "2026-05");
  EXPECT_EQ((*rows)[3].received, 1);
}

// review13: a department system reports registered_at; a case dated in year
// 32767 made the open-bounds month list wrap and grow without end. The bounds
// taken from the cases are clamped (to 2100), and a span over kMaxMonths is
// refused at once.
TEST_P(StatisticsTest, MonthsFromFarOffCasesAreRefusedNotListed) {
  Add("org-a", kM1, "330100", "registered", int64_t{971889494400000}, 0, 0, 0, 0, 0);
  StatisticsQuery q;
  q.by = StatisticsDimension::kNone;
  q.period = StatisticsPeriod::kMonth;
  auto rows = statistics->Compute(q);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.error().code, errc::kInvalidArgument);
  // A bounded query of the same data is still answered.
  EXPECT_EQ(Compute(StatisticsDimension::kNone, StatisticsPeriod::kMonth).size(), 2u);
  q.from_ms = Cst(2026, 3, 1);
  q.to_ms = Cst(2036, 3, 1);  // exactly 120 months
  EXPECT_TRUE(statistics->Compute(q).ok());
  q.to_ms = Cst(2036, 3, 2);  // 121
  EXPECT_FALSE(statistics->Compute(q).ok());
}

TEST_P(StatisticsTest, PerOrgAndDay) {
  auto rows =
      Compute(StatisticsDimension::kOrg, StatisticsPeriod::kDay, Cst(2026, 3, 31), Cst(2026, 4, 2));
  // 31 March: c7 (org-b). 1 April: c5 (org-a), c8 (org-b).
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0].orgcoding, "org-a");
  EXPECT_EQ(rows[0].period, "2026-04-01");
  EXPECT_EQ(rows[0].received, 1);
  EXPECT_EQ(rows[0].completed, 1);
  EXPECT_EQ(rows[1].orgcoding, "org-b");
  EXPECT_EQ(rows[1].period, "2026-03-31");
  EXPECT_EQ(rows[1].received, 1);
  EXPECT_EQ(rows[2].orgcoding, "org-b");
  EXPECT_EQ(rows[2].period, "2026-04-01");
  EXPECT_EQ(rows[2].received, 1);
}

TEST_P(StatisticsTest, OrgFilterAndWholeTotals) {
  StatisticsQuery q;
  q.by = StatisticsDimension::kNone;
  q.from_ms = Cst(2026, 3, 1);
  q.to_ms = Cst(2026, 5, 1);
  auto all = statistics->Compute(q);
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].received, 8);
  EXPECT_EQ((*all)[0].handling_working_days, 3 + 3 + 0 + 1);
  EXPECT_EQ((*all)[0].handled, 4);

  q.orgs = {"org-b"};
  auto b = statistics->Compute(q);
  ASSERT_TRUE(b.ok());
  ASSERT_EQ(b->size(), 1u);
  EXPECT_EQ((*b)[0].received, 3);

  q.orgs = {"org-none"};
  auto none = statistics->Compute(q);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST_P(StatisticsTest, CsvHasChineseHeadersAndOneLinePerRow) {
  StatisticsQuery q;
  q.by = StatisticsDimension::kOrg;
  q.from_ms = Cst(2026, 3, 1);
  q.to_ms = Cst(2026, 5, 1);
  auto csv = statistics->ExportCsv(q);
  ASSERT_TRUE(csv.ok()) << csv.error().message;
  EXPECT_TRUE(csv->starts_with("\xEF\xBB\xBF机构编码,"));
  EXPECT_NE(csv->find("\r\norg-a,,,,5,4,1,3,2,1,0.5000,2.00,3,0,\r\n"), std::string::npos) << *csv;
  EXPECT_NE(csv->find("\r\norg-b,,,,3,1,0,1,1,1,1.0000,1.00,0,0,\r\n"), std::string::npos) << *csv;
}

TEST_P(StatisticsTest, XlsxHoldsTheSameTableWithNumbersAsNumbers) {
  StatisticsQuery q;
  q.by = StatisticsDimension::kOrg;
  q.from_ms = Cst(2026, 3, 1);
  q.to_ms = Cst(2026, 5, 1);
  auto bytes = statistics->ExportXlsx(q);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  auto sheets = codec::ReadXlsx(*bytes);
  ASSERT_TRUE(sheets.ok()) << sheets.error().message;
  ASSERT_EQ(sheets->size(), 1u);
  const auto& rows = (*sheets)[0].rows;
  ASSERT_EQ(rows.size(), 3u);
  EXPECT_EQ(rows[0][0], codec::Cell::Text("机构编码"));
  EXPECT_EQ(rows[0][12], codec::Cell::Text("补正次数"));
  EXPECT_EQ(rows[1][0], codec::Cell::Text("org-a"));
  EXPECT_EQ(rows[1][4], codec::Cell::Number(5));
  EXPECT_EQ(rows[1][10], codec::Cell::Number(0.5));
  EXPECT_EQ(rows[1][11], codec::Cell::Number(2.0));
  EXPECT_EQ(rows[1][12], codec::Cell::Number(3));
  EXPECT_EQ(rows[2][0], codec::Cell::Text("org-b"));
  EXPECT_EQ(rows[2][7], codec::Cell::Number(1));
}

TEST_P(StatisticsTest, CsvDefusesAFormulaInAMatterName) {
  CaseSeed c;
  c.implement_code = "11330100000000000A000000000000009";
  c.matter_name = "=HYPERLINK(\"http://x\")";
  c.registered_at = Cst(2026, 3, 2, 9);
  db.Insert(c);
  StatisticsQuery q;
  q.by = StatisticsDimension::kMatter;
  q.implement_code = c.implement_code;
  auto csv = statistics->ExportCsv(q);
  ASSERT_TRUE(csv.ok());
  EXPECT_NE(csv->find("'=HYPERLINK"), std::string::npos) << *csv;
}

TEST_P(StatisticsTest, ToBeforeFromIsRefused) {
  StatisticsQuery q;
  q.from_ms = Cst(2026, 3, 2);
  q.to_ms = Cst(2026, 3, 1);
  auto rows = statistics->Compute(q);
  ASSERT_FALSE(rows.ok());
  EXPECT_EQ(rows.error().code, errc::kInvalidArgument);
}

INSTANTIATE_TEST_SUITE_P(Backends, StatisticsTest,
                         ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return std::string(info.param); });

}  // namespace
}  // namespace tongban::approval
