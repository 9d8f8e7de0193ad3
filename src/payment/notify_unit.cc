#include "payment/notify_unit.h"

#include <spdlog/spdlog.h>

#include <cctype>

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

Status UnitNotifier::DeliverOne(const OutboxMessage& message) {
  auto endpoint = lookup_(message.destination);
  if (!endpoint.ok()) return std::move(endpoint).error();
  if (endpoint->url.empty()) return Error::NotFound("the unit has no notify_url");
  auto fields = codec::ParseJson(message.payload);
  if (!fields.ok() || !fields->IsObject()) return Error::Internal("unreadable outbox payload");
  Pairs form = {{"method", message.method},
                {"servicecode", endpoint->servicecode},
                {"time", std::to_string(clock_.NowMillis())}};
  for (const auto& member : fields->members()) form.emplace_back(member.key, member.value.ToText());
  form.emplace_back("sign", SandboxSign(endpoint->key, form));
  auto reply = client_.PostForm(endpoint->url, form, options_.request_timeout);
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
  auto claimed = outbox_.ClaimDue(clock_.NowMillis(), options_.batch);
  if (!claimed.ok()) return std::move(claimed).error();
  int delivered = 0;
  for (const OutboxMessage& m : *claimed) {
    Status s = DeliverOne(m);
    if (s.ok()) {
      TB_RETURN_IF_ERROR(outbox_.MarkDelivered(m.id, clock_.NowMillis()));
      ++delivered;
    } else {
      spdlog::info("payment: result notification {} to unit {} failed: {}", m.id, m.destination,
                   s.error().message);
      TB_RETURN_IF_ERROR(outbox_.MarkFailed(m.id, s.error().message, clock_.NowMillis()));
    }
  }
  return delivered;
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
  std::unique_lock lock(mu_);
  while (!stop_) {
    lock.unlock();
    auto delivered = DeliverDue();
    if (!delivered.ok()) {
      spdlog::warn("payment: result notification dispatcher: {}", delivered.error().message);
    }
    lock.lock();
    // Straight on while messages go out (a claim takes one per unit, so a
    // burst to one unit needs a claim per message); else wait for a payment
    // or the poll.
    if (delivered.ok() && *delivered > 0) continue;
    cv_.wait_for(lock, options_.poll_interval, [this] { return stop_ || woken_; });
    woken_ = false;
  }
}

}  // namespace tongban::payment
