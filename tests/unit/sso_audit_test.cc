// Audit: events land in the sso_audit table (SQLite in memory) and a missing
// table never fails the caller.
#include <gtest/gtest.h>

#include <memory>

#include "core/clock.h"
#include "sso/audit.h"
#include "store/sql_store.h"

namespace tongban::sso {
namespace {

std::unique_ptr<SqlStore> OpenStore(bool migrated) {
  auto store = SqlStore::Open("sqlite::memory:");
  EXPECT_TRUE(store.ok());
  if (migrated) {
    EXPECT_TRUE((*store)->Migrate(AuditMigrations()).ok());
  }
  return std::move(*store);
}

TEST(AuditTest, RecordedEventsAreListedNewestFirst) {
  FakeClock clock;
  auto store = OpenStore(true);
  Audit audit(store.get(), clock);
  audit.Record("login_failed", "", "zhangs", "demo", "10.0.0.1", "code=6402");
  clock.Advance(std::chrono::seconds(1));
  audit.Record("login", "0123456789abcdef0123456789abcdef", "zhangs", "demo", "10.0.0.1", "");
  auto events = audit.Recent(10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].event, "login");
  EXPECT_EQ((*events)[0].at_ms, clock.NowMillis());
  EXPECT_EQ((*events)[1].event, "login_failed");
  EXPECT_EQ((*events)[1].loginname, "zhangs");
  EXPECT_EQ((*events)[1].ip, "10.0.0.1");
  EXPECT_EQ((*events)[1].detail, "code=6402");
}

TEST(AuditTest, RecentReturnsAtMostTheLimit) {
  FakeClock clock;
  auto store = OpenStore(true);
  Audit audit(store.get(), clock);
  for (int i = 0; i < 5; ++i) audit.Record("login", "", "u", "", "", "");
  auto events = audit.Recent(3);
  ASSERT_TRUE(events.ok());
  EXPECT_EQ(events->size(), 3u);
}

TEST(AuditTest, OverlongClientTextIsCutToABoundedSize) {
  FakeClock clock;
  auto store = OpenStore(true);
  Audit audit(store.get(), clock);
  audit.Record("login_failed", "", std::string(10'000, 'x'), "", "", "");
  auto events = audit.Recent(1);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ((*events)[0].loginname.size(), 100u);
}

TEST(AuditTest, AMissingTableDoesNotFailTheCaller) {
  FakeClock clock;
  auto store = OpenStore(false);
  Audit audit(store.get(), clock);
  audit.Record("login", "", "zhangs", "", "", "");
  EXPECT_FALSE(audit.Recent(1).ok());
}

TEST(AuditTest, WithoutADatabaseEventsAreOnlyLogged) {
  FakeClock clock;
  Audit audit(nullptr, clock);
  audit.Record("login", "", "zhangs", "", "", "");
  auto events = audit.Recent(10);
  ASSERT_TRUE(events.ok());
  EXPECT_TRUE(events->empty());
}

TEST(AuditTest, QueryFiltersByEventPrefixUserAndTimeAndPages) {
  FakeClock clock;
  auto store = OpenStore(true);
  Audit audit(store.get(), clock);
  const int64_t start = clock.NowMillis();
  audit.Record("login", "0123456789abcdef0123456789abcdef", "zhangs", "", "", "");
  clock.Advance(std::chrono::seconds(1));
  audit.Record("login_failed", "", "lis", "", "", "");
  clock.Advance(std::chrono::seconds(1));
  audit.Record("admin.user.create", "0123456789abcdef0123456789abcdef", "zhangs", "", "", "");
  auto logins = audit.Query(AuditFilter{"login", "", 0, 0}, 10, 0);
  ASSERT_TRUE(logins.ok());
  ASSERT_EQ(logins->total, 2);
  EXPECT_EQ(logins->items[0].event, "login_failed");  // newest first
  auto by_name = audit.Query(AuditFilter{"", "zhangs", 0, 0}, 10, 0);
  ASSERT_TRUE(by_name.ok());
  EXPECT_EQ(by_name->total, 2);
  auto by_id = audit.Query(AuditFilter{"", "0123456789abcdef0123456789abcdef", 0, 0}, 10, 0);
  ASSERT_TRUE(by_id.ok());
  EXPECT_EQ(by_id->total, 2);
  auto window = audit.Query(AuditFilter{"", "", start + 1000, start + 2000}, 10, 0);
  ASSERT_TRUE(window.ok());
  ASSERT_EQ(window->total, 1);
  EXPECT_EQ(window->items[0].loginname, "lis");
  auto second_page = audit.Query(AuditFilter{}, 2, 2);
  ASSERT_TRUE(second_page.ok());
  EXPECT_EQ(second_page->total, 3);
  ASSERT_EQ(second_page->items.size(), 1u);
  EXPECT_EQ(second_page->items[0].event, "login");
}

TEST(AuditTest, AnEventPrefixWithLikeWildcardsMatchesLiterally) {
  FakeClock clock;
  auto store = OpenStore(true);
  Audit audit(store.get(), clock);
  audit.Record("login", "", "u", "", "", "");
  auto none = audit.Query(AuditFilter{"%", "", 0, 0}, 10, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->total, 0);
}

TEST(AuditTest, PerMinuteCountsOneEventNameInWholeMinutesOldestFirst) {
  FakeClock clock(std::chrono::system_clock::time_point(
      std::chrono::milliseconds(1'000'000 * 60'000LL + 30'000)));
  auto store = OpenStore(true);
  Audit audit(store.get(), clock);
  audit.Record("login", "", "u", "", "", "");  // two minutes ago
  clock.Advance(std::chrono::minutes(2));
  audit.Record("login", "", "u", "", "", "");
  audit.Record("login", "", "u", "", "", "");
  audit.Record("login_failed", "", "u", "", "", "");
  auto counts = audit.PerMinute("login", 3);
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(*counts, (std::vector<int64_t>{1, 0, 2}));
  auto last = audit.PerMinute("login", 1);
  ASSERT_TRUE(last.ok());
  EXPECT_EQ(*last, (std::vector<int64_t>{2}));
}

}  // namespace
}  // namespace tongban::sso
