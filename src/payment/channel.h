// Channels: the banks and gateways that collect a notice's money, behind one
// interface — create an order, the payer pays (redirect URL or QR content), the
// channel's signed asynchronous notification, a query by order, a daily statement.
// Notification handling (notify.h) and reconciliation (reconcile.h) use it;
// src/app builds the configured channel through OpenChannel.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace tongban::payment {

// What tongban asks a channel to collect: one payment attempt of one notice.
struct ChannelOrder {
  std::string order_no;    // tongban's, unique per attempt; the channel echoes it back
  std::string notice_no;   // NOTICENO, shown to the payer
  int64_t amount_fen = 0;  // > 0
  std::string subject;     // what the payer sees ("森林植被恢复费")
  std::string return_url;  // where the payer's browser goes once paid
  std::string notify_url;  // where the channel posts its asynchronous notification
};

// How the payer pays: open pay_url (a redirect), or scan qr_content.
struct PayInstruction {
  std::string pay_url;
  std::string qr_content;
};

enum class ChannelPaymentStatus { kPaid, kUnpaid, kClosed, kRefunded };

// "paid", "unpaid", "closed", "refunded" (the statement's and the wire's words).
std::string_view ChannelPaymentStatusName(ChannelPaymentStatus status);
// The inverse; kInvalidArgument for any other word.
Result<ChannelPaymentStatus> ParseChannelPaymentStatus(std::string_view name);

// What a channel says about one order: a verified notification or a query answer.
struct ChannelPayment {
  std::string order_no;
  std::string channel_serial;  // the channel's transaction number (TRADENO); "" when unpaid
  int64_t amount_fen = 0;
  int64_t paid_at_ms = 0;  // 0 when unpaid
  ChannelPaymentStatus status = ChannelPaymentStatus::kUnpaid;
};

// A notification request exactly as it arrived (the channel's own format).
struct RawNotification {
  std::string content_type;
  std::string body;
};

// What tongban answers a notification, in the channel's terms: the channel
// stops re-sending once it reads an acceptance.
struct NotificationAck {
  int http_status = 200;
  std::string content_type;
  std::string body;
};

class Channel {
 public:
  virtual ~Channel() = default;

  // WAYCODE and WAYNAME of the result notification ("sandbox", "沙箱通道").
  virtual std::string_view code() const = 0;
  virtual std::string_view display_name() const = 0;

  // Registers the order with the channel. Errors: kInvalidArgument for a bad
  // order, kUnavailable when the channel cannot be reached or refuses.
  virtual Result<PayInstruction> CreateOrder(const ChannelOrder& order) = 0;

  // Checks a notification's signature and reads it. It says nothing yet about
  // whether the order and amount are right: notify.h checks those against the
  // order. Errors: kPermissionDenied for a missing or wrong signature,
  // kInvalidArgument for a malformed body. Must not block (no I/O).
  virtual Result<ChannelPayment> VerifyNotification(const RawNotification& raw) const = 0;

  // The reply to a notification: `accepted` stops the channel's re-sending.
  virtual NotificationAck Acknowledge(bool accepted) const = 0;

  // Asks the channel about an order (the answer is verified like a
  // notification). Errors: kNotFound when the channel does not know it,
  // kUnavailable when unreachable, kPermissionDenied for a bad signature.
  virtual Result<ChannelPayment> Query(std::string_view order_no) = 0;

  // Downloads the daily statement of `date` (YYYYMMDD) into the file `path`,
  // streamed. Errors: kNotFound (no statement for that day), kUnavailable.
  virtual Status DownloadStatement(std::string_view date, const std::string& path) = 0;
};

// How src/app configures the channel ([payment] in the config file).
struct ChannelSettings {
  std::string name;      // the plugin: "sandbox", or a registered real channel
  std::string base_url;  // the channel's API root
  std::string key;       // shared signing key (never logged)
  std::string merchant;  // our merchant number at the channel, if it has one
  bool allow_sandbox = false;  // [payment] sandbox = true: only tests and the demo
  int timeout_ms = 5'000;
};

using ChannelFactory =
    std::function<Result<std::unique_ptr<Channel>>(const ChannelSettings& settings)>;

// Adds a channel plugin under `name`. Call before OpenChannel, at start-up.
// Throws std::invalid_argument on a repeated name (a programming error).
void RegisterChannel(std::string name, ChannelFactory factory);

// Builds the channel `settings.name` names. A production config must name a
// real channel explicitly: an empty name is refused, and "sandbox" is refused
// unless allow_sandbox. Errors: kInvalidArgument for those and for an unknown
// name (the message lists the registered ones).
Result<std::unique_ptr<Channel>> OpenChannel(const ChannelSettings& settings);

// The sandbox protocol's signature (see docs/api/payment-channels.md): the
// pairs except "sign" and empty values, sorted by name, joined as
// name=value&name=value, HMAC-SHA256 with the shared key, lowercase hex.
std::string SandboxSign(std::string_view key,
                        std::vector<std::pair<std::string, std::string>> pairs);

}  // namespace tongban::payment
