// The per-day payment ledger (payment_ledger_pages): every order marked paid
// also appends a packed record (order, amount, serial, paid time, disposition)
// to a page of its channel and China day, in the same transaction (the same
// savepoint of a lane's batch) as the order's update, so it can never be out of
// step with payment_orders after a crash. Reconciliation reads a day's few
// pages instead of the day's orders; the small pages (one per payment) are
// folded into large ones by CompactLedgerDay (the query sweeper, and
// reconciliation itself before it reads). See docs/design/payment.md.
#pragma once

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <string_view>

#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::payment {

// One order paid on the day, as reconciliation compares it. The views point
// into the page they were read from.
struct LedgerRecord {
  std::string_view order_no;
  std::string_view channel_serial;
  int64_t amount_fen = 0;
  int64_t paid_at_ms = 0;
  std::string_view disposition;  // the order's: credited / refund_due / refunded
  // A later change of an order recorded earlier (a whole refund): it
  // supersedes that record; not a payment of its own.
  bool amends = false;
};

// Packed: u8 order length, u8 serial length, u8 disposition length, u8 amends,
// i64 amount, i64 paid_at (host order: pages never leave the database they
// are read back from... and every supported host is little-endian), then the
// three texts. Fields longer than 255 bytes are not recorded (false).
bool AppendLedgerRecord(std::string& page, const LedgerRecord& r);

// Calls f(record) for every record of `page`; false when the page is
// malformed (a truncated or foreign body): the caller must not trust the day.
template <typename F>
bool ForEachLedgerRecord(std::string_view page, F&& f) {
  const char* p = page.data();
  const char* end = p + page.size();
  LedgerRecord r;
  while (p != end) {
    if (end - p < 20) return false;
    const size_t ol = static_cast<unsigned char>(p[0]), sl = static_cast<unsigned char>(p[1]),
                 dl = static_cast<unsigned char>(p[2]);
    std::memcpy(&r.amount_fen, p + 4, 8);
    std::memcpy(&r.paid_at_ms, p + 12, 8);
    r.amends = p[3] != 0;
    p += 20;
    if (static_cast<size_t>(end - p) < ol + sl + dl) return false;
    r.order_no = {p, ol};
    r.channel_serial = {p + ol, sl};
    r.disposition = {p + ol + sl, dl};
    p += ol + sl + dl;
    f(r);
  }
  return true;
}

// The migration (module "payment_ledger"), part of ChannelPayments::Migrations.
Migration LedgerMigration();

// Appends one page of `records` records (packed `body`) for (channel, day)
// inside the caller's transaction.
Status AppendLedgerPageIn(SqlStore& store, soci::session& tx, std::string_view channel,
                          std::string_view day, int64_t records, std::string_view body);

// The hook of an order marked paid: one page of one record for (channel, the
// China day of its paid time), in the caller's transaction (on SQLite a
// statement kept per pooled session).
Status RecordPaidIn(SqlStore& store, soci::session& tx, std::string_view channel,
                    const LedgerRecord& r);

// The hook of an order wholly refunded: its record amended (same day as its
// payment), in the caller's transaction.
Status RecordAmendedIn(SqlStore& store, soci::session& tx, std::string_view channel,
                       const LedgerRecord& r);

// Calls sink(records, body) for every page of (channel, day) in page order
// (bodies valid during the call). On SQLite the bodies are read natively.
Status ReadLedgerDay(SqlStore& store, std::string_view channel, std::string_view day,
                     const std::function<Status(int64_t, std::string_view)>& sink);

// Folds the pages of (channel, day) holding fewer than `small` records into
// pages of up to `page_bytes` bytes (one transaction; repeated orders keep
// their last record; when an amendment is among them, every page of the day
// is folded, so that the day holds one record per order again). Returns the pages folded (0:
// nothing to do).
Result<int64_t> CompactLedgerDay(SqlStore& store, std::string_view channel, std::string_view day,
                                 int64_t small = 4096, size_t page_bytes = 1 << 20);

}  // namespace tongban::payment
