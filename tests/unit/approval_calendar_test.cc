// The working calendar (工作日历): CST day arithmetic, working days with
// holidays and make-up days, deadlines in every unit with clock stops, the
// lights, and the CalendarStore on SQLite in a temp dir, a private PostgreSQL
// (skipped with the reason when it cannot be started) and MariaDB.
#include "approval/calendar.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "store_test_support.h"

namespace tongban::approval {
namespace {

using std::chrono::days;
using std::chrono::weekday;

Day D(int y, unsigned m, unsigned d) {
  return Day{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}};
}

// A CST wall-clock time on `day`.
int64_t At(Day day, int hour, int minute = 0) {
  return StartOfDay(day) + (int64_t{hour} * 60 + minute) * 60'000;
}

// The national 2026 calendar, read from the CSV without a database.
WorkCalendar National2026() {
  WorkCalendar calendar;
  std::istringstream in{std::string(ChinaHolidaysCsv2026())};
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::vector<std::string> f;
    std::stringstream parts(line);
    std::string part;
    while (std::getline(parts, part, ',')) f.push_back(part);
    Result<Day> day = ParseDay(f.at(1));
    EXPECT_TRUE(day.ok()) << line;
    if (!day.ok()) continue;
    if (f.at(2) == "holiday") calendar.SetHoliday(*day);
    if (f.at(2) == "workday") calendar.SetWorkday(*day);
  }
  return calendar;
}

// ---- Days in China Standard Time ----

TEST(CstDays, MidnightInChinaIsSixteenHundredUtcOfThePreviousDay) {
  // 2026-01-01 00:00:00.000 +08:00
  EXPECT_EQ(StartOfDay(D(2026, 1, 1)), 1'767'196'800'000);
  EXPECT_EQ(DayOf(1'767'196'800'000), D(2026, 1, 1));
  EXPECT_EQ(DayOf(1'767'196'799'999), D(2025, 12, 31));
}

TEST(CstDays, TheLastMillisecondOfADayIsOneBeforeTheNextDaysFirst) {
  Day day = D(2026, 3, 9);
  EXPECT_EQ(EndOfDay(day) + 1, StartOfDay(day + days{1}));
  EXPECT_EQ(DayOf(EndOfDay(day)), day);
  EXPECT_EQ(DayOf(EndOfDay(day) + 1), day + days{1});
}

TEST(CstDays, DaysBeforeTheEpochStillFloorToTheRightDay) {
  EXPECT_EQ(DayOf(-1), D(1970, 1, 1));  // 07:59:59.999 CST on 1 January 1970
  EXPECT_EQ(DayOf(-8 * 3'600'000 - 1), D(1969, 12, 31));
}

TEST(CstDays, FormatAndParseRoundTrip) {
  EXPECT_EQ(FormatDay(D(2026, 10, 1)), "2026-10-01");
  auto day = ParseDay("2026-10-01");
  ASSERT_TRUE(day.ok()) << day.error().message;
  EXPECT_EQ(*day, D(2026, 10, 1));
}

TEST(CstDays, ParseAcceptsCompactAndSpreadsheetForms) {
  for (const char* text : {"20261001", "2026/10/1", "2026/10/01", "2026-10-1"}) {
    auto day = ParseDay(text);
    ASSERT_TRUE(day.ok()) << text;
    EXPECT_EQ(*day, D(2026, 10, 1)) << text;
  }
}

TEST(CstDays, ParseRejectsImpossibleOrMalformedDates) {
  for (const char* text : {"", "2026-02-29", "2026-13-01", "2026-00-10", "26-10-01", "2026-10-01x",
                           "2026-10/01", "2026--10-01", "+2026-10-01", "2026-1-+1", "202610011",
                           "0999-01-01", " 2026-10-01"}) {
    auto day = ParseDay(text);
    EXPECT_FALSE(day.ok()) << text;
    if (!day.ok()) {
      EXPECT_EQ(day.error().code, errc::kInvalidArgument);
    }
  }
}

// ---- Working days ----

TEST(WorkCalendar, WeekendsAreNotWorkingDays) {
  WorkCalendar calendar;
  ASSERT_EQ(weekday{D(2026, 3, 6)}, std::chrono::Friday);
  EXPECT_TRUE(calendar.IsWorkingDay(D(2026, 3, 6)));
  EXPECT_FALSE(calendar.IsWorkingDay(D(2026, 3, 7)));
  EXPECT_FALSE(calendar.IsWorkingDay(D(2026, 3, 8)));
  EXPECT_EQ(calendar.NthWorkingDayAfter(D(2026, 3, 6), 1), D(2026, 3, 9));
}

TEST(WorkCalendar, AHolidayInTheMiddleIsSkipped) {
  WorkCalendar calendar;
  calendar.SetHoliday(D(2026, 3, 11));  // a Wednesday
  EXPECT_EQ(calendar.NthWorkingDayAfter(D(2026, 3, 9), 3), D(2026, 3, 13));
}

TEST(WorkCalendar, AMakeUpSaturdayCounts) {
  WorkCalendar calendar;
  ASSERT_EQ(weekday{D(2026, 3, 14)}, std::chrono::Saturday);
  calendar.SetWorkday(D(2026, 3, 14));
  EXPECT_TRUE(calendar.IsWorkingDay(D(2026, 3, 14)));
  EXPECT_EQ(calendar.NthWorkingDayAfter(D(2026, 3, 13), 1), D(2026, 3, 14));
}

TEST(WorkCalendar, ClearingADayRestoresTheWeekendRule) {
  WorkCalendar calendar;
  calendar.SetWorkday(D(2026, 3, 14));
  calendar.SetHoliday(D(2026, 3, 11));
  calendar.Clear(D(2026, 3, 14));
  calendar.Clear(D(2026, 3, 11));
  EXPECT_FALSE(calendar.IsWorkingDay(D(2026, 3, 14)));
  EXPECT_TRUE(calendar.IsWorkingDay(D(2026, 3, 11)));
}

TEST(WorkCalendar, MarkingADayReplacesItsEarlierMark) {
  WorkCalendar calendar;
  calendar.SetHoliday(D(2026, 3, 11));
  calendar.SetWorkday(D(2026, 3, 11));
  EXPECT_TRUE(calendar.IsWorkingDay(D(2026, 3, 11)));
  EXPECT_EQ(calendar.holidays().count(D(2026, 3, 11)), 0u);
}

TEST(WorkCalendar, TheNationalHolidaysOf2026SkipTheGoldenWeekAndCountItsMakeUpSaturday) {
  WorkCalendar calendar = National2026();
  // 1-7 October off, 10 October (Saturday) worked.
  EXPECT_EQ(calendar.NthWorkingDayAfter(D(2026, 9, 30), 1), D(2026, 10, 8));
  EXPECT_EQ(calendar.NthWorkingDayAfter(D(2026, 9, 30), 3), D(2026, 10, 10));
  EXPECT_EQ(calendar.NthWorkingDayAfter(D(2026, 9, 30), 4), D(2026, 10, 12));
}

TEST(WorkCalendar, WorkingDaysBetweenAgreesWithNthWorkingDayAfterOverAYear) {
  WorkCalendar calendar = National2026();
  Day start = D(2025, 12, 20);
  for (int n = 1; n <= 320; ++n) {
    Day nth = calendar.NthWorkingDayAfter(start, n);
    ASSERT_TRUE(calendar.IsWorkingDay(nth)) << n;
    ASSERT_EQ(calendar.WorkingDaysBetween(start + days{1}, nth + days{1}), n) << n;
  }
}

TEST(WorkCalendar, The2026CalendarHas248WorkingDays) {
  // 261 weekdays (52 weeks and a Thursday), 19 of them in a holiday period
  // (2 + 6 + 1 + 3 + 1 + 1 + 5), plus 6 make-up weekend days.
  EXPECT_EQ(National2026().WorkingDaysBetween(D(2026, 1, 1), D(2027, 1, 1)), 248);
}

TEST(WorkCalendar, WorkingDaysBetweenIsZeroForAnEmptyOrReversedRange) {
  WorkCalendar calendar;
  EXPECT_EQ(calendar.WorkingDaysBetween(D(2026, 3, 9), D(2026, 3, 9)), 0);
  EXPECT_EQ(calendar.WorkingDaysBetween(D(2026, 3, 13), D(2026, 3, 9)), 0);
}

// ---- Deadlines ----

TEST(Deadline, TheStartDayNeverCountsEvenFromItsFirstMillisecond) {
  WorkCalendar calendar;
  TimeLimit one{1, TimeUnit::kWorkingDays};
  EXPECT_EQ(calendar.Deadline(StartOfDay(D(2026, 3, 9)), one), EndOfDay(D(2026, 3, 10)));
  EXPECT_EQ(calendar.Deadline(At(D(2026, 3, 9), 9), one), EndOfDay(D(2026, 3, 10)));
}

TEST(Deadline, AcceptanceOnAFridayEveningCountsFromMonday) {
  WorkCalendar calendar;
  ASSERT_EQ(weekday{D(2026, 3, 13)}, std::chrono::Friday);
  EXPECT_EQ(calendar.Deadline(At(D(2026, 3, 13), 20), {3, TimeUnit::kWorkingDays}),
            EndOfDay(D(2026, 3, 18)));
}

TEST(Deadline, AcceptanceOnAHolidayCountsFromTheNextWorkingDay) {
  WorkCalendar calendar = National2026();
  // Saturday 3 October, in the Golden Week: 8, 9, 10 (make-up), 12, 13.
  EXPECT_EQ(calendar.Deadline(At(D(2026, 10, 3), 10), {5, TimeUnit::kWorkingDays}),
            EndOfDay(D(2026, 10, 13)));
}

TEST(Deadline, AcceptanceJustBeforeCstMidnightCountsADayEarlierThanJustAfter) {
  WorkCalendar calendar;
  TimeLimit one{1, TimeUnit::kWorkingDays};
  int64_t midnight = StartOfDay(D(2026, 3, 10));  // Monday/Tuesday
  EXPECT_EQ(calendar.Deadline(midnight - 1, one), EndOfDay(D(2026, 3, 10)));
  EXPECT_EQ(calendar.Deadline(midnight, one), EndOfDay(D(2026, 3, 11)));
}

TEST(Deadline, NaturalDaysCountWeekendsAndHolidays) {
  WorkCalendar calendar = National2026();
  EXPECT_EQ(calendar.Deadline(At(D(2026, 9, 30), 10), {3, TimeUnit::kNaturalDays}),
            EndOfDay(D(2026, 10, 3)));
}

TEST(Deadline, HoursAreClockHoursFromTheStartInstant) {
  WorkCalendar calendar;
  int64_t start = At(D(2026, 3, 13), 22, 30);  // Friday night: no working-day rule
  EXPECT_EQ(calendar.Deadline(start, {5, TimeUnit::kHours}), start + 5 * 3'600'000);
}

TEST(Deadline, AMonthIsThirtyNaturalDays) {
  WorkCalendar calendar;
  EXPECT_EQ(calendar.Deadline(At(D(2026, 3, 13), 10), {2, TimeUnit::kMonths}),
            EndOfDay(D(2026, 5, 12)));
}

TEST(Deadline, AYearIsThreeHundredSixtyFiveNaturalDays) {
  WorkCalendar calendar;
  EXPECT_EQ(calendar.Deadline(At(D(2027, 12, 31), 10), {1, TimeUnit::kYears}),
            EndOfDay(D(2028, 12, 30)));  // 2028 is a leap year: not the same date
}

TEST(Deadline, NoLimitHasNoDeadline) {
  WorkCalendar calendar;
  EXPECT_EQ(calendar.Deadline(At(D(2026, 3, 13), 10), {0, TimeUnit::kWorkingDays}), 0);
  EXPECT_EQ(calendar.Deadline(At(D(2026, 3, 13), 10), {0, TimeUnit::kHours}, 3), 0);
}

TEST(Deadline, ALongWorkingDayLimitPastTheLastHolidayCountsWholeWeeks) {
  WorkCalendar calendar;
  calendar.SetHoliday(D(2026, 3, 11));
  // 3 working days to Friday 13 March, then 100 weeks of 5.
  EXPECT_EQ(calendar.Deadline(At(D(2026, 3, 9), 9), {503, TimeUnit::kWorkingDays}),
            EndOfDay(D(2026, 3, 13) + days{700}));
}

// ---- Clock stops ----

TEST(ClockStop, StoppedDaysMoveAWorkingDayDeadlineByThatManyWorkingDays) {
  WorkCalendar calendar;
  // Monday + 3 = Thursday; two stopped working days move it over the weekend.
  EXPECT_EQ(calendar.Deadline(At(D(2026, 3, 9), 9), {3, TimeUnit::kWorkingDays}, 2),
            EndOfDay(D(2026, 3, 16)));
}

TEST(ClockStop, StoppedDaysMoveANaturalDayDeadlineByWorkingDays) {
  WorkCalendar calendar;
  // Wednesday + 3 natural days = Saturday; one stopped working day: Monday.
  EXPECT_EQ(calendar.Deadline(At(D(2026, 3, 11), 9), {3, TimeUnit::kNaturalDays}, 1),
            EndOfDay(D(2026, 3, 16)));
}

TEST(ClockStop, StoppedDaysMoveAnHourDeadlineByTwentyFourHoursEach) {
  WorkCalendar calendar;
  int64_t start = At(D(2026, 3, 13), 15);
  EXPECT_EQ(calendar.Deadline(start, {4, TimeUnit::kHours}, 2),
            start + 4 * 3'600'000 + 2 * 86'400'000);
}

TEST(ClockStop, AStopAndResumeOnTheSameDayAddsNothing) {
  WorkCalendar calendar;
  Day day = D(2026, 3, 11);
  int stopped = calendar.WorkingDaysBetween(day, day);
  EXPECT_EQ(stopped, 0);
  TimeLimit limit{3, TimeUnit::kWorkingDays};
  int64_t start = At(D(2026, 3, 9), 9);
  EXPECT_EQ(calendar.Deadline(start, limit, stopped), calendar.Deadline(start, limit));
}

TEST(ClockStop, TheStoppingDayCountsAndTheResumingDayDoesNot) {
  WorkCalendar calendar;
  // Stopped Wednesday, resumed Friday: Wednesday and Thursday were stopped.
  EXPECT_EQ(calendar.WorkingDaysBetween(D(2026, 3, 11), D(2026, 3, 13)), 2);
}

TEST(ClockStop, AStopOverTheGoldenWeekCountsOnlyItsWorkingDays) {
  WorkCalendar calendar = National2026();
  // Stopped Wednesday 30 September, resumed Friday 9 October: 30 Sep and 8 Oct.
  EXPECT_EQ(calendar.WorkingDaysBetween(D(2026, 9, 30), D(2026, 10, 9)), 2);
}

TEST(ClockStop, NegativeStoppedDaysAreIgnored) {
  WorkCalendar calendar;
  int64_t start = At(D(2026, 3, 9), 9);
  TimeLimit limit{3, TimeUnit::kWorkingDays};
  EXPECT_EQ(calendar.Deadline(start, limit, -2), calendar.Deadline(start, limit));
}

// ---- Lights ----

TEST(Lights, NoDeadlineHasNoLight) {
  WorkCalendar calendar;
  EXPECT_EQ(calendar.LightAt(0, At(D(2026, 3, 9), 9)), Light::kNone);
}

TEST(Lights, YellowStartsAtTheFirstMillisecondOfTheLastWorkingDayBeforeTheDeadlineDay) {
  WorkCalendar calendar;
  int64_t deadline = EndOfDay(D(2026, 3, 12));  // Thursday
  int64_t yellow_from = StartOfDay(D(2026, 3, 11));
  EXPECT_EQ(calendar.LightAt(deadline, yellow_from - 1), Light::kGreen);
  EXPECT_EQ(calendar.LightAt(deadline, yellow_from), Light::kYellow);
}

TEST(Lights, RedStartsTheMillisecondAfterTheDeadline) {
  WorkCalendar calendar;
  int64_t deadline = EndOfDay(D(2026, 3, 12));
  EXPECT_EQ(calendar.LightAt(deadline, deadline), Light::kYellow);
  EXPECT_EQ(calendar.LightAt(deadline, deadline + 1), Light::kRed);
}

TEST(Lights, ADeadlineOnMondayTurnsYellowOnFriday) {
  WorkCalendar calendar;
  int64_t deadline = EndOfDay(D(2026, 3, 16));
  EXPECT_EQ(calendar.LightAt(deadline, StartOfDay(D(2026, 3, 13)) - 1), Light::kGreen);
  EXPECT_EQ(calendar.LightAt(deadline, StartOfDay(D(2026, 3, 13))), Light::kYellow);
}

TEST(Lights, ADeadlineAfterTheGoldenWeekTurnsYellowOnTheLastDayBeforeIt) {
  WorkCalendar calendar = National2026();
  int64_t deadline = EndOfDay(D(2026, 10, 8));
  EXPECT_EQ(calendar.LightAt(deadline, StartOfDay(D(2026, 9, 30)) - 1), Light::kGreen);
  EXPECT_EQ(calendar.LightAt(deadline, StartOfDay(D(2026, 9, 30))), Light::kYellow);
}

TEST(Lights, AnHourDeadlineTurnsYellowAtTheStartOfThePreviousWorkingDay) {
  WorkCalendar calendar;
  int64_t deadline = At(D(2026, 3, 11), 10);  // Wednesday 10:00
  EXPECT_EQ(calendar.LightAt(deadline, StartOfDay(D(2026, 3, 10)) - 1), Light::kGreen);
  EXPECT_EQ(calendar.LightAt(deadline, StartOfDay(D(2026, 3, 10))), Light::kYellow);
  EXPECT_EQ(calendar.LightAt(deadline, deadline + 1), Light::kRed);
}

// ---- The 2026 notice ----

TEST(NationalCalendar2026, TheDatesFallOnTheWeekdaysTheNoticeNames) {
  WorkCalendar calendar = National2026();
  struct Named {
    Day day;
    weekday named;
  };
  using std::chrono::Friday, std::chrono::Monday, std::chrono::Saturday, std::chrono::Sunday,
      std::chrono::Thursday, std::chrono::Tuesday, std::chrono::Wednesday;
  for (auto [day, named] : std::vector<Named>{{D(2026, 1, 1), Thursday},
                                              {D(2026, 1, 3), Saturday},
                                              {D(2026, 2, 15), Sunday},
                                              {D(2026, 2, 23), Monday},
                                              {D(2026, 4, 4), Saturday},
                                              {D(2026, 4, 6), Monday},
                                              {D(2026, 5, 1), Friday},
                                              {D(2026, 5, 5), Tuesday},
                                              {D(2026, 6, 19), Friday},
                                              {D(2026, 6, 21), Sunday},
                                              {D(2026, 9, 25), Friday},
                                              {D(2026, 9, 27), Sunday},
                                              {D(2026, 10, 1), Thursday},
                                              {D(2026, 10, 7), Wednesday}}) {
    EXPECT_EQ(weekday{day}, named) << FormatDay(day);
    EXPECT_EQ(calendar.holidays().count(day), 1u) << FormatDay(day);
  }
  for (auto [day, named] : std::vector<Named>{{D(2026, 1, 4), Sunday},
                                              {D(2026, 2, 14), Saturday},
                                              {D(2026, 2, 28), Saturday},
                                              {D(2026, 5, 9), Saturday},
                                              {D(2026, 9, 20), Sunday},
                                              {D(2026, 10, 10), Saturday}}) {
    EXPECT_EQ(weekday{day}, named) << FormatDay(day);
    EXPECT_TRUE(calendar.IsWorkingDay(day)) << FormatDay(day);
  }
  EXPECT_EQ(calendar.holidays().size(), 3u + 9 + 3 + 5 + 3 + 3 + 7);
  EXPECT_EQ(calendar.workdays().size(), 6u);
}

// ---- CalendarStore ----

class CalendarStoreTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    std::string url = store_test::FreshDatabaseUrl(GetParam(), dir_, &why);
    if (GetParam() == "mariadb") {
      ASSERT_FALSE(url.empty()) << why;
    }
    if (url.empty()) GTEST_SKIP() << why;
    auto opened = SqlStore::Open(url, 2);
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    sql_ = std::move(opened).value();
    Status migrated = sql_->Migrate(CalendarStore::Migrations());
    ASSERT_TRUE(migrated.ok()) << migrated.error().message;
    store_ = std::make_unique<CalendarStore>(*sql_);
  }

  Result<std::vector<std::string>> Import(const std::string& csv) {
    std::istringstream in(csv);
    return store_->ImportCsv(in);
  }

  std::vector<CalendarEntry> All(std::string_view division) {
    auto entries = store_->List(division, D(1000, 1, 1), D(9999, 12, 31) + days{1});
    EXPECT_TRUE(entries.ok()) << entries.error().message;
    return entries.ok() ? *entries : std::vector<CalendarEntry>{};
  }

  store_test::TempDir dir_;
  std::unique_ptr<SqlStore> sql_;
  std::unique_ptr<CalendarStore> store_;
};

INSTANTIATE_TEST_SUITE_P(Backends, CalendarStoreTest,
                         ::testing::Values("sqlite", "postgres", "mariadb"),
                         [](const auto& info) { return info.param; });

TEST_P(CalendarStoreTest, PutListAndRemoveRoundTrip) {
  ASSERT_TRUE(store_->Put({"330100", D(2026, 3, 11), DayKind::kHoliday, "亚运纪念日, \"试\"\n"}).ok());
  ASSERT_TRUE(store_->Put({"330100", D(2026, 3, 14), DayKind::kWorkday, ""}).ok());
  ASSERT_TRUE(store_->Put({"330200", D(2026, 3, 12), DayKind::kHoliday, "其他"}).ok());
  auto listed = store_->List("330100", D(2026, 3, 1), D(2026, 4, 1));
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 2u);
  EXPECT_EQ((*listed)[0].division, "330100");
  EXPECT_EQ((*listed)[0].day, D(2026, 3, 11));
  EXPECT_EQ((*listed)[0].kind, DayKind::kHoliday);
  EXPECT_EQ((*listed)[0].note, "亚运纪念日, \"试\"\n");
  EXPECT_EQ((*listed)[1].day, D(2026, 3, 14));
  EXPECT_EQ((*listed)[1].kind, DayKind::kWorkday);
  ASSERT_TRUE(store_->Remove("330100", D(2026, 3, 11)).ok());
  EXPECT_EQ(All("330100").size(), 1u);
}

TEST_P(CalendarStoreTest, ListIsHalfOpen) {
  ASSERT_TRUE(store_->Put({"", D(2026, 3, 11), DayKind::kHoliday, ""}).ok());
  ASSERT_TRUE(store_->Put({"", D(2026, 3, 12), DayKind::kHoliday, ""}).ok());
  auto listed = store_->List("", D(2026, 3, 11), D(2026, 3, 12));
  ASSERT_TRUE(listed.ok()) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].day, D(2026, 3, 11));
}

TEST_P(CalendarStoreTest, PuttingADayAgainReplacesItsEntry) {
  ASSERT_TRUE(store_->Put({"", D(2026, 3, 11), DayKind::kHoliday, "a"}).ok());
  ASSERT_TRUE(store_->Put({"", D(2026, 3, 11), DayKind::kWorkday, "b"}).ok());
  auto all = All("");
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].kind, DayKind::kWorkday);
  EXPECT_EQ(all[0].note, "b");
}

TEST_P(CalendarStoreTest, RemovingADayWithoutAnEntryIsNotFound) {
  Status removed = store_->Remove("330100", D(2026, 3, 11));
  ASSERT_FALSE(removed.ok());
  EXPECT_EQ(removed.error().code, errc::kNotFound);
}

TEST_P(CalendarStoreTest, PutRejectsWhatCannotBeStored) {
  EXPECT_EQ(store_->Put({"abc", D(2026, 3, 11), DayKind::kHoliday, ""}).error().code,
            errc::kInvalidArgument);
  EXPECT_EQ(store_->Put({"", D(10000, 1, 1), DayKind::kHoliday, ""}).error().code,
            errc::kInvalidArgument);
  EXPECT_EQ(store_->Put({"", D(2026, 3, 11), DayKind::kHoliday, "\xff"}).error().code,
            errc::kInvalidArgument);
  EXPECT_EQ(store_->Put({"", D(2026, 3, 11), DayKind::kHoliday,
                         std::string(CalendarStore::kMaxNoteBytes + 1, 'x')})
                .error()
                .code,
            errc::kInvalidArgument);
  EXPECT_TRUE(All("").empty());
}

TEST_P(CalendarStoreTest, ADivisionInheritsTheDefaultCalendarAndOverridesIt) {
  auto touched = Import(std::string(ChinaHolidaysCsv2026()));
  ASSERT_TRUE(touched.ok()) << touched.error().message;
  // Hangzhou (330100) takes 9 October off and works on 2 October.
  ASSERT_TRUE(store_->Put({"330100", D(2026, 10, 9), DayKind::kHoliday, "本地"}).ok());
  ASSERT_TRUE(store_->Put({"330100", D(2026, 10, 2), DayKind::kWorkday, "本地"}).ok());
  auto local = store_->Load("330100");
  ASSERT_TRUE(local.ok()) << local.error().message;
  EXPECT_FALSE(local->IsWorkingDay(D(2026, 10, 9)));
  EXPECT_TRUE(local->IsWorkingDay(D(2026, 10, 2)));
  EXPECT_FALSE(local->IsWorkingDay(D(2026, 10, 1)));  // inherited
  auto other = store_->Load("330200");
  ASSERT_TRUE(other.ok()) << other.error().message;
  EXPECT_TRUE(other->IsWorkingDay(D(2026, 10, 9)));
  EXPECT_FALSE(other->IsWorkingDay(D(2026, 10, 2)));
  EXPECT_EQ(other->holidays().size(), 33u);
  EXPECT_EQ(other->workdays().size(), 6u);
}

TEST_P(CalendarStoreTest, ImportingTheNationalCalendarTouchesTheDefault) {
  auto touched = Import(std::string(ChinaHolidaysCsv2026()));
  ASSERT_TRUE(touched.ok()) << touched.error().message;
  EXPECT_EQ(*touched, std::vector<std::string>{""});
  EXPECT_EQ(All("").size(), 39u);
}

TEST_P(CalendarStoreTest, ImportAcceptsChineseKindsQuotesCrlfAndABom) {
  auto touched = Import(
      "\xEF\xBB\xBF"
      "division,date,kind,note\r\n"
      "330100,2026/10/9,休,\"杭州, 本地\"\r\n"
      "\r\n"
      "330200,20261010,班,\r\n"
      "330100,2026-10-12, holiday ,'=SUM(A1)\r\n");
  ASSERT_TRUE(touched.ok()) << touched.error().message;
  EXPECT_EQ(*touched, (std::vector<std::string>{"330100", "330200"}));
  auto hz = All("330100");
  ASSERT_EQ(hz.size(), 2u);
  EXPECT_EQ(hz[0].note, "杭州, 本地");
  EXPECT_EQ(hz[0].kind, DayKind::kHoliday);
  EXPECT_EQ(hz[1].note, "=SUM(A1)");
  auto nb = All("330200");
  ASSERT_EQ(nb.size(), 1u);
  EXPECT_EQ(nb[0].kind, DayKind::kWorkday);
}

TEST_P(CalendarStoreTest, ABadRowStoresNothingAndNamesItsLine) {
  auto touched = Import(
      "division,date,kind,note\n"
      "330100,2026-10-09,holiday,ok\n"
      "330100,2026-10-10,vacation,bad\n");
  ASSERT_FALSE(touched.ok());
  EXPECT_EQ(touched.error().code, errc::kInvalidArgument);
  EXPECT_NE(touched.error().message.find("line 3"), std::string::npos) << touched.error().message;
  EXPECT_TRUE(All("330100").empty());
}

TEST_P(CalendarStoreTest, ABadDateNamesItsLine) {
  auto touched = Import("division,date,kind,note\n,2026-02-30,holiday,\n");
  ASSERT_FALSE(touched.ok());
  EXPECT_NE(touched.error().message.find("line 2"), std::string::npos) << touched.error().message;
  EXPECT_TRUE(All("").empty());
}

TEST_P(CalendarStoreTest, ABadDivisionNamesItsLine) {
  auto touched = Import("division,date,kind,note\n,2026-10-01,holiday,\n99x,2026-10-02,holiday,\n");
  ASSERT_FALSE(touched.ok());
  EXPECT_NE(touched.error().message.find("line 3"), std::string::npos) << touched.error().message;
  EXPECT_TRUE(All("").empty());
}

TEST_P(CalendarStoreTest, ADayTwiceInOneImportIsRefused) {
  auto touched = Import(
      "division,date,kind,note\n"
      ",2026-10-01,holiday,\n"
      ",20261001,workday,\n");
  ASSERT_FALSE(touched.ok());
  EXPECT_NE(touched.error().message.find("line 3"), std::string::npos) << touched.error().message;
  EXPECT_NE(touched.error().message.find("line 2"), std::string::npos) << touched.error().message;
  EXPECT_TRUE(All("").empty());
}

TEST_P(CalendarStoreTest, AnImportWithoutTheHeaderIsRefused) {
  auto touched = Import(",2026-10-01,holiday,\n");
  ASSERT_FALSE(touched.ok());
  EXPECT_NE(touched.error().message.find("line 1"), std::string::npos) << touched.error().message;
  EXPECT_TRUE(All("").empty());
}

TEST_P(CalendarStoreTest, AnUnterminatedQuoteIsRefused) {
  auto touched = Import("division,date,kind,note\n,2026-10-01,holiday,\"open\n");
  ASSERT_FALSE(touched.ok());
  EXPECT_TRUE(All("").empty());
}

TEST_P(CalendarStoreTest, ExportReadsBackAsTheSameEntries) {
  ASSERT_TRUE(store_->Put({"330100", D(2026, 10, 9), DayKind::kHoliday, "a, \"b\"\nc"}).ok());
  ASSERT_TRUE(store_->Put({"330100", D(2026, 10, 10), DayKind::kWorkday, "=1+1"}).ok());
  ASSERT_TRUE(store_->Put({"330200", D(2026, 10, 11), DayKind::kWorkday, "not exported"}).ok());
  std::ostringstream out;
  Status exported = store_->ExportCsv("330100", out);
  ASSERT_TRUE(exported.ok()) << exported.error().message;
  EXPECT_EQ(out.str().find("not exported"), std::string::npos);
  EXPECT_NE(out.str().find("'=1+1"), std::string::npos) << out.str();  // defused for spreadsheets

  auto before = All("330100");
  ASSERT_TRUE(store_->Remove("330100", D(2026, 10, 9)).ok());
  ASSERT_TRUE(store_->Remove("330100", D(2026, 10, 10)).ok());
  auto touched = Import(out.str());
  ASSERT_TRUE(touched.ok()) << touched.error().message;
  auto after = All("330100");
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].day, before[i].day);
    EXPECT_EQ(after[i].kind, before[i].kind);
    EXPECT_EQ(after[i].note, before[i].note);
  }
}

}  // namespace
}  // namespace tongban::approval
