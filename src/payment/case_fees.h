// The seam to the approval subsystem (办件收费): when a matter has fees, the
// case raises a payment notice for its applicant, with the items the caller
// (approval, connected by src/app) takes from the matter; the applicant pays it
// in the hall like any notice, and the case reads its notices back by case
// number. Payment knows nothing of approval's types: the caller maps its
// Applicant to a Payer. docs/design/payment.md §Cases that cost money.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "core/result.h"
#include "payment/notices.h"

namespace tongban::payment {

struct CaseFee {
  std::string case_number;        // 办件编号; becomes YWCODE and FJ1
  std::string matter_name;        // printed as FJ2
  std::string entercode;          // the collecting unit of the matter's org (must be active)
  int sequence = 1;               // 1..99: a case may raise several notices, one per sequence
  Payer payer;                    // the applicant (name, ID or USCC, mobile)
  std::vector<NoticeLine> lines;  // chitcode + count or amount; names come from the catalogue
  int64_t expires_at_ms = 0;      // 0 = no expiry
  bool count_overdue = false;
  // The server's key of notice numbers (the same on every node): required.
  std::string number_key;
};

// ORIGINALNOTICENO of a case's notice: "AP" + 20 hex digits of HMAC-SHA256
// (number_key, case number) + the two-digit sequence, so raising again is
// AlreadyExists, never a second notice — and nobody without the key derives a
// case's notice number from its (predictable) case number and opens the
// notice publicly (review16d: a plain hash let anyone do so).
std::string CaseOriginalNoticeNo(std::string_view number_key, std::string_view case_number,
                                 int sequence);

// Creates the notice (source kApproval, real-name when the payer has an ID).
// InvalidArgument for a bad case number or sequence; CompleteNotice's errors.
Result<PaymentNotice> RaiseCaseNotice(NoticeStore& notices, const CaseFee& fee);

// The case's notices, newest first (YWCODE = case number, source approval).
Result<std::vector<PaymentNotice>> CaseNotices(NoticeStore& notices, std::string_view case_number);

}  // namespace tongban::payment
