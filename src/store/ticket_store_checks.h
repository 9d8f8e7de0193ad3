// Argument checks shared by the TicketStore implementations, so that memory
// and Redis reject exactly the same calls. Internal to src/store.
#pragma once

#include <chrono>
#include <string_view>

#include "core/result.h"
#include "store/ticket_store.h"

namespace tongban::ticket_store_checks {

inline Status Key(std::string_view key) {
  if (key.empty()) return Error::InvalidArgument("ticket store: empty key");
  if (key.size() > TicketStore::kMaxKeyBytes) return Error::TooLarge("ticket store: key too long");
  return Status::Ok();
}

inline Status Value(std::string_view value) {
  if (value.size() > TicketStore::kMaxValueBytes) {
    return Error::TooLarge("ticket store: value too large");
  }
  return Status::Ok();
}

inline Status Ttl(std::chrono::milliseconds ttl) {
  if (ttl.count() <= 0) return Error::InvalidArgument("ticket store: ttl must be positive");
  return Status::Ok();
}

inline Error NotFound() { return Error::NotFound("ticket store: no such key"); }

}  // namespace tongban::ticket_store_checks
