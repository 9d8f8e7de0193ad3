#include "approval/statistics.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "codec/csv.h"
#include "codec/xlsx.h"

namespace tongban::approval {
namespace {

constexpr int64_t kDayMs = 86'400'000;
constexpr int64_t kCstOffsetMs = 8 * 3'600'000;

// The CST day start (shifted by the offset, so a multiple of kDayMs) of a
// millisecond column, in integer arithmetic every dialect evaluates alike
// (MySQL's '/' would give a decimal; '%' is the same everywhere for positives).
std::string DayExpr(std::string_view column) {
  std::string shifted = fmt::format("({} + {})", column, kCstOffsetMs);
  return fmt::format("({} - {} % {})", shifted, shifted, kDayMs);
}

Day DayOfShiftedStart(int64_t shifted_start) {
  return Day(std::chrono::days(shifted_start / kDayMs));
}

// Named parameters for a query built from optional filters (values stay put
// in deques while SOCI holds references to them).
class Params {
 public:
  std::string Text(std::string value) {
    std::string name = "p" + std::to_string(++count_);
    texts_.emplace_back(name, std::move(value));
    return ":" + name;
  }
  std::string Int(int64_t value) {
    std::string name = "p" + std::to_string(++count_);
    ints_.emplace_back(name, static_cast<long long>(value));
    return ":" + name;
  }
  void Bind(soci::statement& st) {
    for (auto& [n, v] : texts_) st.exchange(soci::use(v, n));
    for (auto& [n, v] : ints_) st.exchange(soci::use(v, n));
  }

 private:
  int count_ = 0;
  std::deque<std::pair<std::string, std::string>> texts_;
  std::deque<std::pair<std::string, long long>> ints_;
};

// The first day of each month from `first`'s month to `last`'s, inclusive.
std::vector<Day> MonthStarts(Day first, Day last) {
  std::vector<Day> out;
  std::chrono::year_month_day f{first};
  std::chrono::year_month m = f.year() / f.month();
  std::chrono::year_month_day l{last};
  std::chrono::year_month end = l.year() / l.month();
  for (; m <= end; m += std::chrono::months(1)) out.push_back(Day(m / std::chrono::day(1)));
  return out;
}

std::string MonthLabel(Day day) {
  std::chrono::year_month_day ymd{day};
  return fmt::format("{:04d}-{:02d}", static_cast<int>(ymd.year()),
                     static_cast<unsigned>(ymd.month()));
}

// " GROUP BY" over the expressions that are not constants (PostgreSQL refuses a
// constant there); "" when none is left, so the whole selection is one group.
std::string GroupBy(std::initializer_list<std::string_view> expressions) {
  std::string out;
  for (std::string_view e : expressions) {
    if (e == "''" || e == "0") continue;
    out += out.empty() ? " GROUP BY " : ", ";
    out += e;
  }
  return out;
}

using GroupKey = std::pair<std::string, long long>;  // (org or matter code, period bucket)

}  // namespace

std::optional<double> StatisticsRow::on_time_rate() const {
  if (completed_with_deadline == 0) return std::nullopt;
  return static_cast<double>(completed_on_time) / static_cast<double>(completed_with_deadline);
}

std::optional<double> StatisticsRow::average_handling_days() const {
  if (handled == 0) return std::nullopt;
  return static_cast<double>(handling_working_days) / static_cast<double>(handled);
}

std::optional<double> StatisticsRow::average_rating() const {
  if (ratings == 0) return std::nullopt;
  return static_cast<double>(rating_level_sum) / static_cast<double>(ratings);
}

Statistics::Statistics(SqlStore& store, CalendarStore& calendars)
    : store_(store), calendars_(calendars) {}

Result<std::vector<StatisticsRow>> Statistics::Compute(const StatisticsQuery& query) {
  if (query.from_ms > 0 && query.to_ms > 0 && query.to_ms <= query.from_ms) {
    return Error::InvalidArgument("statistics: 'to' must be after 'from'");
  }
  // The filter, shared by every query below. The org and matter filters come
  // first, so the (orgcoding, registered_at) / (implement_code, registered_at)
  // indexes serve them as ranges.
  Params params;
  std::string source = " WHERE 1 = 1";
  if (!query.orgs.empty()) {
    source += " AND c.orgcoding IN (";
    for (size_t i = 0; i < query.orgs.size(); ++i) {
      source += (i > 0 ? ", " : "") + params.Text(query.orgs[i]);
    }
    source += ")";
  }
  if (!query.implement_code.empty()) {
    source += " AND c.implement_code = " + params.Text(query.implement_code);
  }
  if (query.from_ms > 0) source += " AND c.registered_at >= " + params.Int(query.from_ms);
  if (query.to_ms > 0) source += " AND c.registered_at < " + params.Int(query.to_ms);

  // Without an org or matter filter every case of the period is read anyway,
  // and SQLite would rather walk an index in group order, fetching each row at
  // random: three times slower than reading the table in order (1M cases).
  std::string from = " FROM approval_cases c";
  if (store_.dialect() == SqlDialect::kSqlite && query.orgs.empty() &&
      query.implement_code.empty()) {
    from += " NOT INDEXED";
  }
  // The ratings start from the (far fewer) rated cases, each finding its case
  // by number; the same filter then applies to the case.
  const std::string rated_source =
      " FROM approval_ratings r JOIN approval_cases c ON c.number = r.case_number" + source;
  source = from + source;  // FROM … WHERE …, shared by every query below

  std::string key = "''", name = "''";
  if (query.by == StatisticsDimension::kOrg) key = "c.orgcoding";
  if (query.by == StatisticsDimension::kMatter) {
    key = "c.implement_code";
    name = "MAX(c.matter_name)";
  }

  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<StatisticsRow>> {
    // The period of a case as an integer bucket: the CST day's start, or the
    // month's index among the months of the range (a CASE over their starts,
    // since months have no fixed length).
    std::string bucket = "0";
    std::vector<Day> months;
    if (query.period == StatisticsPeriod::kDay) bucket = DayExpr("c.registered_at");
    if (query.period == StatisticsPeriod::kMonth) {
      int64_t first = query.from_ms, last = query.to_ms > 0 ? query.to_ms - 1 : 0;
      if (query.from_ms <= 0 || query.to_ms <= 0) {
        long long lo = 0, hi = 0;
        soci::indicator lo_ind = soci::i_ok, hi_ind = soci::i_ok;
        soci::statement st(sql);
        st.exchange(soci::into(lo, lo_ind));
        st.exchange(soci::into(hi, hi_ind));
        params.Bind(st);
        st.alloc();
        st.prepare("SELECT MIN(c.registered_at), MAX(c.registered_at)" + source);
        st.define_and_bind();
        st.execute(true);
        if (lo_ind == soci::i_null) return std::vector<StatisticsRow>{};
        if (query.from_ms <= 0) first = lo;
        if (query.to_ms <= 0) last = hi;
      }
      // One CASE branch per month: bounded, whatever the bounds or the
      // cases' own dates (a department system reports registered_at).
      first = std::clamp(first, kEarliestMs, kLatestMs);
      last = std::clamp(last, first, kLatestMs);
      const std::chrono::year_month_day f{DayOf(first)}, l{DayOf(last)};
      const int64_t span = (static_cast<int64_t>(static_cast<int>(l.year())) -
                            static_cast<int>(f.year())) * 12 +
                           static_cast<int64_t>(static_cast<unsigned>(l.month())) -
                           static_cast<unsigned>(f.month()) + 1;
      if (span > Statistics::kMaxMonths) {
        return Error::InvalidArgument("按月统计最多 " + std::to_string(Statistics::kMaxMonths) +
                                      " 个月：请缩小 from / to 的范围");
      }
      months = MonthStarts(DayOf(first), DayOf(last));
      bucket = "CASE";
      for (size_t i = 1; i < months.size(); ++i) {
        bucket += fmt::format(" WHEN c.registered_at < {} THEN {}", StartOfDay(months[i]), i - 1);
      }
      bucket += fmt::format(" ELSE {} END", months.size() - 1);
      if (months.size() == 1) bucket = "0";
    }

    std::map<GroupKey, StatisticsRow> rows;
    std::map<GroupKey, long long> stopped;  // stopped working days of the handled cases
    {
      std::string k, n;
      long long b = 0, received = 0, accepted = 0, refused = 0, completed = 0, with_deadline = 0,
                on_time = 0, handled = 0, stop = 0, corrections = 0;
      soci::statement st(sql);
      st.exchange(soci::into(k));
      st.exchange(soci::into(n));
      st.exchange(soci::into(b));
      for (long long* v : {&received, &accepted, &refused, &completed, &with_deadline, &on_time,
                           &handled, &stop, &corrections}) {
        st.exchange(soci::into(*v));
      }
      params.Bind(st);
      st.alloc();
      const std::string done = "c.state = 'completed'";
      st.prepare(fmt::format(
          "SELECT {0}, {1}, {2}, COUNT(*), "
          "COALESCE(SUM(CASE WHEN c.accepted_at > 0 THEN 1 ELSE 0 END), 0), "
          "COALESCE(SUM(CASE WHEN c.state = 'refused' THEN 1 ELSE 0 END), 0), "
          "COALESCE(SUM(CASE WHEN {3} THEN 1 ELSE 0 END), 0), "
          "COALESCE(SUM(CASE WHEN {3} AND c.deadline_at > 0 THEN 1 ELSE 0 END), 0), "
          "COALESCE(SUM(CASE WHEN {3} AND c.deadline_at > 0 AND c.completed_at <= c.deadline_at "
          "THEN 1 ELSE 0 END), 0), "
          "COALESCE(SUM(CASE WHEN {3} AND c.accepted_at > 0 THEN 1 ELSE 0 END), 0), "
          "COALESCE(SUM(CASE WHEN {3} AND c.accepted_at > 0 THEN c.stopped_days ELSE 0 END), 0), "
          "COALESCE(SUM(c.corrections), 0) "
          "{4}{5}",
          key, name, bucket, done, source, GroupBy({key, bucket})));
      st.define_and_bind();
      if (st.execute(true)) {
        do {
          if (received == 0) continue;  // no GROUP BY: the one row of an empty selection
          StatisticsRow& row = rows[{k, b}];
          if (query.by == StatisticsDimension::kOrg) row.orgcoding = k;
          if (query.by == StatisticsDimension::kMatter) {
            row.implement_code = k;
            row.matter_name = n;
          }
          if (query.period == StatisticsPeriod::kDay) row.period = FormatDay(DayOfShiftedStart(b));
          if (query.period == StatisticsPeriod::kMonth && b >= 0 &&
              static_cast<size_t>(b) < months.size()) {
            row.period = MonthLabel(months[static_cast<size_t>(b)]);
          }
          row.received = received;
          row.accepted = accepted;
          row.refused = refused;
          row.completed = completed;
          row.completed_with_deadline = with_deadline;
          row.completed_on_time = on_time;
          row.handled = handled;
          row.corrections = corrections;
          stopped[{k, b}] = stop;
        } while (st.fetch());
      }
    }

    // 好差评: count and level sum per group, of the rated cases received in the period.
    {
      std::string k;
      long long b = 0, count = 0, level_sum = 0;
      soci::statement st(sql);
      st.exchange(soci::into(k));
      st.exchange(soci::into(b));
      st.exchange(soci::into(count));
      st.exchange(soci::into(level_sum));
      params.Bind(st);
      st.alloc();
      st.prepare(fmt::format("SELECT {0}, {1}, COUNT(*), COALESCE(SUM(r.level), 0){2}{3}", key,
                             bucket, rated_source, GroupBy({key, bucket})));
      st.define_and_bind();
      if (st.execute(true)) {
        do {
          auto row = rows.find({k, b});
          if (count == 0 || row == rows.end()) continue;  // the one row of an empty selection
          row->second.ratings = count;
          row->second.rating_level_sum = level_sum;
        } while (st.fetch());
      }
    }

    // Working days need each division's calendar, which SQL does not have. The
    // handled cases are counted per (group, division, CST day) of acceptance and of
    // completion: the working days from acceptance to completion summed over a
    // group are then the sum of ord(completion day + 1) minus the sum of
    // ord(acceptance day + 1), ord(d) counting working days before d from any
    // fixed day. Both histograms are far smaller than the cases.
    struct Histogram {
      GroupKey group;
      std::string division;
      Day day;
      long long count;
      int sign;
    };
    std::vector<Histogram> histograms;
    for (auto [column, sign] : {std::pair{"c.completed_at", 1}, std::pair{"c.accepted_at", -1}}) {
      std::string k, division;
      long long b = 0, day = 0, count = 0;
      soci::statement st(sql);
      st.exchange(soci::into(k));
      st.exchange(soci::into(b));
      st.exchange(soci::into(division));
      st.exchange(soci::into(day));
      st.exchange(soci::into(count));
      params.Bind(st);
      st.alloc();
      const std::string day_expr = DayExpr(column);
      st.prepare(fmt::format(
          "SELECT {0}, {1}, c.division, {2}, COUNT(*){3} AND "
          "c.state = 'completed' AND c.accepted_at > 0{4}",
          key, bucket, day_expr, source, GroupBy({key, bucket, "c.division", day_expr})));
      st.define_and_bind();
      if (st.execute(true)) {
        do {
          histograms.push_back({{k, b}, division, DayOfShiftedStart(day), count, sign});
        } while (st.fetch());
      }
    }
    std::map<std::string, std::map<Day, int64_t>> ordinals;  // division -> day+1 -> ord
    for (const Histogram& h : histograms) ordinals[h.division][h.day + std::chrono::days(1)] = 0;
    for (auto& [division, days] : ordinals) {
      auto calendar = calendars_.Load(division);
      if (!calendar.ok()) return std::move(calendar).error();
      Day previous = days.begin()->first;
      int64_t ord = 0;
      for (auto& [day, value] : days) {
        ord += calendar->WorkingDaysBetween(previous, day);
        value = ord;
        previous = day;
      }
    }
    std::map<GroupKey, int64_t> working_days;
    for (const Histogram& h : histograms) {
      working_days[h.group] +=
          h.sign * h.count * ordinals[h.division][h.day + std::chrono::days(1)];
    }
    std::vector<StatisticsRow> out;
    out.reserve(rows.size());
    for (auto& [group, row] : rows) {
      row.handling_working_days = working_days[group] - stopped[group];
      out.push_back(std::move(row));
    }
    return out;
  });
}

namespace {

const std::vector<std::string>& Headers() {
  static const std::vector<std::string> headers = {
      "机构编码", "实施编码",   "事项名称", "期间",       "收件",           "受理",    "不予受理",
      "办结",     "有时限办结", "按时办结", "按时办结率", "平均办理工作日", "补正次数",
      "评价数",   "平均评价等级"};
  return headers;
}

// One row of the export as cells: codes and names as text, counts as numbers,
// the two ratios as numbers (empty when there is nothing to divide by).
std::vector<codec::Cell> Cells(const StatisticsRow& r) {
  auto number = [](int64_t v) { return codec::Cell::Number(static_cast<double>(v)); };
  auto ratio = [](std::optional<double> v) { return v ? codec::Cell::Number(*v) : codec::Cell{}; };
  return {codec::Cell::Text(r.orgcoding),
          codec::Cell::Text(r.implement_code),
          codec::Cell::Text(r.matter_name),
          codec::Cell::Text(r.period),
          number(r.received),
          number(r.accepted),
          number(r.refused),
          number(r.completed),
          number(r.completed_with_deadline),
          number(r.completed_on_time),
          ratio(r.on_time_rate()),
          ratio(r.average_handling_days()),
          number(r.corrections),
          number(r.ratings),
          ratio(r.average_rating())};
}

}  // namespace

Result<std::string> Statistics::ExportCsv(const StatisticsQuery& query) {
  auto rows = Compute(query);
  if (!rows.ok()) return std::move(rows).error();
  std::string out = "\xEF\xBB\xBF";  // so spreadsheets read the Chinese as UTF-8
  auto line = [&out](const std::vector<std::string>& fields) {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i > 0) out += ',';
      codec::AppendCsvField(fields[i], out);
    }
    out += "\r\n";
  };
  line(Headers());
  for (const StatisticsRow& r : *rows) {
    std::vector<std::string> fields;
    for (const codec::Cell& cell : Cells(r)) {
      if (cell.type == codec::Cell::Type::kText) {
        fields.push_back(cell.text);
      } else if (cell.type == codec::Cell::Type::kNumber) {
        // Counts as integers; the on-time rate to 4 and the averages to 2 decimals.
        const size_t column = fields.size();
        fields.push_back(column == 10                   ? fmt::format("{:.4f}", cell.number)
                         : column == 11 || column == 14 ? fmt::format("{:.2f}", cell.number)
                                        : fmt::format("{}", static_cast<int64_t>(cell.number)));
      } else {
        fields.emplace_back();
      }
    }
    line(fields);
  }
  return out;
}

Result<std::string> Statistics::ExportXlsx(const StatisticsQuery& query) {
  auto rows = Compute(query);
  if (!rows.ok()) return std::move(rows).error();
  codec::Sheet sheet;
  sheet.name = "统计";
  sheet.rows.reserve(rows->size() + 1);
  std::vector<codec::Cell> header;
  for (const std::string& h : Headers()) header.push_back(codec::Cell::Text(h));
  sheet.rows.push_back(std::move(header));
  for (const StatisticsRow& r : *rows) sheet.rows.push_back(Cells(r));
  return codec::WriteXlsx({std::move(sheet)});
}

}  // namespace tongban::approval
