// The login-name cache (issue 19): getUserByLoginname answers from memory
// after the first read on every backend, and stays right when the name's
// holders change on this node or on another one (dir_changes kind 'l').
// Also the add-only import batch (UserBatch) on the database servers.
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "directory/codes.h"
#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;
using test::FastOptions;

class DirectoryLoginsTest : public DirectoryFixture,
                            public ::testing::WithParamInterface<std::string> {
 protected:
  void SetUp() override {
    OpenOn(GetParam());
    if (IsSkipped() || HasFatalFailure()) return;
    AddOrg("001", "省");
    AddOrg("001001", "市");
    AddOrg("002", "另一省");
  }

  std::unique_ptr<Directory> OtherNode() {
    auto other = Directory::Open(*store_, *outbox_, clock_, random_, *box_, FastOptions());
    EXPECT_TRUE(other.ok());
    return std::move(*other);
  }

  int LookupCode(Directory& d, const std::string& loginname, const std::string& org = "") {
    auto found = d.GetUserByLoginname(Caller::Admin(), loginname, org);
    return found.ok() ? 0 : found.error().code;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, DirectoryLoginsTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(DirectoryLoginsTest, ACachedLookupRunsNoSql) {
  User u = AddUser("zhangs", "001001");
  auto first = dir_->GetUserByLoginname(Caller::Admin(), "ZhangS");
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ((*first)->userid, u.userid);
  // Behind the directory's back: the row is gone. Only an answer from memory
  // can still find the user.
  Execute("DELETE FROM dir_users WHERE loginkey = 'zhangs'");
  for (const char* org : {"", "001001", "001"}) {
    auto again = dir_->GetUserByLoginname(Caller::Admin(), "zhangs", org);
    ASSERT_TRUE(again.ok()) << org << ": " << again.error().message;
    EXPECT_EQ((*again)->userid, u.userid);
  }
  EXPECT_EQ(LookupCode(*dir_, "zhangs", "002"), code::kUserReadNotFound);
  dir_->ClearCaches();
  EXPECT_EQ(LookupCode(*dir_, "zhangs"), code::kUserReadNotFound);
}

// Lookup::kMemoryOnly (an I/O thread's try): kNotCached where a read would
// need the database, the same answer as kMayLoad once in memory, and never a
// stale one after a change made here.
TEST_P(DirectoryLoginsTest, AMemoryOnlyLookupAnswersHitsAndReportsMisses) {
  User u = AddUser("zhoum", "001001");
  dir_->ClearCaches();
  auto cold = dir_->GetUserByLoginname(Caller::Admin(), "zhoum", "", Lookup::kMemoryOnly);
  ASSERT_FALSE(cold.ok());
  EXPECT_EQ(cold.error().code, kNotCached);
  auto by_id = dir_->GetUserById(Caller::Admin(), u.userid, Lookup::kMemoryOnly);
  ASSERT_FALSE(by_id.ok());
  EXPECT_EQ(by_id.error().code, kNotCached);
  ASSERT_EQ(LookupCode(*dir_, "zhoum"), 0);  // loads the holders and the user
  Execute("DELETE FROM dir_users WHERE loginkey = 'zhoum'");  // only memory has it now
  for (const char* org : {"", "001001"}) {
    auto hot = dir_->GetUserByLoginname(Caller::Admin(), "zhoum", org, Lookup::kMemoryOnly);
    ASSERT_TRUE(hot.ok()) << org << ": " << hot.error().message;
    EXPECT_EQ((*hot)->userid, u.userid);
  }
  auto hot_id = dir_->GetUserById(Caller::Admin(), u.userid, Lookup::kMemoryOnly);
  ASSERT_TRUE(hot_id.ok());
  // Answers that need no row are the same from memory: another domain's miss.
  auto other = dir_->GetUserByLoginname(Caller::Admin(), "zhoum", "002", Lookup::kMemoryOnly);
  ASSERT_FALSE(other.ok());
  EXPECT_EQ(other.error().code, code::kUserReadNotFound);
  // An org, and an app caller, from memory once loaded.
  auto org = dir_->GetOrg(Caller::Admin(), "001001", Lookup::kMemoryOnly);
  EXPECT_FALSE(org.ok());
  ASSERT_TRUE(dir_->GetOrg(Caller::Admin(), "001001").ok());
  EXPECT_TRUE(dir_->GetOrg(Caller::Admin(), "001001", Lookup::kMemoryOnly).ok());
}

TEST_P(DirectoryLoginsTest, MissesNotedInMemoryAreReadTogetherByTheNextLoad) {
  User a = AddUser("qianm", "001001");
  User b = AddUser("qianm", "002");  // namesakes: both holders come with the batch
  User c = AddUser("fengx", "001001");
  dir_->ClearCaches();
  for (const char* name : {"qianm", "fengx", "nobody1", "fengx"}) {
    auto miss = dir_->GetUserByLoginname(Caller::Admin(), name, "", Lookup::kMemoryOnly);
    ASSERT_FALSE(miss.ok());
    EXPECT_EQ(miss.error().code, kNotCached) << name;
  }
  ASSERT_EQ(LookupCode(*dir_, "fengx"), 0);  // loads every noted key in one read
  Execute("DELETE FROM dir_users");          // only memory has them now
  EXPECT_EQ(LookupCode(*dir_, "qianm"), code::kUserReadAmbiguous);
  auto in_b = dir_->GetUserByLoginname(Caller::Admin(), "qianm", "002", Lookup::kMemoryOnly);
  ASSERT_TRUE(in_b.ok()) << in_b.error().message;
  EXPECT_EQ((*in_b)->userid, b.userid);
  EXPECT_TRUE(dir_->GetUserById(Caller::Admin(), a.userid, Lookup::kMemoryOnly).ok());
  EXPECT_TRUE(dir_->GetUserById(Caller::Admin(), c.userid, Lookup::kMemoryOnly).ok());
  auto nobody = dir_->GetUserByLoginname(Caller::Admin(), "nobody1", "", Lookup::kMemoryOnly);
  ASSERT_FALSE(nobody.ok());
  EXPECT_EQ(nobody.error().code, code::kUserReadNotFound);  // the miss was read too
}

TEST_P(DirectoryLoginsTest, ANotedMissChangedBeforeTheLoadIsReadAsItIsThen) {
  User a = AddUser("jiangy", "001001");
  AddUser("shenz", "001001");
  dir_->ClearCaches();
  for (const char* name : {"jiangy", "shenz"}) {
    ASSERT_FALSE(dir_->GetUserByLoginname(Caller::Admin(), name, "", Lookup::kMemoryOnly).ok());
  }
  // Renamed between the miss and the load: the batch reads today's rows.
  ASSERT_TRUE(dir_->SaveUser(Caller::Admin(), {{"userid", a.userid}, {"loginname", "jiangy2"}}).ok());
  ASSERT_EQ(LookupCode(*dir_, "shenz"), 0);
  EXPECT_EQ(LookupCode(*dir_, "jiangy"), code::kUserReadNotFound);
  EXPECT_EQ(LookupCode(*dir_, "jiangy2"), 0);
}

TEST_P(DirectoryLoginsTest, AMemoryOnlyLookupNeverAnswersFromAStaleEntry) {
  User u = AddUser("sunq", "001001");
  ASSERT_EQ(LookupCode(*dir_, "sunq"), 0);
  ASSERT_TRUE(dir_->SaveUser(Caller::Admin(), {{"userid", u.userid}, {"loginname", "sunq2"}}).ok());
  auto old = dir_->GetUserByLoginname(Caller::Admin(), "sunq", "", Lookup::kMemoryOnly);
  ASSERT_FALSE(old.ok());
  EXPECT_TRUE(old.error().code == kNotCached || old.error().code == code::kUserReadNotFound)
      << old.error().code;
  EXPECT_EQ(LookupCode(*dir_, "sunq"), code::kUserReadNotFound);
}

TEST_P(DirectoryLoginsTest, AColdLookupAlsoFillsTheUserSnapshot) {
  User u = AddUser("lisi", "001001");
  dir_->ClearCaches();
  ASSERT_EQ(LookupCode(*dir_, "lisi"), 0);
  Execute("DELETE FROM dir_users WHERE userid = '" + u.userid + "'");
  EXPECT_TRUE(dir_->CachedUser(u.userid).ok());  // filled by the lookup's one read
}

TEST_P(DirectoryLoginsTest, AMissIsCachedAndAnAddHereEndsIt) {
  EXPECT_EQ(LookupCode(*dir_, "wangw"), code::kUserReadNotFound);
  AddUser("wangw", "001001");
  EXPECT_EQ(LookupCode(*dir_, "wangw"), 0);
}

TEST_P(DirectoryLoginsTest, ANamesakeAddedOnAnotherNodeMakesTheNameAmbiguousAfterThePoll) {
  AddUser("zhaol", "001001");
  auto other = OtherNode();
  ASSERT_TRUE(other->FollowChanges().ok());
  ASSERT_EQ(LookupCode(*other, "zhaol"), 0);
  ASSERT_EQ(LookupCode(*other, "ghost"), code::kUserReadNotFound);
  AddUser("zhaol", "002");  // the same name in another domain, through this node
  AddUser("ghost", "002");
  ASSERT_TRUE(other->FollowChanges().ok());
  EXPECT_EQ(LookupCode(*other, "zhaol"), code::kUserReadAmbiguous);
  EXPECT_EQ(LookupCode(*other, "zhaol", "002"), 0);
  EXPECT_EQ(LookupCode(*other, "ghost"), 0);
}

TEST_P(DirectoryLoginsTest, ARenameOrDeleteOnAnotherNodeReachesTheCache) {
  User a = AddUser("sunq", "001001");
  User b = AddUser("zhouw", "001001");
  auto other = OtherNode();
  ASSERT_TRUE(other->FollowChanges().ok());
  ASSERT_EQ(LookupCode(*other, "sunq"), 0);
  ASSERT_EQ(LookupCode(*other, "zhouw"), 0);
  auto renamed = dir_->SaveUser(Caller::Admin(), {{"userid", a.userid}, {"loginname", "sunq2"}});
  ASSERT_TRUE(renamed.ok()) << renamed.error().message;
  ASSERT_TRUE(dir_->DeleteUser(Caller::Admin(), UserKey{b.userid, "", ""}).ok());
  ASSERT_TRUE(other->FollowChanges().ok());
  EXPECT_EQ(LookupCode(*other, "sunq"), code::kUserReadNotFound);
  EXPECT_EQ(LookupCode(*other, "sunq2"), 0);
  EXPECT_EQ(LookupCode(*other, "zhouw"), code::kUserReadNotFound);
}

TEST_P(DirectoryLoginsTest, AnEntryNamingAUserWhoLostTheNameIsReadAgain) {
  // Without any poll: the user's snapshot expired (here: dropped), and the
  // name now belongs to somebody else.
  User a = AddUser("wuj", "001001");
  ASSERT_EQ(LookupCode(*dir_, "wuj"), 0);
  Execute("UPDATE dir_users SET loginname = 'wuj9', loginkey = 'wuj9' WHERE userid = '" +
          a.userid + "'");
  User b = AddUser("wuj", "001001");
  auto found = dir_->GetUserByLoginname(Caller::Admin(), "wuj");
  ASSERT_TRUE(found.ok()) << found.error().message;
  EXPECT_EQ((*found)->userid, b.userid);
}

TEST_P(DirectoryLoginsTest, AnAddOnlyImportChecksEveryRowAgainstTheDatabaseAndTheBatch) {
  AddUser("exists", "001001", {{"mobile", "13800000001"}});
  std::istringstream csv(
      "loginname,username,orgcoding,loginpwd,mobile,extendorgcoding\n"
      "imp1,用户一,001001,pw,13800000002,\n"
      "exists,重名,001001,pw,,\n"                // 2010 in this domain
      "exists,另一域,002,pw,,\n"                 // fine: another domain
      "imp2,手机重复,001001,pw,13800000001,\n"   // 2012: the database's mobile
      "imp1,批内重名,001001,pw,,\n"              // taken by the row above in the batch
      "imp3,批内手机,001001,pw,13800000002,\n"   // mobile taken in the batch
      "imp4,无此机构,009,pw,,\n"                 // org missing
      "imp5,兼职,001001,pw,,001;002\n"           // extend orgs written with the batch
      ",张三丰,001001,pw,,\n"                    // a generated login name
      ",张三丰,001001,pw,,\n");                  // and the next free one
  ImportOptions options;
  options.hash_passwords = false;
  int64_t committed_added = -1;
  options.committed = [&](const ImportReport& r) { committed_added = r.added; };
  auto report = dir_->ImportUsers(csv, options);
  ASSERT_TRUE(report.ok()) << report.error().message;
  EXPECT_EQ(report->rows, 10);
  EXPECT_EQ(report->added, 5) << (report->errors.empty() ? "" : report->errors[0].message);
  EXPECT_EQ(report->failed, 5);
  EXPECT_EQ(committed_added, 5);
  std::vector<int64_t> lines;
  for (const ImportRowError& e : report->errors) lines.push_back(e.line);
  EXPECT_EQ(lines, (std::vector<int64_t>{3, 5, 6, 7, 8}));
  auto user_orgs = store_->WithSession([](soci::session& sql) -> Result<long long> {
    long long n = 0;
    sql << "SELECT COUNT(*) FROM dir_user_orgs", soci::into(n);
    return n;
  });
  ASSERT_TRUE(user_orgs.ok());
  EXPECT_EQ(*user_orgs, 2);  // imp5's two further orgs
  EXPECT_EQ(LookupCode(*dir_, "imp5"), 0);
  EXPECT_EQ(LookupCode(*dir_, "exists"), code::kUserReadAmbiguous);
  EXPECT_EQ(LookupCode(*dir_, "zhangsf"), 0);
  EXPECT_EQ(LookupCode(*dir_, "zhangsf1"), 0);
  EXPECT_TRUE(dir_->VerifyLogin({"imp1", "", "pw", false}).ok());
}

TEST_P(DirectoryLoginsTest, ASearchByNameIsOrderedByNameThenLoginAndPages) {
  // Issue 19: a name search walks (username, loginkey, domain) and stops at
  // the page. Any non-ASCII text can only be a name.
  AddUser("b2", "001001", {{"username", "张伟"}});
  AddUser("a9", "001001", {{"username", "张伟"}});
  AddUser("a1", "001001", {{"username", "张三"}});
  AddUser("c1", "002", {{"username", "李四"}});
  std::vector<std::string> order;
  for (int64_t page = 1; page <= 2; ++page) {
    auto found = dir_->SearchUsers({"张", ""}, Page{page, 2});
    ASSERT_TRUE(found.ok()) << found.error().message;
    EXPECT_EQ(found->total, 3);
    for (const User& u : found->items) order.push_back(u.loginname);
  }
  // UTF-8 byte order: 张三 (E5 BC A0 E4 B8 89) before 张伟 (E5 BC A0 E4 BC 9F).
  EXPECT_EQ(order, (std::vector<std::string>{"a1", "a9", "b2"}));
  // An ASCII text still searches every field, ordered by login name.
  auto ascii = dir_->SearchUsers({"a", ""}, Page{});
  ASSERT_TRUE(ascii.ok());
  ASSERT_EQ(ascii->total, 2);
  EXPECT_EQ(ascii->items[0].loginname, "a1");
}

}  // namespace
}  // namespace tongban::directory
