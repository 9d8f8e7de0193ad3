// Test support for the exchange tests: tongban's own database (SQLite file), real node
// databases (SQLite files, the shared private PostgreSQL), a sealed-url metadata store and
// helpers that define nodes, resources and approved tasks. Header-only.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "core/clock.h"
#include "core/random.h"
#include "crypto/secret_box.h"
#include "exchange/ddl.h"
#include "exchange/delivery.h"
#include "exchange/meta.h"
#include "exchange/sql_util.h"
#include "store/sql_store.h"
#include "store_test_support.h"

namespace tongban::exchange::test {

inline std::unique_ptr<SqlStore> OpenOrDie(const std::string& url) {
  auto s = SqlStore::Open(url, 2);
  if (!s.ok()) ADD_FAILURE() << s.error().message;
  return s.ok() ? std::move(s).value() : nullptr;
}

// Valid department codes: a USCC from first principles is long to build; these pass the
// GB 32100 / GB 11714 checks.
inline constexpr const char* kUscc = "91350100M000100Y43";
inline constexpr const char* kOrgCode = "12345678-8";

struct Env {
  store_test::TempDir dir;
  FakeClock clock;
  std::unique_ptr<SqlStore> tongban;
  std::unique_ptr<crypto::SecretBox> box;
  std::unique_ptr<ExchangeMeta> meta;
  std::unique_ptr<NodePool> nodes;
  std::unique_ptr<DeliveryEngine> engine;

  Env() {
    tongban = OpenOrDie("sqlite://" + dir.File("tongban.db"));
    auto b = crypto::SecretBox::Create(std::string(32, 'k'), OpenSslRandom::Instance());
    box = std::make_unique<crypto::SecretBox>(std::move(b).value());
    Status m = tongban->Migrate(ExchangeMeta::Migrations());
    if (!m.ok()) ADD_FAILURE() << m.error().message;
    meta = std::make_unique<ExchangeMeta>(*tongban, clock, *box);
    nodes = std::make_unique<NodePool>(*meta);
    engine = std::make_unique<DeliveryEngine>(*meta, *nodes, clock);
  }

  // A node at `url`; `division` varies the name.
  Node AddNode(const std::string& url, const std::string& division,
               const std::string& code = kUscc) {
    Node n;
    n.division = division;
    n.dept_code = code;
    n.dept_name = "测试部门";
    n.url = url;
    n.contacts = {{"张三", "13800000000", "z@example.cn"}};
    auto created = meta->CreateNode(n);
    if (!created.ok()) ADD_FAILURE() << created.error().message;
    return created.ok() ? *created : Node{};
  }

  Resource AddResource(int64_t node_id, const std::string& code, TableModel model,
                       std::vector<Field> fields, bool create_table = true,
                       std::vector<std::string> web_apps = {}) {
    Resource r;
    r.code = code;
    r.name = code;
    r.model = model;
    r.node_id = node_id;
    r.fields = std::move(fields);
    r.web_apps = std::move(web_apps);
    auto created = meta->CreateResource(r);
    if (!created.ok()) {
      ADD_FAILURE() << created.error().message;
      return {};
    }
    if (create_table) {
      auto node = nodes->Get(node_id);
      if (!node.ok()) {
        ADD_FAILURE() << node.error().message;
      } else {
        Status t = CreateTable(**node, *created);
        if (!t.ok()) ADD_FAILURE() << t.error().message;
      }
    }
    return *created;
  }

  // A task, its work order drafted, submitted and approved.
  Task AddApprovedTask(const std::string& code, int64_t provider, std::vector<Subscriber> subs,
                       int batch_size = 1000, std::vector<FilterTerm> filter = {}) {
    Task t;
    t.code = code;
    t.name = code;
    t.provider_resource_id = provider;
    t.subscribers = std::move(subs);
    t.batch_size = batch_size;
    t.filter = std::move(filter);
    t.poll_seconds = 1;
    auto created = meta->CreateTask(t);
    if (!created.ok()) {
      ADD_FAILURE() << created.error().message;
      return {};
    }
    auto order = meta->CreateWorkOrder(created->id, {}, "tester");
    EXPECT_TRUE(order.ok());
    EXPECT_TRUE(meta->SubmitWorkOrder(order->id).ok());
    EXPECT_TRUE(meta->DecideWorkOrder(order->id, true, "admin", "").ok());
    return *meta->GetTask(created->id);
  }

  SqlStore& NodeStore(int64_t id) { return **nodes->Get(id); }
};

inline std::vector<Field> PersonFields() {
  return {
      {"idno", "证件号码", FieldType::kString, 18, 0, true, true},
      {"name", "姓名", FieldType::kString, 10, 0, true, false},
      {"age", "年龄", FieldType::kInt, 0, 0, false, false},
      {"fee", "费用", FieldType::kDecimal, 10, 2, false, false},
      {"born", "出生日期", FieldType::kDate, 0, 0, false, false},
  };
}

// Runs one statement on a node.
inline void Exec(SqlStore& store, const std::string& sql_text) {
  Status s = store.WithTransaction([&](soci::session& sql) -> Status {
    sql << sql_text;
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.error().message << " in " << sql_text;
}

// Rows of a query as "a|b|c" strings (NULL as "~").
inline std::vector<std::string> Rows(SqlStore& store, const std::string& query) {
  std::vector<std::string> out;
  Status s = store.WithSession([&](soci::session& sql) -> Status {
    soci::rowset<soci::row> rows = sql.prepare << query;
    for (const soci::row& r : rows) {
      std::string line;
      for (size_t i = 0; i < r.size(); ++i) {
        if (i) line += "|";
        line += sql_util::IsNull(r, i) ? "~" : sql_util::Text(r, i);
      }
      out.push_back(line);
    }
    return Status::Ok();
  });
  EXPECT_TRUE(s.ok()) << s.error().message << " in " << query;
  return out;
}

inline std::string PostgresUrl(const store_test::TempDir& dir, std::string* why) {
  return store_test::FreshDatabaseUrl("postgres", dir, why);
}

}  // namespace tongban::exchange::test
