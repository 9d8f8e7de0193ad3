#include "app/exchange_transfer_wiring.h"

#include <filesystem>
#include <memory>

#include "exchange/transfer.h"
#include "exchange/transfer_api.h"

namespace tongban::app {
namespace {

exchange::TransferOptions TransferOptionsFor(const Config& config) {
  exchange::TransferOptions o;
  o.dir = std::filesystem::path(config.storage.data_dir) / "exchange-transfers";
  return o;
}

}  // namespace

Status MountExchangeTransfers(Node& node, sso::SsoContext& context, http::Router& router) {
  auto store = exchange::TransferStore::Open(node.sql(), node.secret_box(), node.clock(),
                                             node.random(), TransferOptionsFor(node.config()));
  if (!store.ok()) return std::move(store).error();
  return exchange::RegisterTransferRoutes(
      router, std::shared_ptr<exchange::TransferStore>(std::move(*store)), context);
}

size_t ExchangeTransferBodyBytes() {
  return static_cast<size_t>(exchange::TransferOptions{}.max_chunk_size) + 64 * 1024;
}

}  // namespace tongban::app
