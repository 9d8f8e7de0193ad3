#include "app/payment_wiring.h"

#include <spdlog/spdlog.h>

#include <fstream>

#include "app/config.h"
#include "codec/value.h"
#include "crypto/digest.h"
#include "payment/case_fees.h"
#include "payment/late_fee.h"
#include "sso/citizen.h"

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
  // A payment burst to one unit: one claim per notifier batch, not per message.
  o.per_destination = payment::UnitNotifierOptions{}.batch;
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
  for (auto& m : payment::PayerEntryStore::Migrations()) out.push_back(std::move(m));
  return out;
}

PaymentWiring::PaymentWiring(SqlStore& sql, Clock& clock, directory::Directory& directory,
                             std::string_view secret_key, const Config& config)
    : sql_(sql),
      clock_(clock),
      directory_(directory),
      citizen_enabled_(config.citizen.enabled),
      // Every node of a cluster shares the secret key, so a receipt printed by
      // one verifies on any other.
      receipt_key_(crypto::HmacSha256(secret_key, "tongban payment receipt v1")),
      // Likewise for the numbers tongban gives notices of its own making.
      notice_number_key_(crypto::HmacSha256(secret_key, "tongban payment notice numbers v1")),
      statements_dir_(config.payment.statements_dir.empty()
                          ? config.storage.data_dir + "/payment-statements"
                          : config.payment.statements_dir),
      units_(sql, clock),
      notices_(sql, clock),
      entries_(sql, clock),
      sweeper_(notices_, std::chrono::seconds(config.payment.expiry_sweep_interval_s)),
      outbox_(sql, UnitOutboxOptions(config.payment)),
      unit_notifier_(
          outbox_, clock, [this](std::string_view e) { return UnitEndpointOf(e); },
          payment::UnitNotifierOptions{
              .poll_interval = std::chrono::milliseconds(config.payment.unit_notify_poll_ms),
              .request_timeout = std::chrono::milliseconds(config.payment.unit_notify_timeout_ms),
              .pipeline = static_cast<size_t>(config.payment.unit_notify_pipeline),
              .linger = std::chrono::milliseconds(config.payment.unit_notify_linger_ms)},
          OutboundClientOptions(config)) {
  lookup_throttle_options_.account_failures = config.payment.lookup_failures;
  lookup_throttle_options_.ip_failures = config.payment.lookup_failures;
  lookup_throttle_options_.window = std::chrono::seconds(config.payment.lookup_failure_window_s);
  lookup_throttle_options_.lockout = std::chrono::seconds(config.payment.lookup_lockout_s);
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
  lookup_throttle_ = std::make_unique<sso::LoginThrottle>(sso.tickets, sso.clock, sso.random,
                                                          lookup_throttle_options_);
  api_ = std::make_unique<payment::PaymentApi>(payment::Services{
      .sso = sso,
      .units = units_,
      .notices = notices_,
      .receipt_key = receipt_key_,
      .notice_number_key = notice_number_key_,
      .settings = {.public_url = sso.settings.public_url},
      .payments = payments_.get(),
      .reconciler = reconciler_.get(),
      .statements_dir = statements_dir_,
      .unit_outbox = &outbox_,
      .on_payment = [this] { unit_notifier_.Wake(); },
      .lookup_throttle = lookup_throttle_.get(),
      .entries = &entries_,
      // A self-registered account proved its mobile by an SMS code; with the
      // citizen accounts off nobody did.
      .mobile_is_proven =
          citizen_enabled_
              ? std::function<Result<bool>(const std::string&)>(
                    [this](const std::string& userid) {
                      return sql_.WithSession([&](soci::session& s) -> Result<bool> {
                        return sso::CitizenAccounts::IsSelfRegistered(s, userid);
                      });
                    })
              : nullptr,
  });
  return api_->Register(router);
}

Result<payment::DemoPayment> PaymentWiring::SeedDemo(directory::Directory& directory,
                                                     std::string_view demo_app) {
  return payment::SeedPaymentDemo(directory, units_, notices_, clock_, demo_app);
}

namespace {

codec::Value CaseNoticeJson(const payment::PaymentNotice& n, int64_t now_ms) {
  const bool unpaid = n.state == payment::NoticeState::kUnpaid;
  const int64_t due = unpaid ? payment::AmountDueFen(n, now_ms) : 0;
  codec::Value lines = codec::Value::Array(n.lines.size());
  for (const payment::NoticeLine& l : n.lines) {
    codec::Value line = codec::Value::Object(3);
    line.Set("chitcode", l.chitcode).Set("chitname", l.chitname).Set("amount_fen", l.amount_fen);
    lines.Push(std::move(line));
  }
  codec::Value v = codec::Value::Object(12);
  v.Set("notice_no", n.notice_no)
      .Set("entercode", n.entercode)
      .Set("entername", n.entername)
      .Set("state", std::string(payment::NoticeStateName(n.state)))
      .Set("state_name", std::string(payment::NoticeStateChinese(n.state)))
      .Set("total_fen", n.total_fen)
      .Set("total", payment::FormatYuan(n.total_fen))
      .Set("amount_due_fen", due)
      .Set("paid_fen", n.paid_fen)
      .Set("pay_no", n.pay_no)
      .Set("lines", std::move(lines))
      // Where the hall pays it and fetches its receipt (docs/api/payment.md).
      .Set("pay_api", "/payment/api/public/notices/" + n.notice_no + "/pay")
      .Set("receipt", "/payment/api/public/notices/" + n.notice_no + "/receipt.pdf");
  return v;
}

}  // namespace

void PaymentWiring::ConnectCaseFees(approval::Services& services) {
  services.case_fee_notices = [this](const approval::Case& c) -> Result<codec::Value> {
    auto found = payment::CaseNotices(notices_, c.number);
    if (!found.ok()) return std::move(found).error();
    codec::Value items = codec::Value::Array(found->size());
    for (const payment::PaymentNotice& n : *found) {
      items.Push(CaseNoticeJson(n, clock_.NowMillis()));
    }
    codec::Value out = codec::Value::Object(1);
    out.Set("items", std::move(items));
    return out;
  };
  services.raise_case_fees = [this, list = services.case_fee_notices](
                                 const approval::Case& c,
                                 const approval::Matter& m) -> Result<codec::Value> {
    // One notice a case: raising again (a retry, another node, after the org
    // gained another unit) gives the one it has, unless that was cancelled.
    auto existing = payment::CaseNotices(notices_, c.number);
    if (!existing.ok()) return std::move(existing).error();
    for (const payment::PaymentNotice& n : *existing) {
      if (n.state != payment::NoticeState::kCancelled) return list(c);
    }
    // The unit collecting for the matter's implementing org: the same one
    // whichever node asks (the smallest entercode), so that two raises at
    // once make the same notice number and the second finds the first's.
    auto units = units_.ListUnits();
    if (!units.ok()) return std::move(units).error();
    const payment::CollectingUnit* unit = nullptr;
    for (const payment::CollectingUnit& u : *units) {
      if (u.orgcoding == c.orgcoding && u.state == payment::UnitState::kActive &&
          (unit == nullptr || u.entercode < unit->entercode)) {
        unit = &u;
      }
    }
    if (unit == nullptr) {
      return Error::Conflict("机构 " + c.orgcoding + " 没有已开通的执收单位，不能开具缴款单");
    }
    payment::CaseFee fee;
    fee.case_number = c.number;
    fee.number_key = notice_number_key_;
    fee.matter_name = c.matter_name;
    fee.entercode = unit->entercode;
    fee.payer.name = c.applicant.name;
    fee.payer.id_number = c.applicant.id_number;
    fee.payer.mobile = c.applicant.mobile;
    for (const approval::MatterFee& f : m.fees) {
      payment::NoticeLine line;
      line.chitcode = f.item_code;
      line.amount_fen = f.amount_fen;
      fee.lines.push_back(std::move(line));
    }
    auto raised = payment::RaiseCaseNotice(notices_, fee);
    // Raised before (a retry, another node): the same notice, not a second one.
    if (!raised.ok() && raised.error().code != errc::kAlreadyExists) {
      return std::move(raised).error();
    }
    return list(c);
  };
}

}  // namespace tongban::app
