// HOTP/TOTP against the RFC 4226 and RFC 6238 test vectors, Base32 against
// RFC 4648's, and the ±1 step window of MatchTotp.
#include "crypto/totp.h"

#include <gtest/gtest.h>

namespace tongban::crypto {
namespace {

constexpr std::string_view kRfcKey = "12345678901234567890";

TEST(Base32, Rfc4648Vectors) {
  EXPECT_EQ(Base32Encode(""), "");
  EXPECT_EQ(Base32Encode("f"), "MY");
  EXPECT_EQ(Base32Encode("fo"), "MZXQ");
  EXPECT_EQ(Base32Encode("foo"), "MZXW6");
  EXPECT_EQ(Base32Encode("foob"), "MZXW6YQ");
  EXPECT_EQ(Base32Encode("fooba"), "MZXW6YTB");
  EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI");
  EXPECT_EQ(*Base32Decode("MZXW6YTBOI======"), "foobar");
  EXPECT_EQ(*Base32Decode("mzxw 6ytb oi"), "foobar");
  EXPECT_FALSE(Base32Decode("MZXW1").ok());  // '1' is not in the alphabet
  const std::string secret(20, '\xa5');
  EXPECT_EQ(*Base32Decode(Base32Encode(secret)), secret);
}

TEST(Hotp, Rfc4226Vectors) {
  const char* expected[] = {"755224", "287082", "359152", "969429", "338314",
                            "254676", "287922", "162583", "399871", "520489"};
  for (uint64_t i = 0; i < 10; ++i) EXPECT_EQ(Hotp(kRfcKey, i), expected[i]) << i;
}

TEST(Totp, Rfc6238Sha1Vectors) {
  struct Vector {
    int64_t seconds;
    const char* code;
  };
  const Vector vectors[] = {{59, "94287082"},         {1111111109, "07081804"},
                            {1111111111, "14050471"}, {1234567890, "89005924"},
                            {2000000000, "69279037"}, {20000000000, "65353130"}};
  for (const Vector& v : vectors) {
    EXPECT_EQ(Totp(kRfcKey, v.seconds * 1000, 8), v.code) << v.seconds;
  }
  // Six digits, as apps show them: the last six of the eight.
  EXPECT_EQ(Totp(kRfcKey, 59'000), "287082");
}

TEST(Totp, StepsAreThirtySeconds) {
  EXPECT_EQ(TotpStep(0), 0);
  EXPECT_EQ(TotpStep(29'999), 0);
  EXPECT_EQ(TotpStep(30'000), 1);
  EXPECT_EQ(TotpStep(1111111109'000), 37037036);
}

TEST(MatchTotp, AcceptsOneStepEitherSideOnly) {
  const int64_t now = 1'700'000'000'000;
  const int64_t step = TotpStep(now);
  EXPECT_EQ(MatchTotp(kRfcKey, Totp(kRfcKey, now), now), step);
  EXPECT_EQ(MatchTotp(kRfcKey, Totp(kRfcKey, now - 30'000), now), step - 1);
  EXPECT_EQ(MatchTotp(kRfcKey, Totp(kRfcKey, now + 30'000), now), step + 1);
  EXPECT_EQ(MatchTotp(kRfcKey, Totp(kRfcKey, now - 60'000), now), -1);
  EXPECT_EQ(MatchTotp(kRfcKey, Totp(kRfcKey, now + 60'000), now), -1);
  EXPECT_EQ(MatchTotp(kRfcKey, Totp(kRfcKey, now), now, 0), step);
}

TEST(MatchTotp, RefusesMalformedCodes) {
  const int64_t now = 1'700'000'000'000;
  const std::string good = Totp(kRfcKey, now);
  EXPECT_EQ(MatchTotp(kRfcKey, "", now), -1);
  EXPECT_EQ(MatchTotp(kRfcKey, good.substr(0, 5), now), -1);
  EXPECT_EQ(MatchTotp(kRfcKey, good + "0", now), -1);
  EXPECT_EQ(MatchTotp(kRfcKey, "12a456", now), -1);
  EXPECT_EQ(MatchTotp("another key", good, now, 0), -1);
}

TEST(TotpUri, KeyUriFormat) {
  EXPECT_EQ(TotpUri("统一身份认证", "admin@x", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/%E7%BB%9F%E4%B8%80%E8%BA%AB%E4%BB%BD%E8%AE%A4%E8%AF%81:admin%40x"
            "?secret=JBSWY3DPEHPK3PXP&issuer=%E7%BB%9F%E4%B8%80%E8%BA%AB%E4%BB%BD%E8%AE%A4%E8%AF%81"
            "&algorithm=SHA1&digits=6&period=30");
}

}  // namespace
}  // namespace tongban::crypto
