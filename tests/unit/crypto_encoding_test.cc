#include <gtest/gtest.h>

#include <string>

#include "crypto/encoding.h"

namespace tongban::crypto {
namespace {

std::string AllBytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s += static_cast<char>(i);
  return s;
}

TEST(CryptoHexTest, EncodesLowercaseTwoDigitsPerByte) {
  EXPECT_EQ(HexEncode(std::string("\x00\x01\xab\xff", 4)), "0001abff");
}

TEST(CryptoHexTest, DecodesEitherCase) {
  auto decoded = HexDecode("00ABff");
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, std::string("\x00\xab\xff", 3));
}

TEST(CryptoHexTest, RoundTripsEveryByteValue) {
  auto decoded = HexDecode(HexEncode(AllBytes()));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, AllBytes());
}

TEST(CryptoHexTest, RejectsOddLength) { EXPECT_FALSE(HexDecode("abc").ok()); }

TEST(CryptoHexTest, RejectsNonHexCharacter) { EXPECT_FALSE(HexDecode("0g").ok()); }

TEST(CryptoBase64Test, MatchesRfc4648Vectors) {
  EXPECT_EQ(Base64Encode(""), "");
  EXPECT_EQ(Base64Encode("f"), "Zg==");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  EXPECT_EQ(Base64Encode("foo"), "Zm9v");
  EXPECT_EQ(Base64Encode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64Encode("fooba"), "Zm9vYmE=");
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
}

TEST(CryptoBase64Test, DecodesRfc4648Vectors) {
  EXPECT_EQ(Base64Decode("").value(), "");
  EXPECT_EQ(Base64Decode("Zg==").value(), "f");
  EXPECT_EQ(Base64Decode("Zm8=").value(), "fo");
  EXPECT_EQ(Base64Decode("Zm9vYmFy").value(), "foobar");
}

TEST(CryptoBase64Test, RoundTripsEveryByteValue) {
  auto decoded = Base64Decode(Base64Encode(AllBytes()));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, AllBytes());
}

TEST(CryptoBase64Test, RejectsMissingPadding) { EXPECT_FALSE(Base64Decode("Zg").ok()); }

TEST(CryptoBase64Test, RejectsWhitespace) { EXPECT_FALSE(Base64Decode("Zm9v\nYmFy").ok()); }

TEST(CryptoBase64Test, RejectsNonZeroTrailingBits) { EXPECT_FALSE(Base64Decode("Zh==").ok()); }

TEST(CryptoBase64Test, RejectsPaddingInTheMiddle) { EXPECT_FALSE(Base64Decode("Zg==Zg==").ok()); }

TEST(CryptoBase64Test, RejectsUrlSafeAlphabet) { EXPECT_FALSE(Base64Decode("-_8=").ok()); }

TEST(CryptoBase64UrlTest, UsesUrlSafeAlphabetWithoutPadding) {
  EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
}

TEST(CryptoBase64UrlTest, RoundTripsEveryByteValue) {
  auto decoded = Base64UrlDecode(Base64UrlEncode(AllBytes()));
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, AllBytes());
}

TEST(CryptoBase64UrlTest, RejectsPadding) { EXPECT_FALSE(Base64UrlDecode("Zg==").ok()); }

TEST(CryptoBase64UrlTest, RejectsStandardAlphabet) { EXPECT_FALSE(Base64UrlDecode("+/8").ok()); }

TEST(CryptoBase64UrlTest, RejectsImpossibleLength) { EXPECT_FALSE(Base64UrlDecode("Zm9vY").ok()); }

TEST(CryptoConstantTimeEqualsTest, ComparesContent) {
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
}

TEST(CryptoConstantTimeEqualsTest, DifferentLengthsAreUnequal) {
  EXPECT_FALSE(ConstantTimeEquals("secret", "secrets"));
  EXPECT_TRUE(ConstantTimeEquals("", ""));
}

}  // namespace
}  // namespace tongban::crypto
