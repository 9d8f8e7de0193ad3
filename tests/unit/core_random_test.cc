#include "core/random.h"

#include <gtest/gtest.h>

#include <set>

#include "core/clock.h"
#include "core/result.h"

namespace tongban {
namespace {

TEST(RandomTest, HexHasTwoLowercaseDigitsPerByte) {
  std::string h = OpenSslRandom::Instance().Hex(16);
  ASSERT_EQ(h.size(), 32u);
  for (char c : h) EXPECT_TRUE((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) << h;
}

TEST(RandomTest, TokensAreDistinctAndAtMostFiftyCharacters) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string t = OpenSslRandom::Instance().Token("-ticket");
    EXPECT_LE(t.size(), 50u);
    EXPECT_EQ(t.substr(32), "-ticket");
    EXPECT_TRUE(seen.insert(t).second) << "duplicate token " << t;
  }
}

TEST(RandomTest, FakeRandomRepeatsForTheSameSeed) {
  FakeRandom a(7), b(7), c(8);
  std::string x = a.Hex(8);
  EXPECT_EQ(x, b.Hex(8));
  EXPECT_NE(x, c.Hex(8));
}

TEST(RandomTest, LargeHexRequestsUseTheHeapPath) {
  EXPECT_EQ(OpenSslRandom::Instance().Hex(100).size(), 200u);
}

TEST(ClockTest, FakeClockMovesOnlyWhenAdvanced) {
  FakeClock clock;
  int64_t t0 = clock.NowMillis();
  EXPECT_EQ(clock.NowMillis(), t0);
  clock.Advance(std::chrono::seconds(61));
  EXPECT_EQ(clock.NowMillis(), t0 + 61000);
}

Result<int> Half(int x) {
  if (x % 2) return Error::InvalidArgument("odd");
  return x / 2;
}

Status HalfTwice(int x, int& out) {
  auto a = Half(x);
  TB_RETURN_IF_ERROR(a);
  auto b = Half(*a);
  TB_RETURN_IF_ERROR(b);
  out = *b;
  return Status::Ok();
}

TEST(ResultTest, ReturnIfErrorPassesTheFirstErrorOn) {
  int out = 0;
  EXPECT_TRUE(HalfTwice(8, out).ok());
  EXPECT_EQ(out, 2);
  Status s = HalfTwice(6, out);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.error().code, errc::kInvalidArgument);
  EXPECT_EQ(s.error().message, "odd");
}

}  // namespace
}  // namespace tongban
