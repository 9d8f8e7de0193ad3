#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace tongban {
namespace {

TEST(Utf8Test, AsciiAndChineseAreValid) {
  EXPECT_TRUE(IsValidUtf8(""));
  EXPECT_TRUE(IsValidUtf8("plain ascii that is longer than eight bytes"));
  EXPECT_TRUE(IsValidUtf8("张三 zhangs 浙江政务服务网"));
  EXPECT_TRUE(IsValidUtf8("\xF0\x9F\x98\x80"));  // U+1F600, four bytes
}

TEST(Utf8Test, OverlongFormsAreRefused) {
  EXPECT_FALSE(IsValidUtf8("\xC0\xAF"));          // '/' in two bytes
  EXPECT_FALSE(IsValidUtf8("\xE0\x80\xAF"));      // '/' in three bytes
  EXPECT_FALSE(IsValidUtf8("\xF0\x80\x80\xAF"));  // '/' in four bytes
}

TEST(Utf8Test, SurrogatesAndCodePointsBeyondUnicodeAreRefused) {
  EXPECT_FALSE(IsValidUtf8("\xED\xA0\x80"));      // U+D800
  EXPECT_FALSE(IsValidUtf8("\xF4\x90\x80\x80"));  // U+110000
}

TEST(Utf8Test, TruncatedAndStrayBytesAreRefusedAfterAnAsciiRun) {
  EXPECT_FALSE(IsValidUtf8("abcdefghij\xE5\xBC"));  // 张 cut short at the end
  EXPECT_FALSE(IsValidUtf8("abcdefghij\x80"));      // a lone continuation byte
  EXPECT_FALSE(IsValidUtf8(std::string("abc\xFF") + "defghijk"));
}

}  // namespace
}  // namespace tongban
