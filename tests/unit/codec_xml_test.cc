#include <gtest/gtest.h>

#include <pugixml.hpp>
#include <string>

#include "codec/parse.h"
#include "codec/render.h"
#include "codec/value.h"

namespace tongban::codec {
namespace {

constexpr std::string_view kDecl = R"(<?xml version="1.0" encoding="UTF-8"?>)";

std::string Xml(std::string_view body) { return std::string(kDecl) + std::string(body); }

Value UserList() {
  Value reply = Value::Object().Set("result", "0").Set("errmsg", "成功").Set("total", 2);
  Value& users = reply.Add("user", Value::Array());
  users.Push(Value::Object().Set("loginname", "zhangs").Set("username", "张三"));
  users.Push(Value::Object().Set("loginname", "lis").Set("username", "李四"));
  return reply;
}

bool WellFormed(const std::string& xml) {
  pugi::xml_document doc;
  return static_cast<bool>(doc.load_buffer(xml.data(), xml.size()));
}

// --- rendering ---

TEST(CodecXmlRenderTest, FlatReplyRendersAsSsoElementsInOrder) {
  const Value reply = Value::Object()
                          .Set("result", "0")
                          .Set("errmsg", "成功")
                          .Set("token", "t-1")
                          .Set("username", "张三");
  EXPECT_EQ(RenderSsoXml(reply),
            Xml("<SSO><result>0</result><errmsg>成功</errmsg><token>t-1</token>"
                "<username>张三</username></SSO>"));
}

TEST(CodecXmlRenderTest, ListReplyRendersOneElementPerItemWithAttributes) {
  EXPECT_EQ(
      RenderSsoXml(UserList()),
      Xml("<SSO><result>0</result><errmsg>成功</errmsg><total>2</total>"
          R"(<user loginname="zhangs" username="张三"/><user loginname="lis" username="李四"/>)"
          "</SSO>"));
}

TEST(CodecXmlRenderTest, NestedObjectRendersAsChildElements) {
  const Value reply =
      Value::Object().Set("org", Value::Object().Set("orgcoding", "001").Set("orgname", "浙江省"));
  EXPECT_EQ(RenderSsoXml(reply),
            Xml("<SSO><org><orgcoding>001</orgcoding><orgname>浙江省</orgname></org></SSO>"));
}

TEST(CodecXmlRenderTest, ArrayOfScalarsRepeatsTheElement) {
  Value reply = Value::Object();
  Value& roles = reply.Add("role", Value::Array());
  roles.Push("admin");
  roles.Push("审批员");
  EXPECT_EQ(RenderSsoXml(reply), Xml("<SSO><role>admin</role><role>审批员</role></SSO>"));
}

TEST(CodecXmlRenderTest, EmptyArrayRendersNothing) {
  EXPECT_EQ(RenderSsoXml(Value::Object().Set("total", 0).Set("user", Value::Array())),
            Xml("<SSO><total>0</total></SSO>"));
}

TEST(CodecXmlRenderTest, NullRendersAsAnEmptyElementAndEmptyStringAsOpenClose) {
  EXPECT_EQ(RenderSsoXml(Value::Object().Set("a", nullptr).Set("b", "")),
            Xml("<SSO><a/><b></b></SSO>"));
}

TEST(CodecXmlRenderTest, NumbersAndBoolsRenderAsText) {
  EXPECT_EQ(RenderSsoXml(Value::Object().Set("n", -3).Set("d", 0.5).Set("f", false)),
            Xml("<SSO><n>-3</n><d>0.5</d><f>false</f></SSO>"));
}

TEST(CodecXmlRenderTest, ItemWithNestedMembersPutsThemInChildElements) {
  Value reply = Value::Object();
  Value item = Value::Object().Set("loginname", "zhangs").Set("role", Value::Array());
  item["role"].Push("admin");
  reply.Add("user", Value::Array()).Push(std::move(item));
  EXPECT_EQ(RenderSsoXml(reply),
            Xml(R"(<SSO><user loginname="zhangs"><role>admin</role></user></SSO>)"));
}

TEST(CodecXmlRenderTest, TextEscapesMarkupCharacters) {
  EXPECT_EQ(RenderSsoXml(Value::Object().Set("errmsg", "a&b<c>d\"e'f")),
            Xml("<SSO><errmsg>a&amp;b&lt;c&gt;d\"e'f</errmsg></SSO>"));
}

TEST(CodecXmlRenderTest, AttributeEscapesQuotesAndWhitespaceControls) {
  Value reply = Value::Object();
  reply.Add("user", Value::Array()).Push(Value::Object().Set("memo", "a&\"b'<c>\td\ne\r"));
  EXPECT_EQ(RenderSsoXml(reply),
            Xml(R"(<SSO><user memo="a&amp;&quot;b&apos;&lt;c&gt;&#9;d&#10;e&#13;"/></SSO>)"));
}

TEST(CodecXmlRenderTest, CarriageReturnInTextIsACharacterReference) {
  EXPECT_EQ(RenderSsoXml(Value::Object().Set("a", "x\r\ny\tz")),
            Xml("<SSO><a>x&#13;\ny\tz</a></SSO>"));
}

TEST(CodecXmlRenderTest, ControlCharactersXmlCannotCarryBecomeReplacementCharacter) {
  EXPECT_EQ(RenderSsoXml(Value::Object().Set("a", std::string("x\x01y\0z\xff", 6))),
            Xml("<SSO><a>x\xEF\xBF\xBDy\xEF\xBF\xBDz\xEF\xBF\xBD</a></SSO>"));
}

TEST(CodecXmlRenderTest, KeyThatIsNotAnXmlNameIsEncoded) {
  EXPECT_EQ(RenderSsoXml(Value::Object().Set("1st key", "v")),
            Xml("<SSO><_x0031_st_x0020_key>v</_x0031_st_x0020_key></SSO>"));
}

TEST(CodecXmlRenderTest, ChineseKeyIsAValidXmlName) {
  EXPECT_EQ(RenderSsoXml(Value::Object().Set("姓名", "张三")), Xml("<SSO><姓名>张三</姓名></SSO>"));
}

TEST(CodecXmlRenderTest, HostileValuesStillGiveWellFormedXml) {
  Value reply = Value::Object().Set("x", "]]></SSO><!--").Set("<evil attr=\"1\">", "&amp;");
  reply.Add("user", Value::Array()).Push(Value::Object().Set("a b", "\"/><x y='").Set("a_b", 1));
  EXPECT_TRUE(WellFormed(RenderSsoXml(reply))) << RenderSsoXml(reply);
}

TEST(CodecXmlRenderTest, RenderWithXmlFormatIsRenderSsoXml) {
  EXPECT_EQ(Render(UserList(), Format::kXml), RenderSsoXml(UserList()));
}

TEST(CodecXmlRenderTest, NonObjectReplyStillRendersWellFormed) {
  EXPECT_EQ(RenderSsoXml(Value("x")), Xml("<SSO>x</SSO>"));
  Value array = Value::Array();
  array.Push(1);
  EXPECT_EQ(RenderSsoXml(array), Xml("<SSO><item>1</item></SSO>"));
}

// --- parsing ---

TEST(CodecXmlParseTest, FlatReplyParsesBackAsStrings) {
  const Value reply = Value::Object().Set("result", "0").Set("errmsg", "成功").Set("total", 2);
  Result<Value> parsed = ParseSsoXml(RenderSsoXml(reply));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, Value::Object().Set("result", "0").Set("errmsg", "成功").Set("total", "2"));
}

TEST(CodecXmlParseTest, ListReplyRoundTrips) {
  Value expected = UserList();
  expected.Set("total", "2");
  Result<Value> parsed = ParseSsoXml(RenderSsoXml(UserList()));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, expected);
}

TEST(CodecXmlParseTest, SingleElementWithAttributesIsAOneItemArray) {
  Result<Value> parsed = ParseSsoXml(R"(<SSO><user loginname="zhangs"/></SSO>)");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  ASSERT_TRUE((*parsed)["user"].IsArray());
  EXPECT_EQ((*parsed)["user"][0]["loginname"].AsString(), "zhangs");
}

TEST(CodecXmlParseTest, NestedObjectRoundTrips) {
  const Value reply = Value::Object().Set(
      "org", Value::Object().Set("orgcoding", "001002").Set("orgname", "浙江省公安厅"));
  Result<Value> parsed = ParseSsoXml(RenderSsoXml(reply));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, reply);
}

TEST(CodecXmlParseTest, RepeatedTextElementsBecomeAnArray) {
  Result<Value> parsed = ParseSsoXml("<SSO><role>a</role><x>1</x><role>b</role></SSO>");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  Value roles = Value::Array();
  roles.Push("a");
  roles.Push("b");
  EXPECT_EQ(*parsed, Value::Object().Set("role", roles).Set("x", "1"));
}

TEST(CodecXmlParseTest, EscapedTextAndAttributesRoundTripExactly) {
  const std::string text = "a&b<c>d\"e'f\tg\nh\ri  张三 ";
  Value reply = Value::Object().Set("errmsg", text);
  reply.Add("user", Value::Array()).Push(Value::Object().Set("memo", text));
  Result<Value> parsed = ParseSsoXml(RenderSsoXml(reply));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, reply);
}

TEST(CodecXmlParseTest, EncodedKeysDecodeBack) {
  const Value reply = Value::Object().Set("1st key", "v").Set("_x0041_", "literal").Set("", "e");
  Result<Value> parsed = ParseSsoXml(RenderSsoXml(reply));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, Value::Object().Set("1st key", "v").Set("_x0041_", "literal").Set("_", "e"));
}

TEST(CodecXmlParseTest, ItemFieldNamedXmlnsIsNotTakenForANamespace) {
  Value reply = Value::Object();
  reply.Add("user", Value::Array()).Push(Value::Object().Set("xmlns", "v"));
  Result<Value> parsed = ParseSsoXml(RenderSsoXml(reply));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, reply);
}

TEST(CodecXmlParseTest, NullAndEmptyStringBothParseAsEmptyString) {
  Result<Value> parsed = ParseSsoXml(RenderSsoXml(Value::Object().Set("a", nullptr).Set("b", "")));
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, Value::Object().Set("a", "").Set("b", ""));
}

TEST(CodecXmlParseTest, CdataAndWhitespaceBetweenElementsAreHandled) {
  Result<Value> parsed = ParseSsoXml(
      "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<SSO>\n  <a><![CDATA[<b>&]]></a>\n"
      "  <!-- comment -->\n  <c> x </c>\n</SSO>\n");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, Value::Object().Set("a", "<b>&").Set("c", " x "));
}

TEST(CodecXmlParseTest, NamespacePrefixesAreDropped) {
  Result<Value> parsed =
      ParseSsoXml(R"(<p:SSO xmlns:p="urn:x" xmlns="urn:y"><p:result>0</p:result></p:SSO>)");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, Value::Object().Set("result", "0"));
}

TEST(CodecXmlParseTest, SynchronizeUserArgsParse) {
  Result<Value> parsed = ParseSsoXml(
      "<SSO><userid>8a1189bf8caba36b018cae241546098c</userid><loginname>zhangs</loginname>"
      "<username>张三</username><orgcoding>001002</orgcoding><loginpwd></loginpwd></SSO>");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed->FindString("username"), "张三");
  EXPECT_EQ(*parsed->FindString("loginpwd"), "");
}

TEST(CodecXmlParseTest, EmptyRootIsAnEmptyObject) {
  Result<Value> parsed = ParseSsoXml("<SSO/>");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, Value::Object());
}

TEST(CodecXmlParseTest, MalformedXmlIsAnErrorWithPosition) {
  Result<Value> parsed = ParseSsoXml("<SSO><a>1</b></SSO>");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, errc::kInvalidArgument);
  EXPECT_NE(parsed.error().message.find("not well-formed"), std::string::npos)
      << parsed.error().message;
}

TEST(CodecXmlParseTest, DoctypeIsRefused) {
  Result<Value> parsed = ParseSsoXml(
      R"(<?xml version="1.0"?><!DOCTYPE SSO [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>)"
      "<SSO><a>&xxe;</a></SSO>");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("DOCTYPE"), std::string::npos) << parsed.error().message;
}

TEST(CodecXmlParseTest, NonUtf8DeclaredEncodingIsRefused) {
  Result<Value> parsed = ParseSsoXml(R"(<?xml version="1.0" encoding="GBK"?><SSO/>)");
  ASSERT_FALSE(parsed.ok());
  EXPECT_NE(parsed.error().message.find("GBK"), std::string::npos) << parsed.error().message;
}

TEST(CodecXmlParseTest, IllFormedUtf8IsRefused) {
  EXPECT_FALSE(ParseSsoXml("<SSO><a>\xd5\xc5</a></SSO>").ok());  // 张 in GBK
}

TEST(CodecXmlParseTest, NulByteIsRefused) {
  EXPECT_FALSE(ParseSsoXml(std::string("<SSO><a>x\0</a></SSO>", 20)).ok());
}

TEST(CodecXmlParseTest, TextMixedWithElementsIsAnError) {
  EXPECT_FALSE(ParseSsoXml("<SSO>text<a>1</a></SSO>").ok());
  EXPECT_FALSE(ParseSsoXml(R"(<SSO><user a="1">text</user></SSO>)").ok());
}

TEST(CodecXmlParseTest, AttributeAndElementWithTheSameNameIsAnError) {
  EXPECT_FALSE(ParseSsoXml(R"(<SSO><user a="1"><a>2</a></user></SSO>)").ok());
}

TEST(CodecXmlParseTest, TwoRootElementsAreAnError) {
  EXPECT_FALSE(ParseSsoXml("<SSO/><SSO/>").ok());
}

TEST(CodecXmlParseTest, EmptyInputIsAnError) { EXPECT_FALSE(ParseSsoXml("").ok()); }

TEST(CodecXmlParseTest, NestingDeeperThanTheLimitIsTooLarge) {
  ParseLimits limits;
  limits.max_depth = 3;
  EXPECT_TRUE(ParseSsoXml("<SSO><a><b>x</b></a></SSO>", limits).ok());
  Result<Value> parsed = ParseSsoXml("<SSO><a><b><c><d>x</d></c></b></a></SSO>", limits);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, errc::kTooLarge);
}

TEST(CodecXmlParseTest, InputLargerThanTheLimitIsTooLarge) {
  ParseLimits limits;
  limits.max_bytes = 10;
  Result<Value> parsed = ParseSsoXml("<SSO><a>1</a></SSO>", limits);
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, errc::kTooLarge);
}

}  // namespace
}  // namespace tongban::codec
