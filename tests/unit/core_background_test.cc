#include "core/background.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tongban {
namespace {

TEST(RunGuardedPassTest, APassThatReturnsIsReportedDone) {
  int runs = 0;
  EXPECT_TRUE(RunGuardedPass("test loop", [&] { ++runs; }));
  EXPECT_EQ(runs, 1);
}

// What ended the process before (session 12): an exception out of a loop's
// pass on a background thread. Now the pass is skipped and the loop goes on.
TEST(RunGuardedPassTest, APassThatThrowsIsSkippedAndTheLoopGoesOn) {
  int passes = 0;
  for (int i = 0; i < 3; ++i) {
    const bool done = RunGuardedPass("test loop", [&] {
      ++passes;
      if (i == 1) throw std::runtime_error("invalid UTF-8 byte");
    });
    EXPECT_EQ(done, i != 1) << i;
  }
  EXPECT_EQ(passes, 3);
  EXPECT_FALSE(RunGuardedPass("test loop", [] { throw 42; }));  // not a std::exception
}

}  // namespace
}  // namespace tongban
