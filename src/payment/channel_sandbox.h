// The sandbox channel's client side: tongban talking to `tongban paysim`
// (paysim.h) over HTTP with the sandbox protocol (docs/api/payment-channels.md).
// OpenChannel builds it for [payment] channel = "sandbox" when sandbox = true.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"
#include "payment/channel.h"

namespace tongban::payment {

inline constexpr std::string_view kSandboxChannelName = "sandbox";

// The sandbox protocol's paths, relative to the channel's base URL.
inline constexpr std::string_view kPaysimOrdersPath = "/paysim/api/orders";
inline constexpr std::string_view kPaysimQueryPath = "/paysim/api/query";
inline constexpr std::string_view kPaysimStatementPath = "/paysim/api/statement";
inline constexpr std::string_view kPaysimPayPagePath = "/paysim/pay";

// The signed form a notification and a query answer carry: order_no,
// channel_serial, amount_fen, paid_at (ms since the epoch), status, sign.
std::vector<std::pair<std::string, std::string>> SandboxPaymentForm(const ChannelPayment& payment,
                                                                    std::string_view key);
// Verifies and reads such a form body. Errors as Channel::VerifyNotification.
Result<ChannelPayment> ReadSandboxPaymentForm(std::string_view body, std::string_view key);

Result<std::unique_ptr<Channel>> MakeSandboxChannel(const ChannelSettings& settings);

}  // namespace tongban::payment
