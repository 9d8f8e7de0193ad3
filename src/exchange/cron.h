// Cron schedules for exchange tasks: the classic five fields (minute hour day-of-month month
// day-of-week) with `*`, numbers, ranges `a-b`, steps `*/n`, `a/n` and `a-b/n`, lists `a,b`,
// month and weekday names (JAN…DEC, SUN…SAT; 0 and 7 are Sunday). As in Vixie cron, when
// both day fields are restricted a day matches either. Times are China Standard Time
// (UTC+8, no daylight saving), the platform's civil time, whatever the server's zone.
#pragma once

#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.h"

namespace tongban::exchange {

class CronSchedule {
 public:
  // InvalidArgument naming the field and what is wrong.
  static Result<CronSchedule> Parse(std::string_view text);

  // The first minute strictly after `after_ms` (Unix ms) that the schedule matches, in Unix
  // ms; -1 if none within eight years (e.g. "0 0 30 2 *").
  int64_t Next(int64_t after_ms) const;
  bool Matches(int64_t unix_ms) const;  // the minute containing unix_ms

  const std::string& text() const { return text_; }

 private:
  bool DayMatches(int64_t days_since_epoch) const;  // a CST civil day

  std::string text_;
  std::bitset<60> minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;      // 1..31
  std::bitset<13> months_;    // 1..12
  std::bitset<7> weekdays_;   // 0 = Sunday
  bool any_day_ = false;      // day-of-month was "*"
  bool any_weekday_ = false;  // day-of-week was "*"
};

}  // namespace tongban::exchange
