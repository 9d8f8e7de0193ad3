// Scheme 7 routes (docs/api/payment.md §Payer self-entry): a logged-in payer
// proposes a notice at a unit that collects that way; the unit's clerk lists,
// confirms (the notice is created and becomes payable) or refuses it.
#include <charconv>
#include <cstdio>
#include <optional>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "payment/api_internal.h"
#include "payment/json_internal.h"
#include "payment/payer_entries.h"

namespace tongban::payment {

namespace {

using nlohmann::json;

json EntryToJson(const PayerEntry& e) {
  return json{{"id", e.id},
              {"entercode", e.entercode},
              {"state", e.state},
              {"notice", json::parse(e.body, nullptr, false)},
              {"notice_no", e.notice_no},
              {"reason", e.reason},
              {"decided_by", e.decided_by},
              {"created_at", e.created_at_ms},
              {"decided_at", e.decided_at_ms}};
}

Status RequireEntries(const Services& s) {
  if (s.entries == nullptr) return Error::Unavailable("自助录入未启用");
  return Status::Ok();
}

Result<int64_t> EntryId(const std::string& text) {
  int64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || v <= 0) {
    return Error::NotFound("没有这条自助录入");
  }
  return v;
}

// The payer's proposal: {entercode, ywcode?, payer: {name}, lines: [...]}; the
// payer's ID number and mobile are the SSO user's, not the body's.
Result<json> Propose(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireEntries(s));
  json body = call.body;
  if (!body.is_object()) return Error::InvalidArgument("请求体应为 JSON 对象");
  auto unit = s.units.GetUnit(Text(body, "entercode"));
  if (!unit.ok() || unit->state != UnitState::kActive || unit->scheme != Scheme::kPayerEntry) {
    return Error::NotFound("该执收单位不接受缴款人自助录入");
  }
  // Only what a payer may propose is kept: the rest of a notice (expiry, late
  // fees, print text, attachments) is the unit's, set by the clerk on confirming.
  json lines = json::array();
  if (body.contains("lines") && body["lines"].is_array()) {
    for (const json& l : body["lines"]) {
      if (!l.is_object()) return Error::InvalidArgument("收费项目应为 JSON 对象");
      json line = json::object();
      for (const char* key : {"chitcode", "count", "amount", "amount_fen"}) {
        if (l.contains(key)) line[key] = l[key];
      }
      lines.push_back(std::move(line));
    }
  }
  json proposal = json{{"entercode", unit->entercode},
                       {"payer", json{{"name", Text(body.value("payer", json::object()), "name")},
                                      {"id_number", call.caller.idnum},
                                      {"mobile", call.caller.mobile}}},
                       {"lines", std::move(lines)},
                       {"original_notice_no", ""}};  // numbered on confirmation
  if (!Text(body, "ywcode").empty()) proposal["ywcode"] = Text(body, "ywcode");
  body = std::move(proposal);
  // Checked as console entry would (items, amounts), without the number.
  auto draft = NoticeFromBody(body);
  if (!draft.ok()) return draft.error();
  if (draft->lines.empty()) return Error::InvalidArgument("请至少填写一个收费项目");
  auto entry = s.entries->Propose(unit->entercode, call.caller.userid, body.dump());
  if (!entry.ok()) return entry.error();
  return EntryToJson(*entry);
}

Result<json> MyEntries(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireEntries(s));
  auto list = s.entries->List("", call.caller.userid, "", 100);
  if (!list.ok()) return list.error();
  json items = json::array();
  for (const PayerEntry& e : *list) items.push_back(EntryToJson(e));
  return json{{"items", items}};
}

// The clerk's queue: ?entercode= (required unless an operator) &state=.
Result<json> ListEntries(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireEntries(s));
  std::string entercode(call.Query("entercode"));
  if (!entercode.empty()) {
    auto unit = s.units.GetUnit(entercode);
    if (!unit.ok()) return unit.error();
    TB_RETURN_IF_ERROR(RequireUnit(call.caller, *unit));
  } else if (!call.caller.SeesAllUnits()) {
    return Error::InvalidArgument("请指定执收单位 entercode");
  }
  int64_t before_id = 0;
  if (std::string_view b = call.Query("before_id"); !b.empty()) {
    auto id = EntryId(std::string(b));
    if (!id.ok()) return Error::InvalidArgument("before_id 应为录入编号");
    before_id = *id;
  }
  constexpr int kPage = 200;
  auto list = s.entries->List(entercode, "", call.Query("state"), kPage, before_id);
  if (!list.ok()) return list.error();
  json items = json::array();
  for (const PayerEntry& e : *list) items.push_back(EntryToJson(e));
  // The next page: entries older than the last one shown (none once a page
  // comes back short).
  json out{{"items", items}};
  if (list->size() == static_cast<size_t>(kPage)) out["next_before_id"] = list->back().id;
  return out;
}

// The ORIGINALNOTICENO an entry's confirmation gives its notice: one notice an
// entry, "PE" + 20 hex digits of HMAC-SHA256(key, the entry's id) — not the id
// itself, which counts up and let anyone walk the entries' notices (review16d).
std::string EntryOriginalNoticeNo(const Services& s, int64_t id) {
  return "PE" +
         crypto::HexEncode(crypto::HmacSha256(s.notice_number_key, "entry:" + std::to_string(id)))
             .substr(0, 20);
}

// The notice an older binary's confirmation of `entry` made under the number it
// gave then ("PE" + the id in ten digits) and a crash left beside a proposed
// entry; none when there is no such notice, or the number is held by a notice
// made another way (not this entry's).
Result<std::optional<PaymentNotice>> LegacyEntryNotice(const Services& s,
                                                       const std::string& channel_no,
                                                       const PayerEntry& entry) {
  char legacy[24];
  std::snprintf(legacy, sizeof legacy, "PE%010lld", static_cast<long long>(entry.id));
  auto n = s.notices.Get(MakeNoticeNo(channel_no, legacy));
  if (!n.ok()) {
    if (n.error().code == errc::kNotFound) return std::optional<PaymentNotice>();
    return n.error();
  }
  if (n->entercode != entry.entercode || n->source != NoticeSource::kPayer) {
    return std::optional<PaymentNotice>();
  }
  return std::optional<PaymentNotice>(std::move(*n));
}

Result<PayerEntry> VisibleEntry(const Services& s, const Call& call) {
  auto id = EntryId(call.args.at(0));
  if (!id.ok()) return id.error();
  auto entry = s.entries->Get(*id);
  if (!entry.ok()) return entry.error();
  auto unit = s.units.GetUnit(entry->entercode);
  if (!unit.ok() || !RequireUnit(call.caller, *unit).ok()) {
    return Error::NotFound("没有这条自助录入");
  }
  return entry;
}

// Confirms: the notice is created (ORIGINALNOTICENO EntryOriginalNoticeNo, one an
// entry, so a second confirmation cannot make a second notice) and the entry closes in the
// same transaction: a refusal racing it (another clerk) or a crash leaves
// either both or neither (review15d).
Result<json> Confirm(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireEntries(s));
  auto entry = VisibleEntry(s, call);
  if (!entry.ok()) return entry.error();
  if (entry->state != "proposed") return Error::Conflict("这条自助录入已处理过");
  auto unit = s.units.GetUnit(entry->entercode);
  if (!unit.ok()) return unit.error();
  {
    // Confirmed by an older binary that a crash cut short: that notice is the
    // entry's, not a second one (review16e).
    auto legacy = LegacyEntryNotice(s, unit->channel_no, *entry);
    if (!legacy.ok()) return legacy.error();
    if (*legacy) {
      const std::string clerk = call.caller.loginname;
      TB_RETURN_IF_ERROR(s.entries->Decide(entry->id, true, (*legacy)->notice_no, "", clerk));
      return json{{"entry", EntryToJson(*s.entries->Get(entry->id))},
                  {"notice", json_internal::NoticeToJson(**legacy)}};
    }
  }
  json body = json::parse(entry->body, nullptr, false);
  const std::string number = EntryOriginalNoticeNo(s, entry->id);
  body["original_notice_no"] = number;
  if (call.body.is_object()) {
    // The clerk may set the expiry and the unit's business reference.
    for (const char* key : {"expire_date", "expire_time", "ywcode"}) {
      if (!Text(call.body, key).empty()) body[key] = Text(call.body, key);
    }
  }
  auto draft = NoticeFromBody(body);
  if (!draft.ok()) return draft.error();
  const std::string clerk = call.caller.loginname;
  auto created = s.notices.Create(
      std::move(*draft), NoticeSource::kPayer,
      [&](soci::session& sql, const PaymentNotice& n) {
        return s.entries->DecideIn(sql, entry->id, true, n.notice_no, "", clerk);
      });
  if (!created.ok() && created.error().code != errc::kAlreadyExists) return created.error();
  std::string notice_no = created.ok() ? created->notice_no : std::string();
  if (notice_no.empty()) {
    // The number is taken: by a confirmation racing this one (the entry is
    // closed; Decide below says so), or — before confirmations were one
    // transaction — by one whose entry a crash left proposed: the notice this
    // entry made. A notice of that number made any other way is not this entry's.
    notice_no = MakeNoticeNo(unit->channel_no, number);
    auto existing = s.notices.Get(notice_no);
    if (!existing.ok()) return existing.error();
    if (existing->entercode != entry->entercode || existing->source != NoticeSource::kPayer) {
      return Error::Conflict("缴款单号 " + notice_no + " 已被另一张缴款单占用，未确认");
    }
  }
  if (!created.ok()) {
    TB_RETURN_IF_ERROR(s.entries->Decide(entry->id, true, notice_no, "", clerk));
  }
  auto n = s.notices.Get(notice_no);
  if (!n.ok()) return n.error();
  return json{{"entry", EntryToJson(*s.entries->Get(entry->id))},
              {"notice", json_internal::NoticeToJson(*n)}};
}

Result<json> Refuse(const Services& s, Call& call) {
  TB_RETURN_IF_ERROR(RequireEntries(s));
  auto entry = VisibleEntry(s, call);
  if (!entry.ok()) return entry.error();
  std::string reason = Text(call.body, "reason");
  if (reason.empty()) return Error::InvalidArgument("请填写退回原因");
  // An entry whose notice exists (a confirmation a crash cut short before
  // confirmations were one transaction) is confirmed, not refused.
  auto unit = s.units.GetUnit(entry->entercode);
  if (!unit.ok()) return unit.error();
  if (auto made = s.notices.Get(MakeNoticeNo(unit->channel_no, EntryOriginalNoticeNo(s, entry->id)));
      made.ok() && made->entercode == entry->entercode && made->source == NoticeSource::kPayer) {
    return Error::Conflict("这条自助录入已开具缴款单 " + made->notice_no + "，请确认而不是退回");
  }
  auto legacy = LegacyEntryNotice(s, unit->channel_no, *entry);
  if (!legacy.ok()) return legacy.error();
  if (*legacy) {
    return Error::Conflict("这条自助录入已开具缴款单 " + (*legacy)->notice_no + "，请确认而不是退回");
  }
  TB_RETURN_IF_ERROR(s.entries->Decide(entry->id, false, "", reason, call.caller.loginname));
  auto after = s.entries->Get(entry->id);
  if (!after.ok()) return after.error();
  return EntryToJson(*after);
}

// The logged-in payer and the session's CSRF token (for payer/entries).
Result<json> PayerMe(const Services&, Call& call) {
  return json{{"userid", call.caller.userid},
              {"loginname", call.caller.loginname},
              {"has_idnum", !call.caller.idnum.empty()},
              {"csrf", call.csrf}};
}

}  // namespace

void AddEntryRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "payer/me", Access::kPayer, PayerMe});
  routes.push_back({"POST", "payer/entries", Access::kPayer, Propose});
  routes.push_back({"GET", "payer/entries", Access::kPayer, MyEntries});
  routes.push_back({"GET", "entries", Access::kStaff, ListEntries});
  routes.push_back({"POST", "entries/:id/confirm", Access::kStaff, Confirm});
  routes.push_back({"POST", "entries/:id/refuse", Access::kStaff, Refuse});
}

}  // namespace tongban::payment
