#include "http/request.h"

#include <gtest/gtest.h>

#include <random>

#include "http/request_parser.h"
#include "http/trusted_proxies.h"

namespace tongban::http {
namespace {

constexpr const char* kForm = "application/x-www-form-urlencoded";

TEST(HttpRequest, MergesQueryAndFormBody) {
  auto r = Request::Create({.method = "POST",
                            .target = "/sso/servlet/ssoauth?method=getToken&servicecode=app1",
                            .headers = {{"Content-Type", kForm}},
                            .body = "authcode=abc&datatype=json"});
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->params().size(), 4u);
  EXPECT_EQ(r->ParamOr("method"), "getToken");
  EXPECT_EQ(r->ParamOr("authcode"), "abc");
  EXPECT_EQ(r->params().at(0).source, ParamSource::kQuery);
  EXPECT_EQ(r->params().at(3).source, ParamSource::kBody);
}

TEST(HttpRequest, BodyValueWinsOverQueryValueWithTheSameName) {
  auto r = Request::Create({.method = "POST",
                            .target = "/x?datatype=xml",
                            .headers = {{"Content-Type", kForm}},
                            .body = "datatype=json"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Param("datatype"), std::optional<std::string_view>("json"));
  EXPECT_EQ(r->params().GetAll("datatype").size(), 2u);
}

TEST(HttpRequest, ParsesFormBodyWhenContentTypeHasCharsetAndOddCase) {
  auto r = Request::Create({.method = "POST",
                            .target = "/x",
                            .headers = {{"content-type", "Application/X-WWW-Form-Urlencoded; charset=UTF-8"}},
                            .body = "username=%E5%BC%A0%E4%B8%89"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->ParamOr("username"), "张三");
}

TEST(HttpRequest, LeavesNonFormBodyUnparsed) {
  auto r = Request::Create({.method = "POST",
                            .target = "/sso/service/SimpleAuthService",
                            .headers = {{"Content-Type", "text/xml;charset=utf-8"}},
                            .body = "a=1&b=2"});
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->params().empty());
  EXPECT_EQ(r->body(), "a=1&b=2");
}

TEST(HttpRequest, FailsOnParamThatIsNotUtf8) {
  auto r = Request::Create({.target = "/x?loginname=%D5%C5"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("loginname"), std::string::npos);
}

TEST(HttpRequest, FailsOnBadEscapeInFormBody) {
  auto r = Request::Create({.method = "POST",
                            .target = "/x",
                            .headers = {{"Content-Type", kForm}},
                            .body = "password=50%"});
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("password"), std::string::npos);
}

TEST(HttpRequest, DecodesPathButNotPlus) {
  auto r = Request::Create({.target = "/files/a+b%20%E4%B8%AD.txt?x=1"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->path(), "/files/a+b 中.txt");
  EXPECT_EQ(r->query(), "x=1");
  EXPECT_EQ(r->target(), "/files/a+b%20%E4%B8%AD.txt?x=1");
}

TEST(HttpRequest, AcceptsAbsoluteFormTarget) {
  auto r = Request::Create({.target = "http://sso.example:8080/sso/usp.do?action=ssoLogin"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->path(), "/sso/usp.do");
  EXPECT_EQ(r->ParamOr("action"), "ssoLogin");
}

TEST(HttpRequest, RejectsDotSegmentsEvenWhenEncoded) {
  EXPECT_FALSE(Request::Create({.target = "/static/../etc/passwd"}).ok());
  EXPECT_FALSE(Request::Create({.target = "/static/%2e%2e/etc/passwd"}).ok());
  EXPECT_FALSE(Request::Create({.target = "/a/./b"}).ok());
}

TEST(HttpRequest, RejectsNulAndInvalidUtf8InPath) {
  EXPECT_FALSE(Request::Create({.target = "/a%00b"}).ok());
  EXPECT_FALSE(Request::Create({.target = "/a%FFb"}).ok());
}

TEST(HttpRequest, RejectsTargetWithoutLeadingSlash) {
  EXPECT_FALSE(Request::Create({.target = "index.html"}).ok());
}

TEST(HttpRequest, LooksUpHeadersCaseInsensitively) {
  auto r = Request::Create({.headers = {{"X-Request-Id", "42"}, {"x-request-id", "43"}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Header("x-REQUEST-id"), std::optional<std::string_view>("42"));
  EXPECT_FALSE(r->Header("X-Missing").has_value());
}

TEST(HttpRequest, FindsCookieAcrossCookieHeaders) {
  auto r = Request::Create(
      {.headers = {{"Cookie", "theme=dark; lang=zh"}, {"Cookie", "TBSESSION=\"s-123\""}}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->Cookie("lang"), std::optional<std::string_view>("zh"));
  EXPECT_EQ(r->Cookie("TBSESSION"), std::optional<std::string_view>("s-123"));
  EXPECT_FALSE(r->Cookie("theme2").has_value());
}

TEST(HttpRequest, RemoteIpIsThePeerWithoutTrustedProxies) {
  auto r = Request::Create({.headers = {{"X-Forwarded-For", "1.2.3.4"}}, .peer_ip = "10.0.0.9"});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->remote_ip(), "10.0.0.9");
}

TEST(HttpTrustedProxies, ParsesAddressesAndCidrs) {
  auto proxies = TrustedProxies::Parse({"10.0.0.0/8", "192.168.1.7", "fd00::/8", "::1"});
  ASSERT_TRUE(proxies.ok());
  EXPECT_TRUE(proxies->Contains("10.200.3.4"));
  EXPECT_TRUE(proxies->Contains("192.168.1.7"));
  EXPECT_FALSE(proxies->Contains("192.168.1.8"));
  EXPECT_TRUE(proxies->Contains("fd12::1"));
  EXPECT_TRUE(proxies->Contains("::1"));
  EXPECT_TRUE(proxies->Contains("::ffff:10.1.1.1"));
  EXPECT_FALSE(proxies->Contains("11.0.0.1"));
}

TEST(HttpTrustedProxies, RejectsBadEntries) {
  EXPECT_FALSE(TrustedProxies::Parse({"10.0.0.0/33"}).ok());
  EXPECT_FALSE(TrustedProxies::Parse({"lb.example"}).ok());
  EXPECT_FALSE(TrustedProxies::Parse({"10.0.0.0/x"}).ok());
}

TEST(HttpTrustedProxies, IgnoresForwardedForFromUntrustedPeer) {
  auto proxies = TrustedProxies::Parse({"10.0.0.1"});
  ASSERT_TRUE(proxies.ok());
  EXPECT_EQ(proxies->ClientIp("203.0.113.5", "1.2.3.4"), "203.0.113.5");
}

TEST(HttpTrustedProxies, TakesRightmostUntrustedHop) {
  auto proxies = TrustedProxies::Parse({"10.0.0.0/8"});
  ASSERT_TRUE(proxies.ok());
  // The client forged "6.6.6.6"; the balancer appended the real address.
  EXPECT_EQ(proxies->ClientIp("10.0.0.1", "6.6.6.6, 198.51.100.7, 10.0.0.2"), "198.51.100.7");
}

TEST(HttpTrustedProxies, StopsAtGarbageEntry) {
  auto proxies = TrustedProxies::Parse({"10.0.0.0/8"});
  ASSERT_TRUE(proxies.ok());
  EXPECT_EQ(proxies->ClientIp("10.0.0.1", "<script>, 10.0.0.3"), "10.0.0.3");
  EXPECT_EQ(proxies->ClientIp("10.0.0.1", "unknown"), "10.0.0.1");
}

TEST(HttpNormalizeIp, UnwrapsIpv4MappedAddresses) {
  EXPECT_EQ(NormalizeIp("::ffff:192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(NormalizeIp("2001:DB8::1"), "2001:db8::1");
  EXPECT_EQ(NormalizeIp("not-an-ip"), "");
}

TEST(HttpClientNetwork, CountsIpv6AsItsSlash64AndIpv4AsTheAddress) {
  EXPECT_EQ(ClientNetwork("2001:db8::101"), "2001:db8::/64");
  EXPECT_EQ(ClientNetwork("2001:db8::ffff:1"), "2001:db8::/64");
  EXPECT_EQ(ClientNetwork("2001:db8:0:1::1"), "2001:db8:0:1::/64");
  EXPECT_EQ(ClientNetwork("192.0.2.1"), "192.0.2.1");
  EXPECT_EQ(ClientNetwork("::ffff:192.0.2.1"), "192.0.2.1");
}

TEST(HttpParseRequestBytes, ParsesARequestWithHeadersAndBody) {
  auto r = ParseRequestBytes(
      "POST /sso/servlet/simpleauth?method=ticketValidation HTTP/1.1\r\n"
      "Host: sso\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 7\r\n\r\n"
      "st=ST-1");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->method(), "POST");
  EXPECT_EQ(r->path(), "/sso/servlet/simpleauth");
  EXPECT_EQ(r->ParamOr("st"), "ST-1");
  EXPECT_EQ(r->Header("host"), std::optional<std::string_view>("sso"));
}

TEST(HttpParseRequestBytes, ReassemblesChunkedBody) {
  auto r = ParseRequestBytes(
      "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n4\r\ndefg\r\n0\r\n\r\n");
  ASSERT_TRUE(r.ok()) << r.error().message;
  EXPECT_EQ(r->body(), "abcdefg");
}

TEST(HttpParseRequestBytes, AnswersOversizedHeaderWith431) {
  std::string big = "GET / HTTP/1.1\r\nHost: a\r\nX-Big: " + std::string(2000, 'x') + "\r\n\r\n";
  auto r = ParseRequestBytes(big, /*max_header_bytes=*/1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 431);
}

TEST(HttpParseRequestBytes, AnswersOversizedBodyWith413) {
  auto r = ParseRequestBytes("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2048\r\n\r\n",
                             16 * 1024, /*max_body_bytes=*/1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 413);
}

TEST(HttpParseRequestBytes, AnswersOversizedBodyWith413WhenTheBodyArrivesWithTheHeader) {
  auto r = ParseRequestBytes(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2048\r\n\r\n" + std::string(2048, 'x'),
      16 * 1024, /*max_body_bytes=*/1024);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 413);
}

TEST(HttpParseRequestBytes, LeavesAPipelinedRequestUnconsumed) {
  Request request;
  RequestParser parser(request, 16 * 1024, 1024);
  std::string two =
      "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabc"
      "GET /b HTTP/1.1\r\nHost: a\r\n\r\n";
  RequestParser::State state;
  size_t used = parser.Feed(two, state);
  ASSERT_EQ(state, RequestParser::State::kDone);
  EXPECT_EQ(request.body(), "abc");
  EXPECT_EQ(two.substr(used), "GET /b HTTP/1.1\r\nHost: a\r\n\r\n");
}

TEST(HttpParseRequestBytes, AnswersGarbageWith400) {
  auto r = ParseRequestBytes("HELLO THERE\r\n\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 400);
}

TEST(HttpParseRequestBytes, RejectsContentLengthWithChunked) {
  auto r = ParseRequestBytes(
      "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n"
      "0\r\n\r\n");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, 400);
}

TEST(HttpParseRequestBytes, SurvivesMutatedInput) {
  // Not a fuzzer, but a cheap guard that runs in every build: thousands of
  // byte-level mutations of a valid request must each parse or fail cleanly.
  const std::string valid =
      "POST /sso/servlet/ssoauth?method=getToken&x=%E4%B8%AD HTTP/1.1\r\nHost: a\r\n"
      "Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n"
      "Cookie: s=1; t=\"2\"\r\n\r\n9\r\nauthcode=\r\n3\r\n%41b\r\n0\r\n\r\n";
  std::mt19937 rng(20240101);
  const char kInteresting[] = {'\0', '\r', '\n', ':', '%', '&', '=', ' ', '\xFF', '\x80', '0', 'f'};
  size_t parsed = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input = valid;
    int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      size_t pos = rng() % input.size();
      switch (rng() % 3) {
        case 0:
          input[pos] = kInteresting[rng() % sizeof(kInteresting)];
          break;
        case 1:
          input.erase(pos, 1 + rng() % 8);
          break;
        default:
          input.insert(pos, 1 + rng() % 8, kInteresting[rng() % sizeof(kInteresting)]);
      }
      if (input.empty()) input.push_back('x');  // not = "x": GCC 12 -Wrestrict false positive
    }
    auto r = ParseRequestBytes(input, 1024, 1024);
    if (r.ok()) {
      ++parsed;
    } else {
      EXPECT_TRUE(r.error().code == 400 || r.error().code == 413 || r.error().code == 431)
          << r.error().code;
    }
  }
  EXPECT_GT(parsed, 0u);
}

TEST(HttpRequestParser, BoundsHeaderFedInSmallPieces) {
  // Beast alone bounds only what it holds at once; fields consumed one by
  // one must still count against the limit.
  Request request;
  RequestParser parser(request, /*max_header_bytes=*/1024, 1024);
  RequestParser::State state = RequestParser::State::kNeedMore;
  std::string data = "GET / HTTP/1.1\r\n";
  size_t used = parser.Feed(data, state);
  data.erase(0, used);
  for (int i = 0; i < 200 && state == RequestParser::State::kNeedMore; ++i) {
    data += "X-Pad-" + std::to_string(i) + ": yyyyyyyyyy\r\n";
    used = parser.Feed(data, state);
    data.erase(0, used);
  }
  ASSERT_EQ(state, RequestParser::State::kError);
  EXPECT_EQ(parser.error_status(), 431);
}

}  // namespace
}  // namespace tongban::http
