// PaymentApi: the HTTP interface of the payment subsystem under
// {payment}/api/ (docs/api/payment.md): the direct interface for units' own
// systems (signed calls, XML or JSON), the console for staff (SSO session +
// CSRF, roles of the "payment" app), and the payer's pages (public lookup by
// notice number, SSO-logged-in lookup by ID number / mobile, receipts and their
// verification). Every handler runs on the blocking pool. Wired by
// src/app/payment_wiring.cc.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/result.h"
#include "http/router.h"
#include "payment/notices.h"
#include "payment/notify.h"
#include "payment/payer_entries.h"
#include "payment/reconcile.h"
#include "payment/units.h"
#include "sso/context.h"
#include "sso/throttle.h"
#include "store/outbox.h"

namespace tongban::payment {

struct ApiSettings {
  std::string public_url;  // external base URL, no trailing slash ("" = from the request)
  std::string context_path = "/payment";
};

struct Services {
  sso::SsoContext& sso;
  UnitStore& units;
  NoticeStore& notices;
  // HMAC key of the receipts' check codes (derived from the node's secret key).
  std::string receipt_key;
  // HMAC key of the numbers of notices tongban makes (self-entries, cases):
  // unguessable from what is public.
  std::string notice_number_key;
  ApiSettings settings;
  // The channel's orders and reconciliation; null when no channel is
  // configured (paying online and reconciliation answer 503).
  ChannelPayments* payments = nullptr;
  Reconciler* reconciler = nullptr;
  std::string statements_dir;  // where downloaded statements are kept
  Outbox* unit_outbox = nullptr;  // payment_outbox (GetPay_Info to units), for the console
  // After a payment committed: wake the unit notifier (GetPay_Info).
  std::function<void()> on_payment;
  // Unknown notice numbers asked for publicly, per client address
  // (api_payer.cc); null = unthrottled.
  sso::LoginThrottle* lookup_throttle = nullptr;
  PayerEntryStore* entries = nullptr;  // scheme 7: payer self-entry; null = off
  // Whether the account proved its mobile (an SMS code at self-registration):
  // only then, or at real-name level 2 or more, does the payer's mobile find
  // notices (review16d: an app gave a user of its own a stranger's mobile and
  // read their notices). Null = no account proved one.
  std::function<Result<bool>(const std::string& userid)> mobile_is_proven;
};

class PaymentApi {
 public:
  explicit PaymentApi(Services services);
  ~PaymentApi();
  PaymentApi(const PaymentApi&) = delete;
  PaymentApi& operator=(const PaymentApi&) = delete;

  // Mounts {context_path}/api/ for GET, POST, PUT and DELETE.
  Status Register(http::Router& router);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace tongban::payment
