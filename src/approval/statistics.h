// Approval statistics (统计): per org, matter and period (day or month in China
// Standard Time) — received, accepted, refused, completed, on-time rate, average
// handling working days, corrections — for the supervision dashboard and as an
// export, with the 好差评 ratings of those cases. Read-only over approval_cases
// and approval_ratings (Preferences::Migrations); the aggregation runs in SQL.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "approval/calendar.h"
#include "core/result.h"
#include "store/sql_store.h"

namespace tongban::approval {

enum class StatisticsDimension { kNone, kOrg, kMatter };
enum class StatisticsPeriod { kNone, kDay, kMonth };

// A case belongs to the period it was received (registered) in: each row
// describes the cases received in its period, whatever happened to them since.
struct StatisticsQuery {
  StatisticsDimension by = StatisticsDimension::kOrg;
  StatisticsPeriod period = StatisticsPeriod::kNone;
  int64_t from_ms = 0, to_ms = 0;  // received in [from, to); 0 = open
  std::vector<std::string> orgs;   // only these orgcodings; empty = every org
  std::string implement_code;      // only this matter; "" = every matter
};

struct StatisticsRow {
  std::string orgcoding;       // by org
  std::string implement_code;  // by matter
  std::string matter_name;     // by matter (the latest name among its cases)
  std::string period;          // "2026-03-05" (day), "2026-03" (month), "" (none)

  int64_t received = 0;                 // cases registered (收件)
  int64_t accepted = 0;                 // of them, accepted (受理), whatever came after
  int64_t refused = 0;                  // not accepted (不予受理)
  int64_t completed = 0;                // 办结, any result
  int64_t completed_with_deadline = 0;  // completed cases that had a promised deadline
  int64_t completed_on_time = 0;        // ... completed at or before it
  int64_t handled = 0;                  // completed after an acceptance: the base of the average
  // Working days from acceptance to completion on the case division's calendar
  // (the acceptance day not counted, the completion day counted), minus the
  // working days the clock was stopped; summed over the handled cases.
  int64_t handling_working_days = 0;
  int64_t corrections = 0;  // 补齐补正 notices
  // 好差评 of these cases (approval_ratings): how many were rated, and the sum
  // of their levels (1..5).
  int64_t ratings = 0;
  int64_t rating_level_sum = 0;

  // completed_on_time / completed_with_deadline; nullopt when there is none.
  std::optional<double> on_time_rate() const;
  // handling_working_days / handled; nullopt when there is none.
  std::optional<double> average_handling_days() const;
  // rating_level_sum / ratings; nullopt when none was rated.
  std::optional<double> average_rating() const;
};

class Statistics {
 public:
  // A monthly statistics spans at most this many months (one SQL CASE branch
  // each), and periods lie within [kEarliestMs, kLatestMs] (1990-01-01 and
  // 2100-01-01, CST): review13 — a bound thousands of years away cost minutes
  // of SQLite work per call, and year 32767 wrapped into an endless loop.
  static constexpr int64_t kMaxMonths = 120;
  static constexpr int64_t kEarliestMs = 631123200000;
  static constexpr int64_t kLatestMs = 4102416000000;

  Statistics(SqlStore& store, CalendarStore& calendars);

  // Rows ordered by org or matter code, then period; a group without cases has no row.
  // A month period needs no bounds: open ones are taken from the cases.
  Result<std::vector<StatisticsRow>> Compute(const StatisticsQuery& query);

  // The rows as CSV (UTF-8 with a BOM, Chinese headers, values defused against
  // formula injection by codec::AppendCsvField).
  Result<std::string> ExportCsv(const StatisticsQuery& query);
  // The same table as an .xlsx workbook (one sheet "统计"; counts and ratios as
  // numbers, codes and names as text, formula-looking text never run).
  Result<std::string> ExportXlsx(const StatisticsQuery& query);

 private:
  SqlStore& store_;
  CalendarStore& calendars_;
};

}  // namespace tongban::approval
