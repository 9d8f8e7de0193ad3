// Users: synchronizeUser's rules and codes (20xx), deletes (21xx), reads
// (28xx), domains and moves, and the pushes a user change writes.
#include <algorithm>

#include <gtest/gtest.h>

#include "codec/parse.h"
#include "crypto/encoding.h"
#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;
using test::kValidIdNum;

class DirectoryUsersTest : public DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    AddOrg("001", "浙江省");
    AddOrg("001001", "杭州市");
    AddOrg("001002", "宁波市");
    AddOrg("002", "江苏省");
    AddOrg("002001", "南京市");
  }

  Result<SavedUser> Save(Fields args, SaveMode mode = SaveMode::kAddOrModify) {
    return dir_->SaveUser(Caller::Admin(), args, mode);
  }

  static Fields NewUser(const std::string& loginname, const std::string& org = "001001") {
    return {{"loginname", loginname},
            {"username", "张三"},
            {"orgcoding", org},
            {"loginpwd", "secret-1"}};
  }

  static Fields With(Fields args, const std::string& key, const std::string& value) {
    args[key] = value;
    return args;
  }

  static Fields Without(Fields args, const std::string& key) {
    args.erase(key);
    return args;
  }
};

// ---- adds and modifies

TEST_F(DirectoryUsersTest, SaveUserAddsAUserWithAGeneratedUserid) {
  auto saved = Save(NewUser("zhangs"));
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_TRUE(saved->added);
  EXPECT_EQ(saved->user.userid.size(), 32u);
  EXPECT_EQ(saved->user.domain, "001");
  EXPECT_EQ(saved->user.useable, 1);
  EXPECT_EQ(saved->user.usertype, "1");
}

// Userids lead with their creation time (the primary-key index then grows
// at its end during an import) and stay 32 lowercase hex characters.
TEST_F(DirectoryUsersTest, GeneratedUseridsSortInTheOrderTheUsersWereAdded) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    auto saved = Save(NewUser("ordered" + std::to_string(i)));
    ASSERT_TRUE(saved.ok()) << saved.error().message;
    ids.push_back(saved->user.userid);
    clock_.Advance(std::chrono::milliseconds(1));
  }
  for (const std::string& id : ids) {
    ASSERT_EQ(id.size(), 32u);
    EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos) << id;
  }
  EXPECT_TRUE(std::is_sorted(ids.begin(), ids.end()));
  EXPECT_NE(ids[0].substr(12), ids[1].substr(12));  // the rest stays random
}

TEST_F(DirectoryUsersTest, EveryFieldRoundTripsIncludingChineseText) {
  Fields args = NewUser("zhangs");
  args["username"] = "张三丰";
  args["usertitle"] = "处长";
  args["officeaddress"] = "杭州市西湖区省府路8号";
  args["homeaddress"] = "浙江省杭州市";
  args["memo"] = "备注：测试“引号”与emoji 😀";
  args["email"] = "zhangs@example.gov.cn";
  args["mobile"] = "13800000001";
  args["idtype"] = "1";
  args["idnum"] = kValidIdNum;
  args["sex"] = "1";
  args["nation"] = "01";
  args["orderby"] = "42";
  args["extendorgcoding"] = "001002";
  args["extendorderby"] = "001002:7";
  auto saved = Save(args);
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  dir_->ClearCaches();
  auto user = dir_->GetUserById(Caller::Admin(), saved->user.userid);
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ((*user)->username, "张三丰");
  EXPECT_EQ((*user)->usertitle, "处长");
  EXPECT_EQ((*user)->officeaddress, "杭州市西湖区省府路8号");
  EXPECT_EQ((*user)->memo, "备注：测试“引号”与emoji 😀");
  EXPECT_EQ((*user)->email, "zhangs@example.gov.cn");
  EXPECT_EQ((*user)->mobile, "13800000001");
  EXPECT_EQ((*user)->idnum, kValidIdNum);
  EXPECT_EQ((*user)->orderby, 42);
  EXPECT_EQ((*user)->extendorgcoding, "001002");
  EXPECT_EQ((*user)->extendorderby, "001002:7");
}

TEST_F(DirectoryUsersTest, ModifyByUseridChangesOnlyTheFieldsGiven) {
  User u = AddUser("zhangs", "001001", {{"email", "a@example.com"}});
  auto saved = Save({{"userid", u.userid}, {"usertitle", "科长"}});
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_FALSE(saved->added);
  EXPECT_EQ(saved->user.usertitle, "科长");
  EXPECT_EQ(saved->user.email, "a@example.com");
  EXPECT_EQ(saved->user.loginname, "zhangs");
}

// Session 12 (review11's open medium): apps that send every field on every
// sync re-send the password; only a different one is a change (whose sessions
// the SSO then ends).
TEST_F(DirectoryUsersTest, AModifySaysWhetherItChangedThePassword) {
  auto added = Save(NewUser("zhangs"));
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_FALSE(added->password_changed);  // an add changes nobody's password
  const std::string userid = added->user.userid;
  auto same = Save({{"userid", userid}, {"loginpwd", "secret-1"}, {"usertitle", "科长"}});
  ASSERT_TRUE(same.ok()) << same.error().message;
  EXPECT_FALSE(same->password_changed);
  auto none = Save({{"userid", userid}, {"usertitle", "处长"}});
  ASSERT_TRUE(none.ok()) << none.error().message;
  EXPECT_FALSE(none->password_changed);
  auto other = Save({{"userid", userid}, {"loginpwd", "secret-2"}});
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_TRUE(other->password_changed);
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", "secret-2", false}).ok());
  EXPECT_FALSE(dir_->VerifyLogin({"zhangs", "", "secret-1", false}).ok());
  // The old password, sent again, is a change back.
  auto back = Save({{"userid", userid}, {"loginpwd", "secret-1"}});
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_TRUE(back->password_changed);
  // A refused modify changes nothing and says so.
  auto refused = Save({{"userid", userid}, {"loginpwd", "secret-3"}, {"orgcoding", "009"}});
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", "secret-1", false}).ok());
}

TEST_F(DirectoryUsersTest, ModifyByLoginnameWithinTheDomainFindsTheUser) {
  User u = AddUser("zhangs", "001001");
  auto saved = Save({{"loginname", "zhangs"}, {"orgcoding", "001001"}, {"usertitle", "科长"}});
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_FALSE(saved->added);
  EXPECT_EQ(saved->user.userid, u.userid);
}

TEST_F(DirectoryUsersTest, LoginNamesDifferingOnlyInAsciiCaseAreOneName) {
  AddUser("zhangs", "001001");
  EXPECT_CODE(Save(NewUser("ZhangS", "001002"), SaveMode::kAddOnly), code::kUserLoginnameExists);
}

TEST_F(DirectoryUsersTest, RenameByOldloginnameKeepsTheUserid) {
  User u = AddUser("zhangs", "001001");
  auto saved =
      Save({{"oldloginname", "zhangs"}, {"loginname", "zhangsan"}, {"orgcoding", "001001"}});
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(saved->user.userid, u.userid);
  EXPECT_EQ(saved->user.loginname, "zhangsan");
}

TEST_F(DirectoryUsersTest, AnEmptyLoginpwdOnModifyKeepsThePassword) {
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(Save({{"userid", u.userid}, {"loginpwd", ""}, {"usertitle", "x"}}).ok());
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", "pw-zhangs", false}).ok());
}

TEST_F(DirectoryUsersTest, AMissingLoginnameIsGeneratedFromTheChineseName) {
  auto first = Save(Without(NewUser(""), "loginname"));
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->user.loginname, "zhangs");
  auto second = Save(Without(NewUser(""), "loginname"));
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->user.loginname, "zhangs1");
}

// ---- domains and moves

TEST_F(DirectoryUsersTest, ALoginNameIsUniqueAmongTheOrgsOfOneDomain) {
  AddUser("zhangs", "001001");
  EXPECT_CODE(Save(NewUser("zhangs", "001002"), SaveMode::kAddOnly), code::kUserLoginnameExists);
}

TEST_F(DirectoryUsersTest, TheSameLoginNameMayExistInAnotherDomain) {
  User a = AddUser("zhangs", "001001");
  auto b = Save(NewUser("zhangs", "002001"));
  ASSERT_TRUE(b.ok()) << b.error().message;
  EXPECT_TRUE(b->added);
  EXPECT_NE(a.userid, b->user.userid);
}

TEST_F(DirectoryUsersTest, AddOrModifyByLoginnameInTheSameDomainModifiesTheExistingUser) {
  User a = AddUser("zhangs", "001001");
  auto again = Save(With(NewUser("zhangs", "001002"), "usertitle", "科长"));
  ASSERT_TRUE(again.ok()) << again.error().message;
  EXPECT_FALSE(again->added);
  EXPECT_EQ(again->user.userid, a.userid);
  EXPECT_EQ(again->user.orgcoding, "001002");
}

TEST_F(DirectoryUsersTest, AUserMovesBetweenOrgsOfOneDomain) {
  User u = AddUser("zhangs", "001001");
  auto moved = Save({{"userid", u.userid}, {"orgcoding", "001002"}});
  ASSERT_TRUE(moved.ok()) << moved.error().message;
  EXPECT_EQ(moved->user.orgcoding, "001002");
}

TEST_F(DirectoryUsersTest, AMoveToAnotherDomainGets2016) {
  User u = AddUser("zhangs", "001001");
  EXPECT_CODE(Save({{"userid", u.userid}, {"orgcoding", "002001"}}), code::kUserMoveRefused);
}

TEST_F(DirectoryUsersTest, ARenameOntoATakenLoginNameGets2010) {
  User u = AddUser("zhangs", "001001");
  AddUser("lis", "001002");
  EXPECT_CODE(Save({{"userid", u.userid}, {"loginname", "lis"}}), code::kUserLoginnameExists);
}

TEST_F(DirectoryUsersTest, ALoginnameInSeveralDomainsWithoutOrgcodingIsAmbiguous) {
  AddUser("zhangs", "001001");
  AddUser("zhangs", "002001");
  EXPECT_CODE(Save({{"loginname", "zhangs"}, {"usertitle", "x"}}), code::kUserArgsIllegal);
}

// ---- error codes

TEST_F(DirectoryUsersTest, AnAppWithoutDirectoryWriteGets2001) {
  AddApp("reader", false);
  EXPECT_CODE(dir_->SaveUser(Caller::ForApp("reader"), NewUser("zhangs")),
              code::kUserSyncNotAllowed);
}

TEST_F(DirectoryUsersTest, AUserOutsideTheAppsScopeGets2003) {
  AddApp("js", true, "002");
  EXPECT_CODE(dir_->SaveUser(Caller::ForApp("js"), NewUser("zhangs", "001001")),
              code::kUserNoRight);
  EXPECT_TRUE(dir_->SaveUser(Caller::ForApp("js"), NewUser("zhangs", "002001")).ok());
}

TEST_F(DirectoryUsersTest, ALoginNameWithSpecialCharactersGets2004) {
  EXPECT_CODE(Save(NewUser("zhang s")), code::kUserBadLoginname);
  EXPECT_CODE(Save(NewUser("张三")), code::kUserBadLoginname);
}

TEST_F(DirectoryUsersTest, AnUnknownOrgGets2005) {
  EXPECT_CODE(Save(NewUser("zhangs", "001009")), code::kUserOrgMissing);
}

TEST_F(DirectoryUsersTest, AnUnknownFurtherOrgGets2005) {
  EXPECT_CODE(Save(With(NewUser("zhangs"), "extendorgcoding", "001009")), code::kUserOrgMissing);
}

TEST_F(DirectoryUsersTest, ANonNumericOrderbyGets2006) {
  EXPECT_CODE(Save(With(NewUser("zhangs"), "orderby", "1a")), code::kUserBadOrderby);
  EXPECT_CODE(Save(With(NewUser("zhangs"), "extendorderby", "001002-3")), code::kUserBadOrderby);
}

TEST_F(DirectoryUsersTest, AnAddWithoutLoginpwdGets2007) {
  EXPECT_CODE(Save(Without(NewUser("zhangs"), "loginpwd")), code::kUserPasswordEmpty);
}

TEST_F(DirectoryUsersTest, AMalformedOrgcodingGets2008) {
  EXPECT_CODE(Save(NewUser("zhangs", "01")), code::kUserBadOrgcoding);
  EXPECT_CODE(Save(Without(NewUser("zhangs"), "orgcoding")), code::kUserBadOrgcoding);
}

TEST_F(DirectoryUsersTest, AnAppModifyingALockedUserGets2009) {
  AddApp("app1");
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->LockUser(u.userid).ok());
  EXPECT_CODE(dir_->SaveUser(Caller::ForApp("app1"), {{"userid", u.userid}, {"usertitle", "x"}}),
              code::kUserLocked);
}

TEST_F(DirectoryUsersTest, AnAdministratorMayModifyALockedUser) {
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->LockUser(u.userid).ok());
  EXPECT_TRUE(Save({{"userid", u.userid}, {"usertitle", "x"}}).ok());
}

TEST_F(DirectoryUsersTest, AnAddOnlySaveOfAnExistingLoginNameGets2010) {
  AddUser("zhangs", "001001");
  EXPECT_CODE(Save(NewUser("zhangs"), SaveMode::kAddOnly), code::kUserLoginnameExists);
}

TEST_F(DirectoryUsersTest, AModifyOfAnUnknownUseridGets2011) {
  EXPECT_CODE(Save({{"userid", std::string(32, 'a')}, {"usertitle", "x"}}), code::kUserNotFound);
}

TEST_F(DirectoryUsersTest, AnUnknownOldloginnameGets2011) {
  EXPECT_CODE(Save({{"oldloginname", "nobody"}, {"loginname", "x1"}, {"orgcoding", "001001"}}),
              code::kUserNotFound);
}

TEST_F(DirectoryUsersTest, AModifyOnlySaveOfANewLoginNameGets2011) {
  EXPECT_CODE(Save(NewUser("zhangs"), SaveMode::kModifyOnly), code::kUserNotFound);
}

TEST_F(DirectoryUsersTest, IllegalArgumentsGet2012) {
  EXPECT_CODE(Save(With(NewUser("a1"), "userid", "XYZ")), code::kUserArgsIllegal);
  EXPECT_CODE(Save(With(NewUser("a2"), "sex", "3")), code::kUserArgsIllegal);
  EXPECT_CODE(Save(With(NewUser("a3"), "email", "not-an-address")), code::kUserArgsIllegal);
  EXPECT_CODE(Save(With(NewUser("a4"), "mobile", "12345")), code::kUserArgsIllegal);
  EXPECT_CODE(Save(With(NewUser("a5"), "useable", "0")), code::kUserArgsIllegal);
  EXPECT_CODE(Save(With(NewUser("a6"), "memo", std::string(3000, 'x'))), code::kUserArgsIllegal);
  EXPECT_CODE(Save(With(NewUser("a7"), "usertitle", "a\x01z")), code::kUserArgsIllegal);
  EXPECT_CODE(Save(With(NewUser("a8"), "username", "\xff\xfe")), code::kUserArgsIllegal);
}

TEST_F(DirectoryUsersTest, AnInvalidResidentIdNumberGets2012) {
  Fields args = With(NewUser("zhangs"), "idtype", "1");
  EXPECT_CODE(Save(With(args, "idnum", "110105199003074510")), code::kUserArgsIllegal);
  EXPECT_TRUE(Save(With(args, "idnum", kValidIdNum)).ok());
}

TEST_F(DirectoryUsersTest, ALowercaseCheckCharacterIsStoredUppercase) {
  std::string lower = kValidIdNum;
  lower.back() = 'x';
  auto saved = Save(With(With(NewUser("zhangs"), "idtype", "1"), "idnum", lower));
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_EQ(saved->user.idnum, kValidIdNum);
}

TEST_F(DirectoryUsersTest, AnIllegalUsertypeGets2013) {
  EXPECT_CODE(Save(With(NewUser("zhangs"), "usertype", "7")), code::kUserBadUsertype);
}

TEST_F(DirectoryUsersTest, AnUnknownEncryptiontypeGets2014) {
  EXPECT_CODE(Save(With(NewUser("zhangs"), "encryptiontype", "9")), code::kUserBadEncryptiontype);
}

TEST_F(DirectoryUsersTest, AesWithoutAKeyForTheAppGets2014) {
  AddApp("app1");
  EXPECT_CODE(
      dir_->SaveUser(Caller::ForApp("app1"), With(NewUser("zhangs"), "encryptiontype", "4")),
      code::kUserBadEncryptiontype);
}

TEST_F(DirectoryUsersTest, AnUndecodablePasswordGets2015) {
  EXPECT_CODE(Save(With(With(NewUser("zhangs"), "encryptiontype", "2"), "loginpwd", "%%%%")),
              code::kUserPasswordDecodeFailed);
}

TEST_F(DirectoryUsersTest, ABase64PasswordIsDecodedBeforeHashing) {
  Fields args = With(NewUser("zhangs"), "encryptiontype", "2");
  args["loginpwd"] = crypto::Base64Encode("口令-1");
  ASSERT_TRUE(Save(args).ok());
  EXPECT_TRUE(dir_->VerifyLogin({"zhangs", "", "口令-1", false}).ok());
}

TEST_F(DirectoryUsersTest, AnEmptyUsernameGets2017) {
  EXPECT_CODE(Save(With(NewUser("zhangs"), "username", "")), code::kUserUsernameEmpty);
  EXPECT_CODE(Save(Without(NewUser("zhangs"), "username")), code::kUserUsernameEmpty);
}

TEST_F(DirectoryUsersTest, AMobileNumberOfAnotherUserGets2018) {
  AddUser("zhangs", "001001", {{"mobile", "13800000001"}});
  EXPECT_CODE(Save(With(NewUser("lis"), "mobile", "13800000001")), code::kUserMobileExists);
}

TEST_F(DirectoryUsersTest, ManyUsersMayHaveNoMobile) {
  AddUser("zhangs", "001001");
  EXPECT_TRUE(Save(NewUser("lis")).ok());
}

TEST_F(DirectoryUsersTest, AMissingMobileGets2019WhenMobilesAreRequired) {
  DirectoryOptions options = test::FastOptions();
  options.require_mobile = true;
  Reopen(options);
  EXPECT_CODE(Save(NewUser("zhangs")), code::kUserMobileEmpty);
  EXPECT_TRUE(Save(With(NewUser("zhangs"), "mobile", "13800000001")).ok());
}

// ---- deletes

TEST_F(DirectoryUsersTest, DeleteUserByUseridRemovesTheUser) {
  User u = AddUser("zhangs", "001001");
  auto deleted = dir_->DeleteUser(Caller::Admin(), {u.userid, "", ""});
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(deleted->loginname, "zhangs");
  EXPECT_CODE(dir_->GetUserById(Caller::Admin(), u.userid), code::kUserReadNotFound);
}

TEST_F(DirectoryUsersTest, DeleteUserByLoginnameAndOrgcodingRemovesTheUserOfThatDomain) {
  AddUser("zhangs", "001001");
  User other = AddUser("zhangs", "002001");
  ASSERT_TRUE(dir_->DeleteUser(Caller::Admin(), {"", "zhangs", "001002"}).ok());
  EXPECT_TRUE(dir_->GetUserById(Caller::Admin(), other.userid).ok());
}

TEST_F(DirectoryUsersTest, DeletingAnUnknownUserGets2104) {
  EXPECT_CODE(dir_->DeleteUser(Caller::Admin(), {std::string(32, 'b'), "", ""}),
              code::kUserDeleteNotFound);
  EXPECT_CODE(dir_->DeleteUser(Caller::Admin(), {"", "nobody", ""}), code::kUserDeleteNotFound);
}

TEST_F(DirectoryUsersTest, DeleteWithoutAKeyOrWithAnAmbiguousLoginnameGets2112) {
  AddUser("zhangs", "001001");
  AddUser("zhangs", "002001");
  EXPECT_CODE(dir_->DeleteUser(Caller::Admin(), {}), code::kUserDeleteArgsIllegal);
  EXPECT_CODE(dir_->DeleteUser(Caller::Admin(), {"", "zhangs", ""}), code::kUserDeleteArgsIllegal);
}

TEST_F(DirectoryUsersTest, DeleteByAnAppWithoutDirectoryWriteGets2101) {
  AddApp("reader", false);
  User u = AddUser("zhangs", "001001");
  EXPECT_CODE(dir_->DeleteUser(Caller::ForApp("reader"), {u.userid, "", ""}),
              code::kUserDeleteNotAllowed);
}

TEST_F(DirectoryUsersTest, DeleteOutsideTheAppsScopeGets2103) {
  AddApp("js", true, "002");
  User u = AddUser("zhangs", "001001");
  EXPECT_CODE(dir_->DeleteUser(Caller::ForApp("js"), {u.userid, "", ""}), code::kUserDeleteNoRight);
}

TEST_F(DirectoryUsersTest, DeleteOfALockedUserByAnAppGets2109) {
  AddApp("app1");
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(dir_->LockUser(u.userid).ok());
  EXPECT_CODE(dir_->DeleteUser(Caller::ForApp("app1"), {u.userid, "", ""}),
              code::kUserDeleteLocked);
}

// ---- reads

TEST_F(DirectoryUsersTest, GetUserByIdRefusesAMalformedIdWith2803) {
  EXPECT_CODE(dir_->GetUserById(Caller::Admin(), "123"), code::kUserReadBadId);
}

TEST_F(DirectoryUsersTest, GetUserByIdOutsideTheAppsScopeGets2802) {
  AddApp("js", false, "002");
  User u = AddUser("zhangs", "001001");
  EXPECT_CODE(dir_->GetUserById(Caller::ForApp("js"), u.userid), code::kUserReadNoRight);
}

TEST_F(DirectoryUsersTest, GetUserByLoginnameFindsTheUserOfTheGivenDomain) {
  AddUser("zhangs", "001001");
  User js = AddUser("zhangs", "002001");
  auto user = dir_->GetUserByLoginname(Caller::Admin(), "zhangs", "002");
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ((*user)->userid, js.userid);
  EXPECT_CODE(dir_->GetUserByLoginname(Caller::Admin(), "zhangs"), code::kUserReadAmbiguous);
  EXPECT_CODE(dir_->GetUserByLoginname(Caller::Admin(), "nobody"), code::kUserReadNotFound);
  EXPECT_CODE(dir_->GetUserByLoginname(Caller::Admin(), "bad name"), code::kUserReadBadId);
}

TEST_F(DirectoryUsersTest, UsersByOrgPagesInOrderbyOrderWithATotal) {
  AddUser("u1", "001001", {{"orderby", "3"}});
  AddUser("u2", "001001", {{"orderby", "1"}});
  AddUser("u3", "001001", {{"orderby", "2"}});
  AddUser("u4", "001002");
  auto page = dir_->UsersByOrg(Caller::Admin(), "001001", Page{1, 2});
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->total, 3);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].loginname, "u2");
  EXPECT_EQ(page->items[1].loginname, "u3");
  auto tree = dir_->UsersByOrg(Caller::Admin(), "001", Page{}, /*include_suborgs=*/true);
  ASSERT_TRUE(tree.ok());
  EXPECT_EQ(tree->total, 4);
}

TEST_F(DirectoryUsersTest, UsersByOrgCodes) {
  EXPECT_CODE(dir_->UsersByOrg(Caller::Admin(), "1", Page{}), code::kUserReadBadOrgcoding);
  EXPECT_CODE(dir_->UsersByOrg(Caller::Admin(), "009", Page{}), code::kUserReadOrgNotFound);
  EXPECT_CODE(dir_->UsersByOrg(Caller::Admin(), "001", Page{1, 0}), code::kUserReadBadPage);
}

TEST_F(DirectoryUsersTest, SearchUsersMatchesPrefixesOfLoginnameUsernameMobileAndIdnum) {
  AddUser("zhangs", "001001", {{"username", "张三"}, {"mobile", "13800000001"}});
  AddUser("zhaol", "001001", {{"username", "赵六"}});
  AddUser("lis", "002001", {{"username", "李四"}, {"idtype", "1"}, {"idnum", kValidIdNum}});
  auto by_login = dir_->SearchUsers({"zha", ""}, Page{});
  ASSERT_TRUE(by_login.ok()) << by_login.error().message;
  EXPECT_EQ(by_login->total, 2);
  auto by_name = dir_->SearchUsers({"张", ""}, Page{});
  ASSERT_TRUE(by_name.ok());
  ASSERT_EQ(by_name->total, 1);
  EXPECT_EQ(by_name->items[0].loginname, "zhangs");
  auto by_mobile = dir_->SearchUsers({"138000", ""}, Page{});
  ASSERT_TRUE(by_mobile.ok());
  EXPECT_EQ(by_mobile->total, 1);
  auto by_idnum = dir_->SearchUsers({"110105", ""}, Page{});
  ASSERT_TRUE(by_idnum.ok());
  ASSERT_EQ(by_idnum->total, 1);
  EXPECT_EQ(by_idnum->items[0].loginname, "lis");
  auto in_org = dir_->SearchUsers({"zha", "002"}, Page{});
  ASSERT_TRUE(in_org.ok());
  EXPECT_EQ(in_org->total, 0);
}

TEST_F(DirectoryUsersTest, SearchUsersLimitedToOneFieldIgnoresTheOthers) {
  AddUser("zhangs", "001001", {{"username", "张三"}, {"mobile", "13800000001"}});
  AddUser("m138", "001001", {{"username", "李四"}});
  using Field = UserSearch::Field;
  UserSearch by_mobile{"138", "", Field::kMobile};
  auto mobile = dir_->SearchUsers(by_mobile, Page{});
  ASSERT_TRUE(mobile.ok());
  ASSERT_EQ(mobile->total, 1);
  EXPECT_EQ(mobile->items[0].loginname, "zhangs");
  auto name = dir_->SearchUsers(UserSearch{"138", "", Field::kUsername}, Page{});
  ASSERT_TRUE(name.ok());
  EXPECT_EQ(name->total, 0);
  auto login = dir_->SearchUsers(UserSearch{"m1", "", Field::kLoginname}, Page{});
  ASSERT_TRUE(login.ok());
  ASSERT_EQ(login->total, 1);
  EXPECT_EQ(login->items[0].loginname, "m138");
}

TEST_F(DirectoryUsersTest, SearchUsersStopsCountingAtTheCapButPagesAsUsual) {
  for (int i = 0; i < 5; ++i) AddUser("capuser" + std::to_string(i), "001001", {});
  UserSearch search{"capuser", ""};
  search.max_total = 3;
  auto page = dir_->SearchUsers(search, Page{1, 4});
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->total, 3);
  EXPECT_EQ(page->items.size(), 4u);
  search.max_total = 0;
  auto exact = dir_->SearchUsers(search, Page{1, 4});
  ASSERT_TRUE(exact.ok());
  EXPECT_EQ(exact->total, 5);
}

// ---- pushes

TEST_F(DirectoryUsersTest, AnAddIsPushedAsSynchronizeUserWithoutThePassword) {
  AddPushApp("all");
  User u = AddUser("zhangs", "001001", {{"usertitle", "处长"}});
  auto msgs = PendingFor("all");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].method, "synchronizeUser");
  auto args = codec::ParseJson(msgs[0].payload);
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(*args->FindString("userid"), u.userid);
  EXPECT_EQ(*args->FindString("usertitle"), "处长");
  EXPECT_EQ(args->Find("loginpwd"), nullptr);
  EXPECT_EQ(msgs[0].payload.find("argon2"), std::string::npos);
  EXPECT_EQ(msgs[0].payload.find("pw-zhangs"), std::string::npos);
}

TEST_F(DirectoryUsersTest, ARenameAndMoveArePushedWithTheOldValues) {
  User u = AddUser("zhangs", "001001");
  AddPushApp("all");
  ASSERT_TRUE(
      Save({{"userid", u.userid}, {"loginname", "zhangsan"}, {"orgcoding", "001002"}}).ok());
  auto msgs = PendingFor("all");
  ASSERT_EQ(msgs.size(), 1u);
  auto args = codec::ParseJson(msgs[0].payload);
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(*args->FindString("oldloginname"), "zhangs");
  EXPECT_EQ(*args->FindString("oldorgcoding"), "001001");
  EXPECT_EQ(*args->FindString("orgcoding"), "001002");
}

TEST_F(DirectoryUsersTest, AMoveOutOfAnAppsScopeIsPushedToItAsADelete) {
  AddOrg("001003", "温州市");
  AddPushApp("hz", "001001");
  User u = AddUser("zhangs", "001001");
  ASSERT_TRUE(Save({{"userid", u.userid}, {"orgcoding", "001003"}}).ok());
  auto msgs = PendingFor("hz");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].method, "synchronizeUser");
  EXPECT_EQ(msgs[1].method, "deleteUser");
}

TEST_F(DirectoryUsersTest, DeleteUserIsPushedWithLoginnameAndOrgcoding) {
  User u = AddUser("zhangs", "001001");
  AddPushApp("all");
  ASSERT_TRUE(dir_->DeleteUser(Caller::Admin(), {u.userid, "", ""}).ok());
  auto msgs = PendingFor("all");
  ASSERT_EQ(msgs.size(), 1u);
  EXPECT_EQ(msgs[0].method, "deleteUser");
  auto args = codec::ParseJson(msgs[0].payload);
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(*args->FindString("loginname"), "zhangs");
  EXPECT_EQ(*args->FindString("orgcoding"), "001001");
}

TEST_F(DirectoryUsersTest, ARefusedChangeWritesNoPush) {
  AddPushApp("all");
  AddUser("zhangs", "001001");
  size_t before = Pending().size();
  EXPECT_CODE(Save(NewUser("zhangs"), SaveMode::kAddOnly), code::kUserLoginnameExists);
  EXPECT_EQ(Pending().size(), before);
}

TEST_F(DirectoryUsersTest, AChangeWhosePushCannotBeWrittenIsRolledBack) {
  AddPushApp("all");
  Execute("DROP TABLE outbox");
  auto saved = Save(NewUser("zhangs"));
  ASSERT_FALSE(saved.ok());
  EXPECT_CODE(dir_->GetUserByLoginname(Caller::Admin(), "zhangs"), code::kUserReadNotFound);
}

}  // namespace
}  // namespace tongban::directory
