// The payment subsystem on a node ([payment] in the config): its stores on the
// node's SqlStore and clock, the receipt key derived from the node's secret
// key, the API's routes, the expiry sweeper and the demo seed. Node owns one
// when payment is enabled; Routes registers it; serve seeds its demo.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "directory/directory.h"
#include "http/router.h"
#include "payment/api.h"
#include "payment/demo.h"
#include "payment/expiry_sweeper.h"
#include "payment/notices.h"
#include "payment/units.h"
#include "sso/context.h"
#include "store/sql_store.h"

namespace tongban::app {

struct PaymentConfig;

class PaymentWiring {
 public:
  static std::vector<Migration> Migrations();
  PaymentWiring(SqlStore& sql, Clock& clock, std::string_view secret_key,
                const PaymentConfig& config);
  ~PaymentWiring();

  payment::UnitStore& units() { return units_; }
  payment::NoticeStore& notices() { return notices_; }

  // Mounts /payment/api/; `sso` must outlive the router's use of it.
  Status Register(http::Router& router, sso::SsoContext& sso);
  void StartBackground() { sweeper_.Start(); }
  void StopBackground() { sweeper_.Stop(); }
  Result<payment::DemoPayment> SeedDemo(directory::Directory& directory, std::string_view demo_app);

 private:
  Clock& clock_;
  std::string receipt_key_;
  payment::UnitStore units_;
  payment::NoticeStore notices_;
  payment::ExpirySweeper sweeper_;
  std::unique_ptr<payment::PaymentApi> api_;
};

}  // namespace tongban::app
