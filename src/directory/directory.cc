// Directory: construction, shared row queries, caller rights, the push
// fan-out, and orgs. Users, apps, roles and imports live in their own files.
#include "directory/directory.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <string>
#include <utility>

#include "codec/render.h"
#include "directory/codes.h"
#include "directory/impl.h"
#include "directory/validators.h"
#include "directory/wire.h"
#include "store/outbox.h"

namespace tongban::directory {

using internal::InScope;
using internal::IsCleanText;
using internal::PageBounds;
using internal::PrefixEnd;

namespace {

constexpr int kMaxDomainLevels = 10;

Error Code(int code, std::string message) { return Error{code, std::move(message)}; }

void BindParams(soci::statement& st, const Params& params) {
  for (const auto& [name, value] : params) st.exchange(soci::use(value, name));
}

const std::string* Get(const Fields& args, std::string_view key) {
  auto it = args.find(key);
  return it == args.end() ? nullptr : &it->second;
}

// Org names appear in XML attributes, HTML and CSV: refuse the characters
// that most often break one of them, and invisible leading/trailing blanks.
bool IsValidOrgName(std::string_view name) {
  if (name.empty() || !IsCleanText(name, 150)) return false;
  if (name.front() == ' ' || name.back() == ' ') return false;
  return name.find_first_of("<>\"\\") == std::string_view::npos;
}

bool IsNodeType(std::string_view s) {
  if (s.empty()) return true;
  if (s.size() > 2) return false;
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace

// ---------------------------------------------------------------- lifecycle

Directory::Directory(PrivateTag, SqlStore& store, Outbox& outbox, const Clock& clock,
                     Random& random, const crypto::SecretBox& box, DirectoryOptions options)
    : store_(store),
      outbox_(outbox),
      clock_(clock),
      random_(random),
      box_(box),
      options_(std::move(options)),
      users_(clock, options_.user_cache_capacity,
             std::chrono::duration_cast<std::chrono::milliseconds>(options_.cache_ttl)),
      apps_(clock, 10'000,
            std::chrono::duration_cast<std::chrono::milliseconds>(options_.cache_ttl), 8),
      roles_(clock, options_.user_cache_capacity,
             std::chrono::duration_cast<std::chrono::milliseconds>(options_.cache_ttl)),
      orgs_(clock, options_.user_cache_capacity,
            std::chrono::duration_cast<std::chrono::milliseconds>(options_.cache_ttl)),
      logins_(clock, options_.user_cache_capacity,
              std::chrono::duration_cast<std::chrono::milliseconds>(options_.cache_ttl)),
      changes_read_from_ms_(clock.NowMillis()) {}

Directory::~Directory() = default;

Result<std::unique_ptr<Directory>> Directory::Open(SqlStore& store, Outbox& outbox,
                                                   const Clock& clock, Random& random,
                                                   const crypto::SecretBox& box,
                                                   DirectoryOptions options) {
  if (options.domain_levels < 1 || options.domain_levels > kMaxDomainLevels) {
    return Error::InvalidArgument("directory: domain_levels must be 1..10");
  }
  if (options.cache_ttl.count() < 0) {
    return Error::InvalidArgument("directory: cache_ttl must not be negative");
  }
  auto d = std::make_unique<Directory>(PrivateTag{}, store, outbox, clock, random, box,
                                       std::move(options));
  const std::string levels = std::to_string(d->options_.domain_levels);
  Status recorded = store.WithTransaction([&](soci::session& sql) -> Status {
    std::string value;
    sql << "SELECT value FROM dir_settings WHERE name = 'domain_levels'", soci::into(value);
    if (!sql.got_data()) {
      sql << "INSERT INTO dir_settings (name, value) VALUES ('domain_levels', :v)",
          soci::use(levels);
      return Status::Ok();
    }
    if (value != levels) {
      return Error::InvalidArgument("directory: this database was set up with domain_levels = " +
                                    value + "; the configuration says " + levels);
    }
    return Status::Ok();
  });
  TB_RETURN_IF_ERROR(recorded);
  TB_RETURN_IF_ERROR(Impl::EnsureBuiltins(*d));
  return d;
}

std::string Directory::DomainOf(std::string_view orgcoding) const {
  size_t n = static_cast<size_t>(options_.domain_levels) * 3;
  return std::string(orgcoding.substr(0, std::min(n, orgcoding.size())));
}

void Directory::ClearCaches() {
  users_.Clear();
  apps_.Clear();
  roles_.Clear();
  orgs_.Clear();
  logins_.Clear();
}

namespace {
// FollowChanges re-reads this much of the log each time: a change committed
// late (or stamped by a slightly slower clock) is still seen.
constexpr int64_t kChangeOverlapMs = 5'000;
constexpr int64_t kChangeRetentionMs = 10 * 60'000;
}  // namespace

void Directory::Forget(char kind, std::string_view key) {
  if (kind == 'a') {
    apps_.Invalidate(key);
  } else if (kind == 'r' && key.empty()) {
    roles_.Clear();
  } else if (kind == 'r') {
    roles_.Invalidate(key);
  } else if (kind == 'o') {
    orgs_.Invalidate(key);
  } else if (kind == 'l' && key.empty()) {
    logins_.Clear();
  } else if (kind == 'l') {
    logins_.Invalidate(key);
  } else {
    users_.Invalidate(key);
  }
}

void Directory::Changed(char kind, std::string_view key) {
  Forget(kind, key);
  Status logged = store_.WithSession([&](soci::session& sql) -> Status {
    long long at = clock_.NowMillis();
    std::string k(1, kind);
    std::string cache_key(key);
    sql << "INSERT INTO dir_changes (at_ms, kind, cache_key) VALUES (:a, :k, :c)",
        soci::use(at, "a"), soci::use(k, "k"), soci::use(cache_key, "c");
    return Status::Ok();
  });
  // The change itself is committed; other nodes then see it when their
  // snapshot expires (cache_ttl) instead of at their next poll.
  if (!logged.ok()) {
    spdlog::warn("directory: change not logged for other nodes: {}", logged.error().message);
  }
}

namespace {
struct ChangedUserInsert : SqlStore::Kept {
  long long at = 0;
  std::string userid;
  std::string loginkey;
  soci::statement st;
  explicit ChangedUserInsert(soci::session& sql)
      : st((sql.prepare << "INSERT INTO dir_changes (at_ms, kind, cache_key) VALUES "
                           "(:a, 'u', :u), (:b, 'l', :k)",
            soci::use(at, "a"), soci::use(userid, "u"), soci::use(at, "b"),
            soci::use(loginkey, "k"))) {}
};
}  // namespace

void Directory::ChangedUser(std::string_view userid, std::string_view loginname) {
  const std::string loginkey = internal::LoginKey(loginname);
  Forget('u', userid);
  Forget('l', loginkey);
  Status logged = store_.WithSession([&](soci::session& sql) -> Status {
    auto& insert = store_.KeptFor<ChangedUserInsert>(sql, "directory.changed_user", [](auto& s) {
      return std::make_unique<ChangedUserInsert>(s);
    });
    insert.at = clock_.NowMillis();
    insert.userid = std::string(userid);
    insert.loginkey = loginkey;
    insert.st.execute(true);
    return Status::Ok();
  });
  if (!logged.ok()) {
    spdlog::warn("directory: change not logged for other nodes: {}", logged.error().message);
  }
}

Result<int64_t> Directory::FollowChanges(
    const std::function<void(const std::string& userid)>& on_user_changed) {
  const int64_t now = clock_.NowMillis();
  const int64_t from = changes_read_from_ms_.load() - kChangeOverlapMs;
  const bool prune = follow_calls_.fetch_add(1) % 60 == 0;
  std::vector<std::string> users_changed;
  auto dropped = store_.WithSession([&](soci::session& sql) -> Result<int64_t> {
    long long since = from;
    std::string kind;
    std::string key;
    int64_t n = 0;
    soci::statement st =
        (sql.prepare << "SELECT kind, cache_key FROM dir_changes WHERE at_ms >= :s",
         soci::use(since, "s"), soci::into(kind), soci::into(key));
    if (st.execute(true)) {
      do {
        const char k = kind.empty() ? 'u' : kind[0];
        Forget(k, key);
        if (k == 'u' && on_user_changed) users_changed.push_back(key);
        ++n;
      } while (st.fetch());
    }
    if (prune) {
      long long before = now - kChangeRetentionMs;
      sql << "DELETE FROM dir_changes WHERE at_ms < :b", soci::use(before, "b");
    }
    return n;
  });
  if (dropped.ok()) changes_read_from_ms_.store(now);
  // Outside the session: the listener may read the directory itself.
  for (const std::string& userid : users_changed) on_user_changed(userid);
  return dropped;
}

// ---------------------------------------------------------------- rows

std::vector<User> Directory::Impl::QueryUsers(soci::session& sql, std::string_view tail,
                                              const Params& params) {
  internal::UserRow row;
  soci::statement st(sql);
  internal::BindUserRow(st, row);
  BindParams(st, params);
  st.alloc();
  st.prepare("SELECT " + internal::UserSelectColumns() + " FROM dir_users " + std::string(tail));
  st.define_and_bind();
  std::vector<User> out;
  if (st.execute(true)) {
    do {
      row.Finish();
      out.push_back(row.user);
    } while (st.fetch());
  }
  return out;
}

std::optional<User> Directory::Impl::QueryUser(soci::session& sql, std::string_view tail,
                                               const Params& params) {
  std::vector<User> users = QueryUsers(sql, tail, params);
  if (users.empty()) return std::nullopt;
  return std::move(users.front());
}

std::vector<Org> Directory::Impl::QueryOrgs(soci::session& sql, std::string_view tail,
                                            const Params& params) {
  internal::OrgRow row;
  soci::statement st(sql);
  internal::BindOrgRow(st, row);
  BindParams(st, params);
  st.alloc();
  st.prepare("SELECT " + internal::OrgSelectColumns() + " FROM dir_orgs " + std::string(tail));
  st.define_and_bind();
  std::vector<Org> out;
  if (st.execute(true)) {
    do {
      row.Finish();
      out.push_back(row.org);
    } while (st.fetch());
  }
  return out;
}

std::optional<Org> Directory::Impl::QueryOrg(soci::session& sql, std::string_view orgcoding) {
  std::vector<Org> orgs = QueryOrgs(sql, "WHERE orgcoding = :c", {{"c", std::string(orgcoding)}});
  if (orgs.empty()) return std::nullopt;
  return std::move(orgs.front());
}

namespace {
struct KeptOrgQuery : SqlStore::Kept {
  std::string coding;
  internal::OrgRow row;
  soci::statement st;
  explicit KeptOrgQuery(soci::session& sql) : st(sql) {
    internal::BindOrgRow(st, row);
    st.exchange(soci::use(coding, "c"));
    st.alloc();
    st.prepare("SELECT " + internal::OrgSelectColumns() + " FROM dir_orgs WHERE orgcoding = :c");
    st.define_and_bind();
  }
};
}  // namespace

std::optional<Org> Directory::Impl::QueryOrg(SqlStore& store, soci::session& sql,
                                             std::string_view orgcoding) {
  auto& q = store.KeptFor<KeptOrgQuery>(sql, "directory.org_by_coding", [](soci::session& s) {
    return std::make_unique<KeptOrgQuery>(s);
  });
  q.coding = std::string(orgcoding);
  std::optional<Org> out;
  if (q.st.execute(true)) {
    do {
      q.row.Finish();
      out = q.row.org;
    } while (q.st.fetch());  // to the end: nothing stays open on the session
  }
  return out;
}

int64_t Directory::Impl::Count(soci::session& sql, std::string_view query, const Params& params) {
  long long n = 0;
  soci::statement st(sql);
  st.exchange(soci::into(n));
  BindParams(st, params);
  st.alloc();
  st.prepare(std::string(query));
  st.define_and_bind();
  st.execute(true);
  return n;
}

// ---------------------------------------------------------------- callers

Result<std::shared_ptr<const App>> Directory::Impl::CallerApp(Directory& d, const Caller& caller,
                                                              Lookup lookup) {
  if (caller.is_admin()) return std::shared_ptr<const App>();
  return d.CachedApp(caller.servicecode, lookup);
}

// ---------------------------------------------------------------- pushes

std::vector<PushTarget> Directory::Impl::PushTargets(soci::session& sql) {
  PushTarget row;
  soci::statement st(sql);
  st.exchange(soci::into(row.servicecode));
  st.exchange(soci::into(row.org_scope));
  st.alloc();
  st.prepare(
      "SELECT servicecode, org_scope FROM dir_apps WHERE enabled = 1 AND push_enabled = 1 "
      "AND push_url <> '' ORDER BY servicecode");
  st.define_and_bind();
  std::vector<PushTarget> out;
  if (st.execute(true)) {
    do {
      out.push_back(row);
    } while (st.fetch());
  }
  return out;
}

Status Directory::Impl::Enqueue(Directory& d, soci::session& sql, std::string_view app,
                                std::string_view method, const codec::Value& args,
                                std::string_view ordering_key) {
  auto id = d.outbox_.Enqueue(sql, app, method, codec::RenderJson(args), d.clock_.NowMillis(),
                              ordering_key);
  if (!id.ok()) return std::move(id).error();
  return Status::Ok();
}

Status Directory::Impl::PushUser(Directory& d, soci::session& sql,
                                 const std::vector<PushTarget>& targets, std::string_view origin,
                                 const User* before, const User& after) {
  if (targets.empty()) return Status::Ok();  // an import with pushes off: no value to build
  codec::Value args = UserToValue(after);
  if (before != nullptr && before->loginname != after.loginname) {
    args.Set("oldloginname", before->loginname);
  }
  if (before != nullptr && before->orgcoding != after.orgcoding) {
    args.Set("oldorgcoding", before->orgcoding);
  }
  const std::string key = UserOrderingKey(after.userid);
  codec::Value introduced;  // args plus the hint, built once if any target needs it
  for (const PushTarget& t : targets) {
    if (t.servicecode == origin) continue;
    if (InScope(t.org_scope, after.orgcoding)) {
      const bool new_to_app = before == nullptr || !InScope(t.org_scope, before->orgcoding);
      if (new_to_app && introduced.IsNull()) {
        introduced = args;
        introduced.Set(kPushHintNewToApp, "1");
      }
      TB_RETURN_IF_ERROR(
          Enqueue(d, sql, t.servicecode, "synchronizeUser", new_to_app ? introduced : args, key));
    } else if (before != nullptr && InScope(t.org_scope, before->orgcoding)) {
      TB_RETURN_IF_ERROR(Enqueue(d, sql, t.servicecode, "deleteUser",
                                 codec::Value::Object(3)
                                     .Set("userid", before->userid)
                                     .Set("loginname", before->loginname)
                                     .Set("orgcoding", before->orgcoding),
                                 key));
    }
  }
  return Status::Ok();
}

Status Directory::Impl::PushUserDeleted(Directory& d, soci::session& sql, std::string_view origin,
                                        const User& user) {
  codec::Value args = codec::Value::Object(3)
                          .Set("userid", user.userid)
                          .Set("loginname", user.loginname)
                          .Set("orgcoding", user.orgcoding);
  for (const PushTarget& t : PushTargets(sql)) {
    if (t.servicecode == origin || !InScope(t.org_scope, user.orgcoding)) continue;
    TB_RETURN_IF_ERROR(
        Enqueue(d, sql, t.servicecode, "deleteUser", args, UserOrderingKey(user.userid)));
  }
  return Status::Ok();
}

Status Directory::Impl::PushToOwner(Directory& d, soci::session& sql, std::string_view app,
                                    std::string_view method, const codec::Value& args,
                                    std::string_view ordering_key) {
  for (const PushTarget& t : PushTargets(sql)) {
    if (t.servicecode == app) return Enqueue(d, sql, app, method, args, ordering_key);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- orgs

Result<SavedOrg> Directory::Impl::SaveOrgInTx(Directory& d, soci::session& sql, const App* app,
                                              const Fields& args, SaveMode mode, bool push) {
  if (app != nullptr && !app->directory_write) {
    return Code(code::kOrgSyncNotAllowed, "this app may not synchronize orgs");
  }
  const std::string* coding = Get(args, "orgcoding");
  if (coding == nullptr || coding->empty())
    return Code(code::kOrgRequiredEmpty, "orgcoding is empty");
  if (!IsValidOrgCoding(*coding)) {
    return Code(code::kOrgBadCoding, "orgcoding must be digits, 3 a level");
  }
  if (app != nullptr && !InScope(app->org_scope, *coding)) {
    return Code(code::kOrgNoRight, "the org is outside this app's scope");
  }
  // Pure checks of every field present, before touching the database.
  if (const std::string* name = Get(args, "orgname")) {
    if (name->empty()) return Code(code::kOrgRequiredEmpty, "orgname is empty");
    if (!IsValidOrgName(*name)) return Code(code::kOrgBadName, "orgname has illegal characters");
  }
  if (const std::string* dev = Get(args, "devcoding")) {
    if (!dev->empty() && !internal::IsCode(*dev, 64)) {
      return Code(code::kOrgBadDevcoding, "devcoding allows letters, digits, '_', '.', '-'");
    }
  }
  if (const std::string* type = Get(args, "nodetype"); type != nullptr && !IsNodeType(*type)) {
    return Code(code::kOrgArgsIllegal, "nodetype must be a number of at most 2 digits");
  }
  int64_t orderby = 0;
  const std::string* orderby_text = Get(args, "orderby");
  if (orderby_text != nullptr && !orderby_text->empty() &&
      !internal::ParseInt64(*orderby_text, &orderby)) {
    return Code(code::kOrgBadOrderby, "orderby must be an integer");
  }
  for (const internal::OrgText& f : internal::OrgTexts()) {
    const std::string* v = Get(args, f.name);
    if (v != nullptr && !IsCleanText(*v, f.max_bytes)) {
      return Code(code::kOrgArgsIllegal, std::string(f.name) + " is too long or not clean text");
    }
  }

  std::optional<Org> existing = QueryOrg(sql, *coding);
  if (existing && mode == SaveMode::kAddOnly) {
    return Code(code::kOrgCodingInUse, "orgcoding is already in use");
  }
  if (!existing && mode == SaveMode::kModifyOnly) {
    return Code(code::kOrgNotFound, "no such org");
  }
  int64_t now = d.clock_.NowMillis();
  Org org;
  if (existing) {
    org = *existing;
  } else {
    const std::string* name = Get(args, "orgname");
    if (name == nullptr) return Code(code::kOrgRequiredEmpty, "orgname is required on add");
    org.orgcoding = *coding;
    org.parent = ParentOrgCoding(*coding);
    org.domain = d.DomainOf(*coding);
    org.created_ms = now;
    if (!org.parent.empty() && !QueryOrg(sql, org.parent)) {
      return Code(code::kOrgParentMissing, "the parent org does not exist");
    }
  }
  for (const internal::OrgText& f : internal::OrgTexts()) {
    if (const std::string* v = Get(args, f.name)) org.*f.member = *v;
  }
  if (orderby_text != nullptr) org.orderby = orderby;
  org.updated_ms = now;

  if (Count(sql,
            "SELECT COUNT(*) FROM dir_orgs WHERE parent = :p AND orgname = :n AND orgcoding <> :c",
            {{"p", org.parent}, {"n", org.orgname}, {"c", org.orgcoding}}) > 0) {
    return Code(code::kOrgNameExists, "a sibling org has this orgname");
  }
  long long orderby_ll = org.orderby;
  long long created = org.created_ms;
  long long updated = org.updated_ms;
  if (existing) {
    sql << "UPDATE dir_orgs SET orgname = :orgname, orgallname = :orgallname, "
           "principalname = :principalname, orgphone = :orgphone, orgoffice = :orgoffice, "
           "devcoding = :devcoding, nodetype = :nodetype, orderby = :orderby, "
           "updated_ms = :updated WHERE orgcoding = :orgcoding",
        soci::use(org.orgname, "orgname"), soci::use(org.orgallname, "orgallname"),
        soci::use(org.principalname, "principalname"), soci::use(org.orgphone, "orgphone"),
        soci::use(org.orgoffice, "orgoffice"), soci::use(org.devcoding, "devcoding"),
        soci::use(org.nodetype, "nodetype"), soci::use(orderby_ll, "orderby"),
        soci::use(updated, "updated"), soci::use(org.orgcoding, "orgcoding");
  } else {
    sql << "INSERT INTO dir_orgs (orgcoding, parent, domain, orgname, orgallname, principalname, "
           "orgphone, orgoffice, devcoding, nodetype, orderby, created_ms, updated_ms) VALUES "
           "(:orgcoding, :parent, :domain, :orgname, :orgallname, :principalname, :orgphone, "
           ":orgoffice, :devcoding, :nodetype, :orderby, :created, :updated)",
        soci::use(org.orgcoding, "orgcoding"), soci::use(org.parent, "parent"),
        soci::use(org.domain, "domain"), soci::use(org.orgname, "orgname"),
        soci::use(org.orgallname, "orgallname"), soci::use(org.principalname, "principalname"),
        soci::use(org.orgphone, "orgphone"), soci::use(org.orgoffice, "orgoffice"),
        soci::use(org.devcoding, "devcoding"), soci::use(org.nodetype, "nodetype"),
        soci::use(orderby_ll, "orderby"), soci::use(created, "created"),
        soci::use(updated, "updated");
  }
  if (push) {
    codec::Value payload = OrgToValue(org);
    std::string_view origin = app != nullptr ? std::string_view(app->servicecode) : "";
    for (const PushTarget& t : PushTargets(sql)) {
      if (t.servicecode == origin || !InScope(t.org_scope, org.orgcoding)) continue;
      TB_RETURN_IF_ERROR(Enqueue(d, sql, t.servicecode, "synchronizeOrg", payload,
                                 OrgOrderingKey(org.orgcoding)));
    }
  }
  return SavedOrg{std::move(org), !existing};
}

Result<SavedOrg> Directory::SaveOrg(const Caller& caller, const Fields& args, SaveMode mode) {
  auto app = Impl::CallerApp(*this, caller);
  if (!app.ok()) return std::move(app).error();
  Result<SavedOrg> saved = store_.WithTransaction([&](soci::session& sql) {
    return Impl::SaveOrgInTx(*this, sql, app->get(), args, mode, true);
  });
  if (saved.ok()) Changed('o', saved->org.orgcoding);
  if (!saved.ok() && saved.error().code == errc::kConflict) {
    // Two concurrent adds of one sibling name: the unique index decided.
    return Code(code::kOrgNameExists, "a sibling org has this orgname");
  }
  return saved;
}

Result<Org> Directory::DeleteOrg(const Caller& caller, std::string_view orgcoding) {
  auto app = Impl::CallerApp(*this, caller);
  if (!app.ok()) return std::move(app).error();
  if (*app != nullptr && !(*app)->directory_write) {
    return Code(code::kOrgDeleteNotAllowed, "this app may not delete orgs");
  }
  if (!IsValidOrgCoding(orgcoding)) return Code(code::kOrgNotFound, "no such org");
  if (*app != nullptr && !InScope((*app)->org_scope, orgcoding)) {
    return Code(code::kOrgDeleteNoRight, "the org is outside this app's scope");
  }
  std::string coding(orgcoding);
  std::string origin = caller.servicecode;
  Result<Org> deleted = store_.WithTransaction([&](soci::session& sql) -> Result<Org> {
    std::optional<Org> org = Impl::QueryOrg(sql, coding);
    if (!org) return Code(code::kOrgNotFound, "no such org");
    Params p = {{"c", coding}};
    if (Impl::Count(sql, "SELECT COUNT(*) FROM dir_orgs WHERE parent = :c", p) > 0) {
      return Code(code::kOrgHasChildren, "the org has child orgs");
    }
    if (Impl::Count(sql, "SELECT COUNT(*) FROM dir_users WHERE orgcoding = :c", p) > 0 ||
        Impl::Count(sql, "SELECT COUNT(*) FROM dir_user_orgs WHERE orgcoding = :c", p) > 0) {
      return Code(code::kOrgHasUsers, "the org has users");
    }
    if (Impl::Count(sql, "SELECT COUNT(*) FROM dir_apps WHERE orgcoding = :c", p) > 0) {
      return Code(code::kOrgHasApps, "the org owns access resources");
    }
    sql << "DELETE FROM dir_orgs WHERE orgcoding = :c", soci::use(coding, "c");
    codec::Value payload =
        codec::Value::Object(2).Set("orgcoding", coding).Set("orgname", org->orgname);
    for (const PushTarget& t : Impl::PushTargets(sql)) {
      if (t.servicecode == origin || !InScope(t.org_scope, coding)) continue;
      TB_RETURN_IF_ERROR(Impl::Enqueue(*this, sql, t.servicecode, "deleteOrg", payload,
                                       OrgOrderingKey(coding)));
    }
    return std::move(*org);
  });
  if (deleted.ok()) Changed('o', coding);
  return deleted;
}

Result<Org> Directory::GetOrg(const Caller& caller, std::string_view orgcoding, Lookup lookup) {
  auto app = Impl::CallerApp(*this, caller, lookup);
  if (!app.ok()) return std::move(app).error();
  if (!IsValidOrgCoding(orgcoding)) return Code(code::kOrgReadBadCoding, "illegal orgcoding");
  if (*app != nullptr && !InScope((*app)->org_scope, orgcoding)) {
    return Code(code::kOrgReadNoRight, "the org is outside this app's scope");
  }
  auto org = CachedOrg(orgcoding, lookup);
  if (!org.ok()) return std::move(org).error();
  return **org;
}

Result<std::shared_ptr<const Org>> Directory::CachedOrg(std::string_view orgcoding,
                                                        Lookup lookup) {
  if (auto hit = orgs_.Find(orgcoding)) return hit;
  if (lookup == Lookup::kMemoryOnly) return Error{kNotCached, "org not cached"};
  uint64_t ticket = orgs_.FillTicket(orgcoding);
  auto loaded = store_.WithSession([&](soci::session& sql) -> Result<std::shared_ptr<const Org>> {
    std::optional<Org> org = Impl::QueryOrg(store_, sql, orgcoding);
    if (!org) return Code(code::kOrgReadNotFound, "no such org");
    return std::shared_ptr<const Org>(std::make_shared<Org>(std::move(*org)));
  });
  if (loaded.ok()) orgs_.Insert(orgcoding, *loaded, ticket);
  return loaded;
}

Result<PageOf<Org>> Directory::ChildOrgs(const Caller& caller, std::string_view orgcoding,
                                         Page page) {
  auto app = Impl::CallerApp(*this, caller);
  if (!app.ok()) return std::move(app).error();
  int64_t limit = 0;
  int64_t offset = 0;
  if (!PageBounds(page, &limit, &offset)) return Code(code::kOrgReadBadPage, "illegal page");
  if (!orgcoding.empty() && !IsValidOrgCoding(orgcoding)) {
    return Code(code::kOrgReadBadCoding, "illegal orgcoding");
  }
  if (*app != nullptr && !InScope((*app)->org_scope, orgcoding)) {
    return Code(code::kOrgReadNoRight, "the org is outside this app's scope");
  }
  return store_.WithSession([&](soci::session& sql) -> Result<PageOf<Org>> {
    if (!orgcoding.empty() && !Impl::QueryOrg(sql, orgcoding)) {
      return Code(code::kOrgReadNotFound, "no such org");
    }
    Params p = {{"p", std::string(orgcoding)}};
    PageOf<Org> out;
    out.total = Impl::Count(sql, "SELECT COUNT(*) FROM dir_orgs WHERE parent = :p", p);
    out.items = Impl::QueryOrgs(sql,
                                "WHERE parent = :p ORDER BY orderby, orgcoding LIMIT " +
                                    std::to_string(limit) + " OFFSET " + std::to_string(offset),
                                p);
    return out;
  });
}

Result<PageOf<Org>> Directory::SearchOrgs(std::string_view text, Page page) {
  int64_t limit = 0;
  int64_t offset = 0;
  if (!PageBounds(page, &limit, &offset)) return Code(code::kOrgReadBadPage, "illegal page");
  std::string where;
  Params p;
  if (!text.empty()) {
    where = "WHERE (orgcoding >= :a AND orgcoding < :b) OR (orgname >= :c AND orgname < :d) ";
    p = {{"a", std::string(text)},
         {"b", PrefixEnd(text)},
         {"c", std::string(text)},
         {"d", PrefixEnd(text)}};
  }
  return store_.WithSession([&](soci::session& sql) -> Result<PageOf<Org>> {
    PageOf<Org> out;
    out.total = Impl::Count(sql, "SELECT COUNT(*) FROM dir_orgs " + where, p);
    out.items = Impl::QueryOrgs(sql,
                                where + "ORDER BY orgcoding LIMIT " + std::to_string(limit) +
                                    " OFFSET " + std::to_string(offset),
                                p);
    return out;
  });
}

}  // namespace tongban::directory
