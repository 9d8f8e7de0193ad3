// Admin API: self-service citizen and company accounts (issue 20) — the
// accounts by type and level, the pending counter checks, the operator's
// counter check and online verification, and the SMS channel's status
// (docs/api/citizen.md). Answers 404 for every route when [citizen] is off.
#include <string>

#include "console/internal.h"
#include "sso/citizen.h"

namespace tongban::console {
namespace {

Result<sso::CitizenAccounts*> Accounts(const Services& s) {
  if (s.sso.citizen == nullptr) return Error::NotFound("自助注册未启用（[citizen] enabled = false）");
  return s.sso.citizen;
}

Error NotFoundIfNotCitizen(Error e) {
  if (e.code == sso::citizen_error::kNotCitizen) return Error::NotFound("不是自助注册的账号");
  return e;
}

codec::Value AccountJson(const sso::CitizenAccount& a) {
  codec::Value v = codec::Value::Object(16);
  v.Set("userid", a.userid)
      .Set("loginname", a.loginname)
      .Set("username", a.username)
      .Set("kind", sso::AccountKindName(a.kind))
      .Set("level", static_cast<int64_t>(a.level))
      .Set("mobile", a.mobile)
      .Set("idnum", a.idnum)
      .Set("company_name", a.company_name)
      .Set("uscc", a.uscc)
      .Set("legal_rep", a.legal_rep)
      .Set("check_state", a.check_state)
      .Set("check_reason", a.check_reason)
      .Set("created_ms", a.created_ms)
      .Set("checked_ms", a.checked_ms)
      .Set("checked_by", a.checked_by);
  return v;
}

Result<codec::Value> ListAccounts(const Services& s, Call& call) {
  auto accounts = Accounts(s);
  if (!accounts.ok()) return accounts.error();
  sso::AccountFilter filter;
  filter.kind = std::string(call.Query("kind"));
  if (!filter.kind.empty() && filter.kind != "personal" && filter.kind != "legal") {
    return Error::InvalidArgument("kind 应为 personal 或 legal");
  }
  if (std::string_view level = call.Query("level"); !level.empty()) {
    int64_t n = 0;
    if (!ParseInteger(level, &n) || n < 1 || n > 3) return Error::InvalidArgument("level 应为 1-3");
    filter.level = static_cast<int>(n);
  }
  filter.pending_only = call.Query("pending") == "true" || call.Query("pending") == "1";
  auto page = PageFrom(call);
  if (!page.ok()) return page.error();
  auto listed = (*accounts)->List(filter, *page);
  if (!listed.ok()) return listed.error();
  codec::Value items = codec::Value::Array(listed->items.size());
  for (const auto& a : listed->items) items.Push(AccountJson(a));
  return ListOf(listed->total, std::move(items));
}

Result<codec::Value> PendingChecks(const Services& s, Call& call) {
  auto accounts = Accounts(s);
  if (!accounts.ok()) return accounts.error();
  sso::AccountFilter filter;
  filter.pending_only = true;
  auto page = PageFrom(call);
  if (!page.ok()) return page.error();
  auto listed = (*accounts)->List(filter, *page);
  if (!listed.ok()) return listed.error();
  codec::Value items = codec::Value::Array(listed->items.size());
  for (const auto& a : listed->items) items.Push(AccountJson(a));
  return ListOf(listed->total, std::move(items));
}

Result<codec::Value> GetAccount(const Services& s, Call& call) {
  auto accounts = Accounts(s);
  if (!accounts.ok()) return accounts.error();
  auto account = (*accounts)->Get(call.args[0]);
  if (!account.ok()) return NotFoundIfNotCitizen(account.error());
  return AccountJson(*account);
}

Result<std::string> OperatorName(const Services& s, const Call& call) {
  auto admin = s.directory().GetUserById(directory::Caller::Admin(), call.admin.userid);
  if (!admin.ok()) return admin.error();
  return (*admin)->loginname;
}

// The counter check: {"level": 2, "note": "窗口核验 身份证原件"}.
Result<codec::Value> SetLevel(const Services& s, Call& call) {
  auto accounts = Accounts(s);
  if (!accounts.ok()) return accounts.error();
  int64_t level = 0;
  const codec::Value* v = call.body.IsObject() ? call.body.Find("level") : nullptr;
  if (v != nullptr && v->IsInteger()) {
    level = v->AsInteger();
  } else if (!ParseInteger(call.BodyText("level"), &level)) {
    return Error::InvalidArgument("level 应为 1-3 的整数");
  }
  auto by = OperatorName(s, call);
  if (!by.ok()) return by.error();
  call.target = call.args[0];
  auto changed = (*accounts)->SetLevel(call.args[0], static_cast<int>(level), "counter:" + *by,
                                       call.BodyText("note"));
  if (!changed.ok()) return NotFoundIfNotCitizen(changed.error());
  return AccountJson(*changed);
}

Result<codec::Value> VerifyAccount(const Services& s, Call& call) {
  auto accounts = Accounts(s);
  if (!accounts.ok()) return accounts.error();
  auto by = OperatorName(s, call);
  if (!by.ok()) return by.error();
  call.target = call.args[0];
  auto verified = (*accounts)->VerifyOnline(call.args[0], *by);
  if (!verified.ok()) return NotFoundIfNotCitizen(verified.error());
  return AccountJson(*verified);
}

Result<codec::Value> Summary(const Services& s, Call&) {
  auto accounts = Accounts(s);
  if (!accounts.ok()) return accounts.error();
  auto summary = (*accounts)->Summary();
  if (!summary.ok()) return summary.error();
  codec::Value sms = codec::Value::Object(6);
  if (const sso::CountingSmsChannel* channel = (*accounts)->channel()) {
    sso::SmsChannelStatus st = channel->Snapshot();
    sms.Set("name", st.name)
        .Set("sandbox", st.sandbox)
        .Set("sent", st.sent)
        .Set("failed", st.failed)
        .Set("last_sent_ms", st.last_sent_ms)
        .Set("last_error", st.last_error);
  }
  summary->Set("sms", std::move(sms));
  return std::move(*summary);
}

}  // namespace

void AddCitizenRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "citizen/summary", "", Summary});
  routes.push_back({"GET", "citizen/accounts", "", ListAccounts});
  routes.push_back({"GET", "citizen/checks", "", PendingChecks});
  routes.push_back({"GET", "citizen/accounts/:id", "", GetAccount});
  routes.push_back({"POST", "citizen/accounts/:id/level", "citizen.level", SetLevel});
  routes.push_back({"POST", "citizen/accounts/:id/verify", "citizen.verify", VerifyAccount});
}

}  // namespace tongban::console
