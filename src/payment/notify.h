// Channel payments: the orders tongban places with its channel and what the
// channel tells about them. A verified notification (or a query answer, or an
// audited 补单) is applied once: checked against its order (number, amount),
// recorded through NoticeStore::RecordPayment (never credited twice: a second
// payment of a paid notice is recorded as kRefundDue), then the order is marked
// paid. A duplicate is acknowledged and changes nothing. Orders pending too
// long are queried by a background sweep, so a lost notification is recovered.
// The unit hears of a credited payment through UnitNotifier (notify_unit.h).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "core/clock.h"
#include "core/random.h"
#include "core/result.h"
#include "payment/channel.h"
#include "payment/model.h"
#include "payment/notices.h"
#include "store/sql_store.h"
#include "store/write_lane.h"

namespace tongban::payment {

// Order states: pending (placed, not paid), paid, disputed (the channel
// reported something tongban refused for it: another amount, another serial;
// left to reconciliation), abandoned (pending past give_up_after).
struct PaymentOrder {
  std::string order_no;
  std::string notice_no;
  std::string channel;
  int64_t amount_fen = 0;
  std::string state = "pending";
  std::string channel_serial;  // once paid
  int64_t paid_at_ms = 0;      // by the channel, once paid
  std::string pay_no;          // the Payment recorded for it
  std::string disposition;     // the Payment's: credited / refund_due
  int64_t created_at_ms = 0;
  int64_t next_query_at_ms = 0;
  int query_count = 0;
};

enum class ApplyOutcome {
  kCredited,   // recorded and credited to the notice
  kRefundDue,  // recorded, not credited (already paid, cancelled, ...): refund it
  kDuplicate,  // seen before: nothing changed
  kUnpaid,     // the channel says not paid (yet): nothing changed
  kRefused,    // not applied: unknown order, wrong amount, another serial
};
std::string_view ApplyOutcomeName(ApplyOutcome outcome);

struct ApplyResult {
  ApplyOutcome outcome = ApplyOutcome::kRefused;
  std::string reason;  // why refused / not credited
  std::string pay_no;
};

struct ChannelPaymentsOptions {
  std::string notify_url;  // our notification endpoint as the channel reaches it
  // An order pending this long is queried; again after query_backoff (doubling
  // up to 16x); abandoned after give_up_after.
  std::chrono::milliseconds query_after{60'000};
  std::chrono::milliseconds query_backoff{30'000};
  std::chrono::milliseconds give_up_after{std::chrono::hours(48)};
  int sweep_batch = 100;
  // Group commit of the channel's notifications (store::WriteLane): the
  // concurrent ones share a transaction, each answered once it committed.
  // Off: each is its own transaction on the calling thread.
  bool group_commit = true;
};

struct SweepReport {
  int queried = 0;
  int recovered = 0;  // credited or refund_due through a query
  int abandoned = 0;
  int failed = 0;     // the channel could not answer
};

class ChannelPayments {
 public:
  // Modules "payment_orders" (orders and the notification log) and the
  // unit notifications' outbox "payment_outbox".
  static std::vector<Migration> Migrations();

  ChannelPayments(SqlStore& store, Channel& channel, NoticeStore& notices, Clock& clock,
                  Random& random, ChannelPaymentsOptions options);
  ~ChannelPayments();  // drains the lane: every queued notification answered
  // The destructor's drain, earlier: at shutdown, before the HTTP server whose
  // suspended responses the lane's answers resume goes (a notification after
  // this is answered "unavailable", i.e. `fail`: the channel resends).
  void StopAsyncWrites();

  // Places an order for `notice` at the channel for `amount_fen` (the amount due
  // now: total + late fee). Conflict unless the notice is unpaid.
  struct Started {
    PaymentOrder order;
    PayInstruction pay;
  };
  Result<Started> StartOrder(const PaymentNotice& notice, int64_t amount_fen,
                             std::string_view return_url);

  // The channel's asynchronous notification: verify, apply, answer in the
  // channel's terms. A bad signature or refused payment is logged (spdlog and
  // the notification log) and answered with a refusal; a database failure is
  // answered with a refusal too, so the channel sends again.
  NotificationAck HandleNotification(const RawNotification& raw);
  // The same, answered later: the signature is checked on the calling thread,
  // the payment applied through the write lane (group commit), and `done`
  // called with the answer on the lane's thread once its transaction
  // committed (or failed: then the channel is refused and sends again) — an
  // acknowledged notification is never lost. Without a lane (group_commit
  // off) `done` runs before this returns.
  void HandleNotificationAsync(const RawNotification& raw,
                               std::function<void(NotificationAck)> done);

  // Applies what the channel reported; `source` is "notify", "query" or
  // "reissue" (补单), for the log. Errors only for database failures.
  Result<ApplyResult> Apply(const ChannelPayment& reported, std::string_view source);
  // Apply's work inside the caller's transaction `tx` (refusals logged in it
  // too): one transaction per notification, or one piece of a lane's batch.
  Result<ApplyResult> ApplyIn(soci::session& tx, const ChannelPayment& reported,
                              std::string_view source);

  // Queries the channel about every order pending longer than query_after that
  // is due for a query, and applies the answers.
  Result<SweepReport> SweepOnce();

  // Folds the small pages of the payment ledger (one per payment) of the
  // China day of `now` and the day before into large ones (the sweeper runs
  // it after each sweep; reconciliation before it reads a day).
  Status CompactLedger();

  Result<PaymentOrder> GetOrder(std::string_view order_no);
  // Orders of a channel paid in [from_ms, to_ms), for reconciliation.
  Result<std::vector<PaymentOrder>> PaidOrders(int64_t from_ms, int64_t to_ms);
  // Orders of the channel placed in [from_ms, to_ms), whatever their state.
  Result<std::vector<PaymentOrder>> OrdersCreated(int64_t from_ms, int64_t to_ms);
  // Both at once, each order once: placed in [created_from, created_to), or
  // paid in [paid_from, paid_to) (reconciliation's side of a day; one read of
  // the table instead of two overlapping ones).
  Result<std::vector<PaymentOrder>> OrdersCreatedOrPaid(int64_t created_from, int64_t created_to,
                                                        int64_t paid_from, int64_t paid_to);

  Channel& channel() { return channel_; }
  NoticeStore& notices() { return notices_; }
  SqlStore& store() { return store_; }
  Clock& clock() { return clock_; }

 private:
  Status Log(soci::session& sql, std::string_view source, const ChannelPayment& p,
             ApplyOutcome outcome, std::string_view reason);
  Status LogAlone(std::string_view source, const ChannelPayment& p, ApplyOutcome outcome,
                  std::string_view reason);
  NotificationAck AckOf(const ChannelPayment& reported, const Result<ApplyResult>& applied);

  SqlStore& store_;
  Channel& channel_;
  NoticeStore& notices_;
  Clock& clock_;
  Random& random_;
  ChannelPaymentsOptions options_;
  std::unique_ptr<WriteLane> lane_;  // last: drained (and stopped) first
};

// Runs ChannelPayments::SweepOnce every `interval` on its own thread (a
// condition variable wait, woken early by Wake or Stop).
class QuerySweeper {
 public:
  QuerySweeper(ChannelPayments& payments, std::chrono::milliseconds interval);
  ~QuerySweeper();  // stops
  void Start();
  void Stop();
  void Wake();

 private:
  void Loop();
  ChannelPayments& payments_;
  std::chrono::milliseconds interval_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace tongban::payment
