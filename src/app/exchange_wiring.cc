// Builds the exchange subsystem on a Node (see exchange_wiring.h).
#include "app/exchange_wiring.h"

#include <unistd.h>

#include "app/exchange_hall_wiring.h"
#include "exchange/ddl.h"

namespace tongban::app {

namespace {

std::string HolderName(const Config& config) {
  if (!config.exchange.holder.empty()) return config.exchange.holder;
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  return std::string(host) + ":" + std::to_string(getpid());
}

}  // namespace

std::vector<Migration> ExchangeWiring::Migrations() { return exchange::ExchangeMeta::Migrations(); }

ExchangeWiring::ExchangeWiring(Node& node) : node_(node) {
  meta_ = std::make_unique<exchange::ExchangeMeta>(node.sql(), node.clock(), node.secret_box());
  nodes_ = std::make_unique<exchange::NodePool>(*meta_);
  engine_ = std::make_unique<exchange::DeliveryEngine>(*meta_, *nodes_, node.clock());
  const auto ttl = std::chrono::seconds(node.config().exchange.lease_ttl_s);
  if (node.config().storage.tickets.starts_with("redis")) {
    leases_ = std::make_unique<exchange::TicketLeaseStore>(node.tickets(),
                                                           HolderName(node.config()), ttl);
  } else {
    leases_ = std::make_unique<exchange::LeaseStore>(node.sql(), node.clock(),
                                                     HolderName(node.config()), ttl);
  }
  exchange::ExchangeRunner::Options options;
  options.max_batches_per_turn = node.config().exchange.max_batches_per_turn;
  runner_ =
      std::make_unique<exchange::ExchangeRunner>(*meta_, *engine_, *leases_, node.clock(), options);
  hall_ = std::make_unique<ExchangeHallWiring>(node, *this);
}

ExchangeWiring::~ExchangeWiring() { Stop(); }

Status ExchangeWiring::Register(http::Router& router, sso::SsoContext& sso) {
  api_ = std::make_unique<exchange::ExchangeApi>(
      exchange::ApiServices{sso, *meta_, *engine_, *nodes_, runner_.get()});
  return api_->Register(router);
}

void ExchangeWiring::Start() {
  if (node_.config().exchange.runner) runner_->Start();
  hall_->Start();
}

void ExchangeWiring::Stop() {
  if (hall_) hall_->Stop();
  if (runner_) runner_->Stop();
}

Result<bool> ExchangeWiring::SeedDemo(Node& node) {
  exchange::ExchangeMeta meta(node.sql(), node.clock(), node.secret_box());
  auto existing = meta.ListNodes();
  if (!existing.ok()) return existing.error();
  if (!existing->empty()) return false;
  exchange::Node demo;
  demo.division = "330100";
  demo.dept_code = "91350100M000100Y43";
  demo.dept_name = "演示部门（前置机）";
  demo.url = "sqlite://" + node.config().storage.data_dir + "/exchange-demo-node.db";
  demo.contacts = {{"演示联系人", "13800000000", "demo@example.cn"}};
  auto created = meta.CreateNode(demo);
  if (!created.ok()) return created.error();
  exchange::Resource people;
  people.code = "demo_people";
  people.name = "演示人口信息";
  people.model = exchange::TableModel::kHorizontal;
  people.node_id = created->id;
  using exchange::FieldType;
  people.fields = {{"idno", "证件号码", FieldType::kString, 18, 0, true, true},
                   {"name", "姓名", FieldType::kString, 50, 0, true, false},
                   {"birth", "出生日期", FieldType::kDate, 0, 0, false, false},
                   {"address", "住址", FieldType::kString, 200, 0, false, false}};
  auto resource = meta.CreateResource(people);
  if (!resource.ok()) return resource.error();
  exchange::NodePool pool(meta);
  auto store = pool.Get(created->id);
  if (!store.ok()) return store.error();
  Status table = exchange::CreateTable(**store, *resource);
  if (!table.ok() && table.error().code != errc::kAlreadyExists) return table.error();
  return true;
}

}  // namespace tongban::app
