// Roles and positions per app (41xx, 42xx), grants (43xx), the systems a user
// may open, platform administrators, and account bindings (29xx).
#include <gtest/gtest.h>

#include "codec/parse.h"
#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;

class DirectoryRolesTest : public DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    AddOrg("001", "浙江省");
    user_ = AddUser("zhangs", "001");
  }
  User user_;
};

TEST_F(DirectoryRolesTest, SaveRoleAddsAndRenamesARole) {
  AddApp("crm");
  ASSERT_TRUE(dir_->SaveRole({"crm", "auditor", "审计员", ""}).ok());
  ASSERT_TRUE(dir_->SaveRole({"crm", "auditor", "审计", "改名"}).ok());
  auto roles = dir_->Roles("crm");
  ASSERT_TRUE(roles.ok()) << roles.error().message;
  ASSERT_EQ(roles->size(), 1u);
  EXPECT_EQ((*roles)[0].rolename, "审计");
  EXPECT_EQ((*roles)[0].memo, "改名");
}

TEST_F(DirectoryRolesTest, RoleCodes) {
  AddApp("crm");
  EXPECT_CODE(dir_->SaveRole({"nosuch", "r", "n", ""}), code::kRoleNoApp);
  EXPECT_CODE(dir_->SaveRole({"crm", "bad code", "n", ""}), code::kRoleBadCode);
  EXPECT_CODE(dir_->SaveRole({"crm", "r", "", ""}), code::kRoleBadName);
  EXPECT_CODE(dir_->DeleteRole("crm", "nosuch"), code::kRoleNotFound);
  EXPECT_CODE(dir_->Roles("nosuch"), code::kRoleNoApp);
}

TEST_F(DirectoryRolesTest, RoleChangesArePushedOnlyToTheOwningApp) {
  AddPushApp("crm");
  AddPushApp("oa");
  ASSERT_TRUE(dir_->SaveRole({"crm", "auditor", "审计员", ""}).ok());
  ASSERT_TRUE(dir_->DeleteRole("crm", "auditor").ok());
  auto crm = PendingFor("crm");
  ASSERT_EQ(crm.size(), 2u);
  EXPECT_EQ(crm[0].method, "synchronizeRole");
  EXPECT_NE(crm[0].payload.find("\"rolename\":\"审计员\""), std::string::npos);
  EXPECT_EQ(crm[1].method, "deleteRole");
  EXPECT_TRUE(PendingFor("oa").empty());
}

TEST_F(DirectoryRolesTest, PositionsAreSavedListedDeletedAndPushed) {
  AddPushApp("crm");
  ASSERT_TRUE(dir_->SavePosition({"crm", "kz", "科长", ""}).ok());
  auto positions = dir_->Positions("crm");
  ASSERT_TRUE(positions.ok());
  ASSERT_EQ(positions->size(), 1u);
  EXPECT_EQ((*positions)[0].positionname, "科长");
  ASSERT_TRUE(dir_->DeletePosition("crm", "kz").ok());
  auto msgs = PendingFor("crm");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].method, "synchronizePosition");
  EXPECT_EQ(msgs[1].method, "deletePosition");
}

TEST_F(DirectoryRolesTest, PositionCodes) {
  AddApp("crm");
  EXPECT_CODE(dir_->SavePosition({"nosuch", "p", "n", ""}), code::kPositionNoApp);
  EXPECT_CODE(dir_->SavePosition({"crm", "", "n", ""}), code::kPositionBadCode);
  EXPECT_CODE(dir_->SavePosition({"crm", "p", "", ""}), code::kPositionBadName);
  EXPECT_CODE(dir_->DeletePosition("crm", "p"), code::kPositionNotFound);
}

TEST_F(DirectoryRolesTest, GrantAndRevokeChangeTheUsersRolesAndPushTheFullSet) {
  AddPushApp("crm");
  ASSERT_TRUE(dir_->SaveRole({"crm", "a", "A", ""}).ok());
  ASSERT_TRUE(dir_->SaveRole({"crm", "b", "B", ""}).ok());
  ASSERT_TRUE(dir_->GrantRole(user_.userid, "crm", "a").ok());
  ASSERT_TRUE(dir_->GrantRole(user_.userid, "crm", "b").ok());
  auto roles = dir_->UserRoles(user_.userid, "crm");
  ASSERT_TRUE(roles.ok());
  EXPECT_EQ(roles->size(), 2u);
  ASSERT_TRUE(dir_->RevokeRole(user_.userid, "crm", "a").ok());
  roles = dir_->UserRoles(user_.userid, "crm");
  ASSERT_EQ(roles->size(), 1u);
  EXPECT_EQ((*roles)[0].rolecode, "b");
  auto msgs = PendingFor("crm");
  ASSERT_FALSE(msgs.empty());
  EXPECT_EQ(msgs.back().method, "synchronizeUserRole");
  auto args = codec::ParseJson(msgs.back().payload);
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(*args->FindString("rolecode"), "b");
  EXPECT_EQ(*args->FindString("loginname"), "zhangs");
}

TEST_F(DirectoryRolesTest, GrantingTwiceChangesNothing) {
  AddPushApp("crm");
  ASSERT_TRUE(dir_->SaveRole({"crm", "a", "A", ""}).ok());
  ASSERT_TRUE(dir_->GrantRole(user_.userid, "crm", "a").ok());
  size_t before = Pending().size();
  ASSERT_TRUE(dir_->GrantRole(user_.userid, "crm", "a").ok());
  EXPECT_EQ(Pending().size(), before);
}

TEST_F(DirectoryRolesTest, GrantCodes) {
  AddApp("crm");
  ASSERT_TRUE(dir_->SaveRole({"crm", "a", "A", ""}).ok());
  EXPECT_CODE(dir_->GrantRole(user_.userid, "nosuch", "a"), code::kGrantNoApp);
  EXPECT_CODE(dir_->GrantRole(user_.userid, "crm", "zz"), code::kGrantNoRole);
  EXPECT_CODE(dir_->GrantRole(std::string(32, 'f'), "crm", "a"), code::kGrantNoUser);
  EXPECT_CODE(dir_->RevokeRole(user_.userid, "crm", "a"), code::kGrantNotFound);
}

TEST_F(DirectoryRolesTest, DeletingARoleRemovesItsGrants) {
  AddApp("crm");
  ASSERT_TRUE(dir_->SaveRole({"crm", "a", "A", ""}).ok());
  ASSERT_TRUE(dir_->GrantRole(user_.userid, "crm", "a").ok());
  ASSERT_TRUE(dir_->DeleteRole("crm", "a").ok());
  auto roles = dir_->UserRoles(user_.userid, "");
  ASSERT_TRUE(roles.ok());
  EXPECT_TRUE(roles->empty());
}

TEST_F(DirectoryRolesTest, UserSystemsListsEnabledAppsThatAreOpenOrGranted) {
  App open;
  open.servicecode = "portal";
  open.name = "门户";
  open.open_to_all = true;
  ASSERT_TRUE(dir_->CreateApp(open).ok());
  AddApp("crm");
  AddApp("oa");
  AddApp("off");
  ASSERT_TRUE(dir_->SaveRole({"crm", "a", "A", ""}).ok());
  ASSERT_TRUE(dir_->SaveRole({"off", "a", "A", ""}).ok());
  ASSERT_TRUE(dir_->GrantRole(user_.userid, "crm", "a").ok());
  ASSERT_TRUE(dir_->GrantRole(user_.userid, "off", "a").ok());
  ASSERT_TRUE(dir_->DisableApp("off").ok());
  auto systems = dir_->UserSystems(user_.userid);
  ASSERT_TRUE(systems.ok()) << systems.error().message;
  ASSERT_EQ(systems->size(), 2u);
  EXPECT_EQ((*systems)[0].servicecode, "crm");
  EXPECT_EQ((*systems)[1].servicecode, "portal");
}

TEST_F(DirectoryRolesTest, ThePlatformAdminRoleMakesAPlatformAdministrator) {
  EXPECT_FALSE(*dir_->IsPlatformAdmin(user_.userid));
  ASSERT_TRUE(dir_->GrantRole(user_.userid, kPlatformApp, kPlatformAdminRole).ok());
  EXPECT_TRUE(*dir_->IsPlatformAdmin(user_.userid));
}

TEST_F(DirectoryRolesTest, DeletingAUserRemovesItsGrantsAndBindings) {
  AddApp("crm");
  ASSERT_TRUE(dir_->SaveRole({"crm", "a", "A", ""}).ok());
  ASSERT_TRUE(dir_->GrantRole(user_.userid, "crm", "a").ok());
  ASSERT_TRUE(dir_->Bind({user_.userid, "crm", "zs001"}).ok());
  ASSERT_TRUE(dir_->DeleteUser(Caller::Admin(), {user_.userid, "", ""}).ok());
  EXPECT_CODE(dir_->SsoUserByMap("crm", "zs001"), code::kBindingNotFound);
  EXPECT_EQ(QueryText("SELECT CAST(COUNT(*) AS TEXT) FROM dir_user_roles"), "0");
}

TEST_F(DirectoryRolesTest, BindingsMapBothWays) {
  AddApp("crm");
  ASSERT_TRUE(dir_->Bind({user_.userid, "crm", "张三@crm"}).ok());
  EXPECT_EQ(*dir_->SsoUserByMap("crm", "张三@crm"), user_.userid);
  EXPECT_EQ(*dir_->MapUserBySso("crm", user_.userid), "张三@crm");
}

TEST_F(DirectoryRolesTest, ANewBindingReplacesTheUsersEarlierAccount) {
  AddApp("crm");
  ASSERT_TRUE(dir_->Bind({user_.userid, "crm", "old"}).ok());
  ASSERT_TRUE(dir_->Bind({user_.userid, "crm", "new"}).ok());
  EXPECT_EQ(*dir_->MapUserBySso("crm", user_.userid), "new");
  EXPECT_CODE(dir_->SsoUserByMap("crm", "old"), code::kBindingNotFound);
}

TEST_F(DirectoryRolesTest, BindingCodes) {
  AddApp("crm");
  User other = AddUser("lis", "001");
  ASSERT_TRUE(dir_->Bind({user_.userid, "crm", "acct"}).ok());
  EXPECT_CODE(dir_->Bind({user_.userid, "nosuch", "x"}), code::kBindingNoApp);
  EXPECT_CODE(dir_->Bind({user_.userid, "crm", ""}), code::kBindingBadAccount);
  EXPECT_CODE(dir_->Bind({std::string(32, '0'), "crm", "y"}), code::kBindingNoUser);
  EXPECT_CODE(dir_->Bind({other.userid, "crm", "acct"}), code::kBindingAccountTaken);
  EXPECT_CODE(dir_->SsoUserByMap("crm", "nobody"), code::kBindingNotFound);
  EXPECT_CODE(dir_->MapUserBySso("crm", "xyz"), code::kBindingBadAccount);
  EXPECT_CODE(dir_->MapUserBySso("nosuch", user_.userid), code::kBindingNoApp);
  EXPECT_CODE(dir_->Unbind("crm", other.userid), code::kBindingNotFound);
}

TEST_F(DirectoryRolesTest, UnbindRemovesTheBinding) {
  AddApp("crm");
  ASSERT_TRUE(dir_->Bind({user_.userid, "crm", "acct"}).ok());
  ASSERT_TRUE(dir_->Unbind("crm", user_.userid).ok());
  EXPECT_CODE(dir_->MapUserBySso("crm", user_.userid), code::kBindingNotFound);
}

}  // namespace
}  // namespace tongban::directory
