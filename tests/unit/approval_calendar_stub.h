// TEMPORARY test support until the calendar helper's calendar.cc is merged: a
// minimal implementation of the calendar.h functions supervision and
// statistics use, following shared/spec/approval.md "Conventions for time".
// Delete together with its includes when calendar.cc lands.
#pragma once

#include <map>
#include <string>

#include "approval/calendar.h"

namespace tongban::approval {

namespace stub {
inline constexpr int64_t kDayMs = 86'400'000;
inline constexpr int64_t kCstMs = 8 * 3'600'000;
inline std::map<std::string, WorkCalendar>& Calendars() {
  static std::map<std::string, WorkCalendar> calendars;
  return calendars;
}
}  // namespace stub

Day DayOf(int64_t at_ms) {
  int64_t shifted = at_ms + stub::kCstMs;
  int64_t days = shifted >= 0 ? shifted / stub::kDayMs : (shifted - stub::kDayMs + 1) / stub::kDayMs;
  return Day(std::chrono::days(days));
}
int64_t StartOfDay(Day day) {
  return static_cast<int64_t>(day.time_since_epoch().count()) * stub::kDayMs - stub::kCstMs;
}
int64_t EndOfDay(Day day) { return StartOfDay(day + std::chrono::days(1)) - 1; }
std::string FormatDay(Day day) {
  std::chrono::year_month_day ymd{day};
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

void WorkCalendar::SetHoliday(Day day) { workdays_.erase(day), holidays_.insert(day); }
void WorkCalendar::SetWorkday(Day day) { holidays_.erase(day), workdays_.insert(day); }
bool WorkCalendar::IsWorkingDay(Day day) const {
  if (holidays_.count(day)) return false;
  if (workdays_.count(day)) return true;
  std::chrono::weekday wd{day};
  return wd != std::chrono::Saturday && wd != std::chrono::Sunday;
}
Day WorkCalendar::NthWorkingDayAfter(Day day, int n) const {
  while (n > 0) {
    day += std::chrono::days(1);
    if (IsWorkingDay(day)) --n;
  }
  return day;
}
int WorkCalendar::WorkingDaysBetween(Day from, Day to) const {
  int n = 0;
  for (Day d = from; d < to; d += std::chrono::days(1)) n += IsWorkingDay(d) ? 1 : 0;
  return n;
}
int64_t WorkCalendar::Deadline(int64_t start_ms, TimeLimit limit, int stopped) const {
  if (limit.amount == 0) return 0;
  if (limit.unit != TimeUnit::kWorkingDays) std::abort();  // not needed by these tests
  return EndOfDay(NthWorkingDayAfter(DayOf(start_ms), limit.amount + stopped));
}

std::vector<Migration> CalendarStore::Migrations() { return {}; }
CalendarStore::CalendarStore(SqlStore& store) : store_(store) {}
Result<WorkCalendar> CalendarStore::Load(std::string_view division) {
  auto it = stub::Calendars().find(std::string(division));
  return it == stub::Calendars().end() ? WorkCalendar() : it->second;
}

}  // namespace tongban::approval

namespace approval_test {
inline void AddHoliday(tongban::approval::CalendarStore&, const std::string& division,
                       tongban::approval::Day day) {
  tongban::approval::stub::Calendars()[division].SetHoliday(day);
}
}  // namespace approval_test
