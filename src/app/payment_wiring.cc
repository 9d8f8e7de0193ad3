#include "app/payment_wiring.h"

#include <spdlog/spdlog.h>

#include <fstream>

#include "app/config.h"
#include "crypto/digest.h"

namespace tongban::app {

namespace {

OutboxOptions UnitOutboxOptions(const PaymentConfig& c) {
  OutboxOptions o;
  o.table = "payment_outbox";
  o.base_backoff = std::chrono::milliseconds(c.unit_notify_backoff_ms);
  o.max_attempts = c.unit_notify_max_attempts;
  // A dispatcher killed mid-delivery leaves its claim to lapse: a little more
  // than one request may take.
  o.claim_timeout = std::chrono::milliseconds(c.unit_notify_timeout_ms + 2'000);
  return o;
}

Result<std::string> ChannelKey(const PaymentConfig& c) {
  if (c.channel_key_file.empty()) return c.channel_key;
  std::ifstream in(c.channel_key_file);
  std::string key;
  std::getline(in, key);
  if (key.empty()) {
    return Error::InvalidArgument("config: payment.channel_key_file " + c.channel_key_file +
                                  " cannot be read or is empty");
  }
  return key;
}

}  // namespace

std::vector<Migration> PaymentWiring::Migrations() {
  std::vector<Migration> out = payment::UnitStore::Migrations();
  for (auto& m : payment::NoticeStore::Migrations()) out.push_back(std::move(m));
  // payment_orders and payment_outbox: counter payments notify units too.
  for (auto& m : payment::ChannelPayments::Migrations()) out.push_back(std::move(m));
  for (auto& m : payment::Reconciler::Migrations()) out.push_back(std::move(m));
  return out;
}

PaymentWiring::PaymentWiring(SqlStore& sql, Clock& clock, directory::Directory& directory,
                             std::string_view secret_key, const Config& config)
    : clock_(clock),
      directory_(directory),
      // Every node of a cluster shares the secret key, so a receipt printed by
      // one verifies on any other.
      receipt_key_(crypto::HmacSha256(secret_key, "tongban payment receipt v1")),
      statements_dir_(config.payment.statements_dir.empty()
                          ? config.storage.data_dir + "/payment-statements"
                          : config.payment.statements_dir),
      units_(sql, clock),
      notices_(sql, clock),
      sweeper_(notices_, std::chrono::seconds(config.payment.expiry_sweep_interval_s)),
      outbox_(sql, UnitOutboxOptions(config.payment)),
      unit_notifier_(
          outbox_, clock, [this](std::string_view e) { return UnitEndpointOf(e); },
          payment::UnitNotifierOptions{
              .poll_interval = std::chrono::milliseconds(config.payment.unit_notify_poll_ms),
              .request_timeout = std::chrono::milliseconds(config.payment.unit_notify_timeout_ms)}) {
  // Every recorded payment (channel, counter, 补单) enqueues the unit's
  // GetPay_Info in its own transaction; the dispatcher is woken after commit
  // by the API (Services::on_payment).
  notices_.SetPaymentHook([this](soci::session& tx, const payment::PaymentNotice& n,
                                 const payment::Payment& p) {
    return payment::EnqueueUnitNotification(outbox_, tx, n, p, clock_.NowMillis());
  });
}

Result<std::unique_ptr<PaymentWiring>> PaymentWiring::Open(SqlStore& sql, Clock& clock,
                                                           Random& random,
                                                           directory::Directory& directory,
                                                           std::string_view secret_key,
                                                           const Config& config) {
  std::unique_ptr<PaymentWiring> w(new PaymentWiring(sql, clock, directory, secret_key, config));
  const PaymentConfig& c = config.payment;
  if (c.channel.empty()) {
    spdlog::info("payment: no [payment] channel configured; notices are paid at the counter only");
    return w;
  }
  auto key = ChannelKey(c);
  if (!key.ok()) return std::move(key).error();
  auto channel = payment::OpenChannel(payment::ChannelSettings{.name = c.channel,
                                                               .base_url = c.channel_url,
                                                               .key = *key,
                                                               .merchant = c.channel_merchant,
                                                               .allow_sandbox = c.sandbox,
                                                               .timeout_ms = c.channel_timeout_ms});
  if (!channel.ok()) return Error::InvalidArgument("config: " + channel.error().message);
  w->channel_ = std::move(channel).value();
  payment::ChannelPaymentsOptions options;
  options.notify_url = c.notify_url.empty()
                           ? config.PublicUrl() + "/payment/api/channel/notify"
                           : c.notify_url;
  options.query_after = std::chrono::milliseconds(c.query_after_ms);
  options.query_backoff = std::chrono::milliseconds(c.query_backoff_ms);
  options.give_up_after = std::chrono::seconds(c.query_give_up_s);
  w->payments_ = std::make_unique<payment::ChannelPayments>(sql, *w->channel_, w->notices_, clock,
                                                            random, options);
  w->query_sweeper_ = std::make_unique<payment::QuerySweeper>(
      *w->payments_, std::chrono::milliseconds(c.query_sweep_interval_ms));
  w->reconciler_ = std::make_unique<payment::Reconciler>(*w->payments_);
  spdlog::info("payment: channel {} ({}){}", c.channel, c.channel_url,
               c.sandbox ? ", sandbox allowed" : "");
  return w;
}

PaymentWiring::~PaymentWiring() { StopBackground(); }

void PaymentWiring::StartBackground() {
  sweeper_.Start();
  unit_notifier_.Start();
  if (query_sweeper_) query_sweeper_->Start();
}

void PaymentWiring::StopBackground() {
  if (query_sweeper_) query_sweeper_->Stop();
  unit_notifier_.Stop();
  sweeper_.Stop();
}

// The unit's notify_url; signed as its direct-interface app with that app's
// servicepwd (the key the unit already holds for its calls to us).
Result<payment::UnitEndpoint> PaymentWiring::UnitEndpointOf(std::string_view entercode) {
  auto unit = units_.GetUnit(entercode);
  if (!unit.ok()) return std::move(unit).error();
  payment::UnitEndpoint out;
  out.url = unit->notify_url;
  out.servicecode = unit->app_code;
  if (unit->app_code.empty()) {
    if (!out.url.empty()) return Error::NotFound("the unit has no direct-interface app to sign with");
    return out;
  }
  auto app = directory_.CachedApp(unit->app_code);
  if (!app.ok()) return std::move(app).error();
  out.key = (*app)->servicepwd;
  return out;
}

Status PaymentWiring::Register(http::Router& router, sso::SsoContext& sso) {
  api_ = std::make_unique<payment::PaymentApi>(payment::Services{
      .sso = sso,
      .units = units_,
      .notices = notices_,
      .receipt_key = receipt_key_,
      .settings = {.public_url = sso.settings.public_url},
      .payments = payments_.get(),
      .reconciler = reconciler_.get(),
      .statements_dir = statements_dir_,
      .unit_outbox = &outbox_,
      .on_payment = [this] { unit_notifier_.Wake(); },
  });
  return api_->Register(router);
}

Result<payment::DemoPayment> PaymentWiring::SeedDemo(directory::Directory& directory,
                                                     std::string_view demo_app) {
  return payment::SeedPaymentDemo(directory, units_, notices_, clock_, demo_app);
}

}  // namespace tongban::app
