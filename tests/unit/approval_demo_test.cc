// SeedApprovalDemo: the approval app and its roles in the directory, a clerk
// who can log in and holds every role, one valid matter; nothing twice.
#include <gtest/gtest.h>

#include <set>

#include "approval/demo.h"
#include "directory_test_support.h"

namespace tongban::approval {
namespace {

class DemoTest : public directory::test::DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    std::vector<Migration> migrations = MatterCatalogue::Migrations();
    for (Migration& m : CalendarStore::Migrations()) migrations.push_back(std::move(m));
    Status migrated = store_->Migrate(migrations);
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    matters_ = std::make_unique<MatterCatalogue>(*store_, clock_);
    calendars_ = std::make_unique<CalendarStore>(*store_);
    auto seed = dir_->SeedDemo();
    ASSERT_TRUE(seed.ok()) << seed.error().message;
  }

  Result<DemoApproval> Seed() { return SeedApprovalDemo(*dir_, *matters_, *calendars_, &random_); }

  std::unique_ptr<MatterCatalogue> matters_;
  std::unique_ptr<CalendarStore> calendars_;
};

TEST_F(DemoTest, CreatesTheAppRolesClerkAndMatter) {
  auto demo = Seed();
  ASSERT_TRUE(demo.ok()) << demo.error().message;
  EXPECT_TRUE(demo->created);
  EXPECT_EQ(demo->clerk_loginname, "clerk");
  EXPECT_EQ(demo->clerk_password.size(), 16u);

  auto app = dir_->GetApp(kAppCode);
  ASSERT_TRUE(app.ok()) << app.error().message;
  auto roles = dir_->Roles(kAppCode);
  ASSERT_TRUE(roles.ok());
  std::set<std::string> names;
  for (const auto& r : *roles) names.insert(r.rolecode + "=" + r.rolename);
  EXPECT_EQ(names,
            (std::set<std::string>{"intake=收件", "accept=受理", "undertake=承办", "review=审核",
                                   "approve=批准", "supervise=监察", "matters=事项管理"}));

  // The printed password logs the clerk in, and the clerk holds all seven roles.
  auto clerk = dir_->VerifyLogin({"clerk", "001", demo->clerk_password, false});
  ASSERT_TRUE(clerk.ok()) << clerk.error().message;
  EXPECT_EQ((*clerk)->orgcoding, "001");
  auto held = dir_->UserRoles((*clerk)->userid, kAppCode);
  ASSERT_TRUE(held.ok());
  EXPECT_EQ(held->size(), 7u);

  auto matter = matters_->Latest(demo->implement_code);
  ASSERT_TRUE(matter.ok()) << matter.error().message;
  EXPECT_TRUE(CheckMatter(*matter).ok());
  EXPECT_EQ(matter->type, MatterType::kLicence);
  EXPECT_EQ(matter->orgcoding, "001");
  EXPECT_EQ(matter->legal_limit.amount, 20);
  EXPECT_EQ(matter->promised_limit.amount, 10);
  ASSERT_EQ(matter->steps.size(), 3u);
  EXPECT_EQ(matter->steps[0].name, "承办");
  EXPECT_EQ(matter->steps[2].role, kRoleApprove);
  EXPECT_EQ(matter->materials.size(), 2u);

  // The default calendar: 国庆 2026-10-01 is off, and every division inherits it.
  EXPECT_GT(demo->calendar_entries, 20);
  auto calendar = calendars_->Load("330100");
  ASSERT_TRUE(calendar.ok()) << calendar.error().message;
  auto national_day = ParseDay("2026-10-01");
  ASSERT_TRUE(national_day.ok());
  EXPECT_FALSE(calendar->IsWorkingDay(*national_day));
}

TEST_F(DemoTest, KeepsADefaultCalendarThatExists) {
  auto day = ParseDay("2026-05-06");
  ASSERT_TRUE(day.ok());
  ASSERT_TRUE(calendars_->Put({"", *day, DayKind::kHoliday, "本地调整"}).ok());
  auto demo = Seed();
  ASSERT_TRUE(demo.ok()) << demo.error().message;
  EXPECT_EQ(demo->calendar_entries, 0);
  auto calendar = calendars_->Load("");
  ASSERT_TRUE(calendar.ok());
  auto national_day = ParseDay("2026-10-01");
  EXPECT_TRUE(calendar->IsWorkingDay(*national_day));  // the built-in table was not imported
  EXPECT_FALSE(calendar->IsWorkingDay(*day));
}

TEST_F(DemoTest, DoesNothingOnceTheCatalogueHasMatters) {
  ASSERT_TRUE(Seed().ok());
  auto again = Seed();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again->created);
  EXPECT_TRUE(again->clerk_password.empty());
  int64_t total = 0;
  ASSERT_TRUE(matters_->List({}, &total).ok());
  EXPECT_EQ(total, 1);
}

// A seeding cut short after the clerk was created completes without a new
// password (the first one was already printed).
TEST_F(DemoTest, CompletesAnInterruptedSeedingKeepingTheClerk) {
  ASSERT_TRUE(Seed().ok());
  auto clerk = dir_->GetUserByLoginname(directory::Caller::Admin(), "clerk", "001");
  ASSERT_TRUE(clerk.ok());
  Execute("DELETE FROM approval_matter_versions");
  Execute("DELETE FROM approval_matters");
  auto again = Seed();
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_TRUE(again->created);
  EXPECT_TRUE(again->clerk_password.empty());
  EXPECT_EQ((*dir_->GetUserByLoginname(directory::Caller::Admin(), "clerk", "001"))->userid,
            (*clerk)->userid);
}

TEST_F(DemoTest, RefusesWithoutTheDemoOrg) {
  // A directory whose orgs are real ones: no 001.
  OpenOn("sqlite");
  ASSERT_TRUE(store_->Migrate(MatterCatalogue::Migrations()).ok());
  ASSERT_TRUE(store_->Migrate(CalendarStore::Migrations()).ok());
  matters_ = std::make_unique<MatterCatalogue>(*store_, clock_);
  calendars_ = std::make_unique<CalendarStore>(*store_);
  AddOrg("002", "真实机关");
  auto demo = Seed();
  ASSERT_FALSE(demo.ok());
  EXPECT_EQ(demo.error().code, errc::kNotFound);
}

}  // namespace
}  // namespace tongban::approval
