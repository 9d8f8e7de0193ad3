// Per-path body limits: an upload route's allowance is no other route's.
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "http/request_parser.h"

namespace tongban::http {
namespace {

RequestParser::State FeedAll(RequestParser& parser, const std::string& bytes) {
  RequestParser::State state = RequestParser::State::kNeedMore;
  parser.Feed(bytes, state);
  return state;
}

std::string Post(const std::string& path, size_t body_bytes) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nContent-Length: " +
         std::to_string(body_bytes) + "\r\n\r\n" + std::string(body_bytes, 'x');
}

TEST(RequestParserLargerBodies, AnUploadPrefixTakesItsLargerLimit) {
  Request request;
  RequestParser parser(request, 16 * 1024, 1024);
  std::vector<std::pair<std::string, size_t>> larger = {{"/approval/api/", 8 * 1024}};
  parser.SetLargerBodies(&larger);
  EXPECT_EQ(FeedAll(parser, Post("/approval/api/files", 4096)), RequestParser::State::kDone);
}

TEST(RequestParserLargerBodies, OtherPathsKeepTheDefaultLimit) {
  Request request;
  RequestParser parser(request, 16 * 1024, 1024);
  std::vector<std::pair<std::string, size_t>> larger = {{"/approval/api/", 8 * 1024}};
  parser.SetLargerBodies(&larger);
  EXPECT_EQ(FeedAll(parser, Post("/healthz", 4096)), RequestParser::State::kError);
  EXPECT_EQ(parser.error_status(), 413);
}

TEST(RequestParserLargerBodies, TheLargerLimitIsALimitToo) {
  Request request;
  RequestParser parser(request, 16 * 1024, 1024);
  std::vector<std::pair<std::string, size_t>> larger = {{"/approval/api/", 8 * 1024}};
  parser.SetLargerBodies(&larger);
  EXPECT_EQ(FeedAll(parser, Post("/approval/api/files", 9000)), RequestParser::State::kError);
  EXPECT_EQ(parser.error_status(), 413);
}

TEST(RequestParserLargerBodies, TheNextRequestOnTheConnectionStartsFromTheDefault) {
  Request request;
  RequestParser parser(request, 16 * 1024, 1024);
  std::vector<std::pair<std::string, size_t>> larger = {{"/approval/api/", 8 * 1024}};
  parser.SetLargerBodies(&larger);
  ASSERT_EQ(FeedAll(parser, Post("/approval/api/files", 4096)), RequestParser::State::kDone);
  parser.Begin();
  EXPECT_EQ(FeedAll(parser, Post("/sso/usp.do", 4096)), RequestParser::State::kError);
  EXPECT_EQ(parser.error_status(), 413);
}

// Session 12 (review12c, high): Beast leaves a chunk-size line, its extensions
// and a trailer unconsumed until their CRLF, and nothing bounded them: one
// connection made the server buffer gigabytes. A line longer than the header
// limit is now a 400.
std::string ChunkedHead(const std::string& path) {
  return "POST " + path + " HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
}

TEST(RequestParserLargerBodies, AChunkLineWithoutEndIsRefusedOnceLongerThanTheHeaderLimit) {
  for (const std::string& tail :
       {"1;" + std::string(20000, 'e'),                 // an extension
        std::string(20000, '0'),                        // size digits
        "1\r\nx\r\n0\r\nX-T: " + std::string(20000, 't')}) {  // a trailer
    Request request;
    RequestParser parser(request, 16 * 1024, 1024);
    EXPECT_EQ(FeedAll(parser, ChunkedHead("/sso/usp.do") + tail), RequestParser::State::kError);
    EXPECT_EQ(parser.error_status(), 400);
  }
  // Within the limit it is only incomplete, and a whole chunked body parses.
  Request request;
  RequestParser parser(request, 16 * 1024, 1024);
  EXPECT_EQ(FeedAll(parser, ChunkedHead("/x") + "1;" + std::string(1000, 'e')),
            RequestParser::State::kNeedMore);
  Request whole;
  RequestParser again(whole, 16 * 1024, 1024);
  EXPECT_EQ(FeedAll(again, ChunkedHead("/x") + "3;ext=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"),
            RequestParser::State::kDone);
  EXPECT_EQ(whole.body(), "abc");
}

// The upload routes' larger limits are reached before any route checks its
// caller: the bytes their bodies hold beyond the default are budgeted over the
// whole process (review12c: eight anonymous 200 MiB bodies took 1.6 GB).
TEST(RequestParserLargerBodies, BodiesBeyondTheDefaultShareOneBudget) {
  std::vector<std::pair<std::string, size_t>> larger = {{"/payment/api/reconcile/", 64 * 1024}};
  constexpr int64_t kBudget = 48 * 1024;
  Request first_request, second_request, third_request;
  RequestParser first(first_request, 16 * 1024, 1024);
  RequestParser second(second_request, 16 * 1024, 1024);
  first.SetLargerBodies(&larger, kBudget);
  second.SetLargerBodies(&larger, kBudget);
  // 30 KiB beyond the default each: the first fits, the second does not.
  ASSERT_EQ(FeedAll(first, Post("/payment/api/reconcile/upload", 1024 + 30 * 1024)),
            RequestParser::State::kDone);
  EXPECT_EQ(FeedAll(second, Post("/payment/api/reconcile/upload", 1024 + 30 * 1024)),
            RequestParser::State::kError);
  EXPECT_EQ(second.error_status(), 503);
  // The first request's body is released with its parser's next message.
  first.Begin();
  second.Begin();
  RequestParser third(third_request, 16 * 1024, 1024);
  third.SetLargerBodies(&larger, kBudget);
  EXPECT_EQ(FeedAll(third, Post("/payment/api/reconcile/upload", 1024 + 30 * 1024)),
            RequestParser::State::kDone);
  // Bodies within the default never count.
  Request small_request;
  RequestParser small(small_request, 16 * 1024, 1024);
  small.SetLargerBodies(&larger, kBudget);
  EXPECT_EQ(FeedAll(small, Post("/payment/api/reconcile/upload", 1000)),
            RequestParser::State::kDone);
}

}  // namespace
}  // namespace tongban::http
