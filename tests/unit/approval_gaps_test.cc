// Gaps the web engineers found, below the API: a rating's five online
// indicators (gov-domain-notes §1.5) are kept and validated, a 常用意见 is
// edited in place by its owner only, and statistics count the ratings of each
// group's cases with their average level — on SQLite, PostgreSQL and MariaDB.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "approval/preferences.h"
#include "approval/statistics.h"
#include "approval_sup_support.h"
#include "codec/xlsx.h"

namespace tongban::approval {
namespace {

using approval_test::CaseSeed;
using approval_test::Cst;

class GapsTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::string why = db.Open(GetParam());
    if (!why.empty()) GTEST_SKIP() << why;
    prefs = std::make_unique<Preferences>(db.store(), clock);
    calendars = std::make_unique<CalendarStore>(db.store());
    statistics = std::make_unique<Statistics>(db.store(), *calendars);
  }

  // A completed case of `org` received on `day` of March 2026, numbered `number`.
  void AddCase(const std::string& number, const char* org, unsigned day) {
    CaseSeed c;
    c.number = number;
    c.orgcoding = org;
    c.state = "completed";
    c.pending_role = "";
    c.registered_at = Cst(2026, 3, day, 9);
    c.accepted_at = Cst(2026, 3, day, 10);
    c.completed_at = Cst(2026, 3, day, 16);
    db.Insert(c);
  }

  void Rate(const std::string& number, int level) {
    Rating r;
    r.case_number = number;
    r.level = level;
    Status rated = prefs->Rate(r);
    ASSERT_TRUE(rated.ok()) << rated.error().message;
  }

  approval_test::Db db;
  FakeClock clock;
  std::unique_ptr<Preferences> prefs;
  std::unique_ptr<CalendarStore> calendars;
  std::unique_ptr<Statistics> statistics;
};

INSTANTIATE_TEST_SUITE_P(Backends, GapsTest, ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return std::string(info.param); });

TEST_P(GapsTest, RatingKeepsTheFiveIndicators) {
  Rating r;
  r.case_number = "case-indicators";
  r.level = 4;
  r.comment = "指南清楚";
  r.indicators.overall = 4;
  r.indicators.efficiency = 5;
  r.indicators.guide_accuracy = 3;
  r.indicators.convenience = 2;
  r.indicators.usability = 1;
  ASSERT_TRUE(prefs->Rate(r).ok());
  auto got = prefs->RatingOf("case-indicators");
  ASSERT_TRUE(got.ok()) << got.error().message;
  ASSERT_TRUE(got->has_value());
  const RatingIndicators& i = (*got)->indicators;
  EXPECT_EQ((*got)->level, 4);
  EXPECT_EQ(i.overall, 4);
  EXPECT_EQ(i.efficiency, 5);
  EXPECT_EQ(i.guide_accuracy, 3);
  EXPECT_EQ(i.convenience, 2);
  EXPECT_EQ(i.usability, 1);

  // Without indicators (an older hall page): all 0, "not given".
  Rating plain;
  plain.case_number = "case-plain";
  plain.level = 5;
  ASSERT_TRUE(prefs->Rate(plain).ok());
  auto again = prefs->RatingOf("case-plain");
  ASSERT_TRUE(again.ok() && again->has_value());
  EXPECT_FALSE((*again)->indicators.Any());
}

TEST_P(GapsTest, AnIndicatorOutsideOneToFiveIsRefusedAndNothingStored) {
  for (int bad : {6, -1}) {
    Rating r;
    r.case_number = "case-bad";
    r.level = 3;
    r.indicators.convenience = bad;
    Status rated = prefs->Rate(r);
    ASSERT_FALSE(rated.ok()) << bad;
    EXPECT_EQ(rated.error().code, errc::kInvalidArgument);
    EXPECT_NE(rated.error().message.find("convenience"), std::string::npos)
        << rated.error().message;
  }
  auto none = prefs->RatingOf("case-bad");
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());
}

TEST_P(GapsTest, OpinionIsEditedInPlaceByItsOwnerOnly) {
  auto a = prefs->AddOpinion("u1", "同意");
  auto b = prefs->AddOpinion("u1", "材料齐全");
  auto c = prefs->AddOpinion("u1", "请补正");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  auto edited = prefs->UpdateOpinion("u1", b->id, "材料齐全，予以受理");
  ASSERT_TRUE(edited.ok()) << edited.error().message;
  EXPECT_EQ(edited->id, b->id);
  auto list = prefs->Opinions("u1");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[1].id, b->id);  // same id, same place
  EXPECT_EQ((*list)[1].text, "材料齐全，予以受理");

  // The same text again is no error (MySQL reports 0 changed rows).
  EXPECT_TRUE(prefs->UpdateOpinion("u1", b->id, "材料齐全，予以受理").ok());

  // Another user's id is as absent as an unknown one, and stays unchanged.
  auto foreign = prefs->UpdateOpinion("u2", b->id, "篡改");
  ASSERT_FALSE(foreign.ok());
  EXPECT_EQ(foreign.error().code, errc::kNotFound);
  auto unknown = prefs->UpdateOpinion("u1", c->id + 1000, "x");
  ASSERT_FALSE(unknown.ok());
  EXPECT_EQ(unknown.error().code, errc::kNotFound);
  auto empty = prefs->UpdateOpinion("u1", b->id, "");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.error().code, errc::kInvalidArgument);
  list = prefs->Opinions("u1");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ((*list)[1].text, "材料齐全，予以受理");
}

// org-a: three cases, two rated 5 and 2 (average 3.5); org-b: one case, not rated.
// By day: 2 March holds the case rated 5, 3 March the one rated 2 and the unrated one.
TEST_P(GapsTest, StatisticsCountRatingsAndAverageTheirLevel) {
  AddCase("case-a1", "org-a", 2);
  AddCase("case-a2", "org-a", 3);
  AddCase("case-a3", "org-a", 3);
  AddCase("case-b1", "org-b", 2);
  Rate("case-a1", 5);
  Rate("case-a2", 2);
  Rate("case-outside", 1);  // a rating of no case of the selection

  StatisticsQuery q;
  q.by = StatisticsDimension::kOrg;
  q.from_ms = Cst(2026, 3, 1);
  q.to_ms = Cst(2026, 4, 1);
  auto rows = statistics->Compute(q);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].orgcoding, "org-a");
  EXPECT_EQ((*rows)[0].ratings, 2);
  EXPECT_EQ((*rows)[0].rating_level_sum, 7);
  ASSERT_TRUE((*rows)[0].average_rating().has_value());
  EXPECT_DOUBLE_EQ(*(*rows)[0].average_rating(), 3.5);
  EXPECT_EQ((*rows)[1].orgcoding, "org-b");
  EXPECT_EQ((*rows)[1].ratings, 0);
  EXPECT_FALSE((*rows)[1].average_rating().has_value());

  q.by = StatisticsDimension::kOrg;
  q.period = StatisticsPeriod::kDay;
  q.orgs = {"org-a"};
  rows = statistics->Compute(q);
  ASSERT_TRUE(rows.ok()) << rows.error().message;
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].period, "2026-03-02");
  EXPECT_EQ((*rows)[0].ratings, 1);
  EXPECT_DOUBLE_EQ(*(*rows)[0].average_rating(), 5.0);
  EXPECT_EQ((*rows)[1].period, "2026-03-03");
  EXPECT_EQ((*rows)[1].received, 2);
  EXPECT_EQ((*rows)[1].ratings, 1);
  EXPECT_DOUBLE_EQ(*(*rows)[1].average_rating(), 2.0);
}

TEST_P(GapsTest, ExportsCarryTheRatingColumns) {
  AddCase("case-a1", "org-a", 2);
  AddCase("case-a2", "org-a", 3);
  Rate("case-a1", 5);
  Rate("case-a2", 4);
  StatisticsQuery q;
  q.by = StatisticsDimension::kOrg;
  auto csv = statistics->ExportCsv(q);
  ASSERT_TRUE(csv.ok()) << csv.error().message;
  EXPECT_NE(csv->find(",补正次数,评价数,平均评价等级\r\n"), std::string::npos) << *csv;
  EXPECT_NE(csv->find("\r\norg-a,,,,2,2,0,2,0,0,,0.00,0,2,4.50\r\n"), std::string::npos) << *csv;

  auto bytes = statistics->ExportXlsx(q);
  ASSERT_TRUE(bytes.ok()) << bytes.error().message;
  auto sheets = codec::ReadXlsx(*bytes);
  ASSERT_TRUE(sheets.ok()) << sheets.error().message;
  const auto& rows = (*sheets)[0].rows;
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][13], codec::Cell::Text("评价数"));
  EXPECT_EQ(rows[0][14], codec::Cell::Text("平均评价等级"));
  EXPECT_EQ(rows[1][13], codec::Cell::Number(2));
  EXPECT_EQ(rows[1][14], codec::Cell::Number(4.5));
}

}  // namespace
}  // namespace tongban::approval
