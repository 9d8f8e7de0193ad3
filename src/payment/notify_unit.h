// Result notification (GetPay_Info) to the collecting unit of a credited
// payment, through the "payment_outbox" table: enqueued inside the payment's
// transaction (NoticeStore's payment hook), delivered by a dispatcher thread as
// a signed form POST to the unit's notify_url, retried with backoff until the
// unit answers success; survives restarts (the outbox is SQL). Delivery is at
// least once: the unit deduplicates on PAYNO.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "http/client.h"
#include "payment/model.h"
#include "store/outbox.h"

namespace tongban::payment {

inline constexpr std::string_view kUnitNotifyMethod = "GetPay_Info";

// The GetPay_Info fields of a credited payment, in wire order (PAYMONEY in
// yuan with two decimals, PAYDATE YYYYMMDD, PAYTIME hhmmss, China time).
std::vector<std::pair<std::string, std::string>> GetPayInfoFields(const PaymentNotice& notice,
                                                                  const Payment& payment);

// CHECKCODE: 8 uppercase hex digits of SHA-256 over PAYNO|NOTICENO|PAYMONEY,
// so a unit (or a payer holding the receipt) can check the three belong together.
std::string PaymentCheckCode(std::string_view pay_no, std::string_view notice_no,
                             std::string_view pay_money);

// For the payment hook: enqueues the unit's notification of `payment` in `tx`
// when it was credited (a kRefundDue payment paid nothing the unit must know of).
Status EnqueueUnitNotification(Outbox& outbox, soci::session& tx, const PaymentNotice& notice,
                               const Payment& payment, int64_t now_ms);

// Where a unit's notifications go, and the key that signs them.
struct UnitEndpoint {
  std::string url;          // "" = the unit has none (the message waits and is retried)
  std::string servicecode;  // who signs: the unit's SSO access resource, sent as servicecode
  std::string key;          // the HMAC key (never logged)
};
using UnitEndpointLookup = std::function<Result<UnitEndpoint>(std::string_view entercode)>;

struct UnitNotifierOptions {
  std::chrono::milliseconds poll_interval{1'000};
  std::chrono::milliseconds request_timeout{10'000};
  // Messages per claim, all of one unit in a burst (the outbox's
  // per_destination must allow as many; UnitOutboxOptions sets it). Each
  // claim's query reads every pending message, so a backlog costs less in
  // fewer, fuller claims (64 until session 10).
  size_t batch = 256;
  // Messages to one unit sent in one pipelined exchange over the kept
  // connection (http::KeepAliveClient::PostFormPipelined: still one
  // GetPay_Info per request, written together, answered in order). 1 = one
  // request after another. A unit whose server mishandles pipelining (leaves
  // some unanswered) gets one at a time from then on.
  size_t pipeline = 32;
  // After a round that delivered fewer than `pipeline` messages, the
  // dispatcher waits this long before claiming again (payments, Wake, are not
  // waited for meanwhile), so that a steady stream is sent in fuller claims:
  // a claim, an exchange and a commit cost about the same for 2 messages as
  // for 30, and the cost per message otherwise depends on how many happened
  // to be queued. A message arriving after a quiet spell goes at once (the
  // round before found nothing); one arriving during a stream waits at most
  // this long more. 0 = claim again at once.
  std::chrono::milliseconds linger{5};
};

class UnitNotifier {
 public:
  UnitNotifier(Outbox& outbox, Clock& clock, UnitEndpointLookup lookup,
               UnitNotifierOptions options = {}, http::ClientOptions client = {});
  ~UnitNotifier();  // stops

  // Delivers what is due now and marks the acknowledged ones delivered;
  // returns how many were acknowledged.
  Result<int> DeliverDue();

  void Start();
  void Stop();
  void Wake();  // after a payment committed: deliver without waiting for the poll

 private:
  // The signed GetPay_Info form of `message`.
  Result<std::vector<std::pair<std::string, std::string>>> FormOf(const OutboxMessage& message,
                                                                  const UnitEndpoint& endpoint);
  // One round: marks `acknowledged` (the previous round's) delivered in the
  // claim's transaction, claims and sends; `acknowledged` then holds this
  // round's, still to be marked (the next round's claim, or DeliverDue, does
  // it: a crash before that resends them once the claim lapses).
  Result<int> Round(std::vector<int64_t>& acknowledged);
  void Loop();

  Outbox& outbox_;
  Clock& clock_;
  UnitEndpointLookup lookup_;
  UnitNotifierOptions options_;
  // One connection kept to the unit being sent to (a burst of GetPay_Info goes
  // over it one after another); DeliverDue holds deliver_mu_ while it sends.
  std::mutex deliver_mu_;
  http::KeepAliveClient client_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace tongban::payment
