// Orgs: synchronizeOrg's rules and codes (10xx), deletes (11xx), reads (12xx),
// and the pushes an org change writes.
#include <gtest/gtest.h>

#include "codec/parse.h"
#include "directory_test_support.h"

namespace tongban::directory {
namespace {

using test::DirectoryFixture;

class DirectoryOrgsTest : public DirectoryFixture {};

TEST_F(DirectoryOrgsTest, SaveOrgAddsATopLevelOrgAndReadsItBackInChinese) {
  auto saved = dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001"},
                                               {"orgname", "浙江省"},
                                               {"orgallname", "浙江省人民政府"},
                                               {"principalname", "王五"},
                                               {"orderby", "3"}});
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_TRUE(saved->added);
  auto org = dir_->GetOrg(Caller::Admin(), "001");
  ASSERT_TRUE(org.ok()) << org.error().message;
  EXPECT_EQ(org->orgname, "浙江省");
  EXPECT_EQ(org->orgallname, "浙江省人民政府");
  EXPECT_EQ(org->principalname, "王五");
  EXPECT_EQ(org->orderby, 3);
  EXPECT_EQ(org->parent, "");
  EXPECT_EQ(org->domain, "001");
}

TEST_F(DirectoryOrgsTest, SaveOrgModifiesAnExistingOrgKeepingFieldsNotGiven) {
  AddOrg("001", "浙江省");
  ASSERT_TRUE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001"}, {"orgphone", "0571-1"}}).ok());
  auto saved = dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001"}, {"orgname", "浙江"}});
  ASSERT_TRUE(saved.ok()) << saved.error().message;
  EXPECT_FALSE(saved->added);
  EXPECT_EQ(saved->org.orgname, "浙江");
  EXPECT_EQ(saved->org.orgphone, "0571-1");
}

TEST_F(DirectoryOrgsTest, AChildOrgRecordsItsParentAndInheritsTheDomain) {
  AddOrg("001", "浙江省");
  Org child = AddOrg("001002", "省公安厅");
  EXPECT_EQ(child.parent, "001");
  EXPECT_EQ(child.domain, "001");
}

TEST_F(DirectoryOrgsTest, AnAppWithoutDirectoryWriteGets1001) {
  AddApp("reader", /*directory_write=*/false);
  EXPECT_CODE(dir_->SaveOrg(Caller::ForApp("reader"), {{"orgcoding", "001"}, {"orgname", "省"}}),
              code::kOrgSyncNotAllowed);
}

TEST_F(DirectoryOrgsTest, AnOrgOutsideTheAppsScopeGets1003) {
  AddOrg("001", "浙江省");
  AddOrg("002", "江苏省");
  AddApp("city", true, "001");
  EXPECT_CODE(dir_->SaveOrg(Caller::ForApp("city"), {{"orgcoding", "002001"}, {"orgname", "x"}}),
              code::kOrgNoRight);
  EXPECT_TRUE(
      dir_->SaveOrg(Caller::ForApp("city"), {{"orgcoding", "001001"}, {"orgname", "杭州"}}).ok());
}

TEST_F(DirectoryOrgsTest, AnUnknownAppGets9900) {
  EXPECT_CODE(dir_->SaveOrg(Caller::ForApp("nosuch"), {{"orgcoding", "001"}, {"orgname", "x"}}),
              code::kAppNotFound);
}

TEST_F(DirectoryOrgsTest, AMissingParentGets1004) {
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001002"}, {"orgname", "厅"}}),
              code::kOrgParentMissing);
}

TEST_F(DirectoryOrgsTest, ANonNumericOrderbyGets1005) {
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(),
                            {{"orgcoding", "001"}, {"orgname", "省"}, {"orderby", "first"}}),
              code::kOrgBadOrderby);
}

TEST_F(DirectoryOrgsTest, AnEmptyOrgcodingGets1006) {
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", ""}, {"orgname", "省"}}),
              code::kOrgRequiredEmpty);
}

TEST_F(DirectoryOrgsTest, AnAddWithoutOrgnameGets1006) {
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001"}}), code::kOrgRequiredEmpty);
}

TEST_F(DirectoryOrgsTest, AnOrgcodingNotInLevelsOfThreeDigitsGets1007) {
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "0012"}, {"orgname", "省"}}),
              code::kOrgBadCoding);
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "00a"}, {"orgname", "省"}}),
              code::kOrgBadCoding);
}

TEST_F(DirectoryOrgsTest, IllegalCharactersInDevcodingGet1008) {
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(),
                            {{"orgcoding", "001"}, {"orgname", "省"}, {"devcoding", "a b;c"}}),
              code::kOrgBadDevcoding);
}

TEST_F(DirectoryOrgsTest, AnOverlongFieldGets1009) {
  EXPECT_CODE(
      dir_->SaveOrg(Caller::Admin(),
                    {{"orgcoding", "001"}, {"orgname", "省"}, {"orgphone", std::string(100, '1')}}),
      code::kOrgArgsIllegal);
}

TEST_F(DirectoryOrgsTest, AnIllegalNodetypeGets1009) {
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(),
                            {{"orgcoding", "001"}, {"orgname", "省"}, {"nodetype", "region"}}),
              code::kOrgArgsIllegal);
}

TEST_F(DirectoryOrgsTest, AnAddOnlySaveOfAnExistingOrgcodingGets1010) {
  AddOrg("001", "浙江省");
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001"}, {"orgname", "又一个"}},
                            SaveMode::kAddOnly),
              code::kOrgCodingInUse);
}

TEST_F(DirectoryOrgsTest, AnOrgnameWithMarkupCharactersGets1011) {
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001"}, {"orgname", "<b>省</b>"}}),
              code::kOrgBadName);
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001"}, {"orgname", " 省"}}),
              code::kOrgBadName);
}

TEST_F(DirectoryOrgsTest, ASiblingWithTheSameOrgnameGets1012) {
  AddOrg("001", "浙江省");
  AddOrg("001001", "杭州市");
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001002"}, {"orgname", "杭州市"}}),
              code::kOrgNameExists);
}

TEST_F(DirectoryOrgsTest, TheSameOrgnameUnderAnotherParentIsAllowed) {
  AddOrg("001", "浙江省");
  AddOrg("002", "江苏省");
  AddOrg("001001", "财政厅");
  EXPECT_TRUE(
      dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "002001"}, {"orgname", "财政厅"}}).ok());
}

TEST_F(DirectoryOrgsTest, DeleteOrgRemovesALeafOrg) {
  AddOrg("001", "浙江省");
  auto deleted = dir_->DeleteOrg(Caller::Admin(), "001");
  ASSERT_TRUE(deleted.ok()) << deleted.error().message;
  EXPECT_EQ(deleted->orgname, "浙江省");
  EXPECT_CODE(dir_->GetOrg(Caller::Admin(), "001"), code::kOrgReadNotFound);
}

TEST_F(DirectoryOrgsTest, DeletingAnUnknownOrgGets1104) {
  EXPECT_CODE(dir_->DeleteOrg(Caller::Admin(), "009"), code::kOrgNotFound);
  EXPECT_CODE(dir_->DeleteOrg(Caller::Admin(), "x"), code::kOrgNotFound);
}

TEST_F(DirectoryOrgsTest, DeletingAnOrgWithChildrenGets1105) {
  AddOrg("001", "浙江省");
  AddOrg("001001", "杭州市");
  EXPECT_CODE(dir_->DeleteOrg(Caller::Admin(), "001"), code::kOrgHasChildren);
}

TEST_F(DirectoryOrgsTest, DeletingAnOrgWithUsersGets1106) {
  AddOrg("001", "浙江省");
  AddUser("zhangs", "001");
  EXPECT_CODE(dir_->DeleteOrg(Caller::Admin(), "001"), code::kOrgHasUsers);
}

TEST_F(DirectoryOrgsTest, DeletingAnOrgThatIsOnlyAUsersFurtherOrgGets1106) {
  AddOrg("001", "浙江省");
  AddOrg("002", "江苏省");
  AddUser("zhangs", "001", {{"extendorgcoding", "002"}});
  EXPECT_CODE(dir_->DeleteOrg(Caller::Admin(), "002"), code::kOrgHasUsers);
}

TEST_F(DirectoryOrgsTest, DeletingAnOrgThatOwnsAnAppGets1107) {
  AddOrg("001", "浙江省");
  App settings;
  settings.servicecode = "owned";
  settings.name = "owned";
  settings.orgcoding = "001";
  ASSERT_TRUE(dir_->CreateApp(settings).ok());
  EXPECT_CODE(dir_->DeleteOrg(Caller::Admin(), "001"), code::kOrgHasApps);
}

TEST_F(DirectoryOrgsTest, DeleteByAnAppWithoutDirectoryWriteGets1101) {
  AddOrg("001", "浙江省");
  AddApp("reader", false);
  EXPECT_CODE(dir_->DeleteOrg(Caller::ForApp("reader"), "001"), code::kOrgDeleteNotAllowed);
}

TEST_F(DirectoryOrgsTest, DeleteOutsideTheAppsScopeGets1103) {
  AddOrg("001", "浙江省");
  AddOrg("002", "江苏省");
  AddApp("city", true, "001");
  EXPECT_CODE(dir_->DeleteOrg(Caller::ForApp("city"), "002"), code::kOrgDeleteNoRight);
}

TEST_F(DirectoryOrgsTest, GetOrgRefusesAMalformedCodeWith1203) {
  EXPECT_CODE(dir_->GetOrg(Caller::Admin(), "1"), code::kOrgReadBadCoding);
}

TEST_F(DirectoryOrgsTest, GetOrgOutsideTheAppsScopeGets1202) {
  AddOrg("001", "浙江省");
  AddOrg("002", "江苏省");
  AddApp("city", false, "001");
  EXPECT_CODE(dir_->GetOrg(Caller::ForApp("city"), "002"), code::kOrgReadNoRight);
  EXPECT_TRUE(dir_->GetOrg(Caller::ForApp("city"), "001").ok());
}

TEST_F(DirectoryOrgsTest, ChildOrgsListsDirectChildrenInOrderbyOrderWithATotal) {
  AddOrg("001", "浙江省");
  ASSERT_TRUE(dir_->SaveOrg(Caller::Admin(),
                            {{"orgcoding", "001001"}, {"orgname", "杭州"}, {"orderby", "2"}})
                  .ok());
  ASSERT_TRUE(dir_->SaveOrg(Caller::Admin(),
                            {{"orgcoding", "001002"}, {"orgname", "宁波"}, {"orderby", "1"}})
                  .ok());
  ASSERT_TRUE(dir_->SaveOrg(Caller::Admin(),
                            {{"orgcoding", "001003"}, {"orgname", "温州"}, {"orderby", "3"}})
                  .ok());
  AddOrg("001001001", "西湖区");
  auto page = dir_->ChildOrgs(Caller::Admin(), "001", Page{1, 2});
  ASSERT_TRUE(page.ok()) << page.error().message;
  EXPECT_EQ(page->total, 3);
  ASSERT_EQ(page->items.size(), 2u);
  EXPECT_EQ(page->items[0].orgname, "宁波");
  EXPECT_EQ(page->items[1].orgname, "杭州");
  auto second = dir_->ChildOrgs(Caller::Admin(), "001", Page{2, 2});
  ASSERT_TRUE(second.ok());
  ASSERT_EQ(second->items.size(), 1u);
  EXPECT_EQ(second->items[0].orgname, "温州");
}

TEST_F(DirectoryOrgsTest, ChildOrgsOfTheEmptyCodeListsTopLevelOrgs) {
  AddOrg("001", "浙江省");
  AddOrg("002", "江苏省");
  AddOrg("001001", "杭州");
  auto page = dir_->ChildOrgs(Caller::Admin(), "", Page{});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->total, 2);
}

TEST_F(DirectoryOrgsTest, ChildOrgsOfAnUnknownOrgGets1204AndABadPageGets1209) {
  EXPECT_CODE(dir_->ChildOrgs(Caller::Admin(), "001", Page{}), code::kOrgReadNotFound);
  AddOrg("001", "浙江省");
  EXPECT_CODE(dir_->ChildOrgs(Caller::Admin(), "001", Page{0, 10}), code::kOrgReadBadPage);
  EXPECT_CODE(dir_->ChildOrgs(Caller::Admin(), "001", Page{1, 5000}), code::kOrgReadBadPage);
}

TEST_F(DirectoryOrgsTest, SearchOrgsMatchesAPrefixOfTheNameOrTheCode) {
  AddOrg("001", "浙江省");
  AddOrg("001001", "杭州市");
  AddOrg("001002", "湖州市");
  AddOrg("002", "江苏省");
  auto by_name = dir_->SearchOrgs("杭", Page{});
  ASSERT_TRUE(by_name.ok()) << by_name.error().message;
  ASSERT_EQ(by_name->total, 1);
  EXPECT_EQ(by_name->items[0].orgcoding, "001001");
  auto by_code = dir_->SearchOrgs("001", Page{});
  ASSERT_TRUE(by_code.ok());
  EXPECT_EQ(by_code->total, 3);
}

TEST_F(DirectoryOrgsTest, AnOrgChangeIsPushedToEverySubscribedAppInScope) {
  AddPushApp("all");
  AddPushApp("jiangsu", "002");
  AddApp("silent");  // no push URL
  AddOrg("001", "浙江省");
  auto to_all = PendingFor("all");
  ASSERT_EQ(to_all.size(), 1u);
  EXPECT_EQ(to_all[0].method, "synchronizeOrg");
  auto args = codec::ParseJson(to_all[0].payload);
  ASSERT_TRUE(args.ok());
  EXPECT_EQ(args->FindString("orgcoding") ? *args->FindString("orgcoding") : "", "001");
  EXPECT_EQ(args->FindString("orgname") ? *args->FindString("orgname") : "", "浙江省");
  EXPECT_TRUE(PendingFor("jiangsu").empty());
  EXPECT_TRUE(PendingFor("silent").empty());
}

TEST_F(DirectoryOrgsTest, AnOrgChangeIsNotPushedBackToTheAppThatMadeIt) {
  AddPushApp("a");
  AddPushApp("b");
  ASSERT_TRUE(dir_->SaveOrg(Caller::ForApp("a"), {{"orgcoding", "001"}, {"orgname", "省"}}).ok());
  EXPECT_TRUE(PendingFor("a").empty());
  EXPECT_EQ(PendingFor("b").size(), 1u);
}

TEST_F(DirectoryOrgsTest, AFailedOrgChangeWritesNoPush) {
  AddPushApp("all");
  AddOrg("001", "浙江省");
  AddOrg("001001", "杭州市");
  size_t before = Pending().size();
  EXPECT_CODE(dir_->SaveOrg(Caller::Admin(), {{"orgcoding", "001002"}, {"orgname", "杭州市"}}),
              code::kOrgNameExists);
  EXPECT_EQ(Pending().size(), before);
}

TEST_F(DirectoryOrgsTest, DeleteOrgPushesDeleteOrg) {
  AddPushApp("all");
  AddOrg("001", "浙江省");
  ASSERT_TRUE(dir_->DeleteOrg(Caller::Admin(), "001").ok());
  auto msgs = PendingFor("all");
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[1].method, "deleteOrg");
  EXPECT_NE(msgs[1].payload.find("\"orgcoding\":\"001\""), std::string::npos);
}

TEST_F(DirectoryOrgsTest, ARefusedDeleteWritesNoPush) {
  AddPushApp("all");
  AddOrg("001", "浙江省");
  AddOrg("001001", "杭州市");
  size_t before = Pending().size();
  EXPECT_CODE(dir_->DeleteOrg(Caller::Admin(), "001"), code::kOrgHasChildren);
  EXPECT_EQ(Pending().size(), before);
}

}  // namespace
}  // namespace tongban::directory
