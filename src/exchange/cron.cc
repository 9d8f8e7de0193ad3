// Five-field cron schedules (see cron.h).
#include "exchange/cron.h"

#include <charconv>
#include <vector>

namespace tongban::exchange {

namespace {

constexpr int64_t kCstOffsetMs = 8 * 3600 * 1000;
constexpr int64_t kMinuteMs = 60 * 1000;
constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;

struct FieldSpec {
  const char* name;
  int min;
  int max;        // the largest value accepted (7 for day-of-week: Sunday again)
  const char* const* names;  // names[i] stands for min + i; nullptr-terminated; nullptr = none
};

constexpr const char* kMonthNames[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                       "JUL", "AUG", "SEP", "OCT", "NOV", "DEC", nullptr};
constexpr const char* kDayNames[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", nullptr};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    if (at == std::string_view::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, at - start));
    start = at + 1;
  }
}

bool Number(std::string_view text, int* out) {
  if (text.empty()) return false;
  auto r = std::from_chars(text.data(), text.data() + text.size(), *out);
  return r.ec == std::errc() && r.ptr == text.data() + text.size();
}

bool Value(std::string_view text, const FieldSpec& spec, int* out) {
  if (spec.names != nullptr && text.size() == 3) {
    std::string upper(text);
    for (char& c : upper) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 32 : c);
    for (int i = 0; spec.names[i] != nullptr; ++i) {
      if (upper == spec.names[i]) {
        *out = spec.min + i;
        return true;
      }
    }
  }
  return Number(text, out);
}

// Sets bits[v] for every value the field names; `star` reports a bare "*".
Status ParseField(std::string_view text, const FieldSpec& spec, std::vector<bool>& bits,
                  bool* star) {
  *star = text == "*";
  auto bad = [&](std::string_view why) {
    return Error::InvalidArgument("cron: " + std::string(spec.name) + " field \"" +
                                  std::string(text) + "\": " + std::string(why));
  };
  for (std::string_view item : Split(text, ',')) {
    if (item.empty()) return bad("empty list item");
    int step = 1;
    std::string_view range = item;
    const size_t slash = item.find('/');
    if (slash != std::string_view::npos) {
      range = item.substr(0, slash);
      if (!Number(item.substr(slash + 1), &step) || step < 1) {
        return bad("step must be a positive number");
      }
    }
    int lo = spec.min, hi = spec.max;
    if (range != "*") {
      const size_t dash = range.find('-');
      if (dash == std::string_view::npos) {
        if (!Value(range, spec, &lo)) return bad("not a number or name");
        hi = slash != std::string_view::npos ? spec.max : lo;  // "5/15" = 5-max/15
      } else if (!Value(range.substr(0, dash), spec, &lo) ||
                 !Value(range.substr(dash + 1), spec, &hi)) {
        return bad("not a range");
      }
      if (lo < spec.min || hi > spec.max || lo > hi) {
        return bad("out of range " + std::to_string(spec.min) + "-" + std::to_string(spec.max));
      }
    }
    for (int v = lo; v <= hi; v += step) bits[v] = true;
  }
  return Status::Ok();
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

// Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
void CivilFromDays(int64_t z, unsigned* m, unsigned* d) {
  z += 719468;
  const int64_t era = FloorDiv(z, 146097);
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
}

}  // namespace

Result<CronSchedule> CronSchedule::Parse(std::string_view text) {
  std::vector<std::string_view> fields;
  for (std::string_view f : Split(text, ' ')) {
    if (!f.empty()) fields.push_back(f);
  }
  if (fields.size() != 5) {
    return Error::InvalidArgument(
        "cron: expected five fields (minute hour day-of-month month day-of-week), got " +
        std::to_string(fields.size()));
  }
  static const FieldSpec kSpecs[] = {{"minute", 0, 59, nullptr},
                                     {"hour", 0, 23, nullptr},
                                     {"day-of-month", 1, 31, nullptr},
                                     {"month", 1, 12, kMonthNames},
                                     {"day-of-week", 0, 7, kDayNames}};
  CronSchedule s;
  s.text_ = std::string(text);
  for (int i = 0; i < 5; ++i) {
    const FieldSpec& spec = kSpecs[i];
    std::vector<bool> bits(spec.max + 1, false);
    bool star = false;
    TB_RETURN_IF_ERROR(ParseField(fields[i], spec, bits, &star));
    for (int v = spec.min; v <= spec.max; ++v) {
      if (!bits[v]) continue;
      switch (i) {
        case 0: s.minutes_.set(v); break;
        case 1: s.hours_.set(v); break;
        case 2: s.days_.set(v); break;
        case 3: s.months_.set(v); break;
        default: s.weekdays_.set(v % 7); break;
      }
    }
    if (i == 2) s.any_day_ = star;
    if (i == 4) s.any_weekday_ = star;
  }
  return s;
}

bool CronSchedule::DayMatches(int64_t days) const {
  unsigned m = 0, d = 0;
  CivilFromDays(days, &m, &d);
  if (!months_[m]) return false;
  const auto weekday = static_cast<size_t>(((days % 7) + 11) % 7);  // 1970-01-01: Thursday
  if (any_day_ && any_weekday_) return true;
  if (any_day_) return weekdays_[weekday];
  if (any_weekday_) return days_[d];
  return days_[d] || weekdays_[weekday];
}

bool CronSchedule::Matches(int64_t unix_ms) const {
  const int64_t local = unix_ms + kCstOffsetMs;
  const int64_t days = FloorDiv(local, kDayMs);
  const int64_t in_day = local - days * kDayMs;
  return minutes_[static_cast<size_t>(in_day / kMinuteMs % 60)] &&
         hours_[static_cast<size_t>(in_day / kHourMs)] && DayMatches(days);
}

int64_t CronSchedule::Next(int64_t after_ms) const {
  int64_t t = (FloorDiv(after_ms, kMinuteMs) + 1) * kMinuteMs;
  const int64_t limit = t + 8 * 366 * kDayMs;
  while (t < limit) {
    // Skip whole days, then whole hours, then minutes that cannot match.
    const int64_t local = t + kCstOffsetMs;
    const int64_t days = FloorDiv(local, kDayMs);
    const int64_t day_start = days * kDayMs - kCstOffsetMs;
    if (!DayMatches(days)) {
      t = day_start + kDayMs;
      continue;
    }
    const int64_t in_day = local - days * kDayMs;
    const int64_t hour = in_day / kHourMs;
    if (!hours_[static_cast<size_t>(hour)]) {
      t = day_start + (hour + 1) * kHourMs;
      continue;
    }
    if (!minutes_[static_cast<size_t>(in_day / kMinuteMs % 60)]) {
      t += kMinuteMs;
      continue;
    }
    return t;
  }
  return -1;
}

}  // namespace tongban::exchange
