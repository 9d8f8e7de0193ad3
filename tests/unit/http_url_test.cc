#include "http/url.h"

#include <gtest/gtest.h>

namespace tongban::http {
namespace {

TEST(HttpUrlDecode, DecodesPercentEscapedUtf8Chinese) {
  auto decoded = UrlDecode("%E6%B5%99%E6%B1%9F%E7%9C%81");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "浙江省");
}

TEST(HttpUrlDecode, TurnsPlusIntoSpace) {
  auto decoded = UrlDecode("a+b%2Bc");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "a b+c");
}

TEST(HttpUrlDecode, AcceptsLowerCaseHex) {
  auto decoded = UrlDecode("%e4%b8%ad");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "中");
}

TEST(HttpUrlDecode, RejectsPercentWithoutTwoHexDigits) {
  EXPECT_FALSE(UrlDecode("100%").ok());
  EXPECT_FALSE(UrlDecode("%4").ok());
  EXPECT_FALSE(UrlDecode("%G1").ok());
  EXPECT_EQ(UrlDecode("%zz").error().code, errc::kInvalidArgument);
}

TEST(HttpUrlDecodePath, KeepsPlus) {
  auto decoded = UrlDecodePath("/a+b%20c");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, "/a+b c");
}

TEST(HttpUrlEncode, EncodesEverythingButUnreserved) {
  EXPECT_EQ(UrlEncode("aZ09-._~"), "aZ09-._~");
  EXPECT_EQ(UrlEncode("a b&c=d/e?"), "a%20b%26c%3Dd%2Fe%3F");
  EXPECT_EQ(UrlEncode("中"), "%E4%B8%AD");
}

TEST(HttpUrlEncode, RoundTripsThroughUrlDecode) {
  std::string original = "http://app.example/cb?x=1&y=两 个+";
  auto decoded = UrlDecode(UrlEncode(original));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, original);
}

TEST(HttpIsValidUtf8, AcceptsAsciiAndChinese) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii text that is longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("统一身份认证 and 😀"));
}

TEST(HttpIsValidUtf8, RejectsMalformedSequences) {
  EXPECT_FALSE(IsValidUtf8("\xD6\xD0"));          // GBK for 中
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // overlong '/'
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  EXPECT_FALSE(IsValidUtf8("abc\xE4\xB8"));       // truncated at the end
  EXPECT_FALSE(IsValidUtf8("\xFF"));
}

TEST(HttpParseQuery, ParsesPairsInOrder) {
  auto params = ParseQuery("method=ticketValidation&st=ST-1&datatype=json");
  ASSERT_TRUE(params.ok());
  ASSERT_EQ(params->size(), 3u);
  EXPECT_EQ(params->at(0).name, "method");
  EXPECT_EQ(params->at(1).value, "ST-1");
  EXPECT_EQ(params->at(2).name, "datatype");
}

TEST(HttpParseQuery, DecodesChineseAndPlus) {
  auto params = ParseQuery("username=%E5%BC%A0+%E4%B8%89&city=%E6%9D%AD%E5%B7%9E");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->GetOr("username"), "张 三");
  EXPECT_EQ(params->GetOr("city"), "杭州");
}

TEST(HttpParseQuery, SkipsEmptyPairsAndAllowsMissingValues) {
  auto params = ParseQuery("&&a&b=&=c&");
  ASSERT_TRUE(params.ok());
  ASSERT_EQ(params->size(), 3u);
  EXPECT_EQ(params->Get("a"), std::optional<std::string_view>(""));
  EXPECT_EQ(params->Get("b"), std::optional<std::string_view>(""));
  EXPECT_EQ(params->Get(""), std::optional<std::string_view>("c"));
}

TEST(HttpParseQuery, KeepsEqualsSignsInsideValues) {
  auto params = ParseQuery("args=a=b=c");
  ASSERT_TRUE(params.ok());
  EXPECT_EQ(params->GetOr("args"), "a=b=c");
}

TEST(HttpParseQuery, RejectsBadEscapeNamingTheParameter) {
  auto params = ParseQuery("ok=1&goto=100%zz");
  ASSERT_FALSE(params.ok());
  EXPECT_EQ(params.error().code, errc::kInvalidArgument);
  EXPECT_NE(params.error().message.find("goto"), std::string::npos);
  EXPECT_NE(params.error().message.find("percent"), std::string::npos);
}

TEST(HttpParseQuery, RejectsValueThatIsNotUtf8) {
  auto params = ParseQuery("username=%D6%D0");  // GBK, not UTF-8
  ASSERT_FALSE(params.ok());
  EXPECT_NE(params.error().message.find("username"), std::string::npos);
  EXPECT_NE(params.error().message.find("UTF-8"), std::string::npos);
}

TEST(HttpParseQuery, RejectsNameThatIsNotUtf8WithoutEchoingIt) {
  auto params = ParseQuery("%FF%FE=1");
  ASSERT_FALSE(params.ok());
  EXPECT_EQ(params.error().message, "a parameter name is not valid UTF-8");
}

TEST(HttpParams, GetPrefersBodyOverQuery) {
  Params params;
  params.Add("sign", "from-query", ParamSource::kQuery);
  params.Add("sign", "from-body", ParamSource::kBody);
  EXPECT_EQ(params.Get("sign"), std::optional<std::string_view>("from-body"));
}

TEST(HttpParams, GetFallsBackToQuery) {
  Params params;
  params.Add("method", "getToken", ParamSource::kQuery);
  params.Add("authcode", "A", ParamSource::kBody);
  EXPECT_EQ(params.Get("method"), std::optional<std::string_view>("getToken"));
  EXPECT_FALSE(params.Get("missing").has_value());
  EXPECT_EQ(params.GetOr("missing", "dflt"), "dflt");
}

TEST(HttpParams, GetAllListsBodyValuesBeforeQueryValues) {
  Params params;
  params.Add("r", "q1", ParamSource::kQuery);
  params.Add("r", "b1", ParamSource::kBody);
  params.Add("r", "q2", ParamSource::kQuery);
  params.Add("r", "b2", ParamSource::kBody);
  EXPECT_EQ(params.GetAll("r"), (std::vector<std::string_view>{"b1", "b2", "q1", "q2"}));
}

TEST(HttpParams, IteratesInInsertionOrder) {
  Params params;
  params.Add("a", "1", ParamSource::kQuery);
  params.Add("b", "2", ParamSource::kBody);
  std::string seen;
  for (const Params::Entry& e : params) {
    seen += std::string(e.name) + "=" + std::string(e.value) +
            (e.source == ParamSource::kBody ? "(body);" : "(query);");
  }
  EXPECT_EQ(seen, "a=1(query);b=2(body);");
}

TEST(HttpParams, ClearEmptiesForReuse) {
  Params params;
  params.Add("a", "1");
  params.Clear();
  EXPECT_TRUE(params.empty());
  params.Add("b", "2");
  EXPECT_EQ(params.GetOr("b"), "2");
  EXPECT_FALSE(params.Has("a"));
}

TEST(HttpEncodeForm, EncodesPairsForAFormBody) {
  EXPECT_EQ(EncodeForm({{"method", "synchronizeUser"}, {"args", "{\"a\":\"张\"}"}}),
            "method=synchronizeUser&args=%7B%22a%22%3A%22%E5%BC%A0%22%7D");
}

TEST(HttpAppendQuery, AddsQuestionMarkWhenThereIsNoQuery) {
  EXPECT_EQ(AppendQuery("http://app/cb", "ticket", "ST-1"), "http://app/cb?ticket=ST-1");
}

TEST(HttpAppendQuery, AddsAmpersandToAnExistingQuery) {
  EXPECT_EQ(AppendQuery("http://app/cb?x=1", "ticket", "T"), "http://app/cb?x=1&ticket=T");
  EXPECT_EQ(AppendQuery("http://app/cb?", "ticket", "T"), "http://app/cb?ticket=T");
}

TEST(HttpAppendQuery, KeepsTheFragmentLast) {
  EXPECT_EQ(AppendQuery("http://app/#/home", "ticket", "T"), "http://app/?ticket=T#/home");
}

TEST(HttpAppendQuery, EncodesAUrlValue) {
  std::string url = AppendQuery("http://app/cb", "ticket", "T");
  url = AppendQuery(url, "sp", "http://app/page?a=1&b=2");
  EXPECT_EQ(url, "http://app/cb?ticket=T&sp=http%3A%2F%2Fapp%2Fpage%3Fa%3D1%26b%3D2");
}

}  // namespace
}  // namespace tongban::http
