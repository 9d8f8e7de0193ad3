// XML bodies of web access: push bodies parsed into the JSON the handler reads (both shapes,
// NULLs, CDATA, entities), refusals naming the record and element, answers rendered as XML.
#include <gtest/gtest.h>

#include "exchange/delivery.h"
#include "exchange/web_xml.h"

namespace tongban::exchange {
namespace {

TEST(WebXmlTest, ParsesBothShapesIntoTheJsonForm) {
  auto j = WebXmlToJson(R"(<?xml version="1.0" encoding="UTF-8"?>
<records>
  <record>
    <tongid>L1</tongid><sync_status>U</sync_status><dataversion>3</dataversion>
    <fields><no>A1</no><holder><![CDATA[甲 & 乙公司]]></holder><issued null="true"/></fields>
  </record>
  <record>
    <tongid>L2</tongid>
    <values><value><field_code>no</field_code><field_value>A&lt;2&gt;</field_value></value>
            <value><field_code>holder</field_code><field_value null="true"/></value></values>
  </record>
</records>)");
  ASSERT_TRUE(j.ok()) << j.error().message;
  const auto& records = (*j)["records"];
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0]["dataversion"], 3);
  EXPECT_EQ(records[0]["fields"]["holder"], "甲 & 乙公司");
  EXPECT_TRUE(records[0]["fields"]["issued"].is_null());
  EXPECT_EQ(records[1]["values"][0]["field_value"], "A<2>");
  EXPECT_TRUE(records[1]["values"][1]["field_value"].is_null());
  // What the push handler does next: the shared JSON reader takes both.
  auto first = RecordFromJson(records[0].dump());
  ASSERT_TRUE(first.ok()) << first.error().message;
  EXPECT_EQ(first->sync_status, 'U');
  EXPECT_EQ(first->values.at("no"), std::optional<std::string>("A1"));
  EXPECT_FALSE(first->values.at("issued").has_value());
  auto second = RecordFromJson(records[1].dump());
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_EQ(second->values.at("no"), std::optional<std::string>("A<2>"));
}

TEST(WebXmlTest, RefusalsNameTheRecordAndElement) {
  struct Case {
    const char* xml;
    const char* mentions;
  } cases[] = {
      {"<rows/>", "<records>"},
      {"<records><record/><row/></records>", "record 2"},
      {"<records><record><tongid>a</tongid><colour>x</colour></record></records>", "colour"},
      {"<records><record><dataversion>x1</dataversion></record></records>", "integer"},
      {"<records><record><tongid><b>x</b></tongid></record></records>", "text"},
      {"<records><record><values><v/></values></record></records>", "<value>"},
      {"<!DOCTYPE r [<!ENTITY x 'y'>]><records/>", "DOCTYPE"},
      {"<records><record>", ""},
  };
  for (const Case& c : cases) {
    auto j = WebXmlToJson(c.xml);
    ASSERT_FALSE(j.ok()) << c.xml;
    EXPECT_NE(j.error().message.find(c.mentions), std::string::npos)
        << c.xml << ": " << j.error().message;
  }
}

TEST(WebXmlTest, RendersAnswersAsXml) {
  nlohmann::json answer = {
      {"code", 1},
      {"message", "some records were refused"},
      {"results", {{{"index", 0}, {"tongid", "a&b"}, {"code", 0}}}},
      {"records", {{{"tongid", "x"}, {"fields", {{"no", "1"}, {"holder", nullptr}}}}}}};
  EXPECT_EQ(JsonToWebXml(answer, "result"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><result><code>1</code>"
            "<message>some records were refused</message>"
            "<records><record><fields><holder null=\"true\"/><no>1</no></fields>"
            "<tongid>x</tongid></record></records>"
            "<results><result><code>0</code><index>0</index><tongid>a&amp;b</tongid></result>"
            "</results></result>");
}

// review16a: a record pushed over JSON with a control character (or U+FFFF,
// or bytes that are not UTF-8) made every consumer's XML pull of its page
// ill-formed, so the feed stopped there. What XML cannot carry becomes U+FFFD.
TEST(WebXmlTest, ValuesXmlCannotCarryStillRenderWellFormed) {
  nlohmann::json records = nlohmann::json::array(
      {{{"tongid", "x"}, {"fields", {{"holder", "甲\x01公司\r"}, {"no", "A\xEF\xBF\xBF"}}}}});
  const std::string xml = JsonToWebXml(records, "records");
  auto back = WebXmlToJson(xml);
  ASSERT_TRUE(back.ok()) << back.error().message << "\n" << xml;
  EXPECT_EQ((*back)["records"][0]["fields"]["holder"], "甲\xEF\xBF\xBD公司\r");
  EXPECT_EQ((*back)["records"][0]["fields"]["no"], "A\xEF\xBF\xBD");
}

}  // namespace
}  // namespace tongban::exchange
