#include "directory/validators.h"

#include <array>
#include <chrono>
#include <cstdio>

namespace tongban::directory {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) {
  for (char c : s) {
    if (!IsDigit(c)) return false;
  }
  return true;
}

int TwoDigits(std::string_view s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

int Number(std::string_view digits) {
  int n = 0;
  for (char c : digits) n = n * 10 + (c - '0');
  return n;
}

// Province-level divisions of GB/T 2260.
bool IsProvinceCode(int p) {
  return (p >= 11 && p <= 15) || (p >= 21 && p <= 23) || (p >= 31 && p <= 37) ||
         (p >= 41 && p <= 46) || (p >= 50 && p <= 54) || (p >= 61 && p <= 65) || p == 71 ||
         p == 81 || p == 82;
}

bool IsRealDate(int y, int m, int d) {
  return std::chrono::year_month_day{std::chrono::year{y}, std::chrono::month(m),
                                     std::chrono::day(d)}
      .ok();
}

// ISO 7064 MOD 11-2 over the first 17 digits; weights are 2^(17-i) mod 11.
char ResidentIdCheckCharacter(std::string_view first17) {
  static constexpr int kWeights[17] = {7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2};
  static constexpr char kCheck[] = "10X98765432";
  int sum = 0;
  for (int i = 0; i < 17; ++i) sum += (first17[i] - '0') * kWeights[i];
  return kCheck[sum % 11];
}

// Value of a character in the GB 32100 alphabet, or -1.
int CreditCodeValue(char c) {
  static constexpr std::string_view kAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY";
  size_t pos = kAlphabet.find(c);
  return pos == std::string_view::npos ? -1 : static_cast<int>(pos);
}

// GB 11714-1997: 8 body characters (digits, or letters valued A=10 .. Z=35)
// weighted 3,7,9,10,5,8,4,2; check = 11 - sum mod 11, with 10 -> 'X', 11 -> '0'.
bool OrganizationCodeChecks(std::string_view code9) {
  static constexpr int kWeights[8] = {3, 7, 9, 10, 5, 8, 4, 2};
  int sum = 0;
  for (int i = 0; i < 8; ++i) {
    char c = code9[i];
    int v;
    if (IsDigit(c)) {
      v = c - '0';
    } else if (c >= 'A' && c <= 'Z') {
      v = c - 'A' + 10;
    } else {
      return false;
    }
    sum += v * kWeights[i];
  }
  int check = 11 - sum % 11;
  char expected = check == 10 ? 'X' : check == 11 ? '0' : static_cast<char>('0' + check);
  return code9[8] == expected;
}

bool IsEmailAtext(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c)) return true;
  return std::string_view("!#$%&'*+-/=?^_`{|}~").find(c) != std::string_view::npos;
}

bool IsValidDotAtom(std::string_view s) {
  if (s.empty() || s.front() == '.' || s.back() == '.') return false;
  char prev = '\0';
  for (char c : s) {
    if (c == '.') {
      if (prev == '.') return false;
    } else if (!IsEmailAtext(c)) {
      return false;
    }
    prev = c;
  }
  return true;
}

bool IsValidDomainLabel(std::string_view label) {
  if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
    return false;
  }
  for (char c : label) {
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '-')) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::string CivilDate::ToIsoString() const {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d", year, month, day);
  return buf;
}

CivilDate TodayInChina(const Clock& clock) {
  auto local = clock.Now() + std::chrono::hours(8);
  std::chrono::year_month_day ymd{std::chrono::floor<std::chrono::days>(local)};
  return CivilDate{static_cast<int>(ymd.year()), static_cast<int>(unsigned{ymd.month()}),
                   static_cast<int>(unsigned{ymd.day()})};
}

Result<ResidentIdInfo> ParseResidentId(std::string_view id, CivilDate today) {
  if (id.size() != 18) return Error::InvalidArgument("resident ID must be 18 characters");
  if (!AllDigits(id.substr(0, 17))) {
    return Error::InvalidArgument("resident ID must start with 17 digits");
  }
  char check = id[17] == 'x' ? 'X' : id[17];
  if (check != ResidentIdCheckCharacter(id)) {
    return Error::InvalidArgument("resident ID check character is wrong");
  }
  int province = TwoDigits(id);
  if (!IsProvinceCode(province) && province != 83) {
    return Error::InvalidArgument("resident ID address code names no province");
  }
  CivilDate birth{Number(id.substr(6, 4)), Number(id.substr(10, 2)), Number(id.substr(12, 2))};
  if (birth.year < 1800 || !IsRealDate(birth.year, birth.month, birth.day)) {
    return Error::InvalidArgument("resident ID birth date is not a real date");
  }
  if (birth > today) return Error::InvalidArgument("resident ID birth date is in the future");
  ResidentIdInfo info;
  info.id.assign(id.substr(0, 17));
  info.id += check;
  info.region_code = std::string(id.substr(0, 6));
  info.birth_date = birth;
  info.sex.push_back((id[16] - '0') % 2 == 1 ? '1' : '2');
  return info;
}

bool IsValidResidentId(std::string_view id, CivilDate today) {
  return ParseResidentId(id, today).ok();
}

bool IsValidResidentId(std::string_view id, const Clock& clock) {
  return IsValidResidentId(id, TodayInChina(clock));
}

Result<std::string> UpgradeResidentId15To18(std::string_view id15) {
  if (id15.size() != 15 || !AllDigits(id15)) {
    return Error::InvalidArgument("a first-generation resident ID is 15 digits");
  }
  if (!IsProvinceCode(TwoDigits(id15))) {
    return Error::InvalidArgument("resident ID address code names no province");
  }
  std::string id(id15.substr(0, 6));
  id += "19";
  id += id15.substr(6);
  if (!IsRealDate(Number(id.substr(6, 4)), Number(id.substr(10, 2)), Number(id.substr(12, 2)))) {
    return Error::InvalidArgument("resident ID birth date is not a real date");
  }
  id += ResidentIdCheckCharacter(id);
  return id;
}

bool IsValidSocialCreditCode(std::string_view code) {
  static constexpr int kWeights[17] = {1,  3,  9,  27, 19, 26, 16, 17, 20,
                                       29, 25, 13, 8,  24, 10, 30, 28};
  if (code.size() != 18) return false;
  int sum = 0;
  for (int i = 0; i < 17; ++i) {
    int v = CreditCodeValue(code[i]);
    if (v < 0) return false;
    sum += v * kWeights[i];
  }
  int check = (31 - sum % 31) % 31;
  if (CreditCodeValue(code[17]) != check) return false;
  return AllDigits(code.substr(2, 6)) && OrganizationCodeChecks(code.substr(8, 9));
}

bool IsValidDivisionCode(std::string_view code) {
  if ((code.size() != 6 && code.size() != 9 && code.size() != 12) || !AllDigits(code)) {
    return false;
  }
  return IsProvinceCode(TwoDigits(code));
}

bool IsValidOrgCoding(std::string_view orgcoding) {
  return !orgcoding.empty() && orgcoding.size() % 3 == 0 && AllDigits(orgcoding);
}

std::string ParentOrgCoding(std::string_view orgcoding) {
  if (!IsValidOrgCoding(orgcoding)) return "";
  return std::string(orgcoding.substr(0, orgcoding.size() - 3));
}

bool IsValidLoginName(std::string_view loginname) {
  if (loginname.size() < 2 || loginname.size() > 50) return false;
  for (char c : loginname) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || IsDigit(c) || c == '_' ||
              c == '.' || c == '-' || c == '@';
    if (!ok) return false;
  }
  return true;
}

bool IsValidMobile(std::string_view mobile) {
  return mobile.size() == 11 && mobile[0] == '1' && mobile[1] >= '3' && mobile[1] <= '9' &&
         AllDigits(mobile);
}

bool IsValidEmail(std::string_view email) {
  if (email.size() > 254) return false;
  size_t at = email.rfind('@');
  if (at == std::string_view::npos) return false;
  std::string_view local = email.substr(0, at);
  std::string_view domain = email.substr(at + 1);
  if (local.size() > 64 || !IsValidDotAtom(local)) return false;
  size_t labels = 0;
  size_t start = 0;
  while (true) {
    size_t dot = domain.find('.', start);
    std::string_view label =
        domain.substr(start, dot == std::string_view::npos ? dot : dot - start);
    if (!IsValidDomainLabel(label)) return false;
    ++labels;
    if (dot == std::string_view::npos) {
      // A numeric top-level label would make this an IP address, not a domain.
      if (AllDigits(label)) return false;
      break;
    }
    start = dot + 1;
  }
  return labels >= 2;
}

bool IsValidOrganizationCode(std::string_view code) {
  if (code.size() == 10 && code[8] == '-') {
    std::string compact(code.substr(0, 8));
    compact += code[9];
    return OrganizationCodeChecks(compact);
  }
  return code.size() == 9 && OrganizationCodeChecks(code);
}

}  // namespace tongban::directory
