// SystemClock reads the coarse wall clock: it must agree with the precise
// one to within a kernel tick and never run backwards; FakeClock moves only
// when told.
#include "core/clock.h"

#include <gtest/gtest.h>

#include <chrono>

namespace tongban {
namespace {

using namespace std::chrono_literals;

TEST(SystemClockTest, AgreesWithThePreciseWallClockWithinATick) {
  for (int i = 0; i < 1000; ++i) {
    const auto before = std::chrono::system_clock::now();
    const auto coarse = SystemClock::Instance().Now();
    const auto after = std::chrono::system_clock::now();
    // Coarse time trails the precise time by at most a tick (<= 4 ms; 50 ms
    // leaves room for a descheduled thread) and is never ahead of it.
    EXPECT_LE(coarse, after);
    EXPECT_GE(coarse, before - 50ms);
  }
}

TEST(SystemClockTest, NeverRunsBackwards) {
  int64_t last = SystemClock::Instance().NowMillis();
  for (int i = 0; i < 100'000; ++i) {
    const int64_t now = SystemClock::Instance().NowMillis();
    ASSERT_GE(now, last);
    last = now;
  }
}

TEST(FakeClockTest, MovesOnlyWhenAdvancedOrSet) {
  FakeClock clock;
  const int64_t start = clock.NowMillis();
  EXPECT_EQ(clock.NowMillis(), start);
  clock.Advance(1500ms);
  EXPECT_EQ(clock.NowMillis(), start + 1500);
  clock.Set(Clock::time_point(std::chrono::seconds(42)));
  EXPECT_EQ(clock.NowMillis(), 42'000);
}

}  // namespace
}  // namespace tongban
