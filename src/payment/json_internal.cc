#include "payment/json_internal.h"

namespace tongban::payment::json_internal {
namespace {

std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : std::string();
}
int64_t Int(const nlohmann::json& j, const char* key, int64_t fallback = 0) {
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}
bool Bool(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_boolean() && it->get<bool>();
}
std::vector<std::string> Strings(const nlohmann::json& j, const char* key) {
  std::vector<std::string> out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_array()) return out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

}  // namespace

nlohmann::json ContactToJson(const Contact& c) {
  return {{"name", c.name}, {"phone", c.phone}, {"mobile", c.mobile}, {"email", c.email}};
}
Contact ContactFromJson(const nlohmann::json& j) {
  if (!j.is_object()) return {};
  return {Str(j, "name"), Str(j, "phone"), Str(j, "mobile"), Str(j, "email")};
}

nlohmann::json UnitToJson(const CollectingUnit& u) {
  return {{"entercode", u.entercode},
          {"name", u.name},
          {"regicode", u.regicode},
          {"address", u.address},
          {"channel_no", u.channel_no},
          {"coordinator", ContactToJson(u.coordinator)},
          {"business", ContactToJson(u.business)},
          {"technical", ContactToJson(u.technical)},
          {"charge_items", u.charge_items},
          {"areas", u.areas},
          {"scheme", static_cast<int>(u.scheme)},
          {"scheme_name", SchemeName(u.scheme)},
          {"state", UnitStateName(u.state)},
          {"app_code", u.app_code},
          {"notify_url", u.notify_url},
          {"created_at_ms", u.created_at_ms},
          {"updated_at_ms", u.updated_at_ms}};
}

CollectingUnit UnitFromJson(const nlohmann::json& j) {
  CollectingUnit u;
  if (!j.is_object()) return u;
  u.entercode = Str(j, "entercode");
  u.name = Str(j, "name");
  u.regicode = Str(j, "regicode");
  u.address = Str(j, "address");
  u.channel_no = Str(j, "channel_no");
  if (j.contains("coordinator")) u.coordinator = ContactFromJson(j["coordinator"]);
  if (j.contains("business")) u.business = ContactFromJson(j["business"]);
  if (j.contains("technical")) u.technical = ContactFromJson(j["technical"]);
  u.charge_items = Strings(j, "charge_items");
  u.areas = Strings(j, "areas");
  // An out-of-range scheme stays out of range so that ValidateUnit refuses it.
  u.scheme = static_cast<Scheme>(Int(j, "scheme", 0));
  u.state = ParseUnitState(Str(j, "state")).value_or(UnitState::kPending);
  u.app_code = Str(j, "app_code");
  u.notify_url = Str(j, "notify_url");
  return u;
}

nlohmann::json LateFeeToJson(const LateFeeRule& r) {
  return {{"enabled", r.enabled},
          {"start_date", r.start_date},
          {"daily_rate_ppm", r.daily_rate_ppm},
          {"cap_fen", r.cap_fen}};
}
LateFeeRule LateFeeFromJson(const nlohmann::json& j) {
  LateFeeRule r;
  if (!j.is_object()) return r;
  r.enabled = Bool(j, "enabled");
  r.start_date = Str(j, "start_date");
  r.daily_rate_ppm = Int(j, "daily_rate_ppm");
  r.cap_fen = Int(j, "cap_fen");
  return r;
}

nlohmann::json LineToJson(const NoticeLine& l) {
  return {{"chitcode", l.chitcode},
          {"chitname", l.chitname},
          {"metric_unit", l.metric_unit},
          {"count_milli", l.count_milli},
          {"count", FormatCount(l.count_milli)},
          {"standard_fen", l.standard_fen},
          {"amount_fen", l.amount_fen},
          {"amount", FormatYuan(l.amount_fen)},
          {"belong_chitcode", l.belong_chitcode},
          {"belong_name", l.belong_name},
          {"late_fee", LateFeeToJson(l.late_fee)}};
}
NoticeLine LineFromJson(const nlohmann::json& j) {
  NoticeLine l;
  if (!j.is_object()) return l;
  l.chitcode = Str(j, "chitcode");
  l.chitname = Str(j, "chitname");
  l.metric_unit = Str(j, "metric_unit");
  l.count_milli = Int(j, "count_milli", 1000);
  l.standard_fen = Int(j, "standard_fen");
  l.amount_fen = Int(j, "amount_fen");
  l.belong_chitcode = Str(j, "belong_chitcode");
  l.belong_name = Str(j, "belong_name");
  if (j.contains("late_fee")) l.late_fee = LateFeeFromJson(j["late_fee"]);
  return l;
}

nlohmann::json NoticeBodyToJson(const PaymentNotice& n) {
  nlohmann::json lines = nlohmann::json::array();
  for (const NoticeLine& l : n.lines) {
    nlohmann::json x = LineToJson(l);
    x.erase("count");  // derived; the store keeps only what it reads back
    x.erase("amount");
    lines.push_back(std::move(x));
  }
  nlohmann::json extra = nlohmann::json::array();
  for (const ExtraField& f : n.extra) extra.push_back({f.name, f.content});
  return {{"lines", lines},
          {"extra", extra},
          {"print_info", n.print_info},
          {"entername", n.entername},
          {"payer_email", n.payer.email},
          {"payer_define1", n.payer.define1},
          {"payer_define2", n.payer.define2},
          {"payer_id_kind", static_cast<int>(n.payer.id_kind)},
          {"cancel_reason", n.cancel_reason}};
}

void NoticeBodyFromJson(const nlohmann::json& j, PaymentNotice& n) {
  if (!j.is_object()) return;
  n.lines.clear();
  if (j.contains("lines") && j["lines"].is_array()) {
    for (const auto& l : j["lines"]) n.lines.push_back(LineFromJson(l));
  }
  if (j.contains("extra") && j["extra"].is_array()) {
    size_t i = 0;
    for (const auto& f : j["extra"]) {
      if (i >= n.extra.size()) break;
      if (f.is_array() && f.size() == 2 && f[0].is_string() && f[1].is_string()) {
        n.extra[i] = {f[0].get<std::string>(), f[1].get<std::string>()};
      }
      ++i;
    }
  }
  n.print_info = Str(j, "print_info");
  n.entername = Str(j, "entername");
  n.payer.email = Str(j, "payer_email");
  n.payer.define1 = Str(j, "payer_define1");
  n.payer.define2 = Str(j, "payer_define2");
  int64_t kind = Int(j, "payer_id_kind");
  n.payer.id_kind = kind >= 0 && kind <= 2 ? static_cast<PayerIdKind>(kind) : PayerIdKind::kNone;
  n.cancel_reason = Str(j, "cancel_reason");
}

nlohmann::json NoticeToJson(const PaymentNotice& n) {
  nlohmann::json lines = nlohmann::json::array();
  for (const NoticeLine& l : n.lines) lines.push_back(LineToJson(l));
  nlohmann::json extra = nlohmann::json::array();
  for (const ExtraField& f : n.extra) {
    if (!f.name.empty() || !f.content.empty()) {
      extra.push_back({{"name", f.name}, {"content", f.content}});
    }
  }
  static constexpr const char* kIdKinds[] = {"none", "resident", "uscc"};
  return {{"notice_no", n.notice_no},
          {"channel_no", n.channel_no},
          {"original_notice_no", n.original_notice_no},
          {"regicode", n.regicode},
          {"entercode", n.entercode},
          {"entername", n.entername},
          {"ywcode", n.ywcode},
          {"payer",
           {{"name", n.payer.name},
            {"id_kind", kIdKinds[static_cast<int>(n.payer.id_kind)]},
            {"id_number", n.payer.id_number},
            {"mobile", n.payer.mobile},
            {"email", n.payer.email},
            {"define1", n.payer.define1},
            {"define2", n.payer.define2}}},
          {"true_name", n.true_name},
          {"made_at_ms", n.made_at_ms},
          {"make_date", ChinaDate(n.made_at_ms)},
          {"make_time", ChinaTime(n.made_at_ms)},
          {"expires_at_ms", n.expires_at_ms},
          {"expire_date", n.expires_at_ms ? ChinaDate(n.expires_at_ms) : ""},
          {"expire_time", n.expires_at_ms ? ChinaTime(n.expires_at_ms) : ""},
          {"lines", lines},
          {"total_fen", n.total_fen},
          {"total", FormatYuan(n.total_fen)},
          {"count_overdue", n.count_overdue},
          {"print_info", n.print_info},
          {"extra", extra},
          {"state", NoticeStateName(n.state)},
          {"state_code", static_cast<int>(n.state)},
          {"state_name", NoticeStateChinese(n.state)},
          {"source", NoticeSourceName(n.source)},
          {"paid_fen", n.paid_fen},
          {"late_fee_fen", n.late_fee_fen},
          {"refunded_fen", n.refunded_fen},
          {"pay_no", n.pay_no},
          {"cancel_reason", n.cancel_reason},
          {"updated_at_ms", n.updated_at_ms},
          {"version", n.version}};
}

nlohmann::json ItemToJson(const ChargeItem& i) {
  return {{"chitcode", i.chitcode},
          {"name", i.name},
          {"metric_unit", i.metric_unit},
          {"standard_fen", i.standard_fen},
          {"standard", FormatYuan(i.standard_fen)},
          {"belong_chitcode", i.belong_chitcode},
          {"belong_name", i.belong_name},
          {"late_fee", LateFeeToJson(i.late_fee)},
          {"enabled", i.enabled},
          {"updated_at_ms", i.updated_at_ms}};
}

nlohmann::json PaymentToJson(const Payment& p) {
  return {{"pay_no", p.pay_no},
          {"notice_no", p.notice_no},
          {"trade_no", p.trade_no},
          {"channel", p.channel},
          {"way_code", p.way_code},
          {"way_name", p.way_name},
          {"amount_fen", p.amount_fen},
          {"amount", FormatYuan(p.amount_fen)},
          {"paid_at_ms", p.paid_at_ms},
          {"disposition", PaymentDispositionName(p.disposition)},
          {"note", p.note},
          {"recorded_at_ms", p.recorded_at_ms}};
}

nlohmann::json ApplicationToJson(const Application& a) {
  nlohmann::json opinions = nlohmann::json::array();
  for (const Opinion& o : a.opinions) {
    opinions.push_back({{"stage", ReviewStageName(o.stage)},
                        {"round", o.round},
                        {"approve", o.approve},
                        {"date", o.date},
                        {"text", o.text},
                        {"reviewer", o.reviewer},
                        {"at_ms", o.at_ms}});
  }
  return {{"id", a.id},
          {"unit", UnitToJson(a.unit)},
          {"state", ApplicationStateName(a.state)},
          {"round", a.round},
          {"applicant", a.applicant},
          {"opinions", opinions},
          {"created_at_ms", a.created_at_ms},
          {"updated_at_ms", a.updated_at_ms}};
}

}  // namespace tongban::payment::json_internal
