// codec::ParseJsonBody: request bodies nested deeper than kMaxJsonBodyDepth
// are refused before nlohmann builds (and a handler copies) them.
#include "codec/json_body.h"

#include <gtest/gtest.h>

#include <string>

namespace tongban::codec {
namespace {

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonBodyTest, NestingUpToTheLimitIsParsed) {
  nlohmann::json j = ParseJsonBody(Nested(kMaxJsonBodyDepth));
  ASSERT_FALSE(j.is_discarded());
  nlohmann::json copy = j;  // what a handler may do with it
  EXPECT_EQ(copy, j);
}

TEST(JsonBodyTest, DeeperNestingIsDiscardedWithoutRecursing) {
  EXPECT_TRUE(ParseJsonBody(Nested(kMaxJsonBodyDepth + 1)).is_discarded());
  // Deep enough that copying or dumping it would overflow the stack.
  EXPECT_TRUE(ParseJsonBody(R"({"a":)" + Nested(500'000) + "}").is_discarded());
}

TEST(JsonBodyTest, BracketsInsideStringsDoNotCount) {
  std::string brackets(200, '[');
  nlohmann::json j = ParseJsonBody(R"({"s":")" + brackets + R"(\"[[[", "t": "\\"})");
  ASSERT_FALSE(j.is_discarded());
  const std::string s = j["s"].get<std::string>();
  const std::string t = j["t"].get<std::string>();
  EXPECT_EQ(s, brackets + "\"[[[");
  EXPECT_EQ(t, "\\");
}

TEST(JsonBodyTest, InvalidJsonIsDiscarded) {
  EXPECT_TRUE(ParseJsonBody("{").is_discarded());
  EXPECT_TRUE(ParseJsonBody("").is_discarded());
  EXPECT_FALSE(ParseJsonBody(R"({"a":[1,{"b":null}]})").is_discarded());
}

}  // namespace
}  // namespace tongban::codec
