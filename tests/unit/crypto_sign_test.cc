#include <gtest/gtest.h>

#include <cctype>
#include <string>

#include "crypto/digest.h"
#include "crypto/sign.h"

namespace tongban::crypto {
namespace {

TEST(CryptoComputeSignTest, Md5IsTheHexOfTheConcatenation) {
  // md5("abc") from RFC 1321, split over the three fields.
  EXPECT_EQ(ComputeSign(SignType::kMd5, "a", "b", "c"), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(CryptoComputeSignTest, Md5OrderIsServicecodeThenServicepwdThenTime) {
  // Computed with `echo -n appsecret20091010121212 | md5sum`.
  EXPECT_EQ(ComputeSign(SignType::kMd5, "app", "secret", "20091010121212"),
            "65ae190262b5029c5092cafb14566a34");
}

TEST(CryptoComputeSignTest, Sm3IsTheHexOfTheConcatenation) {
  EXPECT_EQ(ComputeSign(SignType::kSm3, "a", "b", "c"),
            "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

TEST(CryptoComputeSignTest, HmacSha256IsKeyedByServicepwdOverServicecodeAndTime) {
  // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
  EXPECT_EQ(ComputeSign(SignType::kHmacSha256, "what do ya want ", "Jefe", "for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoVerifySignTest, AcceptsTheComputedSign) {
  for (SignType t : {SignType::kMd5, SignType::kSm3, SignType::kHmacSha256}) {
    std::string sign = ComputeSign(t, "app", "secret", "20240101120000");
    EXPECT_TRUE(VerifySign(t, "app", "secret", "20240101120000", sign)) << SignTypeName(t);
  }
}

TEST(CryptoVerifySignTest, AcceptsUppercaseHex) {
  EXPECT_TRUE(VerifySign(SignType::kMd5, "app", "secret", "20091010121212",
                         "65AE190262B5029C5092CAFB14566A34"));
}

TEST(CryptoVerifySignTest, RejectsAOneDigitChange) {
  EXPECT_FALSE(VerifySign(SignType::kMd5, "app", "secret", "20091010121212",
                          "65ae190262b5029c5092cafb14566a35"));
}

TEST(CryptoVerifySignTest, RejectsTheWrongServicepwd) {
  std::string sign = ComputeSign(SignType::kMd5, "app", "secret", "20091010121212");
  EXPECT_FALSE(VerifySign(SignType::kMd5, "app", "Secret", "20091010121212", sign));
}

TEST(CryptoVerifySignTest, RejectsAnotherTime) {
  std::string sign = ComputeSign(SignType::kSm3, "app", "secret", "20091010121212");
  EXPECT_FALSE(VerifySign(SignType::kSm3, "app", "secret", "20091010121213", sign));
}

TEST(CryptoVerifySignTest, RejectsATruncatedSign) {
  std::string sign = ComputeSign(SignType::kMd5, "app", "secret", "20091010121212");
  EXPECT_FALSE(VerifySign(SignType::kMd5, "app", "secret", "20091010121212",
                          std::string_view(sign).substr(0, 30)));
}

TEST(CryptoVerifySignTest, RejectsNonHexOfTheRightLength) {
  EXPECT_FALSE(VerifySign(SignType::kMd5, "app", "secret", "20091010121212",
                          "zzae190262b5029c5092cafb14566a34"));
}

TEST(CryptoVerifySignTest, RejectsASignMadeWithAnotherType) {
  std::string hmac = ComputeSign(SignType::kHmacSha256, "app", "secret", "20091010121212");
  EXPECT_FALSE(VerifySign(SignType::kSm3, "app", "secret", "20091010121212", hmac));
}

TEST(CryptoVerifySignTest, RejectsAnEmptySign) {
  EXPECT_FALSE(VerifySign(SignType::kMd5, "app", "secret", "20091010121212", ""));
}

TEST(CryptoSignTypeTest, ParsesTheThreeNamesInAnyCase) {
  EXPECT_EQ(ParseSignType("md5").value(), SignType::kMd5);
  EXPECT_EQ(ParseSignType("SM3").value(), SignType::kSm3);
  EXPECT_EQ(ParseSignType("HMAC-SHA256").value(), SignType::kHmacSha256);
}

TEST(CryptoSignTypeTest, RejectsAnUnknownName) {
  auto parsed = ParseSignType("sha256");
  ASSERT_FALSE(parsed.ok());
  EXPECT_EQ(parsed.error().code, errc::kInvalidArgument);
}

TEST(CryptoSignTypeTest, NamesParseBackToTheSameType) {
  for (SignType t : {SignType::kMd5, SignType::kSm3, SignType::kHmacSha256}) {
    EXPECT_EQ(ParseSignType(SignTypeName(t)).value(), t);
  }
}

// ---------------------------------------------------------------- request signatures

TEST(CryptoRequestSignTest, HmacSha256MatchesRfc4231TestCase2) {
  EXPECT_EQ(ComputeRequestSign(SignMode::kHmacSha256, "Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoRequestSignTest, HmacSm3MatchesTheKnownAnswer) {
  // The same key and message under HMAC-SM3 (GB/T 15852.2 with SM3), as
  // `openssl dgst -sm3 -hmac Jefe` computes it.
  EXPECT_EQ(ComputeRequestSign(SignMode::kHmacSm3, "Jefe", "what do ya want for nothing?"),
            "2e87f1d16862e6d964b50a5200bf2b10b764faa9680a296a2405f24bec39f882");
}

TEST(CryptoRequestSignTest, VerifiesInEitherHexCaseAndRefusesAnotherMessage) {
  std::string sign = ComputeRequestSign(SignMode::kHmacSm3, "secret", "TB1\ngetOrgInfo\na=1");
  EXPECT_TRUE(VerifyRequestSign(SignMode::kHmacSm3, "secret", "TB1\ngetOrgInfo\na=1", sign));
  for (char& c : sign) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(VerifyRequestSign(SignMode::kHmacSm3, "secret", "TB1\ngetOrgInfo\na=1", sign));
  EXPECT_FALSE(VerifyRequestSign(SignMode::kHmacSm3, "secret", "TB1\ngetOrgInfo\na=2", sign));
  EXPECT_FALSE(VerifyRequestSign(SignMode::kHmacSha256, "secret", "TB1\ngetOrgInfo\na=1", sign));
}

TEST(CryptoRequestSignTest, TheSpecModeVerifiesNothing) {
  EXPECT_FALSE(VerifyRequestSign(SignMode::kSpec, "secret", "x", ""));
  EXPECT_FALSE(VerifyRequestSign(SignMode::kSpec, "secret", "x", std::string(64, '0')));
}

TEST(CryptoSignModeTest, NamesParseBackToTheSameModeAndUnknownOnesAreRefused) {
  for (SignMode m : {SignMode::kSpec, SignMode::kHmacSha256, SignMode::kHmacSm3}) {
    EXPECT_EQ(ParseSignMode(SignModeName(m)).value(), m);
  }
  EXPECT_EQ(ParseSignMode("HMAC-SM3").value(), SignMode::kHmacSm3);
  EXPECT_FALSE(ParseSignMode("md5").ok());
  EXPECT_FALSE(ParseSignMode("").ok());
}

}  // namespace
}  // namespace tongban::crypto
