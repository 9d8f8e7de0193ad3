// SecondFactors on SQLite with a fake clock: enrolment and its first code,
// the ±1 step window, replay refused, recovery codes single-use, the account
// throttle, reset, and app policy.
#include "sso/second_factors.h"

#include <gtest/gtest.h>

#include "core/clock.h"
#include "core/random.h"
#include "crypto/totp.h"
#include "sso/auth_codes.h"
#include "store/memory_ticket_store.h"

namespace tongban::sso {
namespace {

class SecondFactorsTest : public ::testing::Test {
 protected:
  SecondFactorsTest()
      : sql_(std::move(SqlStore::Open("sqlite::memory:")).value()),
        tickets_(clock_),
        box_(std::move(crypto::SecretBox::Create(std::string(32, 'k'), OpenSslRandom::Instance()))
                 .value()) {
    EXPECT_TRUE(sql_->Migrate(SecondFactors::Migrations()).ok());
    MfaOptions options;
    options.max_failures = 4;
    factors_ = std::make_unique<SecondFactors>(*sql_, tickets_, box_, clock_,
                                               OpenSslRandom::Instance(), "recovery key",
                                               options);
  }

  // Enrols `user`; returns the raw secret and the recovery codes.
  std::pair<std::string, std::vector<std::string>> Enrol(const std::string& user) {
    auto e = factors_->BeginTotp(user, user);
    EXPECT_TRUE(e.ok());
    std::string secret = *crypto::Base32Decode(e->secret_base32);
    auto codes = factors_->ConfirmTotp(user, crypto::Totp(secret, clock_.NowMillis()));
    EXPECT_TRUE(codes.ok()) << codes.error().message;
    return {secret, *codes};
  }

  FakeClock clock_;
  std::unique_ptr<SqlStore> sql_;
  MemoryTicketStore tickets_;
  crypto::SecretBox box_;
  std::unique_ptr<SecondFactors> factors_;
};

TEST_F(SecondFactorsTest, EnrolmentNeedsItsFirstCode) {
  auto e = factors_->BeginTotp("u1", "alice", "login-a");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->secret_base32.size(), 32u);  // 160 bits
  EXPECT_TRUE(e->uri.starts_with("otpauth://totp/tongban:alice?secret=" + e->secret_base32));
  EXPECT_TRUE(e->qr_svg.starts_with("<svg"));
  EXPECT_FALSE(factors_->StatusOf("u1")->totp);
  // A reload of the same enrolment shows the same pending secret.
  EXPECT_EQ(factors_->BeginTotp("u1", "alice", "login-a")->secret_base32, e->secret_base32);
  const std::string secret = *crypto::Base32Decode(e->secret_base32);
  const std::string wrong = crypto::Totp(secret, clock_.NowMillis() + 120'000);
  EXPECT_EQ(factors_->ConfirmTotp("u1", wrong, "login-a").error().code, errc::kPermissionDenied);
  auto codes = factors_->ConfirmTotp("u1", crypto::Totp(secret, clock_.NowMillis()), "login-a");
  ASSERT_TRUE(codes.ok());
  EXPECT_EQ(codes->size(), 10u);
  auto status = factors_->StatusOf("u1");
  EXPECT_TRUE(status->totp);
  EXPECT_EQ(status->recovery_left, 10);
  EXPECT_EQ(factors_->BeginTotp("u1", "alice").error().code, errc::kAlreadyExists);
  EXPECT_EQ(factors_->ConfirmTotp("u1", "123456").error().code, errc::kNotFound);
}

TEST_F(SecondFactorsTest, APendingSecretBelongsToTheEnrolmentThatStartedIt) {
  // Someone else passing the password step (another pending login) never sees
  // the secret the user was shown, and cannot confirm it either.
  auto user_page = factors_->BeginTotp("u9", "ursula", "login-user");
  ASSERT_TRUE(user_page.ok());
  auto other = factors_->BeginTotp("u9", "ursula", "login-other");
  ASSERT_TRUE(other.ok());
  EXPECT_NE(other->secret_base32, user_page->secret_base32);
  EXPECT_NE(factors_->BeginTotp("u9", "ursula")->secret_base32, other->secret_base32);
  auto third = factors_->BeginTotp("u9", "ursula", "login-third");
  ASSERT_TRUE(third.ok());
  const std::string secret = *crypto::Base32Decode(third->secret_base32);
  const std::string code = crypto::Totp(secret, clock_.NowMillis());
  // Only the enrolment that was shown the secret confirms it.
  EXPECT_EQ(factors_->ConfirmTotp("u9", code, "login-other").error().code, errc::kNotFound);
  EXPECT_EQ(factors_->ConfirmTotp("u9", code).error().code, errc::kNotFound);
  ASSERT_TRUE(factors_->ConfirmTotp("u9", code, "login-third").ok());
  // Confirmed, it is the user's factor whatever enrolment showed it.
  clock_.Advance(std::chrono::seconds(30));
  EXPECT_TRUE(factors_->Verify("u9", crypto::Totp(secret, clock_.NowMillis())).ok());
}

TEST_F(SecondFactorsTest, AStepIsAcceptedOnceAndOnlyWithinOneStep) {
  auto [secret, codes] = Enrol("u2");
  // The enrolment's step is used up.
  EXPECT_EQ(factors_->Verify("u2", crypto::Totp(secret, clock_.NowMillis())).error().code,
            errc::kPermissionDenied);
  const std::string next = crypto::Totp(secret, clock_.NowMillis() + 30'000);
  EXPECT_EQ(*factors_->Verify("u2", next), FactorUsed::kTotp);
  EXPECT_EQ(factors_->Verify("u2", next).error().code, errc::kPermissionDenied);  // replay
  clock_.Advance(std::chrono::minutes(5));
  EXPECT_FALSE(factors_->Verify("u2", crypto::Totp(secret, clock_.NowMillis() - 60'000)).ok());
  EXPECT_TRUE(factors_->Verify("u2", crypto::Totp(secret, clock_.NowMillis() - 30'000)).ok());
  // An older step than the last accepted one is refused even inside the window.
  EXPECT_FALSE(factors_->Verify("u2", crypto::Totp(secret, clock_.NowMillis() - 30'000)).ok());
}

TEST_F(SecondFactorsTest, RecoveryCodesWorkOnceInAnyCase) {
  auto [secret, codes] = Enrol("u3");
  std::string shouted = codes[3];
  for (char& c : shouted) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(*factors_->Verify("u3", shouted), FactorUsed::kRecoveryCode);
  EXPECT_EQ(factors_->Verify("u3", codes[3]).error().code, errc::kPermissionDenied);
  EXPECT_EQ(factors_->StatusOf("u3")->recovery_left, 9);
  // Another user's code is not this user's.
  auto [secret4, codes4] = Enrol("u4");
  EXPECT_FALSE(factors_->Verify("u3", codes4[0]).ok());
}

TEST_F(SecondFactorsTest, WrongCodesThrottleTheAccount) {
  auto [secret, codes] = Enrol("u5");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(factors_->Verify("u5", "nope-nope").error().code,
                                        errc::kPermissionDenied);
  // Even a right code waits now.
  EXPECT_EQ(factors_->Verify("u5", codes[0]).error().code, auth_code::kEasyLoginThrottled);
  clock_.Advance(std::chrono::seconds(901));
  EXPECT_TRUE(factors_->Verify("u5", codes[0]).ok());
}

TEST_F(SecondFactorsTest, ResetRemovesSecretAndCodes) {
  auto [secret, codes] = Enrol("u6");
  EXPECT_TRUE(*factors_->Reset("u6"));
  EXPECT_FALSE(*factors_->Reset("u6"));
  auto status = factors_->StatusOf("u6");
  EXPECT_FALSE(status->totp);
  EXPECT_EQ(status->recovery_left, 0);
  EXPECT_EQ(factors_->Verify("u6", codes[0]).error().code, errc::kNotFound);
  EXPECT_TRUE(factors_->BeginTotp("u6", "u6").ok());  // enrols again
}

TEST_F(SecondFactorsTest, AppPolicy) {
  EXPECT_FALSE(*factors_->AppRequires("demo"));
  ASSERT_TRUE(factors_->SetAppRequires("demo", true).ok());
  ASSERT_TRUE(factors_->SetAppRequires("demo", true).ok());
  EXPECT_TRUE(*factors_->AppRequires("demo"));
  EXPECT_EQ(*factors_->RequiringApps(), std::vector<std::string>{"demo"});
  ASSERT_TRUE(factors_->SetAppRequires("demo", false).ok());
  EXPECT_FALSE(*factors_->AppRequires("demo"));
  EXPECT_FALSE(*factors_->AppRequires(""));
}

}  // namespace
}  // namespace tongban::sso
