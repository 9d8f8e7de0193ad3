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

Status UnitNotifier::DeliverOne(const OutboxMessage& message, const UnitEndpoint& endpoint) {
  if (endpoint.url.empty()) return Error::NotFound("the unit has no notify_url");
  auto fields = codec::ParseJson(message.payload);
  if (!fields.ok() || !fields->IsObject()) return Error::Internal("unreadable outbox payload");
  Pairs form = {{"method", message.method},
                {"servicecode", endpoint.servicecode},
                {"time", std::to_string(clock_.NowMillis())}};
  for (const auto& member : fields->members()) form.emplace_back(member.key, member.value.ToText());
  form.emplace_back("sign", SandboxSign(endpoint.key, form));
  auto reply = client_.PostForm(endpoint.url, form, options_.request_timeout);
  if (!reply.ok()) return std::move(reply).error();
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

Result<int> UnitNotifier::DeliverDue() {
  std::lock_guard sending(deliver_mu_);  // the kept connection: one sender at a time
  const int64_t claimed_at = clock_.NowMillis();
  auto claimed = outbox_.ClaimDue(claimed_at, options_.batch);
  if (!claimed.ok()) return std::move(claimed).error();
  // A claim holds up to `batch` messages of one unit (OutboxOptions::
  // per_destination), sent one after another in claim order. The unit's
  // endpoint is looked up once per claim; a unit that fails one message gets
  // no more of this claim (they are released untried, their attempts unchanged);
  // the acknowledged ones are marked together at the end. A crash before that
  // mark resends them once the claim lapses: delivery stays at least once, and
  // the unit deduplicates on PAYNO.
  std::map<std::string, Result<UnitEndpoint>, std::less<>> endpoints;
  std::vector<std::string_view> failed_units;
  std::vector<int64_t> delivered, untried;
  Status failure = Status::Ok();
  for (const OutboxMessage& m : *claimed) {
    // Never past the claim: another dispatcher may take what lapses.
    const bool claim_ends = clock_.NowMillis() + options_.request_timeout.count() >=
                            claimed_at + outbox_.options().claim_timeout.count();
    if (claim_ends || !failure.ok() ||
        std::find(failed_units.begin(), failed_units.end(), m.destination) != failed_units.end()) {
      untried.push_back(m.id);
      continue;
    }
    auto found = endpoints.find(m.destination);
    if (found == endpoints.end()) {
      found = endpoints.emplace(m.destination, lookup_(m.destination)).first;
    }
    Status s = found->second.ok() ? DeliverOne(m, *found->second) : Status(found->second.error());
    if (s.ok()) {
      delivered.push_back(m.id);
      continue;
    }
    spdlog::info("payment: result notification {} to unit {} failed: {}", m.id, m.destination,
                 s.error().message);
    failed_units.push_back(m.destination);
    Status marked = outbox_.MarkFailed(m.id, s.error().message, clock_.NowMillis());
    if (!marked.ok()) failure = marked;
  }
  Status marked = outbox_.MarkDelivered(delivered, clock_.NowMillis());
  Status released = outbox_.Release(untried);
  TB_RETURN_IF_ERROR(failure);
  TB_RETURN_IF_ERROR(marked);
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
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    auto delivered = DeliverDue();
    if (!delivered.ok()) {
      spdlog::warn("payment: result notification dispatcher: {}", delivered.error().message);
    }
    lock.lock();
    // Straight on while messages go out (a claim takes at most `batch` of a
    // unit); else wait for a payment or the poll.
    if (delivered.ok() && *delivered > 0) continue;
    cv_.wait_for(lock, options_.poll_interval, [this] { return stop_ || woken_; });
    woken_ = false;
  }
}

}  // namespace tongban::payment
