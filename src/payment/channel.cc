#include "payment/channel.h"

#include <algorithm>
#include <map>
#include <mutex>
#include <stdexcept>

#include "crypto/digest.h"
#include "crypto/encoding.h"
#include "payment/channel_sandbox.h"

namespace tongban::payment {
namespace {

struct Registry {
  std::mutex mu;
  std::map<std::string, ChannelFactory, std::less<>> factories;
};

Registry& Plugins() {
  static Registry registry;
  return registry;
}

}  // namespace

std::string_view ChannelPaymentStatusName(ChannelPaymentStatus status) {
  switch (status) {
    case ChannelPaymentStatus::kPaid:
      return "paid";
    case ChannelPaymentStatus::kUnpaid:
      return "unpaid";
    case ChannelPaymentStatus::kClosed:
      return "closed";
    case ChannelPaymentStatus::kRefunded:
      return "refunded";
  }
  return "unpaid";
}

Result<ChannelPaymentStatus> ParseChannelPaymentStatus(std::string_view name) {
  if (name == "paid") return ChannelPaymentStatus::kPaid;
  if (name == "unpaid") return ChannelPaymentStatus::kUnpaid;
  if (name == "closed") return ChannelPaymentStatus::kClosed;
  if (name == "refunded") return ChannelPaymentStatus::kRefunded;
  return Error::InvalidArgument("unknown payment status");
}

void RegisterChannel(std::string name, ChannelFactory factory) {
  Registry& r = Plugins();
  std::lock_guard lock(r.mu);
  if (name == kSandboxChannelName || !r.factories.emplace(std::move(name), std::move(factory)).second) {
    throw std::invalid_argument("payment channel registered twice");
  }
}

Result<std::unique_ptr<Channel>> OpenChannel(const ChannelSettings& settings) {
  if (settings.name.empty()) {
    return Error::InvalidArgument(
        "[payment] channel is not set: a production config must name its channel "
        "(the sandbox needs [payment] sandbox = true)");
  }
  if (settings.name == kSandboxChannelName) {
    if (!settings.allow_sandbox) {
      return Error::InvalidArgument(
          "[payment] channel = \"sandbox\" collects no real money: refused unless "
          "[payment] sandbox = true (tests and the demo only)");
    }
    return MakeSandboxChannel(settings);
  }
  Registry& r = Plugins();
  ChannelFactory factory;
  std::string known = std::string(kSandboxChannelName);
  {
    std::lock_guard lock(r.mu);
    auto it = r.factories.find(settings.name);
    if (it != r.factories.end()) factory = it->second;
    for (const auto& [name, unused] : r.factories) known += ", " + name;
  }
  if (!factory) {
    return Error::InvalidArgument("[payment] channel \"" + settings.name +
                                  "\" is not a known channel (known: " + known + ")");
  }
  return factory(settings);
}

std::string SandboxSign(std::string_view key,
                        std::vector<std::pair<std::string, std::string>> pairs) {
  std::erase_if(pairs, [](const auto& p) { return p.first == "sign" || p.second.empty(); });
  std::sort(pairs.begin(), pairs.end());
  std::string canonical;
  for (const auto& [name, value] : pairs) {
    if (!canonical.empty()) canonical.push_back('&');
    canonical.append(name).append("=").append(value);
  }
  return crypto::HexEncode(crypto::HmacSha256(key, canonical));
}

}  // namespace tongban::payment
