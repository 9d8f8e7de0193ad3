// The directory on the database servers: PostgreSQL (a private server; skipped
// with the reason when none can be started) and MariaDB (a private server,
// which CI installs: missing, the tests fail). The schema applies, and the
// behaviours whose SQL differs most between the backends hold there too.
#include <gtest/gtest.h>

#include <sstream>

#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;

class DirectoryServerTest : public DirectoryFixture,
                            public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "mariadb") {
      std::string why;
      ASSERT_NE(store_test::SharedMariadb(&why), nullptr) << why;
    }
    OpenOn(GetParam());
    if (IsSkipped() || HasFatalFailure()) return;
    AddOrg("001", "浙江省");
    AddOrg("001001", "杭州市");
    AddOrg("002", "江苏省");
  }
};

INSTANTIATE_TEST_SUITE_P(Servers, DirectoryServerTest, ::testing::Values("postgres", "mariadb"),
                         [](const auto& info) { return info.param; });

TEST_P(DirectoryServerTest, UsersRoundTripAndLogIn) {
  User u = AddUser("zhangs", "001001", {{"username", "张三"}, {"memo", "备注\n第二行"}});
  dir_->ClearCaches();
  auto user = dir_->GetUserById(Caller::Admin(), u.userid);
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ((*user)->username, "张三");
  EXPECT_EQ((*user)->memo, "备注\n第二行");
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", "pw-zhangs", false}).ok());
}

TEST_P(DirectoryServerTest, RareCharactersOutsideTheBmpRoundTripAndAreSearchable) {
  // 𠮷 (U+20BB7) and 𡈼 (U+2123C) need 4 bytes: MySQL's old "utf8" would reject them.
  User u = AddUser("jiye", "001001", {{"username", "𠮷野𡈼"}, {"memo", "生僻字 𠮷"}});
  dir_->ClearCaches();
  auto user = dir_->GetUserById(Caller::Admin(), u.userid);
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ((*user)->username, "𠮷野𡈼");
  EXPECT_EQ((*user)->memo, "生僻字 𠮷");
  auto found = dir_->SearchUsers({"𠮷", ""}, Page{});
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ(found->total, 1);
  AddOrg("001002", "𠮷州");
  auto orgs = dir_->SearchOrgs("𠮷", Page{});
  ASSERT_TRUE(orgs.ok()) << orgs.error().message;
  EXPECT_EQ(orgs->total, 1);
}

TEST_P(DirectoryServerTest, AMobileIsUniqueWhenGivenAndManyUsersMayHaveNone) {
  AddUser("zhangs", "001001", {{"mobile", "13800000001"}});
  AddUser("lis", "001001");
  AddUser("wangw", "001001");
  EXPECT_CODE(dir_->SaveUser(Caller::Admin(),
                             {{"loginname", "zhaol"},
                              {"username", "赵六"},
                              {"orgcoding", "001"},
                              {"mobile", "13800000001"},
                              {"loginpwd", "x"}},
                             SaveMode::kAddOnly),
              code::kUserMobileExists);
}

TEST_P(DirectoryServerTest, DeletingAUserRemovesItsGrantsAndBindings) {
  AddApp("crm");
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->SaveRole({"crm", "a", "角色", ""}).ok());
  ASSERT_TRUE(dir_->GrantRole(u.userid, "crm", "a").ok());
  ASSERT_TRUE(dir_->Bind({u.userid, "crm", "zs"}).ok());
  ASSERT_TRUE(dir_->DeleteUser(Caller::Admin(), {u.userid, "", ""}).ok());
  auto left = store_->WithSession([](soci::session& sql) -> Result<int64_t> {
    long long roles = 0, bindings = 0;
    sql << "SELECT COUNT(*) FROM dir_user_roles", soci::into(roles);
    sql << "SELECT COUNT(*) FROM dir_bindings", soci::into(bindings);
    return static_cast<int64_t>(roles + bindings);
  });
  ASSERT_TRUE(left.ok()) << left.error().message;
  EXPECT_EQ(*left, 0);
}

TEST_P(DirectoryServerTest, LoginNameUniquenessFollowsDomains) {
  AddUser("zhangs", "001001");
  EXPECT_CODE(
      dir_->SaveUser(
          Caller::Admin(),
          {{"loginname", "zhangs"}, {"username", "张三"}, {"orgcoding", "001"}, {"loginpwd", "x"}},
          SaveMode::kAddOnly),
      code::kUserLoginnameExists);
  EXPECT_TRUE(dir_->SaveUser(Caller::Admin(), {{"loginname", "zhangs"},
                                               {"username", "张三"},
                                               {"orgcoding", "002"},
                                               {"loginpwd", "x"}})
                  .ok());
}

TEST_P(DirectoryServerTest, PrefixSearchWorksOnChineseNamesAndCodes) {
  AddUser("zhangs", "001001", {{"username", "张三"}, {"mobile", "13800000001"}});
  AddUser("zhangw", "001001", {{"username", "张伟"}});
  AddUser("lis", "002", {{"username", "李四"}});
  auto by_name = dir_->SearchUsers({"张", ""}, Page{});
  ASSERT_TRUE(by_name.ok()) << by_name.error().message;
  EXPECT_EQ(by_name->total, 2);
  auto by_mobile = dir_->SearchUsers({"1380", "001"}, Page{});
  ASSERT_TRUE(by_mobile.ok());
  EXPECT_EQ(by_mobile->total, 1);
  auto orgs = dir_->SearchOrgs("杭", Page{});
  ASSERT_TRUE(orgs.ok()) << orgs.error().message;
  EXPECT_EQ(orgs->total, 1);
  auto tree = dir_->UsersByOrg(Caller::Admin(), "001", Page{}, true);
  ASSERT_TRUE(tree.ok()) << tree.error().message;
  EXPECT_EQ(tree->total, 2);
}

TEST_P(DirectoryServerTest, AppsKeepTheirSealedSecretsAndSettings) {
  App settings;
  settings.servicecode = "crm";
  settings.name = "客户系统";
  settings.allowed_ips = {"10.0.0.0/8"};
  settings.push_url = "http://127.0.0.1:9/push";
  settings.push_enabled = true;
  auto created = dir_->CreateApp(settings);
  ASSERT_TRUE(created.ok()) << created.error().message;
  dir_->ClearCaches();
  auto app = dir_->CachedApp("crm");
  ASSERT_TRUE(app.ok()) << app.error().message;
  EXPECT_EQ((*app)->servicepwd, created->servicepwd);
  EXPECT_EQ((*app)->allowed_ips, settings.allowed_ips);
}

TEST_P(DirectoryServerTest, ChangesAndTheirPushesCommitTogether) {
  AddPushApp("all");
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->DeleteUser(Caller::Admin(), {u.userid, "", ""}).ok());
  auto msgs = PendingFor("all");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].method, "synchronizeUser");
  EXPECT_EQ(msgs[1].method, "deleteUser");
}

TEST_P(DirectoryServerTest, RolesGrantsAndBindingsWork) {
  AddApp("crm");
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->SaveRole({"crm", "a", "角色", ""}).ok());
  ASSERT_TRUE(dir_->GrantRole(u.userid, "crm", "a").ok());
  ASSERT_TRUE(dir_->Bind({u.userid, "crm", "zs"}).ok());
  EXPECT_EQ(dir_->UserRoles(u.userid, "crm")->size(), 1u);
  EXPECT_EQ(*dir_->SsoUserByMap("crm", "zs"), u.userid);
  auto systems = dir_->UserSystems(u.userid);
  ASSERT_TRUE(systems.ok()) << systems.error().message;
  EXPECT_EQ(systems->size(), 1u);
}

TEST_P(DirectoryServerTest, ImportAndExportWork) {
  std::istringstream in(
      "loginname,username,orgcoding,password_hash\n"
      "u1,甲,001001,plain$a\n"
      "u2,乙,001001,plain$b\n"
      "u1,丙,001001,plain$c\n");
  auto report = dir_->ImportUsers(in);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->added, 2);
  EXPECT_EQ(report->failed, 1);
  std::ostringstream out;
  ASSERT_TRUE(dir_->ExportUsers(out).ok());
  EXPECT_NE(out.str().find(",乙,"), std::string::npos);
}

TEST_P(DirectoryServerTest, SeedDemoWorks) {
  DirectoryFixture::OpenOn(GetParam());
  auto seed = dir_->SeedDemo();
  ASSERT_TRUE(seed.ok()) << seed.error().message;
  EXPECT_TRUE(seed->created);
  EXPECT_TRUE(dir_->VerifyLogin({"admin", "", seed->admin_password, false}).ok());
}

}  // namespace
}  // namespace tongban::directory
