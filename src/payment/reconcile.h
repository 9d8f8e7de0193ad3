// Reconciliation (对账): a channel's daily statement imported (streamed,
// parsed in place) and matched against tongban's orders on order number +
// channel serial + amount + time window. Each run stores its counts and every
// line that did not match (matched / missing_local / missing_channel /
// amount_mismatch / status_mismatch, with bad lines counted); an audited 补单
// marks an order paid once the channel confirms it by query; refunds go to the
// notice store's ledger with who did them; a per-unit daily settlement report
// (.xlsx) is built for the finance bureau.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "payment/notify.h"
#include "store/sql_store.h"

namespace tongban::payment {

enum class ReconcileOutcome {
  kMatched,         // the same order, serial and amount, paid inside the window
  kMissingLocal,    // on the statement, unknown to tongban
  kMissingChannel,  // paid in tongban that day, not on the statement
  kAmountMismatch,  // the statement's amount is not the order's
  kStatusMismatch,  // serial, state or paid time disagree (e.g. paid there, pending here)
};
inline constexpr size_t kReconcileOutcomes = 5;
std::string_view ReconcileOutcomeName(ReconcileOutcome outcome);

struct ReconcileRun {
  int64_t id = 0;
  std::string channel;
  std::string date;  // YYYYMMDD, China time
  int64_t started_at_ms = 0;
  int64_t finished_at_ms = 0;
  int64_t lines = 0;      // statement lines read (header excluded)
  int64_t bad_lines = 0;  // unreadable lines, counted and listed (first 1000)
  std::array<int64_t, kReconcileOutcomes> counts{};  // by ReconcileOutcome
  std::string bad_sample;  // why the first bad lines were bad ("line 7: ...\n")
  // How tongban's side was read, for this call only (not stored): "ledger",
  // or "orders: <why the day's ledger was not used>".
  std::string source;
  int64_t count(ReconcileOutcome o) const { return counts[static_cast<size_t>(o)]; }
};

struct ReconcileItem {
  int64_t id = 0;
  int64_t run_id = 0;
  ReconcileOutcome outcome = ReconcileOutcome::kMatched;
  std::string order_no;
  std::string channel_serial;
  int64_t local_amount_fen = 0;    // 0 when missing_local
  int64_t channel_amount_fen = 0;  // 0 when missing_channel
  std::string note;
  std::string resolved_by;  // who did the 补单 / refund, "" = open
  int64_t resolved_at_ms = 0;
  std::string resolution;
};

struct ReconcilerOptions {
  // A statement's paid_at may differ from ours by this much and still match.
  std::chrono::milliseconds time_window{std::chrono::minutes(10)};
  // Orders placed this long before the day are still looked up.
  std::chrono::milliseconds order_lookback{std::chrono::hours(72)};
  // The day's orders are read in parts (SQLite, PostgreSQL) on this many
  // threads at once, each with its own pooled session while it reads a part.
  size_t read_threads = 2;
};

class Reconciler {
 public:
  static std::vector<Migration> Migrations();  // module "payment_reconcile"

  Reconciler(ChannelPayments& payments, ReconcilerOptions options = {});

  // Imports the statement file of `date` and matches it; stores and returns the run.
  Result<ReconcileRun> ReconcileFile(std::string_view date, const std::string& path);
  // Downloads the channel's statement of `date` into `work_dir` first.
  Result<ReconcileRun> Reconcile(std::string_view date, const std::string& work_dir);

  Result<ReconcileRun> GetRun(int64_t id);
  Result<std::vector<ReconcileRun>> ListRuns(int limit);
  Result<std::vector<ReconcileItem>> Items(int64_t run_id,
                                           std::optional<ReconcileOutcome> outcome = {});

  // 补单: asks the channel about the item's order; when it confirms the
  // payment, applies it (credited, or recorded for refund) and closes the
  // item with `actor`. Conflict when the channel does not say paid.
  Result<ApplyResult> Reissue(int64_t item_id, std::string_view actor);

  // Refunds a payment recorded for refund (or part of a credited one) in the
  // notice store's ledger, with who did it and why.
  Result<PaymentNotice> Refund(std::string_view pay_no, int64_t amount_fen,
                               std::string_view reason, std::string_view actor);

  // The per-unit settlement of `date` (orders paid that day): a summary sheet
  // (unit, payments, amount, refunds due) and a detail sheet, as .xlsx bytes.
  Result<std::string> SettlementReport(std::string_view date);

 private:
  ChannelPayments& payments_;
  ReconcilerOptions options_;
};

}  // namespace tongban::payment
