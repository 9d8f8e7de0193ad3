#include <gtest/gtest.h>
#include <sodium.h>

#include <cctype>
#include <string>

#include "crypto/digest.h"
#include "crypto/password.h"

namespace tongban::crypto {
namespace {

// libsodium's minimums keep these tests fast; one test uses the defaults.
const PasswordParams kFast{1, 8192};
const PasswordParams kStronger{2, 16384};

// Appends rather than using operator+(const char*, std::string&&), which
// trips GCC 12's -Wrestrict false positive at -O3.
std::string Cat(std::string_view a, std::string_view b) {
  std::string s(a);
  s += b;
  return s;
}

std::string FastHash(std::string_view plain) {
  auto h = HashPassword(plain, kFast);
  EXPECT_TRUE(h.ok());
  return h.ok() ? *h : std::string();
}

TEST(CryptoHashPasswordTest, ProducesAnArgon2idString) {
  EXPECT_TRUE(FastHash("s3cret").starts_with("$argon2id$v=19$"));
}

TEST(CryptoHashPasswordTest, SaltsEachHash) { EXPECT_NE(FastHash("s3cret"), FastHash("s3cret")); }

TEST(CryptoHashPasswordTest, DefaultParametersAreLibsodiumInteractive) {
  auto h = HashPassword("s3cret");
  ASSERT_TRUE(h.ok());
  EXPECT_NE(h->find("$m=65536,t=2,p=1$"), std::string::npos) << *h;
  EXPECT_TRUE(VerifyPassword(*h, "s3cret").ok);
}

TEST(CryptoHashPasswordTest, RejectsParametersBelowTheMinimum) {
  auto h = HashPassword("s3cret", PasswordParams{0, 8192});
  ASSERT_FALSE(h.ok());
  EXPECT_EQ(h.error().code, errc::kInvalidArgument);
}

TEST(CryptoHashPasswordTest, RejectsAnOverlongPassword) {
  EXPECT_FALSE(HashPassword(std::string(4097, 'a'), kFast).ok());
}

TEST(CryptoVerifyPasswordTest, AcceptsTheRightPassword) {
  auto outcome = VerifyPassword(FastHash("密码 with spaces"), "密码 with spaces", kFast);
  EXPECT_TRUE(outcome.ok);
  EXPECT_FALSE(outcome.needs_rehash);
}

TEST(CryptoVerifyPasswordTest, RejectsTheWrongPassword) {
  EXPECT_FALSE(VerifyPassword(FastHash("s3cret"), "s3cret ", kFast).ok);
}

TEST(CryptoVerifyPasswordTest, HandlesAnEmptyPassword) {
  std::string h = FastHash("");
  EXPECT_TRUE(VerifyPassword(h, "", kFast).ok);
  EXPECT_FALSE(VerifyPassword(h, "x", kFast).ok);
}

TEST(CryptoVerifyPasswordTest, AsksForRehashWhenParametersWereRaised) {
  auto outcome = VerifyPassword(FastHash("s3cret"), "s3cret", kStronger);
  EXPECT_TRUE(outcome.ok);
  EXPECT_TRUE(outcome.needs_rehash);
}

TEST(CryptoVerifyPasswordTest, AcceptsArgon2iAndAsksForRehash) {
  char str[crypto_pwhash_STRBYTES];
  ASSERT_EQ(sodium_init() >= 0, true);
  ASSERT_EQ(crypto_pwhash_argon2i_str(str, "s3cret", 6, 3, 8192), 0);
  auto outcome = VerifyPassword(str, "s3cret", kFast);
  EXPECT_TRUE(outcome.ok);
  EXPECT_TRUE(outcome.needs_rehash);
}

TEST(CryptoVerifyPasswordTest, AcceptsLegacyMd5AndAsksForRehash) {
  auto outcome = VerifyPassword(Cat("md5$", Md5Hex("s3cret")), "s3cret");
  EXPECT_TRUE(outcome.ok);
  EXPECT_TRUE(outcome.needs_rehash);
}

TEST(CryptoVerifyPasswordTest, RejectsTheWrongPasswordForLegacyMd5) {
  auto outcome = VerifyPassword(Cat("md5$", Md5Hex("s3cret")), "S3cret");
  EXPECT_FALSE(outcome.ok);
  EXPECT_FALSE(outcome.needs_rehash);
}

TEST(CryptoVerifyPasswordTest, AcceptsLegacyUppercaseHex) {
  EXPECT_TRUE(VerifyPassword("md5$900150983CD24FB0D6963F7D28E17F72", "abc").ok);
}

TEST(CryptoVerifyPasswordTest, AcceptsLegacySha1AndSha256) {
  EXPECT_TRUE(VerifyPassword("sha1$a9993e364706816aba3e25717850c26c9cd0d89d", "abc").ok);
  EXPECT_TRUE(VerifyPassword(
                  "sha256$ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc")
                  .ok);
}

TEST(CryptoVerifyPasswordTest, SaltedLegacyDigestIsOverSaltThenPassword) {
  std::string stored = Cat("sha256$pepper$", Sha256Hex("peppers3cret"));
  EXPECT_TRUE(VerifyPassword(stored, "s3cret").ok);
  EXPECT_FALSE(VerifyPassword(stored, "peppers3cret").ok);
}

TEST(CryptoVerifyPasswordTest, SaltMayContainADollarSign) {
  EXPECT_TRUE(VerifyPassword(Cat("md5$a$b$", Md5Hex("a$bpw")), "pw").ok);
}

TEST(CryptoVerifyPasswordTest, AcceptsLegacyPlainAndAsksForRehash) {
  auto outcome = VerifyPassword("plain$pa$$word", "pa$$word");
  EXPECT_TRUE(outcome.ok);
  EXPECT_TRUE(outcome.needs_rehash);
  EXPECT_FALSE(VerifyPassword("plain$pa$$word", "pa$$wor").ok);
}

TEST(CryptoVerifyPasswordTest, EmptyPlainNeverMatches) {
  EXPECT_FALSE(VerifyPassword("plain$", "").ok);
  EXPECT_FALSE(IsRecognizedPasswordHash("plain$"));
}

TEST(CryptoVerifyPasswordTest, UnrecognisedFormsNeverMatch) {
  EXPECT_FALSE(VerifyPassword("", "").ok);
  EXPECT_FALSE(VerifyPassword("abc", "abc").ok);
  EXPECT_FALSE(VerifyPassword(Cat("md4$", Md5Hex("abc")), "abc").ok);
  EXPECT_FALSE(VerifyPassword(Cat("md5$", Md5Hex("abc").substr(2)), "abc").ok);
  EXPECT_FALSE(VerifyPassword("$argon2id$garbage", "abc").ok);
}

TEST(CryptoIsRecognizedPasswordHashTest, TellsKnownFormsFromCorruptOnes) {
  EXPECT_TRUE(IsRecognizedPasswordHash(FastHash("x")));
  EXPECT_TRUE(IsRecognizedPasswordHash(Cat("md5$", Md5Hex("x"))));
  EXPECT_TRUE(IsRecognizedPasswordHash("plain$x"));
  EXPECT_FALSE(IsRecognizedPasswordHash("md5$xyz"));
  EXPECT_FALSE(IsRecognizedPasswordHash(Cat("sha1$", Md5Hex("x"))));
  EXPECT_FALSE(IsRecognizedPasswordHash("bcrypt$abc"));
}

TEST(CryptoLegacyHashForImportTest, LowercasesTheHex) {
  EXPECT_EQ(LegacyHashForImport("MD5", "900150983CD24FB0D6963F7D28E17F72").value(),
            "md5$900150983cd24fb0d6963f7d28e17f72");
}

TEST(CryptoLegacyHashForImportTest, KeepsTheSalt) {
  std::string hex = Sha1Hex("saltpw");
  EXPECT_EQ(LegacyHashForImport("sha1", "salt$" + hex).value(), "sha1$salt$" + hex);
}

TEST(CryptoLegacyHashForImportTest, ImportedValuesVerify) {
  EXPECT_TRUE(VerifyPassword(LegacyHashForImport("sha256", Sha256Hex("pw")).value(), "pw").ok);
  EXPECT_TRUE(VerifyPassword(LegacyHashForImport("plain", "pw").value(), "pw").ok);
}

TEST(CryptoLegacyHashForImportTest, RejectsHexOfTheWrongLength) {
  EXPECT_FALSE(LegacyHashForImport("sha256", Md5Hex("pw")).ok());
}

TEST(CryptoLegacyHashForImportTest, RejectsNonHexDigest) {
  EXPECT_FALSE(LegacyHashForImport("md5", std::string(32, 'g')).ok());
}

TEST(CryptoLegacyHashForImportTest, RejectsAnEmptySalt) {
  EXPECT_FALSE(LegacyHashForImport("md5", Cat("$", Md5Hex("pw"))).ok());
}

TEST(CryptoLegacyHashForImportTest, RejectsAnUnknownScheme) {
  auto r = LegacyHashForImport("bcrypt", "$2a$10$abc");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, errc::kInvalidArgument);
}

TEST(CryptoLegacyHashForImportTest, RejectsAnEmptyPlainPassword) {
  EXPECT_FALSE(LegacyHashForImport("plain", "").ok());
}

TEST(CryptoMd5VariantTest, BothHashesVerifyTheirOwnInput) {
  auto hashes = HashPasswordWithMd5Variant("s3cret", kFast);
  ASSERT_TRUE(hashes.ok());
  EXPECT_TRUE(VerifyPassword(hashes->primary, "s3cret", kFast).ok);
  auto outcome = VerifyPasswordMd5(hashes->primary, hashes->md5_variant, Md5Hex("s3cret"), kFast);
  EXPECT_TRUE(outcome.ok);
  EXPECT_FALSE(outcome.needs_rehash);
}

TEST(CryptoMd5VariantTest, AcceptsUppercaseMd5Hex) {
  auto hashes = HashPasswordWithMd5Variant("s3cret", kFast);
  ASSERT_TRUE(hashes.ok());
  std::string upper = Md5Hex("s3cret");
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_TRUE(VerifyPasswordMd5(hashes->primary, hashes->md5_variant, upper, kFast).ok);
}

TEST(CryptoMd5VariantTest, RejectsTheMd5OfAnotherPassword) {
  auto hashes = HashPasswordWithMd5Variant("s3cret", kFast);
  ASSERT_TRUE(hashes.ok());
  EXPECT_FALSE(VerifyPasswordMd5(hashes->primary, hashes->md5_variant, Md5Hex("s3cre"), kFast).ok);
}

TEST(CryptoMd5VariantTest, RejectsThePasswordItselfInPlaceOfItsMd5) {
  auto hashes = HashPasswordWithMd5Variant("s3cret", kFast);
  ASSERT_TRUE(hashes.ok());
  EXPECT_FALSE(VerifyPasswordMd5(hashes->primary, hashes->md5_variant, "s3cret", kFast).ok);
}

TEST(CryptoMd5VariantTest, AsksToRehashAnOutdatedVariant) {
  auto hashes = HashPasswordWithMd5Variant("s3cret", kFast);
  ASSERT_TRUE(hashes.ok());
  auto outcome =
      VerifyPasswordMd5(hashes->primary, hashes->md5_variant, Md5Hex("s3cret"), kStronger);
  EXPECT_TRUE(outcome.ok);
  EXPECT_TRUE(outcome.needs_rehash);
}

TEST(CryptoMd5VariantTest, LegacyMd5PrimaryServesMd5LoginsAndAsksForAVariant) {
  std::string stored = Cat("md5$", Md5Hex("s3cret"));
  EXPECT_TRUE(SupportsMd5Login(stored, ""));
  auto outcome = VerifyPasswordMd5(stored, "", Md5Hex("s3cret"));
  EXPECT_TRUE(outcome.ok);
  EXPECT_TRUE(outcome.needs_rehash);
  EXPECT_FALSE(VerifyPasswordMd5(stored, "", Md5Hex("other")).ok);
}

TEST(CryptoMd5VariantTest, PlainPrimaryServesMd5Logins) {
  EXPECT_TRUE(SupportsMd5Login("plain$s3cret", ""));
  EXPECT_TRUE(VerifyPasswordMd5("plain$s3cret", "", Md5Hex("s3cret")).ok);
  EXPECT_FALSE(VerifyPasswordMd5("plain$s3cret", "", Md5Hex("s3cre")).ok);
}

TEST(CryptoMd5VariantTest, Argon2PrimaryWithoutVariantCannotServeMd5Logins) {
  std::string stored = FastHash("s3cret");
  EXPECT_FALSE(SupportsMd5Login(stored, ""));
  EXPECT_FALSE(VerifyPasswordMd5(stored, "", Md5Hex("s3cret"), kFast).ok);
}

TEST(CryptoMd5VariantTest, SaltedLegacyMd5CannotServeMd5Logins) {
  std::string stored = Cat("md5$salt$", Md5Hex("salts3cret"));
  EXPECT_FALSE(SupportsMd5Login(stored, ""));
  EXPECT_FALSE(VerifyPasswordMd5(stored, "", Md5Hex("s3cret")).ok);
}

TEST(CryptoMd5VariantTest, AVariantTakesPrecedenceOverTheLegacyPrimary) {
  // After a password change the variant is authoritative even if a stale
  // legacy primary was left behind.
  std::string stored = Cat("md5$", Md5Hex("old"));
  std::string variant = FastHash(Md5Hex("new"));
  EXPECT_TRUE(VerifyPasswordMd5(stored, variant, Md5Hex("new"), kFast).ok);
  EXPECT_FALSE(VerifyPasswordMd5(stored, variant, Md5Hex("old"), kFast).ok);
}

TEST(CryptoMd5VariantTest, CorruptVariantNeverMatches) {
  EXPECT_FALSE(SupportsMd5Login(Cat("md5$", Md5Hex("pw")), "junk"));
  EXPECT_FALSE(VerifyPasswordMd5(Cat("md5$", Md5Hex("pw")), "junk", Md5Hex("pw")).ok);
}

}  // namespace
}  // namespace tongban::crypto
