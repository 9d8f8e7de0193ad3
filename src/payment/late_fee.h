// Late fees (滞纳金) of payment notices, computed at payment time for notices
// with ISCOUNTOVERDUE. Pure integer arithmetic in fen; used by the notice store
// when it credits a payment and by the API to show what is due. No I/O.
//
// The rule (docs/design/payment.md §Late fees):
//  - A line accrues only when its rule is enabled and its rate is positive.
//  - Days late = the China dates from the later of (the day after the notice's
//    expiry date) and the rule's start date (STARTCALCDATE), through the payment
//    date, both inclusive; 0 when paid on or before the expiry date. Calendar
//    days: 29 February counts in a leap year. A notice with no expiry is never late.
//  - fee = amount × daily_rate_ppm × days / 1,000,000, computed exactly (128-bit)
//    and rounded half up to the fen once per line — never per day, so no
//    rounding error accumulates.
//  - Capped at cap_fen, or at the line's amount when cap_fen is 0 (行政强制法
//    第四十五条: 加处罚款或者滞纳金的数额不得超出金钱给付义务的数额).
//  - The notice's late fee is the sum of its lines' fees.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "payment/model.h"

namespace tongban::payment {

// Days from `from` to `to` (YYYYMMDD), to − from; nullopt if either is not a date.
std::optional<int64_t> DaysBetween(std::string_view from, std::string_view to);

// Days late when paid on pay_date (YYYYMMDD) for a notice due on expiry_date;
// start_date "" = no start date.
int64_t LateDays(std::string_view expiry_date, std::string_view start_date,
                 std::string_view pay_date);

// One line's fee.
int64_t LineLateFeeFen(const NoticeLine& line, std::string_view expiry_date,
                       std::string_view pay_date);

// The notice's late fee if paid at `pay_at_ms`: 0 unless count_overdue and it
// has an expiry.
int64_t NoticeLateFeeFen(const PaymentNotice& notice, int64_t pay_at_ms);

// total_fen + NoticeLateFeeFen: what a payment at `pay_at_ms` must bring.
int64_t AmountDueFen(const PaymentNotice& notice, int64_t pay_at_ms);

}  // namespace tongban::payment
