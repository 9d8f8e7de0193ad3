#include "payment/late_fee.h"

#include <algorithm>

namespace tongban::payment {

std::optional<int64_t> DaysBetween(std::string_view from, std::string_view to) {
  // Noon China time on both days: whole days apart, whatever the dates.
  auto a = ParseChinaDateTime(from, "120000");
  auto b = ParseChinaDateTime(to, "120000");
  if (!a || !b) return std::nullopt;
  return (*b - *a) / 86400000;
}

int64_t LateDays(std::string_view expiry_date, std::string_view start_date,
                 std::string_view pay_date) {
  auto after_expiry = DaysBetween(expiry_date, pay_date);  // 1 = the day after expiry
  if (!after_expiry || *after_expiry <= 0) return 0;
  int64_t days = *after_expiry;
  if (!start_date.empty()) {
    auto from_start = DaysBetween(start_date, pay_date);  // 0 = paid on the start date
    if (!from_start) return 0;
    days = std::min(days, *from_start + 1);
  }
  return std::max<int64_t>(days, 0);
}

int64_t LineLateFeeFen(const NoticeLine& line, std::string_view expiry_date,
                       std::string_view pay_date) {
  const LateFeeRule& rule = line.late_fee;
  if (!rule.enabled || rule.daily_rate_ppm <= 0 || line.amount_fen <= 0) return 0;
  int64_t days = LateDays(expiry_date, rule.start_date, pay_date);
  if (days == 0) return 0;
  __int128 numerator = static_cast<__int128>(line.amount_fen) * rule.daily_rate_ppm * days;
  __int128 fee = (numerator + 500000) / 1000000;  // half up (all terms positive)
  const int64_t cap = rule.cap_fen > 0 ? rule.cap_fen : line.amount_fen;
  return fee > cap ? cap : static_cast<int64_t>(fee);
}

int64_t NoticeLateFeeFen(const PaymentNotice& notice, int64_t pay_at_ms) {
  if (!notice.count_overdue || notice.expires_at_ms == 0) return 0;
  const std::string expiry = ChinaDate(notice.expires_at_ms);
  const std::string paid = ChinaDate(pay_at_ms);
  int64_t sum = 0;
  for (const NoticeLine& line : notice.lines) sum += LineLateFeeFen(line, expiry, paid);
  return sum;
}

int64_t AmountDueFen(const PaymentNotice& notice, int64_t pay_at_ms) {
  return notice.total_fen + NoticeLateFeeFen(notice, pay_at_ms);
}

}  // namespace tongban::payment
