// The console's routes (docs/api/payment.md §Console): units and their
// onboarding applications with opinions, charge items, and notices (search,
// entry, cancel, import, payments, receipts). Staff only; a clerk acts for the
// units of their own orgs, the operators (admin, finance, egov, province) see
// every unit.
#include <algorithm>

#include "payment/api_internal.h"
#include "payment/import.h"
#include "payment/json_internal.h"
#include "payment/printouts.h"

namespace tongban::payment {

namespace {

using nlohmann::json;

bool Bool(const json& j, const char* key) {
  if (!j.is_object()) return false;
  auto it = j.find(key);
  return it != j.end() &&
         ((it->is_boolean() && it->get<bool>()) || (it->is_number_integer() && *it == 1) ||
          (it->is_string() && (*it == "1" || *it == "true")));
}

Result<int64_t> MoneyMember(const json& j, const char* yuan_key, const char* fen_key) {
  if (j.contains(fen_key)) {
    if (!j[fen_key].is_number_integer())
      return Error::InvalidArgument(std::string(fen_key) + " 应为整数（分）");
    return j[fen_key].get<int64_t>();
  }
  std::string yuan = Text(j, yuan_key);
  if (yuan.empty()) return int64_t{0};
  auto fen = ParseYuan(yuan);
  if (!fen) return Error::InvalidArgument(std::string(yuan_key) + " 应为元，最多两位小数");
  return *fen;
}

void Attach(const char* name, Result<std::string> pdf, Call& call) {
  call.response.set_status(200);
  call.response.set_content_type("application/pdf");
  call.response.AddHeader("Content-Disposition", std::string("inline; filename=\"") + name + "\"");
  call.response.set_body(std::move(*pdf));
  call.wrote_response = true;
}

Result<int64_t> IdArg(const Call& call) {
  const std::string& a = call.args.at(0);
  if (a.empty() || a.size() > 18 ||
      !std::all_of(a.begin(), a.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return Error::NotFound("没有这份联系单");
  }
  return std::stoll(a);
}

// A unit the caller may act for.
Result<CollectingUnit> VisibleUnit(const Services& s, const Call& call, std::string_view code) {
  auto unit = s.units.GetUnit(code);
  if (!unit.ok()) return unit.error();
  TB_RETURN_IF_ERROR(RequireUnit(call.caller, *unit));
  return unit;
}

// The notice, if its unit is the caller's to see.
Result<PaymentNotice> VisibleNotice(const Services& s, const Call& call) {
  auto n = s.notices.Get(call.args.at(0));
  if (!n.ok()) return n.error();
  auto unit = s.units.GetUnit(n->entercode);
  if (!unit.ok() || !RequireUnit(call.caller, *unit).ok()) {
    return Error::NotFound("没有这张缴款单：" + call.args.at(0));
  }
  return n;
}

Result<Application> VisibleApplication(const Services& s, const Call& call) {
  auto id = IdArg(call);
  if (!id.ok()) return id.error();
  auto a = s.units.GetApplication(*id);
  if (!a.ok()) return a.error();
  if (!RequireUnit(call.caller, a->unit).ok()) return Error::NotFound("没有这份联系单");
  return a;
}

// ---- me ----

Result<json> Me(const Services&, Call& call) {
  return json{{"loginname", call.caller.loginname},
              {"roles", call.caller.roles},
              {"orgs", call.caller.orgs},
              {"csrf", call.csrf}};
}

// ---- units ----

Result<json> ListUnits(const Services& s, Call& call) {
  auto units = s.units.ListUnits();
  if (!units.ok()) return units.error();
  json items = json::array();
  for (const CollectingUnit& u : *units) {
    if (RequireUnit(call.caller, u).ok()) items.push_back(json_internal::UnitToJson(u));
  }
  return json{{"total", items.size()}, {"items", items}};
}

Result<json> GetUnit(const Services& s, Call& call) {
  auto u = VisibleUnit(s, call, call.args.at(0));
  if (!u.ok()) return u.error();
  return json_internal::UnitToJson(*u);
}

Result<json> SetUnitState(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin}));
  auto state = ParseUnitState(Text(call.body, "state"));
  if (!state) return Error::InvalidArgument("state 应为 active 或 suspended");
  TB_RETURN_IF_ERROR(s.units.SetUnitState(call.args.at(0), *state));
  return GetUnit(s, call);
}

Result<json> SetUnitLinks(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin}));
  TB_RETURN_IF_ERROR(s.units.SetUnitLinks(call.args.at(0), Text(call.body, "app_code"),
                                          Text(call.body, "notify_url")));
  return GetUnit(s, call);
}

// ---- applications (联系单) ----

Result<json> ListApplications(const Services& s, Call& call) {
  auto list = s.units.ListApplications(call.Query("state"), call.Query("entercode"));
  if (!list.ok()) return list.error();
  json items = json::array();
  for (const Application& a : *list) {
    if (RequireUnit(call.caller, a.unit).ok()) items.push_back(json_internal::ApplicationToJson(a));
  }
  return json{{"total", items.size()}, {"items", items}};
}

// The proposal of a clerk's application: its org must be one of theirs
// (their own org when not given). An application for a unit that exists
// amends that unit: only a clerk of its own org may file it, and it stays in
// that org (moving a unit to another org is an administrator's act) — else a
// clerk of another org could take over a unit, or block its applications.
Result<CollectingUnit> Proposal(const Services& s, const Call& call) {
  auto unit = UnitFromBody(call.body.is_object() && call.body.contains("unit") ? call.body["unit"]
                                                                               : call.body);
  if (!unit.ok()) return unit;
  // The unit's app and notification address are the operator's links (PUT
  // units/:entercode/links), never part of an application.
  unit->app_code.clear();
  unit->notify_url.clear();
  if (!call.caller.SeesAllUnits()) {
    TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleClerk}));
    auto existing = s.units.GetUnit(unit->entercode);
    if (existing.ok()) {
      if (!RequireUnit(call.caller, *existing).ok()) {
        return Error::PermissionDenied("执收单位 " + unit->entercode + " 属于其他机构，不能为它填报联系单");
      }
      if (unit->orgcoding.empty()) unit->orgcoding = existing->orgcoding;
      if (unit->orgcoding != existing->orgcoding) {
        return Error::PermissionDenied("执收单位的所属机构只能由管理员变更");
      }
    } else if (existing.error().code != errc::kNotFound) {
      return existing.error();
    }
    if (unit->orgcoding.empty()) unit->orgcoding = call.caller.orgs.front();
    TB_RETURN_IF_ERROR(RequireUnit(call.caller, *unit));
  }
  return unit;
}

Result<json> CreateApplication(const Services& s, Call& call) {
  auto unit = Proposal(s, call);
  if (!unit.ok()) return unit.error();
  auto a = s.units.CreateApplication(*unit, call.caller.loginname);
  if (!a.ok()) return a.error();
  return json_internal::ApplicationToJson(*a);
}

Result<json> GetApplication(const Services& s, Call& call) {
  auto a = VisibleApplication(s, call);
  if (!a.ok()) return a.error();
  return json_internal::ApplicationToJson(*a);
}

Result<json> AmendApplication(const Services& s, Call& call) {
  auto a = VisibleApplication(s, call);
  if (!a.ok()) return a.error();
  auto unit = Proposal(s, call);
  if (!unit.ok()) return unit.error();
  auto amended = s.units.AmendApplication(a->id, *unit);
  if (!amended.ok()) return amended.error();
  return json_internal::ApplicationToJson(*amended);
}

Result<json> SubmitApplication(const Services& s, Call& call) {
  auto a = VisibleApplication(s, call);
  if (!a.ok()) return a.error();
  auto submitted = s.units.Submit(a->id);
  if (!submitted.ok()) return submitted.error();
  return json_internal::ApplicationToJson(*submitted);
}

Result<json> GiveOpinion(const Services& s, Call& call) {
  auto a = VisibleApplication(s, call);
  if (!a.ok()) return a.error();
  auto stage = ParseReviewStage(Text(call.body, "stage"));
  if (!stage) return Error::InvalidArgument("stage 应为 finance、egov 或 province");
  static constexpr std::string_view kRoleOf[] = {kRoleFinance, kRoleEgov, kRoleProvince};
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleOf[static_cast<int>(*stage)], kRoleAdmin}));
  Opinion o;
  o.stage = *stage;
  o.approve = Bool(call.body, "approve");
  o.date = Text(call.body, "date");
  o.text = Text(call.body, "text");
  o.reviewer = call.caller.loginname;
  auto given = s.units.GiveOpinion(a->id, o);
  if (!given.ok()) return given.error();
  return json_internal::ApplicationToJson(*given);
}

Result<json> ApplicationPdf(const Services& s, Call& call) {
  auto a = VisibleApplication(s, call);
  if (!a.ok()) return a.error();
  auto pdf = PrintApplication(*a);
  if (!pdf.ok()) return pdf.error();
  Attach("application.pdf", std::move(pdf), call);
  return json();
}

// ---- charge items ----

Result<json> ListItems(const Services& s, Call&) {
  auto items = s.units.ListItems();
  if (!items.ok()) return items.error();
  json out = json::array();
  for (const ChargeItem& i : *items) out.push_back(json_internal::ItemToJson(i));
  return json{{"total", out.size()}, {"items", out}};
}

Result<json> PutItem(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin, kRoleFinance}));
  const json& b = call.body;
  ChargeItem item;
  item.chitcode = call.args.at(0);
  item.name = Text(b, "name");
  item.metric_unit = Text(b, "metric_unit");
  auto standard = MoneyMember(b, "standard", "standard_fen");
  if (!standard.ok()) return standard.error();
  item.standard_fen = *standard;
  item.belong_chitcode = Text(b, "belong_chitcode");
  item.belong_name = Text(b, "belong_name");
  item.enabled = !b.contains("enabled") || Bool(b, "enabled");
  if (b.contains("late_fee")) {
    item.late_fee = json_internal::LateFeeFromJson(b["late_fee"]);
  }
  TB_RETURN_IF_ERROR(s.units.PutItem(item));
  auto stored = s.units.GetItem(item.chitcode);
  if (!stored.ok()) return stored.error();
  return json_internal::ItemToJson(*stored);
}

// ---- notices ----

Result<json> SearchNotices(const Services& s, Call& call) {
  NoticeQuery q;
  q.entercode = std::string(call.Query("entercode"));
  if (!call.caller.SeesAllUnits()) {
    if (q.entercode.empty()) return Error::InvalidArgument("请指定执收单位 entercode");
    auto unit = VisibleUnit(s, call, q.entercode);
    if (!unit.ok()) return unit.error();
  }
  q.notice_no = std::string(call.Query("notice_no"));
  q.ywcode = std::string(call.Query("ywcode"));
  q.payer_id = std::string(call.Query("payer_id"));
  q.payer_mobile = std::string(call.Query("payer_mobile"));
  if (!call.Query("state").empty()) {
    q.state = ParseNoticeState(call.Query("state"));
    if (!q.state) return Error::InvalidArgument("state 不正确");
  }
  int size = 20, page = 1;
  if (!call.Query("size").empty()) size = std::atoi(std::string(call.Query("size")).c_str());
  if (!call.Query("page").empty()) page = std::atoi(std::string(call.Query("page")).c_str());
  if (size < 1 || size > 500 || page < 1 || page > 100000) {
    return Error::InvalidArgument("page 从 1 开始，size 为 1 到 500");
  }
  q.limit = size;
  q.offset = (page - 1) * size;
  auto found = s.notices.Search(q);
  if (!found.ok()) return found.error();
  json items = json::array();
  for (const PaymentNotice& n : *found) items.push_back(json_internal::NoticeToJson(n));
  return json{{"page", page}, {"size", size}, {"items", items}};
}

Result<json> EnterNotice(const Services& s, Call& call) {
  auto draft = NoticeFromBody(call.body);
  if (!draft.ok()) return draft.error();
  auto unit = VisibleUnit(s, call, draft->entercode);
  if (!unit.ok()) return unit.error();
  auto created = s.notices.Create(std::move(*draft), NoticeSource::kConsole);
  if (!created.ok()) return created.error();
  return json_internal::NoticeToJson(*created);
}

Result<json> GetNotice(const Services& s, Call& call) {
  auto n = VisibleNotice(s, call);
  if (!n.ok()) return n.error();
  json j = json_internal::NoticeToJson(*n);
  auto payments = s.notices.PaymentsOf(n->notice_no);
  if (!payments.ok()) return payments.error();
  j["payments"] = json::array();
  for (const Payment& p : *payments) j["payments"].push_back(json_internal::PaymentToJson(p));
  return j;
}

Result<json> CancelNotice(const Services& s, Call& call) {
  auto n = VisibleNotice(s, call);
  if (!n.ok()) return n.error();
  auto cancelled = s.notices.Cancel(n->notice_no, Text(call.body, "reason"), "");
  if (!cancelled.ok()) return cancelled.error();
  return json_internal::NoticeToJson(*cancelled);
}

Result<json> ImportNotices(const Services& s, Call& call) {
  auto unit = VisibleUnit(s, call, call.Query("entercode"));
  if (!unit.ok()) return unit.error();
  std::string_view format = call.Query("format");
  Result<ImportParse> parsed =
      format == "xlsx"  ? ParseImportXlsx(call.request.body(), unit->entercode)
      : format == "txt" ? ParseImportTxt(call.request.body(), unit->entercode)
                        : Result<ImportParse>(Error::InvalidArgument("format 应为 xlsx 或 txt"));
  if (!parsed.ok()) return parsed.error();
  const bool check_only = call.Query("check_only") == "1" || !parsed->errors.empty();
  std::vector<RowError> errors = parsed->errors, store_errors;
  auto stored =
      s.notices.CreateBatch(parsed->rows, NoticeSource::kImport, &store_errors, check_only);
  errors.insert(errors.end(), store_errors.begin(), store_errors.end());
  std::sort(errors.begin(), errors.end(),
            [](const RowError& a, const RowError& b) { return a.line < b.line; });
  if (!errors.empty()) {
    json rows = json::array();
    for (const RowError& e : errors) rows.push_back({{"line", e.line}, {"message", e.message}});
    json body = {{"error",
                  {{"code", 400},
                   {"message", std::to_string(errors.size()) + " 行有错误，全部未导入"},
                   {"rows", rows}}}};
    call.response.SetJson(400, body.dump());
    call.wrote_response = true;
    return json();
  }
  if (!stored.ok()) return stored.error();
  json numbers = json::array();
  for (const PaymentNotice& n : *stored) numbers.push_back(n.notice_no);
  return json{{"imported", check_only ? 0 : stored->size()},
              {"checked", stored->size()},
              {"notice_nos", numbers}};
}

// Scheme 6: a payment taken at an agent bank's counter, entered by the
// operator; credited by the same rule as a channel's (exact amount due, never
// twice). Channel "counter"; the bank's serial is the TRADENO.
Result<json> CounterPayment(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireRole(call.caller, {kRoleAdmin}));
  auto n = VisibleNotice(s, call);
  if (!n.ok()) return n.error();
  Payment p;
  p.notice_no = n->notice_no;
  p.channel = "counter";
  p.trade_no = Text(call.body, "trade_no");
  p.way_code = "counter";
  p.way_name = Text(call.body, "way_name").empty() ? "银行柜面" : Text(call.body, "way_name");
  auto amount = MoneyMember(call.body, "amount", "amount_fen");
  if (!amount.ok()) return amount.error();
  p.amount_fen = *amount;
  p.paid_at_ms = s.sso.clock.NowMillis();
  auto outcome = s.notices.RecordPayment(std::move(p));
  if (!outcome.ok()) return outcome.error();
  if (s.on_payment) s.on_payment();
  return json{{"payment", json_internal::PaymentToJson(outcome->payment)},
              {"notice", json_internal::NoticeToJson(outcome->notice)},
              {"repeated", outcome->repeated}};
}

Result<json> NoticeReceipt(const Services& s, Call& call) {
  auto n = VisibleNotice(s, call);
  if (!n.ok()) return n.error();
  if (n->pay_no.empty()) return Error::Conflict("缴款单未缴费，没有缴款凭证");
  auto pay = s.notices.GetPayment(n->pay_no);
  if (!pay.ok()) return pay.error();
  std::string code = ReceiptCheckCode(s.receipt_key, *n);
  std::string url = ExternalUrl(s, call.request,
                                "/api/public/verify?notice_no=" + n->notice_no + "&code=" + code);
  auto pdf = PrintReceipt(*n, *pay, code, url);
  if (!pdf.ok()) return pdf.error();
  Attach("receipt.pdf", std::move(pdf), call);
  return json();
}

}  // namespace

Result<CollectingUnit> UnitFromBody(const json& j) {
  if (!j.is_object()) return Error::InvalidArgument("请求体应为 JSON 对象");
  CollectingUnit u = json_internal::UnitFromJson(j);
  return u;
}

Result<PaymentNotice> NoticeFromBody(const json& j) {
  if (!j.is_object()) return Error::InvalidArgument("请求体应为 JSON 对象");
  PaymentNotice n;
  n.entercode = Text(j, "entercode");
  n.channel_no = Text(j, "channel_no");
  n.original_notice_no = Text(j, "original_notice_no");
  n.regicode = Text(j, "regicode");
  n.ywcode = Text(j, "ywcode");
  if (j.contains("payer") && j["payer"].is_object()) {
    const json& p = j["payer"];
    n.payer.name = Text(p, "name");
    n.payer.id_number = Text(p, "id_number");
    n.payer.mobile = Text(p, "mobile");
    n.payer.email = Text(p, "email");
    n.payer.define1 = Text(p, "define1");
    n.payer.define2 = Text(p, "define2");
  }
  n.true_name = Bool(j, "true_name");
  n.count_overdue = Bool(j, "count_overdue");
  n.print_info = Text(j, "print_info");
  std::string date = Text(j, "expire_date");
  if (!date.empty()) {
    auto at = ParseChinaDateTime(date, Text(j, "expire_time"));
    if (!at) return Error::InvalidArgument("expire_date / expire_time 应为 YYYYMMDD / hhmmss");
    n.expires_at_ms = *at;
  }
  if (j.contains("lines") && j["lines"].is_array()) {
    for (const json& l : j["lines"]) {
      NoticeLine line;
      line.chitcode = Text(l, "chitcode");
      std::string count = Text(l, "count");
      if (!count.empty()) {
        auto c = ParseCount(count);
        if (!c) return Error::InvalidArgument("数量应为正数，最多三位小数");
        line.count_milli = *c;
      }
      auto amount = MoneyMember(l, "amount", "amount_fen");
      if (!amount.ok()) return amount.error();
      line.amount_fen = *amount;
      auto standard = MoneyMember(l, "standard", "standard_fen");
      if (!standard.ok()) return standard.error();
      line.standard_fen = *standard;
      n.lines.push_back(std::move(line));
    }
  }
  if (j.contains("extra") && j["extra"].is_array()) {
    size_t i = 0;
    for (const json& f : j["extra"]) {
      if (i >= n.extra.size()) return Error::InvalidArgument("附加信息最多 5 项");
      n.extra[i++] = {Text(f, "name"), Text(f, "content")};
    }
  }
  return n;
}

void AddConsoleRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "me", Access::kStaff, Me});
  routes.push_back({"GET", "units", Access::kStaff, ListUnits});
  routes.push_back({"GET", "units/:entercode", Access::kStaff, GetUnit});
  routes.push_back({"PUT", "units/:entercode/state", Access::kStaff, SetUnitState});
  routes.push_back({"PUT", "units/:entercode/links", Access::kStaff, SetUnitLinks});
  routes.push_back({"GET", "applications", Access::kStaff, ListApplications});
  routes.push_back({"POST", "applications", Access::kStaff, CreateApplication});
  routes.push_back({"GET", "applications/:id", Access::kStaff, GetApplication});
  routes.push_back({"PUT", "applications/:id", Access::kStaff, AmendApplication});
  routes.push_back({"POST", "applications/:id/submit", Access::kStaff, SubmitApplication});
  routes.push_back({"POST", "applications/:id/opinions", Access::kStaff, GiveOpinion});
  routes.push_back({"GET", "applications/:id/form.pdf", Access::kStaff, ApplicationPdf});
  routes.push_back({"GET", "items", Access::kStaff, ListItems});
  routes.push_back({"PUT", "items/:chitcode", Access::kStaff, PutItem});
  routes.push_back({"GET", "notices", Access::kStaff, SearchNotices});
  routes.push_back({"POST", "notices", Access::kStaff, EnterNotice});
  routes.push_back({"POST", "notices/import", Access::kStaff, ImportNotices});
  routes.push_back({"GET", "notices/:notice_no", Access::kStaff, GetNotice});
  routes.push_back({"POST", "notices/:notice_no/cancel", Access::kStaff, CancelNotice});
  routes.push_back({"GET", "notices/:notice_no/receipt.pdf", Access::kStaff, NoticeReceipt});
  routes.push_back({"POST", "notices/:notice_no/counter-payment", Access::kStaff, CounterPayment});
}

}  // namespace tongban::payment
