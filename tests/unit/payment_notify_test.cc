// Notification handling on SQLite and a private PostgreSQL: signature, amount
// and order checks, duplicates and reordering, never credited twice, the query
// sweep that recovers a lost notification, and the unit's result notification
// delivered over real HTTP with retries.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <vector>

#include "codec/parse.h"
#include "http/metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "payment_channel_support.h"

namespace tongban::payment {
namespace {

class NotifyTest : public ChannelFixture {
 protected:
  NotificationAck Notify(const std::string& body) {
    return payments_->HandleNotification({"application/x-www-form-urlencoded", body});
  }
  int CountLog(const std::string& outcome) {
    int n = 0;
    sql_->WithSession([&](soci::session& s) -> Status {
      s << "SELECT COUNT(*) FROM payment_notify_log WHERE outcome = :o", soci::use(outcome),
          soci::into(n);
      return Status::Ok();
    }).ok();
    return n;
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, NotifyTest, ::testing::Values("sqlite", "postgres"),
                         [](const auto& info) { return info.param; });

TEST_P(NotifyTest, ANotificationCreditsTheNoticeAndQueuesTheUnitNotification) {
  PaymentNotice n = Notice("FS1");
  PaymentOrder o = Order(n);
  EXPECT_EQ(o.amount_fen, 3734);
  NotificationAck ack = Notify(channel_.Pay(o.order_no, "T1", clock_.NowMillis()));
  EXPECT_EQ(ack.http_status, 200);
  EXPECT_EQ(ack.body, "success");
  auto notice = notices_->Get(n.notice_no);
  ASSERT_TRUE(notice.ok());
  EXPECT_EQ(notice->state, NoticeState::kPaid);
  EXPECT_EQ(notice->paid_fen, 3734);
  auto order = payments_->GetOrder(o.order_no);
  ASSERT_TRUE(order.ok());
  EXPECT_EQ(order->state, "paid");
  EXPECT_EQ(order->channel_serial, "T1");
  EXPECT_EQ(order->disposition, "credited");
  auto pending = outbox_->List(OutboxState::kPending, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].destination, "000368");
  EXPECT_EQ((*pending)[0].method, "GetPay_Info");
  auto fields = codec::ParseJson((*pending)[0].payload);
  ASSERT_TRUE(fields.ok());
  EXPECT_EQ((*fields)["PAYMONEY"].AsString(), "37.34");
  EXPECT_EQ((*fields)["NOTICENO"].AsString(), n.notice_no);
  EXPECT_EQ((*fields)["TRADENO"].AsString(), "T1");
  EXPECT_EQ((*fields)["PAYNO"].AsString(), order->pay_no);
  EXPECT_EQ((*fields)["PAYDATE"].AsString(), "20260110");
  EXPECT_EQ((*fields)["PAYTIME"].AsString(), "100000");
  EXPECT_EQ((*fields)["CHECKCODE"].AsString().size(), 8u);
}

TEST_P(NotifyTest, ADuplicateNotificationIsAcknowledgedAndChangesNothing) {
  PaymentNotice n = Notice("FS1");
  PaymentOrder o = Order(n);
  std::string body = channel_.Pay(o.order_no, "T1", clock_.NowMillis());
  ASSERT_EQ(Notify(body).body, "success");
  clock_.Advance(std::chrono::seconds(5));
  ASSERT_EQ(Notify(body).body, "success");
  ASSERT_EQ(Notify(body).body, "success");
  auto payments = notices_->PaymentsOf(n.notice_no);
  ASSERT_TRUE(payments.ok());
  EXPECT_EQ(payments->size(), 1u);
  EXPECT_EQ(PendingUnitNotifications(), 1);
  EXPECT_EQ(CountLog("duplicate"), 2);
  EXPECT_EQ(notices_->Get(n.notice_no)->paid_fen, 3734);
}

TEST_P(NotifyTest, ABadSignatureIsRefusedLoggedAndChangesNothing) {
  PaymentNotice n = Notice("FS1");
  PaymentOrder o = Order(n);
  ChannelPayment forged{o.order_no, "T1", 3734, clock_.NowMillis(), ChannelPaymentStatus::kPaid};
  NotificationAck ack = Notify(http::EncodeForm(SandboxPaymentForm(forged, "not-the-key")));
  EXPECT_EQ(ack.http_status, 400);
  EXPECT_EQ(ack.body, "fail");
  EXPECT_EQ(notices_->Get(n.notice_no)->state, NoticeState::kUnpaid);
  EXPECT_EQ(payments_->GetOrder(o.order_no)->state, "pending");
  EXPECT_EQ(CountLog("refused"), 1);
  EXPECT_EQ(PendingUnitNotifications(), 0);
}

TEST_P(NotifyTest, AWrongAmountIsRefusedAndTheOrderLeftToReconciliation) {
  PaymentNotice n = Notice("FS1");
  PaymentOrder o = Order(n);
  NotificationAck ack = Notify(channel_.Pay(o.order_no, "T1", clock_.NowMillis(), 1));
  EXPECT_EQ(ack.body, "fail");
  EXPECT_EQ(notices_->Get(n.notice_no)->state, NoticeState::kUnpaid);
  EXPECT_EQ(payments_->GetOrder(o.order_no)->state, "disputed");
  EXPECT_TRUE(notices_->PaymentsOf(n.notice_no)->empty());
  // Not queried again either.
  clock_.Advance(std::chrono::minutes(5));
  auto sweep = payments_->SweepOnce();
  ASSERT_TRUE(sweep.ok());
  EXPECT_EQ(sweep->queried, 0);
}

TEST_P(NotifyTest, AnUnknownOrderIsRefused) {
  ChannelPayment p{"P-NOT-OURS", "T9", 100, clock_.NowMillis(), ChannelPaymentStatus::kPaid};
  EXPECT_EQ(Notify(http::EncodeForm(SandboxPaymentForm(p, kChannelKey))).body, "fail");
  EXPECT_EQ(CountLog("refused"), 1);
}

// Session 12 (review12): the pay route is public and every open order is
// queried until paid or given up; a notice holds few of them.
TEST_P(NotifyTest, ANoticeHoldsAFewOpenOrdersNotAnyNumber) {
  PaymentNotice n = Notice("FO1");
  for (int i = 0; i < 5; ++i) Order(n);
  auto sixth = payments_->StartOrder(n, n.total_fen, "http://payer.test/back");
  ASSERT_FALSE(sixth.ok());
  EXPECT_EQ(sixth.error().code, errc::kConflict);
  EXPECT_NE(sixth.error().message.find("分钟后再试"), std::string::npos) << sixth.error().message;
  // Another notice is not affected.
  Order(Notice("FO2"));
  // Later, more — up to 20 open in all.
  for (int round = 0; round < 3; ++round) {
    clock_.Advance(std::chrono::minutes(11));
    for (int i = 0; i < 5; ++i) Order(n);
  }
  clock_.Advance(std::chrono::minutes(11));
  auto over = payments_->StartOrder(n, n.total_fen, "http://payer.test/back");
  ASSERT_FALSE(over.ok());
  EXPECT_NE(over.error().message.find("20 笔未完成"), std::string::npos) << over.error().message;
  // An order that is no longer open frees its place.
  ASSERT_TRUE(sql_->WithTransaction([&](soci::session& sql) -> Status {
                    sql << "UPDATE payment_orders SET state = 'abandoned' WHERE order_no IN "
                           "(SELECT order_no FROM payment_orders WHERE notice_no = :n LIMIT 1)",
                        soci::use(n.notice_no);
                    return Status::Ok();
                  }).ok());
  EXPECT_TRUE(payments_->StartOrder(n, n.total_fen, "http://payer.test/back").ok());
}

TEST_P(NotifyTest, ASecondPaymentOfAPaidNoticeIsRecordedForRefundNeverCreditedTwice) {
  PaymentNotice n = Notice("FS1");
  PaymentOrder first = Order(n);
  PaymentOrder second = Order(n);  // the payer opened two tabs
  ASSERT_EQ(Notify(channel_.Pay(first.order_no, "T1", clock_.NowMillis())).body, "success");
  ASSERT_EQ(Notify(channel_.Pay(second.order_no, "T2", clock_.NowMillis())).body, "success");
  auto notice = notices_->Get(n.notice_no);
  EXPECT_EQ(notice->paid_fen, 3734);
  EXPECT_EQ(payments_->GetOrder(second.order_no)->disposition, "refund_due");
  auto due = notices_->RefundsDue(10);
  ASSERT_TRUE(due.ok());
  ASSERT_EQ(due->size(), 1u);
  EXPECT_EQ((*due)[0].trade_no, "T2");
  EXPECT_EQ(PendingUnitNotifications(), 1);  // only the credited one
}

TEST_P(NotifyTest, ReorderedNotificationsCreditTheFirstToArriveOnly) {
  PaymentNotice a = Notice("FS1");
  PaymentNotice b = Notice("FS2", 500);
  PaymentOrder a1 = Order(a);
  PaymentOrder a2 = Order(a);
  PaymentOrder b1 = Order(b);
  std::string n_a1 = channel_.Pay(a1.order_no, "T1", clock_.NowMillis());
  std::string n_b1 = channel_.Pay(b1.order_no, "T2", clock_.NowMillis());
  std::string n_a2 = channel_.Pay(a2.order_no, "T3", clock_.NowMillis());
  for (const std::string* body : {&n_a2, &n_b1, &n_a1, &n_b1}) Notify(*body);
  EXPECT_EQ(notices_->Get(a.notice_no)->state, NoticeState::kPaid);
  EXPECT_EQ(notices_->Get(a.notice_no)->pay_no, "sandbox-T3");
  EXPECT_EQ(notices_->Get(b.notice_no)->state, NoticeState::kPaid);
  EXPECT_EQ(payments_->GetOrder(a1.order_no)->disposition, "refund_due");
  EXPECT_EQ(PendingUnitNotifications(), 2);
}

TEST_P(NotifyTest, ConcurrentCopiesOfOneNotificationCreditOnce) {
  PaymentNotice n = Notice("FS1");
  PaymentOrder o = Order(n);
  std::string body = channel_.Pay(o.order_no, "T1", clock_.NowMillis());
  std::atomic<int> accepted{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&] {
      if (Notify(body).body == "success") ++accepted;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(accepted.load(), 4);
  EXPECT_EQ(notices_->PaymentsOf(n.notice_no)->size(), 1u);
  EXPECT_EQ(PendingUnitNotifications(), 1);
}

// Group commit (the write lane): notifications handed in together share
// transactions, yet each is answered alone, by its own outcome, and only once
// the transaction that holds it committed — the answer's callback reads the
// order from another session and must find what the answer claims.
TEST_P(NotifyTest, NotificationsThroughTheLaneAreEachAnsweredAfterTheirCommit) {
  constexpr int kNotices = 12;
  std::vector<PaymentOrder> orders;
  for (int i = 0; i < kNotices; ++i) orders.push_back(Order(Notice("FL" + std::to_string(i))));
  struct Sent {
    std::string body;
    std::string want;        // "success" or "fail"
    std::string want_state;  // the order's state the answer must find committed
  };
  std::vector<Sent> sent;
  for (int i = 0; i < kNotices; ++i) {
    sent.push_back({channel_.Pay(orders[i].order_no, "T" + std::to_string(i), clock_.NowMillis()),
                    "success", "paid"});
  }
  // A copy of the first (same batch or a later one: a duplicate either way), a
  // wrong amount for an order of its own and a second serial for a paid one.
  PaymentOrder odd = Order(Notice("FLX"));
  sent.push_back(sent[0]);
  sent.push_back({channel_.Pay(odd.order_no, "TX", clock_.NowMillis(), 1), "fail", "disputed"});
  sent.push_back({channel_.Pay(orders[1].order_no, "T-OTHER", clock_.NowMillis()), "fail", "paid"});
  std::mutex mu;
  std::condition_variable all_in;
  std::vector<std::string> answers(sent.size()), committed(sent.size());
  size_t answered = 0;
  for (size_t i = 0; i < sent.size(); ++i) {
    const std::string& order_no = i < orders.size()       ? orders[i].order_no
                                  : i == orders.size()     ? orders[0].order_no
                                  : i == orders.size() + 1 ? odd.order_no
                                                           : orders[1].order_no;
    payments_->HandleNotificationAsync(
        {"application/x-www-form-urlencoded", sent[i].body},
        [&, i, order_no](NotificationAck ack) {
          auto order = payments_->GetOrder(order_no);  // another session than the lane's
          std::lock_guard lock(mu);
          answers[i] = ack.body;
          committed[i] = order.ok() ? order->state : order.error().message;
          if (++answered == sent.size()) all_in.notify_all();
        });
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(all_in.wait_for(lock, std::chrono::seconds(60),
                                [&] { return answered == sent.size(); }));
  }
  for (size_t i = 0; i < sent.size(); ++i) {
    EXPECT_EQ(answers[i], sent[i].want) << i;
    EXPECT_EQ(committed[i], sent[i].want_state) << i;
  }
  for (const PaymentOrder& o : orders) {
    EXPECT_EQ(notices_->Get(o.notice_no)->state, NoticeState::kPaid);
    EXPECT_EQ(notices_->PaymentsOf(o.notice_no)->size(), 1u);
  }
  EXPECT_EQ(notices_->Get(odd.notice_no)->state, NoticeState::kUnpaid);
  EXPECT_EQ(PendingUnitNotifications(), kNotices);
  EXPECT_EQ(CountLog("credited"), kNotices);
  EXPECT_EQ(CountLog("duplicate"), 1);
  EXPECT_EQ(CountLog("refused"), 2);
}

TEST_P(NotifyTest, TheSweepRecoversALostNotificationByQuery) {
  PaymentNotice n = Notice("FS1");
  PaymentOrder o = Order(n);
  PaymentOrder unpaid = Order(Notice("FS2"));
  channel_.Pay(o.order_no, "T1", clock_.NowMillis());  // its notification is lost
  auto early = payments_->SweepOnce();
  ASSERT_TRUE(early.ok());
  EXPECT_EQ(early->queried, 0);  // not pending long enough
  clock_.Advance(std::chrono::seconds(61));
  auto sweep = payments_->SweepOnce();
  ASSERT_TRUE(sweep.ok()) << sweep.error().message;
  EXPECT_EQ(sweep->queried, 2);
  EXPECT_EQ(sweep->recovered, 1);
  EXPECT_EQ(notices_->Get(n.notice_no)->state, NoticeState::kPaid);
  EXPECT_EQ(PendingUnitNotifications(), 1);
  // The unpaid one waits for its backoff before the next query.
  auto again = payments_->SweepOnce();
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->queried, 0);
  EXPECT_EQ(payments_->GetOrder(unpaid.order_no)->query_count, 1);
  // The notification arriving late is then a duplicate.
  auto late = channel_.Query(o.order_no);
  ASSERT_TRUE(late.ok());
  EXPECT_EQ(Notify(http::EncodeForm(SandboxPaymentForm(*late, kChannelKey))).body, "success");
  EXPECT_EQ(CountLog("duplicate"), 1);
  EXPECT_EQ(PendingUnitNotifications(), 1);
}

// A unit endpoint on a real HTTP server: refuses the first call, then checks
// the signature and answers success.
TEST_P(NotifyTest, TheUnitNotificationIsSignedAndRetriedUntilTheUnitAcknowledges) {
  http::Router router;
  http::Metrics metrics;
  std::atomic<int> calls{0};
  std::atomic<bool> signature_ok{false};
  std::string received_payno;
  std::mutex mu;
  router.Add("POST", "/notify", [&](const http::Request& req, http::Response& res) {
    if (++calls == 1) return res.SetText(500, "busy");
    std::vector<std::pair<std::string, std::string>> pairs;
    for (auto e : req.params()) pairs.emplace_back(std::string(e.name), std::string(e.value));
    signature_ok = SandboxSign("unit-key", pairs) == req.ParamOr("sign");
    std::lock_guard lock(mu);
    received_payno = std::string(req.ParamOr("PAYNO"));
    res.SetText(200, "<ROOT><IS_SUCCESS CODE=\"00\"/></ROOT>");
  });
  http::ServerOptions so;
  so.port = 0;
  so.threads = 1;
  so.blocking_threads = 1;
  so.access_log = false;
  http::Server server(router, metrics, so);
  ASSERT_TRUE(server.Listen().ok());
  std::thread runner([&] { server.Run(); });
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/notify";

  PaymentNotice n = Notice("FS1");
  PaymentOrder o = Order(n);
  ASSERT_EQ(Notify(channel_.Pay(o.order_no, "T1", clock_.NowMillis())).body, "success");
  UnitNotifier notifier(*outbox_, clock_, [&](std::string_view entercode) -> Result<UnitEndpoint> {
    EXPECT_EQ(entercode, "000368");
    return UnitEndpoint{url, "unit-app", "unit-key"};
  });
  auto first = notifier.DeliverDue();
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(*first, 0);
  EXPECT_EQ(*notifier.DeliverDue(), 0);  // backing off
  clock_.Advance(std::chrono::seconds(2));
  auto second = notifier.DeliverDue();
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second, 1);
  EXPECT_TRUE(signature_ok.load());
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(received_payno, "sandbox-T1");
  }
  EXPECT_EQ(PendingUnitNotifications(), 0);
  server.Stop();
  runner.join();
}

// A burst of payments to one unit goes out in one claim, one message after
// another (pipeline = 1); when the unit fails one, the rest of the claim is
// released untried (their attempts unchanged) and goes out in the next round,
// while the failed one waits for its backoff.
TEST_P(NotifyTest, ABurstToOneUnitGoesOutInOneClaimAndAFailureHoldsBackOnlyThatRound) {
  http::Router router;
  http::Metrics metrics;
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::string> received;
  router.Add("POST", "/notify", [&](const http::Request& req, http::Response& res) {
    if (++calls == 1) return res.SetText(503, "busy");
    std::lock_guard lock(mu);
    received.emplace_back(req.ParamOr("PAYNO"));
    res.SetText(200, "success");
  });
  http::ServerOptions so;
  so.port = 0;
  so.threads = 1;
  so.blocking_threads = 1;
  so.access_log = false;
  http::Server server(router, metrics, so);
  ASSERT_TRUE(server.Listen().ok());
  std::thread runner([&] { server.Run(); });
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/notify";

  for (int i = 1; i <= 3; ++i) {
    PaymentOrder o = Order(Notice("FB" + std::to_string(i)));
    ASSERT_EQ(Notify(channel_.Pay(o.order_no, "B" + std::to_string(i), clock_.NowMillis())).body,
              "success");
  }
  UnitNotifier notifier(
      *outbox_, clock_,
      [&](std::string_view) -> Result<UnitEndpoint> {
        return UnitEndpoint{url, "unit-app", "unit-key"};
      },
      UnitNotifierOptions{.pipeline = 1});
  auto first = notifier.DeliverDue();
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, 0);
  EXPECT_EQ(calls.load(), 1);  // the other two were not sent to a failing unit
  auto pending = outbox_->List(OutboxState::kPending, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 3u);
  EXPECT_EQ((*pending)[0].attempts, 1);
  EXPECT_EQ((*pending)[1].attempts, 0);
  EXPECT_EQ((*pending)[2].attempts, 0);
  auto second = notifier.DeliverDue();  // at once: the released two
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(*second, 2);
  EXPECT_EQ(PendingUnitNotifications(), 1);
  clock_.Advance(std::chrono::seconds(2));
  auto third = notifier.DeliverDue();
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(*third, 1);
  EXPECT_EQ(PendingUnitNotifications(), 0);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(received, (std::vector<std::string>{"sandbox-B2", "sandbox-B3", "sandbox-B1"}));
  }
  server.Stop();
  runner.join();
}

// With pipelining (the default) a unit's run of a claim is written in one
// exchange: each GetPay_Info still its own request and answer. The unit's
// acknowledged ones count as delivered even when an earlier one of the same
// exchange failed; the failed one waits for its backoff, its attempts counted.
TEST_P(NotifyTest, APipelinedBurstMarksWhatTheUnitAcknowledgedAndRetriesWhatItRefused) {
  http::Router router;
  http::Metrics metrics;
  std::atomic<int> calls{0};
  std::mutex mu;
  std::vector<std::string> received;
  router.Add("POST", "/notify", [&](const http::Request& req, http::Response& res) {
    std::lock_guard lock(mu);
    if (++calls == 2) return res.SetText(503, "busy");
    received.emplace_back(req.ParamOr("PAYNO"));
    res.SetText(200, "success");
  });
  http::ServerOptions so;
  so.port = 0;
  so.threads = 1;
  so.blocking_threads = 1;
  so.access_log = false;
  http::Server server(router, metrics, so);
  ASSERT_TRUE(server.Listen().ok());
  std::thread runner([&] { server.Run(); });
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/notify";

  for (int i = 1; i <= 4; ++i) {
    PaymentOrder o = Order(Notice("FP" + std::to_string(i)));
    ASSERT_EQ(Notify(channel_.Pay(o.order_no, "P" + std::to_string(i), clock_.NowMillis())).body,
              "success");
  }
  UnitNotifier notifier(*outbox_, clock_, [&](std::string_view) -> Result<UnitEndpoint> {
    return UnitEndpoint{url, "unit-app", "unit-key"};
  });
  auto first = notifier.DeliverDue();
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(*first, 3);
  EXPECT_EQ(calls.load(), 4);  // all four written at once
  auto pending = outbox_->List(OutboxState::kPending, 10);
  ASSERT_TRUE(pending.ok());
  ASSERT_EQ(pending->size(), 1u);
  EXPECT_EQ((*pending)[0].attempts, 1);
  EXPECT_EQ(*notifier.DeliverDue(), 0);  // backing off
  clock_.Advance(std::chrono::seconds(2));
  EXPECT_EQ(*notifier.DeliverDue(), 1);
  EXPECT_EQ(PendingUnitNotifications(), 0);
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(received, (std::vector<std::string>{"sandbox-P1", "sandbox-P3", "sandbox-P4",
                                                  "sandbox-P2"}));
  }
  server.Stop();
  runner.join();
}

// The running dispatcher (Start, woken by each payment) marks one round's
// deliveries in the next round's claim: a stream of payments reaches the unit
// once each, and nothing is left pending (to be sent again) once it stops.
TEST_P(NotifyTest, TheRunningDispatcherDeliversAStreamOnceEachAndLeavesNothingPending) {
  http::Router router;
  http::Metrics metrics;
  std::mutex mu;
  std::condition_variable got;
  std::vector<std::string> received;
  router.Add("POST", "/notify", [&](const http::Request& req, http::Response& res) {
    {
      std::lock_guard lock(mu);
      received.emplace_back(req.ParamOr("PAYNO"));
    }
    got.notify_all();
    res.SetText(200, "success");
  });
  http::ServerOptions so;
  so.port = 0;
  so.threads = 1;
  so.blocking_threads = 1;
  so.access_log = false;
  http::Server server(router, metrics, so);
  ASSERT_TRUE(server.Listen().ok());
  std::thread runner([&] { server.Run(); });
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/notify";

  UnitNotifier notifier(
      *outbox_, clock_,
      [&](std::string_view) -> Result<UnitEndpoint> {
        return UnitEndpoint{url, "unit-app", "unit-key"};
      },
      UnitNotifierOptions{.poll_interval = std::chrono::minutes(10)});
  notifier.Start();
  constexpr int kPayments = 12;
  for (int i = 1; i <= kPayments; ++i) {
    PaymentOrder o = Order(Notice("FR" + std::to_string(i)));
    ASSERT_EQ(Notify(channel_.Pay(o.order_no, "R" + std::to_string(i), clock_.NowMillis())).body,
              "success");
    notifier.Wake();
  }
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(got.wait_for(lock, std::chrono::seconds(30),
                             [&] { return received.size() >= kPayments; }));
  }
  notifier.Stop();
  EXPECT_EQ(PendingUnitNotifications(), 0);
  std::lock_guard lock(mu);
  std::vector<std::string> sorted = received;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::unique(sorted.begin(), sorted.end()), sorted.end());  // none twice
  EXPECT_EQ(sorted.size(), static_cast<size_t>(kPayments));
  server.Stop();
  runner.join();
}

}  // namespace
}  // namespace tongban::payment
