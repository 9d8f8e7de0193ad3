#include "core/random.h"

#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <set>
#include <string>
#include <thread>
#include <vector>

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

TEST(RandomTest, ThreadsDrawingFromTheirBuffersNeverRepeatAValue) {
  std::vector<std::set<std::string>> per_thread(4);
  std::vector<std::thread> threads;
  for (auto& seen : per_thread) {
    threads.emplace_back([&seen] {
      // Past several 4 KiB refills of the thread's buffer.
      for (int i = 0; i < 2000; ++i) seen.insert(OpenSslRandom::Instance().Hex(16));
    });
  }
  for (auto& t : threads) t.join();
  std::set<std::string> all;
  for (const auto& seen : per_thread) all.insert(seen.begin(), seen.end());
  EXPECT_EQ(all.size(), 8000u);
}

TEST(RandomTest, AForkedChildDoesNotRepeatTheParentsBufferedBytes) {
  OpenSslRandom& random = OpenSslRandom::Instance();
  random.Hex(16);  // the parent's buffer now holds unused bytes
  int pipe_fds[2];
  ASSERT_EQ(pipe(pipe_fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    std::string mine = random.Hex(16);
    ssize_t written = write(pipe_fds[1], mine.data(), mine.size());
    _exit(written == static_cast<ssize_t>(mine.size()) ? 0 : 1);
  }
  std::string parents = random.Hex(16);
  char buf[32];
  ssize_t got = read(pipe_fds[0], buf, sizeof buf);
  int status = 0;
  waitpid(child, &status, 0);
  close(pipe_fds[0]);
  close(pipe_fds[1]);
  ASSERT_EQ(got, 32);
  EXPECT_NE(std::string(buf, 32), parents);
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
