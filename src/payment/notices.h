// Payment notices (缴款单) and the payments credited to them: module
// "payment_notices". Every state change is one transaction: create (alone or a
// whole import batch, all or nothing), cancel, expire, credit a payment, refund.
// A notice is never paid twice: RecordPayment credits only an unpaid notice that
// was not cancelled and not expired when the payer paid, with the exact amount
// due (total + late fee); any other payment is recorded with disposition
// kRefundDue and never credited. Used by the API, the import, the channels and
// reconciliation (pchan), and the approval seam.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.h"
#include "core/result.h"
#include "payment/model.h"
#include "store/sql_store.h"

namespace tongban::payment {

// Completes and checks a notice a caller drafted, without I/O, against its unit
// and the item catalogue (`item` returns nullptr for an unknown code):
//  - the unit must be active; CHANNELNO defaults to the unit's and must equal it;
//    REGICODE defaults to the unit's; ENTERNAME is the unit's name;
//  - ORIGINALNOTICENO [0-9A-Za-z-]{1,30}; NOTICENO = CHANNELNO + ORIGINALNOTICENO;
//  - payer: a name; an ID checked by kind (GB 11643 / GB 32100), required when
//    true_name; mobile and email checked when present;
//  - lines: 1..50, each an enabled item the unit collects for (when the unit
//    lists its items); names, unit, belonging item and late-fee rule come from
//    the item; with a fixed standard the amount is count × standard rounded half
//    up (a given amount must agree), otherwise the caller's amount (> 0);
//  - total = Σ amounts, > 0 (a given total must agree);
//  - expiry 0 (none) or after now; made_at = now; state unpaid.
// InvalidArgument naming the field, in Chinese.
Result<PaymentNotice> CompleteNotice(PaymentNotice draft, const CollectingUnit& unit,
                                     const std::function<const ChargeItem*(std::string_view)>& item,
                                     int64_t now_ms);

// One row of a batch, with the line it came from for error messages.
struct BatchRow {
  int line = 0;
  PaymentNotice draft;
};
struct RowError {
  int line = 0;
  std::string message;
};

struct ParsedUnitBodies;  // notices.cc: units' parsed bodies, reused while a row's text is unchanged

struct NoticeQuery {
  std::string entercode;     // "" = any unit
  std::string notice_no;     // exact
  std::string ywcode;        // exact
  std::string payer_id;      // exact PAYERSFZ
  std::string payer_mobile;  // exact
  std::string payer_email;   // exact (matched in the body: slow, needs another filter)
  std::string regicode;      // exact
  std::optional<NoticeState> state;
  int64_t made_from_ms = 0;  // inclusive; 0 = open
  int64_t made_to_ms = 0;    // exclusive; 0 = open
  int limit = 100;           // 1..1000
  int offset = 0;
};

// What RecordPayment did.
struct PaymentOutcome {
  Payment payment;        // as stored (disposition says whether it was credited)
  PaymentNotice notice;   // after the payment
  bool repeated = false;  // the same payment (PAYNO or channel + TRADENO) was recorded before
};

class NoticeStore {
 public:
  static std::vector<Migration> Migrations();  // module "payment_notices"
  NoticeStore(SqlStore& store, Clock& clock);

  // Called inside RecordPayment's transaction after the payment row is written
  // (credited or not), so that what it writes (an outbox message to the unit)
  // commits or rolls back with the payment. Set once, before use.
  using PaymentHook = std::function<Status(soci::session&, const PaymentNotice&, const Payment&)>;
  void SetPaymentHook(PaymentHook hook) { payment_hook_ = std::move(hook); }
  // Called inside a refund's transaction once the payment is wholly refunded
  // (a kRefundDue payment returned, or the notice's credited payment refunded
  // to the last fen): the channel's order and the day's ledger follow it.
  using RefundHook = std::function<Status(soci::session&, const Payment&)>;
  void SetRefundHook(RefundHook hook) { refund_hook_ = std::move(hook); }

  // Completes (CompleteNotice) and stores one notice. AlreadyExists when the
  // NOTICENO is taken. `also` runs in the same transaction once the notice is
  // stored: its failure takes the notice back (a payer entry closes with it).
  using AlsoWithNotice = std::function<Status(soci::session&, const PaymentNotice&)>;
  Result<PaymentNotice> Create(PaymentNotice draft, NoticeSource source,
                               const AlsoWithNotice& also = {});
  // All rows or none: every row is checked (and duplicate NOTICENOs within the
  // batch and against the store detected) before anything is written; any error
  // fills `errors` (every bad row, by line) and returns InvalidArgument.
  // check_only: check every row the same way but write nothing (an import's
  // preview, or rows whose file already had errors of its own).
  Result<std::vector<PaymentNotice>> CreateBatch(const std::vector<BatchRow>& rows,
                                                 NoticeSource source, std::vector<RowError>* errors,
                                                 bool check_only = false);

  Result<PaymentNotice> Get(std::string_view notice_no);
  Result<std::vector<PaymentNotice>> Search(const NoticeQuery& query);

  // 未缴 → 作废. `entercode`: when not "", the notice must be that unit's
  // (NotFound otherwise, as for an unknown number). Conflict unless unpaid.
  Result<PaymentNotice> Cancel(std::string_view notice_no, std::string_view reason,
                               std::string_view entercode);
  // Every unpaid notice an approval case raised (source approval, YWCODE the
  // case number) cancelled inside the caller's transaction `tx`: a case voided
  // after 受理 leaves nothing to pay. How many.
  Result<int> CancelCaseNoticesIn(soci::session& tx, std::string_view case_number,
                                  std::string_view reason);
  // 未缴 → 已过期 for notices whose expiry passed, except those counting late
  // fees (ISCOUNTOVERDUE: they stay payable with the fee). Returns how many.
  Result<int64_t> ExpireDue();

  // Records a payment the channel reported and credits it when it may (see the
  // header comment); the payment's PAYNO defaults to "<channel>-<TRADENO>".
  // Repeating a recorded payment changes nothing and returns it with repeated.
  // NotFound for an unknown notice (nothing is recorded: reconciliation's
  // missing_local). InvalidArgument for a payment without channel, TRADENO or a
  // positive amount.
  // `also`, when given, runs inside the same transaction once the outcome is
  // known (a repeat too), so what the caller records about it (a channel
  // order marked paid) commits or rolls back with the payment; its error
  // rolls everything back and is returned.
  using AlsoInTransaction = std::function<Status(soci::session&, const PaymentOutcome&)>;
  Result<PaymentOutcome> RecordPayment(Payment payment, const AlsoInTransaction& also = {});
  // The same inside the caller's transaction `tx` (a write lane's piece, or a
  // transaction that also logs a refusal): the caller commits. NotFound and
  // InvalidArgument come before anything is written.
  Result<PaymentOutcome> RecordPaymentIn(soci::session& tx, Payment payment,
                                         const AlsoInTransaction& also = {});

  // Refunds `amount_fen` of payment `pay_no`: of a credited payment, partly or
  // wholly (→ 部分退款 / 已退款, never more than was paid in total); of a
  // kRefundDue payment, exactly its amount (→ kRefunded; the notice unchanged).
  // `refund_no` (the caller's number for this refund, made once per intended
  // refund; "" = none) makes a repeat harmless: the same number with the same
  // payment and amount answers the notice and refunds nothing more; with
  // another payment or amount it is a Conflict.
  Result<PaymentNotice> RecordRefund(std::string_view pay_no, int64_t amount_fen,
                                     std::string_view reason, std::string_view operator_name,
                                     std::string_view refund_no = "");

  Result<std::vector<Payment>> PaymentsOf(std::string_view notice_no);
  Result<Payment> GetPayment(std::string_view pay_no);
  // Payments with disposition kRefundDue, oldest first.
  Result<std::vector<Payment>> RefundsDue(int limit);

 private:
  SqlStore& store_;
  Clock& clock_;
  PaymentHook payment_hook_;
  RefundHook refund_hook_;
  std::shared_ptr<ParsedUnitBodies> unit_bodies_;  // see notices.cc
};

}  // namespace tongban::payment
