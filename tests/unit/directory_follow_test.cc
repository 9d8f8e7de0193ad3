// Directory::FollowChanges: two directories on one database stand for two
// nodes; a change made through one reaches the other's snapshot cache at its
// next poll instead of when the snapshot expires.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;
using test::FastOptions;

class DirectoryFollowTest : public DirectoryFixture {
 protected:
  // The second node: its own Directory (and caches) on the same database.
  std::unique_ptr<Directory> OtherNode() {
    auto other = Directory::Open(*store_, *outbox_, clock_, random_, *box_, FastOptions());
    EXPECT_TRUE(other.ok());
    return std::move(*other);
  }
};

TEST_F(DirectoryFollowTest, ALockOnOneNodeReachesTheOthersCacheAtItsNextPoll) {
  AddOrg("001", "省");
  User u = AddUser("zhangs", "001");
  auto other = OtherNode();
  ASSERT_TRUE(other->FollowChanges().ok());  // reads the log up to now
  auto cached = other->CachedUser(u.userid);
  ASSERT_TRUE(cached.ok());
  EXPECT_FALSE((*cached)->locked);
  ASSERT_TRUE(dir_->LockUser(u.userid).ok());
  // Without following, the other node still serves its snapshot.
  EXPECT_FALSE((*other->CachedUser(u.userid))->locked);
  auto dropped = other->FollowChanges();
  ASSERT_TRUE(dropped.ok());
  EXPECT_GE(*dropped, 1);
  EXPECT_TRUE((*other->CachedUser(u.userid))->locked);
}

TEST_F(DirectoryFollowTest, TheListenerHearsEveryUserChangedAndSeesTheNewState) {
  AddOrg("001", "省");
  User u = AddUser("zhangs", "001");
  auto other = OtherNode();
  ASSERT_TRUE(other->FollowChanges().ok());
  ASSERT_TRUE(other->CachedUser(u.userid).ok());
  ASSERT_TRUE(dir_->LockUser(u.userid).ok());
  std::vector<std::string> heard;
  bool locked_when_heard = false;
  ASSERT_TRUE(other
                  ->FollowChanges([&](const std::string& userid) {
                    heard.push_back(userid);
                    // Called after the snapshot was dropped: the listener reads the new state.
                    auto user = other->CachedUser(userid);
                    locked_when_heard = user.ok() && (*user)->locked;
                  })
                  .ok());
  ASSERT_FALSE(heard.empty());
  EXPECT_EQ(heard.back(), u.userid);
  EXPECT_TRUE(locked_when_heard);
}

TEST_F(DirectoryFollowTest, ADeletedUserIsGoneOnTheOtherNodeAfterItsPoll) {
  AddOrg("001", "省");
  User u = AddUser("zhangs", "001");
  auto other = OtherNode();
  ASSERT_TRUE(other->CachedUser(u.userid).ok());
  ASSERT_TRUE(dir_->DeleteUser(Caller::Admin(), UserKey{u.userid, "", ""}).ok());
  ASSERT_TRUE(other->FollowChanges().ok());
  EXPECT_FALSE(other->CachedUser(u.userid).ok());
}

TEST_F(DirectoryFollowTest, ARotatedAppSecretReachesTheOtherNode) {
  App settings;
  settings.servicecode = "app1";
  settings.name = "应用";
  ASSERT_TRUE(dir_->CreateApp(settings).ok());
  auto other = OtherNode();
  auto before = other->CachedApp("app1");
  ASSERT_TRUE(before.ok());
  auto secret = dir_->RotateSecret("app1");
  ASSERT_TRUE(secret.ok());
  EXPECT_NE((*other->CachedApp("app1"))->servicepwd, *secret);
  ASSERT_TRUE(other->FollowChanges().ok());
  EXPECT_EQ((*other->CachedApp("app1"))->servicepwd, *secret);
}

TEST_F(DirectoryFollowTest, AnOrgIsCachedAndItsChangesAndDeletionFollowed) {
  AddOrg("001", "省");
  AddOrg("001001", "市");
  auto other = OtherNode();
  ASSERT_TRUE(other->FollowChanges().ok());
  auto before = other->GetOrg(Caller::Admin(), "001001");
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->orgname, "市");
  ASSERT_TRUE(
      dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001001"}, {"orgname", "地级市"}},
                    SaveMode::kModifyOnly)
          .ok());
  EXPECT_EQ(dir_->GetOrg(Caller::Admin(), "001001")->orgname, "地级市");  // this node: at once
  EXPECT_EQ(other->GetOrg(Caller::Admin(), "001001")->orgname, "市");     // a snapshot
  ASSERT_TRUE(other->FollowChanges().ok());
  EXPECT_EQ(other->GetOrg(Caller::Admin(), "001001")->orgname, "地级市");
  ASSERT_TRUE(dir_->DeleteOrg(Caller::Admin(), "001001").ok());
  EXPECT_EQ(dir_->GetOrg(Caller::Admin(), "001001").error().code, code::kOrgReadNotFound);
  ASSERT_TRUE(other->FollowChanges().ok());
  EXPECT_EQ(other->GetOrg(Caller::Admin(), "001001").error().code, code::kOrgReadNotFound);
}

TEST_F(DirectoryFollowTest, RoleGrantsAreCachedPerNodeAndFollowedAcrossNodes) {
  AddOrg("001", "省");
  User u = AddUser("zhangs", "001");
  App settings;
  settings.servicecode = "app1";
  settings.name = "应用";
  ASSERT_TRUE(dir_->CreateApp(settings).ok());
  ASSERT_TRUE(dir_->SaveRole({"app1", "clerk", "窗口", ""}).ok());
  auto other = OtherNode();
  ASSERT_TRUE(other->FollowChanges().ok());
  auto before = other->UserRoles(u.userid, "app1");
  ASSERT_TRUE(before.ok());
  EXPECT_TRUE(before->empty());
  // Through this node: its own cache follows at once.
  ASSERT_TRUE(dir_->UserRoles(u.userid, "app1").ok());
  ASSERT_TRUE(dir_->GrantRole(u.userid, "app1", "clerk").ok());
  EXPECT_EQ(dir_->UserRoles(u.userid, "app1")->size(), 1u);
  // The other node serves its cached answer until it follows the log.
  EXPECT_TRUE(other->UserRoles(u.userid, "app1")->empty());
  ASSERT_TRUE(other->FollowChanges().ok());
  EXPECT_EQ(other->UserRoles(u.userid, "app1")->size(), 1u);
  // A renamed role reaches every holder's cached list.
  ASSERT_TRUE(dir_->SaveRole({"app1", "clerk", "窗口人员", ""}).ok());
  EXPECT_EQ((*dir_->UserRoles(u.userid, "app1"))[0].rolename, "窗口人员");
  ASSERT_TRUE(other->FollowChanges().ok());
  EXPECT_EQ((*other->UserRoles(u.userid, "app1"))[0].rolename, "窗口人员");
  ASSERT_TRUE(dir_->RevokeRole(u.userid, "app1", "clerk").ok());
  EXPECT_TRUE(dir_->UserRoles(u.userid, "app1")->empty());
}

TEST_F(DirectoryFollowTest, OldLogEntriesAreForgottenAfterTenMinutes) {
  AddOrg("001", "省");
  User u = AddUser("zhangs", "001");
  ASSERT_TRUE(dir_->LockUser(u.userid).ok());
  clock_.Advance(std::chrono::minutes(11));
  ASSERT_TRUE(dir_->FollowChanges().ok());  // the first call of a node prunes
  int64_t rows = -1;
  Status counted = store_->WithSession([&](soci::session& sql) -> Status {
    long long n = 0;
    sql << "SELECT COUNT(*) FROM dir_changes", soci::into(n);
    rows = n;
    return Status::Ok();
  });
  ASSERT_TRUE(counted.ok());
  EXPECT_EQ(rows, 0);
}

}  // namespace
}  // namespace tongban::directory
