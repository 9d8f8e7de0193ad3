#include "payment/model.h"

#include <cstdio>
#include <ctime>

namespace tongban::payment {
namespace {

constexpr int64_t kChinaOffsetMs = 8LL * 3600 * 1000;

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t y;
  unsigned m, d;
};
Civil CivilFromDays(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

bool IsValidScheme(int scheme) { return scheme >= 1 && scheme <= 7; }

std::string_view SchemeName(Scheme scheme) {
  switch (scheme) {
    case Scheme::kBatchImport: return "批量导入";
    case Scheme::kManualEntry: return "手工录入";
    case Scheme::kDirectConnect: return "系统直连";
    case Scheme::kLocalNonTax: return "通过本地非税征管系统";
    case Scheme::kNonTaxDirect: return "直接使用非税征管系统";
    case Scheme::kBankCounter: return "代理银行柜面录入";
    case Scheme::kPayerEntry: return "缴款人自助录入";
  }
  return "";
}

std::string_view UnitStateName(UnitState state) {
  switch (state) {
    case UnitState::kPending: return "pending";
    case UnitState::kActive: return "active";
    case UnitState::kSuspended: return "suspended";
  }
  return "";
}
std::optional<UnitState> ParseUnitState(std::string_view name) {
  for (auto s : {UnitState::kPending, UnitState::kActive, UnitState::kSuspended}) {
    if (UnitStateName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view ReviewStageName(ReviewStage stage) {
  switch (stage) {
    case ReviewStage::kFinance: return "finance";
    case ReviewStage::kEgov: return "egov";
    case ReviewStage::kProvince: return "province";
  }
  return "";
}
std::optional<ReviewStage> ParseReviewStage(std::string_view name) {
  for (auto s : {ReviewStage::kFinance, ReviewStage::kEgov, ReviewStage::kProvince}) {
    if (ReviewStageName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view ApplicationStateName(ApplicationState state) {
  switch (state) {
    case ApplicationState::kDraft: return "draft";
    case ApplicationState::kAwaitingFinance: return "finance";
    case ApplicationState::kAwaitingEgov: return "egov";
    case ApplicationState::kAwaitingProvince: return "province";
    case ApplicationState::kApproved: return "approved";
    case ApplicationState::kRefused: return "refused";
  }
  return "";
}
std::optional<ApplicationState> ParseApplicationState(std::string_view name) {
  for (auto s : {ApplicationState::kDraft, ApplicationState::kAwaitingFinance,
                 ApplicationState::kAwaitingEgov, ApplicationState::kAwaitingProvince,
                 ApplicationState::kApproved, ApplicationState::kRefused}) {
    if (ApplicationStateName(s) == name) return s;
  }
  return std::nullopt;
}

std::string_view NoticeStateName(NoticeState state) {
  switch (state) {
    case NoticeState::kUnpaid: return "unpaid";
    case NoticeState::kPaid: return "paid";
    case NoticeState::kCancelled: return "cancelled";
    case NoticeState::kExpired: return "expired";
    case NoticeState::kPartlyRefunded: return "partly_refunded";
    case NoticeState::kRefunded: return "refunded";
  }
  return "";
}
std::string_view NoticeStateChinese(NoticeState state) {
  switch (state) {
    case NoticeState::kUnpaid: return "未缴";
    case NoticeState::kPaid: return "已缴";
    case NoticeState::kCancelled: return "作废";
    case NoticeState::kExpired: return "已过期";
    case NoticeState::kPartlyRefunded: return "部分退款";
    case NoticeState::kRefunded: return "已退款";
  }
  return "";
}
std::optional<NoticeState> ParseNoticeState(std::string_view name) {
  for (int i = 0; i <= 5; ++i) {
    auto s = static_cast<NoticeState>(i);
    if (NoticeStateName(s) == name || NoticeStateChinese(s) == name ||
        (name.size() == 1 && name[0] == '0' + i)) {
      return s;
    }
  }
  return std::nullopt;
}

std::string_view NoticeSourceName(NoticeSource source) {
  switch (source) {
    case NoticeSource::kDirect: return "direct";
    case NoticeSource::kImport: return "import";
    case NoticeSource::kConsole: return "console";
    case NoticeSource::kPayer: return "payer";
    case NoticeSource::kApproval: return "approval";
  }
  return "";
}

std::string_view PaymentDispositionName(PaymentDisposition disposition) {
  switch (disposition) {
    case PaymentDisposition::kCredited: return "credited";
    case PaymentDisposition::kRefundDue: return "refund_due";
    case PaymentDisposition::kRefunded: return "refunded";
  }
  return "";
}
std::optional<PaymentDisposition> ParsePaymentDisposition(std::string_view name) {
  for (auto d : {PaymentDisposition::kCredited, PaymentDisposition::kRefundDue,
                 PaymentDisposition::kRefunded}) {
    if (PaymentDispositionName(d) == name) return d;
  }
  return std::nullopt;
}

std::string FormatYuan(int64_t fen) {
  const bool negative = fen < 0;
  // Through unsigned so INT64_MIN does not overflow.
  uint64_t magnitude = negative ? 0 - static_cast<uint64_t>(fen) : static_cast<uint64_t>(fen);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s%llu.%02llu", negative ? "-" : "",
                static_cast<unsigned long long>(magnitude / 100),
                static_cast<unsigned long long>(magnitude % 100));
  return buf;
}

namespace {
// Digits [. up to `decimals` digits] scaled by 10^decimals; the integer part at
// most 13 digits so the result fits comfortably in int64.
std::optional<int64_t> ParseScaled(std::string_view text, int decimals) {
  auto dot = text.find('.');
  std::string_view whole = text.substr(0, dot);
  std::string_view frac = dot == std::string_view::npos ? std::string_view() : text.substr(dot + 1);
  if (!AllDigits(whole) || whole.size() > 13) return std::nullopt;
  if (dot != std::string_view::npos && (frac.empty() || !AllDigits(frac))) return std::nullopt;
  if (static_cast<int>(frac.size()) > decimals) return std::nullopt;
  int64_t v = 0;
  for (char c : whole) v = v * 10 + (c - '0');
  for (int i = 0; i < decimals; ++i) {
    v = v * 10 + (i < static_cast<int>(frac.size()) ? frac[i] - '0' : 0);
  }
  return v;
}
}  // namespace

std::optional<int64_t> ParseYuan(std::string_view text, bool allow_negative) {
  bool negative = false;
  if (!text.empty() && text[0] == '-') {
    if (!allow_negative) return std::nullopt;
    negative = true;
    text.remove_prefix(1);
  }
  auto v = ParseScaled(text, 2);
  if (!v) return std::nullopt;
  return negative ? -*v : *v;
}

std::optional<int64_t> ParseCount(std::string_view text) {
  auto v = ParseScaled(text, 3);
  if (!v || *v <= 0) return std::nullopt;
  return v;
}

std::string FormatCount(int64_t count_milli) {
  std::string s = std::to_string(count_milli / 1000);
  int64_t frac = count_milli % 1000;
  if (frac != 0) {
    char buf[8];
    std::snprintf(buf, sizeof buf, ".%03lld", static_cast<long long>(frac));
    std::string f = buf;
    while (f.back() == '0') f.pop_back();
    s += f;
  }
  return s;
}

std::string ChinaDate(int64_t ms) {
  int64_t days = FloorDiv(ms + kChinaOffsetMs, 86400000);
  Civil c = CivilFromDays(days);
  char buf[48];
  std::snprintf(buf, sizeof buf, "%04lld%02u%02u", static_cast<long long>(c.y), c.m, c.d);
  return buf;
}

std::string ChinaTime(int64_t ms) {
  int64_t in_day = (ms + kChinaOffsetMs) - FloorDiv(ms + kChinaOffsetMs, 86400000) * 86400000;
  int64_t s = in_day / 1000;
  char buf[48];
  std::snprintf(buf, sizeof buf, "%02lld%02lld%02lld", static_cast<long long>(s / 3600),
                static_cast<long long>(s / 60 % 60), static_cast<long long>(s % 60));
  return buf;
}

std::optional<int64_t> ParseChinaDateTime(std::string_view date, std::string_view time) {
  if (date.size() != 8 || !AllDigits(date)) return std::nullopt;
  if (time.empty()) time = "235959";
  if (time.size() != 6 || !AllDigits(time)) return std::nullopt;
  auto num = [](std::string_view s) {
    int v = 0;
    for (char c : s) v = v * 10 + (c - '0');
    return v;
  };
  int y = num(date.substr(0, 4)), m = num(date.substr(4, 2)), d = num(date.substr(6, 2));
  int hh = num(time.substr(0, 2)), mi = num(time.substr(2, 2)), ss = num(time.substr(4, 2));
  if (y < 1900 || m < 1 || m > 12 || d < 1 || hh > 23 || mi > 59 || ss > 59) return std::nullopt;
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max_day = kDays[m - 1] + (m == 2 && leap ? 1 : 0);
  if (d > max_day) return std::nullopt;
  int64_t days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return days * 86400000 + (hh * 3600 + mi * 60 + ss) * 1000LL - kChinaOffsetMs;
}

}  // namespace tongban::payment
