// The direct interface (docs/api/payment.md §Direct interface): a unit's own
// system creates, cancels and reads its notices with signed POSTs of XML or
// JSON; every reply is IS_SUCCESS CODE "00" or "99" with ERRMSG, in the form
// of the request.
#include <spdlog/spdlog.h>

#include "payment/api_internal.h"
#include "payment/direct.h"

namespace tongban::payment {

namespace {

bool WantsJson(const http::Request& request) {
  return request.Header("Content-Type").value_or("").starts_with("application/json");
}

// Runs `body` on the parsed request and writes its reply (or its error as CODE 99).
Result<nlohmann::json> Reply(Call& call,
                             const std::function<Result<DirectReply>(const DirectRequest&)>& body) {
  const bool json = WantsJson(call.request);
  auto parsed = json ? ParseDirectJson(call.request.body()) : ParseDirectXml(call.request.body());
  Result<DirectReply> reply = parsed.ok() ? body(*parsed) : Result<DirectReply>(parsed.error());
  int status = 200;
  DirectReply out;
  if (reply.ok()) {
    out = std::move(*reply);
  } else {
    out.ok = false;
    out.errmsg = reply.error().message;
    if (reply.error().code == errc::kInternal || reply.error().code == errc::kUnavailable) {
      spdlog::error("payment direct {}: {}", call.request.path(), reply.error().message);
      status = reply.error().code == errc::kUnavailable ? 503 : 500;
      out.errmsg = "平台内部错误，请稍后重试";
    }
  }
  call.response.set_status(status);
  call.response.set_content_type(json ? http::kJsonType : http::kXmlType);
  call.response.set_body(json ? RenderDirectJson(out) : RenderDirectXml(out));
  call.wrote_response = true;
  return nlohmann::json();
}

// NOTICENO, or CHANNELNO + ORIGINALNOTICENO.
Result<std::string> NoticeNoOf(const DirectRecord& r) {
  const std::string& no = r.Get("NOTICENO");
  if (!no.empty()) return no;
  if (r.Get("ORIGINALNOTICENO").empty()) {
    return Error::InvalidArgument("应给出 NOTICENO，或 CHANNELNO 和 ORIGINALNOTICENO");
  }
  return MakeNoticeNo(r.Get("CHANNELNO"), r.Get("ORIGINALNOTICENO"));
}

Result<nlohmann::json> Create(const Services& s, Call& call) {
  return Reply(call, [&](const DirectRequest& req) -> Result<DirectReply> {
    auto draft = NoticeFromDirect(req);
    if (!draft.ok()) return draft.error();
    if (draft->entercode.empty()) draft->entercode = call.caller.entercode;
    if (draft->entercode != call.caller.entercode) {
      return Error::PermissionDenied("ENTERCODE 不是本接入资源绑定的执收单位");
    }
    auto created = s.notices.Create(std::move(*draft), NoticeSource::kDirect);
    if (!created.ok()) return created.error();
    return DirectReply{true, "", {std::move(*created)}, false};
  });
}

Result<nlohmann::json> Cancel(const Services& s, Call& call) {
  return Reply(call, [&](const DirectRequest& req) -> Result<DirectReply> {
    auto no = NoticeNoOf(req.params);
    if (!no.ok()) return no.error();
    std::string reason = req.params.Get("CANCELREASON");
    if (reason.empty()) reason = req.params.Get("REASON");
    if (reason.empty()) return Error::InvalidArgument("缺少作废原因 CANCELREASON");
    auto cancelled = s.notices.Cancel(*no, reason, call.caller.entercode);
    if (!cancelled.ok()) return cancelled.error();
    return DirectReply{true, "", {std::move(*cancelled)}, false};
  });
}

Result<nlohmann::json> GetOne(const Services& s, Call& call) {
  return Reply(call, [&](const DirectRequest& req) -> Result<DirectReply> {
    auto no = NoticeNoOf(req.params);
    if (!no.ok()) return no.error();
    auto n = s.notices.Get(*no);
    const std::string& ywcode = req.params.Get("YWCODE");
    if (!n.ok() || n->entercode != call.caller.entercode ||
        (!ywcode.empty() && ywcode != n->ywcode)) {
      return Error::NotFound("没有这张缴款单：" + *no);
    }
    return DirectReply{true, "", {std::move(*n)}, false};
  });
}

Result<nlohmann::json> GetByPayer(const Services& s, Call& call) {
  return Reply(call, [&](const DirectRequest& req) -> Result<DirectReply> {
    const DirectRecord& r = req.params;
    NoticeQuery q;
    q.entercode = call.caller.entercode;
    if (!r.Get("ENTERCODE").empty() && r.Get("ENTERCODE") != q.entercode) {
      return Error::PermissionDenied("ENTERCODE 不是本接入资源绑定的执收单位");
    }
    q.regicode = r.Get("REGICODE");
    q.payer_id = r.Get("PAYERSFZ");
    q.payer_mobile = r.Get("PAYERMOBILE");
    q.payer_email = r.Get("PAYEREMAIL");
    const std::string& d1 = r.Get("PAYERDEFINE1");
    const std::string& d2 = r.Get("PAYERDEFINE2");
    if (q.payer_id.empty() && q.payer_mobile.empty() && q.payer_email.empty() && d1.empty() &&
        d2.empty()) {
      return Error::InvalidArgument(
          "应给出 PAYERSFZ、PAYERMOBILE、PAYEREMAIL、PAYERDEFINE1 或 PAYERDEFINE2 之一");
    }
    if (auto st = ParseNoticeState(r.Get("STATE")); st) q.state = st;
    q.limit = 1000;
    auto found = s.notices.Search(q);
    if (!found.ok()) return found.error();
    std::erase_if(*found, [&](const PaymentNotice& n) {
      return (!d1.empty() && n.payer.define1 != d1) || (!d2.empty() && n.payer.define2 != d2);
    });
    return DirectReply{true, "", std::move(*found), true};
  });
}

}  // namespace

void AddDirectRoutes(std::vector<Route>& routes) {
  routes.push_back({"POST", "direct/Create_AppPay_Info", Access::kSystem, Create});
  routes.push_back({"POST", "direct/Cancel_AppPay_Info", Access::kSystem, Cancel});
  routes.push_back({"POST", "direct/Get_AppPay_Info", Access::kSystem, GetOne});
  routes.push_back({"POST", "direct/Get_AppPay_Infos", Access::kSystem, GetByPayer});
}

}  // namespace tongban::payment
