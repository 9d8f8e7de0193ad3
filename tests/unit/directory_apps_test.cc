// Apps (access resources): creation, sealed secrets, rotation, settings
// validation, the app cache, and the source-IP and callback-URL rules.
#include <gtest/gtest.h>

#include "crypto/encoding.h"
#include "crypto/secret_box.h"
#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;

class DirectoryAppsTest : public DirectoryFixture {
 protected:
  App Settings(const std::string& servicecode) {
    App app;
    app.servicecode = servicecode;
    app.name = "测试应用";
    return app;
  }
};

TEST_F(DirectoryAppsTest, CreateAppReturnsAServicepwdOnceAndStoresItSealed) {
  auto created = dir_->CreateApp(Settings("crm"));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_EQ(created->servicepwd.size(), 32u);
  EXPECT_TRUE(created->app.servicepwd.empty());
  std::string column =
      QueryText("SELECT servicepwd_sealed FROM dir_apps WHERE servicecode = 'crm'");
  EXPECT_TRUE(crypto::SecretBox::IsSealed(column));
  EXPECT_EQ(column.find(created->servicepwd), std::string::npos);
}

TEST_F(DirectoryAppsTest, AppSecretOpensTheSealedServicepwd) {
  auto created = dir_->CreateApp(Settings("crm"));
  ASSERT_TRUE(created.ok());
  dir_->ClearCaches();
  auto secret = dir_->AppSecret("crm");
  ASSERT_TRUE(secret.ok()) << secret.error().message;
  EXPECT_EQ(*secret, created->servicepwd);
}

TEST_F(DirectoryAppsTest, ASealedSecretCopiedToAnotherAppDoesNotOpen) {
  ASSERT_TRUE(dir_->CreateApp(Settings("a")).ok());
  ASSERT_TRUE(dir_->CreateApp(Settings("b")).ok());
  Execute(
      "UPDATE dir_apps SET servicepwd_sealed = (SELECT servicepwd_sealed FROM dir_apps WHERE "
      "servicecode = 'a') WHERE servicecode = 'b'");
  dir_->ClearCaches();
  EXPECT_FALSE(dir_->AppSecret("b").ok());
}

TEST_F(DirectoryAppsTest, AnEmptyServicecodeIsGenerated) {
  auto created = dir_->CreateApp(Settings(""));
  ASSERT_TRUE(created.ok()) << created.error().message;
  EXPECT_TRUE(created->app.servicecode.starts_with("app"));
  EXPECT_TRUE(dir_->GetApp(created->app.servicecode).ok());
}

TEST_F(DirectoryAppsTest, ADuplicateServicecodeIsRefused) {
  ASSERT_TRUE(dir_->CreateApp(Settings("crm")).ok());
  EXPECT_CODE(dir_->CreateApp(Settings("crm")), errc::kAlreadyExists);
}

TEST_F(DirectoryAppsTest, BadSettingsAreRefused) {
  App bad_code = Settings("a b");
  EXPECT_CODE(dir_->CreateApp(bad_code), errc::kInvalidArgument);
  App bad_ip = Settings("x1");
  bad_ip.allowed_ips = {"10.0.0.0/33"};
  EXPECT_CODE(dir_->CreateApp(bad_ip), errc::kInvalidArgument);
  App bad_url = Settings("x2");
  bad_url.callback_urls = {"javascript:alert(1)"};
  EXPECT_CODE(dir_->CreateApp(bad_url), errc::kInvalidArgument);
  App push_without_url = Settings("x3");
  push_without_url.push_enabled = true;
  EXPECT_CODE(dir_->CreateApp(push_without_url), errc::kInvalidArgument);
  App bad_datatype = Settings("x4");
  bad_datatype.datatype = "csv";
  EXPECT_CODE(dir_->CreateApp(bad_datatype), errc::kInvalidArgument);
  App unknown_org = Settings("x5");
  unknown_org.orgcoding = "009";
  EXPECT_CODE(dir_->CreateApp(unknown_org), errc::kInvalidArgument);
}

TEST_F(DirectoryAppsTest, SettingsRoundTrip) {
  AddOrg("001", "浙江省");
  App app = Settings("crm");
  app.orgcoding = "001";
  app.signtype = crypto::SignType::kSm3;
  app.allowed_ips = {"10.1.0.0/16", "::1"};
  app.callback_urls = {"https://crm.example.gov.cn/sso"};
  app.logout_url = "https://crm.example.gov.cn/logout";
  app.push_url = "https://crm.example.gov.cn/push";
  app.push_enabled = true;
  app.datatype = "xml";
  app.proxy_right = true;
  app.protocols = Protocols{true, true, true};
  app.directory_write = true;
  app.org_scope = "001";
  app.open_to_all = true;
  ASSERT_TRUE(dir_->CreateApp(app).ok());
  auto got = dir_->GetApp("crm");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(got->name, "测试应用");
  EXPECT_EQ(got->orgcoding, "001");
  EXPECT_EQ(got->signtype, crypto::SignType::kSm3);
  EXPECT_EQ(got->allowed_ips, app.allowed_ips);
  EXPECT_EQ(got->callback_urls, app.callback_urls);
  EXPECT_EQ(got->logout_url, app.logout_url);
  EXPECT_EQ(got->push_url, app.push_url);
  EXPECT_TRUE(got->push_enabled);
  EXPECT_EQ(got->datatype, "xml");
  EXPECT_TRUE(got->proxy_right);
  EXPECT_TRUE(got->protocols.cas);
  EXPECT_TRUE(got->protocols.oidc);
  EXPECT_TRUE(got->directory_write);
  EXPECT_EQ(got->org_scope, "001");
  EXPECT_TRUE(got->open_to_all);
  EXPECT_TRUE(got->servicepwd.empty());
}

TEST_F(DirectoryAppsTest, UnknownAppsGet9900) {
  EXPECT_CODE(dir_->GetApp("nosuch"), code::kAppNotFound);
  EXPECT_CODE(dir_->CachedApp("nosuch"), code::kAppNotFound);
  EXPECT_CODE(dir_->RotateSecret("nosuch"), code::kAppNotFound);
  EXPECT_CODE(dir_->SetAppEnabled("nosuch", false), code::kAppNotFound);
  EXPECT_CODE(dir_->UpdateApp(Settings("nosuch")), code::kAppNotFound);
}

TEST_F(DirectoryAppsTest, RotateSecretReplacesTheSecretInTheCacheAtOnce) {
  auto created = dir_->CreateApp(Settings("crm"));
  ASSERT_TRUE(created.ok());
  ASSERT_EQ(*dir_->AppSecret("crm"), created->servicepwd);
  auto rotated = dir_->RotateSecret("crm");
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  EXPECT_NE(*rotated, created->servicepwd);
  EXPECT_EQ(*dir_->AppSecret("crm"), *rotated);
}

TEST_F(DirectoryAppsTest, DisableAppShowsInTheCachedSnapshot) {
  ASSERT_TRUE(dir_->CreateApp(Settings("crm")).ok());
  ASSERT_TRUE((*dir_->CachedApp("crm"))->enabled);
  ASSERT_TRUE(dir_->DisableApp("crm").ok());
  EXPECT_FALSE((*dir_->CachedApp("crm"))->enabled);
}

TEST_F(DirectoryAppsTest, UpdateAppChangesSettingsButNotTheSecret) {
  auto created = dir_->CreateApp(Settings("crm"));
  ASSERT_TRUE(created.ok());
  App changed = created->app;
  changed.name = "新名称";
  changed.callback_urls = {"http://10.0.0.1/cb"};
  auto updated = dir_->UpdateApp(changed);
  ASSERT_TRUE(updated.ok()) << updated.error().message;
  auto cached = dir_->CachedApp("crm");
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ((*cached)->name, "新名称");
  EXPECT_EQ((*cached)->callback_urls, changed.callback_urls);
  EXPECT_EQ((*cached)->servicepwd, created->servicepwd);
}

TEST_F(DirectoryAppsTest, ListAppsIncludesTheBuiltInPlatformApp) {
  ASSERT_TRUE(dir_->CreateApp(Settings("crm")).ok());
  auto apps = dir_->ListApps();
  ASSERT_TRUE(apps.ok()) << apps.error().message;
  ASSERT_EQ(apps->size(), 2u);
  EXPECT_EQ((*apps)[0].servicecode, "crm");
  EXPECT_EQ((*apps)[1].servicecode, std::string(kPlatformApp));
}

TEST_F(DirectoryAppsTest, APasswordKeyLetsTheAppSendAesPasswords) {
  AddOrg("001", "浙江省");
  App settings = Settings("crm");
  settings.directory_write = true;
  ASSERT_TRUE(dir_->CreateApp(settings).ok());
  auto key = dir_->RotatePasswordKey("crm");
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(key->size(), 24u);
  EXPECT_EQ((*dir_->CachedApp("crm"))->password_key, *key);
  std::string sealed =
      QueryText("SELECT password_key_sealed FROM dir_apps WHERE servicecode = 'crm'");
  EXPECT_EQ(sealed.find(*key), std::string::npos);
  // A bad AES ciphertext is now a decode failure, not an unsupported type.
  EXPECT_CODE(dir_->SaveUser(Caller::ForApp("crm"), {{"loginname", "zhangs"},
                                                     {"username", "张三"},
                                                     {"orgcoding", "001"},
                                                     {"encryptiontype", "4"},
                                                     {"loginpwd", "AAAA"}}),
              code::kUserPasswordDecodeFailed);
}

TEST(DirectorySourceIpTest, AnEmptyListAdmitsEveryone) {
  App app;
  EXPECT_TRUE(SourceIpAllowed(app, "203.0.113.9"));
}

TEST(DirectorySourceIpTest, AddressesAndBlocksAdmitOnlyTheirMembers) {
  App app;
  app.allowed_ips = {"10.1.0.0/16", "192.0.2.7", "2001:db8::/32"};
  EXPECT_TRUE(SourceIpAllowed(app, "10.1.200.3"));
  EXPECT_FALSE(SourceIpAllowed(app, "10.2.0.1"));
  EXPECT_TRUE(SourceIpAllowed(app, "192.0.2.7"));
  EXPECT_FALSE(SourceIpAllowed(app, "192.0.2.8"));
  EXPECT_TRUE(SourceIpAllowed(app, "2001:db8:1::5"));
  EXPECT_FALSE(SourceIpAllowed(app, "2001:db9::5"));
  EXPECT_TRUE(SourceIpAllowed(app, "::ffff:10.1.2.3"));
  EXPECT_FALSE(SourceIpAllowed(app, "not an ip"));
}

TEST(DirectoryCallbackTest, APrefixAdmitsPathsPortsAndQueries) {
  App app;
  app.callback_urls = {"http://127.0.0.1"};
  EXPECT_TRUE(CallbackAllowed(app, "http://127.0.0.1"));
  EXPECT_TRUE(CallbackAllowed(app, "http://127.0.0.1/cb?x=1"));
  EXPECT_TRUE(CallbackAllowed(app, "http://127.0.0.1:8080/cb"));
  EXPECT_TRUE(CallbackAllowed(app, "http://127.0.0.1?x"));
}

TEST(DirectoryCallbackTest, APrefixRefusesLookalikeHosts) {
  App app;
  app.callback_urls = {"http://127.0.0.1"};
  EXPECT_FALSE(CallbackAllowed(app, "http://127.0.0.1.evil.example/"));
  EXPECT_FALSE(CallbackAllowed(app, "http://127.0.0.1@evil.example/"));
  EXPECT_FALSE(CallbackAllowed(app, "http://127.0.0.1:80@evil.example/"));
  EXPECT_FALSE(CallbackAllowed(app, "http://127.0.0.1\\@evil.example/"));
  EXPECT_FALSE(CallbackAllowed(app, "https://127.0.0.1/"));
}

TEST(DirectoryCallbackTest, APrefixEndingInASlashAdmitsEverythingBelowIt) {
  App app;
  app.callback_urls = {"https://crm.example.gov.cn/sso/"};
  EXPECT_TRUE(CallbackAllowed(app, "https://crm.example.gov.cn/sso/cb"));
  EXPECT_FALSE(CallbackAllowed(app, "https://crm.example.gov.cn/other"));
}

}  // namespace
}  // namespace tongban::directory
