// Reconciliation's read of the day's orders, streamed row by row without a
// PaymentOrder (five std::strings) per order: SQLite by stepping the native
// statement, PostgreSQL by COPY TO STDOUT, other backends through SOCI.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>

#include "core/result.h"
#include "payment/notify.h"

namespace tongban::payment {

// One order as reconciliation needs it; the views are valid during the call only.
struct OrderView {
  std::string_view order_no;
  int64_t amount_fen = 0;
  std::string_view state;
  std::string_view channel_serial;
  int64_t paid_at_ms = 0;
  std::string_view disposition;
};

// Calls `sink` once for every order of the payments' channel placed in
// [created_from, created_to) or paid in [paid_from, paid_to) (state paid),
// each order once, in one statement (one snapshot of the table).
Status ForEachOrderOfDay(ChannelPayments& payments, int64_t created_from, int64_t created_to,
                         int64_t paid_from, int64_t paid_to,
                         const std::function<void(const OrderView&)>& sink);

}  // namespace tongban::payment
