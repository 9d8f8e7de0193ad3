#include "payment/channel_sandbox.h"

#include <charconv>
#include <chrono>
#include <fstream>

#include "crypto/encoding.h"
#include "http/client.h"
#include "http/url.h"

namespace tongban::payment {
namespace {

using Pairs = std::vector<std::pair<std::string, std::string>>;

std::optional<int64_t> ToInt(std::string_view s) {
  int64_t v = 0;
  if (s.empty()) return std::nullopt;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

// Reads a signed form body into pairs, checking the signature.
Result<http::Params> ReadSigned(std::string_view body, std::string_view key) {
  auto params = http::ParseQuery(body);
  if (!params.ok()) return Error::InvalidArgument("sandbox: unreadable form body");
  auto sign = params->Get("sign");
  if (!sign.has_value() || sign->empty()) return Error::PermissionDenied("sandbox: unsigned");
  Pairs pairs;
  for (auto e : *params) pairs.emplace_back(std::string(e.name), std::string(e.value));
  if (!crypto::ConstantTimeEquals(SandboxSign(key, std::move(pairs)), *sign)) {
    return Error::PermissionDenied("sandbox: bad signature");
  }
  return std::move(params).value();
}

class SandboxChannel final : public Channel {
 public:
  explicit SandboxChannel(ChannelSettings settings)
      : settings_(std::move(settings)),
        // Orders and queries answer a few hundred bytes: a channel that sends
        // more is refused before it can fill memory (review16a). Statements are
        // large, up to what an uploaded one may be (the route's 256 MiB).
        client_(http::ClientOptions{.user_agent = "tongban-payment",
                                    .max_response_bytes = size_t{1} << 20}),
        statement_client_(http::ClientOptions{.user_agent = "tongban-payment",
                                              .max_response_bytes = size_t{256} << 20}) {
    while (settings_.base_url.ends_with('/')) settings_.base_url.pop_back();
  }

  std::string_view code() const override { return kSandboxChannelName; }
  std::string_view display_name() const override { return "沙箱通道"; }

  Result<PayInstruction> CreateOrder(const ChannelOrder& order) override {
    if (order.order_no.empty() || order.amount_fen <= 0) {
      return Error::InvalidArgument("sandbox: an order needs a number and a positive amount");
    }
    Pairs form = {{"order_no", order.order_no},
                  {"notice_no", order.notice_no},
                  {"amount_fen", std::to_string(order.amount_fen)},
                  {"subject", order.subject},
                  {"return_url", order.return_url},
                  {"notify_url", order.notify_url}};
    form.emplace_back("sign", SandboxSign(settings_.key, form));
    auto reply = client_.PostForm(Url(kPaysimOrdersPath), form, Timeout());
    if (!reply.ok()) return std::move(reply).error();
    if (reply->status != 200) {
      return Error::Unavailable("sandbox: create order answered HTTP " +
                                std::to_string(reply->status));
    }
    auto params = ReadSigned(reply->body, settings_.key);
    if (!params.ok()) return std::move(params).error();
    PayInstruction out;
    out.pay_url = std::string(params->GetOr("pay_url"));
    out.qr_content = std::string(params->GetOr("qr_content"));
    if (out.pay_url.empty()) return Error::Unavailable("sandbox: create order gave no pay_url");
    return out;
  }

  Result<ChannelPayment> VerifyNotification(const RawNotification& raw) const override {
    return ReadSandboxPaymentForm(raw.body, settings_.key);
  }

  NotificationAck Acknowledge(bool accepted) const override {
    return NotificationAck{accepted ? 200 : 400, "text/plain;charset=utf-8",
                           accepted ? "success" : "fail"};
  }

  Result<ChannelPayment> Query(std::string_view order_no) override {
    Pairs q = {{"order_no", std::string(order_no)}};
    q.emplace_back("sign", SandboxSign(settings_.key, q));
    auto reply = client_.Get(Url(kPaysimQueryPath) + "?" + http::EncodeForm(q), Timeout());
    if (!reply.ok()) return std::move(reply).error();
    if (reply->status == 404) return Error::NotFound("sandbox: no such order at the channel");
    if (reply->status != 200) {
      return Error::Unavailable("sandbox: query answered HTTP " + std::to_string(reply->status));
    }
    return ReadSandboxPaymentForm(reply->body, settings_.key);
  }

  Status DownloadStatement(std::string_view date, const std::string& path) override {
    Pairs q = {{"date", std::string(date)}};
    q.emplace_back("sign", SandboxSign(settings_.key, q));
    auto reply = statement_client_.Get(Url(kPaysimStatementPath) + "?" + http::EncodeForm(q),
                                       std::chrono::milliseconds(120'000));
    if (!reply.ok()) return std::move(reply).error();
    if (reply->status == 404) return Error::NotFound("sandbox: no statement for that day");
    if (reply->status != 200) {
      return Error::Unavailable("sandbox: statement answered HTTP " +
                                std::to_string(reply->status));
    }
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reply->body.data(), static_cast<std::streamsize>(reply->body.size()));
    out.close();
    if (!out) return Error::Unavailable("sandbox: cannot write the statement file");
    return Status::Ok();
  }

 private:
  std::string Url(std::string_view path) const { return settings_.base_url + std::string(path); }
  std::chrono::milliseconds Timeout() const {
    return std::chrono::milliseconds(settings_.timeout_ms);
  }

  ChannelSettings settings_;
  http::Client client_;
  http::Client statement_client_;
};

}  // namespace

std::vector<std::pair<std::string, std::string>> SandboxPaymentForm(const ChannelPayment& payment,
                                                                    std::string_view key) {
  Pairs form = {{"order_no", payment.order_no},
                {"channel_serial", payment.channel_serial},
                {"amount_fen", std::to_string(payment.amount_fen)},
                {"paid_at", std::to_string(payment.paid_at_ms)},
                {"status", std::string(ChannelPaymentStatusName(payment.status))}};
  form.emplace_back("sign", SandboxSign(key, form));
  return form;
}

Result<ChannelPayment> ReadSandboxPaymentForm(std::string_view body, std::string_view key) {
  auto params = ReadSigned(body, key);
  if (!params.ok()) return std::move(params).error();
  ChannelPayment p;
  p.order_no = std::string(params->GetOr("order_no"));
  p.channel_serial = std::string(params->GetOr("channel_serial"));
  auto amount = ToInt(params->GetOr("amount_fen"));
  auto paid_at = ToInt(params->GetOr("paid_at", "0"));
  auto status = ParseChannelPaymentStatus(params->GetOr("status"));
  if (p.order_no.empty() || !amount.has_value() || *amount < 0 || !paid_at.has_value() ||
      !status.ok()) {
    return Error::InvalidArgument("sandbox: a payment form needs order_no, amount_fen, status");
  }
  p.amount_fen = *amount;
  p.paid_at_ms = *paid_at;
  p.status = *status;
  if (p.status == ChannelPaymentStatus::kPaid && p.channel_serial.empty()) {
    return Error::InvalidArgument("sandbox: a paid order needs its channel_serial");
  }
  return p;
}

Result<std::unique_ptr<Channel>> MakeSandboxChannel(const ChannelSettings& settings) {
  if (settings.base_url.empty() || settings.key.empty()) {
    return Error::InvalidArgument("[payment] the sandbox needs channel_url and channel_key");
  }
  return std::unique_ptr<Channel>(std::make_unique<SandboxChannel>(settings));
}

}  // namespace tongban::payment
