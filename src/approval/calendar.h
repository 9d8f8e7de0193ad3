// Working calendar (工作日历) and deadline arithmetic for approval cases: per
// division, weekends plus holidays plus make-up working days (调休上班), in
// China Standard Time. Pure: WorkCalendar holds one division's exceptions and
// answers questions; CalendarStore (SQL) keeps every division's. The time
// conventions are those of shared/spec/approval.md "Conventions for time".
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <istream>
#include <ostream>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "approval/model.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::approval {

// A civil day in China Standard Time, as days since 1970-01-01.
using Day = std::chrono::sys_days;

// The CST day a millisecond timestamp falls on, and the first/last millisecond of a day.
Day DayOf(int64_t at_ms);
int64_t StartOfDay(Day day);                         // 00:00:00.000 CST
int64_t EndOfDay(Day day);                           // 23:59:59.999 CST
std::string FormatDay(Day day);                      // "2026-10-01"
// "2026-10-01" or "20261001"; also "2026/10/1" and "2026-10-1", as a spreadsheet
// re-saves dates. Years 1000-9999 only.
Result<Day> ParseDay(std::string_view text);

enum class DayKind { kHoliday, kWorkday };  // an exception to the weekend rule

class WorkCalendar {
 public:
  WorkCalendar() = default;  // weekends only
  void SetHoliday(Day day);  // a weekday off (法定节假日)
  void SetWorkday(Day day);  // a weekend day worked (调休上班)
  void Clear(Day day);       // back to the weekend rule

  bool IsWorkingDay(Day day) const;
  // The n-th working day after `day` (n >= 1; `day` itself never counts; n <= 0
  // gives `day`). No allocation: set lookups up to the last exception, then
  // whole weeks at a time.
  Day NthWorkingDayAfter(Day day, int n) const;
  // Working days in [from, to): 0 when to <= from.
  int WorkingDaysBetween(Day from, Day to) const;

  // The promised deadline of something started at `start_ms` with `limit`,
  // extended by `stopped_working_days`: the last millisecond of the n-th working
  // (or natural) day after the start day; hours from the start instant; months
  // as 30 days and years as 365 natural days. 0 when limit.amount <= 0.
  // Stopped working days move a day-based deadline by that many working days,
  // an hour-based one by that many days' worth of hours.
  int64_t Deadline(int64_t start_ms, TimeLimit limit, int stopped_working_days = 0) const;

  // green until the start of the last working day before the deadline's day,
  // then yellow; red from the millisecond after the deadline. kNone without one.
  Light LightAt(int64_t deadline_ms, int64_t now_ms) const;

  const std::set<Day>& holidays() const { return holidays_; }
  const std::set<Day>& workdays() const { return workdays_; }

 private:
  std::set<Day> holidays_;
  std::set<Day> workdays_;
};

struct CalendarEntry {
  std::string division;  // GB/T 2260 code; "" = the default calendar every division inherits
  Day day;
  DayKind kind = DayKind::kHoliday;
  std::string note;  // "国庆节", "国庆调休"
};

// Every division's calendar exceptions in SQL (module "approval_calendar").
// A division without entries of its own uses the default calendar ("").
class CalendarStore {
 public:
  static constexpr size_t kMaxNoteBytes = 512;
  static constexpr size_t kMaxImportRows = 100'000;

  static std::vector<Migration> Migrations();
  explicit CalendarStore(SqlStore& store);

  // The calendar a division uses: its own entries over the default's.
  Result<WorkCalendar> Load(std::string_view division);
  // The division's own entries (not the default's) on days in [from, to), by day.
  Result<std::vector<CalendarEntry>> List(std::string_view division, Day from, Day to);
  // Adds or replaces the entry of (division, day). InvalidArgument for a division
  // that is neither "" nor a GB/T 2260 code, a year outside 1000-9999, or a note
  // that is not UTF-8 or longer than kMaxNoteBytes.
  Status Put(const CalendarEntry& entry);
  // NotFound when the division has no entry on that day.
  Status Remove(std::string_view division, Day day);
  // CSV with a header "division,date,kind,note" (kind: holiday|workday, or 休|班);
  // all rows or none. Returns the divisions touched, so the caller can recompute
  // their running cases' deadlines.
  // The rows are upserts (entries of other days stay); a row naming a day twice
  // for one division is an error, as is anything malformed: the message names its line.
  // `may_edit`, when given, is asked of every division touched before anything
  // is written; an error refuses the whole import.
  Result<std::vector<std::string>> ImportCsv(
      std::istream& csv,
      const std::function<Status(std::string_view division)>& may_edit = nullptr);
  // The division's own entries, in the format ImportCsv reads.
  Status ExportCsv(std::string_view division, std::ostream& out);

 private:
  SqlStore& store_;
};

// The default calendar ("" division) of the State Council's notice on the 2026
// holidays ("国务院办公厅关于2026年部分节假日安排的通知", 2025-11-04), as
// ImportCsv reads it: every day off of each holiday period, and the make-up
// working days. For the demo seed and for tests.
std::string_view ChinaHolidaysCsv2026();

}  // namespace tongban::approval
