#include <gtest/gtest.h>
#include <openssl/evp.h>

#include <string>
#include <thread>
#include <vector>

#include "crypto/digest.h"
#include "crypto/encoding.h"

namespace tongban::crypto {
namespace {

std::string Repeat(std::string_view s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

// HMAC through OpenSSL's own EVP_MAC, a path independent of tongban's.
std::string ReferenceHmac(const char* digest, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  size_t len = 0;
  unsigned char dummy = 0;
  const auto* k = key.empty() ? &dummy : reinterpret_cast<const unsigned char*>(key.data());
  EXPECT_NE(EVP_Q_mac(nullptr, "HMAC", nullptr, digest, nullptr, k, key.size(),
                      reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
                      sizeof(out), &len),
            nullptr);
  return std::string(reinterpret_cast<char*>(out), len);
}

TEST(CryptoDigestTest, Md5OfAbcMatchesRfc1321) {
  EXPECT_EQ(Md5Hex("abc"), "900150983cd24fb0d6963f7d28e17f72");
}

TEST(CryptoDigestTest, Md5OfEmptyMatchesRfc1321) {
  EXPECT_EQ(Md5Hex(""), "d41d8cd98f00b204e9800998ecf8427e");
}

TEST(CryptoDigestTest, Sha1OfAbcMatchesFips180) {
  EXPECT_EQ(Sha1Hex("abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
}

TEST(CryptoDigestTest, Sha256OfAbcMatchesFips180) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CryptoDigestTest, Sm3OfAbcMatchesGbt32905FirstExample) {
  EXPECT_EQ(Sm3Hex("abc"), "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0");
}

TEST(CryptoDigestTest, Sm3Of64BytesMatchesGbt32905SecondExample) {
  EXPECT_EQ(Sm3Hex(Repeat("abcd", 16)),
            "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732");
}

TEST(CryptoDigestTest, RawDigestsAreTheBytesOfTheHexOnes) {
  EXPECT_EQ(HexEncode(Sha256("abc")), Sha256Hex("abc"));
  EXPECT_EQ(HexEncode(Sm3("abc")), Sm3Hex("abc"));
}

TEST(CryptoHmacTest, Sha256MatchesRfc4231Case1) {
  EXPECT_EQ(HexEncode(HmacSha256(std::string(20, '\x0b'), "Hi There")),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(CryptoHmacTest, Sha256MatchesRfc4231Case2) {
  EXPECT_EQ(HexEncode(HmacSha256("Jefe", "what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(CryptoHmacTest, Sha256HashesAKeyLongerThanABlockAsRfc4231Case6) {
  EXPECT_EQ(HexEncode(HmacSha256(std::string(131, '\xaa'),
                                 "Test Using Larger Than Block-Size Key - Hash Key First")),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(CryptoHmacTest, Sha256AcceptsAnEmptyKey) {
  EXPECT_EQ(HexEncode(HmacSha256("", "")),
            "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(CryptoHmacTest, Sha256WithAKeyOfExactlyOneBlockMatchesOpenSsl) {
  std::string key(64, 'k');
  EXPECT_EQ(HmacSha256(key, "data"), ReferenceHmac("SHA256", key, "data"));
}

TEST(CryptoHmacTest, Sm3MatchesOpenSslHmac) {
  EXPECT_EQ(HmacSm3("key", "message"), ReferenceHmac("SM3", "key", "message"));
  std::string long_key(100, 'x');
  EXPECT_EQ(HmacSm3(long_key, "message"), ReferenceHmac("SM3", long_key, "message"));
}

TEST(CryptoDigestTest, GivesTheSameResultsOnManyThreads) {
  std::vector<std::string> results(8);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < results.size(); ++i) {
    threads.emplace_back([&results, i] {
      std::string r;
      for (int k = 0; k < 200; ++k) r = Md5Hex("abc") + HexEncode(HmacSha256("Jefe", "x"));
      results[i] = r;
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& r : results) EXPECT_EQ(r, Md5Hex("abc") + HexEncode(HmacSha256("Jefe", "x")));
}

}  // namespace
}  // namespace tongban::crypto

namespace tongban::crypto {
namespace {

TEST(AppendSha256HexTest, AppendsThePrefixOfTheHexDigest) {
  std::string out = "rp:";
  AppendSha256Hex("abc", 32, out);
  EXPECT_EQ(out, "rp:" + Sha256Hex("abc").substr(0, 32));
  std::string whole;
  AppendSha256Hex("abc", 100, whole);  // capped at the digest's 64 digits
  EXPECT_EQ(whole, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

}  // namespace
}  // namespace tongban::crypto
