// The direct interface's messages: XML and JSON requests parsed into records
// and mapped to a notice (money exact in fen), hostile XML and JSON refused
// with a Chinese reason, and replies rendered in both forms and read back.
#include <gtest/gtest.h>

#include <string>

#include "codec/parse.h"
#include "codec/xml_doc.h"
#include "payment/direct.h"

namespace tongban::payment {
namespace {

constexpr const char* kCreateXml = R"(<?xml version="1.0" encoding="UTF-8"?>
<ROOT><REQUEST>
  <PARAM NAME="CHANNELNO">330001296</PARAM>
  <PARAM NAME="ORIGINALNOTICENO">FS0001934251</PARAM>
  <PARAM NAME="ENTERCODE">000368</PARAM>
  <PARAM NAME="YWCODE">YW&amp;1</PARAM>
  <PARAM NAME="PAYER">张三</PARAM>
  <PARAM NAME="PAYERSFZ">11010519491231002X</PARAM>
  <PARAM NAME="ISTRUENAME">1</PARAM>
  <PARAM NAME="EXPIREDPAYDATE">20260120</PARAM>
  <PARAM NAME="TOTALMONEY">37.34</PARAM>
  <PARAM NAME="FJ2">车牌</PARAM><PARAM NAME="FJCONTENT2">浙A12345</PARAM>
  <!-- a comment is fine -->
  <PROJECTS>
    <PROJECT><PARAM NAME="CHITCODE">00034002</PARAM><PARAM NAME="CHCOUNT">2.5</PARAM></PROJECT>
    <PROJECT><PARAM NAME="CHITCODE">00034003</PARAM><PARAM NAME="CHMONEY">12.34</PARAM></PROJECT>
  </PROJECTS>
</REQUEST></ROOT>)";

TEST(DirectXml, ACreateRequestMapsToANoticeWithExactFen) {
  auto req = ParseDirectXml(kCreateXml);
  ASSERT_TRUE(req.ok()) << req.error().message;
  EXPECT_EQ(req->params.Get("YWCODE"), "YW&1");
  ASSERT_EQ(req->projects.size(), 2u);
  auto n = NoticeFromDirect(*req);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->channel_no, "330001296");
  EXPECT_EQ(n->original_notice_no, "FS0001934251");
  EXPECT_EQ(n->payer.name, "张三");
  EXPECT_TRUE(n->true_name);
  EXPECT_EQ(n->total_fen, 3734);
  EXPECT_EQ(n->lines[0].count_milli, 2500);
  EXPECT_EQ(n->lines[1].amount_fen, 1234);
  EXPECT_EQ(n->extra[1].name, "车牌");
  EXPECT_EQ(n->extra[1].content, "浙A12345");
  EXPECT_EQ(ChinaDate(n->expires_at_ms), "20260120");
  EXPECT_EQ(ChinaTime(n->expires_at_ms), "235959");
}

TEST(DirectXml, ProjectsMayAlsoSitDirectlyInRequestAndNamesAnyCase) {
  auto req = ParseDirectXml(
      "<ROOT><REQUEST><PARAM NAME=\"noticeno\">1</PARAM><PROJECT><PARAM NAME=\"CHITCODE\">a"
      "</PARAM></PROJECT></REQUEST></ROOT>");
  ASSERT_TRUE(req.ok()) << req.error().message;
  EXPECT_EQ(req->params.Get("NOTICENO"), "1");
  EXPECT_EQ(req->projects.size(), 1u);
}

struct Hostile {
  const char* what;
  std::string xml;
};

class DirectXmlHostile : public ::testing::TestWithParam<Hostile> {};

TEST_P(DirectXmlHostile, IsRefusedWithAReason) {
  auto req = ParseDirectXml(GetParam().xml);
  ASSERT_FALSE(req.ok()) << GetParam().what;
  EXPECT_FALSE(req.error().message.empty());
  EXPECT_EQ(req.error().message.find("root:x:0:0"), std::string::npos);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, DirectXmlHostile,
    ::testing::Values(
        Hostile{"external entity (XXE)",
                "<?xml version=\"1.0\"?><!DOCTYPE ROOT [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>"
                "<ROOT><REQUEST><PARAM NAME=\"PAYER\">&x;</PARAM></REQUEST></ROOT>"},
        Hostile{"billion laughs",
                "<!DOCTYPE ROOT [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;\">]>"
                "<ROOT><REQUEST><PARAM NAME=\"PAYER\">&b;&b;</PARAM></REQUEST></ROOT>"},
        Hostile{"GBK declared", "<?xml version=\"1.0\" encoding=\"GBK\"?><ROOT><REQUEST/></ROOT>"},
        Hostile{"not UTF-8", "<ROOT><REQUEST><PARAM NAME=\"A\">\xC0\xAF</PARAM></REQUEST></ROOT>"},
        Hostile{"NUL byte",
                std::string("<ROOT><REQUEST><PARAM NAME=\"A\">a\0b</PARAM></REQUEST></ROOT>", 52)},
        Hostile{"unclosed", "<ROOT><REQUEST><PARAM NAME=\"A\">x</REQUEST></ROOT>"},
        Hostile{"wrong root", "<SSO><REQUEST/></SSO>"},
        Hostile{"two requests", "<ROOT><REQUEST/><REQUEST/></ROOT>"},
        Hostile{"no request", "<ROOT/>"},
        Hostile{"duplicate param",
                "<ROOT><REQUEST><PARAM NAME=\"A\">1</PARAM><PARAM "
                "NAME=\"a\">2</PARAM></REQUEST></ROOT>"},
        Hostile{"param without name", "<ROOT><REQUEST><PARAM>1</PARAM></REQUEST></ROOT>"},
        Hostile{"bad param name", "<ROOT><REQUEST><PARAM NAME=\"A B\">1</PARAM></REQUEST></ROOT>"},
        Hostile{"element inside param",
                "<ROOT><REQUEST><PARAM NAME=\"A\"><B/></PARAM></REQUEST></ROOT>"},
        Hostile{"unknown element", "<ROOT><REQUEST><SCRIPT/></REQUEST></ROOT>"},
        Hostile{"stray text", "<ROOT><REQUEST>hello<PARAM NAME=\"A\">1</PARAM></REQUEST></ROOT>"},
        Hostile{"project inside project",
                "<ROOT><REQUEST><PROJECT><PROJECT/></PROJECT></REQUEST></ROOT>"},
        Hostile{"too large", "<ROOT><REQUEST><PARAM NAME=\"A\">" + std::string(1 << 20, 'a') +
                                 "</PARAM></REQUEST></ROOT>"},
        Hostile{"value too long", "<ROOT><REQUEST><PARAM NAME=\"A\">" + std::string(5000, 'a') +
                                      "</PARAM></REQUEST></ROOT>"},
        Hostile{"too many projects",
                [] {
                  std::string s = "<ROOT><REQUEST>";
                  for (int i = 0; i < 51; ++i) s += "<PROJECT/>";
                  return s + "</REQUEST></ROOT>";
                }()},
        Hostile{"deep nesting", "<ROOT><REQUEST><PARAM NAME=\"A\">" + std::string(10000, '<')}),
    [](const auto& info) { return "case" + std::to_string(info.index); });

TEST(DirectXml, AnUndeclaredEntityStaysLiteralText) {
  // pugixml expands only the five predefined entities and character references.
  auto req = ParseDirectXml("<ROOT><REQUEST><PARAM NAME=\"A\">&x;&#x41;</PARAM></REQUEST></ROOT>");
  ASSERT_TRUE(req.ok()) << req.error().message;
  EXPECT_EQ(req->params.Get("A"), "&x;A");
}

TEST(DirectJson, ACreateRequestMapsLikeTheXml) {
  auto req = ParseDirectJson(R"({"CHANNELNO":"330001296","ORIGINALNOTICENO":"J1",
    "PAYER":"李四","PAYERSFZ":"91350100M000100Y43","TOTALMONEY":"10.00","ISCOUNTOVERDUE":1,
    "PROJECT":[{"CHITCODE":"00034003","CHMONEY":"10"}]})");
  ASSERT_TRUE(req.ok()) << req.error().message;
  auto n = NoticeFromDirect(*req);
  ASSERT_TRUE(n.ok()) << n.error().message;
  EXPECT_EQ(n->total_fen, 1000);
  EXPECT_TRUE(n->count_overdue);
  EXPECT_EQ(n->lines[0].amount_fen, 1000);
}

TEST(DirectJson, BadShapesAreRefused) {
  for (const char* bad : {
           R"([1,2])",
           R"({"A":"1","A":"2"})",
           R"({"TOTALMONEY":10.5})",
           R"({"A":{"B":"c"}})",
           R"({"PROJECT":{"CHITCODE":"x"}})",
           R"({"PROJECT":["x"]})",
           R"({"A":[[[[[[[[[[[[1]]]]]]]]]]]]})",
           R"({"A":"1"} trailing)",
       }) {
    EXPECT_FALSE(ParseDirectJson(bad).ok()) << bad;
  }
}

TEST(DirectMapping, FieldErrorsNameTheField) {
  struct Case {
    const char* json;
    const char* want;
  };
  for (
      const Case& c : std::initializer_list<Case>{
          {R"({"PROJECT":[{"CHITCODE":"a"}]})", "ORIGINALNOTICENO"},
          {R"({"ORIGINALNOTICENO":"1"})", "PROJECT"},
          {R"({"ORIGINALNOTICENO":"1","TOTALMONEY":"1.234","PROJECT":[{"CHITCODE":"a"}]})",
           "TOTALMONEY"},
          {R"({"ORIGINALNOTICENO":"1","TOTALMONEY":"-1","PROJECT":[{"CHITCODE":"a"}]})",
           "TOTALMONEY"},
          {R"({"ORIGINALNOTICENO":"1","ISTRUENAME":"2","PROJECT":[{"CHITCODE":"a"}]})",
           "ISTRUENAME"},
          {R"({"ORIGINALNOTICENO":"1","EXPIREDPAYDATE":"20260230","PROJECT":[{"CHITCODE":"a"}]})",
           "EXPIREDPAYDATE"},
          {R"({"ORIGINALNOTICENO":"1","PROJECT":[{"CHITCODE":"a","CHCOUNT":"0"}]})", "CHCOUNT"},
          {R"({"ORIGINALNOTICENO":"1","PROJECT":[{"CHMONEY":"1"}]})", "CHITCODE"},
          {R"({"CHANNELNO":"1","ORIGINALNOTICENO":"2","NOTICENO":"13","PROJECT":[{"CHITCODE":"a"}]})",
           "NOTICENO"},
      }) {
    auto req = ParseDirectJson(c.json);
    ASSERT_TRUE(req.ok()) << c.json;
    auto n = NoticeFromDirect(*req);
    ASSERT_FALSE(n.ok()) << c.json;
    EXPECT_NE(n.error().message.find(c.want), std::string::npos) << n.error().message;
  }
}

PaymentNotice SampleNotice() {
  PaymentNotice n;
  n.notice_no = "330001296FS1";
  n.channel_no = "330001296";
  n.original_notice_no = "FS1";
  n.payer.name = "A&B <公司>";
  n.made_at_ms = *ParseChinaDateTime("20260110", "093000");
  n.total_fen = 3734;
  NoticeLine l;
  l.chitcode = "00034002";
  l.count_milli = 2500;
  l.standard_fen = 1000;
  l.amount_fen = 2500;
  l.late_fee = {true, "", 500, 0};
  n.lines = {l};
  return n;
}

TEST(DirectReplies, XmlSuccessCarriesTheNoticeAndReadsBack) {
  DirectReply reply;
  reply.notices = {SampleNotice()};
  std::string xml = RenderDirectXml(reply);
  EXPECT_NE(xml.find("<IS_SUCCESS CODE=\"00\"/>"), std::string::npos);
  EXPECT_NE(xml.find("<PARAM NAME=\"PAYER\">A&amp;B &lt;公司&gt;</PARAM>"), std::string::npos);
  EXPECT_NE(xml.find("<PARAM NAME=\"TOTALMONEY\">37.34</PARAM>"), std::string::npos);
  EXPECT_NE(xml.find("<PARAM NAME=\"MAKETIME\">093000</PARAM>"), std::string::npos);
  EXPECT_NE(xml.find("<PARAM NAME=\"PAYMENTRADIO\">0.5</PARAM>"), std::string::npos);
  // Well-formed, and the payer's name reads back as it was.
  pugi::xml_document doc;
  ASSERT_TRUE(codec::LoadUntrustedXml(xml, {}, "reply", &doc).ok());
  EXPECT_STREQ(doc.select_node("/ROOT/NOTICE/PARAM[@NAME='PAYER']").node().text().get(),
               "A&B <公司>");
}

// review16a: a payer stored with U+FFFE (JSON or TXT import accept it) made
// every XML reply listing the notice ill-formed; an unknown element's name was
// quoted cut in the middle of a character.
TEST(DirectReplies, XmlStaysWellFormedWhateverWasStored) {
  DirectReply reply;
  reply.notices = {SampleNotice()};
  reply.notices[0].payer.name = "甲\xEF\xBF\xBE乙\x1B";
  std::string xml = RenderDirectXml(reply);
  pugi::xml_document doc;
  ASSERT_TRUE(codec::LoadUntrustedXml(xml, {}, "reply", &doc).ok()) << xml;
  EXPECT_STREQ(doc.select_node("/ROOT/NOTICE/PARAM[@NAME='PAYER']").node().text().get(),
               "甲\xEF\xBF\xBD乙\xEF\xBF\xBD");
  std::string name(62, 'A');
  name += "名字";  // 名 crosses byte 64: quoted up to it, never half of it
  auto refused = ParseDirectXml("<ROOT><REQUEST><" + name + "/></REQUEST></ROOT>");
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find(std::string(62, 'A') + "..."), std::string::npos)
      << refused.error().message;
  reply = DirectReply{};
  reply.errmsg = refused.error().message;
  reply.ok = false;
  ASSERT_TRUE(codec::LoadUntrustedXml(RenderDirectXml(reply), {}, "reply", &doc).ok());
}

TEST(DirectReplies, ErrorsAreCode99WithTheMessage) {
  DirectReply reply;
  reply.ok = false;
  reply.errmsg = "缴款单号已存在";
  EXPECT_NE(RenderDirectXml(reply).find("<IS_SUCCESS CODE=\"99\"/><ERRMSG>缴款单号已存在</ERRMSG>"),
            std::string::npos);
  auto json = codec::ParseJson(RenderDirectJson(reply));
  ASSERT_TRUE(json.ok());
  EXPECT_EQ((*json)["IS_SUCCESS"]["CODE"].AsString(), "99");
  EXPECT_EQ((*json)["ERRMSG"].AsString(), "缴款单号已存在");
}

TEST(DirectReplies, JsonListsUseNotices) {
  DirectReply reply;
  reply.list = true;
  reply.notices = {SampleNotice(), SampleNotice()};
  auto json = codec::ParseJson(RenderDirectJson(reply));
  ASSERT_TRUE(json.ok());
  ASSERT_EQ((*json)["NOTICES"].size(), 2u);
  EXPECT_EQ((*json)["NOTICES"][0]["PROJECT"][0]["CHMONEY"].AsString(), "25.00");
}

}  // namespace
}  // namespace tongban::payment
