#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "codec/value.h"

namespace tongban::codec {
namespace {

TEST(CodecValueTest, DefaultValueIsNull) {
  Value v;
  EXPECT_TRUE(v.IsNull());
  EXPECT_EQ(v.type(), Value::Type::kNull);
}

TEST(CodecValueTest, ConstructorsPickTheMatchingType) {
  EXPECT_TRUE(Value(true).IsBool());
  EXPECT_TRUE(Value(42).IsInteger());
  EXPECT_TRUE(Value(std::int64_t{-7}).IsInteger());
  EXPECT_TRUE(Value(2.5).IsDouble());
  EXPECT_TRUE(Value("0").IsString());
  EXPECT_TRUE(Value(std::string("x")).IsString());
  EXPECT_TRUE(Value(std::string_view("x")).IsString());
  EXPECT_TRUE(Value(nullptr).IsNull());
}

TEST(CodecValueTest, UnsignedAboveInt64MaxBecomesDouble) {
  const Value v(std::numeric_limits<std::uint64_t>::max());
  EXPECT_TRUE(v.IsDouble());
  EXPECT_EQ(Value(std::uint64_t{5}).AsInteger(), 5);
}

TEST(CodecValueTest, SetAppendsKeysInInsertionOrder) {
  const Value v = Value::Object().Set("result", "0").Set("errmsg", "成功").Set("token", "t");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v.members()[0].key, "result");
  EXPECT_EQ(v.members()[1].key, "errmsg");
  EXPECT_EQ(v.members()[2].key, "token");
  EXPECT_EQ(v["errmsg"].AsString(), "成功");
}

TEST(CodecValueTest, SetOnAnExistingKeyReplacesItInPlace) {
  Value v = Value::Object().Set("result", "0").Set("errmsg", "成功");
  v.Set("result", "6001");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v.members()[0].key, "result");
  EXPECT_EQ(v.members()[0].value.AsString(), "6001");
}

TEST(CodecValueTest, AppendNewAddsInOrderAndIsFoundLikeSet) {
  Value v;  // null: becomes an object
  v.AppendNew("userid", "u1");
  v.AppendNew("loginname", "zhangs").AsString();
  v.Set("result", "0");
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v.members()[1].key, "loginname");
  EXPECT_EQ(v["userid"].AsString(), "u1");
  v.Set("loginname", "lisi");  // Set still finds an appended key
  EXPECT_EQ(v.size(), 3u);
  EXPECT_EQ(v["loginname"].AsString(), "lisi");
}

TEST(CodecValueTest, AddReturnsTheStoredChildForFilling) {
  Value reply = Value::Object();
  Value& users = reply.Add("user", Value::Array());
  users.Push(Value::Object().Set("loginname", "zhangs"));
  ASSERT_TRUE(reply["user"].IsArray());
  EXPECT_EQ(reply["user"][0]["loginname"].AsString(), "zhangs");
}

TEST(CodecValueTest, SetOnNullTurnsItIntoAnObject) {
  Value v;
  v.Set("a", 1);
  EXPECT_TRUE(v.IsObject());
  EXPECT_EQ(v["a"].AsInteger(), 1);
}

TEST(CodecValueTest, PushOnNullTurnsItIntoAnArray) {
  Value v;
  v.Push("x");
  EXPECT_TRUE(v.IsArray());
  EXPECT_EQ(v[0].AsString(), "x");
}

TEST(CodecValueTest, FindReturnsNullptrForAMissingKey) {
  const Value v = Value::Object().Set("a", 1);
  EXPECT_NE(v.Find("a"), nullptr);
  EXPECT_EQ(v.Find("b"), nullptr);
  EXPECT_EQ(Value("scalar").Find("a"), nullptr);
}

TEST(CodecValueTest, FindStringIgnoresValuesOfOtherTypes) {
  const Value v = Value::Object().Set("s", "x").Set("n", 3);
  ASSERT_NE(v.FindString("s"), nullptr);
  EXPECT_EQ(*v.FindString("s"), "x");
  EXPECT_EQ(v.FindString("n"), nullptr);
  EXPECT_EQ(v.FindString("missing"), nullptr);
}

TEST(CodecValueTest, ConstIndexOfAMissingKeyIsNull) {
  const Value v = Value::Object();
  EXPECT_TRUE(v["missing"].IsNull());
}

TEST(CodecValueTest, MutableIndexOfAMissingKeyInsertsNull) {
  Value v = Value::Object();
  v["a"] = "x";
  EXPECT_EQ(v.size(), 1u);
  EXPECT_EQ(v["a"].AsString(), "x");
}

TEST(CodecValueTest, EraseRemovesAKeyAndKeepsTheOthersInOrder) {
  Value v = Value::Object().Set("a", 1).Set("b", 2).Set("c", 3);
  EXPECT_TRUE(v.Erase("b"));
  EXPECT_FALSE(v.Erase("b"));
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v.members()[0].key, "a");
  EXPECT_EQ(v.members()[1].key, "c");
}

TEST(CodecValueTest, MergeAppendsTheOtherObjectsMembersInTheirOrder) {
  Value v = Value::Object().Set("result", "0").Merge(Value::Object().Set("b", 2).Set("a", 1));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v.members()[0].key, "result");
  EXPECT_EQ(v.members()[1].key, "b");
  EXPECT_EQ(v.members()[2].key, "a");
}

TEST(CodecValueTest, MergeReplacesAKeyAlreadyPresentInPlace) {
  Value v = Value::Object().Set("a", 1).Set("b", 2).Merge(Value::Object().Set("a", 9).Set("c", 3));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v.members()[0].key, "a");
  EXPECT_EQ(v["a"].AsInteger(), 9);
  EXPECT_EQ(v.members()[2].key, "c");
}

TEST(CodecValueTest, ContainerAccessorsOnScalarsAreEmpty) {
  const Value v("x");
  EXPECT_TRUE(v.members().empty());
  EXPECT_TRUE(v.items().empty());
  EXPECT_EQ(v.size(), 0u);
}

TEST(CodecValueTest, ToTextGivesWireTextForScalars) {
  EXPECT_EQ(Value("成功").ToText(), "成功");
  EXPECT_EQ(Value(-12).ToText(), "-12");
  EXPECT_EQ(Value(0.1).ToText(), "0.1");
  EXPECT_EQ(Value(3.0).ToText(), "3.0");
  EXPECT_EQ(Value(true).ToText(), "true");
  EXPECT_EQ(Value().ToText(), "");
  EXPECT_EQ(Value(std::nan("")).ToText(), "NaN");
}

TEST(CodecValueTest, AsDoubleAcceptsAnInteger) { EXPECT_EQ(Value(3).AsDouble(), 3.0); }

TEST(CodecValueTest, EqualityComparesObjectsInOrder) {
  const Value ab = Value::Object().Set("a", 1).Set("b", 2);
  const Value ab2 = Value::Object().Set("a", 1).Set("b", 2);
  const Value ba = Value::Object().Set("b", 2).Set("a", 1);
  EXPECT_EQ(ab, ab2);
  EXPECT_NE(ab, ba);
}

TEST(CodecValueTest, IntegerAndDoubleAreNotEqual) { EXPECT_NE(Value(1), Value(1.0)); }

TEST(CodecValueTest, CopiesAreDeepAndIndependent) {
  Value a = Value::Object().Set("list", Value::Array());
  Value b = a;
  b["list"].Push(1);
  EXPECT_EQ(a["list"].size(), 0u);
  EXPECT_EQ(b["list"].size(), 1u);
}

}  // namespace
}  // namespace tongban::codec
