#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "core/random.h"
#include "crypto/encoding.h"
#include "crypto/secret_box.h"

namespace tongban::crypto {
namespace {

const std::string kKey(32, 'K');
const std::string kOtherKey(32, 'L');

SecretBox MakeBox(SecretAlgorithm alg, const std::string& key = kKey) {
  return std::move(SecretBox::Create(key, OpenSslRandom::Instance(), alg)).value();
}

// Flips one bit of the ciphertext while keeping the Base64 well-formed.
std::string Tamper(const std::string& sealed) {
  size_t colon = sealed.rfind(':');
  std::string body = Base64Decode(sealed.substr(colon + 1)).value();
  body[0] = static_cast<char>(body[0] ^ 1);
  return sealed.substr(0, colon + 1) + Base64Encode(body);
}

class CryptoSecretBoxTest : public ::testing::TestWithParam<SecretAlgorithm> {};

TEST_P(CryptoSecretBoxTest, OpensWhatItSealed) {
  SecretBox box = MakeBox(GetParam());
  auto sealed = box.Seal("servicepwd-123 密钥");
  ASSERT_TRUE(sealed.ok());
  EXPECT_EQ(box.Open(*sealed).value(), "servicepwd-123 密钥");
}

TEST_P(CryptoSecretBoxTest, NamesTheAlgorithmInTheSealedText) {
  std::string sealed = MakeBox(GetParam()).Seal("x").value();
  EXPECT_TRUE(sealed.starts_with("v1:" + std::string(SecretAlgorithmName(GetParam())) + ":"));
  EXPECT_TRUE(SecretBox::IsSealed(sealed));
}

TEST_P(CryptoSecretBoxTest, SealsTheSameSecretDifferentlyEachTime) {
  SecretBox box = MakeBox(GetParam());
  EXPECT_NE(box.Seal("same").value(), box.Seal("same").value());
}

TEST_P(CryptoSecretBoxTest, RoundTripsAnEmptySecret) {
  SecretBox box = MakeBox(GetParam());
  EXPECT_EQ(box.Open(box.Seal("").value()).value(), "");
}

TEST_P(CryptoSecretBoxTest, DetectsTampering) {
  SecretBox box = MakeBox(GetParam());
  auto opened = box.Open(Tamper(box.Seal("servicepwd").value()));
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, errc::kPermissionDenied);
}

TEST_P(CryptoSecretBoxTest, RefusesTheWrongKey) {
  std::string sealed = MakeBox(GetParam()).Seal("servicepwd").value();
  auto opened = MakeBox(GetParam(), kOtherKey).Open(sealed);
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, errc::kPermissionDenied);
}

TEST_P(CryptoSecretBoxTest, RefusesAnotherContext) {
  SecretBox box = MakeBox(GetParam());
  std::string sealed = box.Seal("servicepwd", "app-a").value();
  EXPECT_EQ(box.Open(sealed, "app-a").value(), "servicepwd");
  auto opened = box.Open(sealed, "app-b");
  ASSERT_FALSE(opened.ok());
  EXPECT_EQ(opened.error().code, errc::kPermissionDenied);
}

TEST_P(CryptoSecretBoxTest, RefusesASwappedAlgorithmName) {
  SecretBox box = MakeBox(GetParam());
  std::string sealed = box.Seal("servicepwd").value();
  std::string name(SecretAlgorithmName(GetParam()));
  std::string other =
      GetParam() == SecretAlgorithm::kAes256Gcm ? "sm4-cbc-hmac-sm3" : "aes-256-gcm";
  sealed.replace(3, name.size(), other);
  EXPECT_FALSE(box.Open(sealed).ok());
}

TEST_P(CryptoSecretBoxTest, StillOpensAfterTheBoxIsMoved) {
  SecretBox box = MakeBox(GetParam());
  std::string sealed = box.Seal("servicepwd").value();
  SecretBox moved = std::move(box);
  EXPECT_EQ(moved.Open(sealed).value(), "servicepwd");
}

INSTANTIATE_TEST_SUITE_P(CryptoAlgorithms, CryptoSecretBoxTest,
                         ::testing::Values(SecretAlgorithm::kAes256Gcm,
                                           SecretAlgorithm::kSm4CbcHmacSm3),
                         [](const auto& info) {
                           return info.param == SecretAlgorithm::kAes256Gcm ? "Aes256Gcm"
                                                                            : "Sm4CbcHmacSm3";
                         });

TEST(CryptoSecretBoxAgilityTest, OpensValuesSealedWithTheOtherAlgorithm) {
  std::string sm4 = MakeBox(SecretAlgorithm::kSm4CbcHmacSm3).Seal("pwd").value();
  std::string aes = MakeBox(SecretAlgorithm::kAes256Gcm).Seal("pwd").value();
  EXPECT_EQ(MakeBox(SecretAlgorithm::kAes256Gcm).Open(sm4).value(), "pwd");
  EXPECT_EQ(MakeBox(SecretAlgorithm::kSm4CbcHmacSm3).Open(aes).value(), "pwd");
}

TEST(CryptoSecretBoxFormatTest, RejectsMalformedText) {
  SecretBox box = MakeBox(SecretAlgorithm::kAes256Gcm);
  for (const char* bad :
       {"", "plain", "v1:aes-256-gcm:AAAA", "v2:aes-256-gcm:AAAAAAAAAAAAAAAA:AAAA",
        "v1:rot13:AAAAAAAAAAAAAAAA:AAAA", "v1:aes-256-gcm:!!!!:AAAA",
        "v1:aes-256-gcm:AAAA:AAAAAAAAAAAAAAAAAAAAAAAA"}) {
    auto opened = box.Open(bad);
    ASSERT_FALSE(opened.ok()) << bad;
    EXPECT_EQ(opened.error().code, errc::kInvalidArgument) << bad;
  }
}

TEST(CryptoSecretBoxFormatTest, RejectsATooLargeSecret) {
  auto sealed = MakeBox(SecretAlgorithm::kAes256Gcm)
                    .Seal(std::string(SecretBox::kMaxPlaintextBytes + 1, 'x'));
  ASSERT_FALSE(sealed.ok());
  EXPECT_EQ(sealed.error().code, errc::kTooLarge);
}

TEST(CryptoSecretBoxFormatTest, RejectsAKeyOfTheWrongSize) {
  EXPECT_FALSE(SecretBox::Create(std::string(31, 'k'), OpenSslRandom::Instance()).ok());
}

TEST(CryptoSecretAlgorithmTest, NamesParseBack) {
  for (auto alg : {SecretAlgorithm::kAes256Gcm, SecretAlgorithm::kSm4CbcHmacSm3}) {
    EXPECT_EQ(ParseSecretAlgorithm(SecretAlgorithmName(alg)).value(), alg);
  }
  EXPECT_FALSE(ParseSecretAlgorithm("sm4-gcm").ok());
}

class CryptoKeyFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (std::filesystem::temp_directory_path() / "tongban-keyfile-XXXXXX").string();
    ASSERT_NE(mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string PathOf(const char* name) const { return (dir_ / name).string(); }
  void Write(const std::string& path, const std::string& content, mode_t mode) const {
    std::ofstream(path) << content;
    ASSERT_EQ(chmod(path.c_str(), mode), 0);
  }

  std::filesystem::path dir_;
};

TEST_F(CryptoKeyFileTest, GeneratedFileIsOwnerOnly) {
  std::string path = PathOf("master.key");
  ASSERT_TRUE(SecretBox::GenerateKeyFile(path, OpenSslRandom::Instance()).ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CryptoKeyFileTest, GeneratedKeyLoadsAndOpensWhatItSealed) {
  std::string path = PathOf("master.key");
  ASSERT_TRUE(SecretBox::GenerateKeyFile(path, OpenSslRandom::Instance()).ok());
  auto key = SecretBox::LoadKeyFile(path);
  ASSERT_TRUE(key.ok());
  ASSERT_EQ(key->size(), SecretBox::kKeySize);
  std::string sealed = MakeBox(SecretAlgorithm::kAes256Gcm, *key).Seal("pwd").value();
  auto reloaded = SecretBox::LoadKeyFile(path);
  EXPECT_EQ(MakeBox(SecretAlgorithm::kAes256Gcm, reloaded.value()).Open(sealed).value(), "pwd");
}

TEST_F(CryptoKeyFileTest, NeverOverwritesAnExistingKey) {
  std::string path = PathOf("master.key");
  ASSERT_TRUE(SecretBox::GenerateKeyFile(path, OpenSslRandom::Instance()).ok());
  std::string before = SecretBox::LoadKeyFile(path).value();
  Status second = SecretBox::GenerateKeyFile(path, OpenSslRandom::Instance());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code, errc::kAlreadyExists);
  EXPECT_EQ(SecretBox::LoadKeyFile(path).value(), before);
}

TEST_F(CryptoKeyFileTest, RefusesAFileOthersCanRead) {
  std::string path = PathOf("open.key");
  Write(path, std::string(64, 'a') + "\n", 0644);
  auto key = SecretBox::LoadKeyFile(path);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, errc::kPermissionDenied);
}

TEST_F(CryptoKeyFileTest, RefusesContentThatIsNotSixtyFourHexDigits) {
  std::string path = PathOf("bad.key");
  Write(path, std::string(62, 'a') + "\n", 0600);
  auto key = SecretBox::LoadKeyFile(path);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, errc::kInvalidArgument);
}

TEST_F(CryptoKeyFileTest, ReportsAMissingFileAsNotFound) {
  auto key = SecretBox::LoadKeyFile(PathOf("missing.key"));
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, errc::kNotFound);
}

}  // namespace
}  // namespace tongban::crypto
