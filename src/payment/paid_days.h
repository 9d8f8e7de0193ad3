// The orders paid per (channel, China day), kept by triggers on payment_orders
// (table payment_paid_days): every path that gives an order a paid time or
// takes it away — the notification lane, the query sweeper, 补单, a hand-made
// UPDATE — moves the count in the same transaction, so reconciliation's guard
// (the day's ledger holds exactly the day's payments) reads a few rows instead
// of counting a million index entries. See docs/design/payment.md.
#pragma once

#include <cstdint>
#include <string_view>

#include "core/result.h"
#include "payment/channel_statement.h"
#include "store/sql_store.h"

namespace tongban::payment {

// The migration (module "payment_paid_days"): the table, its triggers, and
// the counts of the orders already paid. Part of ChannelPayments::Migrations,
// after payment_orders.
Migration PaidDaysMigration();

// A channel's China day as the triggers count it.
struct PaidDay {
  // The orders whose paid time falls in the day: what `SELECT COUNT(*) FROM
  // payment_orders WHERE channel = ? AND paid_at >= start AND paid_at <
  // start + 1 day` answers.
  int64_t paid = 0;
  // Only ever grows: every order that entered or left the day added 1. Equal
  // before and after a read means no change of the day committed between.
  int64_t changes = 0;
};

// The day that starts at `day_start_ms` (as ChinaDayStart gives it), in
// O(shards).
Result<PaidDay> PaidOnDay(SqlStore& store, std::string_view channel, int64_t day_start_ms);

// The day number the triggers file a paid time under: whole China days since
// 1970-01-01 (the China day of 1970-01-01 is 0).
constexpr int64_t ChinaDayNumber(int64_t at_ms) {
  return (at_ms + kChinaOffsetMs) / 86'400'000;
}

}  // namespace tongban::payment
