// The daily statement file of the sandbox channel (and the shape a real
// channel's statement is converted to): CSV lines
//   order_no,channel_serial,amount_fen,paid_at,status
// after that header line, paid_at as YYYYMMDDhhmmss in China time (UTC+8),
// status "paid" or "refunded". Written by paysim, read by reconciliation.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "payment/channel.h"

namespace tongban::payment {

inline constexpr std::string_view kStatementHeader =
    "order_no,channel_serial,amount_fen,paid_at,status";

// One line, as views into the line it was parsed from.
struct StatementLine {
  std::string_view order_no;
  std::string_view channel_serial;
  int64_t amount_fen = 0;
  int64_t paid_at_ms = 0;
  ChannelPaymentStatus status = ChannelPaymentStatus::kPaid;
};

// Parses one line (without its '\n'; a trailing '\r' is ignored). Returns
// nullptr on success, else a static reason ("5 fields expected", "bad
// amount", ...). Allocates nothing: the hot loop of a statement import.
const char* ParseStatementLine(std::string_view line, StatementLine& out);

// Appends the line for `p` (with '\n') to `out`.
void AppendStatementLine(const ChannelPayment& p, std::string& out);

// China time (UTC+8, no daylight saving): ms since the epoch <-> YYYYMMDDhhmmss.
std::string FormatChinaTime(int64_t ms);
// -1 when `text` is not 14 digits of a valid date and time.
int64_t ParseChinaTime(std::string_view text);
// China time is UTC+8 all year.
inline constexpr int64_t kChinaOffsetMs = 8 * 3'600'000;
// The ms of the China-time day's 00:00:00 (model.h's ChinaDate gives a day of an instant).
int64_t ChinaDayStart(std::string_view yyyymmdd);  // -1 when not a valid date

}  // namespace tongban::payment
