// CSV import and export, demo seeding, and opening a directory (recorded
// domain_levels, built-ins).
#include <gtest/gtest.h>

#include <sstream>

#include "crypto/digest.h"
#include "directory/csv.h"
#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;

TEST(DirectoryCsvReaderTest, ReadsQuotedFieldsWithCommasQuotesAndLineBreaks) {
  std::istringstream in(
      "\xEF\xBB\xBF"
      "a,\"b,1\",\"say \"\"hi\"\"\"\r\n\"two\nlines\",x,\r\n");
  internal::CsvReader reader(in);
  std::vector<std::string> fields;
  ASSERT_TRUE(*reader.Next(&fields));
  EXPECT_EQ(fields, (std::vector<std::string>{"a", "b,1", "say \"hi\""}));
  ASSERT_TRUE(*reader.Next(&fields));
  EXPECT_EQ(reader.record_line(), 2);
  EXPECT_EQ(fields, (std::vector<std::string>{"two\nlines", "x", ""}));
  EXPECT_FALSE(*reader.Next(&fields));
}

TEST(DirectoryCsvReaderTest, AnUnterminatedQuoteIsAnErrorNamingTheLine) {
  std::istringstream in("a\n\"open,b\n");
  internal::CsvReader reader(in);
  std::vector<std::string> fields;
  ASSERT_TRUE(*reader.Next(&fields));
  auto bad = reader.Next(&fields);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("line 3"), std::string::npos) << bad.error().message;
}

TEST(DirectoryCsvWriterTest, QuotesOnlyWhereNeeded) {
  std::string out;
  internal::AppendCsvRecord({"a", "b,c", "d\"e", "张三"}, &out);
  EXPECT_EQ(out, "a,\"b,c\",\"d\"\"e\",张三\r\n");
}

class DirectoryImportTest : public DirectoryFixture {
 protected:
  void SetUp() override {
    DirectoryFixture::SetUp();
    AddOrg("001", "浙江省");
    AddOrg("001001", "杭州市");
  }

  static ImportOptions Options(int64_t batch_rows, bool hash_passwords, bool push) {
    ImportOptions options;
    options.batch_rows = batch_rows;
    options.hash_passwords = hash_passwords;
    options.push = push;
    return options;
  }

  Result<ImportReport> Import(const std::string& csv, ImportOptions options = {}) {
    std::istringstream in(csv);
    return dir_->ImportUsers(in, options);
  }
};

TEST_F(DirectoryImportTest, ImportUsersAddsEveryValidRow) {
  auto report = Import(
      "loginname,username,orgcoding,loginpwd,mobile\n"
      "zhangs,张三,001001,pw1,13800000001\n"
      "lis,李四,001001,pw2,\n");
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->rows, 2);
  EXPECT_EQ(report->added, 2);
  EXPECT_EQ(report->failed, 0);
  EXPECT_TRUE(dir_->VerifyLogin({"lis", "", "pw2", false}).ok());
  auto zs = dir_->GetUserByLoginname(Caller::Admin(), "zhangs");
  ASSERT_TRUE(zs.ok());
  EXPECT_EQ((*zs)->username, "张三");
  EXPECT_EQ((*zs)->mobile, "13800000001");
}

TEST_F(DirectoryImportTest, FailedRowsAreReportedWithTheirLineAndCodeAndSkipped) {
  AddUser("taken", "001001");
  auto report = Import(
      "loginname,username,orgcoding,loginpwd\n"
      "ok1,甲,001001,pw\n"
      "taken,乙,001001,pw\n"
      "bad name,丙,001001,pw\n"
      "ok2,丁,001009,pw\n"
      "ok3,戊,001001\n"
      "ok4,己,001001,pw\n",
      Options(2, true, true));
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->rows, 6);
  EXPECT_EQ(report->added, 2);
  EXPECT_EQ(report->failed, 4);
  ASSERT_EQ(report->errors.size(), 4u);
  EXPECT_EQ(report->errors[0].line, 3);
  EXPECT_EQ(report->errors[0].code, code::kUserLoginnameExists);
  EXPECT_EQ(report->errors[1].line, 4);
  EXPECT_EQ(report->errors[1].code, code::kUserBadLoginname);
  EXPECT_EQ(report->errors[2].line, 5);
  EXPECT_EQ(report->errors[2].code, code::kUserOrgMissing);
  EXPECT_EQ(report->errors[3].line, 6);  // a short row
  EXPECT_EQ(report->errors[3].code, code::kUserArgsIllegal);
  EXPECT_TRUE(dir_->GetUserByLoginname(Caller::Admin(), "ok4").ok());
}

TEST_F(DirectoryImportTest, DuplicatesWithinOneBatchAreCaught) {
  auto report = Import(
      "loginname,username,orgcoding,loginpwd\n"
      "same,甲,001001,pw\n"
      "same,乙,001001,pw\n");
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->added, 1);
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(report->errors[0].code, code::kUserLoginnameExists);
}

TEST_F(DirectoryImportTest, UpsertChangesExistingUsersAndKeepsTheirPasswords) {
  User taken = AddUser("taken", "001001");
  ASSERT_TRUE(dir_->CachedUser(taken.userid).ok());  // a snapshot the import must drop
  ImportOptions options;
  options.user_mode = SaveMode::kAddOrModify;
  auto report = Import(
      "loginname,username,orgcoding,loginpwd,usertitle\n"
      "taken,新名字,001001,,科长\n"
      "fresh,新人,001001,pw,\n",
      options);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->added, 1);
  EXPECT_EQ(report->modified, 1);
  EXPECT_EQ(report->failed, 0);
  auto cached = dir_->CachedUser(taken.userid);
  ASSERT_TRUE(cached.ok());
  EXPECT_EQ((*cached)->username, "新名字");
  EXPECT_EQ((*cached)->usertitle, "科长");
  EXPECT_TRUE(dir_->GetUserByLoginname(Caller::Admin(), "fresh").ok());
  // The default stays add-only.
  auto again = Import("loginname,username,orgcoding,loginpwd\ntaken,再次,001001,pw\n");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->failed, 1);
}

// Session 11: the console ends the sessions of these users (sso sits above).
TEST_F(DirectoryImportTest, UpsertNamesTheExistingUsersItGaveAPasswordOrDisabled) {
  AddUser("renamed", "001001");
  User repassed = AddUser("repassed", "001001");
  User disabled = AddUser("disabled", "001001");
  AddUser("resent", "001001");  // its own password again: no change
  ImportOptions options = Options(2, /*hash_passwords=*/false, /*push=*/false);
  options.user_mode = SaveMode::kAddOrModify;
  std::vector<std::string> told;
  options.user_access_changed = [&told](const std::string& userid, bool password_set, bool active) {
    told.push_back(userid + (password_set ? " pwd" : "") + (active ? "" : " off"));
    return Status::Ok();
  };
  auto report = Import(
      "loginname,username,orgcoding,loginpwd,useable\n"
      "renamed,改名,001001,,1\n"
      "repassed,改密,001001,New-Pass-1,1\n"
      "disabled,停用,001001,,2\n"
      "resent,重发,001001,pw-resent,1\n"
      "newcomer,新人,001001,New-Pass-2,1\n",
      options);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->modified, 4);
  EXPECT_EQ(told, (std::vector<std::string>{repassed.userid + " pwd", disabled.userid + " off"}));
}

TEST_F(DirectoryImportTest, AFailureToEndSessionsStopsTheImportAfterTheBatch) {
  AddUser("first", "001001");
  AddUser("second", "001001");
  ImportOptions options = Options(1, /*hash_passwords=*/false, /*push=*/false);
  options.user_mode = SaveMode::kAddOrModify;
  options.user_access_changed = [](const std::string&, bool, bool) -> Status {
    return Error::Unavailable("ticket store down");
  };
  auto report = Import(
      "loginname,username,orgcoding,loginpwd\n"
      "first,甲,001001,New-Pass-1\n"
      "second,乙,001001,New-Pass-2\n",
      options);
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().message, "ticket store down");
  // The first batch stays committed; the second never ran.
  EXPECT_EQ(dir_->GetUserByLoginname(Caller::Admin(), "first").value()->username, "甲");
  EXPECT_NE(dir_->GetUserByLoginname(Caller::Admin(), "second").value()->username, "乙");
}

TEST_F(DirectoryImportTest, LegacyHashesAreStoredAsTheyAreAndUpgradedAtLogin) {
  auto report =
      Import("userid,loginname,username,orgcoding,password_hash\n" + std::string(32, 'a') +
             ",old1,甲,001001,md5$" + crypto::Md5Hex("legacy") + "\n");
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->added, 1) << (report->errors.empty() ? "" : report->errors[0].message);
  EXPECT_TRUE(QueryText("SELECT password_hash FROM dir_users WHERE loginname = 'old1'")
                  .starts_with("md5$"));
  auto user = dir_->VerifyLogin({"old1", "", "legacy", false});
  ASSERT_TRUE(user.ok()) << user.error().message;
  EXPECT_EQ((*user)->userid, std::string(32, 'a'));
  EXPECT_TRUE(QueryText("SELECT password_hash FROM dir_users WHERE loginname = 'old1'")
                  .starts_with("$argon2id$"));
}

TEST_F(DirectoryImportTest, AnUnusablePasswordHashFailsTheRow) {
  auto report = Import(
      "loginname,username,orgcoding,password_hash\n"
      "old1,甲,001001,md5$nothex\n");
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->errors.size(), 1u);
  EXPECT_EQ(report->errors[0].code, code::kUserArgsIllegal);
}

TEST_F(DirectoryImportTest, WithoutHashingPlainPasswordsWaitForTheFirstLogin) {
  auto report = Import(
      "loginname,username,orgcoding,loginpwd\n"
      "fast,甲,001001,quick\n",
      Options(1000, false, true));
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(QueryText("SELECT password_hash FROM dir_users WHERE loginname = 'fast'")
                  .starts_with("plain$"));
  ASSERT_TRUE(dir_->VerifyLogin({"fast", "", "quick", false}).ok());
  EXPECT_TRUE(QueryText("SELECT password_hash FROM dir_users WHERE loginname = 'fast'")
                  .starts_with("$argon2id$"));
}

TEST_F(DirectoryImportTest, AnUnknownColumnStopsTheImportBeforeAnyRow) {
  auto report = Import(
      "loginname,username,orgcode,loginpwd\n"
      "zhangs,张三,001001,pw\n");
  ASSERT_FALSE(report.ok());
  EXPECT_EQ(report.error().code, errc::kInvalidArgument);
  EXPECT_NE(report.error().message.find("orgcode"), std::string::npos);
}

TEST_F(DirectoryImportTest, ImportedUsersArePushedUnlessTurnedOff) {
  AddPushApp("all");
  ASSERT_TRUE(Import("loginname,username,orgcoding,loginpwd\nu1,甲,001001,pw\n").ok());
  EXPECT_EQ(PendingFor("all").size(), 1u);
  ASSERT_TRUE(
      Import("loginname,username,orgcoding,loginpwd\nu2,乙,001001,pw\n", Options(1000, true, false))
          .ok());
  EXPECT_EQ(PendingFor("all").size(), 1u);
}

TEST_F(DirectoryImportTest, ProgressIsReportedAfterEachBatch) {
  std::vector<int64_t> seen;
  ImportOptions options;
  options.batch_rows = 2;
  options.progress = [&](int64_t rows) { seen.push_back(rows); };
  ASSERT_TRUE(Import("loginname,username,orgcoding,loginpwd\n"
                     "u1,甲,001001,pw\nu2,乙,001001,pw\nu3,丙,001001,pw\n",
                     options)
                  .ok());
  EXPECT_EQ(seen, (std::vector<int64_t>{2, 3}));
}

TEST_F(DirectoryImportTest, ExportedUsersImportIntoAnotherDirectory) {
  AddUser("zhangs", "001001", {{"username", "张三, \"老张\""}, {"memo", "两行\n备注"}});
  std::ostringstream users;
  std::ostringstream orgs;
  ASSERT_TRUE(dir_->ExportUsers(users).ok());
  ASSERT_TRUE(dir_->ExportOrgs(orgs).ok());

  DirectoryFixture::OpenOn("sqlite");
  std::istringstream org_in(orgs.str());
  auto org_report = dir_->ImportOrgs(org_in);
  ASSERT_TRUE(org_report.ok()) << org_report.error().message;
  EXPECT_EQ(org_report->added, 2);
  // Exports carry no passwords; the importer supplies one per row.
  std::string csv = users.str();
  size_t header_end = csv.find("\r\n");
  std::string with_pwd = csv.substr(0, header_end) + ",password_hash" + "\r\n";
  std::string rest = csv.substr(header_end + 2);
  size_t row_end = rest.rfind("\r\n");
  with_pwd += rest.substr(0, row_end) + ",plain$x\r\n";
  std::istringstream user_in(with_pwd);
  auto report = dir_->ImportUsers(user_in);
  ASSERT_TRUE(report.ok()) << report.error().message;
  ASSERT_EQ(report->added, 1) << (report->errors.empty() ? "" : report->errors[0].message);
  auto user = dir_->GetUserByLoginname(Caller::Admin(), "zhangs");
  ASSERT_TRUE(user.ok());
  EXPECT_EQ((*user)->username, "张三, \"老张\"");
  EXPECT_EQ((*user)->memo, "两行\n备注");
}

TEST_F(DirectoryImportTest, ImportOrgsAddsParentsBeforeChildrenWhateverTheOrder) {
  std::istringstream in(
      "orgcoding,orgname,orderby\n"
      "002001001,鼓楼区,1\n"
      "002001,南京市,1\n"
      "002,江苏省,2\n"
      "001,浙江,1\n");
  auto report = dir_->ImportOrgs(in);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->added, 3);
  EXPECT_EQ(report->modified, 1);
  EXPECT_EQ(report->failed, 0);
  EXPECT_TRUE(dir_->GetOrg(Caller::Admin(), "002001001").ok());
}

class DirectorySeedTest : public DirectoryFixture {};

TEST_F(DirectorySeedTest, SeedDemoCreatesOrgsAnAdminAndADemoApp) {
  auto seed = dir_->SeedDemo();
  ASSERT_TRUE(seed.ok()) << seed.error().message;
  EXPECT_TRUE(seed->created);
  EXPECT_EQ(seed->admin_loginname, "admin");
  EXPECT_EQ(seed->admin_password.size(), 16u);
  EXPECT_EQ(seed->demo_servicecode, "demo");
  EXPECT_EQ(seed->demo_servicepwd.size(), 32u);
  EXPECT_EQ(dir_->GetOrg(Caller::Admin(), "001")->orgname, "演示省");
  EXPECT_EQ(dir_->GetOrg(Caller::Admin(), "001001")->orgname, "演示市政务服务中心");
  auto admin = dir_->VerifyLogin({"admin", "", seed->admin_password, false});
  ASSERT_TRUE(admin.ok()) << admin.error().message;
  EXPECT_TRUE(*dir_->IsPlatformAdmin((*admin)->userid));
  auto demo = dir_->CachedApp("demo");
  ASSERT_TRUE(demo.ok());
  EXPECT_EQ((*demo)->servicepwd, seed->demo_servicepwd);
  EXPECT_TRUE(CallbackAllowed(**demo, "http://127.0.0.1:8000/callback"));
}

TEST_F(DirectorySeedTest, SeedDemoIsIdempotent) {
  auto first = dir_->SeedDemo();
  ASSERT_TRUE(first.ok());
  auto second = dir_->SeedDemo();
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_FALSE(second->created);
  EXPECT_TRUE(second->admin_password.empty());
  EXPECT_TRUE(dir_->VerifyLogin({"admin", "", first->admin_password, false}).ok());
}

TEST_F(DirectorySeedTest, SeedDemoLeavesADirectoryWithOrgsAlone) {
  AddOrg("330", "真实的省");
  auto seed = dir_->SeedDemo();
  ASSERT_TRUE(seed.ok());
  EXPECT_FALSE(seed->created);
  EXPECT_CODE(dir_->GetOrg(Caller::Admin(), "001"), code::kOrgReadNotFound);
}

TEST_F(DirectorySeedTest, ASeedingCutShortCompletesOnTheNextCall) {
  Execute("INSERT INTO dir_settings (name, value) VALUES ('demo_seed', 'started')");
  AddOrg("001", "演示省");
  auto seed = dir_->SeedDemo();
  ASSERT_TRUE(seed.ok()) << seed.error().message;
  EXPECT_TRUE(seed->created);
  EXPECT_TRUE(dir_->GetOrg(Caller::Admin(), "001001").ok());
  EXPECT_FALSE(seed->admin_password.empty());
}

TEST_F(DirectorySeedTest, OpeningWithOtherDomainLevelsThanRecordedFails) {
  DirectoryOptions options = test::FastOptions();
  options.domain_levels = 2;
  auto other = Directory::Open(*store_, *outbox_, clock_, random_, *box_, options);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, errc::kInvalidArgument);
}

TEST_F(DirectorySeedTest, TwoLevelDomainsSeparateCitiesOfOneProvince) {
  DirectoryFixture::OpenOn("sqlite", [] {
    DirectoryOptions o = test::FastOptions();
    o.domain_levels = 2;
    return o;
  }());
  AddOrg("001", "浙江省");
  AddOrg("001001", "杭州市");
  AddOrg("001002", "宁波市");
  AddUser("zhangs", "001001");
  EXPECT_TRUE(dir_->SaveUser(Caller::Admin(),
                             {{"loginname", "zhangs"},
                              {"username", "张三"},
                              {"orgcoding", "001002"},
                              {"loginpwd", "x"}},
                             SaveMode::kAddOnly)
                  .ok());
}

TEST_F(DirectorySeedTest, ReopeningKeepsTheBuiltInsWithoutDuplicates) {
  Reopen();
  Reopen();
  auto roles = dir_->Roles(kPlatformApp);
  ASSERT_TRUE(roles.ok());
  EXPECT_EQ(roles->size(), 1u);
}

}  // namespace
}  // namespace tongban::directory
