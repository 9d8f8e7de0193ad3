#include "approval/calendar.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <map>
#include <optional>
#include <utility>

#include "codec/csv.h"
#include "core/utf8.h"
#include "directory/validators.h"

namespace tongban::approval {
namespace {

using std::chrono::days;

constexpr int64_t kMsPerHour = 3'600'000;
constexpr int64_t kMsPerDay = 24 * kMsPerHour;
// China Standard Time is UTC+8 all year (no daylight saving since 1991).
constexpr int64_t kCstOffsetMs = 8 * kMsPerHour;

bool IsWeekend(Day day) {
  std::chrono::weekday wd{day};
  return wd == std::chrono::Saturday || wd == std::chrono::Sunday;
}

// The first and last day FormatDay writes with a 4-digit year, so that the
// stored 'YYYY-MM-DD' text orders as the days do.
constexpr Day kFirstStorableDay = std::chrono::year{1000} / 1 / 1;
constexpr Day kLastStorableDay = std::chrono::year{9999} / 12 / 31;

std::string_view KindName(DayKind kind) {
  return kind == DayKind::kWorkday ? "workday" : "holiday";
}

std::optional<DayKind> ParseKind(std::string_view text) {
  if (text == "holiday" || text == "Holiday" || text == "HOLIDAY" || text == "休") {
    return DayKind::kHoliday;
  }
  if (text == "workday" || text == "Workday" || text == "WORKDAY" || text == "班") {
    return DayKind::kWorkday;
  }
  return std::nullopt;
}

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool IsStorableDivision(std::string_view division) {
  return division.empty() || directory::IsValidDivisionCode(division);
}

Status CheckEntry(const CalendarEntry& entry) {
  if (!IsStorableDivision(entry.division)) {
    return Error::InvalidArgument("calendar: \"" + entry.division +
                                  "\" is not a GB/T 2260 division code");
  }
  if (entry.day < kFirstStorableDay || entry.day > kLastStorableDay) {
    return Error::InvalidArgument("calendar: the year must be 1000-9999");
  }
  if (entry.note.size() > CalendarStore::kMaxNoteBytes) {
    return Error::InvalidArgument("calendar: the note is longer than " +
                                  std::to_string(CalendarStore::kMaxNoteBytes) + " bytes");
  }
  if (!IsValidUtf8(entry.note)) return Error::InvalidArgument("calendar: the note is not UTF-8");
  return Status::Ok();
}

// Replaces the entry of (division, day): DELETE + INSERT is the upsert every
// dialect runs alike, and the caller's transaction makes it atomic.
void Upsert(soci::session& sql, const CalendarEntry& entry) {
  std::string day = FormatDay(entry.day);
  std::string kind(KindName(entry.kind));
  sql << "DELETE FROM approval_calendar_days WHERE division = :d AND day = :day",
      soci::use(entry.division), soci::use(day);
  sql << "INSERT INTO approval_calendar_days (division, day, kind, note) "
         "VALUES (:d, :day, :k, :n)",
      soci::use(entry.division), soci::use(day), soci::use(kind), soci::use(entry.note);
}

// A stored row back as an entry; Internal for text no writer of ours produced.
Result<CalendarEntry> EntryFromRow(std::string division, const std::string& day,
                                   const std::string& kind, std::string note) {
  Result<Day> parsed = ParseDay(day);
  std::optional<DayKind> parsed_kind = ParseKind(kind);
  if (!parsed.ok() || !parsed_kind.has_value()) {
    return Error::Internal("calendar: unreadable row (" + division + ", " + day + ")");
  }
  return CalendarEntry{std::move(division), *parsed, *parsed_kind, std::move(note)};
}

bool IsBlank(const std::vector<std::string>& fields) {
  return std::all_of(fields.begin(), fields.end(),
                     [](const std::string& f) { return TrimSpaces(f).empty(); });
}

// Reads a whole import, checking every row before anything is written.
Result<std::vector<CalendarEntry>> ParseImport(std::istream& csv) {
  codec::CsvReader reader(csv);
  std::vector<std::string> fields;
  Result<bool> more = reader.Next(&fields);
  if (!more.ok()) return std::move(more).error();
  while (*more && IsBlank(fields)) {
    more = reader.Next(&fields);
    if (!more.ok()) return std::move(more).error();
  }
  if (!*more)
    return Error::InvalidArgument("line 1: the header division,date,kind,note is missing");
  std::vector<std::string> header;
  for (const std::string& f : fields) header.emplace_back(TrimSpaces(f));
  bool with_note = header == std::vector<std::string>{"division", "date", "kind", "note"};
  if (!with_note && header != std::vector<std::string>{"division", "date", "kind"}) {
    return Error::InvalidArgument("line " + std::to_string(reader.record_line()) +
                                  ": the header must be division,date,kind,note");
  }
  const size_t columns = with_note ? 4 : 3;

  std::vector<CalendarEntry> entries;
  std::map<std::pair<std::string, Day>, int64_t> line_of;  // duplicates name the first line
  while (true) {
    more = reader.Next(&fields);
    if (!more.ok()) return std::move(more).error();
    if (!*more) break;
    if (IsBlank(fields)) continue;
    std::string at = "line " + std::to_string(reader.record_line()) + ": ";
    if (fields.size() != columns && !(with_note && fields.size() == 3)) {
      return Error::InvalidArgument(at + "expected " + std::to_string(columns) + " fields, found " +
                                    std::to_string(fields.size()));
    }
    if (entries.size() >= CalendarStore::kMaxImportRows) {
      return Error::TooLarge(at + "more than " + std::to_string(CalendarStore::kMaxImportRows) +
                             " rows");
    }
    CalendarEntry entry;
    entry.division = std::string(TrimSpaces(fields[0]));
    std::string_view date = TrimSpaces(fields[1]);
    Result<Day> day = ParseDay(date);
    if (!day.ok()) return Error::InvalidArgument(at + day.error().message);
    entry.day = *day;
    std::optional<DayKind> kind = ParseKind(TrimSpaces(fields[2]));
    if (!kind.has_value()) {
      return Error::InvalidArgument(at + "kind \"" + std::string(TrimSpaces(fields[2])) +
                                    "\" is not holiday, workday, 休 or 班");
    }
    entry.kind = *kind;
    if (fields.size() > 3) entry.note = fields[3];
    Status valid = CheckEntry(entry);
    if (!valid.ok()) return Error::InvalidArgument(at + valid.error().message);
    auto [it, inserted] =
        line_of.emplace(std::make_pair(entry.division, entry.day), reader.record_line());
    if (!inserted) {
      return Error::InvalidArgument(at + FormatDay(entry.day) + " of division \"" + entry.division +
                                    "\" is already on line " + std::to_string(it->second));
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

// Parses 1-`max_digits` ASCII digits exactly.
std::optional<int> Digits(std::string_view s, size_t min_digits, size_t max_digits) {
  if (s.size() < min_digits || s.size() > max_digits) return std::nullopt;
  int value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  if (!std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return std::nullopt;
  }
  return value;
}

}  // namespace

// ---- Days in China Standard Time ----

Day DayOf(int64_t at_ms) {
  using std::chrono::milliseconds;
  return std::chrono::floor<days>(
      std::chrono::sys_time<milliseconds>(milliseconds(at_ms + kCstOffsetMs)));
}

int64_t StartOfDay(Day day) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(day.time_since_epoch()).count() -
         kCstOffsetMs;
}

int64_t EndOfDay(Day day) { return StartOfDay(day + days{1}) - 1; }

std::string FormatDay(Day day) {
  std::chrono::year_month_day ymd{day};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
  return buf;
}

Result<Day> ParseDay(std::string_view text) {
  auto invalid = [&] {
    std::string message = "\"";
    message.append(text.substr(0, 40));
    message.append("\" is not a date (YYYY-MM-DD)");
    return Error::InvalidArgument(std::move(message));
  };
  std::optional<int> year, month, day;
  if (text.size() == 8 && text.find_first_not_of("0123456789") == std::string_view::npos) {
    year = Digits(text.substr(0, 4), 4, 4);
    month = Digits(text.substr(4, 2), 2, 2);
    day = Digits(text.substr(6, 2), 2, 2);
  } else {
    size_t first = text.find_first_of("-/");
    if (first == std::string_view::npos) return invalid();
    char separator = text[first];
    size_t second = text.find(separator, first + 1);
    if (second == std::string_view::npos) return invalid();
    year = Digits(text.substr(0, first), 4, 4);
    month = Digits(text.substr(first + 1, second - first - 1), 1, 2);
    day = Digits(text.substr(second + 1), 1, 2);
  }
  if (!year || !month || !day || *year < 1000) return invalid();
  std::chrono::year_month_day ymd{std::chrono::year{*year},
                                  std::chrono::month{static_cast<unsigned>(*month)},
                                  std::chrono::day{static_cast<unsigned>(*day)}};
  if (!ymd.ok()) return invalid();
  return Day{ymd};
}

// ---- WorkCalendar ----

void WorkCalendar::SetHoliday(Day day) {
  workdays_.erase(day);
  holidays_.insert(day);
}

void WorkCalendar::SetWorkday(Day day) {
  holidays_.erase(day);
  workdays_.insert(day);
}

void WorkCalendar::Clear(Day day) {
  holidays_.erase(day);
  workdays_.erase(day);
}

bool WorkCalendar::IsWorkingDay(Day day) const {
  return IsWeekend(day) ? workdays_.count(day) != 0 : holidays_.count(day) == 0;
}

Day WorkCalendar::NthWorkingDayAfter(Day day, int n) const {
  // Past the last exception only the weekend rule applies, so whole weeks
  // (5 working days each) can be skipped at once.
  Day horizon = day;
  if (!holidays_.empty()) horizon = std::max(horizon, *holidays_.rbegin());
  if (!workdays_.empty()) horizon = std::max(horizon, *workdays_.rbegin());
  Day d = day;
  while (n > 0 && d < horizon) {
    d += days{1};
    if (IsWorkingDay(d)) --n;
  }
  if (n <= 0) return d;
  int weeks = (n - 1) / 5;
  d += days{int64_t{weeks} * 7};
  n -= weeks * 5;
  while (n > 0) {
    d += days{1};
    if (!IsWeekend(d)) --n;
  }
  return d;
}

int WorkCalendar::WorkingDaysBetween(Day from, Day to) const {
  if (to <= from) return 0;
  int64_t span = (to - from).count();
  int64_t count = span / 7 * 5;
  for (Day d = from + days{span / 7 * 7}; d < to; d += days{1}) {
    if (!IsWeekend(d)) ++count;
  }
  // The sets are disjoint (SetHoliday / SetWorkday keep them so); a holiday on a
  // weekend or a make-up day on a weekday changes nothing.
  for (auto it = holidays_.lower_bound(from); it != holidays_.end() && *it < to; ++it) {
    if (!IsWeekend(*it)) --count;
  }
  for (auto it = workdays_.lower_bound(from); it != workdays_.end() && *it < to; ++it) {
    if (IsWeekend(*it)) ++count;
  }
  return static_cast<int>(std::min<int64_t>(count, std::numeric_limits<int>::max()));
}

int64_t WorkCalendar::Deadline(int64_t start_ms, TimeLimit limit, int stopped_working_days) const {
  if (limit.amount <= 0) return 0;
  const int stopped = std::max(0, stopped_working_days);
  const Day start_day = DayOf(start_ms);
  int64_t natural_days = 0;
  switch (limit.unit) {
    case TimeUnit::kHours:
      return start_ms + int64_t{limit.amount} * kMsPerHour + int64_t{stopped} * kMsPerDay;
    case TimeUnit::kWorkingDays:
      return EndOfDay(NthWorkingDayAfter(NthWorkingDayAfter(start_day, limit.amount), stopped));
    case TimeUnit::kNaturalDays:
      natural_days = limit.amount;
      break;
    case TimeUnit::kMonths:
      natural_days = int64_t{limit.amount} * 30;
      break;
    case TimeUnit::kYears:
      natural_days = int64_t{limit.amount} * 365;
      break;
  }
  return EndOfDay(NthWorkingDayAfter(start_day + days{natural_days}, stopped));
}

Light WorkCalendar::LightAt(int64_t deadline_ms, int64_t now_ms) const {
  if (deadline_ms == 0) return Light::kNone;
  if (now_ms > deadline_ms) return Light::kRed;
  // The last working day before the deadline's day; the sets are finite, so
  // walking back ends within a weekend of the first exception.
  Day warn = DayOf(deadline_ms) - days{1};
  while (!IsWorkingDay(warn)) warn -= days{1};
  return now_ms >= StartOfDay(warn) ? Light::kYellow : Light::kGreen;
}

// ---- CalendarStore ----

namespace {

// The day is 'YYYY-MM-DD' text: readable in a database console and ordered as
// the days are (CheckEntry keeps years to 4 digits).
constexpr const char* kSchema = R"sql(
CREATE TABLE approval_calendar_days (
  division {KEY} NOT NULL,
  day {KEY} NOT NULL,
  kind {KEY} NOT NULL CHECK (kind IN ('holiday', 'workday')),
  note {TEXT} NOT NULL DEFAULT '',
  PRIMARY KEY (division, day)
){END};
)sql";

}  // namespace

std::vector<Migration> CalendarStore::Migrations() {
  return {PortableMigration("approval_calendar", 1, kSchema)};
}

CalendarStore::CalendarStore(SqlStore& store) : store_(store) {}

Result<WorkCalendar> CalendarStore::Load(std::string_view division) {
  std::string own(division);
  return store_.WithSession([&](soci::session& sql) -> Result<WorkCalendar> {
    std::string row_division, day, kind;
    soci::statement st =
        (sql.prepare << "SELECT division, day, kind FROM approval_calendar_days "
                        "WHERE division = '' OR division = :d",
         soci::into(row_division), soci::into(day), soci::into(kind), soci::use(own));
    st.execute();
    // The default's entries first, so the division's own override them.
    std::vector<CalendarEntry> defaults, overrides;
    while (st.fetch()) {
      Result<CalendarEntry> entry = EntryFromRow(row_division, day, kind, "");
      if (!entry.ok()) return std::move(entry).error();
      (row_division.empty() ? defaults : overrides).push_back(std::move(entry).value());
    }
    WorkCalendar calendar;
    for (const auto* entries : {&defaults, &overrides}) {
      for (const CalendarEntry& e : *entries) {
        if (e.kind == DayKind::kHoliday) {
          calendar.SetHoliday(e.day);
        } else {
          calendar.SetWorkday(e.day);
        }
      }
    }
    return calendar;
  });
}

Result<std::vector<CalendarEntry>> CalendarStore::List(std::string_view division, Day from,
                                                       Day to) {
  from = std::max(from, kFirstStorableDay);
  to = std::min(to, kLastStorableDay + days{1});
  if (to <= from) return std::vector<CalendarEntry>{};
  std::string own(division), first = FormatDay(from), last = FormatDay(to - days{1});
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<CalendarEntry>> {
    std::string day, kind, note;
    soci::statement st =
        (sql.prepare << "SELECT day, kind, note FROM approval_calendar_days "
                        "WHERE division = :d AND day >= :f AND day <= :l ORDER BY day",
         soci::into(day), soci::into(kind), soci::into(note), soci::use(own), soci::use(first),
         soci::use(last));
    st.execute();
    std::vector<CalendarEntry> out;
    while (st.fetch()) {
      Result<CalendarEntry> entry = EntryFromRow(own, day, kind, note);
      if (!entry.ok()) return std::move(entry).error();
      out.push_back(std::move(entry).value());
    }
    return out;
  });
}

Status CalendarStore::Put(const CalendarEntry& entry) {
  TB_RETURN_IF_ERROR(CheckEntry(entry));
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    Upsert(sql, entry);
    return Status::Ok();
  });
}

Status CalendarStore::Remove(std::string_view division, Day day) {
  std::string own(division), text = FormatDay(day);
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    int found = 0;
    sql << "SELECT COUNT(*) FROM approval_calendar_days WHERE division = :d AND day = :day",
        soci::into(found), soci::use(own), soci::use(text);
    if (found == 0) {
      return Error::NotFound("calendar: division \"" + own + "\" has no entry on " + text);
    }
    sql << "DELETE FROM approval_calendar_days WHERE division = :d AND day = :day", soci::use(own),
        soci::use(text);
    return Status::Ok();
  });
}

Result<std::vector<std::string>> CalendarStore::ImportCsv(
    std::istream& csv, const std::function<Status(std::string_view division)>& may_edit) {
  Result<std::vector<CalendarEntry>> entries = ParseImport(csv);
  if (!entries.ok()) return std::move(entries).error();
  if (may_edit) {
    std::set<std::string> divisions;
    for (const CalendarEntry& entry : *entries) divisions.insert(entry.division);
    for (const std::string& division : divisions) TB_RETURN_IF_ERROR(may_edit(division));
  }
  Status written = store_.WithTransaction([&](soci::session& sql) -> Status {
    for (const CalendarEntry& entry : *entries) Upsert(sql, entry);
    return Status::Ok();
  });
  if (!written.ok()) return std::move(written).error();
  std::vector<std::string> touched;
  for (const CalendarEntry& entry : *entries) touched.push_back(entry.division);
  std::sort(touched.begin(), touched.end());
  touched.erase(std::unique(touched.begin(), touched.end()), touched.end());
  return touched;
}

Status CalendarStore::ExportCsv(std::string_view division, std::ostream& out) {
  Result<std::vector<CalendarEntry>> entries =
      List(division, kFirstStorableDay, kLastStorableDay + days{1});
  if (!entries.ok()) return std::move(entries).error();
  std::string text = "division,date,kind,note\r\n";
  for (const CalendarEntry& e : *entries) {
    codec::AppendCsvField(e.division, text);
    text += ',';
    text += FormatDay(e.day);
    text += ',';
    text += KindName(e.kind);
    text += ',';
    codec::AppendCsvField(e.note, text);
    text += "\r\n";
  }
  out << text;
  if (!out) return Error::Unavailable("calendar: the export could not be written");
  return Status::Ok();
}

// ---- The 2026 national calendar ----

// From the State Council General Office's notice "国务院办公厅关于2026年部分节假日
// 安排的通知" of 2025-11-04, as Xinhua published it (e.g. politics.gmw.cn
// 2025-11/04/content_38391083.htm): 元旦 1月1日-3日, 4日(周日)上班; 春节 2月15日-23日,
// 2月14日(周六)、28日(周六)上班; 清明节 4月4日-6日; 劳动节 5月1日-5日, 5月9日(周六)上班;
// 端午节 6月19日-21日; 中秋节 9月25日-27日; 国庆节 10月1日-7日, 9月20日(周日)、
// 10月10日(周六)上班. Every day of each period is listed (weekend days too), so a
// calendar view shows the whole break.
std::string_view ChinaHolidaysCsv2026() {
  return "division,date,kind,note\n"
         ",2026-01-01,holiday,元旦\n"
         ",2026-01-02,holiday,元旦\n"
         ",2026-01-03,holiday,元旦\n"
         ",2026-01-04,workday,元旦调休上班\n"
         ",2026-02-14,workday,春节调休上班\n"
         ",2026-02-15,holiday,春节\n"
         ",2026-02-16,holiday,春节\n"
         ",2026-02-17,holiday,春节\n"
         ",2026-02-18,holiday,春节\n"
         ",2026-02-19,holiday,春节\n"
         ",2026-02-20,holiday,春节\n"
         ",2026-02-21,holiday,春节\n"
         ",2026-02-22,holiday,春节\n"
         ",2026-02-23,holiday,春节\n"
         ",2026-02-28,workday,春节调休上班\n"
         ",2026-04-04,holiday,清明节\n"
         ",2026-04-05,holiday,清明节\n"
         ",2026-04-06,holiday,清明节\n"
         ",2026-05-01,holiday,劳动节\n"
         ",2026-05-02,holiday,劳动节\n"
         ",2026-05-03,holiday,劳动节\n"
         ",2026-05-04,holiday,劳动节\n"
         ",2026-05-05,holiday,劳动节\n"
         ",2026-05-09,workday,劳动节调休上班\n"
         ",2026-06-19,holiday,端午节\n"
         ",2026-06-20,holiday,端午节\n"
         ",2026-06-21,holiday,端午节\n"
         ",2026-09-20,workday,国庆节调休上班\n"
         ",2026-09-25,holiday,中秋节\n"
         ",2026-09-26,holiday,中秋节\n"
         ",2026-09-27,holiday,中秋节\n"
         ",2026-10-01,holiday,国庆节\n"
         ",2026-10-02,holiday,国庆节\n"
         ",2026-10-03,holiday,国庆节\n"
         ",2026-10-04,holiday,国庆节\n"
         ",2026-10-05,holiday,国庆节\n"
         ",2026-10-06,holiday,国庆节\n"
         ",2026-10-07,holiday,国庆节\n"
         ",2026-10-10,workday,国庆节调休上班\n";
}

}  // namespace tongban::approval
