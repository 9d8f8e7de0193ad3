// Pure checks of the identifiers the directory stores: resident ID numbers
// (GB 11643), unified social credit codes (GB 32100), administrative division
// codes (GB/T 2260), tongban's hierarchical org codes, login names, mobile
// numbers and e-mail addresses. Used by directory/ on every write and by the
// sso/ valiidcard method. No I/O, no state; all thread-safe.
#pragma once

#include <compare>
#include <string>
#include <string_view>

#include "core/clock.h"
#include "core/result.h"

namespace tongban::directory {

// A calendar date with no time zone.
struct CivilDate {
  int year = 0;
  int month = 0;  // 1..12
  int day = 0;    // 1..31
  auto operator<=>(const CivilDate&) const = default;
  // "YYYY-MM-DD".
  std::string ToIsoString() const;
};

// Today's date in China (UTC+8, no daylight saving), which is where birth
// dates on resident IDs are reckoned.
CivilDate TodayInChina(const Clock& clock);

// --- Resident identity card numbers (居民身份证号码, GB 11643-1999) ---

struct ResidentIdInfo {
  std::string id;           // 18 characters, a check character 'x' upper-cased
  std::string region_code;  // the first 6 digits: the address code
  CivilDate birth_date;
  std::string sex;  // "1" male (odd 17th digit), "2" female: the spec's sex codes
};

// Checks an 18-character number: 17 digits and an ISO 7064 MOD 11-2 check
// character (0-9 or X, either case); a real birth date from 1800 up to `today`;
// an address code whose first two digits name a province-level division, or 83
// (Taiwan residents' residence permits, which share this format). 15-digit
// numbers are not accepted here; convert them with UpgradeResidentId15To18.
// InvalidArgument naming the first rule broken.
Result<ResidentIdInfo> ParseResidentId(std::string_view id, CivilDate today);
bool IsValidResidentId(std::string_view id, CivilDate today);
bool IsValidResidentId(std::string_view id, const Clock& clock);

// The 18-digit form of a first-generation 15-digit number: "19" inserted
// before the two-digit birth year and the check character appended.
// InvalidArgument unless the input is 15 digits with a valid province code and
// a real 19YYMMDD birth date.
Result<std::string> UpgradeResidentId15To18(std::string_view id15);

// --- Unified social credit codes (统一社会信用代码, GB 32100-2015) ---

// 18 characters from "0123456789ABCDEFGHJKLMNPQRTUWXY" (upper case only), a
// 6-digit division code at positions 3-8, the GB 32100 check character
// (weights 3^i mod 31) last, and positions 9-17 a valid GB 11714 organisation
// code (8 characters and its own MOD 11 check character).
bool IsValidSocialCreditCode(std::string_view code);

// --- Organisation codes (组织机构代码, GB 11714-1997) ---

// 8 body characters (digits or upper-case letters) and the MOD 11 check
// character (0-9 or X), either as 9 characters or in the display form
// "XXXXXXXX-C". Older registrations (and exchange nodes of departments without
// a USCC) carry only this code.
bool IsValidOrganizationCode(std::string_view code);

// --- Administrative division codes (行政区划代码, GB/T 2260) ---

// 6 digits whose first two are a province-level division (11-15, 21-23,
// 31-37, 41-46, 50-54, 61-65, 71, 81, 82); also the 9-digit (township) and
// 12-digit (village) extensions, checked by shape only.
bool IsValidDivisionCode(std::string_view code);

// --- tongban's hierarchical org codes (orgcoding) ---

// Non-empty, digits only, 3 digits a level: "001", "001002".
bool IsValidOrgCoding(std::string_view orgcoding);
// The code minus its last level; "" for a top-level or invalid code.
std::string ParentOrgCoding(std::string_view orgcoding);

// --- Account fields ---

// 2..50 characters, each an ASCII letter, a digit, or one of _ . - @ (so an
// e-mail address can serve as a login name). Anything else is the spec's
// error 2004, "login name has special characters".
bool IsValidLoginName(std::string_view loginname);

// A mainland mobile number: 11 digits, "1" then 3-9 then nine digits. No
// "+86" prefix, spaces or dashes; callers strip those first if they accept them.
bool IsValidMobile(std::string_view mobile);

// A practical check of an ASCII address: local@domain, at most 254 characters
// (local part at most 64) of RFC 5322 dot-atom text (no quoted local parts),
// a domain of at least two dot-separated labels of letters, digits and
// inner hyphens, each at most 63 characters, the last not all digits.
// Internationalised domains must be given in their punycode form.
bool IsValidEmail(std::string_view email);

}  // namespace tongban::directory
