#include "payment/notify.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <future>

#include "core/background.h"
#include "payment/ledger.h"
#include "payment/paid_days.h"
#include "store/outbox.h"
#include "store/sql_dialect.h"

namespace tongban::payment {

// Open (pending) orders of one notice: at most this many in all, and at most
// kMaxRecentOrdersPerNotice opened in the last kRecentOrderWindowMs.
constexpr long long kMaxOpenOrdersPerNotice = 20;
constexpr long long kMaxRecentOrdersPerNotice = 5;
constexpr int64_t kRecentOrderWindowMs = 10 * 60'000;

namespace {

constexpr const char* kOrdersSchema = R"sql(
CREATE TABLE payment_orders (
  order_no {KEY} PRIMARY KEY,
  notice_no {KEY} NOT NULL,
  channel {KEY} NOT NULL,
  amount_fen BIGINT NOT NULL,
  state {KEY} NOT NULL DEFAULT 'pending',
  channel_serial {KEY} NOT NULL DEFAULT '',
  paid_at BIGINT NOT NULL DEFAULT 0,
  pay_no {KEY} NOT NULL DEFAULT '',
  disposition {KEY} NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  next_query_at BIGINT NOT NULL,
  query_count INTEGER NOT NULL DEFAULT 0
){END};
CREATE INDEX payment_orders_by_notice ON payment_orders (notice_no);
CREATE INDEX payment_orders_due ON payment_orders (state, next_query_at);
CREATE INDEX payment_orders_paid ON payment_orders (channel, paid_at);
CREATE INDEX payment_orders_created ON payment_orders (channel, created_at);
CREATE TABLE payment_notify_log (
  id {ID},
  at BIGINT NOT NULL,
  source {KEY} NOT NULL,
  channel {KEY} NOT NULL,
  order_no {KEY} NOT NULL,
  channel_serial {KEY} NOT NULL,
  amount_fen BIGINT NOT NULL,
  outcome {KEY} NOT NULL,
  reason {TEXT}
){END};
CREATE INDEX payment_notify_log_by_order ON payment_notify_log (order_no, id);
)sql";

constexpr const char* kOrderColumns =
    "order_no, notice_no, channel, amount_fen, state, channel_serial, paid_at, pay_no, "
    "disposition, created_at, next_query_at, query_count";

struct OrderRow {
  std::string order_no, notice_no, channel;
  long long amount = 0;
  std::string state, serial;
  long long paid_at = 0;
  std::string pay_no, disposition;
  long long created_at = 0, next_query_at = 0;
  int query_count = 0;

  void Bind(soci::details::prepare_temp_type& p) {
    p, soci::into(order_no), soci::into(notice_no), soci::into(channel), soci::into(amount),
        soci::into(state), soci::into(serial), soci::into(paid_at), soci::into(pay_no),
        soci::into(disposition), soci::into(created_at), soci::into(next_query_at),
        soci::into(query_count);
  }
  PaymentOrder ToOrder() const {
    return PaymentOrder{order_no, notice_no,  channel,    amount,        state,
                        serial,   paid_at,    pay_no,     disposition,   created_at,
                        next_query_at, query_count};
  }
};

std::vector<PaymentOrder> FetchOrders(soci::details::prepare_temp_type p) {
  OrderRow r;
  r.Bind(p);
  soci::statement st(p);
  st.execute();
  std::vector<PaymentOrder> out;
  while (st.fetch()) out.push_back(r.ToOrder());
  return out;
}

std::optional<PaymentOrder> LoadOrder(soci::session& sql, const std::string& order_no,
                                      std::string_view lock) {
  auto rows = FetchOrders((sql.prepare << std::string("SELECT ") + kOrderColumns +
                                              " FROM payment_orders WHERE order_no = :o" +
                                              std::string(lock),
                           soci::use(order_no)));
  if (rows.empty()) return std::nullopt;
  return std::move(rows.front());
}

// The statements of a notification, kept per pooled session (SqlStore::
// KeptFor): compiled once per connection instead of once per notification.
// The members are what each is bound to.
struct KeptOrderByNo : SqlStore::Kept {
  std::string order_no;
  OrderRow row;
  soci::statement st;
  explicit KeptOrderByNo(soci::session& sql) : st(Prepare(sql, row, order_no)) {}
  static soci::statement Prepare(soci::session& sql, OrderRow& row, std::string& key) {
    soci::details::prepare_temp_type p =
        (sql.prepare << std::string("SELECT ") + kOrderColumns +
                            " FROM payment_orders WHERE order_no = :o",
         soci::use(key));
    row.Bind(p);
    return soci::statement(p);
  }
};

struct KeptOrderPaid : SqlStore::Kept {
  std::string serial, pay_no, disposition, order_no;
  long long paid_at = 0;
  soci::statement st;
  explicit KeptOrderPaid(soci::session& sql)
      : st((sql.prepare << "UPDATE payment_orders SET state = 'paid', channel_serial = :s, "
                           "paid_at = :p, pay_no = :n, disposition = :d WHERE order_no = :o",
            soci::use(serial, "s"), soci::use(paid_at, "p"), soci::use(pay_no, "n"),
            soci::use(disposition, "d"), soci::use(order_no, "o"))) {}
};

struct KeptLogInsert : SqlStore::Kept {
  std::string source, channel, order_no, serial, outcome, reason;
  long long at = 0, amount = 0;
  soci::statement st;
  explicit KeptLogInsert(soci::session& sql)
      : st((sql.prepare << "INSERT INTO payment_notify_log (at, source, channel, order_no, "
                           "channel_serial, amount_fen, outcome, reason) VALUES (:t, :s, :c, :o, "
                           ":cs, :a, :out, :r)",
            soci::use(at, "t"), soci::use(source, "s"), soci::use(channel, "c"),
            soci::use(order_no, "o"), soci::use(serial, "cs"), soci::use(amount, "a"),
            soci::use(outcome, "out"), soci::use(reason, "r"))) {}
};

std::string NewOrderNo(int64_t now_ms, Random& random) {
  std::string hex = random.Hex(5);
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return "P" + ChinaDate(now_ms) + ChinaTime(now_ms) + hex;
}

}  // namespace

std::string_view ApplyOutcomeName(ApplyOutcome outcome) {
  switch (outcome) {
    case ApplyOutcome::kCredited:
      return "credited";
    case ApplyOutcome::kRefundDue:
      return "refund_due";
    case ApplyOutcome::kDuplicate:
      return "duplicate";
    case ApplyOutcome::kUnpaid:
      return "unpaid";
    case ApplyOutcome::kRefused:
      return "refused";
  }
  return "refused";
}

std::vector<Migration> ChannelPayments::Migrations() {
  std::vector<Migration> out = {PortableMigration("payment_orders", 1, kOrdersSchema),
                                LedgerMigration(), PaidDaysMigration()};
  for (auto& m : Outbox::Migrations("payment_outbox")) out.push_back(std::move(m));
  return out;
}

ChannelPayments::ChannelPayments(SqlStore& store, Channel& channel, NoticeStore& notices,
                                 Clock& clock, Random& random, ChannelPaymentsOptions options)
    : store_(store),
      channel_(channel),
      notices_(notices),
      clock_(clock),
      random_(random),
      options_(std::move(options)) {
  if (options_.group_commit) lane_ = std::make_unique<WriteLane>(store_, "tb-paynotify");
  // A whole refund: the order's disposition becomes refunded, and its ledger
  // record is amended, in the refund's transaction. Channel-agnostic (the
  // order's own channel), so every ChannelPayments may set it.
  SqlStore* ledger_store = &store_;
  notices_.SetRefundHook([ledger_store](soci::session& tx, const Payment& p) -> Status {
    auto rows = FetchOrders((tx.prepare << std::string("SELECT ") + kOrderColumns +
                                               " FROM payment_orders WHERE notice_no = :n",
                             soci::use(p.notice_no)));
    for (const PaymentOrder& o : rows) {
      if (o.pay_no != p.pay_no || o.state != "paid") continue;
      tx << "UPDATE payment_orders SET disposition = 'refunded' WHERE order_no = :o",
          soci::use(o.order_no);
      TB_RETURN_IF_ERROR(RecordAmendedIn(
          *ledger_store, tx, o.channel,
          {o.order_no, o.channel_serial, o.amount_fen, o.paid_at_ms, "refunded"}));
    }
    return Status::Ok();
  });
}

Status ChannelPayments::CompactLedger() {
  const int64_t now = clock_.NowMillis();
  for (int64_t at : {now - 86'400'000, now}) {
    auto folded = CompactLedgerDay(store_, channel_.code(), ChinaDate(at));
    if (!folded.ok()) return folded.error();
  }
  return Status::Ok();
}

ChannelPayments::~ChannelPayments() = default;

void ChannelPayments::StopAsyncWrites() {
  if (lane_ != nullptr) lane_->Stop();
}

Result<ChannelPayments::Started> ChannelPayments::StartOrder(const PaymentNotice& notice,
                                                             int64_t amount_fen,
                                                             std::string_view return_url) {
  if (notice.state != NoticeState::kUnpaid) return Error::Conflict("缴款单不是未缴状态");
  if (amount_fen <= 0) return Error::InvalidArgument("缴费金额应大于 0");
  const int64_t now = clock_.NowMillis();
  PaymentOrder order;
  order.order_no = NewOrderNo(now, random_);
  order.notice_no = notice.notice_no;
  order.channel = std::string(channel_.code());
  order.amount_fen = amount_fen;
  order.created_at_ms = now;
  order.next_query_at_ms = now + options_.query_after.count();
  // Stored before the channel hears of it: a notification can never arrive for
  // an order tongban does not know.
  TB_RETURN_IF_ERROR(store_.WithTransaction([&](soci::session& sql) -> Status {
    // The pay route is public and every order is queried until it is paid or
    // given up (query_give_up_s): without a bound, anyone holding one notice
    // number could open orders without end and bury the sweep that recovers
    // lost notifications (review12). A payer never needs many.
    // Two COUNTs (a SUM is DECIMAL on MySQL): both on the notice's index.
    long long open = 0, recent = 0, since = now - kRecentOrderWindowMs;
    sql << "SELECT COUNT(*) FROM payment_orders WHERE notice_no = :n AND state = 'pending'",
        soci::use(order.notice_no), soci::into(open);
    sql << "SELECT COUNT(*) FROM payment_orders WHERE notice_no = :n AND state = 'pending' AND "
           "created_at > :s",
        soci::use(order.notice_no), soci::use(since), soci::into(recent);
    if (open >= kMaxOpenOrdersPerNotice) {
      return Error::Conflict("该缴款单已有 " + std::to_string(open) +
                             " 笔未完成的在线支付，请在已打开的支付页面完成支付，或到窗口缴款");
    }
    if (recent >= kMaxRecentOrdersPerNotice) {
      return Error::Conflict("该缴款单刚刚发起过多次支付，请在已打开的支付页面完成支付，或 " +
                             std::to_string(kRecentOrderWindowMs / 60'000) + " 分钟后再试");
    }
    long long amount = order.amount_fen, created = now, next = order.next_query_at_ms;
    sql << "INSERT INTO payment_orders (order_no, notice_no, channel, amount_fen, created_at, "
           "next_query_at) VALUES (:o, :n, :c, :a, :t, :q)",
        soci::use(order.order_no), soci::use(order.notice_no), soci::use(order.channel),
        soci::use(amount), soci::use(created), soci::use(next);
    return Status::Ok();
  }));
  ChannelOrder request;
  request.order_no = order.order_no;
  request.notice_no = notice.notice_no;
  request.amount_fen = amount_fen;
  request.subject = notice.lines.empty() ? notice.entername : notice.lines.front().chitname;
  request.return_url = std::string(return_url);
  request.notify_url = options_.notify_url;
  auto pay = channel_.CreateOrder(request);
  if (!pay.ok()) return std::move(pay).error();
  return Started{std::move(order), std::move(pay).value()};
}

Status ChannelPayments::Log(soci::session& sql, std::string_view source, const ChannelPayment& p,
                            ApplyOutcome outcome, std::string_view reason) {
  auto& k = store_.KeptFor<KeptLogInsert>(sql, "payment.notify_log_insert", [](soci::session& s) {
    return std::make_unique<KeptLogInsert>(s);
  });
  k.at = clock_.NowMillis();
  k.source.assign(source);
  k.channel.assign(channel_.code());
  k.order_no = p.order_no;
  k.serial = p.channel_serial;
  k.amount = p.amount_fen;
  k.outcome.assign(ApplyOutcomeName(outcome));
  k.reason.assign(reason);
  k.st.execute(true);
  return Status::Ok();
}

Status ChannelPayments::LogAlone(std::string_view source, const ChannelPayment& p,
                                 ApplyOutcome outcome, std::string_view reason) {
  if (outcome == ApplyOutcome::kRefused) {
    spdlog::warn("payment: refused a {} of order {} (serial {}, {} fen): {}", source, p.order_no,
                 p.channel_serial, p.amount_fen, reason);
  }
  return store_.WithTransaction(
      [&](soci::session& sql) { return Log(sql, source, p, outcome, reason); });
}

Result<ApplyResult> ChannelPayments::Apply(const ChannelPayment& reported,
                                           std::string_view source) {
  if (reported.status != ChannelPaymentStatus::kPaid) {
    return ApplyResult{ApplyOutcome::kUnpaid, std::string(ChannelPaymentStatusName(reported.status)),
                       ""};
  }
  return store_.WithTransaction(
      [&](soci::session& sql) { return ApplyIn(sql, reported, source); });
}

Result<ApplyResult> ChannelPayments::ApplyIn(soci::session& sql, const ChannelPayment& reported,
                                             std::string_view source) {
  // A refusal is logged in the same transaction: it commits with the
  // notification's other writes (an order marked disputed) or not at all.
  auto refuse = [&](std::string reason) -> Result<ApplyResult> {
    spdlog::warn("payment: refused a {} of order {} (serial {}, {} fen): {}", source,
                 reported.order_no, reported.channel_serial, reported.amount_fen, reason);
    TB_RETURN_IF_ERROR(Log(sql, source, reported, ApplyOutcome::kRefused, reason));
    return ApplyResult{ApplyOutcome::kRefused, std::move(reason), ""};
  };
  if (reported.status != ChannelPaymentStatus::kPaid) {
    return ApplyResult{ApplyOutcome::kUnpaid, std::string(ChannelPaymentStatusName(reported.status)),
                       ""};
  }
  std::optional<PaymentOrder> found;
  {
    auto& k = store_.KeptFor<KeptOrderByNo>(sql, "payment.order_by_no", [](soci::session& s) {
      return std::make_unique<KeptOrderByNo>(s);
    });
    k.order_no = reported.order_no;
    k.st.execute();
    while (k.st.fetch()) found = k.row.ToOrder();  // to its end: the statement is reset
  }
  if (!found) return refuse("unknown order");
  PaymentOrder order = std::move(*found);
  if (order.state == "paid") {
    if (order.channel_serial == reported.channel_serial && order.amount_fen == reported.amount_fen) {
      TB_RETURN_IF_ERROR(Log(sql, source, reported, ApplyOutcome::kDuplicate, ""));
      return ApplyResult{ApplyOutcome::kDuplicate, "", order.pay_no};
    }
    return refuse("order already paid with serial " + order.channel_serial);
  }
  if (reported.amount_fen != order.amount_fen) {
    // Never credited: the order is left to reconciliation and no longer queried.
    sql << "UPDATE payment_orders SET state = 'disputed' WHERE order_no = :o AND state = "
           "'pending'",
        soci::use(order.order_no);
    return refuse("amount " + std::to_string(reported.amount_fen) + " fen differs from the order's " +
                  std::to_string(order.amount_fen));
  }
  Payment payment;
  payment.notice_no = order.notice_no;
  payment.trade_no = reported.channel_serial;
  payment.channel = std::string(channel_.code());
  payment.way_code = std::string(channel_.code());
  payment.way_name = std::string(channel_.display_name());
  payment.amount_fen = reported.amount_fen;
  payment.paid_at_ms = reported.paid_at_ms;
  // The same transaction records the payment (with the unit's notification, by
  // the store's hook), marks the order paid and logs the notification: a crash
  // leaves all of it or none (the channel's re-send or the sweep's query then
  // applies it afresh).
  ApplyResult result;
  auto recorded = notices_.RecordPaymentIn(
      sql, payment, [&](soci::session& tx, const PaymentOutcome& outcome) -> Status {
        const Payment& stored = outcome.payment;
        // The same PAYNO with another serial: refused below, the order untouched.
        if (outcome.repeated && stored.trade_no != reported.channel_serial) return Status::Ok();
        const bool credited = stored.disposition == PaymentDisposition::kCredited;
        result = ApplyResult{credited ? ApplyOutcome::kCredited : ApplyOutcome::kRefundDue,
                             stored.note, stored.pay_no};
        auto& k = store_.KeptFor<KeptOrderPaid>(tx, "payment.order_paid", [](soci::session& s) {
          return std::make_unique<KeptOrderPaid>(s);
        });
        k.serial = reported.channel_serial;
        k.paid_at = reported.paid_at_ms;
        k.pay_no = stored.pay_no;
        k.disposition.assign(PaymentDispositionName(stored.disposition));
        k.order_no = order.order_no;
        k.st.execute(true);
        // The day's ledger, in the same transaction (savepoint) as the order.
        TB_RETURN_IF_ERROR(RecordPaidIn(store_, tx, channel_.code(),
                                        {order.order_no, reported.channel_serial, order.amount_fen,
                                         reported.paid_at_ms, k.disposition}));
        return Log(tx, source, reported, result.outcome, result.reason);
      });
  if (!recorded.ok()) {
    // NotFound comes before the store wrote anything.
    if (recorded.error().code == errc::kNotFound) return refuse("unknown notice");
    return std::move(recorded).error();
  }
  const Payment& stored = recorded->payment;
  const bool credited = stored.disposition == PaymentDisposition::kCredited;
  if (recorded->repeated && stored.trade_no != reported.channel_serial) {
    return refuse("payment number already used");
  }
  if (!credited) {
    spdlog::warn("payment: order {} paid {} fen to notice {} that cannot take it ({}): refund due",
                 order.order_no, reported.amount_fen, order.notice_no, stored.note);
  }
  return result;
}

NotificationAck ChannelPayments::AckOf(const ChannelPayment& reported,
                                       const Result<ApplyResult>& applied) {
  if (!applied.ok()) {
    spdlog::error("payment: cannot apply the notification of order {}: {}", reported.order_no,
                  applied.error().message);
    return channel_.Acknowledge(false);
  }
  return channel_.Acknowledge(applied->outcome != ApplyOutcome::kRefused);
}

NotificationAck ChannelPayments::HandleNotification(const RawNotification& raw) {
  // Waits for the lane's answer (never called on the lane's own thread).
  std::promise<NotificationAck> answer;
  std::future<NotificationAck> answered = answer.get_future();
  HandleNotificationAsync(raw, [&answer](NotificationAck ack) { answer.set_value(std::move(ack)); });
  return answered.get();
}

void ChannelPayments::HandleNotificationAsync(const RawNotification& raw,
                                              std::function<void(NotificationAck)> done) {
  auto verified = channel_.VerifyNotification(raw);
  if (!verified.ok()) {
    spdlog::warn("payment: refused a notification from channel {}: {}", channel_.code(),
                 verified.error().message);
    ChannelPayment unreadable;
    unreadable.order_no = "?";
    (void)LogAlone("notify", unreadable, ApplyOutcome::kRefused, verified.error().message);
    return done(channel_.Acknowledge(false));
  }
  if (lane_ == nullptr || verified->status != ChannelPaymentStatus::kPaid) {
    auto applied = Apply(*verified, "notify");
    return done(AckOf(*verified, applied));
  }
  // The lane runs ApplyIn in a savepoint of its batch's transaction; the
  // answer leaves only after that transaction committed. An error in the
  // piece rolls back its own writes (the channel is refused and sends again).
  struct Job {
    ChannelPayment reported;
    Result<ApplyResult> applied = Error::Internal("not applied");
    std::function<void(NotificationAck)> done;
  };
  auto job = std::make_shared<Job>(Job{std::move(*verified), Error::Internal("not applied"),
                                       std::move(done)});
  lane_->Submit(
      [this, job](soci::session& sql) -> Status {
        job->applied = ApplyIn(sql, job->reported, "notify");
        if (!job->applied.ok()) return job->applied.error();
        return Status::Ok();
      },
      [this, job](Status committed) {
        if (!committed.ok()) job->applied = committed.error();
        job->done(AckOf(job->reported, job->applied));
      });
}

Result<SweepReport> ChannelPayments::SweepOnce() {
  const int64_t now = clock_.NowMillis();
  SweepReport report;
  auto due = store_.WithSession([&](soci::session& sql) -> Result<std::vector<PaymentOrder>> {
    long long t = now, n = options_.sweep_batch;
    return FetchOrders((sql.prepare << std::string("SELECT ") + kOrderColumns +
                                           " FROM payment_orders WHERE state = 'pending' AND "
                                           "next_query_at <= :t ORDER BY next_query_at LIMIT :n",
                        soci::use(t), soci::use(n)));
  });
  if (!due.ok()) return std::move(due).error();
  for (const PaymentOrder& order : *due) {
    const bool give_up = now - order.created_at_ms >= options_.give_up_after.count();
    ++report.queried;
    auto answer = channel_.Query(order.order_no);
    if (answer.ok() && answer->order_no == order.order_no) {
      auto applied = Apply(*answer, "query");
      if (!applied.ok()) return std::move(applied).error();
      if (applied->outcome == ApplyOutcome::kCredited ||
          applied->outcome == ApplyOutcome::kRefundDue) {
        ++report.recovered;
        continue;
      }
      if (applied->outcome != ApplyOutcome::kUnpaid) continue;
    } else if (!answer.ok() && answer.error().code != errc::kNotFound) {
      ++report.failed;
      spdlog::warn("payment: query of order {} failed: {}", order.order_no,
                   answer.error().message);
    }
    // Not paid (or not known) yet: ask again later, less and less often.
    const int shift = std::min(order.query_count, 4);
    long long next = now + options_.query_backoff.count() * (int64_t{1} << shift);
    std::string state = give_up ? "abandoned" : "pending";
    if (give_up) ++report.abandoned;
    TB_RETURN_IF_ERROR(store_.WithTransaction([&](soci::session& sql) -> Status {
      sql << "UPDATE payment_orders SET next_query_at = :q, query_count = query_count + 1, "
             "state = :s WHERE order_no = :o AND state = 'pending'",
          soci::use(next), soci::use(state), soci::use(order.order_no);
      return Status::Ok();
    }));
  }
  return report;
}

Result<PaymentOrder> ChannelPayments::GetOrder(std::string_view order_no) {
  std::string key(order_no);
  auto order = store_.WithSession([&](soci::session& sql) -> Result<std::optional<PaymentOrder>> {
    return LoadOrder(sql, key, "");
  });
  if (!order.ok()) return std::move(order).error();
  if (!order->has_value()) return Error::NotFound("no such order");
  return std::move(**order);
}

Result<std::vector<PaymentOrder>> ChannelPayments::OrdersCreated(int64_t from_ms, int64_t to_ms) {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<PaymentOrder>> {
    std::string ch(channel_.code());
    long long from = from_ms, to = to_ms;
    return FetchOrders((sql.prepare << std::string("SELECT ") + kOrderColumns +
                                           " FROM payment_orders WHERE channel = :c AND "
                                           "created_at >= :f AND created_at < :t",
                        soci::use(ch), soci::use(from), soci::use(to)));
  });
}

Result<std::vector<PaymentOrder>> ChannelPayments::OrdersCreatedOrPaid(int64_t created_from,
                                                                       int64_t created_to,
                                                                       int64_t paid_from,
                                                                       int64_t paid_to) {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<PaymentOrder>> {
    std::string ch(channel_.code());
    long long cf = created_from, ct = created_to, pf = paid_from, pt = paid_to;
    // UNION ALL of two index range scans; the second leaves out what the first has.
    const std::string columns = std::string("SELECT ") + kOrderColumns + " FROM payment_orders ";
    return FetchOrders(
        (sql.prepare << columns +
                            "WHERE channel = :c AND created_at >= :cf AND created_at < :ct "
                            "UNION ALL " +
                            columns +
                            "WHERE channel = :c2 AND paid_at >= :pf AND paid_at < :pt AND state = "
                            "'paid' AND (created_at < :cf2 OR created_at >= :ct2)",
         soci::use(ch, "c"), soci::use(cf, "cf"), soci::use(ct, "ct"), soci::use(ch, "c2"),
         soci::use(pf, "pf"), soci::use(pt, "pt"), soci::use(cf, "cf2"), soci::use(ct, "ct2")));
  });
}

Result<std::vector<PaymentOrder>> ChannelPayments::PaidOrders(int64_t from_ms, int64_t to_ms) {
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<PaymentOrder>> {
    std::string ch(channel_.code());
    long long from = from_ms, to = to_ms;
    return FetchOrders((sql.prepare << std::string("SELECT ") + kOrderColumns +
                                           " FROM payment_orders WHERE channel = :c AND "
                                           "paid_at >= :f AND paid_at < :t AND state = 'paid'",
                        soci::use(ch), soci::use(from), soci::use(to)));
  });
}

QuerySweeper::QuerySweeper(ChannelPayments& payments, std::chrono::milliseconds interval)
    : payments_(payments), interval_(interval) {}

QuerySweeper::~QuerySweeper() { Stop(); }

void QuerySweeper::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void QuerySweeper::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void QuerySweeper::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void QuerySweeper::Loop() {
  // Named so that its CPU shows apart (/proc/<pid>/task/*/comm, perf, top -H).
  pthread_setname_np(pthread_self(), "tb-paysweep");
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    RunGuardedPass("payment query sweep", [this] {
      auto report = payments_.SweepOnce();
      if (!report.ok()) {
        spdlog::warn("payment: query sweep failed: {}", report.error().message);
      } else if (report->recovered > 0) {
        spdlog::info("payment: query sweep recovered {} payment(s)", report->recovered);
      }
      if (Status folded = payments_.CompactLedger(); !folded.ok()) {
        spdlog::warn("payment: folding the payment ledger failed: {}", folded.error().message);
      }
    });
    lock.lock();
    cv_.wait_for(lock, interval_, [this] { return stop_ || woken_; });
    woken_ = false;
  }
}

}  // namespace tongban::payment
