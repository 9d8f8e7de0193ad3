// encryptiontype 3 logins through the MD5 variant (DirectoryOptions::
// md5_login_variant): stored with new passwords, captured at the next
// plaintext login of users whose password predates the option, and the
// per-app settings that go with it (md5_login, push_password, push_urls).
#include <gtest/gtest.h>

#include "crypto/digest.h"
#include "directory/wire.h"
#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;

class DirectoryMd5LoginTest : public DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    AddOrg("001", "浙江省");
    AddOrg("001001", "杭州市");
  }

  static DirectoryOptions WithVariant() {
    DirectoryOptions options = test::FastOptions();
    options.md5_login_variant = true;
    return options;
  }

  std::string StoredVariant(const std::string& userid) {
    return QueryText("SELECT password_md5 FROM dir_users WHERE userid = '" + userid + "'");
  }
  std::string StoredHash(const std::string& userid) {
    return QueryText("SELECT password_hash FROM dir_users WHERE userid = '" + userid + "'");
  }
};

TEST_F(DirectoryMd5LoginTest, AUserFromBeforeTheOptionGetsTheVariantAtTheNextPlaintextLogin) {
  User u = AddUser("zhangs", "001001");  // variant off: no MD5 variant stored
  Reopen(WithVariant());
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", crypto::Md5Hex("pw-zhangs"), true}),
              code::kLoginEncryptionUnusable);
  const std::string primary = StoredHash(u.userid);

  ASSERT_TRUE(dir_->VerifyLogin({"zhangs", "", "pw-zhangs", false}).ok());
  EXPECT_TRUE(StoredVariant(u.userid).starts_with("$argon2id$"));
  EXPECT_EQ(StoredHash(u.userid), primary);  // an up-to-date primary is left alone
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", crypto::Md5Hex("pw-zhangs"), true}).ok());
}

TEST_F(DirectoryMd5LoginTest, AWrongPlaintextPasswordCapturesNothing) {
  User u = AddUser("zhangs", "001001");
  Reopen(WithVariant());
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", "wrong", false}), code::kLoginWrongPassword);
  EXPECT_EQ(StoredVariant(u.userid), "");
}

TEST_F(DirectoryMd5LoginTest, CheckPasswordAlsoCapturesTheVariant) {
  User u = AddUser("zhangs", "001001");
  Reopen(WithVariant());
  ASSERT_TRUE(dir_->CheckPassword(u.userid, "pw-zhangs").ok());
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", crypto::Md5Hex("pw-zhangs"), true}).ok());
}

TEST_F(DirectoryMd5LoginTest, WithoutTheOptionAPlaintextLoginStoresNoVariant) {
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->VerifyLogin({"zhangs", "", "pw-zhangs", false}).ok());
  EXPECT_EQ(StoredVariant(u.userid), "");
}

TEST_F(DirectoryMd5LoginTest, APasswordChangeReplacesTheVariant) {
  Reopen(WithVariant());
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->SetPassword(u.userid, "new-secret").ok());
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", crypto::Md5Hex("pw-zhangs"), true}),
              code::kLoginWrongPassword);
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", crypto::Md5Hex("new-secret"), true}).ok());
}

TEST_F(DirectoryMd5LoginTest, AppSettingsForMd5LoginAndPushesRoundTrip) {
  App settings;
  settings.servicecode = "vendor";
  settings.name = "厂商";
  settings.push_url = "http://127.0.0.1:9/push";
  settings.push_enabled = true;
  settings.push_urls = {{"synchronizeUser", "http://127.0.0.1:9/user"},
                        {"deleteUser", "http://127.0.0.1:9/user/delete"}};
  settings.push_password = std::string(kPushPasswordOmit);
  settings.md5_login = true;
  ASSERT_TRUE(dir_->CreateApp(settings).ok());
  auto app = dir_->GetApp("vendor");
  ASSERT_TRUE(app.ok()) << app.error().message;
  EXPECT_EQ(app->push_urls, settings.push_urls);
  EXPECT_EQ(app->push_password, "omit");
  EXPECT_TRUE(app->md5_login);

  App changed = *app;
  changed.push_urls.erase("deleteUser");
  changed.push_password = std::string(kPushPasswordPlaceholder);
  changed.md5_login = false;
  ASSERT_TRUE(dir_->UpdateApp(changed).ok());
  auto cached = dir_->CachedApp("vendor");
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ((*cached)->push_urls.size(), 1u);
  EXPECT_EQ((*cached)->push_password, "placeholder");
  EXPECT_FALSE((*cached)->md5_login);
}

TEST_F(DirectoryMd5LoginTest, NewAppsPushAPlaceholderPasswordAndRefuseMd5LoginByDefault) {
  App app = AddPushApp("plain");
  EXPECT_EQ(app.push_password, "placeholder");
  EXPECT_FALSE(app.md5_login);
}

TEST_F(DirectoryMd5LoginTest, PushUrlsMustNameAPushedMethodAndAnHttpUrl) {
  App settings;
  settings.servicecode = "bad";
  settings.name = "坏";
  settings.push_urls = {{"getUserInfo", "http://127.0.0.1:9/x"}};
  EXPECT_FALSE(dir_->CreateApp(settings).ok());
  settings.push_urls = {{"synchronizeUser", "ftp://127.0.0.1/x"}};
  EXPECT_FALSE(dir_->CreateApp(settings).ok());
  settings.push_urls.clear();
  settings.push_password = "maybe";
  EXPECT_FALSE(dir_->CreateApp(settings).ok());
}

TEST_F(DirectoryMd5LoginTest, PushesOfANewUserAreKeyedByUserAndMarkedAsNewToTheApp) {
  AddPushApp("sub");
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->SaveUser(Caller::Admin(), {{"userid", u.userid}, {"username", "张三"}}).ok());
  std::vector<OutboxMessage> pending = PendingFor("sub");
  ASSERT_EQ(pending.size(), 2u);
  EXPECT_EQ(pending[0].ordering_key, "u:" + u.userid);
  EXPECT_EQ(pending[1].ordering_key, "u:" + u.userid);
  EXPECT_NE(pending[0].payload.find(kPushHintNewToApp), std::string::npos);
  EXPECT_EQ(pending[1].payload.find(kPushHintNewToApp), std::string::npos);
}

TEST_F(DirectoryMd5LoginTest, AUserMovingIntoAnAppsScopeIsNewToThatApp) {
  AddOrg("001002", "宁波市");
  AddPushApp("nb", "001002");
  User u = AddUser("zhangs", "001001");
  EXPECT_TRUE(PendingFor("nb").empty());
  auto moved = dir_->SaveUser(Caller::Admin(), {{"userid", u.userid}, {"orgcoding", "001002"}});
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  std::vector<OutboxMessage> pending = PendingFor("nb");
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_NE(pending[0].payload.find(kPushHintNewToApp), std::string::npos);
}

TEST_F(DirectoryMd5LoginTest, OrgPushesAreKeyedByOrg) {
  AddPushApp("sub");
  AddOrg("001002", "宁波市");
  std::vector<OutboxMessage> pending = PendingFor("sub");
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].ordering_key, "o:001002");
}

}  // namespace
}  // namespace tongban::directory
