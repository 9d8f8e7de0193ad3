// Platform accounts (holders of a role of the platform app "tongban") are out
// of reach of apps' directory writes, and their login names cannot be
// shadowed in another domain: the takeover of `admin` through synchronizeUser
// / deleteUser, and the 6406 lock-out by a second `ADMIN`.
#include <gtest/gtest.h>

#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;

class DirectoryProtectedTest : public DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    AddOrg("001", "演示省");
    AddOrg("001001", "演示市");
    AddOrg("001002", "演示区");
    AddOrg("002", "另一省");
    admin_ = AddUser("admin", "001001");
    ASSERT_TRUE(dir_->GrantRole(admin_.userid, kPlatformApp, kPlatformAdminRole).ok());
    AddApp("wide");                // directory_write, no scope limit
    AddApp("other", true, "002");  // directory_write in another domain only
  }

  // The admin still logs in with the original password.
  void ExpectAdminLogsIn() {
    auto login = dir_->VerifyLogin({"admin", "", "pw-admin", false});
    ASSERT_TRUE(login.ok()) << login.error().message;
    EXPECT_EQ((*login)->userid, admin_.userid);
  }

  User admin_;
};

TEST_F(DirectoryProtectedTest, AnAppCannotSetAPlatformAdminsPassword) {
  EXPECT_CODE(
      dir_->SaveUser(Caller::ForApp("wide"), {{"loginname", "admin"}, {"loginpwd", "taken-over"}}),
      code::kUserNoRight);
  EXPECT_CODE(
      dir_->SaveUser(Caller::ForApp("wide"),
                     {{"loginname", "ADMIN"}, {"orgcoding", "001001"}, {"loginpwd", "taken-over"}}),
      code::kUserNoRight);
  EXPECT_CODE(dir_->SaveUser(Caller::ForApp("wide"),
                             {{"userid", admin_.userid}, {"loginpwd", "taken-over"}}),
              code::kUserNoRight);
  EXPECT_CODE(dir_->VerifyLogin({"admin", "", "taken-over", false}), code::kLoginWrongPassword);
  ExpectAdminLogsIn();
}

TEST_F(DirectoryProtectedTest, AnAppCannotRenameDisableOrMoveAPlatformAdmin) {
  EXPECT_CODE(
      dir_->SaveUser(Caller::ForApp("wide"), {{"oldloginname", "admin"}, {"loginname", "former"}}),
      code::kUserNoRight);
  EXPECT_CODE(dir_->SaveUser(Caller::ForApp("wide"), {{"loginname", "admin"}, {"useable", "2"}}),
              code::kUserNoRight);
  EXPECT_CODE(
      dir_->SaveUser(Caller::ForApp("wide"), {{"loginname", "admin"}, {"orgcoding", "001002"}}),
      code::kUserNoRight);
  EXPECT_CODE(
      dir_->SaveUser(Caller::ForApp("wide"),
                     {{"loginname", "admin"}, {"orgcoding", "001001"}, {"mobile", "13800000009"}},
                     SaveMode::kModifyOnly),
      code::kUserNoRight);
  auto user = dir_->GetUserById(Caller::Admin(), admin_.userid);
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ((*user)->loginname, "admin");
  EXPECT_EQ((*user)->useable, 1);
  EXPECT_EQ((*user)->orgcoding, "001001");
  EXPECT_EQ((*user)->mobile, "");
}

TEST_F(DirectoryProtectedTest, AnAppCannotDeleteAPlatformAdmin) {
  EXPECT_CODE(dir_->DeleteUser(Caller::ForApp("wide"), {"", "admin", ""}),
              code::kUserDeleteNoRight);
  EXPECT_CODE(dir_->DeleteUser(Caller::ForApp("wide"), {admin_.userid, "", ""}),
              code::kUserDeleteNoRight);
  ExpectAdminLogsIn();
}

TEST_F(DirectoryProtectedTest, EveryHolderOfAPlatformRoleIsProtected) {
  ASSERT_TRUE(dir_->SaveRole({std::string(kPlatformApp), "auditor", "审计员", ""}).ok());
  User auditor = AddUser("auditor1", "001002");
  ASSERT_TRUE(dir_->GrantRole(auditor.userid, kPlatformApp, "auditor").ok());
  EXPECT_CODE(dir_->SaveUser(Caller::ForApp("wide"),
                             {{"loginname", "auditor1"}, {"loginpwd", "taken-over"}}),
              code::kUserNoRight);
  EXPECT_CODE(dir_->DeleteUser(Caller::ForApp("wide"), {auditor.userid, "", ""}),
              code::kUserDeleteNoRight);
  // Revoked, the user is an ordinary one again.
  ASSERT_TRUE(dir_->RevokeRole(auditor.userid, kPlatformApp, "auditor").ok());
  EXPECT_TRUE(
      dir_->SaveUser(Caller::ForApp("wide"), {{"loginname", "auditor1"}, {"loginpwd", "new-pass"}})
          .ok());
}

TEST_F(DirectoryProtectedTest, AnAppStillWritesOrdinaryUsersAndAnAdministratorThePlatformAdmin) {
  AddUser("zhangs", "001002");
  EXPECT_TRUE(
      dir_->SaveUser(Caller::ForApp("wide"), {{"loginname", "zhangs"}, {"loginpwd", "new-pass"}})
          .ok());
  EXPECT_TRUE(dir_->DeleteUser(Caller::ForApp("wide"), {"", "zhangs", ""}).ok());
  auto saved = dir_->SaveUser(Caller::Admin(), {{"loginname", "admin"}, {"loginpwd", "rotated"}});
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_TRUE(dir_->VerifyLogin({"admin", "", "rotated", false}).ok());
}

TEST_F(DirectoryProtectedTest, NoSecondAdminInAnotherDomainWhateverTheCase) {
  for (const char* name : {"admin", "ADMIN", "Admin"}) {
    SCOPED_TRACE(name);
    EXPECT_CODE(dir_->SaveUser(Caller::ForApp("other"), {{"loginname", name},
                                                         {"username", "假管理员"},
                                                         {"orgcoding", "002"},
                                                         {"loginpwd", "shadow-pass"}}),
                code::kUserLoginnameExists);
  }
  // Nor through the console or an import: the reservation holds for everyone.
  EXPECT_CODE(dir_->SaveUser(Caller::Admin(), {{"loginname", "ADMIN"},
                                               {"username", "假管理员"},
                                               {"orgcoding", "002"},
                                               {"loginpwd", "shadow-pass"}}),
              code::kUserLoginnameExists);
  ExpectAdminLogsIn();
}

TEST_F(DirectoryProtectedTest, NoUserIsRenamedOntoAPlatformAccountsLoginName) {
  AddUser("zhaol", "002");
  EXPECT_CODE(
      dir_->SaveUser(Caller::ForApp("other"), {{"oldloginname", "zhaol"}, {"loginname", "Admin"}}),
      code::kUserLoginnameExists);
  ExpectAdminLogsIn();
}

TEST_F(DirectoryProtectedTest, APlatformAccountIsNotRenamedOntoANameHeldInAnotherDomain) {
  AddUser("zhaol", "002");
  EXPECT_CODE(dir_->SaveUser(Caller::Admin(), {{"userid", admin_.userid}, {"loginname", "ZHAOL"}}),
              code::kUserLoginnameExists);
}

TEST_F(DirectoryProtectedTest, APlatformRoleNeedsALoginNameUniqueInEveryDomain) {
  User li = AddUser("li", "001002");
  AddUser("LI", "002");
  EXPECT_CODE(dir_->GrantRole(li.userid, kPlatformApp, kPlatformAdminRole),
              code::kGrantLoginShared);
  // Roles of other apps do not reserve the name.
  AddApp("crm");
  ASSERT_TRUE(dir_->SaveRole({"crm", "clerk", "窗口", ""}).ok());
  EXPECT_TRUE(dir_->GrantRole(li.userid, "crm", "clerk").ok());
}

TEST_F(DirectoryProtectedTest, ALoginWithoutOrgcodingFindsThePlatformAccountOverANamesake) {
  // A namesake written before the reservation existed (or straight into the
  // database) must not lock the administrator out with 6406.
  User shadow = AddUser("shadow", "002");
  Execute("UPDATE dir_users SET loginname = 'ADMIN', loginkey = 'admin' WHERE userid = '" +
          shadow.userid + "'");
  dir_->ClearCaches();
  ExpectAdminLogsIn();
  EXPECT_CODE(dir_->VerifyLogin({"admin", "", "pw-shadow", false}), code::kLoginWrongPassword);
  auto namesake = dir_->VerifyLogin({"admin", "002", "pw-shadow", false});
  ASSERT_TRUE(namesake.ok()) << namesake.error().message;
  EXPECT_EQ((*namesake)->userid, shadow.userid);
  // Two ordinary namesakes stay ambiguous.
  AddUser("twin", "001002");
  AddUser("twin", "002");
  EXPECT_CODE(dir_->VerifyLogin({"twin", "", "pw-twin", false}), code::kLoginAmbiguous);
}

TEST_F(DirectoryProtectedTest, AnAppPlacesUsersOnlyInItsScopeFurtherOrgsIncluded) {
  AddApp("city", true, "001002");
  AddUser("wangw", "001002");
  EXPECT_CODE(dir_->SaveUser(Caller::ForApp("city"),
                             {{"loginname", "wangw"}, {"extendorgcoding", "001001"}}),
              code::kUserNoRight);
  EXPECT_CODE(
      dir_->SaveUser(Caller::ForApp("city"), {{"loginname", "wangw"}, {"orgcoding", "001001"}}),
      code::kUserNoRight);
  EXPECT_CODE(dir_->SaveUser(Caller::ForApp("city"), {{"loginname", "zhouj"},
                                                      {"username", "周杰"},
                                                      {"orgcoding", "001001"},
                                                      {"loginpwd", "pw"}}),
              code::kUserNoRight);
  // A further org an administrator gave may stay when the app rewrites the list.
  ASSERT_TRUE(dir_->SaveUser(Caller::Admin(), {{"loginname", "wangw"},
                                               {"orgcoding", "001002"},
                                               {"extendorgcoding", "001001"}})
                  .ok());
  auto kept = dir_->SaveUser(
      Caller::ForApp("city"),
      {{"loginname", "wangw"}, {"orgcoding", "001002"}, {"extendorgcoding", "001001;001002"}});
  EXPECT_TRUE(kept.ok()) << kept.error().message;
}

TEST_F(DirectoryProtectedTest, AnAppCannotDeleteThePlatformAdminsOrgOrItsParent) {
  EXPECT_CODE(dir_->DeleteOrg(Caller::ForApp("wide"), "001001"), code::kOrgHasUsers);
  EXPECT_CODE(dir_->DeleteOrg(Caller::ForApp("wide"), "001"), code::kOrgHasChildren);
  EXPECT_CODE(dir_->DeleteOrg(Caller::ForApp("other"), "001001"), code::kOrgDeleteNoRight);
  ExpectAdminLogsIn();
}

class DirectorySeedScopeTest : public DirectoryFixture {};

TEST_F(DirectorySeedScopeTest, TheDemoAppIsScopedToTheDemoProvinceAndCannotTouchTheAdmin) {
  auto seed = dir_->SeedDemo();
  ASSERT_TRUE(seed.ok()) << seed.error().message;
  auto demo = dir_->GetApp("demo");
  ASSERT_TRUE(demo.ok()) << demo.error().message;
  EXPECT_EQ(demo->org_scope, "001");
  EXPECT_CODE(
      dir_->SaveUser(Caller::ForApp("demo"), {{"loginname", "admin"}, {"loginpwd", "taken-over"}}),
      code::kUserNoRight);
  EXPECT_CODE(dir_->DeleteUser(Caller::ForApp("demo"), {"", "admin", ""}),
              code::kUserDeleteNoRight);
  EXPECT_TRUE(dir_->VerifyLogin({"admin", "", seed->admin_password, false}).ok());
  // What the demo shows still works: users in 001001, a new org below 001.
  EXPECT_TRUE(
      dir_->SaveOrg(Caller::ForApp("demo"), {{"orgcoding", "001002"}, {"orgname", "演示区"}}).ok());
  EXPECT_TRUE(dir_->SaveUser(Caller::ForApp("demo"), {{"loginname", "zhangs"},
                                                      {"username", "张三"},
                                                      {"orgcoding", "001001"},
                                                      {"loginpwd", "Zs-2024-pass"}})
                  .ok());
  EXPECT_CODE(dir_->SaveOrg(Caller::ForApp("demo"), {{"orgcoding", "002"}, {"orgname", "另一省"}}),
              code::kOrgNoRight);
}

}  // namespace
}  // namespace tongban::directory

namespace tongban::directory {
namespace {

// Scope is checked before the account's state, so an app cannot probe which
// users outside its scope are locked.
TEST_F(DirectoryProtectedTest, AnAppLearnsNothingOfTheStateOfAUserOutsideItsScope) {
  User outsider = AddUser("outsider", "001002");
  ASSERT_TRUE(dir_->LockUser(outsider.userid).ok());
  EXPECT_CODE(dir_->SaveUser(Caller::ForApp("other"),
                             {{"userid", outsider.userid}, {"mobile", "13800000011"}}),
              code::kUserNoRight);
}

}  // namespace
}  // namespace tongban::directory
