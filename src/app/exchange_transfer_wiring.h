// Wires the exchange's big-file transfers (exchange/transfer.h) into a node:
// the store under <data_dir>/exchange-transfers on the node's database and
// secret box, and its routes under /exchange/api/transfers. Called from
// routes.cc; serve.cc sizes the server's body limit for one chunk.
#pragma once

#include <cstddef>

#include "app/node.h"
#include "core/result.h"
#include "http/router.h"
#include "sso/context.h"

namespace tongban::app {

// Opens the transfer store (running its migrations) and mounts its routes.
Status MountExchangeTransfers(Node& node, sso::SsoContext& context, http::Router& router);

// The request body one chunk PUT needs (the largest chunk plus slack): the
// server's max_body_bytes is raised to this when smaller.
size_t ExchangeTransferBodyBytes();

}  // namespace tongban::app
