// Admin API: orgs, users, their role grants and account bindings, CSV import
// and export (docs/api/admin.md). Every rule (codes, scopes, domains) is the
// Directory's; these handlers translate JSON and compose its calls.
#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>

#include "console/internal.h"
#include "directory/codes.h"

namespace tongban::console {

namespace {

using directory::Caller;
using directory::Fields;
using directory::Org;
using directory::Page;
using directory::SaveMode;
using directory::User;
namespace code = directory::code;

constexpr int64_t kSearchCountCap = 10'000;

// Members of an echoed record that are derived or read-only, dropped before saving.
void DropReadOnly(Fields& fields) {
  for (const char* key :
       {"parent", "domain", "has_children", "created_ms", "updated_ms", "locked"}) {
    fields.erase(key);
  }
}

// Every direct child of `parent` ("" = top level).
Result<std::vector<Org>> AllChildren(directory::Directory& dir, std::string_view parent) {
  std::vector<Org> out;
  for (Page page{1, Page::kMaxPageSize};; ++page.number) {
    auto children = dir.ChildOrgs(Caller::Admin(), parent, page);
    if (!children.ok()) return children.error();
    for (Org& org : children->items) out.push_back(std::move(org));
    if (static_cast<int64_t>(out.size()) >= children->total || children->items.empty()) break;
  }
  return out;
}

// The next unused 3-digit code under `parent`: one more than the largest child's.
Result<std::string> NextChildCode(directory::Directory& dir, std::string_view parent) {
  auto children = AllChildren(dir, parent);
  if (!children.ok()) return children.error();
  int last = 0;
  for (const Org& child : *children) {
    last = std::max(last, std::clamp(std::atoi(child.orgcoding.c_str() + child.orgcoding.size() - 3),
                                     0, 999));
  }
  if (last >= 999) return Error{code::kOrgBadCoding, "该上级机构下的机构编码已用完（最多 999 个）"};
  const int next = last + 1;
  std::string coding(parent);
  coding.push_back(static_cast<char>('0' + next / 100));
  coding.push_back(static_cast<char>('0' + next / 10 % 10));
  coding.push_back(static_cast<char>('0' + next % 10));
  return coding;
}

Fields OrgFields(const Org& org) {
  return {{"orgcoding", org.orgcoding},         {"orgname", org.orgname},
          {"orgallname", org.orgallname},       {"principalname", org.principalname},
          {"orgphone", org.orgphone},           {"orgoffice", org.orgoffice},
          {"devcoding", org.devcoding},         {"nodetype", org.nodetype},
          {"orderby", std::to_string(org.orderby)}};
}

// Copies `from` and its sub-orgs to `to` (sub-orgs keep their last digits),
// moves their users along, then deletes the old orgs, children first. Each
// step is one of the Directory's own changes, so apps receive every push.
Status MoveSubtree(directory::Directory& dir, const Org& from, const std::string& to) {
  Fields fields = OrgFields(from);
  fields["orgcoding"] = to;
  auto created = dir.SaveOrg(Caller::Admin(), fields, SaveMode::kAddOnly);
  if (!created.ok()) return created.error();
  auto children = AllChildren(dir, from.orgcoding);
  if (!children.ok()) return children.error();
  for (const Org& child : *children) {
    TB_RETURN_IF_ERROR(MoveSubtree(dir, child, to + child.orgcoding.substr(from.orgcoding.size())));
  }
  // The users leave the old org as they move, so page 1 is always the next batch.
  for (;;) {
    auto users = dir.UsersByOrg(Caller::Admin(), from.orgcoding, Page{1, Page::kMaxPageSize});
    if (!users.ok()) return users.error();
    if (users->items.empty()) break;
    for (const User& user : users->items) {
      auto moved = dir.SaveUser(Caller::Admin(), {{"userid", user.userid}, {"orgcoding", to}},
                                SaveMode::kModifyOnly);
      if (!moved.ok()) return moved.error();
    }
  }
  auto deleted = dir.DeleteOrg(Caller::Admin(), from.orgcoding);
  if (!deleted.ok()) return deleted.error();
  return Status::Ok();
}

Result<codec::Value> ListOrgs(const Services& s, Call& call) {
  auto page = PageFrom(call);
  if (!page.ok()) return page.error();
  auto children = s.directory().ChildOrgs(Caller::Admin(), call.Query("parent"), *page);
  if (!children.ok()) return children.error();
  codec::Value items = codec::Value::Array(children->items.size());
  for (const Org& org : children->items) {
    auto grandchildren = s.directory().ChildOrgs(Caller::Admin(), org.orgcoding, Page{1, 1});
    if (!grandchildren.ok()) return grandchildren.error();
    items.Push(OrgJson(org).Set("has_children", grandchildren->total > 0));
  }
  return ListOf(children->total, std::move(items));
}

Result<codec::Value> SearchOrgs(const Services& s, Call& call) {
  auto page = PageFrom(call);
  if (!page.ok()) return page.error();
  if (call.Query("q").empty()) return Error::InvalidArgument("请输入机构名称或编码");
  auto found = s.directory().SearchOrgs(call.Query("q"), *page);
  if (!found.ok()) return found.error();
  codec::Value items = codec::Value::Array(found->items.size());
  for (const Org& org : found->items) items.Push(OrgJson(org));
  return ListOf(found->total, std::move(items));
}

Result<codec::Value> GetOrg(const Services& s, Call& call) {
  auto org = s.directory().GetOrg(Caller::Admin(), call.args[0]);
  if (!org.ok()) return org.error();
  return OrgJson(*org);
}

Result<codec::Value> CreateOrg(const Services& s, Call& call) {
  auto fields = BodyFields(call);
  if (!fields.ok()) return fields.error();
  const std::string parent = call.BodyText("parent");
  DropReadOnly(*fields);
  if (!parent.empty()) {
    auto found = s.directory().GetOrg(Caller::Admin(), parent);
    if (!found.ok()) return Error{code::kOrgParentMissing, "上级机构不存在：" + parent};
  }
  if (fields->count("orgcoding") == 0 || (*fields)["orgcoding"].empty()) {
    auto next = NextChildCode(s.directory(), parent);
    if (!next.ok()) return next.error();
    (*fields)["orgcoding"] = *next;
  } else if (!parent.empty() && (*fields)["orgcoding"].rfind(parent, 0) != 0) {
    return Error{code::kOrgBadCoding, "机构编码应以上级机构编码开头"};
  }
  call.target = (*fields)["orgcoding"];
  auto saved = s.directory().SaveOrg(Caller::Admin(), *fields, SaveMode::kAddOnly);
  if (!saved.ok()) return saved.error();
  return OrgJson(saved->org);
}

Result<codec::Value> UpdateOrg(const Services& s, Call& call) {
  auto fields = BodyFields(call);
  if (!fields.ok()) return fields.error();
  DropReadOnly(*fields);
  if (auto it = fields->find("orgcoding"); it != fields->end() && it->second != call.args[0]) {
    return Error::InvalidArgument("机构编码不可修改；请使用“移动”");
  }
  (*fields)["orgcoding"] = call.args[0];
  auto saved = s.directory().SaveOrg(Caller::Admin(), *fields, SaveMode::kModifyOnly);
  if (!saved.ok()) return saved.error();
  return OrgJson(saved->org);
}

Result<codec::Value> MoveOrg(const Services& s, Call& call) {
  directory::Directory& dir = s.directory();
  auto org = dir.GetOrg(Caller::Admin(), call.args[0]);
  if (!org.ok()) return org.error();
  if (!call.body.IsObject() || call.body.Find("parent") == nullptr) {
    return Error::InvalidArgument("请指定新的上级机构 parent");
  }
  const std::string parent = call.BodyText("parent");
  if (parent == org->parent) return OrgJson(*org);
  if (parent.rfind(org->orgcoding, 0) == 0) {
    return Error::InvalidArgument("不能把机构移动到它自己或它的下级机构之下");
  }
  if (!parent.empty() && !dir.GetOrg(Caller::Admin(), parent).ok()) {
    return Error{code::kOrgParentMissing, "上级机构不存在：" + parent};
  }
  auto target = NextChildCode(dir, parent);
  if (!target.ok()) return target.error();
  if (dir.DomainOf(*target) != org->domain) {
    return Error{code::kUserMoveRefused, "不能跨域移动机构：登录名只在域内唯一"};
  }
  // Refuse up front what would stop the move half-way.
  auto apps = dir.ListApps();
  if (!apps.ok()) return apps.error();
  for (const directory::App& app : *apps) {
    if (!app.orgcoding.empty() && app.orgcoding.rfind(org->orgcoding, 0) == 0) {
      return Error{code::kOrgHasApps, "接入资源 " + app.servicecode + " 属于该机构，请先修改其所属机构"};
    }
  }
  TB_RETURN_IF_ERROR(MoveSubtree(dir, *org, *target));
  auto moved = dir.GetOrg(Caller::Admin(), *target);
  if (!moved.ok()) return moved.error();
  return OrgJson(*moved);
}

Result<codec::Value> DeleteOrg(const Services& s, Call& call) {
  auto deleted = s.directory().DeleteOrg(Caller::Admin(), call.args[0]);
  if (!deleted.ok()) return deleted.error();
  return codec::Value::Object(1).Set("deleted", OrgJson(*deleted));
}

Result<directory::UserSearch::Field> SearchField(std::string_view name) {
  using Field = directory::UserSearch::Field;
  if (name.empty() || name == "any") return Field::kAny;
  if (name == "username") return Field::kUsername;
  if (name == "loginname") return Field::kLoginname;
  if (name == "mobile") return Field::kMobile;
  if (name == "idnum") return Field::kIdnum;
  return Error::InvalidArgument("field 应为 any、username、loginname、mobile 或 idnum");
}

Result<codec::Value> ListUsers(const Services& s, Call& call) {
  auto page = PageFrom(call);
  if (!page.ok()) return page.error();
  auto field = SearchField(call.Query("field"));
  if (!field.ok()) return field.error();
  directory::PageOf<User> found;
  bool capped = false;
  if (call.Query("q").empty() && !call.Query("org").empty()) {
    auto users = s.directory().UsersByOrg(Caller::Admin(), call.Query("org"), *page);
    if (!users.ok()) return users.error();
    found = std::move(*users);
  } else {
    directory::UserSearch search;
    search.text = std::string(call.Query("q"));
    search.field = *field;
    search.org_prefix = std::string(call.Query("org"));
    search.max_total = kSearchCountCap;
    auto users = s.directory().SearchUsers(search, *page);
    if (!users.ok()) return users.error();
    found = std::move(*users);
    capped = found.total >= kSearchCountCap;
  }
  codec::Value items = codec::Value::Array(found.items.size());
  for (const User& user : found.items) items.Push(UserJson(user));
  return ListOf(found.total, std::move(items)).Set("total_capped", capped);
}

Result<codec::Value> GetUser(const Services& s, Call& call) {
  auto user = s.directory().GetUserById(Caller::Admin(), call.args[0]);
  if (!user.ok()) return user.error();
  return UserJson(**user);
}

std::string InitialPassword(Random& random) {
  // 16 hex digits plus classes some password policies of apps insist on.
  return "Tb-" + random.Hex(8);
}

Result<codec::Value> CreateUser(const Services& s, Call& call) {
  auto fields = BodyFields(call);
  if (!fields.ok()) return fields.error();
  DropReadOnly(*fields);
  fields->erase("userid");
  std::string password = call.BodyText("password");
  fields->erase("password");
  const bool generated = password.empty();
  if (generated) password = InitialPassword(s.sso.random);
  (*fields)["loginpwd"] = password;
  (*fields)["encryptiontype"] = "1";
  call.target = call.BodyText("loginname");
  auto saved = s.directory().SaveUser(Caller::Admin(), *fields, SaveMode::kAddOnly);
  if (!saved.ok()) return saved.error();
  call.target = saved->user.userid;
  codec::Value out = codec::Value::Object(2);
  out.Set("user", UserJson(saved->user)).Set("password", generated ? password : "");
  return out;
}

Result<codec::Value> UpdateUser(const Services& s, Call& call) {
  auto fields = BodyFields(call);
  if (!fields.ok()) return fields.error();
  DropReadOnly(*fields);
  for (const char* secret : {"password", "loginpwd", "encryptiontype"}) {
    if (fields->count(secret) != 0) {
      return Error::InvalidArgument("修改密码请使用“重置密码”");
    }
  }
  if (auto it = fields->find("userid"); it != fields->end() && it->second != call.args[0]) {
    return Error::InvalidArgument("userid 不可修改");
  }
  (*fields)["userid"] = call.args[0];
  auto saved = s.directory().SaveUser(Caller::Admin(), *fields, SaveMode::kModifyOnly);
  if (!saved.ok()) return saved.error();
  if (saved->user.useable != 1) {
    auto ended = s.logout.EndUser(saved->user.userid, "disabled");
    if (!ended.ok()) return ended.error();
  }
  return UserJson(saved->user);
}

Result<codec::Value> DeleteUser(const Services& s, Call& call) {
  auto deleted = s.directory().DeleteUser(Caller::Admin(), directory::UserKey{call.args[0], "", ""});
  if (!deleted.ok()) return deleted.error();
  auto ended = s.logout.EndUser(deleted->userid, "deleted");
  if (!ended.ok()) return ended.error();
  return codec::Value::Object(1).Set("deleted", UserJson(*deleted));
}

Result<codec::Value> SetLocked(const Services& s, Call& call, bool locked) {
  Status changed = locked ? s.directory().LockUser(call.args[0])
                          : s.directory().UnlockUser(call.args[0]);
  if (!changed.ok()) return changed.error();
  if (locked) {
    auto ended = s.logout.EndUser(call.args[0], "locked");
    if (!ended.ok()) return ended.error();
  }
  auto user = s.directory().GetUserById(Caller::Admin(), call.args[0]);
  if (!user.ok()) return user.error();
  return UserJson(**user);
}

Result<codec::Value> ResetPassword(const Services& s, Call& call) {
  std::string password = call.BodyText("password");
  const bool generated = password.empty();
  if (generated) password = InitialPassword(s.sso.random);
  Status set = s.directory().SetPassword(call.args[0], password);
  if (!set.ok()) return set.error();
  // A reset answers a forgotten or a compromised password: whoever held the
  // old one is logged out everywhere (the user logs in with the new one).
  auto ended = s.logout.EndUser(call.args[0], "password_reset", call.admin.userid);
  if (!ended.ok()) return ended.error();
  return codec::Value::Object(1).Set("password", generated ? password : "");
}

Result<codec::Value> UserRoles(const Services& s, Call& call) {
  auto user = s.directory().GetUserById(Caller::Admin(), call.args[0]);
  if (!user.ok()) return user.error();
  auto roles = s.directory().UserRoles(call.args[0], "");
  if (!roles.ok()) return roles.error();
  codec::Value items = codec::Value::Array(roles->size());
  for (const directory::Role& role : *roles) items.Push(RoleJson(role));
  return codec::Value::Object(1).Set("items", std::move(items));
}

Result<codec::Value> GrantRole(const Services& s, Call& call) {
  const std::string app = call.BodyText("app");
  const std::string role = call.BodyText("rolecode");
  if (app.empty() || role.empty()) return Error::InvalidArgument("请指定 app 和 rolecode");
  Status granted = s.directory().GrantRole(call.args[0], app, role);
  if (!granted.ok()) return granted.error();
  return UserRoles(s, call);
}

Result<codec::Value> RevokeRole(const Services& s, Call& call) {
  Status revoked = s.directory().RevokeRole(call.args[0], call.args[1], call.args[2]);
  if (!revoked.ok()) return revoked.error();
  return UserRoles(s, call);
}

Result<codec::Value> Bindings(const Services& s, Call& call) {
  auto user = s.directory().GetUserById(Caller::Admin(), call.args[0]);
  if (!user.ok()) return user.error();
  auto apps = s.directory().ListApps();
  if (!apps.ok()) return apps.error();
  codec::Value items = codec::Value::Array();
  for (const directory::App& app : *apps) {
    auto account = s.directory().MapUserBySso(app.servicecode, call.args[0]);
    if (!account.ok()) {
      if (account.error().code == code::kBindingNotFound) continue;
      return account.error();
    }
    items.Push(codec::Value::Object(2).Set("app", app.servicecode).Set("account", *account));
  }
  return codec::Value::Object(1).Set("items", std::move(items));
}

Result<codec::Value> Bind(const Services& s, Call& call) {
  directory::Binding binding{call.args[0], call.BodyText("app"), call.BodyText("account")};
  if (binding.app.empty() || binding.account.empty()) {
    return Error::InvalidArgument("请指定 app 和 account");
  }
  Status bound = s.directory().Bind(binding);
  if (!bound.ok()) return bound.error();
  return Bindings(s, call);
}

Result<codec::Value> Unbind(const Services& s, Call& call) {
  Status unbound = s.directory().Unbind(call.args[1], call.args[0]);
  if (!unbound.ok()) return unbound.error();
  return Bindings(s, call);
}

Result<codec::Value> ImportUsers(const Services& s, Call& call) {
  std::string_view type = call.request.Header("Content-Type").value_or("");
  if (!type.starts_with("text/csv")) {
    return Error::InvalidArgument("请以 Content-Type: text/csv 上传 CSV（UTF-8，首行为字段名）");
  }
  directory::ImportOptions options;
  std::string_view mode = call.Query("mode");
  if (mode == "upsert") {
    options.user_mode = SaveMode::kAddOrModify;
  } else if (!mode.empty() && mode != "add") {
    return Error::InvalidArgument("mode 应为 add 或 upsert");
  }
  // As the single-user routes do: a password set by the import is a reset
  // (every session ends), and a user it disabled is logged out.
  options.user_access_changed = [&s, &call](const std::string& userid, bool /*password_set*/,
                                            bool active) -> Status {
    auto ended =
        s.logout.EndUser(userid, active ? "password_reset" : "disabled", call.admin.userid);
    if (!ended.ok()) return std::move(ended).error();
    return Status::Ok();
  };
  std::istringstream csv{std::string(call.request.body())};
  auto report = s.directory().ImportUsers(csv, options);
  if (!report.ok()) return report.error();
  call.target = std::to_string(report->rows) + " rows";
  codec::Value errors = codec::Value::Array(report->errors.size());
  for (const directory::ImportRowError& e : report->errors) {
    errors.Push(codec::Value::Object(3)
                    .Set("row", e.line)
                    .Set("code", e.code)
                    .Set("message", ConsoleMessage(e.code, e.message)));
  }
  codec::Value out = codec::Value::Object(5);
  out.Set("rows", report->rows)
      .Set("added", report->added)
      .Set("modified", report->modified)
      .Set("failed", report->failed)
      .Set("errors", std::move(errors));
  return out;
}

Result<codec::Value> ExportUsers(const Services& s, Call& call) {
  std::ostringstream csv;
  TB_RETURN_IF_ERROR(s.directory().ExportUsers(csv));
  call.response.set_status(200);
  call.response.set_content_type("text/csv; charset=utf-8");
  call.response.AddHeader("Content-Disposition", "attachment; filename=\"users.csv\"");
  call.response.set_body(std::move(csv).str());
  call.wrote_response = true;
  return codec::Value();
}

}  // namespace

void AddDirectoryRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "orgs", "", ListOrgs});
  routes.push_back({"GET", "orgs/search", "", SearchOrgs});
  routes.push_back({"GET", "orgs/:code", "", GetOrg});
  routes.push_back({"POST", "orgs", "org.create", CreateOrg});
  routes.push_back({"PUT", "orgs/:code", "org.update", UpdateOrg});
  routes.push_back({"POST", "orgs/:code/move", "org.move", MoveOrg});
  routes.push_back({"DELETE", "orgs/:code", "org.delete", DeleteOrg});
  routes.push_back({"GET", "users", "", ListUsers});
  routes.push_back({"GET", "users/export", "user.export", ExportUsers});
  routes.push_back({"POST", "users/import", "user.import", ImportUsers});
  routes.push_back({"GET", "users/:id", "", GetUser});
  routes.push_back({"POST", "users", "user.create", CreateUser});
  routes.push_back({"PUT", "users/:id", "user.update", UpdateUser});
  routes.push_back({"DELETE", "users/:id", "user.delete", DeleteUser});
  routes.push_back({"POST", "users/:id/lock", "user.lock",
                    [](const Services& s, Call& c) { return SetLocked(s, c, true); }});
  routes.push_back({"POST", "users/:id/unlock", "user.unlock",
                    [](const Services& s, Call& c) { return SetLocked(s, c, false); }});
  routes.push_back({"POST", "users/:id/reset-password", "user.reset_password", ResetPassword});
  routes.push_back({"GET", "users/:id/roles", "", UserRoles});
  routes.push_back({"POST", "users/:id/roles", "user.grant_role", GrantRole});
  routes.push_back({"DELETE", "users/:id/roles/:app/:role", "user.revoke_role", RevokeRole});
  routes.push_back({"GET", "users/:id/bindings", "", Bindings});
  routes.push_back({"POST", "users/:id/bindings", "user.bind", Bind});
  routes.push_back({"DELETE", "users/:id/bindings/:app", "user.unbind", Unbind});
}

}  // namespace tongban::console
