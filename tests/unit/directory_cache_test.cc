// The snapshot caches: SnapshotCache itself (expiry, eviction, the fill
// ticket) and the Directory's user and app caches (served from memory,
// invalidated on every change made through the directory).
#include <gtest/gtest.h>

#include <chrono>

#include "directory/cache.h"
#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using namespace std::chrono_literals;
using test::DirectoryFixture;

std::shared_ptr<const std::string> Text(const char* s) {
  return std::make_shared<const std::string>(s);
}

TEST(DirectorySnapshotCacheTest, FindReturnsWhatWasInserted) {
  FakeClock clock;
  SnapshotCache<std::string> cache(clock, 100, 0ms);
  cache.Insert("k", Text("v"), cache.FillTicket("k"));
  auto hit = cache.Find("k");
  ASSERT_NE(hit, nullptr);
  EXPECT_EQ(*hit, "v");
  EXPECT_EQ(cache.Find("other"), nullptr);
}

TEST(DirectorySnapshotCacheTest, AnEntryExpiresAfterTheTtl) {
  FakeClock clock;
  SnapshotCache<std::string> cache(clock, 100, 60'000ms);
  cache.Insert("k", Text("v"), cache.FillTicket("k"));
  clock.Advance(59'999ms);
  EXPECT_NE(cache.Find("k"), nullptr);
  clock.Advance(1ms);
  EXPECT_EQ(cache.Find("k"), nullptr);
}

TEST(DirectorySnapshotCacheTest, AFillThatRacedAnInvalidationIsDropped) {
  FakeClock clock;
  SnapshotCache<std::string> cache(clock, 100, 0ms);
  uint64_t ticket = cache.FillTicket("k");   // a reader starts loading the old row
  cache.Invalidate("k");                     // a writer commits a change
  cache.Insert("k", Text("stale"), ticket);  // the reader's late insert
  EXPECT_EQ(cache.Find("k"), nullptr);
}

TEST(DirectorySnapshotCacheTest, TheLeastRecentlyUsedEntryIsEvictedWhenAShardIsFull) {
  FakeClock clock;
  SnapshotCache<std::string> cache(clock, 2, 0ms, 1);  // one shard of 3 entries
  for (const char* k : {"a", "b", "c"}) cache.Insert(k, Text(k), cache.FillTicket(k));
  ASSERT_NE(cache.Find("a"), nullptr);  // "b" is now the least recently used
  cache.Insert("d", Text("d"), cache.FillTicket("d"));
  EXPECT_EQ(cache.Find("b"), nullptr);
  EXPECT_NE(cache.Find("a"), nullptr);
  EXPECT_NE(cache.Find("c"), nullptr);
  EXPECT_NE(cache.Find("d"), nullptr);
}

class DirectoryCacheTest : public DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    AddOrg("001", "浙江省");
    user_ = AddUser("zhangs", "001");
  }

  // Changes the row behind the directory's back.
  void ChangeTitleInTheDatabase(const std::string& title) {
    Execute("UPDATE dir_users SET usertitle = '" + title + "' WHERE userid = '" + user_.userid +
            "'");
  }

  User user_;
};

TEST_F(DirectoryCacheTest, ALoadedUserIsServedFromMemory) {
  ASSERT_TRUE(dir_->CachedUser(user_.userid).ok());
  ChangeTitleInTheDatabase("changed-behind-our-back");
  auto user = dir_->CachedUser(user_.userid);
  ASSERT_TRUE(user.ok());
  EXPECT_EQ((*user)->usertitle, "");
}

TEST_F(DirectoryCacheTest, SaveUserInvalidatesTheUsersSnapshot) {
  ASSERT_TRUE(dir_->CachedUser(user_.userid).ok());
  ASSERT_TRUE(
      dir_->SaveUser(Caller::Admin(), {{"userid", user_.userid}, {"usertitle", "科长"}}).ok());
  EXPECT_EQ((*dir_->CachedUser(user_.userid))->usertitle, "科长");
}

TEST_F(DirectoryCacheTest, LockUserInvalidatesTheUsersSnapshot) {
  ASSERT_FALSE((*dir_->CachedUser(user_.userid))->locked);
  ASSERT_TRUE(dir_->LockUser(user_.userid).ok());
  EXPECT_TRUE((*dir_->CachedUser(user_.userid))->locked);
}

TEST_F(DirectoryCacheTest, DeleteUserInvalidatesTheUsersSnapshot) {
  ASSERT_TRUE(dir_->CachedUser(user_.userid).ok());
  ASSERT_TRUE(dir_->DeleteUser(Caller::Admin(), {user_.userid, "", ""}).ok());
  EXPECT_CODE(dir_->CachedUser(user_.userid), code::kUserReadNotFound);
}

TEST_F(DirectoryCacheTest, ASnapshotIsReloadedAfterTheTtl) {
  ASSERT_TRUE(dir_->CachedUser(user_.userid).ok());
  ChangeTitleInTheDatabase("from-another-node");
  clock_.Advance(std::chrono::seconds(61));
  EXPECT_EQ((*dir_->CachedUser(user_.userid))->usertitle, "from-another-node");
}

TEST_F(DirectoryCacheTest, AnUnchangedUserKeepsTheSameSnapshot) {
  auto first = dir_->CachedUser(user_.userid);
  auto second = dir_->CachedUser(user_.userid);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->get(), second->get());
}

// RenderMemo: text kept with a snapshot. A record copied to be edited must
// never carry the old text, or an edited user would answer its old reply.
TEST(DirectoryRenderMemoTest, ACopyOrMoveOfAUserStartsWithoutTheText) {
  User user;
  user.mobile = "1";
  EXPECT_FALSE(user.replies.AskedBefore());
  EXPECT_TRUE(user.replies.AskedBefore());
  ASSERT_NE(user.replies.Put(0, "reply"), nullptr);
  User copy = user;
  EXPECT_EQ(copy.replies.Get(0), nullptr);
  EXPECT_FALSE(copy.replies.AskedBefore());
  ASSERT_NE(user.replies.Get(0), nullptr);
  EXPECT_EQ(*user.replies.Get(0), "reply");
  User assigned;
  assigned.replies.Put(1, "old");
  assigned = user;
  EXPECT_EQ(assigned.replies.Get(1), nullptr);
  EXPECT_EQ(assigned.replies.Get(0), nullptr);
  User moved = std::move(user);
  EXPECT_EQ(moved.replies.Get(0), nullptr);
  EXPECT_EQ(user.replies.Get(0), nullptr);  // NOLINT(bugprone-use-after-move): reset on purpose
}

TEST(DirectoryRenderMemoTest, TheFirstTextStoredInASlotStays) {
  RenderMemo memo;
  const std::string* first = memo.Put(0, "first");
  EXPECT_EQ(memo.Put(0, "second"), first);
  EXPECT_EQ(*memo.Get(0), "first");
  EXPECT_EQ(memo.Get(1), nullptr);
}

TEST_F(DirectoryCacheTest, AChangedUserIsANewSnapshotWithoutTheOldText) {
  auto before = dir_->CachedUser(user_.userid);
  ASSERT_TRUE(before.ok());
  (*before)->replies.Put(0, "the reply before the change");
  ASSERT_TRUE(
      dir_->SaveUser(Caller::Admin(), {{"userid", user_.userid}, {"usertitle", "处长"}}).ok());
  auto after = dir_->CachedUser(user_.userid);
  ASSERT_TRUE(after.ok());
  EXPECT_NE(after->get(), before->get());
  EXPECT_EQ((*after)->usertitle, "处长");
  EXPECT_EQ((*after)->replies.Get(0), nullptr);
}

TEST_F(DirectoryCacheTest, CachedUserRefusesMalformedAndUnknownIds) {
  EXPECT_CODE(dir_->CachedUser("nothex"), code::kUserReadBadId);
  EXPECT_CODE(dir_->CachedUser(std::string(32, '9')), code::kUserReadNotFound);
}

TEST_F(DirectoryCacheTest, ALoadedAppIsServedFromMemoryUntilChanged) {
  AddApp("crm");
  ASSERT_TRUE(dir_->CachedApp("crm").ok());
  Execute("UPDATE dir_apps SET name = 'behind' WHERE servicecode = 'crm'");
  EXPECT_EQ((*dir_->CachedApp("crm"))->name, "应用 crm");
  ASSERT_TRUE(dir_->SetAppEnabled("crm", true).ok());
  EXPECT_EQ((*dir_->CachedApp("crm"))->name, "behind");
}

}  // namespace
}  // namespace tongban::directory
