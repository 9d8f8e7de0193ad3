// Directory: roles and positions (defined per app), user-role grants, the
// systems a user may open, and account bindings.
#include <string>
#include <utility>

#include "directory/codes.h"
#include "directory/directory.h"
#include "directory/impl.h"
#include "directory/wire.h"

namespace tongban::directory {

using internal::IsCleanText;
using internal::IsCode;
using internal::IsHex32;

namespace {

Error Code(int code, std::string message) { return Error{code, std::move(message)}; }

bool AppExists(soci::session& sql, const std::string& app) {
  return Directory::Impl::Count(sql, "SELECT COUNT(*) FROM dir_apps WHERE servicecode = :s",
                                {{"s", app}}) > 0;
}

bool UserExists(soci::session& sql, const std::string& userid) {
  return Directory::Impl::Count(sql, "SELECT COUNT(*) FROM dir_users WHERE userid = :u",
                                {{"u", userid}}) > 0;
}

std::vector<Role> QueryRoles(soci::session& sql, const std::string& query, const Params& params) {
  Role row;
  soci::statement st(sql);
  st.exchange(soci::into(row.app));
  st.exchange(soci::into(row.rolecode));
  st.exchange(soci::into(row.rolename));
  st.exchange(soci::into(row.memo));
  for (const auto& [n, v] : params) st.exchange(soci::use(v, n));
  st.alloc();
  st.prepare(query);
  st.define_and_bind();
  std::vector<Role> out;
  if (st.execute(true)) {
    do {
      out.push_back(row);
    } while (st.fetch());
  }
  return out;
}

}  // namespace

// ---------------------------------------------------------------- built-ins

Status Directory::Impl::EnsureBuiltins(Directory& d) {
  return d.store_.WithTransaction([&](soci::session& sql) -> Status {
    const std::string app(kPlatformApp);
    if (!AppExists(sql, app)) {
      App settings;
      settings.servicecode = app;
      settings.name = "tongban";
      auto created = CreateAppInTx(d, sql, settings);
      if (!created.ok()) return std::move(created).error();
    }
    const std::string role(kPlatformAdminRole);
    if (Count(sql, "SELECT COUNT(*) FROM dir_roles WHERE app = :a AND rolecode = :r",
              {{"a", app}, {"r", role}}) == 0) {
      long long now = d.clock_.NowMillis();
      sql << "INSERT INTO dir_roles (app, rolecode, rolename, memo, created_ms, updated_ms) "
             "VALUES (:a, :r, '平台管理员', '', :c, :u)",
          soci::use(app, "a"), soci::use(role, "r"), soci::use(now, "c"), soci::use(now, "u");
    }
    return Status::Ok();
  });
}

// ---------------------------------------------------------------- roles

Result<Role> Directory::SaveRole(const Role& role) {
  if (!IsCode(role.rolecode, 64)) {
    return Code(code::kRoleBadCode, "rolecode allows 1..64 letters, digits, '_', '.', '-'");
  }
  if (role.rolename.empty() || !IsCleanText(role.rolename, 100) || !IsCleanText(role.memo, 1000)) {
    return Code(code::kRoleBadName, "rolename must be 1..100 bytes of text, memo at most 1000");
  }
  Result<Role> saved = store_.WithTransaction([&](soci::session& sql) -> Result<Role> {
    if (!AppExists(sql, role.app)) return Code(code::kRoleNoApp, "no such app");
    long long now = clock_.NowMillis();
    if (Impl::Count(sql, "SELECT COUNT(*) FROM dir_roles WHERE app = :a AND rolecode = :r",
                    {{"a", role.app}, {"r", role.rolecode}}) > 0) {
      sql << "UPDATE dir_roles SET rolename = :n, memo = :m, updated_ms = :u "
             "WHERE app = :a AND rolecode = :r",
          soci::use(role.rolename, "n"), soci::use(role.memo, "m"), soci::use(now, "u"),
          soci::use(role.app, "a"), soci::use(role.rolecode, "r");
    } else {
      sql << "INSERT INTO dir_roles (app, rolecode, rolename, memo, created_ms, updated_ms) "
             "VALUES (:a, :r, :n, :m, :c, :u)",
          soci::use(role.app, "a"), soci::use(role.rolecode, "r"), soci::use(role.rolename, "n"),
          soci::use(role.memo, "m"), soci::use(now, "c"), soci::use(now, "u");
    }
    TB_RETURN_IF_ERROR(
        Impl::PushToOwner(*this, sql, role.app, "synchronizeRole", RoleToValue(role),
                          RoleOrderingKey(role.rolecode)));
    return role;
  });
  if (saved.ok()) Changed('r', "");  // a new name for everyone who holds it
  return saved;
}

Status Directory::DeleteRole(std::string_view app, std::string_view rolecode) {
  std::string a(app);
  std::string r(rolecode);
  Status deleted = store_.WithTransaction([&](soci::session& sql) -> Status {
    if (!AppExists(sql, a)) return Code(code::kRoleNoApp, "no such app");
    if (Impl::Count(sql, "SELECT COUNT(*) FROM dir_roles WHERE app = :a AND rolecode = :r",
                    {{"a", a}, {"r", r}}) == 0) {
      return Code(code::kRoleNotFound, "no such role");
    }
    sql << "DELETE FROM dir_user_roles WHERE app = :a AND rolecode = :r", soci::use(a, "a"),
        soci::use(r, "r");
    sql << "DELETE FROM dir_roles WHERE app = :a AND rolecode = :r", soci::use(a, "a"),
        soci::use(r, "r");
    return Impl::PushToOwner(*this, sql, a, "deleteRole",
                             codec::Value::Object(1).Set("rolecode", r), RoleOrderingKey(r));
  });
  if (deleted.ok()) Changed('r', "");
  return deleted;
}

Result<std::vector<Role>> Directory::Roles(std::string_view app) {
  std::string a(app);
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Role>> {
    if (!AppExists(sql, a)) return Code(code::kRoleNoApp, "no such app");
    return QueryRoles(sql,
                      "SELECT app, rolecode, rolename, memo FROM dir_roles WHERE app = :a "
                      "ORDER BY rolecode",
                      {{"a", a}});
  });
}

// ---------------------------------------------------------------- positions

Result<Position> Directory::SavePosition(const Position& position) {
  if (!IsCode(position.positioncode, 64)) {
    return Code(code::kPositionBadCode, "positioncode allows 1..64 letters, digits, '_', '.', '-'");
  }
  if (position.positionname.empty() || !IsCleanText(position.positionname, 100) ||
      !IsCleanText(position.memo, 1000)) {
    return Code(code::kPositionBadName,
                "positionname must be 1..100 bytes of text, memo at most 1000");
  }
  return store_.WithTransaction([&](soci::session& sql) -> Result<Position> {
    if (!AppExists(sql, position.app)) return Code(code::kPositionNoApp, "no such app");
    long long now = clock_.NowMillis();
    if (Impl::Count(sql, "SELECT COUNT(*) FROM dir_positions WHERE app = :a AND positioncode = :p",
                    {{"a", position.app}, {"p", position.positioncode}}) > 0) {
      sql << "UPDATE dir_positions SET positionname = :n, memo = :m, updated_ms = :u "
             "WHERE app = :a AND positioncode = :p",
          soci::use(position.positionname, "n"), soci::use(position.memo, "m"), soci::use(now, "u"),
          soci::use(position.app, "a"), soci::use(position.positioncode, "p");
    } else {
      sql << "INSERT INTO dir_positions (app, positioncode, positionname, memo, created_ms, "
             "updated_ms) VALUES (:a, :p, :n, :m, :c, :u)",
          soci::use(position.app, "a"), soci::use(position.positioncode, "p"),
          soci::use(position.positionname, "n"), soci::use(position.memo, "m"), soci::use(now, "c"),
          soci::use(now, "u");
    }
    TB_RETURN_IF_ERROR(Impl::PushToOwner(*this, sql, position.app, "synchronizePosition",
                                         PositionToValue(position),
                                         PositionOrderingKey(position.positioncode)));
    return position;
  });
}

Status Directory::DeletePosition(std::string_view app, std::string_view positioncode) {
  std::string a(app);
  std::string p(positioncode);
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    if (!AppExists(sql, a)) return Code(code::kPositionNoApp, "no such app");
    if (Impl::Count(sql, "SELECT COUNT(*) FROM dir_positions WHERE app = :a AND positioncode = :p",
                    {{"a", a}, {"p", p}}) == 0) {
      return Code(code::kPositionNotFound, "no such position");
    }
    sql << "DELETE FROM dir_positions WHERE app = :a AND positioncode = :p", soci::use(a, "a"),
        soci::use(p, "p");
    return Impl::PushToOwner(*this, sql, a, "deletePosition",
                             codec::Value::Object(1).Set("positioncode", p),
                             PositionOrderingKey(p));
  });
}

Result<std::vector<Position>> Directory::Positions(std::string_view app) {
  std::string a(app);
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Position>> {
    if (!AppExists(sql, a)) return Code(code::kPositionNoApp, "no such app");
    Position row;
    soci::statement st(sql);
    st.exchange(soci::into(row.app));
    st.exchange(soci::into(row.positioncode));
    st.exchange(soci::into(row.positionname));
    st.exchange(soci::into(row.memo));
    st.exchange(soci::use(a, "a"));
    st.alloc();
    st.prepare(
        "SELECT app, positioncode, positionname, memo FROM dir_positions WHERE app = :a "
        "ORDER BY positioncode");
    st.define_and_bind();
    std::vector<Position> out;
    if (st.execute(true)) {
      do {
        out.push_back(row);
      } while (st.fetch());
    }
    return out;
  });
}

// ---------------------------------------------------------------- grants

Status Directory::Impl::PushUserRoles(Directory& d, soci::session& sql, std::string_view userid,
                                      std::string_view app) {
  std::string u(userid);
  std::string a(app);
  std::vector<Role> roles = QueryRoles(sql,
                                       "SELECT r.app, r.rolecode, r.rolename, r.memo FROM "
                                       "dir_user_roles g JOIN dir_roles r ON r.app = g.app AND "
                                       "r.rolecode = g.rolecode WHERE g.userid = :u AND "
                                       "g.app = :a ORDER BY r.rolecode",
                                       {{"u", u}, {"a", a}});
  std::string codes;
  for (const Role& r : roles) codes += (codes.empty() ? "" : ";") + r.rolecode;
  std::string loginname;
  sql << "SELECT loginname FROM dir_users WHERE userid = :u", soci::use(u, "u"),
      soci::into(loginname);
  // Keyed by the user: a grant must not reach the app before the user does.
  return PushToOwner(
      d, sql, a, "synchronizeUserRole",
      codec::Value::Object(3).Set("userid", u).Set("loginname", loginname).Set("rolecode", codes),
      UserOrderingKey(u));
}

Status Directory::GrantRole(std::string_view userid, std::string_view app,
                            std::string_view rolecode) {
  std::string u(userid);
  std::string a(app);
  std::string r(rolecode);
  Status granted = store_.WithTransaction([&](soci::session& sql) -> Status {
    if (!AppExists(sql, a)) return Code(code::kGrantNoApp, "no such app");
    if (Impl::Count(sql, "SELECT COUNT(*) FROM dir_roles WHERE app = :a AND rolecode = :r",
                    {{"a", a}, {"r", r}}) == 0) {
      return Code(code::kGrantNoRole, "no such role");
    }
    if (!IsHex32(u) || !UserExists(sql, u)) return Code(code::kGrantNoUser, "no such user");
    if (Impl::Count(sql,
                    "SELECT COUNT(*) FROM dir_user_roles WHERE userid = :u AND app = :a AND "
                    "rolecode = :r",
                    {{"u", u}, {"a", a}, {"r", r}}) > 0) {
      return Status::Ok();  // already granted: nothing changes, nothing to push
    }
    if (a == kPlatformApp) {
      std::string loginkey;
      sql << "SELECT loginkey FROM dir_users WHERE userid = :u", soci::use(u, "u"),
          soci::into(loginkey);
      if (Impl::LoginKeyHeldElsewhere(sql, loginkey, u)) {
        return Code(code::kGrantLoginShared,
                    "another user has this login name in some domain: rename one of them first");
      }
    }
    long long now = clock_.NowMillis();
    sql << "INSERT INTO dir_user_roles (userid, app, rolecode, created_ms) "
           "VALUES (:u, :a, :r, :c)",
        soci::use(u, "u"), soci::use(a, "a"), soci::use(r, "r"), soci::use(now, "c");
    return Impl::PushUserRoles(*this, sql, u, a);
  });
  if (granted.ok()) Changed('r', RolesKey(u, a));
  return granted;
}

Status Directory::RevokeRole(std::string_view userid, std::string_view app,
                             std::string_view rolecode) {
  std::string u(userid);
  std::string a(app);
  std::string r(rolecode);
  Status revoked = store_.WithTransaction([&](soci::session& sql) -> Status {
    soci::statement del = (sql.prepare << "DELETE FROM dir_user_roles WHERE userid = :u AND "
                                          "app = :a AND rolecode = :r",
                           soci::use(u, "u"), soci::use(a, "a"), soci::use(r, "r"));
    del.execute(true);
    if (del.get_affected_rows() == 0) return Code(code::kGrantNotFound, "no such grant");
    return Impl::PushUserRoles(*this, sql, u, a);
  });
  if (revoked.ok()) Changed('r', RolesKey(u, a));
  return revoked;
}

Result<std::vector<Role>> Directory::UserRoles(std::string_view userid, std::string_view app) {
  // One app's roles are read at every CAS/OIDC/commnetAuth sign-on: cached
  // like users, dropped on every grant or role change (here and, through
  // FollowChanges, on the other nodes).
  if (app.empty()) return LoadUserRoles(userid, app);
  const std::string key = RolesKey(userid, app);
  if (auto cached = roles_.Find(key)) return *cached;
  const uint64_t ticket = roles_.FillTicket(key);
  auto loaded = LoadUserRoles(userid, app);
  if (loaded.ok()) roles_.Insert(key, std::make_shared<const std::vector<Role>>(*loaded), ticket);
  return loaded;
}

std::string Directory::RolesKey(std::string_view userid, std::string_view app) {
  std::string key(userid);
  key.push_back('/');
  key.append(app);
  return key;
}

Result<std::vector<Role>> Directory::LoadUserRoles(std::string_view userid,
                                                   std::string_view app) {
  std::string u(userid);
  std::string a(app);
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<Role>> {
    if (!IsHex32(u) || !UserExists(sql, u)) return Code(code::kGrantNoUser, "no such user");
    std::string query =
        "SELECT r.app, r.rolecode, r.rolename, r.memo FROM dir_user_roles g JOIN dir_roles r "
        "ON r.app = g.app AND r.rolecode = g.rolecode WHERE g.userid = :u";
    Params params = {{"u", u}};
    if (!a.empty()) {
      if (!AppExists(sql, a)) return Code(code::kGrantNoApp, "no such app");
      query += " AND g.app = :a";
      params.emplace_back("a", a);
    }
    return QueryRoles(sql, query + " ORDER BY r.app, r.rolecode", params);
  });
}

Result<bool> Directory::IsPlatformAdmin(std::string_view userid) {
  auto roles = UserRoles(userid, kPlatformApp);
  if (!roles.ok()) return std::move(roles).error();
  for (const Role& r : *roles) {
    if (r.rolecode == kPlatformAdminRole) return true;
  }
  return false;
}

Result<std::vector<App>> Directory::UserSystems(std::string_view userid) {
  std::string u(userid);
  return store_.WithSession([&](soci::session& sql) -> Result<std::vector<App>> {
    if (!IsHex32(u) || !UserExists(sql, u)) return Code(code::kGrantNoUser, "no such user");
    return Impl::QueryApps(sql,
                           "WHERE enabled = 1 AND (open_to_all = 1 OR servicecode IN "
                           "(SELECT app FROM dir_user_roles WHERE userid = :u)) "
                           "ORDER BY servicecode",
                           {{"u", u}});
  });
}

// ---------------------------------------------------------------- bindings

Status Directory::Bind(const Binding& binding) {
  if (binding.account.empty() || !IsCleanText(binding.account, 100)) {
    return Code(code::kBindingBadAccount, "the account must be 1..100 bytes of text");
  }
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    if (!AppExists(sql, binding.app)) return Code(code::kBindingNoApp, "no such app");
    if (!IsHex32(binding.userid) || !UserExists(sql, binding.userid)) {
      return Code(code::kBindingNoUser, "no such user");
    }
    std::string owner;
    sql << "SELECT userid FROM dir_bindings WHERE app = :a AND account = :n",
        soci::use(binding.app, "a"), soci::use(binding.account, "n"), soci::into(owner);
    if (sql.got_data()) {
      if (owner == binding.userid) return Status::Ok();
      return Code(code::kBindingAccountTaken, "the account is bound to another user");
    }
    sql << "DELETE FROM dir_bindings WHERE app = :a AND userid = :u", soci::use(binding.app, "a"),
        soci::use(binding.userid, "u");
    long long now = clock_.NowMillis();
    sql << "INSERT INTO dir_bindings (app, account, userid, created_ms) "
           "VALUES (:a, :n, :u, :c)",
        soci::use(binding.app, "a"), soci::use(binding.account, "n"),
        soci::use(binding.userid, "u"), soci::use(now, "c");
    return Status::Ok();
  });
}

Status Directory::Unbind(std::string_view app, std::string_view userid) {
  std::string a(app);
  std::string u(userid);
  return store_.WithTransaction([&](soci::session& sql) -> Status {
    if (!AppExists(sql, a)) return Code(code::kBindingNoApp, "no such app");
    soci::statement del = (sql.prepare << "DELETE FROM dir_bindings WHERE app = :a AND userid = :u",
                           soci::use(a, "a"), soci::use(u, "u"));
    del.execute(true);
    if (del.get_affected_rows() == 0) return Code(code::kBindingNotFound, "no such binding");
    return Status::Ok();
  });
}

Result<std::string> Directory::SsoUserByMap(std::string_view app, std::string_view account) {
  if (account.empty() || !IsCleanText(account, 100)) {
    return Code(code::kBindingBadAccount, "illegal account");
  }
  std::string a(app);
  std::string n(account);
  return store_.WithSession([&](soci::session& sql) -> Result<std::string> {
    if (!AppExists(sql, a)) return Code(code::kBindingNoApp, "no such app");
    std::string userid;
    sql << "SELECT userid FROM dir_bindings WHERE app = :a AND account = :n", soci::use(a, "a"),
        soci::use(n, "n"), soci::into(userid);
    if (!sql.got_data()) return Code(code::kBindingNotFound, "no such binding");
    return userid;
  });
}

Result<std::string> Directory::MapUserBySso(std::string_view app, std::string_view userid) {
  if (!IsHex32(userid)) return Code(code::kBindingBadAccount, "illegal userid");
  std::string a(app);
  std::string u(userid);
  return store_.WithSession([&](soci::session& sql) -> Result<std::string> {
    if (!AppExists(sql, a)) return Code(code::kBindingNoApp, "no such app");
    std::string account;
    sql << "SELECT account FROM dir_bindings WHERE app = :a AND userid = :u", soci::use(a, "a"),
        soci::use(u, "u"), soci::into(account);
    if (!sql.got_data()) return Code(code::kBindingNotFound, "no such binding");
    return account;
  });
}

}  // namespace tongban::directory
