#include "webapi/route_table.h"

#include <gtest/gtest.h>

#include "core/result.h"
#include "http/response.h"
#include "webapi/errors.h"

namespace tongban::webapi {
namespace {

struct TestRoute {
  std::string method;
  std::string pattern;
  int id = 0;
};

RouteTable<TestRoute> Table() {
  RouteTable<TestRoute> table;
  table.Add({"GET", "cases", 1});
  table.Add({"POST", "cases", 2});
  table.Add({"GET", "cases/:number", 3});
  table.Add({"POST", "cases/:number/actions/:action", 4});
  table.Add({"GET", "cases/todo", 5});
  return table;
}

TEST(SplitPathTest, SplitsOnSlashesIgnoringOneTrailingSlash) {
  EXPECT_TRUE(SplitPath("").empty());
  EXPECT_EQ(SplitPath("a/b"), (std::vector<std::string_view>{"a", "b"}));
  EXPECT_EQ(SplitPath("a/"), (std::vector<std::string_view>{"a"}));
  EXPECT_EQ(SplitPath("a//b"), (std::vector<std::string_view>{"a", "", "b"}));
  EXPECT_EQ(SplitPath("/a"), (std::vector<std::string_view>{"", "a"}));
}

TEST(RouteTableTest, FindsTheRouteOfTheMethodAndItsArguments) {
  auto table = Table();
  auto found = table.Find("POST", "cases/330100/actions/accept");
  ASSERT_NE(found.route, nullptr);
  EXPECT_EQ(found.route->id, 4);
  EXPECT_EQ(found.args, (std::vector<std::string>{"330100", "accept"}));
  EXPECT_EQ(table.Find("POST", "cases").route->id, 2);
  EXPECT_EQ(table.Find("GET", "cases").route->id, 1);
}

TEST(RouteTableTest, TheFirstMatchingRouteWinsInTheOrderAdded) {
  // "cases/todo" also fits "cases/:number", added before it.
  auto found = Table().Find("GET", "cases/todo");
  ASSERT_NE(found.route, nullptr);
  EXPECT_EQ(found.route->id, 3);
  EXPECT_EQ(found.args, (std::vector<std::string>{"todo"}));
}

TEST(RouteTableTest, AParameterNeverMatchesAnEmptySegment) {
  auto found = Table().Find("GET", "cases//actions");
  EXPECT_EQ(found.route, nullptr);
  EXPECT_FALSE(found.path_known);
  EXPECT_EQ(Table().Find("POST", "cases//actions/x").route, nullptr);
}

TEST(RouteTableTest, AKnownPathUnderAnotherMethodIsAMethodMiss) {
  auto found = Table().Find("DELETE", "cases/1");
  EXPECT_EQ(found.route, nullptr);
  EXPECT_TRUE(found.path_known);
  auto unknown = Table().Find("GET", "nothing/here");
  EXPECT_EQ(unknown.route, nullptr);
  EXPECT_FALSE(unknown.path_known);
}

TEST(RouteTableTest, HeadIsAnsweredByGetUnlessTheApiSaysOtherwise) {
  auto table = Table();
  ASSERT_NE(table.Find("HEAD", "cases/1").route, nullptr);
  EXPECT_EQ(table.Find("HEAD", "cases/1").route->id, 3);
  auto strict = table.Find("HEAD", "cases/1", /*head_as_get=*/false);
  EXPECT_EQ(strict.route, nullptr);
  EXPECT_TRUE(strict.path_known);
}

TEST(GenericStatusTest, ReadsTheGenericCodesAndNothingElse) {
  EXPECT_EQ(GenericStatus(errc::kInvalidArgument), 400);
  EXPECT_EQ(GenericStatus(errc::kExpired), 400);
  EXPECT_EQ(GenericStatus(errc::kNotFound), 404);
  EXPECT_EQ(GenericStatus(errc::kAlreadyExists), 409);
  EXPECT_EQ(GenericStatus(errc::kConflict), 409);
  EXPECT_EQ(GenericStatus(errc::kPermissionDenied), 403);
  EXPECT_EQ(GenericStatus(errc::kTooLarge), 413);
  EXPECT_EQ(GenericStatus(errc::kUnavailable), 503);
  EXPECT_EQ(GenericStatus(errc::kInternal), 500);
  EXPECT_EQ(GenericStatus(4031), 0);
  EXPECT_EQ(GenericStatus(0), 0);
}

TEST(WriteErrorTest, WritesTheErrorBodyWithItsLoginAndSurvivesBadUtf8) {
  http::Response response;
  WriteError(response, 401, 401, "请先登录", "https://x/sso/login");
  EXPECT_EQ(response.status(), 401);
  EXPECT_EQ(response.body(),
            R"({"error":{"code":401,"message":"请先登录","login":"https://x/sso/login"}})");
  http::Response bad;
  WriteError(bad, 400, 400, std::string("bad \xff byte"));
  EXPECT_EQ(bad.status(), 400);
  EXPECT_NE(bad.body().find("bad "), std::string::npos);
}

TEST(WriteErrorTest, ARouteMissIs404Or405WithABody) {
  http::Response missing;
  WriteRouteMiss(missing, false);
  EXPECT_EQ(missing.status(), 404);
  EXPECT_NE(missing.body().find("没有这个接口"), std::string::npos);
  http::Response method;
  WriteRouteMiss(method, true);
  EXPECT_EQ(method.status(), 405);
  EXPECT_NE(method.body().find("\"code\":405"), std::string::npos);
}

}  // namespace
}  // namespace tongban::webapi
