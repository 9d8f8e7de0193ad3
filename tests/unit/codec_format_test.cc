#include <gtest/gtest.h>

#include "codec/render.h"

namespace tongban::codec {
namespace {

Format Parsed(std::string_view datatype) {
  Result<Format> f = ParseFormat(datatype);
  EXPECT_TRUE(f.ok()) << datatype;
  return f.ok() ? *f : Format::kXml;
}

TEST(CodecFormatTest, XmlNamesAndZeroMeanXml) {
  EXPECT_EQ(Parsed("xml"), Format::kXml);
  EXPECT_EQ(Parsed("XML"), Format::kXml);
  EXPECT_EQ(Parsed("Xml"), Format::kXml);
  EXPECT_EQ(Parsed("0"), Format::kXml);
}

TEST(CodecFormatTest, JsonNamesAndOneMeanJson) {
  EXPECT_EQ(Parsed("json"), Format::kJson);
  EXPECT_EQ(Parsed("JSON"), Format::kJson);
  EXPECT_EQ(Parsed("1"), Format::kJson);
}

TEST(CodecFormatTest, EmptyDatatypeDefaultsToXml) { EXPECT_EQ(Parsed(""), Format::kXml); }

TEST(CodecFormatTest, UnknownDatatypeIsAnInvalidArgument) {
  for (std::string_view bad : {"yaml", "2", " json", "jsonp", "xmlx"}) {
    Result<Format> f = ParseFormat(bad);
    ASSERT_FALSE(f.ok()) << bad;
    EXPECT_EQ(f.error().code, errc::kInvalidArgument);
  }
}

TEST(CodecFormatTest, UnknownDatatypeMessageQuotesItSafely) {
  Result<Format> f = ParseFormat("a\nb");
  ASSERT_FALSE(f.ok());
  EXPECT_EQ(f.error().message, "unknown datatype \"a?b\"; expected xml or json");
}

TEST(CodecFormatTest, ContentTypesCarryUtf8Charset) {
  EXPECT_EQ(ContentType(Format::kXml), "text/xml;charset=utf-8");
  EXPECT_EQ(ContentType(Format::kJson), "application/json;charset=utf-8");
}

}  // namespace
}  // namespace tongban::codec
