// Packed records: any text survives Pack/Unpack, lists nest inside a field,
// and SplitRecord insists on the exact field count.
#include "sso/packed_record.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace tongban::sso {
namespace {

TEST(PackedRecordTest, SeparatorsAndEscapesInFieldsRoundTrip) {
  const std::vector<std::string> fields = {"plain", "a|b", "%7C", "100%", "", "|%|", "中文"};
  std::string packed = Pack({fields[0], fields[1], fields[2], fields[3], fields[4], fields[5],
                             fields[6]});
  EXPECT_EQ(Unpack(packed), fields);
}

TEST(PackedRecordTest, AStrayPercentIsKeptAsIs) {
  EXPECT_EQ(Unescape("50%off%2"), "50%off%2");
  EXPECT_EQ(Unescape("%25%7C%41"), "%|%41");
}

TEST(PackedRecordTest, ListsNestInOneFieldOfARecord) {
  const std::vector<std::string> proxies = {"https://a.example/cb?x=1|2", "https://b%20"};
  std::string record = Pack({"head", PackList(proxies), PackList({})});
  auto f = SplitRecord<3>(record);
  ASSERT_TRUE(f.has_value());
  EXPECT_EQ(UnpackList(Unescape((*f)[1])), proxies);
  EXPECT_TRUE(UnpackList(Unescape((*f)[2])).empty());
}

TEST(PackedRecordTest, IntFieldsMustBeWholeNumbers) {
  int64_t v = 0;
  EXPECT_TRUE(ParseIntField("1700000000123", &v));
  EXPECT_EQ(v, 1700000000123);
  EXPECT_TRUE(ParseIntField("-5", &v));
  EXPECT_EQ(v, -5);
  EXPECT_FALSE(ParseIntField("", &v));
  EXPECT_FALSE(ParseIntField("12x", &v));
  EXPECT_FALSE(ParseIntField(" 12", &v));
  EXPECT_FALSE(ParseIntField("99999999999999999999", &v));
}

TEST(PackedRecordTest, SplitRecordRefusesTooFewOrTooManyFields) {
  EXPECT_TRUE(SplitRecord<3>("a|b|c").has_value());
  EXPECT_FALSE(SplitRecord<3>("a|b").has_value());
  EXPECT_FALSE(SplitRecord<3>("a|b|c|d").has_value());
  auto one = SplitRecord<1>("");
  ASSERT_TRUE(one.has_value());
  EXPECT_EQ((*one)[0], "");
}

}  // namespace
}  // namespace tongban::sso
