#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <memory>
#include <string>

#include "crypto/encoding.h"
#include "crypto/incoming_password.h"

namespace tongban::crypto {
namespace {

const std::string kAes128Key = "1234567890abcdef";
const std::string kDes3Key = "123456789012345678901234";

// What a Java client's Cipher.getInstance("AES" or "DESede") produces: ECB with
// PKCS#5/7 padding, Base64-encoded. Built directly on OpenSSL.
std::string JavaStyleEncrypt(const char* cipher, std::string_view key, std::string_view plain) {
  std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)> ctx(EVP_CIPHER_CTX_new(),
                                                                      &EVP_CIPHER_CTX_free);
  std::string out(plain.size() + 32, '\0');
  int n1 = 0;
  int n2 = 0;
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  EXPECT_EQ(EVP_EncryptInit_ex(ctx.get(), EVP_get_cipherbyname(cipher), nullptr,
                               reinterpret_cast<const unsigned char*>(key.data()), nullptr),
            1);
  EXPECT_EQ(
      EVP_EncryptUpdate(ctx.get(), o, &n1, reinterpret_cast<const unsigned char*>(plain.data()),
                        static_cast<int>(plain.size())),
      1);
  EXPECT_EQ(EVP_EncryptFinal_ex(ctx.get(), o + n1, &n2), 1);
  out.resize(static_cast<size_t>(n1 + n2));
  return Base64Encode(out);
}

IncomingKeys Keys() { return IncomingKeys{kAes128Key, kDes3Key}; }

TEST(CryptoDecodeIncomingPasswordTest, Type1PassesThePasswordThrough) {
  EXPECT_EQ(DecodeIncomingPassword(1, "p@ss 密码", Keys()).value(), "p@ss 密码");
}

TEST(CryptoDecodeIncomingPasswordTest, Type1RejectsAnEmptyPassword) {
  auto r = DecodeIncomingPassword(1, "", Keys());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kPasswordDecodeFailed);
}

TEST(CryptoDecodeIncomingPasswordTest, Type2DecodesBase64OfUtf8) {
  EXPECT_EQ(DecodeIncomingPassword(2, "5a+G56CBYWJj", Keys()).value(), "密码abc");
}

TEST(CryptoDecodeIncomingPasswordTest, Type2ReadsASpaceAsPlus) {
  EXPECT_EQ(DecodeIncomingPassword(2, "5a G56CBYWJj", Keys()).value(), "密码abc");
}

TEST(CryptoDecodeIncomingPasswordTest, Type2AcceptsMissingPaddingAndLineBreaks) {
  EXPECT_EQ(DecodeIncomingPassword(2, "cGFz\r\ncz4+Pj8", Keys()).value(), "pass>>>?");
}

TEST(CryptoDecodeIncomingPasswordTest, Type2RejectsNonBase64) {
  auto r = DecodeIncomingPassword(2, "not base64!", Keys());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kPasswordDecodeFailed);
}

TEST(CryptoDecodeIncomingPasswordTest, Type2RejectsBytesThatAreNotUtf8) {
  auto r = DecodeIncomingPassword(2, Base64Encode("\xc3\x28"), Keys());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kPasswordDecodeFailed);
}

TEST(CryptoDecodeIncomingPasswordTest, Type3ReturnsTheMd5HexInLowercase) {
  EXPECT_EQ(DecodeIncomingPassword(3, "900150983CD24FB0D6963F7D28E17F72", Keys()).value(),
            "900150983cd24fb0d6963f7d28e17f72");
}

TEST(CryptoDecodeIncomingPasswordTest, Type3RejectsAnythingButThirtyTwoHexDigits) {
  EXPECT_FALSE(DecodeIncomingPassword(3, "abc", Keys()).ok());
  EXPECT_FALSE(DecodeIncomingPassword(3, std::string(32, 'g'), Keys()).ok());
}

TEST(CryptoDecodeIncomingPasswordTest, Type4DecryptsAFixedAes128Vector) {
  // `echo -n 'P@ssw0rd中文' | openssl enc -aes-128-ecb -K <hex of kAes128Key> -base64`
  EXPECT_EQ(DecodeIncomingPassword(4, "qIf1BQKWBpSHAJuSM5oezQ==", Keys()).value(), "P@ssw0rd中文");
}

TEST(CryptoDecodeIncomingPasswordTest, Type4RoundTripsWithEachAesKeySize) {
  for (auto [cipher, key] : {std::pair{"AES-128-ECB", std::string(16, 'k')},
                             std::pair{"AES-192-ECB", std::string(24, 'k')},
                             std::pair{"AES-256-ECB", std::string(32, 'k')}}) {
    IncomingKeys keys{key, ""};
    std::string sent = JavaStyleEncrypt(cipher, key, "correct horse battery staple");
    EXPECT_EQ(DecodeIncomingPassword(4, sent, keys).value(), "correct horse battery staple")
        << cipher;
  }
}

TEST(CryptoDecodeIncomingPasswordTest, Type4RejectsTheWrongKey) {
  std::string sent = JavaStyleEncrypt("AES-128-ECB", kAes128Key, "P@ssw0rd");
  IncomingKeys other{"fedcba0987654321", ""};
  auto r = DecodeIncomingPassword(4, sent, other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kPasswordDecodeFailed);
}

TEST(CryptoDecodeIncomingPasswordTest, Type4RejectsAPartialBlock) {
  auto r = DecodeIncomingPassword(4, Base64Encode("short"), Keys());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kPasswordDecodeFailed);
}

TEST(CryptoDecodeIncomingPasswordTest, Type4WithoutAnAesKeyIsUnsupported) {
  auto r = DecodeIncomingPassword(4, "qIf1BQKWBpSHAJuSM5oezQ==", IncomingKeys{"", kDes3Key});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kUnsupportedEncryptionType);
}

TEST(CryptoDecodeIncomingPasswordTest, Type4WithAnAesKeyOfAnInvalidSizeIsUnsupported) {
  auto r =
      DecodeIncomingPassword(4, "qIf1BQKWBpSHAJuSM5oezQ==", IncomingKeys{"15-byte-key-abc", ""});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kUnsupportedEncryptionType);
}

TEST(CryptoDecodeIncomingPasswordTest, Type5DecryptsAFixedDesedeVector) {
  // `echo -n 'P@ssw0rd中文' | openssl enc -des-ede3 -K <hex of kDes3Key> -base64`
  EXPECT_EQ(DecodeIncomingPassword(5, "UsGiRCWJkxL7hEQVkS75sQ==", Keys()).value(), "P@ssw0rd中文");
}

TEST(CryptoDecodeIncomingPasswordTest, Type5UsesTheFirstTwentyFourKeyBytes) {
  std::string sent = JavaStyleEncrypt("DES-EDE3-ECB", kDes3Key, "P@ssw0rd");
  IncomingKeys longer{"", kDes3Key + "ignored"};
  EXPECT_EQ(DecodeIncomingPassword(5, sent, longer).value(), "P@ssw0rd");
}

TEST(CryptoDecodeIncomingPasswordTest, Type5WithAShortKeyIsUnsupported) {
  auto r =
      DecodeIncomingPassword(5, "UsGiRCWJkxL7hEQVkS75sQ==", IncomingKeys{"", "0123456789abcdef"});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kUnsupportedEncryptionType);
}

TEST(CryptoDecodeIncomingPasswordTest, Type5RejectsTheWrongKey) {
  std::string sent = JavaStyleEncrypt("DES-EDE3-ECB", kDes3Key, "P@ssw0rd");
  IncomingKeys other{"", "abcdefghijklmnopqrstuvwx"};
  auto r = DecodeIncomingPassword(5, sent, other);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, kPasswordDecodeFailed);
}

TEST(CryptoDecodeIncomingPasswordTest, TypesOutsideOneToFiveAreUnsupported) {
  for (int type : {0, 6, -1}) {
    auto r = DecodeIncomingPassword(type, "pw", Keys());
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, kUnsupportedEncryptionType) << type;
  }
}

}  // namespace
}  // namespace tongban::crypto
