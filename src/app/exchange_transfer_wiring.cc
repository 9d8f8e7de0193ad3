#include "app/exchange_transfer_wiring.h"

#include <filesystem>
#include <memory>

#include "exchange/meta.h"
#include "exchange/transfer.h"
#include "exchange/transfer_api.h"

namespace tongban::app {
namespace {

exchange::TransferOptions TransferOptionsFor(Node& node) {
  const Config& config = node.config();
  exchange::TransferOptions o;
  o.dir = std::filesystem::path(config.storage.data_dir) / "exchange-transfers";
  o.abandon_after_ms = int64_t{config.exchange.transfer_abandon_after_s} * 1000;
  o.sync_each_chunk = config.exchange.transfer_sync_each_chunk;
  o.max_open_transfers_per_sender = config.exchange.transfer_max_open_per_sender;
  o.max_open_bytes_per_sender = config.exchange.transfer_max_open_mb_per_sender * exchange::kMiB;
  o.min_free_disk_bytes = config.exchange.transfer_min_free_disk_mb * exchange::kMiB;
  if (config.exchange.enabled) {
    // A start that names a resource code and no subscribers: the apps of the resources that
    // subscribe to it (approved tasks), as ExchangeMeta::SubscriberApps says.
    o.resource_subscribers = [&node](std::string_view code, std::string_view sender)
        -> Result<std::vector<std::string>> {
      exchange::ExchangeMeta meta(node.sql(), node.clock(), node.secret_box());
      auto provider = meta.IsResourceApp(code, sender);
      if (!provider.ok()) {
        if (provider.error().code == errc::kNotFound) {
          return Error::InvalidArgument(provider.error().message);
        }
        return provider.error();
      }
      if (!*provider) {
        return Error::PermissionDenied("app " + std::string(sender) + " is not a web app of resource " +
                                       std::string(code) + ": it cannot send files under its name");
      }
      // The subscribers of the sender's own resources with that code only.
      auto apps = meta.SubscriberApps(code, sender);
      if (!apps.ok() && apps.error().code == errc::kNotFound) {
        return Error::InvalidArgument(apps.error().message);
      }
      return apps;
    };
  }
  return o;
}

}  // namespace

Status MountExchangeTransfers(Node& node, sso::SsoContext& context, http::Router& router) {
  auto store = exchange::TransferStore::Open(node.sql(), node.secret_box(), node.clock(),
                                             node.random(), TransferOptionsFor(node));
  if (!store.ok()) return std::move(store).error();
  return exchange::RegisterTransferRoutes(
      router, std::shared_ptr<exchange::TransferStore>(std::move(*store)), context);
}

size_t ExchangeTransferBodyBytes() {
  return static_cast<size_t>(exchange::TransferOptions{}.max_chunk_size) + 64 * 1024;
}

}  // namespace tongban::app
