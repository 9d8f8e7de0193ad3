// Directory: users — synchronizeUser's rules, deletes, lookups, searches,
// passwords and logins, and the user snapshot cache.
// native_sql.h (soci-sqlite3.h wraps <sqlite3.h> in namespace sqlite_api)
// comes before anything else that could include <sqlite3.h>.
#include "store/native_sql.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <charconv>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "crypto/digest.h"
#include "crypto/incoming_password.h"
#include "crypto/password.h"
#include "directory/codes.h"
#include "directory/directory.h"
#include "directory/impl.h"
#include "directory/pinyin.h"
#include "directory/validators.h"

namespace tongban::directory {

using internal::InScope;
using internal::IsCleanText;
using internal::IsHex32;
using internal::LoginKey;
using internal::PageBounds;
using internal::ParseInt64;
using internal::PrefixEnd;

namespace {

// A new userid: 32 hex characters as ever, the first 12 the creation time in
// milliseconds and the other 20 random (80 bits, so still unguessable). Ids
// made one after another sort together, so the primary-key index (and
// dir_user_orgs') grows at its end instead of at a random page per user: a
// million-user import dirtied (and rewrote at each commit) nearly every page
// of that index. The time it reveals is the user's created_ms anyway.
std::string NewUserid(int64_t now_ms, Random& random) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(12, '0');
  uint64_t t = static_cast<uint64_t>(std::max<int64_t>(0, now_ms));
  for (int i = 11; i >= 0; --i, t >>= 4) id[i] = kHex[t & 0xf];
  id += random.Hex(10);
  return id;
}

Error Code(int code, std::string message) { return Error{code, std::move(message)}; }

const std::string* Get(const Fields& args, std::string_view key) {
  auto it = args.find(key);
  return it == args.end() ? nullptr : &it->second;
}

const std::string* GetNonEmpty(const Fields& args, std::string_view key) {
  const std::string* v = Get(args, key);
  return v != nullptr && !v->empty() ? v : nullptr;
}

bool OneOf(std::string_view v, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), v) != allowed.end();
}

// The columns SaveUser writes, besides userid / loginkey / domain / password.
std::string InsertUserSql() {
  std::string cols = "userid, loginkey, domain";
  std::string vals = ":userid, :loginkey, :domain";
  for (const internal::UserText& f : internal::UserTexts()) {
    cols += ", " + std::string(f.name);
    vals += ", :" + std::string(f.name);
  }
  cols += ", useable, locked, orderby, password_hash, password_md5, created_ms, updated_ms";
  vals += ", :useable, :locked, :orderby, :password_hash, :password_md5, :created_ms, :updated_ms";
  return "INSERT INTO dir_users (" + cols + ") VALUES (" + vals + ")";
}

}  // namespace

UserInsert::UserInsert(soci::session& sql) : st_(sql) {
  static const std::string insert_sql = InsertUserSql();
  st_.exchange(soci::use(row_.userid, "userid"));
  st_.exchange(soci::use(loginkey_, "loginkey"));
  st_.exchange(soci::use(row_.domain, "domain"));
  for (const internal::UserText& f : internal::UserTexts()) {
    st_.exchange(soci::use(row_.*f.member, std::string(f.name)));
  }
  st_.exchange(soci::use(row_.useable, "useable"));
  st_.exchange(soci::use(locked_, "locked"));
  st_.exchange(soci::use(orderby_, "orderby"));
  st_.exchange(soci::use(hash_, "password_hash"));
  st_.exchange(soci::use(md5_, "password_md5"));
  st_.exchange(soci::use(created_ms_, "created_ms"));
  st_.exchange(soci::use(updated_ms_, "updated_ms"));
  st_.alloc();
  st_.prepare(insert_sql);
  st_.define_and_bind();
}

void UserInsert::Insert(const User& user, const PreparedPassword& password) {
  row_ = user;
  loginkey_ = LoginKey(user.loginname);
  locked_ = user.locked ? 1 : 0;
  orderby_ = user.orderby;
  created_ms_ = user.created_ms;
  updated_ms_ = user.updated_ms;
  hash_ = password.primary;
  md5_ = password.md5_variant;
  st_.execute(true);
}

namespace {

// SELECT of whole user rows by one or two parameters (:a, :b), kept per
// pooled session (SqlStore::KeptFor): the lookups of the SSO and organduser
// paths parse and plan once per connection.
struct KeptUserQuery : SqlStore::Kept {
  std::string a;
  std::string b;
  internal::UserRow row;
  soci::statement st;
  KeptUserQuery(soci::session& sql, std::string_view tail, bool two) : st(sql) {
    internal::BindUserRow(st, row);
    st.exchange(soci::use(a, "a"));
    if (two) st.exchange(soci::use(b, "b"));
    st.alloc();
    st.prepare("SELECT " + internal::UserSelectColumns() + " FROM dir_users " +
               std::string(tail));
    st.define_and_bind();
  }
  // Every row, read to the end (so nothing stays open on the session).
  std::vector<User> Run() {
    std::vector<User> out;
    if (st.execute(true)) {
      do {
        row.Finish();
        out.push_back(row.user);
      } while (st.fetch());
    }
    return out;
  }
};

// More namesakes than this in one login key: HoldersOf keeps the entry
// incomplete, and lookups naming a domain ask the database.
constexpr size_t kMaxCachedHolders = 16;

// Login keys one coalesced read asks for at most; fewer are padded up to the
// next of the kept statement sizes (a repeated key matches nothing twice).
constexpr size_t kMaxBatchedLogins = 64;
constexpr std::array<size_t, 3> kLoginBatchSizes{8, 24, kMaxBatchedLogins};
// Login keys noted for the next loads at most (each pool load takes one
// statement's worth, TakeWantedLogins; a miss beyond it loads on its own).
constexpr size_t kMaxWantedLogins = 4 * kMaxBatchedLogins;

// SELECT of whole user rows for `n` login keys, bound by position ("?" on
// SQLite: SOCI's SQLite backend looks named parameters up by name on every
// execution). LIMIT n x (kMaxCachedHolders + 1): a read that reaches it may
// have cut a key's holders short, and is not used (each key then loads
// alone, as before).
struct KeptLoginBatch : SqlStore::Kept {
  std::vector<std::string> keys;  // sized once: the statement binds each element
  internal::UserRow row;
  std::string loginkey;  // the row's own key column: which asked key it answers
  soci::statement st;
  size_t limit;
  KeptLoginBatch(soci::session& sql, size_t n, size_t per_key, bool question_marks)
      : keys(n), st(sql), limit(n * per_key) {
    internal::BindUserRow(st, row);
    st.exchange(soci::into(loginkey));
    std::string list;
    for (size_t i = 0; i < n; ++i) {
      if (i > 0) list += ", ";
      list += question_marks ? std::string("?") : ":k" + std::to_string(i);
      st.exchange(soci::use(keys[i]));
    }
    st.alloc();
    st.prepare("SELECT " + internal::UserSelectColumns() +
               ", loginkey FROM dir_users WHERE loginkey IN (" + list + ") LIMIT " +
               std::to_string(limit));
    st.define_and_bind();
  }
  // (row, its login key) pairs, read to the end.
  std::vector<std::pair<User, std::string>> Run() {
    std::vector<std::pair<User, std::string>> out;
    if (st.execute(true)) {
      do {
        row.Finish();
        out.emplace_back(row.user, loginkey);
      } while (st.fetch());
    }
    return out;
  }
};

// The coalesced read of LoadHoldersBatch through the backend's own calls on
// SQLite and PostgreSQL: SOCI's exchange of ~55 columns into strings, per
// row, was ~15% of a cold lookup (session 8's profile). Each column is
// copied once here. Same SQL, same LIMIT as KeptLoginBatch.
std::string LoginBatchSql(size_t n, size_t limit, bool dollar) {
  std::string list;
  for (size_t i = 0; i < n; ++i) {
    if (i > 0) list += ", ";
    list += dollar ? "$" + std::to_string(i + 1) : std::string("?");
  }
  return "SELECT " + internal::UserSelectColumns() + ", loginkey FROM dir_users WHERE loginkey IN (" +
         list + ") LIMIT " + std::to_string(limit);
}

// Fills `user` from the row's columns in UserSelectColumns' order (then the
// login key); `text(i)` is column i's text ("" for NULL).
template <typename Text>
std::pair<User, std::string> UserFromColumns(const Text& text) {
  std::pair<User, std::string> out;
  User& user = out.first;
  auto integer = [&](int column) {
    std::string_view v = text(column);
    long long n = 0;
    std::from_chars(v.data(), v.data() + v.size(), n);
    return n;
  };
  int c = 0;
  user.userid = text(c++);
  for (const internal::UserText& f : internal::UserTexts()) user.*f.member = text(c++);
  user.useable = static_cast<int>(integer(c++));
  user.locked = integer(c++) != 0;
  user.orderby = integer(c++);
  user.created_ms = integer(c++);
  user.updated_ms = integer(c++);
  user.domain = text(c++);
  out.second = text(c);
  return out;
}

namespace sq = sqlite_api;

struct SqliteLoginBatch : SqlStore::Kept {
  sq::sqlite3* db = nullptr;
  sq::sqlite3_stmt* st = nullptr;
  size_t n;
  SqliteLoginBatch(soci::session& sql, size_t keys, size_t limit) : n(keys) {
    db = native_sql::SqliteOf(sql);
    const std::string text = LoginBatchSql(n, limit, false);
    const int rc = sq::sqlite3_prepare_v3(db, text.c_str(), static_cast<int>(text.size()),
                                          SQLITE_PREPARE_PERSISTENT, &st, nullptr);
    if (rc != SQLITE_OK) native_sql::ThrowSqlite(db, rc);
  }
  ~SqliteLoginBatch() override { sq::sqlite3_finalize(st); }
  std::vector<std::pair<User, std::string>> Run(const std::vector<std::string>& keys) {
    for (size_t i = 0; i < n; ++i) {
      const std::string& key = keys[i < keys.size() ? i : 0];
      sq::sqlite3_bind_text(st, static_cast<int>(i + 1), key.data(), static_cast<int>(key.size()),
                            SQLITE_STATIC);
    }
    std::vector<std::pair<User, std::string>> out;
    int rc;
    while ((rc = sq::sqlite3_step(st)) == SQLITE_ROW) {
      out.push_back(UserFromColumns([this](int c) {
        const auto* p = reinterpret_cast<const char*>(sq::sqlite3_column_text(st, c));
        return p == nullptr ? std::string_view()
                            : std::string_view(p, static_cast<size_t>(sq::sqlite3_column_bytes(st, c)));
      }));
    }
    // Reset ends the statement's read (no snapshot held past the lease).
    sq::sqlite3_reset(st);
    sq::sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) native_sql::ThrowSqlite(db, rc);
    return out;
  }
};

struct PgLoginBatch : SqlStore::Kept {
  PGconn* conn = nullptr;
  std::string name;
  size_t n;
  PgLoginBatch(soci::session& sql, size_t keys, size_t limit) : n(keys) {
    conn = native_sql::PgOf(sql);
    // A name of its own per object: one dropped after an error may leave its
    // statement on a connection that lives on.
    static std::atomic<uint64_t> made{0};
    name = "tb_login_batch_" + std::to_string(made.fetch_add(1));
    const std::string text = LoginBatchSql(n, limit, true);
    PGresult* res = PQprepare(conn, name.c_str(), text.c_str(), static_cast<int>(n), nullptr);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) native_sql::ThrowPg(conn, res);
    PQclear(res);
  }
  std::vector<std::pair<User, std::string>> Run(const std::vector<std::string>& keys) {
    std::vector<const char*> values(n);
    std::vector<int> lengths(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string& key = keys[i < keys.size() ? i : 0];
      values[i] = key.c_str();
      lengths[i] = static_cast<int>(key.size());
    }
    PGresult* res = PQexecPrepared(conn, name.c_str(), static_cast<int>(n), values.data(),
                                   lengths.data(), nullptr, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) native_sql::ThrowPg(conn, res);
    std::vector<std::pair<User, std::string>> out;
    const int rows = PQntuples(res);
    out.reserve(static_cast<size_t>(rows));
    for (int r = 0; r < rows; ++r) {
      out.push_back(UserFromColumns([res, r](int c) {
        return std::string_view(PQgetvalue(res, r, c), static_cast<size_t>(PQgetlength(res, r, c)));
      }));
    }
    PQclear(res);
    return out;
  }
};

KeptUserQuery& UserQuery(SqlStore& store, soci::session& sql, std::string_view key,
                         std::string_view tail, bool two) {
  return store.KeptFor<KeptUserQuery>(
      sql, key, [&](soci::session& s) { return std::make_unique<KeptUserQuery>(s, tail, two); });
}

std::string UpdateUserSql(bool with_password) {
  std::string sql = "UPDATE dir_users SET loginkey = :loginkey, domain = :domain";
  for (const internal::UserText& f : internal::UserTexts()) {
    sql += ", " + std::string(f.name) + " = :" + std::string(f.name);
  }
  sql += ", useable = :useable, orderby = :orderby, updated_ms = :updated_ms";
  if (with_password) sql += ", password_hash = :password_hash, password_md5 = :password_md5";
  return sql + " WHERE userid = :userid";
}

// UPDATE of an existing user; inserts go through UserInsert.
void UpdateUser(soci::session& sql, const User& u, const PreparedPassword& password) {
  static const std::string update_sql = UpdateUserSql(false);
  static const std::string update_pwd_sql = UpdateUserSql(true);
  std::string loginkey = LoginKey(u.loginname);
  long long orderby = u.orderby;
  long long updated = u.updated_ms;
  soci::statement st(sql);
  st.exchange(soci::use(u.userid, "userid"));
  st.exchange(soci::use(loginkey, "loginkey"));
  st.exchange(soci::use(u.domain, "domain"));
  for (const internal::UserText& f : internal::UserTexts()) {
    st.exchange(soci::use(u.*f.member, std::string(f.name)));
  }
  st.exchange(soci::use(u.useable, "useable"));
  st.exchange(soci::use(orderby, "orderby"));
  st.exchange(soci::use(updated, "updated_ms"));
  if (password.set) {
    st.exchange(soci::use(password.primary, "password_hash"));
    st.exchange(soci::use(password.md5_variant, "password_md5"));
  }
  st.alloc();
  st.prepare(password.set ? update_pwd_sql : update_sql);
  st.define_and_bind();
  st.execute(true);
}

// "001:1;002:3" -> {"001": 1, "002": 3}; false on a malformed part.
bool ParseExtendOrderby(std::string_view text, std::map<std::string, int64_t>* out, int* code) {
  for (const std::string& part : internal::SplitList(text)) {
    size_t colon = part.find(':');
    if (colon == std::string::npos) {
      *code = code::kUserBadOrderby;
      return false;
    }
    std::string org = part.substr(0, colon);
    int64_t n = 0;
    if (!IsValidOrgCoding(org)) {
      *code = code::kUserBadOrgcoding;
      return false;
    }
    if (!ParseInt64(std::string_view(part).substr(colon + 1), &n)) {
      *code = code::kUserBadOrderby;
      return false;
    }
    (*out)[org] = n;
  }
  return true;
}

// The checks of synchronizeUser that need no database, on the fields present.
Status CheckUserArgs(const Fields& args) {
  if (const std::string* id = GetNonEmpty(args, "userid"); id != nullptr && !IsHex32(*id)) {
    return Code(code::kUserArgsIllegal, "userid must be 32 lowercase hex characters");
  }
  for (std::string_view key : {"loginname", "oldloginname"}) {
    const std::string* v = GetNonEmpty(args, key);
    if (v != nullptr && !IsValidLoginName(*v)) {
      return Code(code::kUserBadLoginname, std::string(key) + " has special characters");
    }
  }
  if (const std::string* name = Get(args, "username"); name != nullptr && name->empty()) {
    return Code(code::kUserUsernameEmpty, "username is empty");
  }
  if (const std::string* org = Get(args, "orgcoding"); org != nullptr && !IsValidOrgCoding(*org)) {
    return Code(code::kUserBadOrgcoding, "orgcoding must be digits, 3 a level");
  }
  if (const std::string* org = GetNonEmpty(args, "oldorgcoding");
      org != nullptr && !IsValidOrgCoding(*org)) {
    return Code(code::kUserBadOrgcoding, "oldorgcoding must be digits, 3 a level");
  }
  int64_t n = 0;
  if (const std::string* v = GetNonEmpty(args, "orderby"); v != nullptr && !ParseInt64(*v, &n)) {
    return Code(code::kUserBadOrderby, "orderby must be an integer");
  }
  if (const std::string* v = Get(args, "extendorgcoding")) {
    for (const std::string& org : internal::SplitList(*v)) {
      if (!IsValidOrgCoding(org)) {
        return Code(code::kUserBadOrgcoding, "extendorgcoding holds an illegal orgcoding");
      }
    }
  }
  if (const std::string* v = Get(args, "extendorderby")) {
    std::map<std::string, int64_t> parsed;
    int code = 0;
    if (!ParseExtendOrderby(*v, &parsed, &code)) {
      return Code(code, "extendorderby must look like 001:1;002:3");
    }
  }
  if (const std::string* v = GetNonEmpty(args, "usertype");
      v != nullptr && !OneOf(*v, {"1", "2", "3", "9"})) {
    return Code(code::kUserBadUsertype, "usertype must be 1, 2, 3 or 9");
  }
  struct Allowed {
    std::string_view key;
    std::initializer_list<std::string_view> values;
  };
  static const Allowed kEnums[] = {
      {"useable", {"1", "2"}},        {"sex", {"1", "2"}},
      {"official", {"1", "2"}},       {"officialtype", {"1", "2"}},
      {"authlevel", {"1", "2", "3"}}, {"idtype", {"1", "2", "3", "4", "5", "6", "7", "8"}},
  };
  for (const Allowed& a : kEnums) {
    const std::string* v = GetNonEmpty(args, a.key);
    if (v != nullptr && !OneOf(*v, a.values)) {
      return Code(code::kUserArgsIllegal, std::string(a.key) + " has an illegal value");
    }
  }
  if (const std::string* v = GetNonEmpty(args, "email"); v != nullptr && !IsValidEmail(*v)) {
    return Code(code::kUserArgsIllegal, "email is not a valid address");
  }
  for (std::string_view key : {"mobile", "mobile2"}) {
    const std::string* v = GetNonEmpty(args, key);
    if (v != nullptr && !IsValidMobile(*v)) {
      return Code(code::kUserArgsIllegal, std::string(key) + " is not a valid mobile number");
    }
  }
  for (const internal::UserText& f : internal::UserTexts()) {
    const std::string* v = Get(args, f.name);
    // The memo is the one field a console edits in a multi-line text box.
    if (v != nullptr && !IsCleanText(*v, f.max_bytes, f.name == "memo")) {
      return Code(code::kUserArgsIllegal, std::string(f.name) + " is too long or not clean text");
    }
  }
  return Status::Ok();
}

}  // namespace

// ---------------------------------------------------------------- passwords

Result<PreparedPassword> Directory::Impl::HashForStorage(Directory& d, std::string_view plain) {
  PreparedPassword out;
  out.set = true;
  if (d.options_.md5_login_variant) {
    auto hashes = crypto::HashPasswordWithMd5Variant(plain, d.options_.password_params);
    if (!hashes.ok()) return std::move(hashes).error();
    out.primary = std::move(hashes->primary);
    out.md5_variant = std::move(hashes->md5_variant);
  } else {
    auto hash = crypto::HashPassword(plain, d.options_.password_params);
    if (!hash.ok()) return std::move(hash).error();
    out.primary = std::move(*hash);
  }
  return out;
}

namespace {

// args' loginpwd in clear (the MD5 hex for encryptiontype 3), or nullopt when
// none is given.
struct GivenPassword {
  int type = 1;
  std::string plain;
};

Result<std::optional<GivenPassword>> DecodeGivenPassword(const App* app, const Fields& args) {
  GivenPassword given;
  if (const std::string* text = GetNonEmpty(args, "encryptiontype")) {
    int64_t n = 0;
    if (!ParseInt64(*text, &n) || n < 1 || n > 5) {
      return Code(code::kUserBadEncryptiontype, "encryptiontype must be 1..5");
    }
    given.type = static_cast<int>(n);
  }
  const std::string* pwd = GetNonEmpty(args, "loginpwd");
  if (pwd == nullptr) return std::optional<GivenPassword>();
  crypto::IncomingKeys keys;
  if (app != nullptr) {
    const std::string& key = app->password_key;
    if (key.size() == 16 || key.size() == 24 || key.size() == 32) keys.aes_key = key;
    if (key.size() >= 24) keys.des3_key = key;
  }
  auto plain = crypto::DecodeIncomingPassword(given.type, *pwd, keys);
  if (!plain.ok()) {
    if (plain.error().code == crypto::kUnsupportedEncryptionType) {
      return Code(code::kUserBadEncryptiontype, "encryptiontype is not usable for this app");
    }
    return Code(code::kUserPasswordDecodeFailed, "loginpwd does not decode");
  }
  given.plain = std::move(*plain);
  return std::optional<GivenPassword>(std::move(given));
}

}  // namespace

bool Directory::Impl::SamePassword(Directory& d, const App* app, const Fields& args,
                                   const PreparedPassword& given,
                                   const ReplacedPassword& replaced) {
  if (!replaced.replaced || !given.set) return false;
  // Imported stored forms and the legacy MD5 / plain forms are deterministic.
  const bool same_form = replaced.hash == given.primary;
  auto decoded = DecodeGivenPassword(app, args);
  if (!decoded.ok() || !decoded->has_value()) return same_form;
  const GivenPassword& p = **decoded;
  // Verified even when the forms matched, so every modify costs the same.
  const crypto::VerifyOutcome verified =
      p.type == 3 ? crypto::VerifyPasswordMd5(replaced.hash, replaced.md5_variant, p.plain,
                                              d.options_.password_params)
                  : crypto::VerifyPassword(replaced.hash, p.plain, d.options_.password_params);
  return same_form || verified.ok;
}

Result<PreparedPassword> Directory::Impl::PreparePassword(Directory& d, const App* app,
                                                          const Fields& args, bool hash) {
  auto decoded = DecodeGivenPassword(app, args);
  if (!decoded.ok()) return std::move(decoded).error();
  if (!decoded->has_value()) return PreparedPassword{};
  const int type = (*decoded)->type;
  std::string* plain = &(*decoded)->plain;
  PreparedPassword out;
  out.set = true;
  if (type == 3) {
    // Only the MD5 of the password is known: keep it as a legacy hash, which
    // the first login with the clear password upgrades.
    auto legacy = crypto::LegacyHashForImport("md5", *plain);
    if (!legacy.ok()) return Code(code::kUserPasswordDecodeFailed, "loginpwd is not an MD5");
    out.primary = std::move(*legacy);
    if (d.options_.md5_login_variant && hash) {
      auto variant = crypto::HashPassword(*plain, d.options_.password_params);
      if (!variant.ok()) return std::move(variant).error();
      out.md5_variant = std::move(*variant);
    }
    return out;
  }
  if (!hash) {
    auto legacy = crypto::LegacyHashForImport("plain", *plain);
    if (!legacy.ok()) return Code(code::kUserArgsIllegal, "loginpwd is not acceptable");
    out.primary = std::move(*legacy);
    return out;
  }
  return HashForStorage(d, *plain);
}

// ---------------------------------------------------------------- save

Error Directory::Impl::UserConflict(Error e) {
  if (e.code != errc::kConflict) return e;
  if (e.message.find("mobile") != std::string::npos) {
    return Code(code::kUserMobileExists, "the mobile number belongs to another user");
  }
  return Code(code::kUserLoginnameExists, "the login name exists in this domain");
}

bool Directory::Impl::IsPlatformAccount(soci::session& sql, const std::string& userid) {
  return Count(sql, "SELECT COUNT(*) FROM dir_user_roles WHERE userid = :u AND app = :a",
               {{"u", userid}, {"a", std::string(kPlatformApp)}}) > 0;
}

bool Directory::Impl::LoginReservedByPlatform(soci::session& sql, const std::string& loginkey,
                                              const std::string& userid) {
  return Count(sql,
               "SELECT COUNT(*) FROM dir_users u WHERE u.loginkey = :k AND u.userid <> :u AND "
               "EXISTS (SELECT 1 FROM dir_user_roles r WHERE r.userid = u.userid AND r.app = :a)",
               {{"k", loginkey}, {"u", userid}, {"a", std::string(kPlatformApp)}}) > 0;
}

bool Directory::Impl::LoginKeyHeldElsewhere(soci::session& sql, const std::string& loginkey,
                                            const std::string& userid) {
  return Count(sql, "SELECT COUNT(*) FROM dir_users WHERE loginkey = :k AND userid <> :u",
               {{"k", loginkey}, {"u", userid}}) > 0;
}

Result<SavedUser> Directory::Impl::SaveUserInTx(Directory& d, soci::session& sql, const App* app,
                                                const Fields& args, SaveMode mode,
                                                const PreparedPassword& password,
                                                const std::vector<PushTarget>* targets,
                                                UserInsert* insert, UserBatch* batch,
                                                ReplacedPassword* replaced) {
  if (app != nullptr && !app->directory_write) {
    return Code(code::kUserSyncNotAllowed, "this app may not synchronize users");
  }
  TB_RETURN_IF_ERROR(CheckUserArgs(args));
  const std::string* userid = GetNonEmpty(args, "userid");
  const std::string* loginname = GetNonEmpty(args, "loginname");
  const std::string* oldloginname = GetNonEmpty(args, "oldloginname");
  const std::string* orgcoding = GetNonEmpty(args, "orgcoding");

  // Which user: by userid, else by (old)loginname within a domain.
  // An add-only save names no existing user: it only needs to know that the
  // userid is free (the login name is checked below, in the target domain).
  std::optional<User> before;
  if (mode == SaveMode::kAddOnly) {
    if (userid != nullptr &&
        (batch != nullptr
             ? batch->UseridTaken(*userid)
             : Count(sql, "SELECT COUNT(*) FROM dir_users WHERE userid = :u", {{"u", *userid}}) >
                   0)) {
      return Code(code::kUserLoginnameExists, "a user with this userid exists");
    }
  } else if (userid != nullptr) {
    before = QueryUser(sql, "WHERE userid = :u", {{"u", *userid}});
    if (!before) return Code(code::kUserNotFound, "no such user");
  } else if (oldloginname != nullptr || loginname != nullptr) {
    const std::string* name = oldloginname != nullptr ? oldloginname : loginname;
    const std::string* org = orgcoding;
    if (oldloginname != nullptr) {
      if (const std::string* old_org = GetNonEmpty(args, "oldorgcoding")) org = old_org;
    }
    std::vector<User> found =
        org != nullptr ? QueryUsers(sql, "WHERE loginkey = :k AND domain = :d",
                                    {{"k", LoginKey(*name)}, {"d", d.DomainOf(*org)}})
                       : QueryUsers(sql, "WHERE loginkey = :k", {{"k", LoginKey(*name)}});
    if (found.size() > 1) {
      return Code(code::kUserArgsIllegal,
                  "the login name exists in several domains: give orgcoding");
    }
    if (!found.empty()) before = std::move(found.front());
    if (oldloginname != nullptr && !before) return Code(code::kUserNotFound, "no such user");
  }
  if (mode == SaveMode::kModifyOnly && !before) return Code(code::kUserNotFound, "no such user");
  const bool platform_account = before && IsPlatformAccount(sql, before->userid);
  if (before && app != nullptr) {
    // Checked before scope and state, so that an app learns nothing more
    // about a platform account than that it may not touch it.
    if (platform_account) {
      return Code(code::kUserNoRight, "platform accounts are managed by administrators only");
    }
    // Scope before state: an app learns nothing about users outside its scope.
    if (!InScope(app->org_scope, before->orgcoding)) {
      return Code(code::kUserNoRight, "the user is outside this app's scope");
    }
    if (before->locked) return Code(code::kUserLocked, "the user is locked");
  }

  const bool added = !before;
  const int64_t now = d.clock_.NowMillis();
  User after = added ? User{} : *before;
  if (added) {
    after.userid = userid != nullptr ? *userid : NewUserid(d.clock_.NowMillis(), d.random_);
    after.created_ms = now;
  }
  for (const internal::UserText& f : internal::UserTexts()) {
    if (f.name == "loginname") continue;
    if (const std::string* v = Get(args, f.name)) after.*f.member = *v;
  }
  if (loginname != nullptr) after.loginname = *loginname;
  if (const std::string* v = Get(args, "useable")) after.useable = v->empty() ? 1 : (*v)[0] - '0';
  if (const std::string* v = Get(args, "orderby")) {
    after.orderby = 0;
    if (!v->empty()) ParseInt64(*v, &after.orderby);
  }
  if (after.usertype.empty()) after.usertype = "1";
  after.updated_ms = now;

  if (added) {
    if (after.orgcoding.empty()) return Code(code::kUserBadOrgcoding, "orgcoding is required");
    if (after.username.empty()) return Code(code::kUserUsernameEmpty, "username is empty");
  }
  const bool moved = !added && after.orgcoding != before->orgcoding;
  auto org_exists = [&](const std::string& coding) {
    return batch != nullptr ? batch->OrgExists(coding) : QueryOrg(d.store_, sql, coding).has_value();
  };
  if ((added || moved) && !org_exists(after.orgcoding)) {
    return Code(code::kUserOrgMissing, "the user's org does not exist");
  }
  if (moved && d.DomainOf(after.orgcoding) != before->domain) {
    return Code(code::kUserMoveRefused, "a user moves only among orgs of one domain");
  }
  if (app != nullptr && !InScope(app->org_scope, after.orgcoding)) {
    return Code(code::kUserNoRight, "the org is outside this app's scope");
  }
  after.domain = d.DomainOf(after.orgcoding);

  // Login names are unique per domain; a platform account's is unique in
  // every domain (both ways: nobody takes it elsewhere, and it takes no name
  // held elsewhere), so a login without orgcoding always finds it.
  auto login_taken = [&](std::string_view name) {
    const std::string key = LoginKey(name);
    if (platform_account) return LoginKeyHeldElsewhere(sql, key, after.userid);
    if (batch != nullptr) {
      if (std::optional<bool> taken = batch->LoginTaken(key, after.domain, after.userid)) {
        return *taken;
      }
    }
    return Count(sql,
                 "SELECT COUNT(*) FROM dir_users WHERE loginkey = :k AND domain = :d AND "
                 "userid <> :u",
                 {{"k", key}, {"d", after.domain}, {"u", after.userid}}) > 0 ||
           LoginReservedByPlatform(sql, key, after.userid);
  };
  // An app's user takes no login name held in another domain either: the
  // login page asks for no org, so a namesake makes the holder's login
  // ambiguous (kLoginAmbiguous) — an app could lock out a citizen it may not
  // even read. Administrators may still make namesakes (and log them in by org).
  auto held_in_another_domain = [&](std::string_view name) {
    return app != nullptr &&
           Count(sql, "SELECT COUNT(*) FROM dir_users WHERE loginkey = :k AND domain <> :d",
                 {{"k", LoginKey(name)}, {"d", after.domain}}) > 0;
  };
  if (added && after.loginname.empty()) {
    auto base = LoginNameFromChineseName(after.username);
    if (!base.ok()) {
      return Code(code::kUserBadLoginname, "no login name given and none derivable from username");
    }
    after.loginname = NextFreeLoginName(
        *base, [&](std::string_view name) { return login_taken(name) || held_in_another_domain(name); });
    if (after.loginname.empty()) return Code(code::kUserLoginnameExists, "no free login name");
  } else if (added || LoginKey(after.loginname) != LoginKey(before->loginname)) {
    if (login_taken(after.loginname)) {
      return Code(code::kUserLoginnameExists, "the login name exists in this domain");
    }
    if (held_in_another_domain(after.loginname)) {
      return Code(code::kUserLoginnameExists,
                  "the login name is held in another domain (a namesake would make its login "
                  "ambiguous)");
    }
  }

  if (GetNonEmpty(args, "idnum") != nullptr || GetNonEmpty(args, "idtype") != nullptr) {
    if (after.idtype == "1" && !after.idnum.empty()) {
      if (after.idnum.back() == 'x') after.idnum.back() = 'X';
      if (!IsValidResidentId(after.idnum, d.clock_)) {
        return Code(code::kUserArgsIllegal, "idnum is not a valid resident ID number");
      }
    }
  }
  // A self-registered account's mobile recovers its password, and its name,
  // ID and real-name level are what a level vouches for: they change only
  // through the account's own proofs or the counter check (sso/citizen.h,
  // audited there), never through an app.
  if (app != nullptr && before && d.options_.mobile_is_proven) {
    const bool mobile_changed = after.mobile != before->mobile;
    const bool identity_changed =
        after.authlevel != before->authlevel || after.idnum != before->idnum ||
        after.idtype != before->idtype || after.username != before->username ||
        after.usertype != before->usertype;
    if (mobile_changed || identity_changed) {
      Result<bool> proven = d.options_.mobile_is_proven(sql, before->userid);
      if (!proven.ok()) return proven.error();
      if (*proven && mobile_changed) {
        return Code(code::kUserNoRight,
                    "自助注册账号的手机号码已经短信验证，用于找回密码，应用不能修改");
      }
      if (*proven) {
        return Code(code::kUserNoRight,
                    "自助注册账号的姓名、证件和实名等级只能经本人认证或窗口核验变更，应用不能修改");
      }
    }
  }
  // A real-name level (2, 3) is what the counter check or the account's own
  // proofs establish, and what tongban's own services trust with citizens'
  // data (payment notices by ID number and mobile, the approval hall, apps'
  // min_authlevel): an app may keep the level a user has, never raise one to
  // it (review16e: an app gave its own user a stranger's ID and level 2 and
  // read that stranger's payment notices).
  if (app != nullptr && (after.authlevel == "2" || after.authlevel == "3") &&
      (!before || after.authlevel != before->authlevel)) {
    return Code(code::kUserNoRight,
                "实名等级（authlevel 2、3）只能经窗口核验或本人实名认证取得，应用不能设置");
  }
  // And a level vouches for the identity it was checked with: an app keeps a
  // real-name user's level only with its name, ID and mobile (review16f: an app
  // moved a level-2 user's ID number to a stranger's and read their notices).
  if (app != nullptr && before && (before->authlevel == "2" || before->authlevel == "3") &&
      (after.idnum != before->idnum || after.idtype != before->idtype ||
       after.username != before->username || after.usertype != before->usertype ||
       after.mobile != before->mobile)) {
    return Code(code::kUserNoRight,
                "实名用户的姓名、证件和手机号码只能经窗口核验变更，应用不能修改");
  }
  if (d.options_.require_mobile && after.mobile.empty()) {
    return Code(code::kUserMobileEmpty, "mobile is required");
  }
  auto mobile_taken = [&] {
    if (batch != nullptr) {
      if (std::optional<bool> taken = batch->MobileTaken(after.mobile, after.userid)) return *taken;
    }
    // "mobile <> ''" lets SQLite use the partial unique index on mobile.
    return Count(sql,
                 "SELECT COUNT(*) FROM dir_users WHERE mobile = :m AND mobile <> '' AND "
                 "userid <> :u",
                 {{"m", after.mobile}, {"u", after.userid}}) > 0;
  };
  if (!after.mobile.empty() && (added || after.mobile != before->mobile) && mobile_taken()) {
    return Code(code::kUserMobileExists, "the mobile number belongs to another user");
  }
  const bool extend_changed =
      added || Get(args, "extendorgcoding") != nullptr || Get(args, "extendorderby") != nullptr;
  std::vector<std::string> extend_orgs = internal::SplitList(after.extendorgcoding);
  if (extend_changed) {
    std::vector<std::string> had;
    if (before) had = internal::SplitList(before->extendorgcoding);
    for (const std::string& org : extend_orgs) {
      if (!org_exists(org)) return Code(code::kUserOrgMissing, "an extendorgcoding org is missing");
      // An app places users only in its scope, further orgs included; one an
      // administrator gave the user earlier may stay.
      if (app != nullptr && !InScope(app->org_scope, org) &&
          std::find(had.begin(), had.end(), org) == had.end()) {
        return Code(code::kUserNoRight, "an extendorgcoding org is outside this app's scope");
      }
    }
  }
  if (added && !password.set) return Code(code::kUserPasswordEmpty, "loginpwd is required on add");

  if (!added) {
    if (password.set && replaced != nullptr) {
      replaced->replaced = true;
      sql << "SELECT password_hash, password_md5 FROM dir_users WHERE userid = :u",
          soci::use(after.userid, "u"), soci::into(replaced->hash),
          soci::into(replaced->md5_variant);
    }
    UpdateUser(sql, after, password);
  } else if (batch != nullptr) {
    batch->Add(after, password);
  } else if (insert != nullptr) {
    insert->Insert(after, password);
  } else {
    UserInsert(sql).Insert(after, password);
  }
  if (extend_changed && !(added && extend_orgs.empty())) {
    if (!added) {
      sql << "DELETE FROM dir_user_orgs WHERE userid = :u", soci::use(after.userid, "u");
    }
    std::map<std::string, int64_t> orders;
    int ignored = 0;
    ParseExtendOrderby(after.extendorderby, &orders, &ignored);
    std::set<std::string> seen = {after.orgcoding};
    for (const std::string& org : extend_orgs) {
      if (!seen.insert(org).second) continue;
      long long order = orders.count(org) ? orders[org] : 0;
      if (batch != nullptr) {
        batch->AddUserOrg(after.userid, org, order);
        continue;
      }
      sql << "INSERT INTO dir_user_orgs (userid, orgcoding, orderby) VALUES (:u, :o, :n)",
          soci::use(after.userid, "u"), soci::use(org, "o"), soci::use(order, "n");
    }
  }
  std::vector<PushTarget> own_targets;
  if (targets == nullptr) {
    own_targets = PushTargets(sql);
    targets = &own_targets;
  }
  std::string_view origin = app != nullptr ? std::string_view(app->servicecode) : "";
  TB_RETURN_IF_ERROR(PushUser(d, sql, *targets, origin, before ? &*before : nullptr, after));
  return SavedUser{std::move(after), added};
}

Result<SavedUser> Directory::SaveUser(const Caller& caller, const Fields& args, SaveMode mode) {
  auto app = Impl::CallerApp(*this, caller);
  if (!app.ok()) return std::move(app).error();
  if (*app != nullptr && !(*app)->directory_write) {
    return Code(code::kUserSyncNotAllowed, "this app may not synchronize users");
  }
  TB_RETURN_IF_ERROR(CheckUserArgs(args));
  auto password = Impl::PreparePassword(*this, app->get(), args, true);
  if (!password.ok()) return std::move(password).error();
  ReplacedPassword replaced;
  Result<SavedUser> saved = store_.WithTransaction([&](soci::session& sql) {
    replaced = ReplacedPassword{};
    return Impl::SaveUserInTx(*this, sql, app->get(), args, mode, *password, nullptr, nullptr,
                              nullptr, &replaced);
  });
  if (!saved.ok()) return Impl::UserConflict(std::move(saved).error());
  saved->password_changed =
      replaced.replaced && !Impl::SamePassword(*this, app->get(), args, *password, replaced);
  // 'l' too: an added user may make its login name ambiguous (or existing),
  // and a renamed one leaves its old name (checked on use as well).
  ChangedUser(saved->user.userid, saved->user.loginname);
  return saved;
}

// ---------------------------------------------------------------- delete

Result<User> Directory::DeleteUser(const Caller& caller, const UserKey& key) {
  auto app = Impl::CallerApp(*this, caller);
  if (!app.ok()) return std::move(app).error();
  const App* a = app->get();
  if (a != nullptr && !a->directory_write) {
    return Code(code::kUserDeleteNotAllowed, "this app may not delete users");
  }
  std::string tail;
  Params params;
  if (!key.userid.empty()) {
    if (!IsHex32(key.userid)) return Code(code::kUserDeleteArgsIllegal, "illegal userid");
    tail = "WHERE userid = :u";
    params = {{"u", key.userid}};
  } else if (!key.loginname.empty()) {
    if (!IsValidLoginName(key.loginname)) {
      return Code(code::kUserDeleteArgsIllegal, "illegal loginname");
    }
    if (!key.orgcoding.empty() && !IsValidOrgCoding(key.orgcoding)) {
      return Code(code::kUserDeleteArgsIllegal, "illegal orgcoding");
    }
    tail = "WHERE loginkey = :k";
    params = {{"k", LoginKey(key.loginname)}};
    if (!key.orgcoding.empty()) {
      tail += " AND domain = :d";
      params.emplace_back("d", DomainOf(key.orgcoding));
    }
  } else {
    return Code(code::kUserDeleteArgsIllegal, "give userid or loginname");
  }
  Result<User> deleted = store_.WithTransaction([&](soci::session& sql) -> Result<User> {
    std::vector<User> found = Impl::QueryUsers(sql, tail, params);
    if (found.empty()) return Code(code::kUserDeleteNotFound, "no such user");
    if (found.size() > 1) {
      return Code(code::kUserDeleteArgsIllegal,
                  "the login name exists in several domains: give orgcoding");
    }
    User& user = found.front();
    if (a != nullptr && Impl::IsPlatformAccount(sql, user.userid)) {
      return Code(code::kUserDeleteNoRight, "platform accounts are managed by administrators only");
    }
    if (a != nullptr && !InScope(a->org_scope, user.orgcoding)) {
      return Code(code::kUserDeleteNoRight, "the user is outside this app's scope");
    }
    if (a != nullptr && user.locked) return Code(code::kUserDeleteLocked, "the user is locked");
    for (const char* table : {"dir_user_orgs", "dir_user_roles", "dir_bindings", "dir_users"}) {
      sql << "DELETE FROM " + std::string(table) + " WHERE userid = :u",
          soci::use(user.userid, "u");
    }
    TB_RETURN_IF_ERROR(Impl::PushUserDeleted(*this, sql, caller.servicecode, user));
    return std::move(user);
  });
  if (deleted.ok()) {
    ChangedUser(deleted->userid, deleted->loginname);
    Changed('r', "");  // its grants went with it
  }
  return deleted;
}

// ---------------------------------------------------------------- reads

Result<std::shared_ptr<const User>> Directory::CachedUser(std::string_view userid,
                                                          Lookup lookup) {
  if (!IsHex32(userid)) return Code(code::kUserReadBadId, "illegal userid");
  if (auto hit = users_.Find(userid)) return hit;
  if (lookup == Lookup::kMemoryOnly) return Error{kNotCached, "user not cached"};
  uint64_t ticket = users_.FillTicket(userid);
  auto loaded = store_.WithSession([&](soci::session& sql) -> Result<std::shared_ptr<const User>> {
    KeptUserQuery& q = UserQuery(store_, sql, "directory.user_by_id", "WHERE userid = :a", false);
    q.a = std::string(userid);
    std::vector<User> users = q.Run();
    if (users.empty()) return Code(code::kUserReadNotFound, "no such user");
    return std::shared_ptr<const User>(std::make_shared<User>(std::move(users.front())));
  });
  if (loaded.ok()) users_.Insert(userid, *loaded, ticket);
  return loaded;
}

Result<std::shared_ptr<const LoginHolders>> Directory::HoldersOf(const std::string& loginkey,
                                                                 bool refresh, Lookup lookup) {
  if (!refresh) {
    if (auto hit = logins_.Find(loginkey)) return hit;
  }
  if (lookup == Lookup::kMemoryOnly) {
    NoteWantedLogin(loginkey);
    return Error{kNotCached, "login name not cached"};
  }
  if (!refresh) {
    std::vector<std::string> keys = TakeWantedLogins(loginkey);
    if (keys.size() > 1) {
      // Others' keys too; on failure (a cut-short read) this key loads alone.
      if (LoadHoldersBatch(keys).ok()) {
        if (auto hit = logins_.Find(loginkey)) return hit;
      }
    }
  }
  const uint64_t ticket = logins_.FillTicket(loginkey);
  const uint64_t users_ticket = users_.WideTicket();
  auto rows = store_.WithSession([&](soci::session& sql) -> Result<std::vector<User>> {
    KeptUserQuery& q =
        UserQuery(store_, sql, "directory.users_by_loginkey",
                  "WHERE loginkey = :a LIMIT " + std::to_string(kMaxCachedHolders + 1), false);
    q.a = loginkey;
    return q.Run();
  });
  if (!rows.ok()) return std::move(rows).error();
  auto holders = std::make_shared<LoginHolders>();
  holders->complete = rows->size() <= kMaxCachedHolders;
  for (User& user : *rows) {
    holders->users.emplace_back(user.domain, user.userid);
    // The read returned whole rows: the holders' snapshots come with it, so a
    // cold lookup by login name costs one statement.
    std::string id = user.userid;
    users_.InsertUnlessChanged(id, std::make_shared<const User>(std::move(user)), users_ticket);
  }
  std::shared_ptr<const LoginHolders> out = std::move(holders);
  logins_.Insert(loginkey, out, ticket);
  return out;
}

void Directory::NoteWantedLogin(const std::string& loginkey) {
  std::lock_guard lock(wanted_mu_);
  if (wanted_logins_.size() < kMaxWantedLogins) wanted_logins_.push_back(loginkey);
}

std::vector<std::string> Directory::TakeWantedLogins(const std::string& own) {
  std::vector<std::string> wanted;
  {
    // One statement's worth; the rest stay noted for the next load.
    std::lock_guard lock(wanted_mu_);
    const size_t take = std::min(wanted_logins_.size(), kMaxBatchedLogins - 1);
    wanted.assign(std::make_move_iterator(wanted_logins_.begin()),
                  std::make_move_iterator(wanted_logins_.begin() + take));
    wanted_logins_.erase(wanted_logins_.begin(), wanted_logins_.begin() + take);
  }
  std::vector<std::string> keys{own};
  for (std::string& key : wanted) {
    if (keys.size() == kMaxBatchedLogins) break;
    if (std::find(keys.begin(), keys.end(), key) != keys.end()) continue;
    // Loaded meanwhile (by another pass): not asked again. Find's refresh of
    // the entry's LRU place is what the call behind it would do anyway.
    if (logins_.Find(key) != nullptr) continue;
    keys.push_back(std::move(key));
  }
  return keys;
}

Status Directory::LoadHoldersBatch(const std::vector<std::string>& loginkeys) {
  // Tickets before the read, as HoldersOf takes them: an entry invalidated
  // meanwhile (here or by FollowChanges) is not filled from this read.
  std::vector<uint64_t> tickets;
  tickets.reserve(loginkeys.size());
  for (const std::string& key : loginkeys) tickets.push_back(logins_.FillTicket(key));
  const uint64_t users_ticket = users_.WideTicket();
  size_t n = kLoginBatchSizes.back();
  for (size_t size : kLoginBatchSizes) {
    if (size >= loginkeys.size()) {
      n = size;
      break;
    }
  }
  const bool marks = store_.backend() == SqlStore::Backend::kSqlite;
  const size_t limit = n * (kMaxCachedHolders + 1);
  using Rows = std::vector<std::pair<User, std::string>>;
  const std::string kept_key = "directory.users_by_loginkeys_" + std::to_string(n);
  auto rows = store_.WithSession([&](soci::session& sql) -> Result<Rows> {
    if (store_.backend() == SqlStore::Backend::kSqlite) {
      return store_
          .KeptFor<SqliteLoginBatch>(sql, kept_key,
                                     [&](soci::session& s) {
                                       return std::make_unique<SqliteLoginBatch>(s, n, limit);
                                     })
          .Run(loginkeys);
    }
    if (store_.backend() == SqlStore::Backend::kPostgres) {
      return store_
          .KeptFor<PgLoginBatch>(sql, kept_key,
                                 [&](soci::session& s) {
                                   return std::make_unique<PgLoginBatch>(s, n, limit);
                                 })
          .Run(loginkeys);
    }
    auto& q = store_.KeptFor<KeptLoginBatch>(
        sql, "directory.users_by_loginkeys_" + std::to_string(n), [&](soci::session& s) {
          return std::make_unique<KeptLoginBatch>(s, n, kMaxCachedHolders + 1, marks);
        });
    for (size_t i = 0; i < n; ++i) q.keys[i] = loginkeys[i < loginkeys.size() ? i : 0];
    return q.Run();
  });
  if (!rows.ok()) return std::move(rows).error();
  if (rows->size() >= limit) return Error::Unavailable("batched login read cut short");
  std::vector<std::shared_ptr<LoginHolders>> holders(loginkeys.size());
  for (auto& h : holders) h = std::make_shared<LoginHolders>();
  for (auto& [user, key] : *rows) {
    auto at = std::find(loginkeys.begin(), loginkeys.end(), key);
    if (at == loginkeys.end()) continue;  // not asked for (cannot happen: IN)
    LoginHolders& h = *holders[at - loginkeys.begin()];
    if (h.users.size() > kMaxCachedHolders) continue;  // as HoldersOf's LIMIT
    h.users.emplace_back(user.domain, user.userid);
    std::string id = user.userid;
    users_.InsertUnlessChanged(id, std::make_shared<const User>(std::move(user)), users_ticket);
  }
  for (size_t i = 0; i < loginkeys.size(); ++i) {
    holders[i]->complete = holders[i]->users.size() <= kMaxCachedHolders;
    logins_.Insert(loginkeys[i], std::shared_ptr<const LoginHolders>(std::move(holders[i])),
                   tickets[i]);
  }
  return Status::Ok();
}

Result<std::shared_ptr<const User>> Directory::GetUserById(const Caller& caller,
                                                           std::string_view userid,
                                                           Lookup lookup) {
  auto app = Impl::CallerApp(*this, caller, lookup);
  if (!app.ok()) return std::move(app).error();
  auto user = CachedUser(userid, lookup);
  if (!user.ok()) return user;
  if (*app != nullptr && !InScope((*app)->org_scope, (*user)->orgcoding)) {
    return Code(code::kUserReadNoRight, "the user is outside this app's scope");
  }
  return user;
}

Result<std::shared_ptr<const User>> Directory::GetUserByLoginname(const Caller& caller,
                                                                  std::string_view loginname,
                                                                  std::string_view orgcoding,
                                                                  Lookup lookup) {
  auto app = Impl::CallerApp(*this, caller, lookup);
  if (!app.ok()) return std::move(app).error();
  if (!IsValidLoginName(loginname)) return Code(code::kUserReadBadId, "illegal loginname");
  if (!orgcoding.empty() && !IsValidOrgCoding(orgcoding)) {
    return Code(code::kUserReadBadOrgcoding, "illegal orgcoding");
  }
  const std::string loginkey = LoginKey(loginname);
  const std::string domain = orgcoding.empty() ? std::string() : DomainOf(orgcoding);
  // From the login-name cache, checked against the user snapshot it names: a
  // rename or delete (here or on another node) voids the user's snapshot, and
  // an entry naming a user who no longer holds the key is read again.
  for (int attempt = 0; attempt < 2; ++attempt) {
    auto holders = HoldersOf(loginkey, attempt > 0, lookup);
    if (!holders.ok()) return std::move(holders).error();
    std::vector<std::string> ids;
    for (const auto& [user_domain, userid] : (*holders)->users) {
      if (domain.empty() || user_domain == domain) ids.push_back(userid);
    }
    if (!domain.empty() && !(*holders)->complete && ids.empty()) {
      // Too many namesakes to keep: this domain's holder from the database.
      if (lookup == Lookup::kMemoryOnly) return Error{kNotCached, "login name not cached"};
      auto found = store_.WithSession([&](soci::session& sql) -> Result<std::vector<User>> {
        KeptUserQuery& q = UserQuery(store_, sql, "directory.user_by_login_domain",
                                     "WHERE loginkey = :a AND domain = :b", true);
        q.a = loginkey;
        q.b = domain;
        return q.Run();
      });
      if (!found.ok()) return std::move(found).error();
      for (const User& u : *found) ids.push_back(u.userid);
    }
    if (ids.empty()) return Code(code::kUserReadNotFound, "no such user");
    if (ids.size() > 1) {
      return Code(code::kUserReadAmbiguous, "the login name exists in several domains");
    }
    auto user = CachedUser(ids.front(), lookup);
    if (!user.ok() && user.error().code == kNotCached) return user;
    const bool stale = user.ok() ? LoginKey((*user)->loginname) != loginkey
                                 : user.error().code == code::kUserReadNotFound;
    if (stale && attempt == 0) continue;
    if (stale) return Code(code::kUserReadNotFound, "no such user");
    if (!user.ok()) return user;
    if (*app != nullptr && !InScope((*app)->org_scope, (*user)->orgcoding)) {
      return Code(code::kUserReadNoRight, "the user is outside this app's scope");
    }
    return user;
  }
  return Code(code::kUserReadNotFound, "no such user");
}

Result<PageOf<User>> Directory::UsersByOrg(const Caller& caller, std::string_view orgcoding,
                                           Page page, bool include_suborgs) {
  auto app = Impl::CallerApp(*this, caller);
  if (!app.ok()) return std::move(app).error();
  if (!IsValidOrgCoding(orgcoding)) return Code(code::kUserReadBadOrgcoding, "illegal orgcoding");
  int64_t limit = 0;
  int64_t offset = 0;
  if (!PageBounds(page, &limit, &offset)) return Code(code::kUserReadBadPage, "illegal page");
  if (*app != nullptr && !InScope((*app)->org_scope, orgcoding)) {
    return Code(code::kUserReadNoRight, "the org is outside this app's scope");
  }
  std::string where;
  Params params;
  std::string order;
  if (include_suborgs) {
    where = "WHERE orgcoding >= :a AND orgcoding < :b ";
    params = {{"a", std::string(orgcoding)}, {"b", PrefixEnd(orgcoding)}};
    order = "ORDER BY orgcoding, orderby, loginkey ";
  } else {
    where = "WHERE orgcoding = :a ";
    params = {{"a", std::string(orgcoding)}};
    order = "ORDER BY orderby, loginkey ";
  }
  return store_.WithSession([&](soci::session& sql) -> Result<PageOf<User>> {
    if (!Impl::QueryOrg(sql, orgcoding)) return Code(code::kUserReadOrgNotFound, "no such org");
    PageOf<User> out;
    out.total = Impl::Count(sql, "SELECT COUNT(*) FROM dir_users " + where, params);
    out.items = Impl::QueryUsers(
        sql, where + order + "LIMIT " + std::to_string(limit) + " OFFSET " + std::to_string(offset),
        params);
    return out;
  });
}

Result<PageOf<User>> Directory::SearchUsers(const UserSearch& search, Page page) {
  int64_t limit = 0;
  int64_t offset = 0;
  if (!PageBounds(page, &limit, &offset)) return Code(code::kUserReadBadPage, "illegal page");
  std::vector<std::string> conditions;
  Params params;
  bool by_name = false;
  if (!search.text.empty()) {
    using Field = UserSearch::Field;
    std::string id = search.text;
    for (char& c : id) {
      if (c == 'x') c = 'X';
    }
    std::vector<std::string> ranges;
    auto range = [&](std::string_view column, std::string_view name, std::string value,
                     bool non_empty) {
      std::string lo = std::string(name) + "1";
      std::string hi = std::string(name) + "2";
      std::string condition = "(" + std::string(column) + " >= :" + lo + " AND " +
                              std::string(column) + " < :" + hi;
      if (non_empty) condition += " AND " + std::string(column) + " <> ''";
      ranges.push_back(condition + ")");
      params.emplace_back(hi, PrefixEnd(value));
      params.emplace_back(lo, std::move(value));
    };
    // Login names, mobiles and ID numbers are ASCII: a text with any other
    // character can only be (the start of) a name.
    const bool ascii = std::all_of(search.text.begin(), search.text.end(),
                                   [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    const Field f = search.field == Field::kAny && !ascii ? Field::kUsername : search.field;
    by_name = f == Field::kUsername;
    if (f == Field::kAny || f == Field::kLoginname) {
      range("loginkey", "k", LoginKey(search.text), false);
    }
    if (f == Field::kAny || f == Field::kUsername) range("username", "n", search.text, false);
    if (f == Field::kAny || f == Field::kMobile) range("mobile", "m", search.text, true);
    if (f == Field::kAny || f == Field::kIdnum) range("idnum", "i", id, true);
    std::string any;
    for (const std::string& r : ranges) any += (any.empty() ? "" : " OR ") + r;
    conditions.push_back("(" + any + ")");
  }
  if (!search.org_prefix.empty()) {
    conditions.push_back("orgcoding >= :o1 AND orgcoding < :o2");
    params.emplace_back("o1", search.org_prefix);
    params.emplace_back("o2", PrefixEnd(search.org_prefix));
  }
  std::string where;
  for (const std::string& c : conditions) where += (where.empty() ? "WHERE " : " AND ") + c;
  return store_.WithSession([&](soci::session& sql) -> Result<PageOf<User>> {
    PageOf<User> out;
    out.total = search.max_total > 0
                    ? Impl::Count(sql,
                                  "SELECT COUNT(*) FROM (SELECT 1 FROM dir_users " + where +
                                      " LIMIT " + std::to_string(search.max_total) + ") AS capped",
                                  params)
                    : Impl::Count(sql, "SELECT COUNT(*) FROM dir_users " + where, params);
    // A search by name is ordered by name (then login name): the index
    // dir_users_name_login yields that order, so a page reads its rows and
    // stops, however many users share a surname.
    out.items = Impl::QueryUsers(sql,
                                 where +
                                     (by_name ? " ORDER BY username, loginkey, domain LIMIT "
                                              : " ORDER BY loginkey, domain LIMIT ") +
                                     std::to_string(limit) + " OFFSET " + std::to_string(offset),
                                 params);
    return out;
  });
}

// ---------------------------------------------------------------- passwords, logins

Status Directory::SetPassword(std::string_view userid, std::string_view plain) {
  if (!IsHex32(userid)) return Code(code::kUserReadNotFound, "no such user");
  if (plain.empty()) return Code(code::kUserPasswordEmpty, "the password is empty");
  auto password = Impl::HashForStorage(*this, plain);
  if (!password.ok()) return std::move(password).error();
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    std::string id(userid);
    long long now = clock_.NowMillis();
    soci::statement st =
        (sql.prepare << "UPDATE dir_users SET password_hash = :h, password_md5 = :m, "
                        "updated_ms = :t WHERE userid = :u",
         soci::use(password->primary, "h"), soci::use(password->md5_variant, "m"),
         soci::use(now, "t"), soci::use(id, "u"));
    st.execute(true);
    if (st.get_affected_rows() == 0) return Code(code::kUserReadNotFound, "no such user");
    return Status::Ok();
  });
}

namespace {

struct StoredCredentials {
  std::string userid;
  std::string hash;
  std::string md5;
};

// VerifyLogin's credential read, kept per pooled session.
struct KeptCredentials : SqlStore::Kept {
  std::string k;
  std::string d;
  StoredCredentials row;
  soci::statement st;
  KeptCredentials(soci::session& sql, const std::string& query, bool with_domain) : st(sql) {
    st.exchange(soci::into(row.userid));
    st.exchange(soci::into(row.hash));
    st.exchange(soci::into(row.md5));
    st.exchange(soci::use(k, "k"));
    if (with_domain) st.exchange(soci::use(d, "d"));
    st.alloc();
    st.prepare(query);
    st.define_and_bind();
  }
  std::vector<StoredCredentials> Run() {
    std::vector<StoredCredentials> out;
    if (st.execute(true)) {
      do {
        out.push_back(row);
      } while (st.fetch());
    }
    return out;
  }
};

// Shared by VerifyLogin and CheckPassword: the check and the upgrade.
Status CheckAndUpgrade(SqlStore& store, const DirectoryOptions& options, const StoredCredentials& c,
                       std::string_view password, bool md5) {
  crypto::VerifyOutcome outcome{false, false};
  if (md5) {
    if (!crypto::SupportsMd5Login(c.hash, c.md5)) {
      return Code(code::kLoginEncryptionUnusable, "this account cannot log in with an MD5");
    }
    outcome = crypto::VerifyPasswordMd5(c.hash, c.md5, password, options.password_params);
  } else {
    outcome = crypto::VerifyPassword(c.hash, password, options.password_params);
  }
  if (!outcome.ok) return Code(code::kLoginWrongPassword, "wrong password");
  // A user whose password was set before md5_login_variant was on has no
  // variant; a login that reveals the password is the one chance to add it.
  const bool capture_md5 = !md5 && options.md5_login_variant && c.md5.empty();
  if (!outcome.needs_rehash && !capture_md5) return Status::Ok();
  // The login succeeded; failing to upgrade the stored hash must not undo that.
  std::string column = md5 ? "password_md5" : "password_hash";
  std::string old_value = md5 ? c.md5 : c.hash;
  std::string new_primary;
  std::string new_md5 = c.md5;
  if (md5) {
    std::string hex(password);
    std::transform(hex.begin(), hex.end(), hex.begin(),
                   [](char ch) { return static_cast<char>(std::tolower(ch)); });
    auto h = crypto::HashPassword(hex, options.password_params);
    if (!h.ok()) return Status::Ok();
    new_md5 = std::move(*h);
    new_primary = c.hash;
  } else {
    new_primary = c.hash;
    if (outcome.needs_rehash) {
      auto h = crypto::HashPassword(password, options.password_params);
      if (!h.ok()) return Status::Ok();
      new_primary = std::move(*h);
    }
    if (capture_md5) {
      auto v = crypto::HashPassword(crypto::Md5Hex(password), options.password_params);
      if (v.ok()) new_md5 = std::move(*v);
    }
  }
  Status upgraded = store.WithTransaction([&](soci::session& sql) -> Status {
    sql << "UPDATE dir_users SET password_hash = :h, password_md5 = :m WHERE userid = :u AND " +
               column + " = :old",
        soci::use(new_primary, "h"), soci::use(new_md5, "m"), soci::use(c.userid, "u"),
        soci::use(old_value, "old");
    return Status::Ok();
  });
  if (!upgraded.ok()) {
    spdlog::warn("directory: could not upgrade a password hash: {}", upgraded.error().message);
  }
  return Status::Ok();
}

Status SetLocked(SqlStore& store, const Clock& clock, std::string_view userid, bool locked) {
  if (!IsHex32(userid)) return Code(code::kUserReadNotFound, "no such user");
  return store.WithTransaction([&](soci::session& sql) -> Status {
    std::string id(userid);
    int value = locked ? 1 : 0;
    long long now = clock.NowMillis();
    soci::statement st = (sql.prepare << "UPDATE dir_users SET locked = :l, updated_ms = :t "
                                         "WHERE userid = :u",
                          soci::use(value, "l"), soci::use(now, "t"), soci::use(id, "u"));
    st.execute(true);
    if (st.get_affected_rows() == 0) return Code(code::kUserReadNotFound, "no such user");
    return Status::Ok();
  });
}

}  // namespace

Result<std::shared_ptr<const User>> Directory::VerifyLogin(const LoginAttempt& attempt) {
  if (!attempt.orgcoding.empty() && !IsValidOrgCoding(attempt.orgcoding)) {
    return Code(code::kLoginBadOrgcoding, "illegal orgcoding");
  }
  std::call_once(dummy_once_, [&] {
    auto h = crypto::HashPassword("tongban-no-such-user", options_.password_params);
    if (h.ok()) dummy_hash_ = std::move(*h);
  });
  auto found =
      store_.WithSession([&](soci::session& sql) -> Result<std::vector<StoredCredentials>> {
        if (!attempt.orgcoding.empty() && !Impl::QueryOrg(store_, sql, attempt.orgcoding)) {
          return Code(code::kLoginBadOrgcoding, "no such org");
        }
        auto query_credentials = [&](std::string query, const Params& params) {
          StoredCredentials row;
          soci::statement st(sql);
          st.exchange(soci::into(row.userid));
          st.exchange(soci::into(row.hash));
          st.exchange(soci::into(row.md5));
          for (const auto& [n, v] : params) st.exchange(soci::use(v, n));
          st.alloc();
          st.prepare(query + " LIMIT 2");
          st.define_and_bind();
          std::vector<StoredCredentials> out;
          if (st.execute(true)) {
            do {
              out.push_back(row);
            } while (st.fetch());
          }
          return out;
        };
        std::string query =
            "SELECT userid, password_hash, password_md5 FROM dir_users u WHERE loginkey = :k";
        Params params = {{"k", LoginKey(attempt.loginname)}};
        if (!attempt.orgcoding.empty()) {
          query += " AND domain = :d";
          params.emplace_back("d", DomainOf(attempt.orgcoding));
        }
        // The everyday query, kept per session (with and without a domain).
        auto& kept = store_.KeptFor<KeptCredentials>(
            sql, attempt.orgcoding.empty() ? "directory.credentials" : "directory.credentials_d",
            [&](soci::session& s) {
              return std::make_unique<KeptCredentials>(s, query + " LIMIT 2",
                                                       !attempt.orgcoding.empty());
            });
        kept.k = params[0].second;
        if (!attempt.orgcoding.empty()) kept.d = params[1].second;
        std::vector<StoredCredentials> out = kept.Run();
        if (out.size() > 1 && attempt.orgcoding.empty()) {
          // A platform account's login name is reserved in every domain; a
          // namesake written before that rule (or directly into the
          // database) must not lock the administrator out with 6406.
          params.emplace_back("a", std::string(kPlatformApp));
          std::vector<StoredCredentials> platform = query_credentials(
              query +
                  " AND EXISTS (SELECT 1 FROM dir_user_roles r WHERE r.userid = u.userid "
                  "AND r.app = :a)",
              params);
          if (platform.size() == 1) return platform;
        }
        return out;
      });
  if (!found.ok()) return std::move(found).error();
  if (found->empty()) {
    (void)crypto::VerifyPassword(dummy_hash_, attempt.password, options_.password_params);
    return Code(code::kLoginNoUser, "no such user");
  }
  if (found->size() > 1) {
    return Code(code::kLoginAmbiguous, "the login name exists in several domains");
  }
  const StoredCredentials& creds = found->front();
  TB_RETURN_IF_ERROR(CheckAndUpgrade(store_, options_, creds, attempt.password, attempt.md5));
  auto user = CachedUser(creds.userid);
  if (!user.ok()) return user;
  if ((*user)->locked) return Code(code::kLoginLocked, "the account is locked");
  if ((*user)->useable != 1) return Code(code::kLoginDisabled, "the account is inactive");
  return user;
}

Status Directory::CheckPassword(std::string_view userid, std::string_view plain) {
  if (!IsHex32(userid)) return Code(code::kLoginNoUser, "no such user");
  auto found = store_.WithSession([&](soci::session& sql) -> Result<StoredCredentials> {
    StoredCredentials c;
    c.userid = std::string(userid);
    sql << "SELECT password_hash, password_md5 FROM dir_users WHERE userid = :u",
        soci::use(c.userid, "u"), soci::into(c.hash), soci::into(c.md5);
    if (!sql.got_data()) return Code(code::kLoginNoUser, "no such user");
    return c;
  });
  if (!found.ok()) return std::move(found).error();
  return CheckAndUpgrade(store_, options_, *found, plain, false);
}

Status Directory::LockUser(std::string_view userid) {
  Status st = SetLocked(store_, clock_, userid, true);
  Changed('u', userid);
  return st;
}

Status Directory::UnlockUser(std::string_view userid) {
  Status st = SetLocked(store_, clock_, userid, false);
  Changed('u', userid);
  return st;
}

}  // namespace tongban::directory
