#include "http/router.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace tongban::http {
namespace {

// Each handler writes its name, so a test can see which route ran.
Handler Named(std::string name) {
  return [name](const Request&, Response& response) { response.set_body(name); };
}

std::string Dispatch(const Router& router, std::string_view method, std::string_view path) {
  Router::Match m = router.Find(method, path);
  if (m.status != 0) return std::to_string(m.status);
  Response response;
  auto request = Request::Create({});
  (*m.handler)(*request, response);
  return response.body();
}

TEST(HttpRouter, MatchesExactMethodAndPath) {
  Router router;
  router.Add("GET", "/healthz", Named("health"));
  router.Add("POST", "/sso/servlet/ssoauth", Named("ssoauth"));
  EXPECT_EQ(Dispatch(router, "GET", "/healthz"), "health");
  EXPECT_EQ(Dispatch(router, "POST", "/sso/servlet/ssoauth"), "ssoauth");
}

TEST(HttpRouter, ExactPathDoesNotMatchLongerPath) {
  Router router;
  router.Add("GET", "/healthz", Named("health"));
  EXPECT_EQ(Dispatch(router, "GET", "/healthz/x"), "404");
  EXPECT_EQ(Dispatch(router, "GET", "/health"), "404");
}

TEST(HttpRouter, UnknownPathIs404) {
  Router router;
  router.Add("GET", "/a", Named("a"));
  Router::Match m = router.Find("GET", "/b");
  EXPECT_EQ(m.status, 404);
  EXPECT_EQ(m.handler, nullptr);
  EXPECT_EQ(m.route, Router::kNoRoute);
}

TEST(HttpRouter, KnownPathWithWrongMethodIs405) {
  Router router;
  router.Add("GET", "/sso/usp.do", Named("get"));
  router.Add("POST", "/sso/usp.do", Named("post"));
  Router::Match m = router.Find("DELETE", "/sso/usp.do");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(router.label(m.route), "/sso/usp.do");
  EXPECT_EQ(router.AllowedMethods("/sso/usp.do"), "GET, HEAD, POST");
}

TEST(HttpRouter, StarMethodMatchesAnyMethod) {
  Router router;
  router.Add("*", "/sso/servlet/simpleauth", Named("any"));
  EXPECT_EQ(Dispatch(router, "GET", "/sso/servlet/simpleauth"), "any");
  EXPECT_EQ(Dispatch(router, "POST", "/sso/servlet/simpleauth"), "any");
}

TEST(HttpRouter, ExplicitMethodBeatsStar) {
  Router router;
  router.Add("*", "/x", Named("any"));
  router.Add("POST", "/x", Named("post"));
  EXPECT_EQ(Dispatch(router, "POST", "/x"), "post");
  EXPECT_EQ(Dispatch(router, "GET", "/x"), "any");
}

TEST(HttpRouter, GetRouteAnswersHead) {
  Router router;
  router.Add("GET", "/page", Named("get"));
  EXPECT_EQ(Dispatch(router, "HEAD", "/page"), "get");
}

TEST(HttpRouter, PrefixMatchesPathsBelowIt) {
  Router router;
  router.AddPrefix("GET", "/static/", Named("static"));
  EXPECT_EQ(Dispatch(router, "GET", "/static/css/a.css"), "static");
  EXPECT_EQ(Dispatch(router, "GET", "/static/"), "static");
  EXPECT_EQ(Dispatch(router, "GET", "/stat"), "404");
}

TEST(HttpRouter, LongestPrefixWins) {
  Router router;
  router.AddPrefix("GET", "/", Named("root"));
  router.AddPrefix("GET", "/sso/", Named("sso"));
  router.AddPrefix("GET", "/sso/cas/", Named("cas"));
  EXPECT_EQ(Dispatch(router, "GET", "/sso/cas/login"), "cas");
  EXPECT_EQ(Dispatch(router, "GET", "/sso/usp.do"), "sso");
  EXPECT_EQ(Dispatch(router, "GET", "/favicon.ico"), "root");
}

TEST(HttpRouter, LongestPrefixWinsRegardlessOfRegistrationOrder) {
  Router router;
  router.AddPrefix("GET", "/sso/cas/", Named("cas"));
  router.AddPrefix("GET", "/", Named("root"));
  router.AddPrefix("GET", "/sso/", Named("sso"));
  EXPECT_EQ(Dispatch(router, "GET", "/sso/cas/login"), "cas");
  EXPECT_EQ(Dispatch(router, "GET", "/sso/x"), "sso");
}

TEST(HttpRouter, ExactRouteBeatsPrefix) {
  Router router;
  router.AddPrefix("GET", "/sso/", Named("prefix"));
  router.Add("GET", "/sso/usp.do", Named("exact"));
  EXPECT_EQ(Dispatch(router, "GET", "/sso/usp.do"), "exact");
}

TEST(HttpRouter, ShorterPrefixWithRightMethodServesWhenLongerHasWrongMethod) {
  Router router;
  router.AddPrefix("*", "/api/", Named("api"));
  router.AddPrefix("GET", "/api/files/", Named("files"));
  EXPECT_EQ(Dispatch(router, "POST", "/api/files/x"), "api");
}

TEST(HttpRouter, PrefixWithWrongMethodIs405) {
  Router router;
  router.AddPrefix("GET", "/static/", Named("static"));
  Router::Match m = router.Find("POST", "/static/a.js");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(router.label(m.route), "/static/*");
}

TEST(HttpRouter, LabelsDefaultToPatternAndCanBeGiven) {
  Router router;
  router.Add("GET", "/healthz", Named("h"));
  router.AddPrefix("GET", "/static/", Named("s"));
  router.Add("GET", "/metrics", Named("m"), "metrics");
  EXPECT_EQ(router.label(router.Find("GET", "/healthz").route), "/healthz");
  EXPECT_EQ(router.label(router.Find("GET", "/static/a/b/c.js").route), "/static/*");
  EXPECT_EQ(router.label(router.Find("GET", "/metrics").route), "metrics");
}

TEST(HttpRouter, RejectsDuplicateRoute) {
  Router router;
  router.Add("GET", "/a", Named("1"));
  EXPECT_THROW(router.Add("GET", "/a", Named("2")), std::invalid_argument);
  router.AddPrefix("GET", "/p/", Named("1"));
  EXPECT_THROW(router.AddPrefix("GET", "/p/", Named("2")), std::invalid_argument);
}

TEST(HttpRouter, RejectsPathWithoutLeadingSlash) {
  Router router;
  EXPECT_THROW(router.Add("GET", "a", Named("1")), std::invalid_argument);
  EXPECT_THROW(router.AddPrefix("GET", "", Named("1")), std::invalid_argument);
}

}  // namespace
}  // namespace tongban::http
