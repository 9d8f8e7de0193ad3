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

}  // namespace
}  // namespace tongban::http
