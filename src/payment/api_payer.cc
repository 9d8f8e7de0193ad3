// The payer's routes (docs/api/payment.md §Payer): a notice by its number
// (public: the number is what the payer holds), the logged-in payer's notices
// by the ID number and mobile the directory has for them, the receipt PDF of a
// paid notice, and the receipt verification its QR code points at.
#include <algorithm>
#include <set>

#include "crypto/encoding.h"
#include "payment/api_internal.h"
#include "payment/json_internal.h"
#include "payment/printouts.h"

namespace tongban::payment {

Result<PaymentNotice> PublicLookup(const Services& s, const Call& call,
                                   std::string_view notice_no) {
  const auto source = sso::LoginSource::Ip(call.request.remote_ip());
  // One "account" for every number: an address is locked out after the
  // configured unknown numbers, whichever they were. A hit does not forgive
  // the misses (a scanner finding some numbers must not reset its count).
  static constexpr std::string_view kAccount = "payment-notice-lookup";
  if (s.lookup_throttle != nullptr) {
    auto lockout = s.lookup_throttle->Check(kAccount, source);
    if (!lockout.ok()) return lockout.error();
    if (*lockout) {
      const int64_t minutes = std::max<int64_t>(1, ((*lockout)->remaining.count() + 59) / 60);
      return Error{api_code::kThrottled,
                   "查询失败次数过多，请 " + std::to_string(minutes) + " 分钟后再试"};
    }
  }
  auto n = s.notices.Get(notice_no);
  if (n.ok()) return n;
  if (n.error().code != errc::kNotFound) return n.error();
  if (s.lookup_throttle != nullptr) {
    auto lockout = s.lookup_throttle->RecordFailure(kAccount, source);
    if (!lockout.ok()) return lockout.error();
  }
  return Error::NotFound("没有这张缴款单，请核对缴款单号");
}

namespace {

using nlohmann::json;

Result<json> PublicNotice(const Services& s, Call& call) {
  auto n = PublicLookup(s, call, call.args.at(0));
  if (!n.ok()) return n.error();
  return PayerView(*n, s.sso.clock.NowMillis());
}

Result<json> PublicReceipt(const Services& s, Call& call) {
  auto n = PublicLookup(s, call, call.args.at(0));
  if (!n.ok()) return n.error();
  if (n->pay_no.empty()) return Error::Conflict("缴款单未缴费，没有缴款凭证");
  auto pay = s.notices.GetPayment(n->pay_no);
  if (!pay.ok()) return pay.error();
  std::string code = ReceiptCheckCode(s.receipt_key, *n);
  std::string url = ExternalUrl(s, call.request,
                                "/api/public/verify?notice_no=" + n->notice_no + "&code=" + code);
  auto pdf = PrintReceipt(*n, *pay, code, url);
  if (!pdf.ok()) return pdf.error();
  call.response.set_status(200);
  call.response.set_content_type("application/pdf");
  call.response.AddHeader("Content-Disposition", "inline; filename=\"receipt.pdf\"");
  call.response.set_body(std::move(*pdf));
  call.wrote_response = true;
  return json();
}

// Valid when the notice is paid (or refunded after payment) and the code is
// the one its receipt carries; the answer says what the receipt must show.
Result<json> Verify(const Services& s, Call& call) {
  std::string no(call.Query("notice_no"));
  std::string code(call.Query("code"));
  auto n = s.notices.Get(no);
  if (!n.ok() || n->pay_no.empty() ||
      !crypto::ConstantTimeEquals(code, ReceiptCheckCode(s.receipt_key, *n))) {
    return json{{"valid", false}, {"message", "凭证校验不通过：缴款单号或校验码不符"}};
  }
  return json{{"valid", true},
              {"notice_no", n->notice_no},
              {"entername", n->entername},
              {"payer", n->payer.name},
              {"paid_fen", n->paid_fen},
              {"paid", FormatYuan(n->paid_fen)},
              {"pay_no", n->pay_no},
              {"state", NoticeStateName(n->state)},
              {"state_name", NoticeStateChinese(n->state)}};
}

Result<json> MyNotices(const Services& s, Call& call) {
  std::set<std::string> seen;
  json items = json::array();
  const int64_t now = s.sso.clock.NowMillis();
  auto add = [&](NoticeQuery q) -> Status {
    q.limit = 200;
    auto found = s.notices.Search(q);
    if (!found.ok()) return found.error();
    for (const PaymentNotice& n : *found) {
      if (seen.insert(n.notice_no).second) items.push_back(PayerView(n, now));
    }
    return Status::Ok();
  };
  if (!call.caller.idnum.empty() && call.caller.idnum_verified) {
    NoticeQuery q;
    q.payer_id = call.caller.idnum;
    TB_RETURN_IF_ERROR(add(q));
  }
  // The mobile finds notices only when the account proved it (an SMS code)
  // or is real-name (Services::mobile_is_proven).
  bool mobile_proven = call.caller.idnum_verified;
  if (!mobile_proven && !call.caller.mobile.empty() && s.mobile_is_proven) {
    auto proven = s.mobile_is_proven(call.caller.userid);
    if (!proven.ok()) return proven.error();
    mobile_proven = *proven;
  }
  if (!call.caller.mobile.empty() && mobile_proven) {
    NoticeQuery q;
    q.payer_mobile = call.caller.mobile;
    TB_RETURN_IF_ERROR(add(q));
  }
  // The notices of the caller's own self-entries (scheme 7), whatever their
  // mobile: the caller proposed them.
  if (s.entries != nullptr) {
    auto entries = s.entries->List("", call.caller.userid, "", 100);
    if (!entries.ok()) return entries.error();
    for (const PayerEntry& e : *entries) {
      if (e.notice_no.empty() || seen.contains(e.notice_no)) continue;
      auto n = s.notices.Get(e.notice_no);
      if (!n.ok()) {
        if (n.error().code == errc::kNotFound) continue;
        return n.error();
      }
      seen.insert(n->notice_no);
      items.push_back(PayerView(*n, now));
    }
  }
  return json{{"total", items.size()}, {"items", items}};
}

}  // namespace

void AddPayerRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "public/notices/:notice_no", Access::kPublic, PublicNotice});
  routes.push_back(
      {"GET", "public/notices/:notice_no/receipt.pdf", Access::kPublic, PublicReceipt});
  routes.push_back({"GET", "public/verify", Access::kPublic, Verify});
  routes.push_back({"GET", "payer/notices", Access::kPayer, MyNotices});
}

}  // namespace tongban::payment
