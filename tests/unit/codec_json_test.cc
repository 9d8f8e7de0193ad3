#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "codec/parse.h"
#include "codec/render.h"
#include "codec/value.h"

namespace tongban::codec {
namespace {

Value TicketReply() {
  return Value::Object()
      .Set("result", "0")
      .Set("errmsg", "成功")
      .Set("token", "8a1189bf8caba36b018cae241546098c-commonToken")
      .Set("userid", "8a1189bf8caba36b018cae241546098c")
      .Set("loginname", "zhangs")
      .Set("username", "张三");
}

// --- rendering ---

TEST(CodecJsonRenderTest, FlatReplyRendersInInsertionOrderWithUtf8AsIs) {
  EXPECT_EQ(
      RenderJson(TicketReply()),
      R"({"result":"0","errmsg":"成功","token":"8a1189bf8caba36b018cae241546098c-commonToken",)"
      R"("userid":"8a1189bf8caba36b018cae241546098c","loginname":"zhangs","username":"张三"})");
}

TEST(CodecJsonRenderTest, ResultStoredAsStringRendersAsAJsonString) {
  EXPECT_EQ(RenderJson(Value::Object().Set("result", "0")), R"({"result":"0"})");
}

TEST(CodecJsonRenderTest, NumbersRenderAsJsonNumbers) {
  EXPECT_EQ(RenderJson(Value::Object().Set("total", 2).Set("ratio", 0.5).Set("big", 1e21)),
            R"({"total":2,"ratio":0.5,"big":1e+21})");
}

TEST(CodecJsonRenderTest, IntegralDoubleKeepsAFractionSoItReadsBackAsDouble) {
  EXPECT_EQ(RenderJson(Value(3.0)), "3.0");
}

TEST(CodecJsonRenderTest, NonFiniteDoubleRendersAsNull) {
  EXPECT_EQ(RenderJson(Value(std::numeric_limits<double>::infinity())), "null");
}

TEST(CodecJsonRenderTest, Int64ExtremesRenderExactly) {
  EXPECT_EQ(RenderJson(Value(std::numeric_limits<std::int64_t>::min())), "-9223372036854775808");
}

TEST(CodecJsonRenderTest, ListReplyRendersTotalAndArrayOfObjects) {
  Value reply = Value::Object().Set("result", "0").Set("errmsg", "成功").Set("total", 2);
  Value& users = reply.Add("user", Value::Array());
  users.Push(Value::Object().Set("loginname", "zhangs").Set("username", "张三"));
  users.Push(Value::Object().Set("loginname", "lis").Set("username", "李四"));
  EXPECT_EQ(RenderJson(reply),
            R"({"result":"0","errmsg":"成功","total":2,"user":[)"
            R"({"loginname":"zhangs","username":"张三"},{"loginname":"lis","username":"李四"}]})");
}

TEST(CodecJsonRenderTest, EmptyContainersAndLiteralsRender) {
  EXPECT_EQ(RenderJson(Value::Object()), "{}");
  EXPECT_EQ(RenderJson(Value::Array()), "[]");
  EXPECT_EQ(RenderJson(Value()), "null");
  Value array = Value::Array();
  array.Push(true);
  array.Push(false);
  array.Push(nullptr);
  EXPECT_EQ(RenderJson(array), "[true,false,null]");
}

TEST(CodecJsonRenderTest, QuotesBackslashesAndControlCharactersAreEscaped) {
  EXPECT_EQ(RenderJson(Value("a\"b\\c/d&<>'")), R"("a\"b\\c/d&<>'")");
  EXPECT_EQ(RenderJson(Value("\n\r\t\b\f")), R"("\n\r\t\b\f")");
  EXPECT_EQ(RenderJson(Value(std::string("\x01\x1f\0", 3))), R"("\u0001\u001F\u0000")");
}

TEST(CodecJsonRenderTest, KeysAreEscapedLikeStrings) {
  EXPECT_EQ(RenderJson(Value::Object().Set("a\"b", 1)), R"({"a\"b":1})");
}

TEST(CodecJsonRenderTest, IllFormedUtf8BecomesReplacementCharacter) {
  EXPECT_EQ(RenderJson(Value("a\xff"
                             "b\xe4\xb8")),
            "\"a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

TEST(CodecJsonRenderTest, FourByteUtf8PassesThrough) {
  EXPECT_EQ(RenderJson(Value("\xF0\x9F\x98\x80")), "\"\xF0\x9F\x98\x80\"");
}

TEST(CodecJsonRenderTest, RenderWithJsonFormatIsRenderJson) {
  EXPECT_EQ(Render(TicketReply(), Format::kJson), RenderJson(TicketReply()));
}

// --- parsing ---

TEST(CodecJsonParseTest, ParsesAnObjectKeepingKeyOrder) {
  Result<Value> v = ParseJson(R"({"z":"1","a":"2","m":"3"})");
  ASSERT_TRUE(v.ok()) << v.error().message;
  ASSERT_EQ(v->size(), 3u);
  EXPECT_EQ(v->members()[0].key, "z");
  EXPECT_EQ(v->members()[1].key, "a");
  EXPECT_EQ(v->members()[2].key, "m");
}

TEST(CodecJsonParseTest, RenderedReplyParsesBackEqual) {
  Value reply = TicketReply();
  reply.Set("total", 2).Set("ratio", 0.25).Set("flag", true).Set("none", nullptr);
  reply.Add("user", Value::Array()).Push(Value::Object().Set("loginname", "lis"));
  Result<Value> parsed = ParseJson(RenderJson(reply));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, reply);
}

TEST(CodecJsonParseTest, UnicodeEscapesDecodeToUtf8) {
  Result<Value> v = ParseJson(R"("\u5f20\u4e09\ud83d\ude00")");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ(v->AsString(), "张三\xF0\x9F\x98\x80");
}

TEST(CodecJsonParseTest, NumbersKeepIntegerOrDoubleType) {
  Result<Value> v = ParseJson(R"([1,-2,1.5,1e2,18446744073709551615])");
  ASSERT_TRUE(v.ok()) << v.error().message;
  EXPECT_EQ((*v)[0], Value(1));
  EXPECT_EQ((*v)[1], Value(-2));
  EXPECT_EQ((*v)[2], Value(1.5));
  EXPECT_EQ((*v)[3], Value(100.0));
  EXPECT_TRUE((*v)[4].IsDouble());
}

TEST(CodecJsonParseTest, NumberBeyondDoubleRangeIsAnError) {
  Result<Value> v = ParseJson("[1e400]");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, errc::kInvalidArgument);
}

TEST(CodecJsonParseTest, SyntaxErrorNamesLineAndColumn) {
  Result<Value> v = ParseJson("{\"a\":\n tru}");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, errc::kInvalidArgument);
  EXPECT_NE(v.error().message.find("invalid JSON"), std::string::npos) << v.error().message;
  EXPECT_NE(v.error().message.find("line 2"), std::string::npos) << v.error().message;
}

TEST(CodecJsonParseTest, ErrorMessageDoesNotEchoTheInput) {
  Result<Value> v = ParseJson(R"({"loginpwd":"s3cret)");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().message.find("s3cret"), std::string::npos) << v.error().message;
}

TEST(CodecJsonParseTest, EmptyInputIsAnError) {
  Result<Value> v = ParseJson("");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, errc::kInvalidArgument);
}

TEST(CodecJsonParseTest, TrailingTextIsAnError) { EXPECT_FALSE(ParseJson("{} {}").ok()); }

TEST(CodecJsonParseTest, TextAfterANulByteIsNotIgnored) {
  Result<Value> v = ParseJson(std::string_view("2\0 garbage", 10));
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("NUL"), std::string::npos) << v.error().message;
}

TEST(CodecJsonParseTest, CommentsAreAnError) { EXPECT_FALSE(ParseJson("/* x */ {}").ok()); }

TEST(CodecJsonParseTest, IllFormedUtf8InAStringIsAnError) {
  EXPECT_FALSE(ParseJson("\"\xff\"").ok());
}

TEST(CodecJsonParseTest, DuplicateKeyIsAnError) {
  Result<Value> v = ParseJson(R"({"loginname":"a","x":1,"loginname":"b"})");
  ASSERT_FALSE(v.ok());
  EXPECT_NE(v.error().message.find("duplicate key \"loginname\""), std::string::npos)
      << v.error().message;
}

TEST(CodecJsonParseTest, DuplicateKeyInALargeObjectIsAnError) {
  std::string text = "{";
  for (int i = 0; i < 100; ++i) text += "\"k" + std::to_string(i) + "\":1,";
  text += "\"k42\":2}";
  EXPECT_FALSE(ParseJson(text).ok());
}

TEST(CodecJsonParseTest, SameKeyInDifferentObjectsIsFine) {
  EXPECT_TRUE(ParseJson(R"([{"a":1},{"a":2}])").ok());
}

TEST(CodecJsonParseTest, NestingDeeperThanTheLimitIsTooLarge) {
  ParseLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(ParseJson("[[[1]]]", limits).ok());
  Result<Value> v = ParseJson("[[[[1]]]]", limits);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, errc::kTooLarge);
}

TEST(CodecJsonParseTest, DefaultDepthLimitStopsDeepNestingWithoutCrashing) {
  Result<Value> v = ParseJson(std::string(100000, '['));
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, errc::kTooLarge);
}

TEST(CodecJsonParseTest, InputLargerThanTheLimitIsTooLarge) {
  ParseLimits limits;
  limits.max_bytes = 8;
  Result<Value> v = ParseJson(R"({"a":"123456"})", limits);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.error().code, errc::kTooLarge);
}

}  // namespace
}  // namespace tongban::codec
