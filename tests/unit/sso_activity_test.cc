// Activity: per-minute validation counts for the dashboard, a day deep.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "sso/activity.h"

namespace tongban::sso {
namespace {

constexpr int64_t kMinute = 60'000;
constexpr int64_t kNoon = 29'000'000 * kMinute + 12 * 60 * kMinute;

TEST(ActivityTest, CountsLandInTheirMinuteOldestFirst) {
  Activity activity;
  activity.CountValidation(kNoon - 2 * kMinute);
  activity.CountValidation(kNoon + 10);
  activity.CountValidation(kNoon + 59'999);
  EXPECT_EQ(activity.Validations(kNoon + 30'000, 3), (std::vector<int64_t>{1, 0, 2}));
}

TEST(ActivityTest, ADayOldMinuteIsNotMistakenForToday) {
  Activity activity;
  activity.CountValidation(kNoon - Activity::kMinutes * kMinute);
  EXPECT_EQ(activity.Validations(kNoon, 1), (std::vector<int64_t>{0}));
  activity.CountValidation(kNoon);
  EXPECT_EQ(activity.Validations(kNoon, 1), (std::vector<int64_t>{1}));
}

TEST(ActivityTest, ConcurrentCountsWithinOneMinuteAreAllKept) {
  Activity activity;
  activity.CountValidation(kNoon);  // the minute's bucket is taken over once, here
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10'000; ++i) activity.CountValidation(kNoon + i % 1000);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(activity.Validations(kNoon, 1), (std::vector<int64_t>{40'001}));
}

TEST(ActivityTest, TheWindowIsClampedToOneDay) {
  Activity activity;
  EXPECT_EQ(activity.Validations(kNoon, 5000).size(), static_cast<size_t>(Activity::kMinutes));
  EXPECT_TRUE(activity.Validations(kNoon, -1).empty());
}

}  // namespace
}  // namespace tongban::sso
