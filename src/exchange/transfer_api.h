// The HTTP API of big-file transfers under /exchange/api/transfers
// (docs/api/exchange-transfers.md): department systems start, upload (chunk
// PUTs), complete, and as subscribers list, download (Range) and acknowledge,
// all with tongban's request signature; platform administrators list every
// transfer with their SSO session. Mounted by src/app.
#pragma once

#include <memory>

#include "core/result.h"
#include "exchange/transfer.h"
#include "http/router.h"
#include "sso/context.h"

namespace tongban::exchange {

// Mounts the routes; the handlers share ownership of `store`. `context` must
// outlive the router.
Status RegisterTransferRoutes(http::Router& router, std::shared_ptr<TransferStore> store,
                              sso::SsoContext& context);

}  // namespace tongban::exchange
