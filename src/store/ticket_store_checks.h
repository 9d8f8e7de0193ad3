// Argument checks shared by the TicketStore implementations, so that memory
// and Redis reject exactly the same calls. Internal to src/store.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

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

// The '|'-separated fields of a record (TicketExchange), still escaped.
std::vector<std::string_view> Fields(std::string_view record);
// `tmpl` with every "{n}" replaced by fields[n] ("" when there is none).
std::string FillTemplate(std::string_view tmpl, const std::vector<std::string_view>& fields);
// The argument checks of TicketStore::Exchange.
Status Exchange(const TicketExchange& op);
// kIssued when `fields` meet op's requirements and expiry, else kRefused.
TicketExchangeResult::Outcome Judge(const TicketExchange& op,
                                    const std::vector<std::string_view>& fields);

inline Error NotFound() { return Error::NotFound("ticket store: no such key"); }

}  // namespace tongban::ticket_store_checks
