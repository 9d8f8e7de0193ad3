#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <string>

#include "core/clock.h"
#include "directory/validators.h"

namespace tongban::directory {
namespace {

const CivilDate kToday{2024, 6, 1};

// GB 11643 check character computed from the standard's definition, not from
// the code under test: weights 2^(17-i) mod 11, check = (12 - sum mod 11) mod 11
// with 10 written as X.
char CheckCharacter(const std::string& first17) {
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    int weight = 1;
    for (int k = 0; k < 17 - i; ++k) weight = weight * 2 % 11;
    sum += (first17[i] - '0') * weight;
  }
  int check = (12 - sum % 11) % 11;
  return check == 10 ? 'X' : static_cast<char>('0' + check);
}

std::string WithCheck(const std::string& first17) { return first17 + CheckCharacter(first17); }

// GB 32100 check character and GB 11714 organisation-code check, from the
// standards' definitions.
constexpr std::string_view kCreditAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";

char CreditCheck(const std::string& first17) {
  int sum = 0;
  int weight = 1;
  for (char c : first17) {
    sum += static_cast<int>(kCreditAlphabet.find(c)) * weight;
    weight = weight * 3 % 31;
  }
  return kCreditAlphabet[(31 - sum % 31) % 31];
}

char OrgCodeCheck(const std::string& body8) {
  const int weights[8] = {3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 8; ++i) {
    char c = body8[i];
    sum += (c >= 'A' ? c - 'A' + 10 : c - '0') * weights[i];
  }
  int check = 11 - sum % 11;
  return check == 10 ? 'X' : check == 11 ? '0' : static_cast<char>('0' + check);
}

std::string CreditCode(const std::string& prefix8, const std::string& org_body8) {
  std::string first17 = prefix8 + org_body8 + OrgCodeCheck(org_body8);
  return first17 + CreditCheck(first17);
}

// --- resident IDs ---

TEST(DirectoryResidentIdTest, AcceptsThePublishedExampleEndingInX) {
  EXPECT_TRUE(IsValidResidentId("11010519491231002X", kToday));
}

TEST(DirectoryResidentIdTest, AcceptsThePublishedExampleBornIn1880) {
  EXPECT_TRUE(IsValidResidentId("440524188001010014", kToday));
}

TEST(DirectoryResidentIdTest, AcceptsNumbersBuiltFromFirstPrinciples) {
  for (const char* first17 : {"33010619800101123", "33010620000229456", "81000019991231001",
                              "83000020010704002", "65010219700615789"}) {
    EXPECT_TRUE(IsValidResidentId(WithCheck(first17), kToday)) << first17;
  }
}

TEST(DirectoryResidentIdTest, AcceptsALowercaseX) {
  EXPECT_TRUE(IsValidResidentId("11010519491231002x", kToday));
}

TEST(DirectoryResidentIdTest, RejectsAWrongCheckCharacter) {
  EXPECT_FALSE(IsValidResidentId("110105194912310021", kToday));
  EXPECT_FALSE(IsValidResidentId("440524188001010015", kToday));
}

TEST(DirectoryResidentIdTest, RejectsAnySingleDigitChange) {
  std::string good = "440524188001010014";
  for (size_t i = 0; i < 17; ++i) {
    std::string bad = good;
    bad[i] = bad[i] == '9' ? '0' : static_cast<char>(bad[i] + 1);
    EXPECT_FALSE(IsValidResidentId(bad, kToday)) << bad;
  }
}

TEST(DirectoryResidentIdTest, RejectsWrongLengths) {
  EXPECT_FALSE(IsValidResidentId("", kToday));
  EXPECT_FALSE(IsValidResidentId("11010519491231002", kToday));
  EXPECT_FALSE(IsValidResidentId("11010519491231002X0", kToday));
  EXPECT_FALSE(IsValidResidentId("110105491231002", kToday));
}

TEST(DirectoryResidentIdTest, RejectsLettersBeforeTheCheckCharacter) {
  EXPECT_FALSE(IsValidResidentId("1101051949123100X2", kToday));
}

TEST(DirectoryResidentIdTest, RejectsAnUnknownProvince) {
  EXPECT_FALSE(IsValidResidentId(WithCheck("99010519491231002"), kToday));
  EXPECT_FALSE(IsValidResidentId(WithCheck("00010519491231002"), kToday));
  EXPECT_FALSE(IsValidResidentId(WithCheck("16010519491231002"), kToday));
}

TEST(DirectoryResidentIdTest, RejectsDatesThatDoNotExist) {
  EXPECT_FALSE(IsValidResidentId(WithCheck("33010619490230123"), kToday));  // 30 Feb
  EXPECT_FALSE(IsValidResidentId(WithCheck("33010619490229123"), kToday));  // not a leap year
  EXPECT_FALSE(IsValidResidentId(WithCheck("33010619000229123"), kToday));  // 1900 is not
  EXPECT_FALSE(IsValidResidentId(WithCheck("33010619491301123"), kToday));  // month 13
  EXPECT_FALSE(IsValidResidentId(WithCheck("33010619490100123"), kToday));  // day 0
}

TEST(DirectoryResidentIdTest, RejectsBirthBefore1800) {
  EXPECT_FALSE(IsValidResidentId(WithCheck("33010617991231123"), kToday));
}

TEST(DirectoryResidentIdTest, RejectsABirthDateAfterToday) {
  std::string born_tomorrow = WithCheck("33010620240602123");
  EXPECT_FALSE(IsValidResidentId(born_tomorrow, kToday));
  EXPECT_TRUE(IsValidResidentId(born_tomorrow, CivilDate{2024, 6, 2}));
}

TEST(DirectoryResidentIdTest, ReadsTodayFromTheClockInChinaTime) {
  std::string born = WithCheck("33010620240601123");
  // 2024-05-31 16:00 UTC is midnight of 1 June in Beijing.
  FakeClock clock(std::chrono::sys_days{std::chrono::year{2024} / 5 / 31} + std::chrono::hours(16));
  EXPECT_TRUE(IsValidResidentId(born, clock));
  clock.Advance(std::chrono::milliseconds(-1));
  EXPECT_FALSE(IsValidResidentId(born, clock));
}

TEST(DirectoryResidentIdTest, ExtractsRegionBirthDateAndSex) {
  auto info = ParseResidentId("11010519491231002x", kToday);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->id, "11010519491231002X");
  EXPECT_EQ(info->region_code, "110105");
  EXPECT_EQ(info->birth_date, (CivilDate{1949, 12, 31}));
  EXPECT_EQ(info->birth_date.ToIsoString(), "1949-12-31");
  EXPECT_EQ(info->sex, "2");
}

TEST(DirectoryResidentIdTest, OddSeventeenthDigitIsMale) {
  auto info = ParseResidentId("440524188001010014", kToday);
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(info->sex, "1");
}

TEST(DirectoryResidentIdTest, ExplainsWhyANumberIsInvalid) {
  auto info = ParseResidentId("110105194912310021", kToday);
  ASSERT_FALSE(info.ok());
  EXPECT_EQ(info.error().code, errc::kInvalidArgument);
  EXPECT_NE(info.error().message.find("check"), std::string::npos);
}

TEST(DirectoryUpgradeResidentIdTest, InsertsTheCenturyAndTheCheckCharacter) {
  EXPECT_EQ(UpgradeResidentId15To18("110105491231002").value(), "11010519491231002X");
}

TEST(DirectoryUpgradeResidentIdTest, UpgradedNumbersAreValid) {
  auto upgraded = UpgradeResidentId15To18("330106800101123");
  ASSERT_TRUE(upgraded.ok());
  EXPECT_EQ(*upgraded, WithCheck("33010619800101123"));
  EXPECT_TRUE(IsValidResidentId(*upgraded, kToday));
}

TEST(DirectoryUpgradeResidentIdTest, RejectsAnythingButFifteenDigits) {
  EXPECT_FALSE(UpgradeResidentId15To18("11010549123100").ok());
  EXPECT_FALSE(UpgradeResidentId15To18("11010549123100X").ok());
  EXPECT_FALSE(UpgradeResidentId15To18("11010519491231002X").ok());
}

TEST(DirectoryUpgradeResidentIdTest, RejectsAnImpossibleBirthDate) {
  EXPECT_FALSE(UpgradeResidentId15To18("110105490230002").ok());
}

TEST(DirectoryUpgradeResidentIdTest, RejectsAnUnknownProvince) {
  EXPECT_FALSE(UpgradeResidentId15To18("990105491231002").ok());
}

// --- unified social credit codes ---

TEST(DirectorySocialCreditCodeTest, AcceptsTheCommonlyCitedExample) {
  EXPECT_TRUE(IsValidSocialCreditCode("91350100M000100Y43"));
}

TEST(DirectorySocialCreditCodeTest, AcceptsCodesBuiltFromFirstPrinciples) {
  for (auto [prefix, org] :
       {std::pair{"91330106", "MA2B3C4D"}, std::pair{"11100000", "00001312"},
        std::pair{"52330000", "50002162"}, std::pair{"Y1330100", "12345678"}}) {
    std::string code = CreditCode(prefix, org);
    EXPECT_TRUE(IsValidSocialCreditCode(code)) << code;
  }
}

TEST(DirectorySocialCreditCodeTest, RejectsAWrongCheckCharacter) {
  EXPECT_FALSE(IsValidSocialCreditCode("91350100M000100Y44"));
}

TEST(DirectorySocialCreditCodeTest, RejectsAWrongEmbeddedOrganisationCodeCheck) {
  // Both GB 32100 positions consistent, but position 17 is not the GB 11714
  // check of positions 9-16.
  std::string first17 = std::string("91350100") + "M000100Y" + '5';
  EXPECT_FALSE(IsValidSocialCreditCode(first17 + CreditCheck(first17)));
}

TEST(DirectorySocialCreditCodeTest, RejectsLettersOutsideTheAlphabet) {
  for (char c : {'I', 'O', 'S', 'V', 'Z'}) {
    std::string code = "91350100M000100Y43";
    code[8] = c;
    EXPECT_FALSE(IsValidSocialCreditCode(code)) << c;
  }
}

TEST(DirectorySocialCreditCodeTest, RejectsLowercase) {
  EXPECT_FALSE(IsValidSocialCreditCode("91350100m000100y43"));
}

TEST(DirectorySocialCreditCodeTest, RejectsANonNumericDivisionCode) {
  std::string first17 = std::string("91A50100") + "M000100Y" + OrgCodeCheck("M000100Y");
  EXPECT_FALSE(IsValidSocialCreditCode(first17 + CreditCheck(first17)));
}

TEST(DirectorySocialCreditCodeTest, RejectsWrongLengths) {
  EXPECT_FALSE(IsValidSocialCreditCode(""));
  EXPECT_FALSE(IsValidSocialCreditCode("91350100M000100Y4"));
  EXPECT_FALSE(IsValidSocialCreditCode("91350100M000100Y430"));
}

// --- division codes ---

TEST(DirectoryDivisionCodeTest, AcceptsProvinceCityAndCountyCodes) {
  for (const char* code :
       {"330000", "330100", "330106", "110105", "650102", "810000", "820000", "710000", "429004"}) {
    EXPECT_TRUE(IsValidDivisionCode(code)) << code;
  }
}

TEST(DirectoryDivisionCodeTest, AcceptsTownshipAndVillageExtensions) {
  EXPECT_TRUE(IsValidDivisionCode("330106001"));
  EXPECT_TRUE(IsValidDivisionCode("330106001001"));
}

TEST(DirectoryDivisionCodeTest, RejectsAnUnknownProvince) {
  for (const char* code :
       {"000000", "100000", "160000", "240000", "470000", "550000", "720000", "830000", "990000"}) {
    EXPECT_FALSE(IsValidDivisionCode(code)) << code;
  }
}

TEST(DirectoryDivisionCodeTest, RejectsOtherLengthsAndNonDigits) {
  for (const char* code : {"", "33010", "3301060", "33010600", "3301060010", "33010600100",
                           "3301060010010", "33010A"}) {
    EXPECT_FALSE(IsValidDivisionCode(code)) << code;
  }
}

// --- org codings ---

TEST(DirectoryOrgCodingTest, AcceptsWholeLevelsOfThreeDigits) {
  EXPECT_TRUE(IsValidOrgCoding("001"));
  EXPECT_TRUE(IsValidOrgCoding("001002"));
  EXPECT_TRUE(IsValidOrgCoding("001002003004"));
}

TEST(DirectoryOrgCodingTest, RejectsPartialLevelsEmptyAndNonDigits) {
  for (const char* code : {"", "1", "01", "0010", "00100", "00a", "001 02", "-01"}) {
    EXPECT_FALSE(IsValidOrgCoding(code)) << code;
  }
}

TEST(DirectoryOrgCodingTest, ParentDropsTheLastLevel) {
  EXPECT_EQ(ParentOrgCoding("001002003"), "001002");
  EXPECT_EQ(ParentOrgCoding("001002"), "001");
}

TEST(DirectoryOrgCodingTest, TopLevelAndInvalidCodesHaveNoParent) {
  EXPECT_EQ(ParentOrgCoding("001"), "");
  EXPECT_EQ(ParentOrgCoding("0010"), "");
  EXPECT_EQ(ParentOrgCoding(""), "");
}

// --- login names, mobiles, e-mail ---

TEST(DirectoryLoginNameTest, AcceptsLettersDigitsAndTheFourMarks) {
  for (const char* name : {"zhangs", "ZhangSan", "zs", "zhang.san", "zhang_san", "zhang-san",
                           "zhangs@hz.gov.cn", "user2024"}) {
    EXPECT_TRUE(IsValidLoginName(name)) << name;
  }
}

TEST(DirectoryLoginNameTest, AcceptsExactlyFiftyCharacters) {
  EXPECT_TRUE(IsValidLoginName(std::string(50, 'a')));
  EXPECT_FALSE(IsValidLoginName(std::string(51, 'a')));
}

TEST(DirectoryLoginNameTest, RejectsTooShort) {
  EXPECT_FALSE(IsValidLoginName(""));
  EXPECT_FALSE(IsValidLoginName("z"));
}

TEST(DirectoryLoginNameTest, RejectsSpecialCharacters) {
  for (const char* name : {"zhang san", "zhang'san", "zhang;san", "zhang<s>", "张三", "zhang#1",
                           "zhang/s", "zhang\ts", "zhang%20"}) {
    EXPECT_FALSE(IsValidLoginName(name)) << name;
  }
}

TEST(DirectoryMobileTest, AcceptsMainlandNumbers) {
  for (const char* m : {"13800138000", "15912345678", "19912345678", "16612345678"}) {
    EXPECT_TRUE(IsValidMobile(m)) << m;
  }
}

TEST(DirectoryMobileTest, RejectsOtherShapes) {
  for (const char* m : {"", "12812345678", "10012345678", "1381234567", "138123456789",
                        "+8613800138000", "138-0013-8000", "2381234567a", "23800138000"}) {
    EXPECT_FALSE(IsValidMobile(m)) << m;
  }
}

TEST(DirectoryEmailTest, AcceptsOrdinaryAddresses) {
  for (const char* e : {"zhangs@hz.gov.cn", "a.b+tag@example.com", "x@y.zj", "o'brien@ex-ample.org",
                        "user_1@sub.domain.example.com"}) {
    EXPECT_TRUE(IsValidEmail(e)) << e;
  }
}

TEST(DirectoryEmailTest, RejectsMalformedAddresses) {
  for (const char* e :
       {"", "plain", "@example.com", "a@", "a@localhost", "a..b@example.com", ".a@example.com",
        "a.@example.com", "a@-example.com", "a@example-.com", "a@example..com", "a b@example.com",
        "a@b@example.com", "张三@example.com", "a@192.168.0.1"}) {
    EXPECT_FALSE(IsValidEmail(e)) << e;
  }
}

TEST(DirectoryEmailTest, RejectsOverlongParts) {
  EXPECT_FALSE(IsValidEmail(std::string(65, 'a') + "@example.com"));
  EXPECT_FALSE(IsValidEmail("a@" + std::string(64, 'b') + ".com"));
  EXPECT_FALSE(IsValidEmail("a@" + std::string(250, 'b') + ".com"));
}

}  // namespace
}  // namespace tongban::directory

// ---- Organisation codes (GB 11714) ----
using tongban::directory::IsValidOrganizationCode;

TEST(DirectoryOrganizationCodeTest, AcceptsTheBodyOfAKnownCreditCode) {
  // Positions 9-17 of the commonly cited USCC 91350100M000100Y43.
  EXPECT_TRUE(IsValidOrganizationCode("M000100Y4"));
  EXPECT_TRUE(IsValidOrganizationCode("M000100Y-4"));
}

TEST(DirectoryOrganizationCodeTest, AcceptsACheckComputedByHand) {
  // 1*3 + 2*7 + 3*9 + 4*10 + 5*5 + 6*8 + 7*4 + 8*2 = 201; 201 mod 11 = 3; 11 - 3 = 8.
  EXPECT_TRUE(IsValidOrganizationCode("123456788"));
  EXPECT_TRUE(IsValidOrganizationCode("12345678-8"));
  for (char wrong : std::string("01234567X9")) {
    if (wrong == '8') continue;
    EXPECT_FALSE(IsValidOrganizationCode(std::string("12345678") + wrong)) << wrong;
  }
}

TEST(DirectoryOrganizationCodeTest, MapsTenToXAndElevenToZero) {
  // Search bodies whose check is 10 and 11, proving both special cases are handled.
  bool saw_x = false, saw_zero = false;
  for (int n = 0; n < 2000 && !(saw_x && saw_zero); ++n) {
    char body[9];
    std::snprintf(body, sizeof body, "%08d", n);
    static constexpr int kWeights[8] = {3, 7, 9, 10, 5, 8, 4, 2};
    int sum = 0;
    for (int i = 0; i < 8; ++i) sum += (body[i] - '0') * kWeights[i];
    int check = 11 - sum % 11;
    if (check == 10) {
      saw_x = true;
      EXPECT_TRUE(IsValidOrganizationCode(std::string(body) + "X")) << body;
      EXPECT_FALSE(IsValidOrganizationCode(std::string(body) + "1")) << body;
    } else if (check == 11) {
      saw_zero = true;
      EXPECT_TRUE(IsValidOrganizationCode(std::string(body) + "0")) << body;
    }
  }
  EXPECT_TRUE(saw_x);
  EXPECT_TRUE(saw_zero);
}

TEST(DirectoryOrganizationCodeTest, RejectsBadShapes) {
  EXPECT_FALSE(IsValidOrganizationCode(""));
  EXPECT_FALSE(IsValidOrganizationCode("12345678"));
  EXPECT_FALSE(IsValidOrganizationCode("1234567888"));
  EXPECT_FALSE(IsValidOrganizationCode("1234567-88"));
  EXPECT_FALSE(IsValidOrganizationCode("m000100y4"));
  EXPECT_FALSE(IsValidOrganizationCode("12345678_8"));
}
