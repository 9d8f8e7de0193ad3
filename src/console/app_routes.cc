// Admin API: access resources (apps) with their secrets, roles and positions
// (docs/api/admin.md). Secrets appear only in the replies of create and
// rotate, once; they are never audited or logged.
#include <string>

#include "console/internal.h"

namespace tongban::console {

namespace {

using directory::App;

Result<codec::Value> ListApps(const Services& s, Call&) {
  auto apps = s.directory().ListApps();
  if (!apps.ok()) return apps.error();
  codec::Value items = codec::Value::Array(apps->size());
  for (const App& app : *apps) items.Push(AppJson(app));
  return ListOf(static_cast<int64_t>(apps->size()), std::move(items));
}

Result<codec::Value> GetApp(const Services& s, Call& call) {
  auto app = s.directory().GetApp(call.args[0]);
  if (!app.ok()) return app.error();
  return AppJson(*app);
}

Result<codec::Value> CreateApp(const Services& s, Call& call) {
  App settings;
  TB_RETURN_IF_ERROR(ApplyAppFields(call.body, settings));
  if (settings.servicecode.empty() || settings.name.empty()) {
    return Error::InvalidArgument("请填写 servicecode 和名称 name");
  }
  call.target = settings.servicecode;
  auto created = s.directory().CreateApp(settings);
  if (!created.ok()) return created.error();
  codec::Value out = codec::Value::Object(2);
  out.Set("app", AppJson(created->app)).Set("servicepwd", created->servicepwd);
  return out;
}

Result<codec::Value> UpdateApp(const Services& s, Call& call) {
  auto app = s.directory().GetApp(call.args[0]);
  if (!app.ok()) return app.error();
  TB_RETURN_IF_ERROR(ApplyAppFields(call.body, *app));
  if (app->servicecode != call.args[0]) return Error::InvalidArgument("servicecode 不可修改");
  auto updated = s.directory().UpdateApp(*app);
  if (!updated.ok()) return updated.error();
  return AppJson(*updated);
}

Result<codec::Value> RotateSecret(const Services& s, Call& call) {
  auto secret = s.directory().RotateSecret(call.args[0]);
  if (!secret.ok()) return secret.error();
  return codec::Value::Object(1).Set("servicepwd", *secret);
}

Result<codec::Value> SetEnabled(const Services& s, Call& call, bool enabled) {
  TB_RETURN_IF_ERROR(s.directory().SetAppEnabled(call.args[0], enabled));
  return GetApp(s, call);
}

Result<codec::Value> Roles(const Services& s, Call& call) {
  auto roles = s.directory().Roles(call.args[0]);
  if (!roles.ok()) return roles.error();
  codec::Value items = codec::Value::Array(roles->size());
  for (const directory::Role& role : *roles) items.Push(RoleJson(role));
  return codec::Value::Object(1).Set("items", std::move(items));
}

Result<codec::Value> SaveRole(const Services& s, Call& call) {
  directory::Role role{call.args[0], call.args[1], call.BodyText("rolename"),
                       call.BodyText("memo")};
  call.target = call.args[0] + "/" + call.args[1];
  auto saved = s.directory().SaveRole(role);
  if (!saved.ok()) return saved.error();
  return RoleJson(*saved);
}

Result<codec::Value> DeleteRole(const Services& s, Call& call) {
  call.target = call.args[0] + "/" + call.args[1];
  TB_RETURN_IF_ERROR(s.directory().DeleteRole(call.args[0], call.args[1]));
  return codec::Value::Object(1).Set("deleted", true);
}

Result<codec::Value> Positions(const Services& s, Call& call) {
  auto positions = s.directory().Positions(call.args[0]);
  if (!positions.ok()) return positions.error();
  codec::Value items = codec::Value::Array(positions->size());
  for (const directory::Position& p : *positions) items.Push(PositionJson(p));
  return codec::Value::Object(1).Set("items", std::move(items));
}

Result<codec::Value> SavePosition(const Services& s, Call& call) {
  directory::Position position{call.args[0], call.args[1], call.BodyText("positionname"),
                               call.BodyText("memo")};
  call.target = call.args[0] + "/" + call.args[1];
  auto saved = s.directory().SavePosition(position);
  if (!saved.ok()) return saved.error();
  return PositionJson(*saved);
}

Result<codec::Value> DeletePosition(const Services& s, Call& call) {
  call.target = call.args[0] + "/" + call.args[1];
  TB_RETURN_IF_ERROR(s.directory().DeletePosition(call.args[0], call.args[1]));
  return codec::Value::Object(1).Set("deleted", true);
}

}  // namespace

void AddAppRoutes(std::vector<Route>& routes) {
  routes.push_back({"GET", "apps", "", ListApps});
  routes.push_back({"GET", "apps/:code", "", GetApp});
  routes.push_back({"POST", "apps", "app.create", CreateApp});
  routes.push_back({"PUT", "apps/:code", "app.update", UpdateApp});
  routes.push_back({"POST", "apps/:code/rotate-secret", "app.rotate_secret", RotateSecret});
  routes.push_back({"POST", "apps/:code/enable", "app.enable",
                    [](const Services& s, Call& c) { return SetEnabled(s, c, true); }});
  routes.push_back({"POST", "apps/:code/disable", "app.disable",
                    [](const Services& s, Call& c) { return SetEnabled(s, c, false); }});
  routes.push_back({"GET", "apps/:code/roles", "", Roles});
  routes.push_back({"PUT", "apps/:code/roles/:role", "role.save", SaveRole});
  routes.push_back({"DELETE", "apps/:code/roles/:role", "role.delete", DeleteRole});
  routes.push_back({"GET", "apps/:code/positions", "", Positions});
  routes.push_back({"PUT", "apps/:code/positions/:position", "position.save", SavePosition});
  routes.push_back({"DELETE", "apps/:code/positions/:position", "position.delete",
                    DeletePosition});
}

}  // namespace tongban::console
