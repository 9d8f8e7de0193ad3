#include "app/payment_wiring.h"

#include "app/config.h"
#include "crypto/digest.h"

namespace tongban::app {

std::vector<Migration> PaymentWiring::Migrations() {
  std::vector<Migration> out = payment::UnitStore::Migrations();
  for (auto& m : payment::NoticeStore::Migrations()) out.push_back(std::move(m));
  return out;
}

PaymentWiring::PaymentWiring(SqlStore& sql, Clock& clock, std::string_view secret_key,
                             const PaymentConfig& config)
    : clock_(clock),
      // Every node of a cluster shares the secret key, so a receipt printed by
      // one verifies on any other.
      receipt_key_(crypto::HmacSha256(secret_key, "tongban payment receipt v1")),
      units_(sql, clock),
      notices_(sql, clock),
      sweeper_(notices_, std::chrono::seconds(config.expiry_sweep_interval_s)) {}

PaymentWiring::~PaymentWiring() { sweeper_.Stop(); }

Status PaymentWiring::Register(http::Router& router, sso::SsoContext& sso) {
  api_ = std::make_unique<payment::PaymentApi>(
      payment::Services{.sso = sso,
                        .units = units_,
                        .notices = notices_,
                        .receipt_key = receipt_key_,
                        .settings = {.public_url = sso.settings.public_url}});
  return api_->Register(router);
}

Result<payment::DemoPayment> PaymentWiring::SeedDemo(directory::Directory& directory,
                                                     std::string_view demo_app) {
  return payment::SeedPaymentDemo(directory, units_, notices_, clock_, demo_app);
}

}  // namespace tongban::app
