#include <gtest/gtest.h>
#include <sys/stat.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "crypto/encoding.h"
#include "crypto/jwt.h"
#include "crypto/keys.h"

namespace tongban::crypto {
namespace {

// Vectors made with independent implementations: PyJWT 2.6 / python3-cryptography
// (RS256, ES256, RFC 7638 thumbprints) and the openssl command line (SM2 with
// SM3 and distid 1234567812345678).
const char kRsaPem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDAzvK0xiypBFg7\n"
    "28c4sNSCM6gBrzN6J5rsqGiKT+d2EeEay3pNsLWjfH0+wNvDH+1gnd+9/Y5B3nn2\n"
    "Zpz8dv4ln3EUXtmtiqtEJSgR3AeumpCpmonWxJMdQ5hmX3cdVcLvrT3NcGlL9YoN\n"
    "6G5XOSKyzyRy29F9Na2g8pu31qlNE5s2MWrSXQaSzQV8ih4PhtKhzZWbrhoA0RSM\n"
    "4X/gx9VhMbHRTOqGSjL7SH7L2U34m4NPY47K2BZ3tNeCIVN6N2s+nj1V7Tzq9AHX\n"
    "yS69udK0Nud1CFuquJaTPO7gRoS1kbOqC4MWEHsBdq5jxTwz0FhhZTe0ulm0rpYp\n"
    "BixMMK2FAgMBAAECggEAFNFDW0laYRVbAXuFUxWknDo/lY75G+NS0uKMBwMBlrnv\n"
    "eBkoJ2NA+Vnjm/buw26bDqd9FOJfjbUbrgL+SDQA1McWSoDDN/2U6FKqtOLw4WVG\n"
    "4UkSQOIQkERQHB2Kmtw7o+0skxXkCJOGSGIkJ76/hFbhNJWPVNmK2anYLk07Elsv\n"
    "PyJ/4LJ95P/LjKlctYKrbDYT6dqKWHUSy9ooWekVOyWKrFSJsNlOuQCHLunhXzEI\n"
    "iBLRiGPtSz/rr0KUWWQqM5WZR102Dh7ynCbCchZGXm8hE1hl6hiY7Mtqda0r0+q9\n"
    "kP+RNrelfkTDoivE6BHjCKBM86WifRetxUQM8WEvAQKBgQD6wLK1PLyFLNa0xpVS\n"
    "n67cql9JA8GKic6W1f9kW0PJRwHDdh7qFcxhJRrZLWiALujpjo4bmeXFhLXcQMn8\n"
    "8P6sMJYBLVZUOx7UHlARTbEq3TIBhTpSEbJaISe+OffLXT5fGBfVEHdScAQ7QOEk\n"
    "p1gvFk855d2OVpHtMGYXNOyJFQKBgQDE19ZxKd+m5dQkjmqK71wNKU2W1aDeFMUD\n"
    "r8H5OMPlvqCZDTUFBSZIa0LpzLX3klRmxhEosRxeANg8jRb0RqJnE9P2OgKGcyk7\n"
    "Ny40II85QJtGOiKBVMXfoh2cRxlFGZI6PdTrlm0oWqnOfVvy8RbyEO9LqpccBQi7\n"
    "Br3QTLvOsQKBgEgnLsUr5utDTbzS76DIxh5FAAoYhJaCtOl+RnDwOf8u6Xj/AkJF\n"
    "Z3wEm0cm480OsoKSPJ4AmLdPSq1ID1czWXTevis0ioTORj6vQkbYXkSBRaReW7vF\n"
    "z9ZTeAYq0/y2pf3jBuiORmd4SB9sudw8MwnJl56HYEtW6cKgjJ/c4LtJAoGBAI3F\n"
    "KiRs1TDePLFrhR61kCXGhqRJDkiEyvSBxIHbuXOhnQc+dN49vDnSTuoWz0QUtwci\n"
    "Rj95eAXYM+VAdLTQnq0AoduoIiN1k8+bSYKvpJfGiU7GFg3x4WXU2+CvcGrNJP0f\n"
    "hVd8CvhSfBRFQ1ExBKapPb/QiG7czVHuZA0/BtCxAoGBALtylpHVO8GavpRF59bb\n"
    "VlNJJMq53qSNNTNFkVx5m72mqcG1NwJo4TfgzS4yKhMd9lfrIqlpOl30yDtfVo/O\n"
    "7rcNgqV1fojrWGeHWVRnupFXn44RWMuxyUurbpvtw7fD2gKEgcy8uzCP0tiZk9o4\n"
    "jIBXUCPx0bP9hzu6kENZWG4K\n"
    "-----END PRIVATE KEY-----\n";
const char kEcPublicPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHGELcIH/QYkKJeDqwztv+rnrPtTS\n"
    "YHkOr2Cahs9zJ0fcMpVMVUw/MJCrmO35Isud+7GAGbXmDHExljpGlhrPOA==\n"
    "-----END PUBLIC KEY-----\n";
const char kSm2PublicPem[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MFkwEwYHKoZIzj0CAQYIKoEcz1UBgi0DQgAESJtX7Sk8am9BjRqOMU5Nt0bU329R\n"
    "W4atyabNjwuvS3beM/GJGZMAB7GVqcEORm2pzh+s47DPxdhxsT0Vdi6O9w==\n"
    "-----END PUBLIC KEY-----\n";

const char kRsToken[] =
    "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL3Nzby5leGFtcGxlLm"
    "dvdi5jbi9zc28vb2lkYyIsInN1YiI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwiYXVkIjoiZGVt"
    "byIsImV4cCI6MTcwMDAwMzYwMH0.cG7BvC9N3zdkXGe9qDodsBhj6Hf1yaoW0vG832wa1230nUumUVOspkVPJju7ll"
    "D-7ysdKhw9MyX5DiyZiYwMqobrEe3iDSiwcaXao80YGP8WzWUYEcpwbHScm2FOlykxtRQdPsa_S_3VeGIeZafawLE7"
    "Y3gsz7Mhl4lsMwyS_4U5vJgsPsMIjnepNGOzTMgAsihI5CyPncu0AG3CrBpJXIYzO-xC3HZCvMeY-_LE1uU_TjdSHQ"
    "PK3xC0iijQ_dL_kczX3E4v-LlLO8u2eA6MiD5K3k24_FKxwg-yiXD10pCSNlo_XOhjmy-njBZOe2A8VIIvuTgOfDLQ"
    "kjVjY3MKKg";
const char kEsToken[] =
    "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsyIiwidHlwIjoiSldUIn0.eyJpc3MiOiJodHRwczovL3Nzby5leGFtcGxlLm"
    "dvdi5jbi9zc28vb2lkYyIsInN1YiI6IjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJjZGVmIiwiYXVkIjoiZGVt"
    "byIsImV4cCI6MTcwMDAwMzYwMH0.6fFH5YeTKZCPYPFpPkVpBrUtxLrll1dak-dovMC7Gp84D0ECHjfU9Nb6yQ8lHq"
    "Pu0QWnWvQdstF3qQCYpwNFCg";
const char kRsKid[] = "a9okNeogJzsYQiUPn1zi3NQmh3RjYscJqiPrrnGPqlg";
const char kEsKid[] = "ktaGVkxATgz-JjL0tN6h185x3ahT-9ZSLTTKgSmR6YQ";
const char kSm2Message[] = "tongban SM2 vector";
const char kSm2Signature[] =
    "Pd4qwBVUZ6Y51xKEWAGEyhOqW8T-tz504yTnhJhwPYXzRRNUxSb5jV0WP6AMMO5qX7jyUOnCscVzZg3f-VCvDA";

std::string SigningInput(std::string_view token) {
  return std::string(token.substr(0, token.rfind('.')));
}
std::string SignaturePart(std::string_view token) {
  return Base64UrlDecode(token.substr(token.rfind('.') + 1)).value();
}

SigningKey Generated(SigningAlgorithm algorithm) {
  return std::move(SigningKey::Generate(algorithm)).value();
}

// Replaces the payload of a token, keeping header and signature.
std::string WithPayload(const std::string& token, std::string_view claims_json) {
  size_t d1 = token.find('.');
  size_t d2 = token.rfind('.');
  return token.substr(0, d1 + 1) + Base64UrlEncode(claims_json) + token.substr(d2);
}

// ---- keys against the vectors ----

TEST(CryptoKeysTest, Rs256SignatureEqualsPyJwtForTheSameInput) {
  SigningKey key = SigningKey::FromPem(kRsaPem).value();
  EXPECT_EQ(key.algorithm(), SigningAlgorithm::kRs256);
  EXPECT_EQ(key.Sign(SigningInput(kRsToken)).value(), SignaturePart(kRsToken));
}

TEST(CryptoKeysTest, Es256VerifiesAPyJwtSignature) {
  SigningKey key = SigningKey::FromPem(kEcPublicPem).value();
  EXPECT_EQ(key.algorithm(), SigningAlgorithm::kEs256);
  EXPECT_FALSE(key.has_private_key());
  EXPECT_TRUE(key.Verify(SigningInput(kEsToken), SignaturePart(kEsToken)));
}

TEST(CryptoKeysTest, Sm2VerifiesAnOpenSslCommandLineSignatureWithTheStandardSignerId) {
  SigningKey key = SigningKey::FromPem(kSm2PublicPem).value();
  EXPECT_EQ(key.algorithm(), SigningAlgorithm::kSm2);
  EXPECT_TRUE(key.Verify(kSm2Message, Base64UrlDecode(kSm2Signature).value()));
  EXPECT_FALSE(key.Verify("another message", Base64UrlDecode(kSm2Signature).value()));
}

TEST(CryptoKeysTest, KidIsTheRfc7638Thumbprint) {
  EXPECT_EQ(SigningKey::FromPem(kRsaPem)->kid(), kRsKid);
  EXPECT_EQ(SigningKey::FromPem(kEcPublicPem)->kid(), kEsKid);
}

TEST(CryptoKeysTest, PublicJwkOfRsaKeyCarriesModulusExponentAndKid) {
  std::string jwk = SigningKey::FromPem(kRsaPem)->PublicJwkJson();
  EXPECT_NE(jwk.find("\"kty\":\"RSA\""), std::string::npos);
  EXPECT_NE(jwk.find("\"e\":\"AQAB\""), std::string::npos);
  EXPECT_NE(jwk.find("\"alg\":\"RS256\""), std::string::npos);
  EXPECT_NE(jwk.find("\"use\":\"sig\""), std::string::npos);
  EXPECT_NE(jwk.find(std::string("\"kid\":\"") + kRsKid + "\""), std::string::npos);
  EXPECT_EQ(jwk.find("\"d\""), std::string::npos);
}

TEST(CryptoKeysTest, PublicJwkOfSm2KeyNamesTheSm2Curve) {
  std::string jwk = SigningKey::FromPem(kSm2PublicPem)->PublicJwkJson();
  EXPECT_NE(jwk.find("\"kty\":\"EC\""), std::string::npos);
  EXPECT_NE(jwk.find("\"crv\":\"SM2\""), std::string::npos);
  EXPECT_NE(jwk.find("\"alg\":\"SM2\""), std::string::npos);
}

TEST(CryptoKeysTest, JwksListsEveryKey) {
  std::vector<SigningKey> keys = {SigningKey::FromPem(kRsaPem).value(),
                                  SigningKey::FromPem(kEcPublicPem).value()};
  std::string jwks = RenderJwks(keys);
  EXPECT_TRUE(jwks.starts_with("{\"keys\":[{"));
  EXPECT_NE(jwks.find(kRsKid), std::string::npos);
  EXPECT_NE(jwks.find(kEsKid), std::string::npos);
}

TEST(CryptoKeysTest, PublicKeyCannotSign) {
  auto signed_ = SigningKey::FromPem(kEcPublicPem)->Sign("x");
  ASSERT_FALSE(signed_.ok());
  EXPECT_EQ(signed_.error().code, errc::kPermissionDenied);
}

TEST(CryptoKeysTest, RefusesTextThatIsNotAKey) {
  EXPECT_EQ(SigningKey::FromPem("not a key").error().code, errc::kInvalidArgument);
}

TEST(CryptoKeysTest, RefusesRsaKeysShorterThan2048Bits) {
  const char kRsa1024[] =
      "-----BEGIN PUBLIC KEY-----\n"
      "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC7VJTUt9Us8cKjMzEfYyjiWA4R\n"
      "4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvuNMoSfm76oqFv\n"
      "AP8GyxSiFOOPtSw0NJaJbHfMtPTqQY6Y/ObUEzsU2ZpTufmEUavu5MrD1ldtv0Zd\n"
      "UxMGQvNnqnCR6Wt4fQIDAQAB\n"
      "-----END PUBLIC KEY-----\n";
  auto key = SigningKey::FromPem(kRsa1024);
  ASSERT_FALSE(key.ok());
  EXPECT_EQ(key.error().code, errc::kInvalidArgument);
}

TEST(CryptoKeysTest, ParsesAlgorithmNamesCaseSensitively) {
  EXPECT_EQ(ParseSigningAlgorithm("RS256").value(), SigningAlgorithm::kRs256);
  EXPECT_EQ(ParseSigningAlgorithm("ES256").value(), SigningAlgorithm::kEs256);
  EXPECT_EQ(ParseSigningAlgorithm("SM2").value(), SigningAlgorithm::kSm2);
  EXPECT_FALSE(ParseSigningAlgorithm("rs256").ok());
  EXPECT_FALSE(ParseSigningAlgorithm("none").ok());
  EXPECT_FALSE(ParseSigningAlgorithm("HS256").ok());
}

// ---- JWT round trips, per algorithm ----

class CryptoJwtTest : public ::testing::TestWithParam<SigningAlgorithm> {};

TEST_P(CryptoJwtTest, VerifiesWhatItSigned) {
  std::vector<SigningKey> keys = {Generated(GetParam())};
  std::string token = SignJwt(keys[0], R"({"sub":"u1","aud":"demo"})").value();
  auto verified = VerifyJwt(token, keys);
  ASSERT_TRUE(verified.ok()) << verified.error().message;
  EXPECT_EQ(verified->claims_json, R"({"sub":"u1","aud":"demo"})");
  EXPECT_EQ(verified->header.alg, SigningAlgorithmName(GetParam()));
  EXPECT_EQ(verified->header.kid, keys[0].kid());
  EXPECT_EQ(verified->header.typ, "JWT");
  EXPECT_EQ(verified->key, &keys[0]);
}

TEST_P(CryptoJwtTest, RefusesAChangedPayload) {
  std::vector<SigningKey> keys = {Generated(GetParam())};
  std::string token = SignJwt(keys[0], R"({"sub":"u1"})").value();
  auto verified = VerifyJwt(WithPayload(token, R"({"sub":"admin"})"), keys);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, errc::kPermissionDenied);
}

TEST_P(CryptoJwtTest, RefusesATokenSignedByAKeyOutsideTheSet) {
  SigningKey signer = Generated(GetParam());
  std::vector<SigningKey> keys = {Generated(GetParam())};
  std::string token = SignJwt(signer, "{}").value();
  EXPECT_FALSE(VerifyJwt(token, keys).ok());
}

TEST_P(CryptoJwtTest, PrivateKeyRoundTripsThroughPem) {
  SigningKey key = Generated(GetParam());
  SigningKey again = SigningKey::FromPem(key.PrivatePem()).value();
  EXPECT_EQ(again.kid(), key.kid());
  EXPECT_TRUE(again.has_private_key());
  std::vector<SigningKey> public_only = {SigningKey::FromPem(key.PublicPem()).value()};
  EXPECT_TRUE(VerifyJwt(SignJwt(again, "{}").value(), public_only).ok());
}

INSTANTIATE_TEST_SUITE_P(Algorithms, CryptoJwtTest,
                         ::testing::Values(SigningAlgorithm::kRs256, SigningAlgorithm::kEs256,
                                           SigningAlgorithm::kSm2),
                         [](const auto& info) {
                           return std::string(SigningAlgorithmName(info.param));
                         });

// ---- JWT refusals ----

TEST(CryptoJwtRefusalTest, RefusesAlgNone) {
  std::vector<SigningKey> keys = {Generated(SigningAlgorithm::kEs256)};
  std::string token = Base64UrlEncode(R"({"alg":"none"})") + "." + Base64UrlEncode("{}") + ".";
  auto verified = VerifyJwt(token, keys);
  ASSERT_FALSE(verified.ok());
  EXPECT_EQ(verified.error().code, errc::kPermissionDenied);
}

TEST(CryptoJwtRefusalTest, RefusesAHeaderWhoseAlgDiffersFromTheKidsKey) {
  std::vector<SigningKey> keys = {Generated(SigningAlgorithm::kEs256)};
  std::string token = SignJwt(keys[0], "{}").value();
  std::string header =
      Base64UrlEncode(R"({"alg":"RS256","kid":")" + keys[0].kid() + R"(","typ":"JWT"})");
  std::string forged = header + token.substr(token.find('.'));
  EXPECT_EQ(VerifyJwt(forged, keys).error().code, errc::kPermissionDenied);
}

TEST(CryptoJwtRefusalTest, RefusesAnUnknownKid) {
  std::vector<SigningKey> keys = {Generated(SigningAlgorithm::kEs256)};
  EXPECT_EQ(VerifyJwt(kEsToken, keys).error().code, errc::kPermissionDenied);
}

TEST(CryptoJwtRefusalTest, RefusesCriticalHeaderParameters) {
  std::vector<SigningKey> keys = {Generated(SigningAlgorithm::kEs256)};
  std::string header = Base64UrlEncode(R"({"alg":"ES256","crit":["exp"]})");
  EXPECT_EQ(VerifyJwt(header + "." + Base64UrlEncode("{}") + ".AAAA", keys).error().code,
            errc::kInvalidArgument);
}

TEST(CryptoJwtRefusalTest, RefusesTokensWithoutThreeParts) {
  std::vector<SigningKey> keys = {Generated(SigningAlgorithm::kEs256)};
  EXPECT_EQ(VerifyJwt("a.b", keys).error().code, errc::kInvalidArgument);
  EXPECT_EQ(VerifyJwt("a.b.c.d", keys).error().code, errc::kInvalidArgument);
}

TEST(CryptoJwtRefusalTest, RefusesOversizedTokens) {
  std::vector<SigningKey> keys = {Generated(SigningAlgorithm::kEs256)};
  EXPECT_EQ(VerifyJwt(std::string(kMaxJwtBytes + 1, 'a'), keys).error().code, errc::kTooLarge);
}

TEST(CryptoJwtRefusalTest, PicksTheOnlyKeyOfTheAlgorithmWhenTheKidIsMissing) {
  std::vector<SigningKey> keys = {Generated(SigningAlgorithm::kEs256),
                                  Generated(SigningAlgorithm::kRs256)};
  std::string header = Base64UrlEncode(R"({"alg":"ES256"})");
  std::string input = header + "." + Base64UrlEncode("{}");
  std::string token = input + "." + Base64UrlEncode(keys[0].Sign(input).value());
  EXPECT_TRUE(VerifyJwt(token, keys).ok());
}

TEST(CryptoJwtRefusalTest, PeekReadsTheHeaderWithoutVerifying) {
  auto header = PeekJwtHeader(kRsToken);
  ASSERT_TRUE(header.ok());
  EXPECT_EQ(header->alg, "RS256");
  EXPECT_EQ(header->kid, "k1");
}

// ---- key files ----

class CryptoKeyRingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/tongban-keys-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_;
};

constexpr std::array<SigningAlgorithm, 2> kRsAndSm2 = {SigningAlgorithm::kRs256,
                                                       SigningAlgorithm::kSm2};

TEST_F(CryptoKeyRingTest, CreatesMissingKeysWithOwnerOnlyPermissions) {
  auto ring = KeyRing::LoadDir(dir_ + "/oidc", kRsAndSm2);
  ASSERT_TRUE(ring.ok()) << ring.error().message;
  ASSERT_NE(ring->Current(SigningAlgorithm::kRs256), nullptr);
  ASSERT_NE(ring->Current(SigningAlgorithm::kSm2), nullptr);
  EXPECT_EQ(ring->Current(SigningAlgorithm::kEs256), nullptr);
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/oidc/rs256.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ + "/oidc").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(CryptoKeyRingTest, LoadsTheSameKeysOnTheNextStart) {
  auto first = KeyRing::LoadDir(dir_, kRsAndSm2);
  auto second = KeyRing::LoadDir(dir_, kRsAndSm2);
  ASSERT_TRUE(first.ok() && second.ok());
  EXPECT_EQ(first->Current(SigningAlgorithm::kRs256)->kid(),
            second->Current(SigningAlgorithm::kRs256)->kid());
  EXPECT_EQ(first->JwksJson(), second->JwksJson());
}

TEST_F(CryptoKeyRingTest, PublishesARetiredKeyButSignsWithTheNewOne) {
  auto first = KeyRing::LoadDir(dir_, kRsAndSm2);
  ASSERT_TRUE(first.ok());
  std::string old_kid = first->Current(SigningAlgorithm::kRs256)->kid();
  std::filesystem::rename(dir_ + "/rs256.pem", dir_ + "/rs256-2025.pem");
  auto second = KeyRing::LoadDir(dir_, kRsAndSm2);
  ASSERT_TRUE(second.ok()) << second.error().message;
  EXPECT_NE(second->Current(SigningAlgorithm::kRs256)->kid(), old_kid);
  EXPECT_NE(second->Find(old_kid), nullptr);
  EXPECT_NE(second->JwksJson().find(old_kid), std::string::npos);
}

TEST_F(CryptoKeyRingTest, RefusesAPrivateKeyFileReadableByOthers) {
  ASSERT_TRUE(KeyRing::LoadDir(dir_, kRsAndSm2).ok());
  std::filesystem::permissions(dir_ + "/sm2.pem", std::filesystem::perms::others_read,
                               std::filesystem::perm_options::add);
  auto ring = KeyRing::LoadDir(dir_, kRsAndSm2);
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.error().code, errc::kPermissionDenied);
}

TEST_F(CryptoKeyRingTest, RefusesAKeyOfTheWrongAlgorithmUnderACurrentName) {
  std::ofstream(dir_ + "/es256.pem") << kRsaPem;
  std::filesystem::permissions(dir_ + "/es256.pem", std::filesystem::perms::owner_read,
                               std::filesystem::perm_options::replace);
  auto ring = KeyRing::LoadDir(dir_, {});
  ASSERT_FALSE(ring.ok());
  EXPECT_EQ(ring.error().code, errc::kInvalidArgument);
}

TEST_F(CryptoKeyRingTest, NeverOverwritesAKeyFile) {
  SigningKey key = Generated(SigningAlgorithm::kEs256);
  ASSERT_TRUE(WritePrivateKeyFile(dir_ + "/k.pem", key).ok());
  auto again = WritePrivateKeyFile(dir_ + "/k.pem", Generated(SigningAlgorithm::kEs256));
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.error().code, errc::kAlreadyExists);
  EXPECT_EQ(LoadKeyFile(dir_ + "/k.pem")->kid(), key.kid());
}

}  // namespace
}  // namespace tongban::crypto
