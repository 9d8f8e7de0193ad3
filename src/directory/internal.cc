#include "directory/internal.h"

#include <charconv>
#include <limits>

#include "core/utf8.h"

namespace tongban::directory::internal {
namespace {

constexpr size_t kShort = 255;

std::string JoinColumns(std::string_view first, const auto& fields,
                        std::initializer_list<std::string_view> tail) {
  std::string out(first);
  for (const auto& f : fields) {
    out += ", ";
    out += f.name;
  }
  for (std::string_view t : tail) {
    out += ", ";
    out += t;
  }
  return out;
}

}  // namespace

const std::vector<UserText>& UserTexts() {
  static const std::vector<UserText> fields = {
      {"loginname", &User::loginname, 50},
      {"username", &User::username, 100},
      {"orgcoding", &User::orgcoding, 90},
      {"extendorgcoding", &User::extendorgcoding, 2000},
      {"extendorderby", &User::extendorderby, 2000},
      {"email", &User::email, 254},
      {"mobile", &User::mobile, 32},
      {"mobile2", &User::mobile2, 32},
      {"telephone", &User::telephone, 64},
      {"telephone2", &User::telephone2, 64},
      {"virtualnum", &User::virtualnum, 64},
      {"userposition", &User::userposition, 1000},
      {"usertitle", &User::usertitle, kShort},
      {"official", &User::official, 8},
      {"officialtype", &User::officialtype, 8},
      {"postcode", &User::postcode, 16},
      {"country", &User::country, 100},
      {"province", &User::province, 100},
      {"city", &User::city, 100},
      {"officeaddress", &User::officeaddress, kShort},
      {"officenum", &User::officenum, 64},
      {"officephone", &User::officephone, 64},
      {"officefax", &User::officefax, 64},
      {"homephone", &User::homephone, 64},
      {"homeaddress", &User::homeaddress, kShort},
      {"cakey", &User::cakey, 1000},
      {"sex", &User::sex, 8},
      {"birthday", &User::birthday, 32},
      {"idtype", &User::idtype, 8},
      {"idnum", &User::idnum, 64},
      {"passport", &User::passport, 64},
      {"permitlicense", &User::permitlicense, 64},
      {"taiwanlicense", &User::taiwanlicense, 64},
      {"officerlicense", &User::officerlicense, 64},
      {"greencard", &User::greencard, 64},
      {"nation", &User::nation, 16},
      {"headpicture", &User::headpicture, 1024},
      {"usertype", &User::usertype, 8},
      {"authlevel", &User::authlevel, 8},
      {"officeid", &User::officeid, 64},
      {"idphoto", &User::idphoto, 1024},
      {"memo", &User::memo, 2000},
  };
  return fields;
}

const std::vector<OrgText>& OrgTexts() {
  static const std::vector<OrgText> fields = {
      {"orgname", &Org::orgname, 100},
      {"orgallname", &Org::orgallname, kShort},
      {"principalname", &Org::principalname, 100},
      {"orgphone", &Org::orgphone, 64},
      {"orgoffice", &Org::orgoffice, kShort},
      {"devcoding", &Org::devcoding, 64},
      {"nodetype", &Org::nodetype, 8},
  };
  return fields;
}

const std::string& UserSelectColumns() {
  static const std::string columns =
      JoinColumns("userid", UserTexts(),
                  {"useable", "locked", "orderby", "created_ms", "updated_ms", "domain"});
  return columns;
}

void BindUserRow(soci::statement& st, UserRow& row) {
  st.exchange(soci::into(row.user.userid));
  for (const UserText& f : UserTexts()) st.exchange(soci::into(row.user.*f.member));
  st.exchange(soci::into(row.user.useable));
  st.exchange(soci::into(row.locked));
  st.exchange(soci::into(row.orderby));
  st.exchange(soci::into(row.created_ms));
  st.exchange(soci::into(row.updated_ms));
  st.exchange(soci::into(row.user.domain));
}

const std::string& OrgSelectColumns() {
  static const std::string columns = JoinColumns(
      "orgcoding", OrgTexts(), {"orderby", "parent", "domain", "created_ms", "updated_ms"});
  return columns;
}

void BindOrgRow(soci::statement& st, OrgRow& row) {
  st.exchange(soci::into(row.org.orgcoding));
  for (const OrgText& f : OrgTexts()) st.exchange(soci::into(row.org.*f.member));
  st.exchange(soci::into(row.orderby));
  st.exchange(soci::into(row.org.parent));
  st.exchange(soci::into(row.org.domain));
  st.exchange(soci::into(row.created_ms));
  st.exchange(soci::into(row.updated_ms));
}

std::string LoginKey(std::string_view loginname) {
  std::string out(loginname);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string PrefixEnd(std::string_view prefix) {
  std::string out(prefix);
  out += "\xF4\x8F\xBF\xBF";
  return out;
}

bool InScope(std::string_view scope, std::string_view orgcoding) {
  return scope.empty() || orgcoding.starts_with(scope);
}

bool IsHex32(std::string_view s) {
  if (s.size() != 32) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool IsCleanText(std::string_view s, size_t max_bytes, bool multiline) {
  if (s.size() > max_bytes || !IsValidUtf8(s)) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      if (!(multiline && (c == '\t' || c == '\n' || c == '\r'))) return false;
    }
    // C1 controls U+0080..U+009F are encoded as C2 80..C2 9F.
    if (c == 0xc2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xa0) {
      return false;
    }
  }
  return true;
}

bool ParseInt64(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  const char* end = s.data() + s.size();
  auto [p, ec] = std::from_chars(s.data(), end, *out);
  return ec == std::errc() && p == end;
}

bool IsCode(std::string_view s, size_t max) {
  if (s.empty() || s.size() > max) return false;
  for (char c : s) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> SplitList(std::string_view s, char sep) {
  std::vector<std::string> out;
  while (!s.empty()) {
    size_t cut = s.find(sep);
    std::string_view part = s.substr(0, cut);
    while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
    while (!part.empty() && part.back() == ' ') part.remove_suffix(1);
    if (!part.empty()) out.emplace_back(part);
    if (cut == std::string_view::npos) break;
    s.remove_prefix(cut + 1);
  }
  return out;
}

bool PageBounds(const Page& page, int64_t* limit, int64_t* offset) {
  if (page.number < 1 || page.size < 1 || page.size > Page::kMaxPageSize) return false;
  if (page.number - 1 > std::numeric_limits<int64_t>::max() / page.size) return false;
  *limit = page.size;
  *offset = (page.number - 1) * page.size;
  return true;
}

}  // namespace tongban::directory::internal
