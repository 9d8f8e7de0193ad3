// The channel's routes (docs/api/payment.md §Paying online, §Reconciliation):
// the payer's "pay" call (an order at the channel → the pay URL), an order's
// state for the payer's return page, the channel's signed asynchronous
// notification, and the console's reconciliation: statement import (from the
// channel or uploaded), runs and their exceptions, 补单, the refund ledger, the
// settlement .xlsx, and the GetPay_Info deliveries to units.
#include <spdlog/spdlog.h>

#include <atomic>
#include <charconv>
#include <filesystem>
#include <fstream>

#include "payment/api_internal.h"
#include "payment/channel_statement.h"
#include "payment/json_internal.h"
#include "payment/late_fee.h"

namespace tongban::payment {

namespace {

using nlohmann::json;

Status RequireChannel(const Services& s) {
  if (s.payments == nullptr || s.reconciler == nullptr) {
    return Error::Unavailable("未配置支付通道（[payment] channel），暂不能在线缴费和对账");
  }
  return Status::Ok();
}

json OrderToJson(const PaymentOrder& o) {
  return json{{"order_no", o.order_no},
              {"notice_no", o.notice_no},
              {"channel", o.channel},
              {"amount_fen", o.amount_fen},
              {"amount", FormatYuan(o.amount_fen)},
              {"state", o.state},
              {"channel_serial", o.channel_serial},
              {"paid_at", o.paid_at_ms},
              {"pay_no", o.pay_no},
              {"disposition", o.disposition},
              {"created_at", o.created_at_ms}};
}

json RunToJson(const ReconcileRun& r) {
  json counts = json::object();
  for (size_t i = 0; i < kReconcileOutcomes; ++i) {
    counts[std::string(ReconcileOutcomeName(static_cast<ReconcileOutcome>(i)))] = r.counts[i];
  }
  return json{{"id", r.id},
              {"channel", r.channel},
              {"date", r.date},
              {"started_at", r.started_at_ms},
              {"finished_at", r.finished_at_ms},
              {"lines", r.lines},
              {"bad_lines", r.bad_lines},
              {"bad_sample", r.bad_sample},
              {"counts", counts}};
}

json ItemToJson(const ReconcileItem& i) {
  return json{{"id", i.id},
              {"run_id", i.run_id},
              {"outcome", ReconcileOutcomeName(i.outcome)},
              {"order_no", i.order_no},
              {"channel_serial", i.channel_serial},
              {"local_amount_fen", i.local_amount_fen},
              {"channel_amount_fen", i.channel_amount_fen},
              {"note", i.note},
              {"resolved_by", i.resolved_by},
              {"resolved_at", i.resolved_at_ms},
              {"resolution", i.resolution}};
}

Result<int64_t> IdArg(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) {
    return Error::NotFound("没有这条记录");
  }
  return v;
}

// ---- the payer ----

// Pays a notice online: places an order for the amount due now (total + late
// fee) and answers where the payer pays. Public like the notice itself: the
// number is what the payer holds. return_url may only be a path of this site
// (no open redirect); default the hall's page of the notice, which follows it
// until the notification has marked it paid.
Result<json> Pay(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireChannel(s));
  auto n = PublicLookup(s, call, call.args.at(0));
  if (!n.ok()) return n.error();
  const int64_t now = s.sso.clock.NowMillis();
  if (n->state != NoticeState::kUnpaid) {
    return Error::Conflict(std::string("缴款单") + std::string(NoticeStateChinese(n->state)) +
                           "，不能缴费");
  }
  if (n->expires_at_ms != 0 && !n->count_overdue && now > n->expires_at_ms) {
    return Error::Conflict("缴款单已超过缴款期限，请联系执收单位");
  }
  std::string back = Text(call.body, "return_url");
  if (back.empty()) back = "/hall/#/pay/" + n->notice_no + "?returned=1";
  if (!back.starts_with('/') || back.starts_with("//") || back.find('\\') != std::string::npos) {
    return Error::InvalidArgument("return_url 只能是本站的路径（以 / 开头）");
  }
  std::string base = s.settings.public_url.empty() ? ExternalUrl(s, call.request, "")
                                                   : s.settings.public_url;
  if (base.ends_with(s.settings.context_path)) base.resize(base.size() - s.settings.context_path.size());
  const int64_t amount = AmountDueFen(*n, now);
  auto started = s.payments->StartOrder(*n, amount, base + back);
  if (!started.ok()) return started.error();
  return json{{"order", OrderToJson(started->order)},
              {"pay_url", started->pay.pay_url},
              {"qr_content", started->pay.qr_content},
              {"amount_fen", amount},
              {"amount", FormatYuan(amount)}};
}

// An order's state, for the payer's return page (poll until paid).
Result<json> PublicOrder(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireChannel(s));
  auto o = s.payments->GetOrder(call.args.at(0));
  if (!o.ok()) return Error::NotFound("没有这笔支付订单");
  auto n = s.notices.Get(o->notice_no);
  json out = OrderToJson(*o);
  if (n.ok()) out["notice_state"] = NoticeStateName(n->state);
  return out;
}

// The channel's asynchronous notification, answered in the channel's terms.
Result<json> Notify(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireChannel(s));
  RawNotification raw{std::string(call.request.Header("Content-Type").value_or("")),
                      std::string(call.request.body())};
  // Answered once the payment's transaction committed (the write lane's group
  // commit): the response is suspended and the pool thread freed meanwhile.
  call.wrote_response = true;
  http::Resumer resume = call.response.Suspend();
  std::function<void()> on_payment = s.on_payment;
  s.payments->HandleNotificationAsync(raw, [resume, on_payment](NotificationAck ack) {
    if (ack.http_status == 200 && on_payment) on_payment();
    resume([ack = std::move(ack)](http::Response& response) mutable {
      response.set_status(ack.http_status);
      response.set_content_type(ack.content_type);
      response.set_body(std::move(ack.body));
    });
  });
  return json();
}

// ---- reconciliation (admin, finance) ----

Status RequireReconciler(const Services& s, const Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin, kRoleFinance}));
  return RequireChannel(s);
}

// Downloads the channel's statement of `date` and reconciles it.
Result<json> ReconcileFromChannel(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireReconciler(s, call));
  std::string date = Text(call.body, "date");
  auto run = s.reconciler->Reconcile(date, s.statements_dir);
  if (!run.ok()) return run.error();
  return RunToJson(*run);
}

// Reconciles a statement the operator uploads (the body, text/csv) for ?date=.
Result<json> ReconcileUpload(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireReconciler(s, call));
  std::string date(call.Query("date"));
  if (ChinaDayStart(date) < 0) return Error::InvalidArgument("date 应为 YYYYMMDD");
  if (call.request.body().empty()) return Error::InvalidArgument("请上传对账单（请求体）");
  static std::atomic<uint64_t> upload_seq{0};
  std::error_code ec;
  std::filesystem::create_directories(s.statements_dir, ec);
  const std::string path = s.statements_dir + "/upload-" + date + "-" +
                           std::to_string(s.sso.clock.NowMillis()) + "-" +
                           std::to_string(++upload_seq) + ".csv";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(call.request.body().data(), static_cast<std::streamsize>(call.request.body().size()));
    if (!out) return Error::Unavailable("cannot store the uploaded statement");
  }
  auto run = s.reconciler->ReconcileFile(date, path);
  std::filesystem::remove(path, ec);
  if (!run.ok()) return run.error();
  return RunToJson(*run);
}

Result<json> ListRuns(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireReconciler(s, call));
  auto runs = s.reconciler->ListRuns(100);
  if (!runs.ok()) return runs.error();
  json items = json::array();
  for (const ReconcileRun& r : *runs) items.push_back(RunToJson(r));
  return json{{"items", items}};
}

Result<json> GetRun(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireReconciler(s, call));
  auto id = IdArg(call.args.at(0));
  if (!id.ok()) return id.error();
  auto run = s.reconciler->GetRun(*id);
  if (!run.ok()) return run.error();
  return RunToJson(*run);
}

Result<json> RunItems(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireReconciler(s, call));
  auto id = IdArg(call.args.at(0));
  if (!id.ok()) return id.error();
  std::optional<ReconcileOutcome> filter;
  if (std::string_view want = call.Query("outcome"); !want.empty()) {
    for (size_t i = 0; i < kReconcileOutcomes; ++i) {
      if (ReconcileOutcomeName(static_cast<ReconcileOutcome>(i)) == want) {
        filter = static_cast<ReconcileOutcome>(i);
      }
    }
    if (!filter) return Error::InvalidArgument("outcome 取值不对");
  }
  auto items = s.reconciler->Items(*id, filter);
  if (!items.ok()) return items.error();
  json out = json::array();
  for (const ReconcileItem& i : *items) out.push_back(ItemToJson(i));
  return json{{"items", out}};
}

// 补单: the channel is asked and must confirm the payment.
Result<json> Reissue(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireReconciler(s, call));
  auto id = IdArg(call.args.at(0));
  if (!id.ok()) return id.error();
  auto applied = s.reconciler->Reissue(*id, call.caller.loginname);
  if (!applied.ok()) return applied.error();
  if (s.on_payment) s.on_payment();
  return json{{"outcome", ApplyOutcomeName(applied->outcome)},
              {"reason", applied->reason},
              {"pay_no", applied->pay_no}};
}

Result<json> RefundsDue(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin, kRoleFinance}));
  auto due = s.notices.RefundsDue(500);
  if (!due.ok()) return due.error();
  json items = json::array();
  for (const Payment& p : *due) items.push_back(json_internal::PaymentToJson(p));
  return json{{"items", items}};
}

// The refund ledger: {pay_no, amount_fen, reason, refund_no}; who is the
// caller. refund_no is required: the caller's number for this one refund, so
// that a double click or a retry refunds once (NoticeStore::RecordRefund).
Result<json> Refund(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin, kRoleFinance}));
  const json& b = call.body;
  if (!b.is_object() || !b.contains("amount_fen") || !b["amount_fen"].is_number_integer()) {
    return Error::InvalidArgument("amount_fen（整数，分）必填");
  }
  std::string reason = Text(b, "reason");
  if (reason.empty()) return Error::InvalidArgument("请填写退款原因");
  std::string refund_no = Text(b, "refund_no");
  if (refund_no.empty()) {
    return Error::InvalidArgument("refund_no 必填：本次退款的编号（每笔退款生成一次，重试时不变）");
  }
  auto notice = s.notices.RecordRefund(Text(b, "pay_no"), b["amount_fen"].get<int64_t>(), reason,
                                       call.caller.loginname, refund_no);
  if (!notice.ok()) return notice.error();
  return json{{"notice", json_internal::NoticeToJson(*notice)}};
}

Result<json> Settlement(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireReconciler(s, call));
  std::string date(call.Query("date"));
  if (ChinaDayStart(date) < 0) return Error::InvalidArgument("date 应为 YYYYMMDD");
  auto xlsx = s.reconciler->SettlementReport(date);
  if (!xlsx.ok()) return xlsx.error();
  call.response.set_status(200);
  call.response.set_content_type(
      "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  call.response.AddHeader("Content-Disposition",
                          "attachment; filename=\"settlement-" + date + ".xlsx\"");
  call.response.set_body(std::move(*xlsx));
  call.wrote_response = true;
  return json();
}

// GetPay_Info deliveries to units: ?state=pending|delivered|dead.
Result<json> UnitNotifications(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin}));
  if (s.unit_outbox == nullptr) return Error::Unavailable("no unit notifications here");
  std::string_view want = call.Query("state");
  OutboxState state = OutboxState::kPending;
  if (want == "delivered") {
    state = OutboxState::kDelivered;
  } else if (want == "dead") {
    state = OutboxState::kDead;
  } else if (!want.empty() && want != "pending") {
    return Error::InvalidArgument("state 取值 pending / delivered / dead");
  }
  auto counts = s.unit_outbox->Counts();
  if (!counts.ok()) return counts.error();
  auto list = s.unit_outbox->List(state, 200);
  if (!list.ok()) return list.error();
  json items = json::array();
  for (const OutboxMessage& m : *list) {
    items.push_back(json{{"id", m.id},
                         {"entercode", m.destination},
                         {"notice_no", m.ordering_key},
                         {"fields", json::parse(m.payload, nullptr, false)},
                         {"attempts", m.attempts},
                         {"next_attempt_at", m.next_attempt_at_ms},
                         {"state", OutboxStateName(m.state)},
                         {"last_error", m.last_error},
                         {"delivered_at", m.delivered_at_ms}});
  }
  return json{{"counts",
               {{"pending", counts->pending}, {"delivered", counts->delivered},
                {"dead", counts->dead}}},
              {"items", items}};
}

Result<json> RetryUnitNotification(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin}));
  if (s.unit_outbox == nullptr) return Error::Unavailable("no unit notifications here");
  auto id = IdArg(call.args.at(0));
  if (!id.ok()) return id.error();
  TB_RETURN_IF_ERROR(s.unit_outbox->Retry(*id));
  if (s.on_payment) s.on_payment();
  return json{{"retried", *id}};
}

}  // namespace

void AddChannelRoutes(std::vector<Route>& routes) {
  routes.push_back({"POST", "public/notices/:notice_no/pay", Access::kPublic, Pay});
  routes.push_back({"GET", "public/orders/:order_no", Access::kPublic, PublicOrder});
  routes.push_back({"POST", "channel/notify", Access::kPublic, Notify});
  routes.push_back({"GET", "reconcile/runs", Access::kStaff, ListRuns});
  routes.push_back({"POST", "reconcile/runs", Access::kStaff, ReconcileFromChannel});
  routes.push_back({"POST", "reconcile/upload", Access::kStaff, ReconcileUpload});
  routes.push_back({"GET", "reconcile/runs/:id", Access::kStaff, GetRun});
  routes.push_back({"GET", "reconcile/runs/:id/items", Access::kStaff, RunItems});
  routes.push_back({"POST", "reconcile/items/:id/reissue", Access::kStaff, Reissue});
  routes.push_back({"GET", "refunds", Access::kStaff, RefundsDue});
  routes.push_back({"POST", "refunds", Access::kStaff, Refund});
  routes.push_back({"GET", "reports/settlement.xlsx", Access::kStaff, Settlement});
  routes.push_back({"GET", "unit-notifications", Access::kStaff, UnitNotifications});
  routes.push_back({"POST", "unit-notifications/:id/retry", Access::kStaff, RetryUnitNotification});
}

}  // namespace tongban::payment
