#include "payment/channel_statement.h"
#include "payment/model.h"

#include <charconv>

namespace tongban::payment {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

void CivilFromDays(int64_t z, int64_t& y, unsigned& m, unsigned& d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = doy - (153 * mp + 2) / 5 + 1;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<int64_t>(yoe) + era * 400 + (m <= 2);
}

bool Digits(std::string_view s, size_t at, size_t n, unsigned& out) {
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    char c = s[i];
    if (c < '0' || c > '9') return false;
    out = out * 10 + static_cast<unsigned>(c - '0');
  }
  return true;
}

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return m == 2 && leap ? 29 : kDays[m - 1];
}

void Append2(std::string& out, unsigned v) {
  out.push_back(static_cast<char>('0' + v / 10));
  out.push_back(static_cast<char>('0' + v % 10));
}

// A field safe in the statement: no separators, no spaces.
bool PlainField(std::string_view f) {
  if (f.empty() || f.size() > 64) return false;
  for (char c : f) {
    if (c == ',' || c == '"' || static_cast<unsigned char>(c) <= ' ') return false;
  }
  return true;
}

}  // namespace

int64_t ChinaDayStart(std::string_view t) {
  unsigned y = 0, m = 0, d = 0;
  if (t.size() != 8 || !Digits(t, 0, 4, y) || !Digits(t, 4, 2, m) || !Digits(t, 6, 2, d)) return -1;
  if (y < 1970 || m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) return -1;
  return DaysFromCivil(y, m, d) * 86'400'000 - kChinaOffsetMs;
}

int64_t ParseChinaTime(std::string_view t) {
  unsigned hh = 0, mi = 0, ss = 0;
  if (t.size() != 14) return -1;
  int64_t day = ChinaDayStart(t.substr(0, 8));
  if (day < 0 && t.substr(0, 8) != "19700101") return -1;
  if (!Digits(t, 8, 2, hh) || !Digits(t, 10, 2, mi) || !Digits(t, 12, 2, ss)) return -1;
  if (hh > 23 || mi > 59 || ss > 59) return -1;
  return day + ((hh * 60 + mi) * 60 + ss) * int64_t{1000};
}

std::string FormatChinaTime(int64_t ms) {
  int64_t local = ms + kChinaOffsetMs;
  int64_t days = local >= 0 ? local / 86'400'000 : (local - 86'399'999) / 86'400'000;
  int64_t rest = (local - days * 86'400'000) / 1000;
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, y, m, d);
  std::string out = std::to_string(y);
  Append2(out, m);
  Append2(out, d);
  Append2(out, static_cast<unsigned>(rest / 3600));
  Append2(out, static_cast<unsigned>(rest / 60 % 60));
  Append2(out, static_cast<unsigned>(rest % 60));
  return out;
}

const char* ParseStatementLine(std::string_view line, StatementLine& out) {
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  std::string_view f[5];
  size_t n = 0;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    if (n == 5) return "5 fields expected";
    f[n++] = line.substr(start, comma == std::string_view::npos ? comma : comma - start);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (n != 5) return "5 fields expected";
  if (!PlainField(f[0])) return "bad order_no";
  if (!PlainField(f[1])) return "bad channel_serial";
  int64_t amount = 0;
  auto [end, ec] = std::from_chars(f[2].data(), f[2].data() + f[2].size(), amount);
  if (ec != std::errc() || end != f[2].data() + f[2].size() || amount <= 0 || f[2][0] == '+') {
    return "bad amount_fen";
  }
  int64_t paid_at = ParseChinaTime(f[3]);
  if (paid_at < 0) return "bad paid_at";
  if (f[4] == "paid") {
    out.status = ChannelPaymentStatus::kPaid;
  } else if (f[4] == "refunded") {
    out.status = ChannelPaymentStatus::kRefunded;
  } else {
    return "bad status";
  }
  out.order_no = f[0];
  out.channel_serial = f[1];
  out.amount_fen = amount;
  out.paid_at_ms = paid_at;
  return nullptr;
}

void AppendStatementLine(const ChannelPayment& p, std::string& out) {
  out.append(p.order_no).push_back(',');
  out.append(p.channel_serial).push_back(',');
  out.append(std::to_string(p.amount_fen)).push_back(',');
  out.append(FormatChinaTime(p.paid_at_ms)).push_back(',');
  out.append(ChannelPaymentStatusName(p.status)).push_back('\n');
}

}  // namespace tongban::payment
