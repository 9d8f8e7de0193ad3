// Preferences (approval/preferences.h): 常用意见 kept in the user's order,
// 过滤事项, and one rating per case — on SQLite, PostgreSQL and MariaDB.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "approval/preferences.h"
#include "store_test_support.h"

namespace tongban::approval {
namespace {

class PreferencesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (GetParam() == "mariadb") {
      ASSERT_FALSE(url.empty()) << why;
    }
    if (url.empty()) GTEST_SKIP() << why;
    auto opened = SqlStore::Open(url, 2);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    sql_ = std::move(opened).value();
    Status migrated = sql_->Migrate(Preferences::Migrations());
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    prefs_ = std::make_unique<Preferences>(*sql_, clock_);
  }

  std::vector<std::string> Texts(std::string_view userid) {
    auto opinions = prefs_->Opinions(userid);
    EXPECT_TRUE(opinions.ok()) << opinions.error().message;
    std::vector<std::string> out;
    for (const Opinion& o : *opinions) out.push_back(o.text);
    return out;
  }

  store_test::TempDir dir_;
  FakeClock clock_;
  std::unique_ptr<SqlStore> sql_;
  std::unique_ptr<Preferences> prefs_;
};

INSTANTIATE_TEST_SUITE_P(Backends, PreferencesTest,
                         ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return info.param; });

TEST_P(PreferencesTest, OpinionsKeepTheOrderTheyWereAddedAndReordered) {
  auto a = prefs_->AddOpinion("u1", "同意");
  auto b = prefs_->AddOpinion("u1", "材料齐全，予以受理");
  auto c = prefs_->AddOpinion("u1", "请补正身份证复印件");
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(Texts("u1"),
            (std::vector<std::string>{"同意", "材料齐全，予以受理", "请补正身份证复印件"}));
  ASSERT_TRUE(prefs_->ReorderOpinions("u1", {c->id, a->id, b->id}).ok());
  EXPECT_EQ(Texts("u1"),
            (std::vector<std::string>{"请补正身份证复印件", "同意", "材料齐全，予以受理"}));
  EXPECT_TRUE(Texts("u2").empty());
}

TEST_P(PreferencesTest, AReorderMustListEveryOpinionOnceAndChangesNothingOtherwise) {
  auto a = prefs_->AddOpinion("u1", "同意");
  auto b = prefs_->AddOpinion("u1", "不同意");
  auto foreign = prefs_->AddOpinion("u2", "别人的");
  ASSERT_TRUE(a.ok() && b.ok() && foreign.ok());
  EXPECT_FALSE(prefs_->ReorderOpinions("u1", {b->id}).ok());
  EXPECT_FALSE(prefs_->ReorderOpinions("u1", {b->id, b->id}).ok());
  EXPECT_FALSE(prefs_->ReorderOpinions("u1", {b->id, foreign->id}).ok());
  EXPECT_EQ(Texts("u1"), (std::vector<std::string>{"同意", "不同意"}));
}

TEST_P(PreferencesTest, OnlyTheOwnerDeletesAnOpinion) {
  auto a = prefs_->AddOpinion("u1", "同意");
  ASSERT_TRUE(a.ok());
  Status other = prefs_->DeleteOpinion("u2", a->id);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, errc::kNotFound);
  ASSERT_TRUE(prefs_->DeleteOpinion("u1", a->id).ok());
  EXPECT_TRUE(Texts("u1").empty());
}

TEST_P(PreferencesTest, AnEmptyOrOverlongOpinionIsRefused) {
  EXPECT_FALSE(prefs_->AddOpinion("u1", "").ok());
  std::string long_text;
  for (int i = 0; i < 501; ++i) long_text += "字";
  EXPECT_FALSE(prefs_->AddOpinion("u1", long_text).ok());
  EXPECT_TRUE(Texts("u1").empty());
}

TEST_P(PreferencesTest, HiddenMattersAreSetAndClearedPerUser) {
  ASSERT_TRUE(prefs_->SetMatterHidden("u1", "B", true).ok());
  ASSERT_TRUE(prefs_->SetMatterHidden("u1", "A", true).ok());
  ASSERT_TRUE(prefs_->SetMatterHidden("u1", "A", true).ok());  // twice: still once
  auto hidden = prefs_->HiddenMatters("u1");
  ASSERT_TRUE(hidden.ok());
  EXPECT_EQ(*hidden, (std::vector<std::string>{"A", "B"}));
  ASSERT_TRUE(prefs_->SetMatterHidden("u1", "A", false).ok());
  EXPECT_EQ(*prefs_->HiddenMatters("u1"), (std::vector<std::string>{"B"}));
  EXPECT_TRUE(prefs_->HiddenMatters("u2")->empty());
}

TEST_P(PreferencesTest, ACaseIsRatedOnceWithinOneToFive) {
  EXPECT_FALSE(prefs_->Rate({"N1", 0, "", 0}).ok());
  EXPECT_FALSE(prefs_->Rate({"N1", 6, "", 0}).ok());
  ASSERT_TRUE(prefs_->Rate({"N1", 5, "办事快", 0}).ok());
  Status again = prefs_->Rate({"N1", 1, "", 0});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, errc::kAlreadyExists);
  auto rating = prefs_->RatingOf("N1");
  ASSERT_TRUE(rating.ok() && rating->has_value());
  EXPECT_EQ((*rating)->level, 5);
  EXPECT_EQ((*rating)->comment, "办事快");
  EXPECT_EQ((*rating)->at_ms, clock_.NowMillis());
  EXPECT_FALSE(prefs_->RatingOf("N2")->has_value());
}

}  // namespace
}  // namespace tongban::approval
