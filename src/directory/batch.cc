// Directory: UserBatch, the set-at-a-time reads and writes of an add-only
// user import batch (impl.h says what it answers for SaveUserInTx).
#include <algorithm>
#include <array>
#include <string>
#include <utility>

#include "directory/directory.h"
#include "directory/impl.h"

namespace tongban::directory {

namespace {

// Values per IN list: well under every backend's parameter limit.
constexpr size_t kInChunk = 500;

// Runs `head` + " IN (:p0, ...)" for `values` in chunks and hands each row's
// `N` text columns to `on_row`. With `question_marks` (SQLite) the list is
// "?, ?, ...": SQLite's parser looks each :name up among those before it, a
// quadratic cost in a 500-name list that showed in import profiles.
template <size_t N, typename OnRow>
void ReadIn(soci::session& sql, bool question_marks, const std::string& head,
            const std::vector<std::string>& values, OnRow&& on_row) {
  for (size_t start = 0; start < values.size(); start += kInChunk) {
    const size_t end = std::min(values.size(), start + kInChunk);
    std::vector<std::string> chunk(values.begin() + start, values.begin() + end);
    std::array<std::string, N> row;
    soci::statement st(sql);
    for (std::string& column : row) st.exchange(soci::into(column));
    std::string list;
    for (size_t i = 0; i < chunk.size(); ++i) {
      if (question_marks) {
        list += i == 0 ? "?" : ", ?";
      } else {
        list += (i == 0 ? ":p" : ", :p") + std::to_string(i);
      }
      // Bound by position: SOCI's SQLite backend looks a named parameter up
      // by name on every execution, a scan of all of them (quadratic here).
      st.exchange(soci::use(chunk[i]));
    }
    st.alloc();
    st.prepare(head + " IN (" + list + ")");
    st.define_and_bind();
    if (st.execute(true)) {
      do {
        on_row(row);
      } while (st.fetch());
    }
  }
}

const std::string* Field(const Fields& f, std::string_view key) {
  auto it = f.find(key);
  return it == f.end() || it->second.empty() ? nullptr : &it->second;
}

std::vector<std::string> Unique(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  return v;
}

}  // namespace

UserBatch::UserBatch(SqlStore& store, soci::session& sql, const std::vector<const Fields*>& rows,
                     const std::string& platform_app)
    : store_(store), sql_(sql) {
  std::vector<std::string> userids;
  std::vector<std::string> keys;
  std::vector<std::string> mobiles;
  for (const Fields* f : rows) {
    if (const std::string* v = Field(*f, "userid")) userids.push_back(*v);
    if (const std::string* v = Field(*f, "loginname")) keys.push_back(internal::LoginKey(*v));
    if (const std::string* v = Field(*f, "mobile")) mobiles.push_back(*v);
  }
  const bool marks = store.backend() == SqlStore::Backend::kSqlite;
  userids = Unique(std::move(userids));
  keys = Unique(std::move(keys));
  mobiles = Unique(std::move(mobiles));
  ReadIn<1>(sql, marks, "SELECT userid FROM dir_users WHERE userid", userids,
            [&](const std::array<std::string, 1>& r) { userids_taken_.insert(r[0]); });
  ReadIn<3>(sql, marks, "SELECT loginkey, domain, userid FROM dir_users WHERE loginkey", keys,
            [&](const std::array<std::string, 3>& r) {
              holders_.emplace(r[0], std::make_pair(r[1], r[2]));
            });
  keys_read_.insert(keys.begin(), keys.end());
  // "mobile <> ''" lets SQLite use the partial unique index on mobile.
  ReadIn<2>(sql, marks, "SELECT mobile, userid FROM dir_users WHERE mobile <> '' AND mobile",
            mobiles,
            [&](const std::array<std::string, 2>& r) { mobiles_[r[0]] = r[1]; });
  mobiles_read_.insert(mobiles.begin(), mobiles.end());
  // Platform accounts are few; their login names are reserved in every domain.
  std::string key;
  std::string userid;
  std::string app = platform_app;
  soci::statement st =
      (sql.prepare << "SELECT u.loginkey, u.userid FROM dir_users u WHERE EXISTS (SELECT 1 FROM "
                      "dir_user_roles r WHERE r.userid = u.userid AND r.app = :a)",
       soci::use(app, "a"), soci::into(key), soci::into(userid));
  if (st.execute(true)) {
    do {
      platform_keys_[key] = userid;
    } while (st.fetch());
  }
}

bool UserBatch::UseridTaken(const std::string& userid) const {
  return userids_taken_.contains(userid);
}

bool UserBatch::OrgExists(const std::string& orgcoding) {
  auto it = orgs_.find(orgcoding);
  if (it != orgs_.end()) return it->second;
  const bool exists = Directory::Impl::QueryOrg(store_, sql_, orgcoding).has_value();
  orgs_.emplace(orgcoding, exists);
  return exists;
}

std::optional<bool> UserBatch::LoginTaken(const std::string& loginkey, const std::string& domain,
                                          const std::string& userid) const {
  auto [from, to] = holders_.equal_range(loginkey);
  for (auto it = from; it != to; ++it) {
    if (it->second.first == domain && it->second.second != userid) return true;
  }
  auto platform = platform_keys_.find(loginkey);
  if (platform != platform_keys_.end() && platform->second != userid) return true;
  if (!keys_read_.contains(loginkey)) return std::nullopt;
  return false;
}

std::optional<bool> UserBatch::MobileTaken(const std::string& mobile,
                                           const std::string& userid) const {
  auto it = mobiles_.find(mobile);
  if (it != mobiles_.end()) return it->second != userid;
  if (!mobiles_read_.contains(mobile)) return std::nullopt;
  return false;
}

void UserBatch::Add(const User& user, const PreparedPassword& password) {
  std::vector<std::string> row;
  row.reserve(internal::UserTexts().size() + 10);
  row.push_back(user.userid);
  row.push_back(internal::LoginKey(user.loginname));
  row.push_back(user.domain);
  for (const internal::UserText& f : internal::UserTexts()) row.push_back(user.*f.member);
  row.push_back(std::to_string(user.useable));
  row.push_back(user.locked ? "1" : "0");
  row.push_back(std::to_string(user.orderby));
  row.push_back(password.primary);
  row.push_back(password.md5_variant);
  row.push_back(std::to_string(user.created_ms));
  row.push_back(std::to_string(user.updated_ms));
  users_.push_back(std::move(row));
  userids_taken_.insert(user.userid);
  holders_.emplace(internal::LoginKey(user.loginname), std::make_pair(user.domain, user.userid));
  if (!user.mobile.empty()) mobiles_[user.mobile] = user.userid;
}

void UserBatch::AddUserOrg(const std::string& userid, const std::string& orgcoding,
                           int64_t orderby) {
  user_orgs_.push_back({userid, orgcoding, std::to_string(orderby)});
}

void UserBatch::Flush() {
  static const std::vector<std::string> user_columns = [] {
    std::vector<std::string> c = {"userid", "loginkey", "domain"};
    for (const internal::UserText& f : internal::UserTexts()) c.emplace_back(f.name);
    for (const char* name : {"useable", "locked", "orderby", "password_hash", "password_md5",
                             "created_ms", "updated_ms"}) {
      c.emplace_back(name);
    }
    return c;
  }();
  store_.BulkInsert(sql_, "dir_users", user_columns, users_);
  store_.BulkInsert(sql_, "dir_user_orgs", {"userid", "orgcoding", "orderby"}, user_orgs_);
  users_.clear();
  user_orgs_.clear();
}

}  // namespace tongban::directory
