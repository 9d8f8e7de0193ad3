// OffIoWhenRemote: a route handler whose work waits on the ticket store runs
// on the I/O thread while the store is in memory, and on the server's
// blocking pool when the store is Remote() (Redis), so that a slow or
// distant Redis stalls no other request of the I/O thread (issue 19).
#pragma once

#include <memory>
#include <utility>

#include "http/request.h"
#include "http/response.h"
#include "http/router.h"
#include "store/ticket_store.h"

namespace tongban::sso {

inline http::Handler OffIoWhenRemote(const TicketStore& tickets, http::Handler handler) {
  if (!tickets.Remote()) return handler;
  auto shared = std::make_shared<const http::Handler>(std::move(handler));
  return [shared](const http::Request& request, http::Response& response) {
    response.Defer([shared, &request](http::Response& r) { (*shared)(request, r); });
  };
}

}  // namespace tongban::sso
