// Reconciliation's read of the day's orders, streamed row by row without a
// PaymentOrder (five std::strings) per order: SQLite by stepping the native
// statement, PostgreSQL by COPY TO STDOUT, other backends through SOCI.
#pragma once

#include <cstdint>
#include <functional>
#include <string_view>
#include <vector>

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

// Calls `sink(part, order)` once for every order of the payments' channel
// placed in [created_from, created_to) or paid in [paid_from, paid_to) (state
// paid), each order once. On SQLite and PostgreSQL the orders are read in
// `parts()` parts (slices of the placement window, then those paid that day
// but placed outside it), each by one statement on its own pooled session,
// with up to `threads` parts read at once: `sink` is called from several
// threads, but for one part always from one thread, in that part's order.
// Other backends read everything as part 0 on the calling thread.
class DayOrders {
 public:
  DayOrders(ChannelPayments& payments, int64_t created_from, int64_t created_to,
            int64_t paid_from, int64_t paid_to);
  size_t parts() const { return parts_; }
  Status ForEach(size_t threads, const std::function<void(size_t, const OrderView&)>& sink);

 private:
  Status ReadPart(size_t part, const std::function<void(size_t, const OrderView&)>& sink);

  ChannelPayments& payments_;
  int64_t created_from_, created_to_, paid_from_, paid_to_;
  bool native_;
  size_t parts_;
};

// The orders of `order_nos` (of the payments' channel) that DayOrders would
// read for the same window, looked up one by one by key: sink(index into
// order_nos, order) for each one found. Reconciliation's re-check of the
// statement lines the day's ledger did not hold.
Status OrdersByNumber(ChannelPayments& payments, const std::vector<std::string_view>& order_nos,
                      int64_t created_from, int64_t created_to, int64_t paid_from,
                      int64_t paid_to, const std::function<void(size_t, const OrderView&)>& sink);

}  // namespace tongban::payment
