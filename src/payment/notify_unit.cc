#include "payment/notify_unit.h"

#include <pthread.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

#include "codec/parse.h"
#include "codec/render.h"
#include "codec/value.h"
#include "core/background.h"
#include "crypto/digest.h"
#include "http/url.h"
#include "payment/channel.h"

namespace tongban::payment {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::string PaymentCheckCode(std::string_view pay_no, std::string_view notice_no,
                             std::string_view pay_money) {
  std::string data(pay_no);
  data.append("|").append(notice_no).append("|").append(pay_money);
  std::string hex = crypto::Sha256Hex(data).substr(0, 8);
  for (char& c : hex) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return hex;
}

Pairs GetPayInfoFields(const PaymentNotice& notice, const Payment& payment) {
  std::string money = FormatYuan(payment.amount_fen);
  return {{"NOTICENO", notice.notice_no},
          {"CHANNELNO", notice.channel_no},
          {"ORIGINALNOTICENO", notice.original_notice_no},
          {"YWCODE", notice.ywcode},
          {"ENTERCODE", notice.entercode},
          {"PAYNO", payment.pay_no},
          {"TRADENO", payment.trade_no},
          {"PAYMONEY", money},
          {"PAYDATE", ChinaDate(payment.paid_at_ms)},
          {"PAYTIME", ChinaTime(payment.paid_at_ms)},
          {"WAYCODE", payment.way_code},
          {"WAYNAME", payment.way_name},
          {"CHECKCODE", PaymentCheckCode(payment.pay_no, notice.notice_no, money)}};
}

Status EnqueueUnitNotification(Outbox& outbox, soci::session& tx, const PaymentNotice& notice,
                               const Payment& payment, int64_t now_ms) {
  if (payment.disposition != PaymentDisposition::kCredited) return Status::Ok();
  codec::Value fields = codec::Value::Object();
  for (auto& [name, value] : GetPayInfoFields(notice, payment)) fields.Set(name, value);
  auto id = outbox.Enqueue(tx, notice.entercode, kUnitNotifyMethod, codec::RenderJson(fields),
                           now_ms, notice.notice_no);
  if (!id.ok()) return std::move(id).error();
  return Status::Ok();
}

UnitNotifier::UnitNotifier(Outbox& outbox, Clock& clock, UnitEndpointLookup lookup,
                           UnitNotifierOptions options, http::ClientOptions client)
    : outbox_(outbox),
      clock_(clock),
      lookup_(std::move(lookup)),
      options_(options),
      client_(std::move(client)) {}

UnitNotifier::~UnitNotifier() { Stop(); }

Result<Pairs> UnitNotifier::FormOf(const OutboxMessage& message, const UnitEndpoint& endpoint) {
  auto fields = codec::ParseJson(message.payload);
  if (!fields.ok() || !fields->IsObject()) return Error::Internal("unreadable outbox payload");
  Pairs form = {{"method", message.method},
                {"servicecode", endpoint.servicecode},
                {"time", std::to_string(clock_.NowMillis())}};
  for (const auto& member : fields->members()) form.emplace_back(member.key, member.value.ToText());
  form.emplace_back("sign", SandboxSign(endpoint.key, form));
  return form;
}

namespace {

// The unit's answer to one GetPay_Info: "success" (or an XML CODE="00").
Status Acknowledged(const Result<http::ClientResponse>& reply) {
  if (!reply.ok()) return reply.error();
  std::string_view body = reply->body;
  while (!body.empty() && std::isspace(static_cast<unsigned char>(body.back()))) {
    body.remove_suffix(1);
  }
  const bool success = reply->status == 200 &&
                       (body == "success" || body.find("CODE=\"00\"") != std::string_view::npos);
  if (!success) {
    return Error::Unavailable("the unit answered HTTP " + std::to_string(reply->status) + ": " +
                              std::string(body.substr(0, 200)));
  }
  return Status::Ok();
}

}  // namespace

Result<int> UnitNotifier::DeliverDue() {
  std::lock_guard sending(deliver_mu_);  // the kept connection: one sender at a time
  std::vector<int64_t> acknowledged;
  auto delivered = Round(acknowledged);
  Status marked = outbox_.MarkDelivered(acknowledged, clock_.NowMillis());
  if (!delivered.ok()) return delivered;
  TB_RETURN_IF_ERROR(marked);
  return delivered;
}

Result<int> UnitNotifier::Round(std::vector<int64_t>& acknowledged) {
  const int64_t claimed_at = clock_.NowMillis();
  Status marked = Status::Ok();
  auto claimed = outbox_.MarkDeliveredAndClaimDue(acknowledged, claimed_at, options_.batch, marked);
  if (!claimed.ok()) return std::move(claimed).error();  // `acknowledged` kept: marked next time
  acknowledged.clear();
  if (!marked.ok()) {
    spdlog::warn("payment: marking result notifications delivered: {}", marked.error().message);
  }
  // A claim holds up to `batch` messages of one unit (OutboxOptions::
  // per_destination), each the oldest pending one of its notice, so none
  // waits for another: a unit's run of them goes out in pipelined exchanges
  // of up to `pipeline` over the kept connection. The unit's endpoint is
  // looked up once per claim; a unit that fails one message gets no more of
  // this claim (those not answered are released untried, their attempts
  // unchanged; those it acknowledged count as delivered); the acknowledged
  // ones are marked together, in the next claim's transaction. A crash before
  // that mark resends them once the claim lapses: delivery stays at least
  // once, and the unit deduplicates on PAYNO.
  std::map<std::string, Result<UnitEndpoint>, std::less<>> endpoints;
  std::vector<std::string_view> failed_units;
  std::vector<int64_t>& delivered = acknowledged;
  std::vector<int64_t> untried;
  Status failure = Status::Ok();
  auto failed = [&](const OutboxMessage& m, const Error& e) {
    spdlog::info("payment: result notification {} to unit {} failed: {}", m.id, m.destination,
                 e.message);
    failed_units.push_back(m.destination);
    Status marked = outbox_.MarkFailed(m.id, e.message, clock_.NowMillis());
    if (!marked.ok()) failure = marked;
  };
  const std::vector<OutboxMessage>& all = *claimed;
  const size_t pipeline = std::max<size_t>(options_.pipeline, 1);
  for (size_t i = 0; i < all.size();) {
    const OutboxMessage& m = all[i];
    // Never past the claim: another dispatcher may take what lapses.
    const bool claim_ends = clock_.NowMillis() + options_.request_timeout.count() >=
                            claimed_at + outbox_.options().claim_timeout.count();
    if (claim_ends || !failure.ok() ||
        std::find(failed_units.begin(), failed_units.end(), m.destination) != failed_units.end()) {
      untried.push_back(m.id);
      ++i;
      continue;
    }
    auto found = endpoints.find(m.destination);
    if (found == endpoints.end()) {
      found = endpoints.emplace(m.destination, lookup_(m.destination)).first;
    }
    if (!found->second.ok()) {
      failed(m, found->second.error());
      ++i;
      continue;
    }
    const UnitEndpoint& endpoint = *found->second;
    if (endpoint.url.empty()) {
      failed(m, Error::NotFound("the unit has no notify_url"));
      ++i;
      continue;
    }
    // This unit's next messages (claims keep a unit's messages together).
    std::vector<Pairs> forms;
    size_t end = i;
    Status unreadable = Status::Ok();
    for (; end < all.size() && forms.size() < pipeline && all[end].destination == m.destination;
         ++end) {
      auto form = FormOf(all[end], endpoint);
      if (!form.ok()) {
        if (forms.empty()) unreadable = form.error();
        break;
      }
      forms.push_back(std::move(form).value());
    }
    if (!unreadable.ok()) {
      failed(m, unreadable.error());
      ++i;
      continue;
    }
    auto replies = client_.PostFormPipelined(endpoint.url, forms, options_.request_timeout);
    bool unit_failed = false;
    for (size_t k = 0; k < replies.size(); ++k) {
      Status s = Acknowledged(replies[k]);
      if (s.ok()) {
        delivered.push_back(all[i + k].id);
      } else if (!unit_failed) {
        unit_failed = true;
        failed(all[i + k], s.error());
      } else {
        untried.push_back(all[i + k].id);
      }
    }
    i = end;
  }
  Status released = outbox_.Release(untried);
  TB_RETURN_IF_ERROR(failure);
  TB_RETURN_IF_ERROR(released);
  return static_cast<int>(delivered.size());
}

void UnitNotifier::Start() {
  std::lock_guard lock(mu_);
  if (thread_.joinable()) return;
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
}

void UnitNotifier::Stop() {
  {
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void UnitNotifier::Wake() {
  {
    std::lock_guard lock(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void UnitNotifier::Loop() {
  // Named so that its CPU shows apart (/proc/<pid>/task/*/comm, perf, top -H).
  pthread_setname_np(pthread_self(), "tb-unitnotify");
  std::vector<int64_t> acknowledged;  // delivered, marked by the next round's claim
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    Result<int> delivered = Error::Internal("not run");
    {
      std::lock_guard sending(deliver_mu_);
      RunGuardedPass("payment unit notifier",
                     [&] { delivered = Round(acknowledged); });
    }
    if (!delivered.ok()) {
      spdlog::warn("payment: result notification dispatcher: {}", delivered.error().message);
      // What the failed round delivered is marked now, not by a claim after
      // the poll: a poll as long as the claim would let the claim lapse and
      // another node send those messages again.
      if (!acknowledged.empty()) {
        std::lock_guard sending(deliver_mu_);
        Status marked = outbox_.MarkDelivered(acknowledged, clock_.NowMillis());
        if (marked.ok()) {
          acknowledged.clear();
        } else {
          spdlog::warn("payment: marking result notifications delivered: {}",
                       marked.error().message);
        }
      }
    }
    lock.lock();
    if (delivered.ok() && *delivered > 0) {
      // Straight on while messages go out (a claim takes at most `batch` of a
      // unit), after a short linger when the round was small.
      if (static_cast<size_t>(*delivered) < std::max<size_t>(options_.pipeline, 2) &&
          options_.linger.count() > 0) {
        cv_.wait_for(lock, options_.linger, [this] { return stop_; });
      }
      continue;
    }
    // Nothing went out: the round's claim wrote the previous marks (if it
    // failed, the next round writes them). Wait for a payment or the poll.
    cv_.wait_for(lock, options_.poll_interval, [this] { return stop_ || woken_; });
    woken_ = false;
  }
  lock.unlock();
  // Stopping: what the last round delivered is marked now, not resent later.
  std::lock_guard sending(deliver_mu_);
  Status marked = outbox_.MarkDelivered(acknowledged, clock_.NowMillis());
  if (!marked.ok()) {
    spdlog::warn("payment: marking result notifications delivered at stop: {}",
                 marked.error().message);
  }
}

}  // namespace tongban::payment
