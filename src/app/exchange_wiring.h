// The exchange subsystem on a tongban node: its metadata store, node connections, delivery
// engine, lease and runner built from the Node's SqlStore, clock and secret box; its API
// mounted on the router; the demo seed. The one place src/app knows exchange/.
#pragma once

#include <memory>
#include <vector>

#include "app/node.h"
#include "exchange/api.h"
#include "exchange/delivery.h"
#include "exchange/meta.h"
#include "exchange/runner.h"
#include "http/router.h"
#include "sso/context.h"

namespace tongban::app {

class ExchangeHallWiring;

class ExchangeWiring {
 public:
  static std::vector<Migration> Migrations();

  explicit ExchangeWiring(Node& node);
  ~ExchangeWiring();

  Status Register(http::Router& router, sso::SsoContext& sso);
  void Start();  // the runner, when [exchange] runner = true; the hall data thread
  void Stop();

  exchange::ExchangeMeta& meta() { return *meta_; }
  exchange::DeliveryEngine& engine() { return *engine_; }
  exchange::NodePool& nodes() { return *nodes_; }
  exchange::Leases& leases() { return *leases_; }
  ExchangeHallWiring& hall() { return *hall_; }

  // On first start (no node yet): a demo front-end node (an SQLite file under data_dir) with
  // a horizontal demo resource and its table. True when it was created now.
  static Result<bool> SeedDemo(Node& node);

 private:
  Node& node_;
  std::unique_ptr<exchange::ExchangeMeta> meta_;
  std::unique_ptr<exchange::NodePool> nodes_;
  std::unique_ptr<exchange::DeliveryEngine> engine_;
  // In tongban's database, or in Redis when the ticket store is Redis.
  std::unique_ptr<exchange::Leases> leases_;
  std::unique_ptr<exchange::ExchangeRunner> runner_;
  std::unique_ptr<exchange::ExchangeApi> api_;
  std::unique_ptr<ExchangeHallWiring> hall_;  // DB51 stage records to and from approval
};

}  // namespace tongban::app
