// Shared by the catalogue unit tests: a database of each backend (SQLite
// file, private PostgreSQL, private MariaDB — see store_test_support.h) with
// the catalogue's migrations, the three stores on a FakeClock, a classification
// tree and resource builders, and resident ID numbers with valid check digits.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "catalogue/base.h"
#include "catalogue/resources.h"
#include "catalogue/sharing.h"
#include "core/clock.h"
#include "store_test_support.h"

namespace catalogue_test {

using namespace tongban;
using namespace tongban::catalogue;

// GB 11643: 17 digits + the check character.
inline std::string ResidentId(const std::string& first17) {
  static constexpr int kWeights[] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kCheck[] = "10X98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return first17 + kCheck[sum % 11];
}

inline Resource PersonResource(const std::string& org = "001002") {
  Resource r;
  r.classification = "101001";
  r.name = "人口基础信息";
  r.provider_org = org;
  r.provider_name = "演示市公安局";
  r.provider_code = "113301000024991243";
  r.abstract_text = "全市户籍人口的身份证号码、姓名、性别、出生日期、住址和手机号码";
  r.format = "数据库";
  for (const BaseField& f : BaseFields(BaseKind::kPerson)) r.items.push_back({f.code, f.name, f.type});
  r.share_type = ShareType::kConditional;
  r.share_condition = "用于政务服务事项办理的身份核验";
  r.share_mode = ShareMode::kApi;
  r.open_attr = OpenAttr::kClosed;
  r.update_cycle = "实时";
  r.base_kind = BaseKind::kPerson;
  return r;
}

inline Resource PlainResource(const std::string& name, const std::string& abstract_text,
                              const std::string& classification = "102001",
                              const std::string& org = "001003") {
  Resource r;
  r.classification = classification;
  r.name = name;
  r.provider_org = org;
  r.provider_name = "演示市民政局";
  r.provider_code = "113301000024991243";
  r.abstract_text = abstract_text;
  r.format = "电子表格";
  r.items = {{"org_name", "机构名称", "C"}, {"reg_date", "登记日期", "D"}};
  r.share_type = ShareType::kUnconditional;
  r.share_mode = ShareMode::kApi;
  r.open_attr = OpenAttr::kOpen;
  r.update_cycle = "每月";
  return r;
}

class Catalogue {
 public:
  // "" when open, else why not (the test skips when no server can be started).
  std::string Open(std::string_view backend) {
    std::string why;
    std::string url = store_test::FreshDatabaseUrl(backend, dir_, &why);
    if (url.empty()) return why.empty() ? "no database" : why;
    auto store = SqlStore::Open(url, 4);
    if (!store.ok()) return store.error().message;
    store_ = std::move(*store);
    std::vector<Migration> migrations = ResourceStore::Migrations();
    for (auto& m : SharingStore::Migrations()) migrations.push_back(m);
    for (auto& m : BaseResources::Migrations()) migrations.push_back(m);
    auto migrated = store_->Migrate(migrations);
    if (!migrated.ok()) return "migrate: " + migrated.error().message;
    resources = std::make_unique<ResourceStore>(*store_, clock);
    sharing = std::make_unique<SharingStore>(*store_, clock, *resources);
    base = std::make_unique<BaseResources>(*store_, clock, *sharing, "audit-key");
    for (const auto& [code, name] :
         std::vector<std::pair<std::string, std::string>>{{"1", "基础信息资源"},
                                                          {"101", "人口"},
                                                          {"101001", "人口基本信息"},
                                                          {"102", "法人"},
                                                          {"102001", "社会组织"},
                                                          {"2", "主题信息资源"},
                                                          {"201", "民生"},
                                                          {"201001", "社会救助"}}) {
      auto put = resources->PutClassification({code, name, "", 0}, admin);
      if (!put.ok()) return "classification: " + put.error().message;
    }
    return "";
  }

  // Registers and publishes.
  Resource Published(Resource r) {
    auto created = resources->Create(std::move(r), admin);
    EXPECT_TRUE(created.ok()) << created.error().message;
    auto published = resources->Publish(created->id, admin);
    EXPECT_TRUE(published.ok()) << published.error().message;
    return *published;
  }

  SqlStore& store() { return *store_; }

  FakeClock clock;
  Actor admin{"admin-1", "staff", "001001"};
  std::unique_ptr<ResourceStore> resources;
  std::unique_ptr<SharingStore> sharing;
  std::unique_ptr<BaseResources> base;

 private:
  store_test::TempDir dir_;
  std::unique_ptr<SqlStore> store_;
};

class BackendTest : public ::testing::TestWithParam<const char*> {
 protected:
  void SetUp() override {
    std::string why = db.Open(GetParam());
    if (!why.empty()) {
      if (std::string_view(GetParam()) == "sqlite") FAIL() << why;
      GTEST_SKIP() << why;
    }
  }
  Catalogue db;
};

inline Party Provider(const std::string& org = "001002") {
  return Party{{"prov-1", "staff", org}, {org}, false, true};
}
inline Party Applicant(const std::string& org = "001004", const std::string& user = "user-1") {
  return Party{{user, "staff", org}, {org}, false, false};
}

}  // namespace catalogue_test
