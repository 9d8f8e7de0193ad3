// The payment subsystem on a node ([payment] in the config): its stores on the
// node's SqlStore and clock, the receipt key derived from the node's secret
// key, the configured channel (payment/channel.h: none, a real one, or the
// sandbox `tongban paysim` when the config allows it), the API's routes, and
// the background threads — the expiry sweeper, the query sweeper for orders
// the channel never notified, the GetPay_Info dispatcher to units through
// payment_outbox — and the demo seed. Node owns one when payment is enabled;
// Routes registers it; serve seeds its demo.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "approval/api_internal.h"
#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "directory/directory.h"
#include "http/router.h"
#include "payment/api.h"
#include "payment/channel.h"
#include "payment/demo.h"
#include "payment/expiry_sweeper.h"
#include "payment/notices.h"
#include "payment/notify.h"
#include "payment/notify_unit.h"
#include "payment/reconcile.h"
#include "payment/units.h"
#include "sso/context.h"
#include "sso/throttle.h"
#include "store/outbox.h"
#include "store/sql_store.h"

namespace tongban::app {

struct Config;

class PaymentWiring {
 public:
  static std::vector<Migration> Migrations();
  // Opens the configured channel too: InvalidArgument for a channel the
  // config may not use (the sandbox in production, an unknown name, a
  // missing key).
  static Result<std::unique_ptr<PaymentWiring>> Open(SqlStore& sql, Clock& clock, Random& random,
                                                     directory::Directory& directory,
                                                     std::string_view secret_key,
                                                     const Config& config);
  ~PaymentWiring();

  payment::UnitStore& units() { return units_; }
  payment::NoticeStore& notices() { return notices_; }
  // Null when no channel is configured.
  payment::ChannelPayments* channel_payments() { return payments_.get(); }

  // Mounts /payment/api/; `sso` must outlive the router's use of it.
  Status Register(http::Router& router, sso::SsoContext& sso);
  void StartBackground();
  void StopBackground();
  Result<payment::DemoPayment> SeedDemo(directory::Directory& directory, std::string_view demo_app);

  // 办件收费: a case of a matter with fee items raises a notice for its
  // applicant at the unit collecting for the matter's org (payment/case_fees.h),
  // and the case lists its notices. Sets the approval API's two hooks.
  void ConnectCaseFees(approval::Services& services);

 private:
  PaymentWiring(SqlStore& sql, Clock& clock, directory::Directory& directory,
                std::string_view secret_key, const Config& config);
  Result<payment::UnitEndpoint> UnitEndpointOf(std::string_view entercode);

  SqlStore& sql_;
  Clock& clock_;
  directory::Directory& directory_;
  bool citizen_enabled_;
  std::string receipt_key_;
  std::string notice_number_key_;  // numbers of case and self-entry notices
  std::string statements_dir_;
  payment::UnitStore units_;
  payment::NoticeStore notices_;
  payment::PayerEntryStore entries_;
  payment::ExpirySweeper sweeper_;
  Outbox outbox_;  // payment_outbox: GetPay_Info to units
  payment::UnitNotifier unit_notifier_;
  std::unique_ptr<payment::Channel> channel_;
  std::unique_ptr<payment::ChannelPayments> payments_;
  std::unique_ptr<payment::QuerySweeper> query_sweeper_;
  std::unique_ptr<payment::Reconciler> reconciler_;
  sso::ThrottleOptions lookup_throttle_options_;
  std::unique_ptr<sso::LoginThrottle> lookup_throttle_;
  std::unique_ptr<payment::PaymentApi> api_;
};

}  // namespace tongban::app
