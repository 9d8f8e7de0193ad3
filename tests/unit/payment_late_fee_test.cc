// Late fees (滞纳金) at their edges — the expiry day, the day after, the start
// date, the cap, leap years, rounding — and the money / China-time helpers of
// payment/model.h they rest on. Pure functions: no database.
#include <gtest/gtest.h>

#include "payment/late_fee.h"
#include "payment/model.h"

namespace tongban::payment {
namespace {

NoticeLine Line(int64_t amount_fen, int64_t rate_ppm, int64_t cap_fen = 0,
                std::string start = "") {
  NoticeLine l;
  l.chitcode = "001";
  l.amount_fen = amount_fen;
  l.late_fee = {true, std::move(start), rate_ppm, cap_fen};
  return l;
}

int64_t At(const char* date, const char* time = "120000") {
  auto ms = ParseChinaDateTime(date, time);
  EXPECT_TRUE(ms.has_value()) << date << " " << time;
  return ms.value_or(0);
}

TEST(LateDays, PayingOnTheExpiryDayIsNotLate) {
  EXPECT_EQ(LateDays("20260310", "", "20260310"), 0);
  EXPECT_EQ(LateDays("20260310", "", "20260301"), 0);
}

TEST(LateDays, CountingStartsTheDayAfterExpiryAndIncludesThePaymentDay) {
  EXPECT_EQ(LateDays("20260310", "", "20260311"), 1);
  EXPECT_EQ(LateDays("20260310", "", "20260320"), 10);
}

TEST(LateDays, TheTwentyNinthOfFebruaryCountsInALeapYearOnly) {
  EXPECT_EQ(LateDays("20240228", "", "20240301"), 2);  // 29 Feb, 1 Mar
  EXPECT_EQ(LateDays("20230228", "", "20230301"), 1);
  EXPECT_EQ(LateDays("20000228", "", "20000301"), 2);  // 2000 is a leap year
  EXPECT_EQ(LateDays("21000228", "", "21000301"), 1);  // 2100 is not
  EXPECT_EQ(LateDays("20231231", "", "20241231"), 366);
}

TEST(LateDays, ALaterStartDateShortensTheCountAnEarlierOneDoesNot) {
  // Start date after the expiry: counted from the start date, inclusive.
  EXPECT_EQ(LateDays("20260310", "20260315", "20260320"), 6);
  EXPECT_EQ(LateDays("20260310", "20260315", "20260314"), 0);
  EXPECT_EQ(LateDays("20260310", "20260315", "20260315"), 1);
  // Before the expiry: never charged for days the payer still had.
  EXPECT_EQ(LateDays("20260310", "20260301", "20260312"), 2);
}

TEST(LateFee, IsAmountTimesRateTimesDaysRoundedHalfUpOnce) {
  // 1000.00 yuan at 0.5‰ a day for 3 days = 1.50 yuan.
  EXPECT_EQ(LineLateFeeFen(Line(100000, 500), "20260310", "20260313"), 150);
  // 33 fen × 3% × 1 day = 0.99 fen → 1 fen; × 0.5‰ = 0.0165 → 0.
  EXPECT_EQ(LineLateFeeFen(Line(33, 30000), "20260310", "20260311"), 1);
  EXPECT_EQ(LineLateFeeFen(Line(33, 500), "20260310", "20260311"), 0);
  // Exactly half a fen rounds up: 100 fen × 0.5% × 1 = 0.5 fen → 1.
  EXPECT_EQ(LineLateFeeFen(Line(100, 5000), "20260310", "20260311"), 1);
  // 0.49 fen rounds down.
  EXPECT_EQ(LineLateFeeFen(Line(98, 5000), "20260310", "20260311"), 0);
}

TEST(LateFee, RoundingOnceDiffersFromRoundingEachDay) {
  // 0.3 fen a day for 10 days = 3 fen (per-day rounding would give 0).
  EXPECT_EQ(LineLateFeeFen(Line(100, 3000), "20260310", "20260320"), 3);
}

TEST(LateFee, IsCappedAtTheLineAmountWithoutAnExplicitCap) {
  // 3% a day for 100 days would be 300% of the amount.
  EXPECT_EQ(LineLateFeeFen(Line(10000, 30000), "20260101", "20260411"), 10000);
}

TEST(LateFee, AnExplicitCapWinsWhenLower) {
  EXPECT_EQ(LineLateFeeFen(Line(10000, 30000, 2500), "20260101", "20260411"), 2500);
  // A cap above the fee changes nothing.
  EXPECT_EQ(LineLateFeeFen(Line(10000, 30000, 99999), "20260101", "20260102"), 300);
}

TEST(LateFee, HugeAmountsDoNotOverflow) {
  // 10^12 fen at 3% for 3650 days: the product exceeds 64 bits; the cap holds.
  EXPECT_EQ(LineLateFeeFen(Line(1'000'000'000'000, 30000, 5), "20000101", "20100101"), 5);
  EXPECT_EQ(LineLateFeeFen(Line(1'000'000'000'000, 1, 0), "20000101", "20000102"), 1'000'000);
}

TEST(LateFee, DisabledOrZeroRateLinesAccrueNothing) {
  NoticeLine l = Line(100000, 500);
  l.late_fee.enabled = false;
  EXPECT_EQ(LineLateFeeFen(l, "20260310", "20260410"), 0);
  EXPECT_EQ(LineLateFeeFen(Line(100000, 0), "20260310", "20260410"), 0);
}

TEST(LateFee, ANoticeAddsItsLinesOnlyWhenItCountsOverdue) {
  PaymentNotice n;
  n.lines = {Line(100000, 500), Line(20000, 1000)};
  n.total_fen = 120000;
  n.expires_at_ms = At("20260310", "235959");
  n.count_overdue = true;
  // Paid at 00:00:30 on 12 March China time: 2 days late.
  int64_t pay = At("20260312", "000030");
  EXPECT_EQ(NoticeLateFeeFen(n, pay), 100 + 40);
  EXPECT_EQ(AmountDueFen(n, pay), 120140);
  // Before midnight of the expiry day in China (16:00 UTC) nothing is due.
  EXPECT_EQ(NoticeLateFeeFen(n, At("20260310", "235959")), 0);
  n.count_overdue = false;
  EXPECT_EQ(NoticeLateFeeFen(n, pay), 0);
  n.count_overdue = true;
  n.expires_at_ms = 0;
  EXPECT_EQ(NoticeLateFeeFen(n, pay), 0);
}

TEST(Money, YuanFormatsWithTwoDecimalsAndParsesExactly) {
  EXPECT_EQ(FormatYuan(0), "0.00");
  EXPECT_EQ(FormatYuan(5), "0.05");
  EXPECT_EQ(FormatYuan(123456), "1234.56");
  EXPECT_EQ(FormatYuan(-5), "-0.05");
  EXPECT_EQ(FormatYuan(INT64_MIN), "-92233720368547758.08");
  EXPECT_EQ(ParseYuan("12"), 1200);
  EXPECT_EQ(ParseYuan("12.3"), 1230);
  EXPECT_EQ(ParseYuan("0.01"), 1);
  EXPECT_EQ(ParseYuan("-1.5", true), -150);
  for (const char* bad : {"", ".", "1.", ".5", "1.234", "-1", "1e3", "1,000", " 1", "+1",
                          "12345678901234"}) {
    EXPECT_FALSE(ParseYuan(bad).has_value()) << bad;
  }
}

TEST(Money, CountsKeepThreeDecimals) {
  EXPECT_EQ(ParseCount("1"), 1000);
  EXPECT_EQ(ParseCount("0.125"), 125);
  EXPECT_FALSE(ParseCount("0").has_value());
  EXPECT_FALSE(ParseCount("0.0001").has_value());
  EXPECT_EQ(FormatCount(1500), "1.5");
  EXPECT_EQ(FormatCount(125), "0.125");
  EXPECT_EQ(FormatCount(2000), "2");
}

TEST(ChinaTime, DatesAndTimesAreUtcPlusEight) {
  int64_t ms = At("20260101", "000000");
  EXPECT_EQ(ms, 1'767'196'800'000);  // 2025-12-31T16:00:00Z
  EXPECT_EQ(ChinaDate(ms), "20260101");
  EXPECT_EQ(ChinaTime(ms), "000000");
  EXPECT_EQ(ChinaDate(ms - 1), "20251231");
  EXPECT_EQ(ChinaTime(ms - 1), "235959");
  EXPECT_EQ(*ParseChinaDateTime("20260101", ""), ms + 86'399'000);  // end of day
  for (auto [d, t] : {std::pair{"20230229", "000000"}, {"20261301", "000000"},
                      {"2026010", "000000"}, {"20260101", "240000"}, {"20260101", "12345"}}) {
    EXPECT_FALSE(ParseChinaDateTime(d, t).has_value()) << d << t;
  }
  EXPECT_TRUE(ParseChinaDateTime("20240229", "000000").has_value());
}

TEST(Notice, NumberIsTheChannelFollowedByTheOriginalNumber) {
  EXPECT_EQ(MakeNoticeNo("330001296", "FS0001934251"), "330001296FS0001934251");
}

TEST(NoticeState, ParsesNamesChineseAndCodes) {
  EXPECT_EQ(ParseNoticeState("paid"), NoticeState::kPaid);
  EXPECT_EQ(ParseNoticeState("作废"), NoticeState::kCancelled);
  EXPECT_EQ(ParseNoticeState("5"), NoticeState::kRefunded);
  EXPECT_FALSE(ParseNoticeState("6").has_value());
  EXPECT_FALSE(ParseNoticeState("").has_value());
}

}  // namespace
}  // namespace tongban::payment
