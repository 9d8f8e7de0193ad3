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

}  // namespace
}  // namespace tongban::sso
