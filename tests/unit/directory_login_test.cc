// Password logins: VerifyLogin's codes (64xx), legacy hash upgrades, MD5
// (encryptiontype 3) logins, password changes, locks.
#include <gtest/gtest.h>

#include "crypto/digest.h"
#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;

class DirectoryLoginTest : public DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    AddOrg("001", "浙江省");
    AddOrg("001001", "杭州市");
    AddOrg("002", "江苏省");
  }

  std::string StoredHash(const std::string& userid) {
    return QueryText("SELECT password_hash FROM dir_users WHERE userid = '" + userid + "'");
  }

  void SetStoredHash(const std::string& userid, const std::string& hash) {
    Execute("UPDATE dir_users SET password_hash = '" + hash + "' WHERE userid = '" + userid + "'");
  }
};

TEST_F(DirectoryLoginTest, TheRightPasswordLogsTheUserIn) {
  User u = AddUser("zhangs", "001001");
  auto user = dir_->VerifyLogin({"zhangs", "", "pw-zhangs", false});
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ((*user)->userid, u.userid);
}

TEST_F(DirectoryLoginTest, PasswordsAreStoredAsArgon2id) {
  User u = AddUser("zhangs", "001001");
  EXPECT_TRUE(StoredHash(u.userid).starts_with("$argon2id$"));
}

TEST_F(DirectoryLoginTest, AnUnknownUserGets6401) {
  EXPECT_CODE(dir_->VerifyLogin({"nobody", "", "x", false}), code::kLoginNoUser);
}

TEST_F(DirectoryLoginTest, AWrongPasswordGets6402) {
  AddUser("zhangs", "001001");
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", "wrong", false}), code::kLoginWrongPassword);
}

TEST_F(DirectoryLoginTest, AMalformedOrUnknownOrgcodingGets6403) {
  AddUser("zhangs", "001001");
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "0x1", "pw-zhangs", false}), code::kLoginBadOrgcoding);
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "009", "pw-zhangs", false}), code::kLoginBadOrgcoding);
}

TEST_F(DirectoryLoginTest, AnMd5LoginWithoutAnMd5CapableHashGets6404) {
  AddUser("zhangs", "001001");
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", crypto::Md5Hex("pw-zhangs"), true}),
              code::kLoginEncryptionUnusable);
}

TEST_F(DirectoryLoginTest, ALoginNameInTwoDomainsNeedsTheOrgcoding) {
  AddUser("zhangs", "001001");
  User js = AddUser("zhangs", "002");
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", "pw-zhangs", false}), code::kLoginAmbiguous);
  auto user = dir_->VerifyLogin({"zhangs", "002", "pw-zhangs", false});
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ((*user)->userid, js.userid);
}

TEST_F(DirectoryLoginTest, ALockedUserWithTheRightPasswordGets6407) {
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->LockUser(u.userid).ok());
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", "pw-zhangs", false}), code::kLoginLocked);
}

TEST_F(DirectoryLoginTest, ALockedUserWithAWrongPasswordLearnsNothingAboutTheLock) {
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->LockUser(u.userid).ok());
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", "wrong", false}), code::kLoginWrongPassword);
}

TEST_F(DirectoryLoginTest, UnlockLetsTheUserInAgain) {
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->LockUser(u.userid).ok());
  ASSERT_TRUE(dir_->UnlockUser(u.userid).ok());
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", "pw-zhangs", false}).ok());
}

TEST_F(DirectoryLoginTest, AnInactiveUserGets6408) {
  AddUser("zhangs", "001001", {{"useable", "2"}});
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", "pw-zhangs", false}), code::kLoginDisabled);
}

TEST_F(DirectoryLoginTest, LockingAnUnknownUserGets2804) {
  EXPECT_CODE(dir_->LockUser(std::string(32, 'c')), code::kUserReadNotFound);
}

TEST_F(DirectoryLoginTest, ALegacyMd5HashIsUpgradedToArgon2idOnLogin) {
  User u = AddUser("zhangs", "001001");
  SetStoredHash(u.userid, "md5$" + crypto::Md5Hex("old-secret"));
  ASSERT_TRUE(dir_->VerifyLogin({"zhangs", "", "old-secret", false}).ok());
  EXPECT_TRUE(StoredHash(u.userid).starts_with("$argon2id$"));
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", "old-secret", false}).ok());
}

TEST_F(DirectoryLoginTest, ALegacySaltedSha1HashIsUpgradedOnLogin) {
  User u = AddUser("zhangs", "001001");
  SetStoredHash(u.userid, "sha1$salt$" + crypto::Sha1Hex("saltold-secret"));
  ASSERT_TRUE(dir_->VerifyLogin({"zhangs", "", "old-secret", false}).ok());
  EXPECT_TRUE(StoredHash(u.userid).starts_with("$argon2id$"));
}

TEST_F(DirectoryLoginTest, AWrongPasswordLeavesALegacyHashAlone) {
  User u = AddUser("zhangs", "001001");
  std::string legacy = "md5$" + crypto::Md5Hex("old-secret");
  SetStoredHash(u.userid, legacy);
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", "guess", false}), code::kLoginWrongPassword);
  EXPECT_EQ(StoredHash(u.userid), legacy);
}

TEST_F(DirectoryLoginTest, AnMd5PasswordFromSynchronizeUserWorksForBothLoginKinds) {
  ASSERT_TRUE(dir_->SaveUser(Caller::Admin(), {{"loginname", "zhangs"},
                                               {"username", "张三"},
                                               {"orgcoding", "001001"},
                                               {"encryptiontype", "3"},
                                               {"loginpwd", crypto::Md5Hex("secret")}})
                  .ok());
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", crypto::Md5Hex("secret"), true}).ok());
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", "secret", false}).ok());
}

TEST_F(DirectoryLoginTest, WithTheMd5VariantOptionAUserCanLogInWithTheMd5OfThePassword) {
  DirectoryOptions options = test::FastOptions();
  options.md5_login_variant = true;
  Reopen(options);
  AddUser("zhangs", "001001");
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", crypto::Md5Hex("pw-zhangs"), true}).ok());
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", crypto::Md5Hex("other"), true}),
              code::kLoginWrongPassword);
}

TEST_F(DirectoryLoginTest, SetPasswordReplacesThePassword) {
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->SetPassword(u.userid, "新口令-2").ok());
  EXPECT_CODE(dir_->VerifyLogin({"zhangs", "", "pw-zhangs", false}), code::kLoginWrongPassword);
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", "新口令-2", false}).ok());
}

TEST_F(DirectoryLoginTest, SetPasswordCodes) {
  User u = AddUser("zhangs", "001001");
  EXPECT_CODE(dir_->SetPassword(u.userid, ""), code::kUserPasswordEmpty);
  EXPECT_CODE(dir_->SetPassword(std::string(32, 'd'), "x"), code::kUserReadNotFound);
}

TEST_F(DirectoryLoginTest, CheckPasswordChecksAKnownUsersPassword) {
  User u = AddUser("zhangs", "001001");
  EXPECT_TRUE(dir_->CheckPassword(u.userid, "pw-zhangs").ok());
  EXPECT_CODE(dir_->CheckPassword(u.userid, "wrong"), code::kLoginWrongPassword);
  EXPECT_CODE(dir_->CheckPassword(std::string(32, 'e'), "x"), code::kLoginNoUser);
}

}  // namespace
}  // namespace tongban::directory
