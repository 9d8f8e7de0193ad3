// Internal to directory/: the column and field tables that map User and Org
// to SQL rows and to the spec's argument names, plus small text helpers
// shared by the .cc files. Not part of the public API.
#pragma once

#include <soci/soci.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"
#include "directory/directory.h"
#include "directory/model.h"

namespace tongban::directory {

namespace internal {

// A spec text field of User: its argument/column name, the member, and the
// longest value accepted (bytes of UTF-8).
struct UserText {
  std::string_view name;
  std::string User::*member;
  size_t max_bytes;
};

// Every text field of User except userid, in the spec's order. The columns of
// dir_users carry the same names.
const std::vector<UserText>& UserTexts();

struct OrgText {
  std::string_view name;
  std::string Org::*member;
  size_t max_bytes;
};
// Every text field of Org except orgcoding (orgname first).
const std::vector<OrgText>& OrgTexts();

// "userid, loginname, ..., domain" for SELECT; the order BindUserRow expects.
const std::string& UserSelectColumns();
// Holds the integer columns while a row is exchanged.
struct UserRow {
  User user;
  int locked = 0;
  long long orderby = 0;
  long long created_ms = 0;
  long long updated_ms = 0;
  void Finish() {
    user.locked = locked != 0;
    user.orderby = orderby;
    user.created_ms = created_ms;
    user.updated_ms = updated_ms;
  }
};
void BindUserRow(soci::statement& st, UserRow& row);

const std::string& OrgSelectColumns();
struct OrgRow {
  Org org;
  long long orderby = 0;
  long long created_ms = 0;
  long long updated_ms = 0;
  void Finish() {
    org.orderby = orderby;
    org.created_ms = created_ms;
    org.updated_ms = updated_ms;
  }
};
void BindOrgRow(soci::statement& st, OrgRow& row);

// ASCII-lowercased login name: login names are matched without regard to
// ASCII case ("ZhangS" and "zhangs" are one name).
std::string LoginKey(std::string_view loginname);
// The smallest string greater than every string that starts with `prefix`
// in byte order (prefix + U+10FFFF, still valid UTF-8 for PostgreSQL).
std::string PrefixEnd(std::string_view prefix);
// `orgcoding` is `scope` or below it ("" scope: everything).
bool InScope(std::string_view scope, std::string_view orgcoding);
bool IsHex32(std::string_view s);
// Valid UTF-8 without control characters (but TAB, LF and CR when
// `multiline`), at most `max_bytes` long.
bool IsCleanText(std::string_view s, size_t max_bytes, bool multiline = false);
// A decimal integer that fits int64 (optional leading '-').
bool ParseInt64(std::string_view s, int64_t* out);
// [A-Za-z0-9_.-]{1,max}
bool IsCode(std::string_view s, size_t max);
// Splits "a;b;;c" into {"a","b","c"} (empty parts dropped, spaces trimmed).
std::vector<std::string> SplitList(std::string_view s, char sep = ';');

// Checks `page` and returns {limit, offset}; false when out of range.
bool PageBounds(const Page& page, int64_t* limit, int64_t* offset);

}  // namespace internal
}  // namespace tongban::directory
