// ResourceStore on SQLite, PostgreSQL and MariaDB: the classification tree,
// codes by the resource-code rule, versions, publish / withdraw, Chinese
// full-text search (FTS5 on SQLite, the terms table elsewhere), browse.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <set>

#include "catalogue/audit.h"
#include "catalogue_test_support.h"

namespace {

using namespace catalogue_test;

std::set<std::string> Names(const SearchPage& page) {
  std::set<std::string> out;
  for (const Resource& r : page.items) out.insert(r.name);
  return out;
}

SearchPage Find(Catalogue& db, SearchQuery q) {
  auto page = db.resources->Search(q);
  EXPECT_TRUE(page.ok()) << page.error().message;
  return page.ok() ? *page : SearchPage{};
}

SearchQuery Q(std::string text, std::string classification = "", std::string org = "",
              int offset = 0, int limit = 20) {
  SearchQuery q;
  q.text = std::move(text);
  q.classification = std::move(classification);
  q.provider_org = std::move(org);
  q.offset = offset;
  q.limit = limit;
  return q;
}

AuditFilter ByAction(std::string prefix) {
  AuditFilter f;
  f.action_prefix = std::move(prefix);
  return f;
}

using CatalogueStoreTest = BackendTest;

TEST_P(CatalogueStoreTest, TheTreeNeedsItsParentsAndKeepsThemWhileUsed) {
  auto orphan = db.resources->PutClassification({"301001", "无上级", "", 0}, db.admin);
  EXPECT_EQ(orphan.error().code, errc::kInvalidArgument);
  EXPECT_EQ(db.resources->PutClassification({"1010", "长度不对", "", 0}, db.admin).error().code,
            errc::kInvalidArgument);
  auto tree = db.resources->ListClassifications();
  ASSERT_TRUE(tree.ok());
  ASSERT_EQ(tree->size(), 8u);
  EXPECT_EQ((*tree)[2].code, "101001");
  EXPECT_EQ((*tree)[2].parent, "101");
  EXPECT_EQ((*tree)[2].level, 3);
  EXPECT_EQ(db.resources->DeleteClassification("101", db.admin).error().code, errc::kConflict);
  db.Published(PlainResource("社会组织", "摘要", "201001"));
  EXPECT_EQ(db.resources->DeleteClassification("201001", db.admin).error().code, errc::kConflict);
  ASSERT_TRUE(db.resources->PutClassification({"201002", "临时", "", 0}, db.admin).ok());
  EXPECT_TRUE(db.resources->DeleteClassification("201002", db.admin).ok());
}

TEST_P(CatalogueStoreTest, CodesFollowTheRulePerClassification) {
  auto a = db.resources->Create(PlainResource("甲", "摘要"), db.admin);
  auto b = db.resources->Create(PlainResource("乙", "摘要"), db.admin);
  auto c = db.resources->Create(PlainResource("丙", "摘要", "201001"), db.admin);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->code, "102001/000001");
  EXPECT_EQ(b->code, "102001/000002");
  EXPECT_EQ(c->code, "201001/000001");
  EXPECT_TRUE(IsValidResourceCode(a->code));
  Resource unknown = PlainResource("丁", "摘要", "201009");
  EXPECT_EQ(db.resources->Create(unknown, db.admin).error().code, errc::kInvalidArgument);
}

TEST_P(CatalogueStoreTest, EditsAreVersionsAndSearchersSeeThePublishedOne) {
  Resource r = db.Published(PlainResource("养老机构名录", "全市养老机构"));
  EXPECT_EQ(r.version, 1);
  EXPECT_FALSE(r.release_date.empty());
  Resource edit = r;
  edit.name = "养老服务机构名录";
  auto v2 = db.resources->Update(r.id, edit, 1, db.admin);
  ASSERT_TRUE(v2.ok()) << v2.error().message;
  EXPECT_EQ(v2->version, 2);
  // A second editor still on version 1 is refused.
  EXPECT_EQ(db.resources->Update(r.id, edit, 1, db.admin).error().code, errc::kConflict);
  auto shown = db.resources->GetPublished(r.id);
  ASSERT_TRUE(shown.ok());
  EXPECT_EQ(shown->name, "养老机构名录");
  EXPECT_EQ(Names(Find(db, Q("服务机构"))).size(), 0u);
  auto pending = db.resources->ListPendingReview();
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  ASSERT_TRUE(db.resources->Publish(r.id, db.admin).ok());
  EXPECT_EQ(Names(Find(db, Q("服务机构"))), std::set<std::string>{"养老服务机构名录"});
  EXPECT_EQ(Names(Find(db, Q("养老"))), std::set<std::string>{"养老服务机构名录"});
  auto v1 = db.resources->GetVersion(r.id, 1);
  ASSERT_TRUE(v1.ok());
  EXPECT_EQ(v1->name, "养老机构名录");
  EXPECT_EQ(db.resources->Publish(r.id, db.admin).error().code, errc::kConflict);
}

TEST_P(CatalogueStoreTest, ChineseSearchFindsWordsAnywhereAndNothingElse) {
  db.Published(PlainResource("社会组织登记信息", "民政部门登记的社会团体和民办非企业单位"));
  db.Published(PlainResource("低保对象名单", "最低生活保障对象", "201001"));
  db.Published(catalogue_test::PersonResource());
  Resource draft = PlainResource("未发布的登记簿", "草稿");
  ASSERT_TRUE(db.resources->Create(draft, db.admin).ok());

  // Both plain resources list the item 登记日期.
  EXPECT_EQ(Names(Find(db, Q("登记"))), (std::set<std::string>{"社会组织登记信息", "低保对象名单"}));
  EXPECT_EQ(Names(Find(db, Q("社会团体"))), std::set<std::string>{"社会组织登记信息"});
  EXPECT_EQ(Names(Find(db, Q("民办非企业"))), std::set<std::string>{"社会组织登记信息"});
  EXPECT_EQ(Names(Find(db, Q("生活保障"))), std::set<std::string>{"低保对象名单"});
  // One character, at the end of a word.
  EXPECT_EQ(Names(Find(db, Q("簿"))).size(), 0u);  // only in the draft
  EXPECT_EQ(Names(Find(db, Q("单"))),
            (std::set<std::string>{"低保对象名单", "社会组织登记信息"}));
  // Information item names are searchable; provider names too.
  EXPECT_EQ(Names(Find(db, Q("手机号码"))), std::set<std::string>{"人口基础信息"});
  EXPECT_EQ(Names(Find(db, Q("公安局"))), std::set<std::string>{"人口基础信息"});
  EXPECT_TRUE(Find(db, Q("交通违法")).items.empty());
  EXPECT_TRUE(Find(db, Q("！！")).items.empty());
  // Within a classification (a node covers what is below it) or a provider.
  EXPECT_EQ(Names(Find(db, Q("信息", "1"))),
            (std::set<std::string>{"社会组织登记信息", "人口基础信息"}));
  EXPECT_EQ(Names(Find(db, Q("信息", "101"))),
            std::set<std::string>{"人口基础信息"});
  EXPECT_EQ(Names(Find(db, Q("信息", "", "001003"))),
            std::set<std::string>{"社会组织登记信息"});
  EXPECT_EQ(db.resources->Search(Q("x", "12")).error().code,
            errc::kInvalidArgument);
}

TEST_P(CatalogueStoreTest, BrowseAndPagesAreNewestFirst) {
  for (int i = 0; i < 5; ++i) db.Published(PlainResource("名录" + std::to_string(i), "摘要"));
  db.Published(PlainResource("救助名单", "摘要", "201001", "001009"));
  SearchPage first = Find(db, Q("", "102", "", 0, 2));
  ASSERT_EQ(first.items.size(), 2u);
  EXPECT_TRUE(first.more);
  EXPECT_EQ(first.items[0].name, "名录4");
  SearchPage last = Find(db, Q("", "102", "", 4, 2));
  ASSERT_EQ(last.items.size(), 1u);
  EXPECT_FALSE(last.more);
  EXPECT_EQ(last.items[0].name, "名录0");
  EXPECT_EQ(Names(Find(db, Q("", "", "001009"))), std::set<std::string>{"救助名单"});
  SearchPage text = Find(db, Q("名录", "", "", 0, 3));
  EXPECT_EQ(text.items.size(), 3u);
  EXPECT_TRUE(text.more);
}

TEST_P(CatalogueStoreTest, WithdrawnResourcesLeaveSearchAndEveryStepIsAudited) {
  Resource r = db.Published(PlainResource("婚姻登记信息", "结婚和离婚登记"));
  ASSERT_EQ(Find(db, Q("婚姻")).items.size(), 1u);
  ASSERT_TRUE(db.resources->Withdraw(r.id, db.admin).ok());
  EXPECT_TRUE(Find(db, Q("婚姻")).items.empty());
  EXPECT_TRUE(Find(db, Q("", "102")).items.empty());
  EXPECT_EQ(db.resources->GetPublished(r.id).error().code, errc::kNotFound);
  EXPECT_EQ(db.resources->Withdraw(r.id, db.admin).error().code, errc::kConflict);
  // Published again: back in search.
  ASSERT_TRUE(db.resources->Publish(r.id, db.admin).ok());
  EXPECT_EQ(Find(db, Q("离婚")).items.size(), 1u);
  auto audit = ListAudit(db.store(), ByAction("resource."));
  ASSERT_TRUE(audit.ok());
  std::vector<std::string> actions;
  for (const AuditEntry& e : *audit) actions.push_back(e.action);
  EXPECT_EQ(actions, (std::vector<std::string>{"resource.publish", "resource.withdraw",
                                               "resource.publish", "resource.create"}));
  EXPECT_EQ(audit->front().subject, r.code);
  EXPECT_EQ(audit->front().actor, "admin-1");
}

INSTANTIATE_TEST_SUITE_P(Backends, CatalogueStoreTest,
                         ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return std::string(info.param); });

// catalogue_base v2 on SQLite: rows loaded under v1 are copied into the
// WITHOUT ROWID tables (one B-tree descent a lookup), every value intact.
TEST(CatalogueBaseMigration, V2CopiesEveryRowIntoWithoutRowidTables) {
  store_test::TempDir dir;
  auto opened = SqlStore::Open("sqlite://" + dir.File("base.db"), 2);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  SqlStore& store = **opened;
  std::vector<Migration> all = BaseResources::Migrations();
  ASSERT_GE(all.size(), 2u);  // v1, v2 (rows into WITHOUT ROWID), later ones
  ASSERT_TRUE(store.Migrate({all[0]}).ok());
  FakeClock clock;
  ResourceStore resources(store, clock);
  SharingStore sharing(store, clock, resources);
  BaseResources base(store, clock, sharing, "k");
  std::vector<std::vector<std::string>> persons;
  for (int i = 0; i < 300; ++i) {
    persons.push_back({ResidentId(fmt::format("110105198001{:05d}", i)), fmt::format("姓名{}", i),
                       "男", "1980-01-01", "汉族", fmt::format("住址 {}", i), "13800138000",
                       "110105"});
  }
  ASSERT_TRUE(base.Put(BaseKind::kPerson, persons).ok());
  ASSERT_TRUE(base.Put(BaseKind::kPlace, {{"110105", "朝阳区", "区", "110100", "北京市朝阳区",
                                           "116.44", "39.92"}})
                  .ok());
  ASSERT_TRUE(store.Migrate(all).ok());
  auto checked = store.WithSession([&](soci::session& sql) -> Status {
    for (const std::string table :
         {"catalogue_base_persons", "catalogue_base_legal_persons", "catalogue_base_places"}) {
      std::string ddl;
      sql << "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :n", soci::use(table),
          soci::into(ddl);
      EXPECT_NE(ddl.find("WITHOUT ROWID"), std::string::npos) << table << ": " << ddl;
    }
    int count = 0;
    sql << "SELECT COUNT(*) FROM catalogue_base_persons", soci::into(count);
    EXPECT_EQ(count, 300);
    std::string name, address;
    sql << "SELECT name, address FROM catalogue_base_persons WHERE id_number = :k",
        soci::use(persons[123][0]), soci::into(name), soci::into(address);
    EXPECT_EQ(name, "姓名123");
    EXPECT_EQ(address, "住址 123");
    std::string full;
    sql << "SELECT full_name FROM catalogue_base_places WHERE division_code = '110105'",
        soci::into(full);
    EXPECT_EQ(full, "北京市朝阳区");
    return Status::Ok();
  });
  ASSERT_TRUE(checked.ok()) << checked.error().message;
  // The tables still take the upserts exchange tasks and Put make.
  persons[5][1] = "改名";
  ASSERT_TRUE(base.Put(BaseKind::kPerson, {persons[5]}).ok());
}

}  // namespace
